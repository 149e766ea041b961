//! The trial balance of one ledger at a point in time: per account code, the posted debits and
//! credits of every account with that code, and the balance on the code's normal side.
//!
//! The totals come from the history index (`ledger_history`, `code_totals.rs`), which adds up
//! committed transfer records by the codes of their accounts: pending transfers, voids and
//! expiries count nothing, a post counts the amount it posted. The index learns account codes
//! from here: when it answers `CodesWanted`, the accounts are looked up in the engine (a batch
//! of `BATCH_EVENTS_MAX` ids per read) and the query is asked again with their codes. Names,
//! classes, normal sides and the ledger's scale come from the chart (`ledger_events::Chart`).
//!
//! Double entry means the debits of all rows equal their credits. The totals are checked here
//! and a mismatch is an error (`Unbalanced`), never an answer: it would mean the index or the
//! record file is wrong.
//!
//! `trial_balance` returns a typed `TrialBalance` (minor units and rendered strings), for the
//! HTTP route (`http/trial_balance.rs`) and for exporters.

use crate::service::{LedgerService, ServiceError};
use ledger_core::BATCH_EVENTS_MAX;
use ledger_events::amount::format_minor_units;
use ledger_events::{AccountClass, Chart, NormalSide};
use ledger_history::{
    AccountCode, CodeTotal, HistoryError, IndexPosition, LedgerTotals, TrialBalanceAnswer,
    TrialBalanceRequest,
};
use tokio::sync::oneshot;

/// Rounds of "the index wants codes" one trial balance goes through at most: the index names
/// at most `CODES_WANTED_MAX` (65,536) accounts per round, so this covers 67 M accounts that
/// are new to it, far beyond one ledger's accounts.
pub const CODE_ROUNDS_MAX: usize = 1024;

/// An amount in minor units, and as a decimal at the ledger's scale.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Amount {
    pub minor_units: u128,
    /// `format_minor_units(minor_units, scale)`: `"100.00"`.
    pub text: String,
}

impl Amount {
    fn new(minor_units: u128, scale: u8) -> Self {
        Self { minor_units, text: format_minor_units(minor_units, scale) }
    }
}

/// A balance: its size in minor units and its sign, and as a decimal (`"-12.50"`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedAmount {
    /// Below zero: the balance sits on the side opposite to the code's normal side. Never set
    /// for zero.
    pub negative: bool,
    pub minor_units: u128,
    pub text: String,
}

impl SignedAmount {
    /// `plus - minus`, exactly: the difference of two `u128`s always fits as a sign and a size.
    fn difference(plus: u128, minus: u128, scale: u8) -> Self {
        let (negative, minor_units) =
            if plus >= minus { (false, plus - minus) } else { (true, minus - plus) };
        let digits = format_minor_units(minor_units, scale);
        let text = if negative { format!("-{digits}") } else { digits };
        Self { negative, minor_units, text }
    }
}

/// One account code of a trial balance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrialBalanceRow {
    pub code: u16,
    /// From the chart; `None` for a code the chart does not have.
    pub name: Option<String>,
    pub class: Option<AccountClass>,
    /// The side the balance is taken on: the chart's, or debit for a code it does not have.
    pub normal: NormalSide,
    pub debits: Amount,
    pub credits: Amount,
    /// `debits - credits` on a debit-normal code, `credits - debits` on a credit-normal one.
    pub balance: SignedAmount,
}

/// A trial balance of one ledger at a consistent point.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrialBalance {
    pub ledger: u32,
    /// Decimals of the ledger's amounts (the chart's; 0 for a ledger it does not have).
    pub scale: u8,
    /// The history index's position the rows are for: no transfer after `position.op` counts.
    pub position: IndexPosition,
    /// The rows count exactly the transfers committed at or before this ledger timestamp: the
    /// requested time, or the newest transfer's when none was asked or the request is later.
    pub at: u64,
    /// One row per code with a posted transfer at or before `at`, by code.
    pub rows: Vec<TrialBalanceRow>,
    pub total_debits: Amount,
    pub total_credits: Amount,
}

#[derive(Clone, Debug, thiserror::Error)]
pub enum TrialBalanceError {
    /// The engine or the index could not answer (overloaded, shutting down, stopped).
    #[error(transparent)]
    Service(#[from] ServiceError),
    /// The history index failed (a corrupt or unreadable record file) or a total does not fit
    /// in 128 bits.
    #[error("history index: {0}")]
    History(HistoryError),
    /// A committed transfer names an account the engine does not have.
    #[error("account {account_id} has committed transfers, but the engine does not know it")]
    AccountMissing { account_id: u128 },
    /// The index kept naming new accounts (millions created while the report ran).
    #[error("the history index still wanted account codes after {rounds} rounds")]
    CodesUnsettled { rounds: usize },
    /// The sum of the rows' debits or credits does not fit in 128 bits.
    #[error("the total posted in ledger {ledger} exceeds 2^128 minor units")]
    TotalOverflow { ledger: u32 },
    /// Debits and credits differ: the index or the record file is wrong.
    #[error(
        "ledger {ledger} does not balance at op {op}, timestamp {at}: debits {debits}, credits {credits} (minor units)"
    )]
    Unbalanced { ledger: u32, op: u64, at: u64, debits: u128, credits: u128 },
}

