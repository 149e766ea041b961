//! A reversal posts the mirror of an entry: after it, every account has the balance it had
//! before the entry (accounts the entry opened are back to zero), for every shipped template.

mod common;

use common::{Books, LOAN, Refusal, disbursed_books, event, reversal};
use ledger_events::EventError;

/// Books where every shipped template has something to act on: loan L1 of 3000.00 with
/// accrued interest, fee and penalty, a 1000.00 repayment that left a 300.00 credit balance,
/// and 700.00 of the funder's money reserved.
fn rich_books() -> Books {
    let mut books = disbursed_books("3000.00");
    books.ok(&event("ACC", "interest.accrued", LOAN, r#""interest":"30.00","fee":"15.45""#, "2024-02-01"));
    books.ok(&event("PEN", "penalty.accrued", LOAN, r#""penalty":"15.00""#, "2024-02-05"));
    books.ok(&event(
        "REP",
        "repayment.settled",
        LOAN,
        r#""principal":"1000.00","overpayment":"300.00""#,
        "2024-02-06",
    ));
    books.ok(&event("RES", "fund.reserved", r#""funder":"F1""#, r#""principal":"700.00""#, "2024-02-06"));
    books
}

const PARTIES: &str = r#""funder":"F1","channel":"ACQ1","supplier":"S1","guarantor":"G1""#;
const FUNDS: &str = r#""funder":"F1","fund_account":"FA1","channel":"CH1""#;
const LOAN_2: &str = r#""loan_note":"L2","customer":"C1","funder":"F1","channel":"CH1""#;

/// One event per shipped template, each valid on `rich_books`.
const ENTRIES: [(&str, &str, &str); 18] = [
    ("fund.arrived", FUNDS, r#""principal":"500.00""#),
    ("fund.reserved", FUNDS, r#""principal":"100.00""#),
    ("fund.reservation_released", FUNDS, r#""principal":"700.00""#),
    ("fund.external_transaction_recorded", FUNDS, r#""principal":"1000.00","fee":"2.00""#),
    ("loan.disbursed", LOAN_2, r#""principal":"1000.00","overpayment":"300.00""#),
    ("loan.disbursement_failed", LOAN, r#""principal":"100.00""#),
    ("loan.cancelled", LOAN, r#""principal":"2000.00","interest":"0.02","fee":"1.00""#),
    (
        "loan.early_settled",
        LOAN,
        r#""principal":"2000.00","interest":"10.00","coupon":"1.00","fee":"5.00","penalty":"15.00","overpayment":"1.00""#,
    ),
    (
        "repayment.settled",
        LOAN,
        r#""principal":"100.00","interest":"30.00","fee":"15.45","penalty":"15.00","overpayment":"5.00","coupon":"3.00""#,
    ),
    ("repayment.refunded", LOAN, r#""principal":"100.00","overpayment":"300.00""#),
    ("extension.fee_paid", LOAN, r#""fee":"30.00""#),
    ("interest.accrued", LOAN, r#""interest":"0.58","fee":"1.00""#),
    ("penalty.accrued", LOAN, r#""penalty":"15.00""#),
    ("loan.waived", LOAN, r#""interest":"30.00","fee":"15.45","penalty":"15.00""#),
    ("loan.written_off", LOAN, r#""principal":"2000.00","interest":"30.00","fee":"15.45","penalty":"15.00""#),
    (
        "clearing.allocated",
        PARTIES,
        r#""funder":"1.85","channel":"0.04","supplier":"0.02","guarantor":"0.06","platform":"0.08""#,
    ),
    ("benefit.paid", LOAN, r#""fee":"99.00","coupon":"10.00""#),
    ("benefit.refunded", LOAN, r#""fee":"99.00","coupon":"10.00""#),
];

#[test]
fn every_template_is_exercised() {
    let chart = ledger_events::Chart::shipped_default();
    let exercised: std::collections::BTreeSet<&str> = ENTRIES.iter().map(|(t, _, _)| *t).collect();
    let shipped: std::collections::BTreeSet<&str> =
        chart.templates().map(|t| t.event_type.as_str()).collect();
    assert_eq!(exercised, shipped);
}

#[test]
fn a_reversal_restores_every_balance_for_every_template() {
    for (event_type, subjects, components) in ENTRIES {
        let mut books = rich_books();
        let before = books.net_balances();
        let plan = books.ok(&event("E", event_type, subjects, components, "2024-03-01"));
        assert_ne!(books.net_balances(), before, "{event_type} moved something");
        let mirror = books.ok(&reversal("E-R", "E", "2024-03-05"));
        assert_eq!(books.net_balances(), before, "{event_type} reversed");
        assert_eq!(mirror.reverses.as_deref(), Some("E"));
        assert_eq!(mirror.total(), plan.total(), "{event_type}: the mirror moves the same amounts");
        let transfers = mirror.transfers(1).expect("ids in range");
        assert!(transfers.iter().all(|t| t.user_data_32 == 1 && t.code == plan.transfer_code));
        assert!(transfers.iter().all(|t| t.user_data_128 == ledger_events::event_hash("E-R")));
        assert!(transfers.iter().all(|t| t.user_data_64 == 20_240_305), "the reversal's business date");
    }
}

#[test]
fn mirror_entries_swap_sides_in_reverse_order() {
    let books = disbursed_books("100.00");
    let original = &books.posted["DISB-1"];
    let line = reversal("R", "DISB-1", "2024-01-05");
    let ledger_events::WireEvent::Reversal(event) =
        ledger_events::WireEvent::from_json(&line).expect("valid")
    else {
        panic!("a reversal line parses as a reversal");
    };
    let mirror = original.reversal(&event).expect("reversible");
    let swapped: Vec<(u128, u128, u128)> =
        original.postings.iter().rev().map(|p| (p.credit_account_id, p.debit_account_id, p.amount)).collect();
    let got: Vec<(u128, u128, u128)> =
        mirror.postings.iter().map(|p| (p.debit_account_id, p.credit_account_id, p.amount)).collect();
    assert_eq!(got, swapped);
}

#[test]
fn a_reversal_of_a_reversal_or_of_another_event_is_refused() {
    let mut books = disbursed_books("100.00");
    books.ok(&reversal("R1", "DISB-1", "2024-01-05"));
    let refused = books.post(&reversal("R2", "R1", "2024-01-06"));
    assert_eq!(refused, Err(Refusal::Plan(EventError::ReversalOfReversal { event_id: "R1".to_owned() })));

    let original = &books.posted["DISB-1"];
    let ledger_events::WireEvent::Reversal(other) =
        ledger_events::WireEvent::from_json(&reversal("R3", "FUND-1", "2024-01-06")).expect("valid")
    else {
        panic!("a reversal line parses as a reversal");
    };
    let error = original.reversal(&other).expect_err("names another event");
    assert_eq!(error.code(), "reversal_mismatch");
}

#[test]
fn a_reversal_that_would_overdraw_an_account_is_refused_whole() {
    // The repayment's cash was paid out again (a refund of its overpayment part went first), so
    // mirroring the repayment would take the customer's credit balance below zero.
    let mut books = disbursed_books("1000.00");
    books.ok(&event(
        "REP",
        "repayment.settled",
        LOAN,
        r#""principal":"100.00","overpayment":"50.00""#,
        "2024-02-01",
    ));
    books.ok(&event("REF", "repayment.refunded", LOAN, r#""overpayment":"50.00""#, "2024-02-02"));
    let before = books.snapshot();
    let refused = books.post(&reversal("REP-R", "REP", "2024-02-03"));
    assert!(matches!(refused, Err(Refusal::Engine(_))), "{refused:?}");
    assert_eq!(books.snapshot(), before);
}
