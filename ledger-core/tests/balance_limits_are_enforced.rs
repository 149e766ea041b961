//! `debits_must_not_exceed_credits` and `credits_must_not_exceed_debits`: a transfer that would
//! take an account past its limit fails with `exceeds_credits` / `exceeds_debits`, and pending
//! amounts count against the limit as if they were posted.

mod common;

use common::{
    Balances, account, account_with_flags, accounts_ok, balances, ledger_with_accounts, outcome, pending,
    post, transfer, transfers_ok, void,
};
use ledger_core::{AccountFlags, CreateTransferResult as R, Ledger};

/// Funds and counterparties. `SOURCE` and `SINK` have no limits.
const SOURCE: u128 = 1;
const SINK: u128 = 2;
/// `debits_must_not_exceed_credits`: may spend only what it received.
const WALLET: u128 = 3;
/// `credits_must_not_exceed_debits`: may be repaid only what it lent.
const LOAN: u128 = 4;

fn book() -> Ledger {
    let mut ledger = ledger_with_accounts(&[SOURCE, SINK]);
    accounts_ok(
        &mut ledger,
        &[
            account_with_flags(WALLET, AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS),
            account_with_flags(LOAN, AccountFlags::CREDITS_MUST_NOT_EXCEED_DEBITS),
        ],
    );
    ledger
}

/// `WALLET` holds 100 posted credits.
fn funded_wallet() -> Ledger {
    let mut ledger = book();
    transfers_ok(&mut ledger, &[transfer(10, SOURCE, WALLET, 100)]);
    ledger
}

/// `LOAN` has lent 100 (posted debits).
fn drawn_loan() -> Ledger {
    let mut ledger = book();
    transfers_ok(&mut ledger, &[transfer(10, LOAN, SINK, 100)]);
    ledger
}

#[test]
fn debits_may_reach_credits_exactly() {
    let mut ledger = funded_wallet();
    assert_eq!(outcome(&mut ledger, transfer(100, WALLET, SINK, 100)), None);
    assert_eq!(
        balances(&ledger, WALLET),
        Balances { debits_posted: 100, credits_posted: 100, ..Balances::ZERO }
    );
}

#[test]
fn debits_beyond_credits_are_rejected() {
    let mut ledger = funded_wallet();
    assert_eq!(outcome(&mut ledger, transfer(100, WALLET, SINK, 101)), Some(R::ExceedsCredits));
    assert_eq!(balances(&ledger, WALLET), Balances { credits_posted: 100, ..Balances::ZERO });
    assert_eq!(balances(&ledger, SINK), Balances::ZERO);
}

#[test]
fn an_unfunded_limited_account_cannot_be_debited() {
    let mut ledger = book();
    assert_eq!(outcome(&mut ledger, transfer(100, WALLET, SINK, 1)), Some(R::ExceedsCredits));
}

#[test]
fn a_zero_amount_never_exceeds_a_limit() {
    let mut ledger = book();
    assert_eq!(outcome(&mut ledger, transfer(100, WALLET, SINK, 0)), None);
}

#[test]
fn pending_debits_count_against_the_credits() {
    let mut ledger = funded_wallet();
    transfers_ok(&mut ledger, &[pending(100, WALLET, SINK, 60)]);
    assert_eq!(outcome(&mut ledger, transfer(101, WALLET, SINK, 41)), Some(R::ExceedsCredits));
    assert_eq!(outcome(&mut ledger, transfer(102, WALLET, SINK, 40)), None);
    assert_eq!(
        balances(&ledger, WALLET),
        Balances { debits_pending: 60, debits_posted: 40, credits_posted: 100, ..Balances::ZERO }
    );
}

#[test]
fn a_pending_debit_beyond_credits_is_rejected() {
    let mut ledger = funded_wallet();
    assert_eq!(outcome(&mut ledger, pending(100, WALLET, SINK, 101)), Some(R::ExceedsCredits));
    assert_eq!(balances(&ledger, WALLET), Balances { credits_posted: 100, ..Balances::ZERO });
}

#[test]
fn pending_credits_are_not_spendable() {
    let mut ledger = book();
    transfers_ok(&mut ledger, &[pending(10, SOURCE, WALLET, 100)]);
    assert_eq!(outcome(&mut ledger, transfer(100, WALLET, SINK, 1)), Some(R::ExceedsCredits));
}

#[test]
fn posted_pending_credits_become_spendable() {
    let mut ledger = book();
    transfers_ok(&mut ledger, &[pending(10, SOURCE, WALLET, 100), post(11, 10, 30)]);
    assert_eq!(outcome(&mut ledger, transfer(100, WALLET, SINK, 31)), Some(R::ExceedsCredits));
    assert_eq!(outcome(&mut ledger, transfer(101, WALLET, SINK, 30)), None);
}