impl From<HistoryError> for TrialBalanceError {
    fn from(error: HistoryError) -> Self {
        match error {
            HistoryError::Busy { .. } => Self::Service(ServiceError::Overloaded),
            HistoryError::Stopped => Self::Service(ServiceError::ShuttingDown),
            other => Self::History(other),
        }
    }
}

/// The trial balance of `ledger` as of ledger timestamp `at` (`None`: everything durable now).
/// A later `at` than the newest transfer answers for the newest (`TrialBalance::at` says which).
///
/// Read-your-writes: the engine is asked first, which answers once everything queued before is
/// durable and announced to the index, so the rows include every transfer acknowledged before
/// the call.
///
/// # Errors
/// `TrialBalanceError`: `Service` for a busy or stopping server (retry), the others for a
/// failure that needs an operator (`Unbalanced` above all).
pub async fn trial_balance(
    service: &LedgerService,
    ledger: u32,
    at: Option<u64>,
) -> Result<TrialBalance, TrialBalanceError> {
    // The barrier: an engine read of nothing.
    service.lookup_accounts(Vec::new()).await?;
    let mut codes = Vec::new();
    for _round in 0..CODE_ROUNDS_MAX {
        let request = TrialBalanceRequest { ledger, at, codes: std::mem::take(&mut codes) };
        match ask_index(service, request).await? {
            TrialBalanceAnswer::Totals(totals) => return assemble(service.chart(), &totals),
            TrialBalanceAnswer::CodesWanted(ids) => codes = account_codes(service, ids).await?,
        }
    }
    Err(TrialBalanceError::CodesUnsettled { rounds: CODE_ROUNDS_MAX })
}

async fn ask_index(
    service: &LedgerService,
    request: TrialBalanceRequest,
) -> Result<TrialBalanceAnswer, TrialBalanceError> {
    let (tx, rx) = oneshot::channel();
    service.history_index().trial_balance(
        request,
        Box::new(move |answer| {
            // The receiver is gone only if the caller gave up: nothing to tell.
            let _ = tx.send(answer);
        }),
    );
    let answer = rx.await.map_err(|_| ServiceError::ShuttingDown)?;
    Ok(answer?)
}

/// The codes of accounts, looked up in the engine a batch at a time.
async fn account_codes(
    service: &LedgerService,
    ids: Vec<u128>,
) -> Result<Vec<AccountCode>, TrialBalanceError> {
    let mut codes = Vec::with_capacity(ids.len());
    for batch in ids.chunks(BATCH_EVENTS_MAX) {
        let found = service.lookup_accounts(batch.to_vec()).await?;
        // Found accounts come back in request order, missing ones left out.
        let mut found = found.into_iter().peekable();
        for &account_id in batch {
            match found.next_if(|account| account.id == account_id) {
                Some(account) => codes.push(AccountCode { account_id, code: account.code }),
                None => return Err(TrialBalanceError::AccountMissing { account_id }),
            }
        }
    }
    Ok(codes)
}

