//! A small harness for the behaviour tests: the shipped chart over a real `ledger_core::Ledger`.
//! Posting an event parses its JSON line, plans it, opens the plan's accounts and applies the
//! linked chain, then checks the engine's whole-state invariants (the books balance).

#![allow(dead_code, reason = "each behaviour test uses a different subset of the shared helpers")]

use std::collections::BTreeMap;

use ledger_core::{CreateAccountResult, CreateTransferResult, Ledger};
use ledger_events::{Chart, EntryPlan, EventError, Subject, WireEvent, account_id};

pub const CNY: u32 = 156;

/// The books: a chart, an engine and the plans posted so far (for reversals).
pub struct Books {
    pub chart: Chart,
    pub ledger: Ledger,
    pub posted: BTreeMap<String, EntryPlan>,
    next_transfer_id: u128,
}

/// Why posting an event failed: refused by planning, or by the engine (first failing code).
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    Plan(EventError),
    Engine(Vec<(u32, CreateTransferResult)>),
}

impl Books {
    #[must_use]
    pub fn new() -> Self {
        Self::with_chart(Chart::shipped_default())
    }

    #[must_use]
    pub fn with_chart(chart: Chart) -> Self {
        Self { chart, ledger: Ledger::default(), posted: BTreeMap::new(), next_transfer_id: 1 }
    }

    /// Posts one `{"type":"event",...}` line (an entry or a reversal).
    pub fn post(&mut self, line: &str) -> Result<EntryPlan, Refusal> {
        let plan = match WireEvent::from_json(line).map_err(Refusal::Plan)? {
            WireEvent::Entry(event) => self.chart.plan(&event).map_err(Refusal::Plan)?,
            WireEvent::Reversal(reversal) => {
                let original = self.posted.get(&reversal.reverses).expect("the test reverses a posted event");
                original.reversal(&reversal).map_err(Refusal::Plan)?
            }
        };
        self.apply(&plan)?;
        self.posted.insert(plan.event_id.clone(), plan.clone());
        Ok(plan)
    }

    /// Posts a line that must succeed.
    pub fn ok(&mut self, line: &str) -> EntryPlan {
        match self.post(line) {
            Ok(plan) => plan,
            Err(refusal) => panic!("event refused: {refusal:?}\n{line}"),
        }
    }

    /// Opens the plan's accounts (existing ones answer `exists`) and applies its chain.
    pub fn apply(&mut self, plan: &EntryPlan) -> Result<(), Refusal> {
        let failures = self.ledger.create_accounts(0, &plan.accounts_to_open()).expect("batch within limits");
        for failure in &failures {
            assert_eq!(failure.result, CreateAccountResult::Exists, "opening accounts of {}", plan.event_id);
        }
        let transfers = plan.transfers(self.next_transfer_id).map_err(Refusal::Plan)?;
        let count = u128::try_from(transfers.len()).expect("small");
        let failures = self.ledger.create_transfers(0, &transfers).expect("batch within limits");
        self.ledger.check_invariants().expect("the books balance after every entry");
        // Ids of a failed chain are burnt, so the next entry starts after them either way.
        self.next_transfer_id += count;
        if failures.is_empty() {
            Ok(())
        } else {
            Err(Refusal::Engine(failures.iter().map(|f| (f.index, f.result)).collect()))
        }
    }

    /// Debits minus credits (posted) of an account, 0 if it was never opened.
    #[must_use]
    pub fn debit_balance(&self, code: u16, subject: Option<(&str, &str)>) -> i128 {
        let id = account_id(CNY, code, subject.map(|(key, value)| Subject { key, value }));
        self.ledger.lookup_account(id).map_or(0, |a| a.debit_balance_posted().expect("no overflow"))
    }

    /// Credits minus debits (posted).
    #[must_use]
    pub fn credit_balance(&self, code: u16, subject: Option<(&str, &str)>) -> i128 {
        -self.debit_balance(code, subject)
    }

    /// Every account's (id, debits_posted, credits_posted), for whole-state comparisons.
    /// Accounts that were opened but never moved are left out: opening is not posting (a chain
    /// the engine refuses leaves the accounts it opened, empty).
    #[must_use]
    pub fn snapshot(&self) -> BTreeMap<u128, (u128, u128)> {
        self.ledger
            .accounts()
            .filter(|a| a.debits_posted != 0 || a.credits_posted != 0)
            .map(|a| (a.id, (a.debits_posted, a.credits_posted)))
            .collect()
    }

    /// Every account's net balance (debits minus credits, posted), zero balances left out.
    #[must_use]
    pub fn net_balances(&self) -> BTreeMap<u128, i128> {
        self.ledger
            .accounts()
            .map(|a| (a.id, a.debit_balance_posted().expect("no overflow")))
            .filter(|(_, balance)| *balance != 0)
            .collect()
    }
}

impl Default for Books {
    fn default() -> Self {
        Self::new()
    }
}

/// An event line of the shipped default's ledger.
#[must_use]
pub fn event(id: &str, event_type: &str, subjects: &str, components: &str, date: &str) -> String {
    format!(
        r#"{{"type":"event","event_id":"{id}","event_type":"{event_type}","ledger":156,"subjects":{{{subjects}}},"components":{{{components}}},"business_date":"{date}"}}"#
    )
}

#[must_use]
pub fn reversal(id: &str, reverses: &str, date: &str) -> String {
    format!(
        r#"{{"type":"event","event_id":"{id}","event_type":"reversal","reverses":"{reverses}","ledger":156,"business_date":"{date}"}}"#
    )
}

/// Minor units (fen) from a yuan amount written as in vectors.md ("16.43" → 1643).
#[must_use]
pub fn fen(text: &str) -> i128 {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, "00"));
    let whole: i128 = whole.parse().expect("test amount");
    let fraction: i128 = format!("{fraction:0<2}").parse().expect("test amount");
    whole * 100 + fraction
}

pub const LOAN: &str = r#""loan_note":"L1","customer":"C1","funder":"F1","channel":"CH1""#;

/// Funds a platform ready to lend: funder F1's money arrives in fund account FA1 (1,000,000.00),
/// 200,000.00 of it moves to payment channel CH1, and `reserve` is reserved for a disbursement.
pub fn funded_books(reserve: &str) -> Books {
    let mut books = Books::new();
    books.ok(&event(
        "FUND-1",
        "fund.arrived",
        r#""funder":"F1","fund_account":"FA1""#,
        r#""principal":"1000000.00""#,
        "2024-01-01",
    ));
    books.ok(&event(
        "FUND-2",
        "fund.external_transaction_recorded",
        r#""fund_account":"FA1","channel":"CH1""#,
        r#""principal":"200000.00","fee":"5.00""#,
        "2024-01-01",
    ));
    books.ok(&event(
        "FUND-3",
        "fund.reserved",
        r#""funder":"F1""#,
        &format!(r#""principal":"{reserve}""#),
        "2024-01-01",
    ));
    books
}

/// Funded books with loan L1 of `principal` disbursed to C1 through CH1.
pub fn disbursed_books(principal: &str) -> Books {
    let mut books = funded_books(principal);
    books.ok(&event(
        "DISB-1",
        "loan.disbursed",
        LOAN,
        &format!(r#""principal":"{principal}""#),
        "2024-01-01",
    ));
    books
}