#[test]
fn voiding_a_pending_debit_frees_the_room_it_held() {
    let mut ledger = funded_wallet();
    transfers_ok(&mut ledger, &[pending(100, WALLET, SINK, 100), void(101, 100)]);
    assert_eq!(outcome(&mut ledger, transfer(102, WALLET, SINK, 100)), None);
}

#[test]
fn credits_may_reach_debits_exactly() {
    let mut ledger = drawn_loan();
    assert_eq!(outcome(&mut ledger, transfer(100, SOURCE, LOAN, 100)), None);
    assert_eq!(
        balances(&ledger, LOAN),
        Balances { debits_posted: 100, credits_posted: 100, ..Balances::ZERO }
    );
}

#[test]
fn credits_beyond_debits_are_rejected() {
    let mut ledger = drawn_loan();
    assert_eq!(outcome(&mut ledger, transfer(100, SOURCE, LOAN, 101)), Some(R::ExceedsDebits));
    assert_eq!(balances(&ledger, LOAN), Balances { debits_posted: 100, ..Balances::ZERO });
    assert_eq!(balances(&ledger, SOURCE), Balances::ZERO);
}

#[test]
fn pending_credits_count_against_the_debits() {
    let mut ledger = drawn_loan();
    transfers_ok(&mut ledger, &[pending(100, SOURCE, LOAN, 70)]);
    assert_eq!(outcome(&mut ledger, transfer(101, SOURCE, LOAN, 31)), Some(R::ExceedsDebits));
    assert_eq!(outcome(&mut ledger, pending(102, SOURCE, LOAN, 31)), Some(R::ExceedsDebits));
    assert_eq!(outcome(&mut ledger, transfer(103, SOURCE, LOAN, 30)), None);
}

#[test]
fn pending_debits_are_not_repayable() {
    let mut ledger = book();
    transfers_ok(&mut ledger, &[pending(10, LOAN, SINK, 100)]);
    assert_eq!(outcome(&mut ledger, transfer(100, SOURCE, LOAN, 1)), Some(R::ExceedsDebits));
}

#[test]
fn exceeds_credits_precedes_exceeds_debits() {
    let mut ledger = book();
    assert_eq!(outcome(&mut ledger, transfer(100, WALLET, LOAN, 1)), Some(R::ExceedsCredits));
}

#[test]
fn the_credit_side_limit_applies_when_the_debit_side_has_room() {
    let mut ledger = funded_wallet();
    assert_eq!(outcome(&mut ledger, transfer(100, WALLET, LOAN, 1)), Some(R::ExceedsDebits));
}

#[test]
fn accounts_without_limits_may_go_either_way() {
    let mut ledger = book();
    transfers_ok(&mut ledger, &[transfer(100, SOURCE, SINK, 1_000), transfer(101, SINK, SOURCE, 5_000)]);
    assert_eq!(
        balances(&ledger, SOURCE),
        Balances { debits_posted: 1_000, credits_posted: 5_000, ..Balances::ZERO }
    );
}

#[test]
fn a_limited_debit_account_may_receive_credits_freely() {
    let mut ledger = book();
    assert_eq!(outcome(&mut ledger, transfer(100, SOURCE, WALLET, 1_000)), None);
    assert_eq!(balances(&ledger, WALLET), Balances { credits_posted: 1_000, ..Balances::ZERO });
}

#[test]
fn a_limited_credit_account_may_be_debited_freely() {
    let mut ledger = book();
    assert_eq!(outcome(&mut ledger, transfer(100, LOAN, SINK, 1_000)), None);
}

#[test]
fn the_limit_is_checked_against_the_balance_earlier_events_of_the_batch_left() {
    let mut ledger = book();
    let batch =
        [transfer(100, SOURCE, WALLET, 50), transfer(101, WALLET, SINK, 50), transfer(102, WALLET, SINK, 1)];
    assert_eq!(common::create_transfers(&mut ledger, 0, &batch), vec![common::fails(2, R::ExceedsCredits)]);
    assert_eq!(
        balances(&ledger, WALLET),
        Balances { debits_posted: 50, credits_posted: 50, ..Balances::ZERO }
    );
}

#[test]
fn a_flagless_account_has_no_limit_even_with_pending_amounts() {
    let mut ledger = ledger_with_accounts(&[5, 6]);
    accounts_ok(&mut ledger, &[account(7)]);
    transfers_ok(&mut ledger, &[pending(100, 5, 6, 10), transfer(101, 5, 7, 10)]);
    assert_eq!(balances(&ledger, 5), Balances { debits_pending: 10, debits_posted: 10, ..Balances::ZERO });
}