/// Rows with names, sides and rendered amounts, and the balanced totals.
fn assemble(chart: &Chart, totals: &LedgerTotals) -> Result<TrialBalance, TrialBalanceError> {
    let ledger = totals.ledger;
    let scale = chart.ledger(ledger).map_or(0, |spec| spec.scale);
    let (mut debits, mut credits) = (0_u128, 0_u128);
    let overflow = || TrialBalanceError::TotalOverflow { ledger };
    let mut rows = Vec::with_capacity(totals.rows.len());
    for &CodeTotal { code, debits: row_debits, credits: row_credits } in &totals.rows {
        debits = debits.checked_add(row_debits).ok_or_else(overflow)?;
        credits = credits.checked_add(row_credits).ok_or_else(overflow)?;
        let spec = chart.account(code);
        let normal = spec.map_or(NormalSide::Debit, |spec| spec.normal);
        let balance = match normal {
            NormalSide::Debit => SignedAmount::difference(row_debits, row_credits, scale),
            NormalSide::Credit => SignedAmount::difference(row_credits, row_debits, scale),
        };
        rows.push(TrialBalanceRow {
            code,
            name: spec.map(|spec| spec.name.clone()),
            class: spec.map(|spec| spec.class),
            normal,
            debits: Amount::new(row_debits, scale),
            credits: Amount::new(row_credits, scale),
            balance,
        });
    }
    if debits != credits {
        return Err(TrialBalanceError::Unbalanced {
            ledger,
            op: totals.position.op,
            at: totals.at,
            debits,
            credits,
        });
    }
    Ok(TrialBalance {
        ledger,
        scale,
        position: totals.position,
        at: totals.at,
        rows,
        total_debits: Amount::new(debits, scale),
        total_credits: Amount::new(credits, scale),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn totals(rows: &[(u16, u128, u128)]) -> LedgerTotals {
        LedgerTotals {
            ledger: 156,
            position: IndexPosition { op: 4, transfers: 9 },
            at: 77,
            rows: rows.iter().map(|&(code, debits, credits)| CodeTotal { code, debits, credits }).collect(),
        }
    }

    #[test]
    fn rows_take_names_sides_and_scale_from_the_chart() {
        let chart = Chart::shipped_default();
        let cash = chart.accounts().find(|a| a.normal == NormalSide::Debit).expect("a debit-normal code");
        let liability =
            chart.accounts().find(|a| a.normal == NormalSide::Credit).expect("a credit-normal code");
        let unknown = (1..u16::MAX).find(|&c| chart.account(c).is_none()).expect("a code the chart lacks");
        let balance = assemble(
            &chart,
            &totals(&[(cash.code, 10_000, 2_550), (liability.code, 50, 7_550), (unknown, 50, 0)]),
        )
        .expect("balanced");
        assert_eq!(balance.scale, 2, "ledger 156 is CNY in fen");
        assert_eq!((balance.position.op, balance.at), (4, 77));
        let [cash_row, liability_row, unknown_row] = &balance.rows[..] else { panic!("three rows") };
        assert_eq!(cash_row.name.as_deref(), Some(cash.name.as_str()));
        assert_eq!(cash_row.class, Some(cash.class));
        assert_eq!((cash_row.debits.text.as_str(), cash_row.credits.text.as_str()), ("100.00", "25.50"));
        assert_eq!(cash_row.balance.text, "74.50", "debit-normal: debits - credits");
        assert_eq!(liability_row.balance.text, "75.00", "credit-normal: credits - debits");
        assert_eq!((unknown_row.name.clone(), unknown_row.class), (None, None));
        assert_eq!(unknown_row.balance.text, "0.50", "a code the chart lacks is taken as debit-normal");
        assert_eq!(balance.total_debits, Amount { minor_units: 10_100, text: "101.00".to_owned() });
        assert_eq!(balance.total_credits, balance.total_debits);
    }

    #[test]
    fn a_balance_against_the_normal_side_is_negative_and_zero_is_not() {
        let chart = Chart::shipped_default();
        let cash = chart.accounts().find(|a| a.normal == NormalSide::Debit).expect("a debit-normal code");
        let other =
            chart.accounts().find(|a| a.code != cash.code && a.normal == NormalSide::Debit).expect("two");
        let balance =
            assemble(&chart, &totals(&[(cash.code, 5, 1_205), (other.code, 1_200, 0)])).expect("balanced");
        assert_eq!(
            balance.rows[0].balance,
            SignedAmount { negative: true, minor_units: 1_200, text: "-12.00".to_owned() }
        );
        assert_eq!(
            SignedAmount::difference(7, 7, 2),
            SignedAmount { negative: false, minor_units: 0, text: "0.00".to_owned() }
        );
        assert_eq!(SignedAmount::difference(0, u128::MAX, 0).minor_units, u128::MAX, "any two u128s");
    }

    #[test]
    fn an_unknown_ledger_has_scale_zero() {
        let chart = Chart::shipped_default();
        let mut empty = totals(&[]);
        empty.ledger = 4_000_000;
        let balance = assemble(&chart, &empty).expect("empty balances");
        assert_eq!((balance.scale, balance.rows.len(), balance.total_debits.text.as_str()), (0, 0, "0"));
    }

    #[test]
    fn unbalanced_totals_are_an_error_never_an_answer() {
        let chart = Chart::shipped_default();
        let result = assemble(&chart, &totals(&[(1, 100, 0), (2, 0, 99)]));
        assert!(
            matches!(
                result,
                Err(TrialBalanceError::Unbalanced { ledger: 156, op: 4, at: 77, debits: 100, credits: 99 })
            ),
            "{result:?}"
        );
        let result = assemble(&chart, &totals(&[(1, u128::MAX, 0), (2, 1, 0)]));
        assert!(matches!(result, Err(TrialBalanceError::TotalOverflow { ledger: 156 })), "{result:?}");
    }
}
