//! The chart's balance limits reach the engine: a receivable cannot be credited below zero, so
//! an over-repayment fails the whole chain and changes nothing.

mod common;

use common::{LOAN, Refusal, disbursed_books, event};
use ledger_core::CreateTransferResult as R;

#[test]
fn an_over_repayment_fails_the_whole_chain() {
    let mut books = disbursed_books("1000.00");
    let before = books.snapshot();
    let refused = books.post(&event(
        "REP",
        "repayment.settled",
        LOAN,
        r#""principal":"1000.01","interest":"0.00""#,
        "2024-02-01",
    ));
    // Posting 0 (cash / principal receivable) is the one refused; the other two members of the
    // chain (funder's funds, credit line) fail with it.
    assert_eq!(
        refused,
        Err(Refusal::Engine(vec![
            (0, R::ExceedsDebits),
            (1, R::LinkedEventFailed),
            (2, R::LinkedEventFailed)
        ]))
    );
    assert_eq!(books.snapshot(), before);
}

#[test]
fn interest_never_accrued_cannot_be_repaid() {
    let mut books = disbursed_books("1000.00");
    let before = books.snapshot();
    let refused = books.post(&event(
        "REP",
        "repayment.settled",
        LOAN,
        r#""principal":"10.00","interest":"0.58""#,
        "2024-02-01",
    ));
    assert!(
        matches!(refused, Err(Refusal::Engine(ref failures)) if failures.contains(&(1, R::ExceedsDebits))),
        "{refused:?}"
    );
    assert_eq!(books.snapshot(), before);
}

#[test]
fn a_waiver_beyond_the_accrued_penalty_is_refused() {
    let mut books = disbursed_books("1000.00");
    books.ok(&event("PEN", "penalty.accrued", LOAN, r#""penalty":"15.00""#, "2024-02-05"));
    let before = books.snapshot();
    let refused = books.post(&event("W", "loan.waived", LOAN, r#""penalty":"15.01""#, "2024-02-06"));
    assert_eq!(refused, Err(Refusal::Engine(vec![(0, R::ExceedsDebits)])));
    assert_eq!(books.snapshot(), before);
}

#[test]
fn a_credit_balance_cannot_be_refunded_twice() {
    let mut books = disbursed_books("1000.00");
    books.ok(&event(
        "REP",
        "repayment.settled",
        LOAN,
        r#""principal":"1000.00","overpayment":"300.00""#,
        "2024-02-01",
    ));
    books.ok(&event("REF-1", "repayment.refunded", LOAN, r#""overpayment":"300.00""#, "2024-02-02"));
    let refused =
        books.post(&event("REF-2", "repayment.refunded", LOAN, r#""overpayment":"300.00""#, "2024-02-02"));
    assert_eq!(refused, Err(Refusal::Engine(vec![(0, R::ExceedsCredits)])));
}
