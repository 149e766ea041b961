//! `RequestPlanner` (what `post_events` uses) gives for every line what the per-event API gives
//! (`WireEvent::from_json`, `body_hash`, `Chart::plan`, `entry_chain`), and hands out each
//! account of the request once: the accounts of the request's entries, deduplicated, in order
//! of first use, never an account of an event that was refused.

use std::collections::HashSet;

use ledger_core::{Account, Transfer};
use ledger_events::posting::{self, PlannedEvent, RequestPlanner};
use ledger_events::{Chart, WireEvent};

/// Per line: the chain, the reversal's body hash, or the error code.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Chain(Vec<Transfer>),
    Reversal(String, u128),
    Refused(&'static str),
}

fn per_event_api(chart: &Chart, lines: &[String]) -> (Vec<Outcome>, Vec<Account>) {
    let mut opened = HashSet::new();
    let mut accounts = Vec::new();
    let outcomes = lines
        .iter()
        .map(|line| {
            let event = match WireEvent::from_json(line) {
                Ok(event) => event,
                Err(error) => return Outcome::Refused(error.code()),
            };
            let hash = posting::body_hash(&event);
            match event {
                WireEvent::Entry(entry) => match chart.plan(&entry) {
                    Ok(plan) => {
                        accounts.extend(plan.accounts_to_open().into_iter().filter(|a| opened.insert(a.id)));
                        Outcome::Chain(posting::entry_chain(&plan, hash))
                    }
                    Err(error) => Outcome::Refused(error.code()),
                },
                WireEvent::Reversal(reversal) => Outcome::Reversal(reversal.reverses, hash),
            }
        })
        .collect();
    (outcomes, accounts)
}

fn planner(chart: &Chart, lines: &[String]) -> (Vec<Outcome>, Vec<Account>) {
    let mut planner = RequestPlanner::new(chart);
    let mut accounts = Vec::new();
    let outcomes = lines
        .iter()
        .map(|line| match planner.plan_line(line) {
            Ok(PlannedEvent::Entry { accounts_new, chain }) => {
                accounts.extend(accounts_new);
                Outcome::Chain(chain)
            }
            Ok(PlannedEvent::Reversal { reversal, body_hash }) => {
                Outcome::Reversal(reversal.reverses, body_hash)
            }
            Err(error) => Outcome::Refused(error.code()),
        })
        .collect();
    (outcomes, accounts)
}

fn event(id: &str, event_type: &str, subjects: &str, components: &str) -> String {
    format!(
        r#"{{"type":"event","event_id":"{id}","event_type":"{event_type}","ledger":156,"subjects":{{{subjects}}},"components":{{{components}}},"business_date":"2026-11-25"}}"#
    )
}

fn request() -> Vec<String> {
    let loan = r#""loan_note":"L1","customer":"C1","funder":"F1","channel":"CH1""#;
    // The same loan note, with its value written with a JSON escape: the same accounts.
    let escaped = r#""loan_note":"L\u0031","customer":"C1","funder":"F1","channel":"CH1""#;
    vec![
        event("RSV-1", "fund.reserved", r#""funder":"F1""#, r#""principal":"1000.00""#),
        // Refused (too many decimals): its accounts are not handed out here...
        event("DSB-0", "loan.disbursed", r#""loan_note":"L0","customer":"C0","funder":"F1","channel":"CH1""#, r#""principal":"1.001""#),
        event("DSB-1", "loan.disbursed", loan, r#""principal":"1000.00""#),
        event("ACR-1", "interest.accrued", r#""loan_note":"L1""#, r#""interest":"12.50","fee":"3.00""#),
        event("REP-1", "repayment.settled", escaped, r#""principal":"250.00","interest":"12.50","fee":"3.00""#),
        r#"{"type":"event","event_id":"R-1","event_type":"reversal","reverses":"ACR-1","ledger":156,"business_date":"2026-11-26"}"#.to_owned(),
        // ...but when the loan note posts later, they are.
        event("DSB-2", "loan.disbursed", r#""loan_note":"L0","customer":"C0","funder":"F1","channel":"CH1""#, r#""principal":"10.00""#),
        "not json".to_owned(),
        event("CLR-1", "clearing.allocated", r#""funder":"F1","channel":"CH1","supplier":"S1""#, r#""funder":"8.00","platform":"5.70""#),
    ]
}

#[test]
fn every_line_gets_what_the_per_event_api_gives() {
    let chart = Chart::shipped_default();
    let lines = request();
    let (expected, expected_accounts) = per_event_api(&chart, &lines);
    let (outcomes, accounts) = planner(&chart, &lines);
    assert_eq!(outcomes, expected);
    assert_eq!(accounts, expected_accounts);
    assert!(matches!(outcomes[1], Outcome::Refused("too_many_decimals")));
    assert!(matches!(outcomes[5], Outcome::Reversal(..)));
    assert!(matches!(outcomes[7], Outcome::Refused("invalid_json")));
}

#[test]
fn each_account_is_handed_out_once_per_request() {
    let chart = Chart::shipped_default();
    let (_, accounts) = planner(&chart, &request());
    let ids: HashSet<u128> = accounts.iter().map(|a| a.id).collect();
    assert_eq!(ids.len(), accounts.len(), "no account twice");
    // A new request starts afresh: the server learns which accounts exist from the engine.
    let mut planner = RequestPlanner::new(&chart);
    let line = event("RSV-1", "fund.reserved", r#""funder":"F1""#, r#""principal":"1000.00""#);
    let Ok(PlannedEvent::Entry { accounts_new, .. }) = planner.plan_line(&line) else { panic!("an entry") };
    assert_eq!(accounts_new.len(), 2, "the funder's available and reserved funds");
    let again = event("RSV-2", "fund.reserved", r#""funder":"F1""#, r#""principal":"5.00""#);
    let Ok(PlannedEvent::Entry { accounts_new, .. }) = planner.plan_line(&again) else { panic!("an entry") };
    assert!(accounts_new.is_empty(), "handed out by RSV-1 already");
}
