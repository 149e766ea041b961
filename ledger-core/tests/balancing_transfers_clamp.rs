//! `balancing_debit` / `balancing_credit`: the amount is a cap, clamped to the room the debit
//! account (`credits_posted − debits_posted − debits_pending`) or the credit account
//! (`debits_posted − credits_posted − credits_pending`) has left; the stored transfer carries
//! the clamped amount. No room at all fails with `exceeds_credits` / `exceeds_debits`.

mod common;

use common::{
    Balances, account_with_flags, accounts_ok, balances, ledger_with_accounts, outcome, pending, post,
    stored_transfer, transfer, transfers_ok, with_flags,
};
use ledger_core::{AMOUNT_MAX, AccountFlags, CreateTransferResult as R, Ledger, Transfer, TransferFlags};

const SOURCE: u128 = 1;
const SINK: u128 = 2;
/// No limit flags; receives 100 posted credits in `book`.
const SAVER: u128 = 3;
/// No limit flags; has 40 posted debits in `book`.
const BORROWER: u128 = 4;
/// `credits_must_not_exceed_debits`, nothing lent.
const LOAN: u128 = 5;
/// `debits_must_not_exceed_credits`, 100 posted credits.
const WALLET: u128 = 6;

fn book() -> Ledger {
    let mut ledger = ledger_with_accounts(&[SOURCE, SINK, SAVER, BORROWER]);
    accounts_ok(
        &mut ledger,
        &[
            account_with_flags(LOAN, AccountFlags::CREDITS_MUST_NOT_EXCEED_DEBITS),
            account_with_flags(WALLET, AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS),
        ],
    );
    transfers_ok(
        &mut ledger,
        &[
            transfer(10, SOURCE, SAVER, 100),
            transfer(11, BORROWER, SINK, 40),
            transfer(12, SOURCE, WALLET, 100),
        ],
    );
    ledger
}

fn balancing_debit(id: u128, debit: u128, credit: u128, cap: u128) -> Transfer {
    with_flags(transfer(id, debit, credit, cap), TransferFlags::BALANCING_DEBIT)
}

fn balancing_credit(id: u128, debit: u128, credit: u128, cap: u128) -> Transfer {
    with_flags(transfer(id, debit, credit, cap), TransferFlags::BALANCING_CREDIT)
}

#[test]
fn balancing_debit_clamps_the_amount_to_the_debit_accounts_room() {
    let mut ledger = book();
    assert_eq!(outcome(&mut ledger, balancing_debit(100, SAVER, SINK, 150)), None);
    assert_eq!(stored_transfer(&ledger, 100).amount, 100);
    assert_eq!(
        balances(&ledger, SAVER),
        Balances { debits_posted: 100, credits_posted: 100, ..Balances::ZERO }
    );
    assert_eq!(balances(&ledger, SINK), Balances { credits_posted: 140, ..Balances::ZERO });
}

#[test]
fn balancing_debit_below_the_room_moves_the_requested_amount() {
    let mut ledger = book();
    assert_eq!(outcome(&mut ledger, balancing_debit(100, SAVER, SINK, 30)), None);
    assert_eq!(stored_transfer(&ledger, 100).amount, 30);
}

#[test]
fn balancing_debit_of_amount_max_moves_all_the_room() {
    let mut ledger = book();
    assert_eq!(outcome(&mut ledger, balancing_debit(100, SAVER, SINK, AMOUNT_MAX)), None);
    assert_eq!(stored_transfer(&ledger, 100).amount, 100);
}

#[test]
fn balancing_debit_room_excludes_posted_and_pending_debits() {
    let mut ledger = book();
    transfers_ok(&mut ledger, &[transfer(100, SAVER, SINK, 20), pending(101, SAVER, SINK, 30)]);
    assert_eq!(outcome(&mut ledger, balancing_debit(102, SAVER, SINK, AMOUNT_MAX)), None);
    assert_eq!(stored_transfer(&ledger, 102).amount, 50);
}

#[test]
fn balancing_debit_room_excludes_pending_credits() {
    let mut ledger = book();
    transfers_ok(&mut ledger, &[pending(100, SOURCE, SAVER, 500)]);
    assert_eq!(outcome(&mut ledger, balancing_debit(101, SAVER, SINK, AMOUNT_MAX)), None);
    assert_eq!(stored_transfer(&ledger, 101).amount, 100);
}

#[test]
fn balancing_debit_without_room_exceeds_credits() {
    let mut ledger = book();
    transfers_ok(&mut ledger, &[transfer(100, SAVER, SINK, 100)]);
    assert_eq!(outcome(&mut ledger, balancing_debit(101, SAVER, SINK, 10)), Some(R::ExceedsCredits));
    assert_eq!(
        balances(&ledger, SAVER),
        Balances { debits_posted: 100, credits_posted: 100, ..Balances::ZERO }
    );
}

#[test]
fn balancing_debit_on_an_account_in_debit_exceeds_credits() {
    let mut ledger = book();
    assert_eq!(outcome(&mut ledger, balancing_debit(100, BORROWER, SINK, 10)), Some(R::ExceedsCredits));
}

#[test]
fn balancing_debit_of_zero_with_room_moves_zero() {
    let mut ledger = book();
    assert_eq!(outcome(&mut ledger, balancing_debit(100, SAVER, SINK, 0)), None);
    assert_eq!(stored_transfer(&ledger, 100).amount, 0);
}

#[test]
fn balancing_debit_of_zero_without_room_exceeds_credits() {
    let mut ledger = book();
    assert_eq!(outcome(&mut ledger, balancing_debit(100, SOURCE, SINK, 0)), Some(R::ExceedsCredits));
}

#[test]
fn balancing_debit_clamps_on_an_account_with_the_limit_flag() {
    let mut ledger = book();
    assert_eq!(outcome(&mut ledger, balancing_debit(100, WALLET, SINK, 150)), None);
    assert_eq!(stored_transfer(&ledger, 100).amount, 100);
}

#[test]
fn balancing_credit_clamps_the_amount_to_the_credit_accounts_room() {
    let mut ledger = book();
    assert_eq!(outcome(&mut ledger, balancing_credit(100, SOURCE, BORROWER, 150)), None);
    assert_eq!(stored_transfer(&ledger, 100).amount, 40);
    assert_eq!(
        balances(&ledger, BORROWER),
        Balances { debits_posted: 40, credits_posted: 40, ..Balances::ZERO }
    );
}

#[test]
fn balancing_credit_room_excludes_pending_credits() {
    let mut ledger = book();
    transfers_ok(&mut ledger, &[pending(100, SOURCE, BORROWER, 15)]);
    assert_eq!(outcome(&mut ledger, balancing_credit(101, SOURCE, BORROWER, AMOUNT_MAX)), None);
    assert_eq!(stored_transfer(&ledger, 101).amount, 25);
}

#[test]
fn balancing_credit_room_excludes_pending_debits() {
    let mut ledger = book();
    transfers_ok(&mut ledger, &[pending(100, BORROWER, SINK, 500)]);
    assert_eq!(outcome(&mut ledger, balancing_credit(101, SOURCE, BORROWER, AMOUNT_MAX)), None);
    assert_eq!(stored_transfer(&ledger, 101).amount, 40);
}

#[test]
fn balancing_credit_without_room_exceeds_debits() {
    let mut ledger = book();
    assert_eq!(outcome(&mut ledger, balancing_credit(100, SOURCE, SAVER, 10)), Some(R::ExceedsDebits));
}

#[test]
fn both_balancing_flags_clamp_to_the_smaller_room() {
    let mut ledger = book();
    let event =
        with_flags(balancing_debit(100, SAVER, BORROWER, AMOUNT_MAX), TransferFlags::BALANCING_CREDIT);
    assert_eq!(outcome(&mut ledger, event), None);
    assert_eq!(stored_transfer(&ledger, 100).amount, 40);
}

#[test]
fn a_balancing_debit_still_respects_the_credit_accounts_limit() {
    let mut ledger = book();
    assert_eq!(outcome(&mut ledger, balancing_debit(100, SAVER, LOAN, 50)), Some(R::ExceedsDebits));
}

#[test]
fn a_balancing_pending_transfer_reserves_the_clamped_amount() {
    let mut ledger = book();
    let event = with_flags(pending(100, SAVER, SINK, AMOUNT_MAX), TransferFlags::BALANCING_DEBIT);
    assert_eq!(outcome(&mut ledger, event), None);
    assert_eq!(stored_transfer(&ledger, 100).amount, 100);
    assert_eq!(
        balances(&ledger, SAVER),
        Balances { debits_pending: 100, credits_posted: 100, ..Balances::ZERO }
    );
}

#[test]
fn a_post_of_a_balancing_pending_transfer_posts_the_clamped_amount() {
    let mut ledger = book();
    let event = with_flags(pending(100, SAVER, SINK, 250), TransferFlags::BALANCING_DEBIT);
    transfers_ok(&mut ledger, &[event, post(101, 100, AMOUNT_MAX)]);
    assert_eq!(stored_transfer(&ledger, 101).amount, 100);
    assert_eq!(
        balances(&ledger, SAVER),
        Balances { debits_posted: 100, credits_posted: 100, ..Balances::ZERO }
    );
}

#[test]
fn a_second_balancing_debit_finds_the_room_the_first_used() {
    let mut ledger = book();
    transfers_ok(&mut ledger, &[balancing_debit(100, SAVER, SINK, 70)]);
    assert_eq!(outcome(&mut ledger, balancing_debit(101, SAVER, SINK, 70)), None);
    assert_eq!(stored_transfer(&ledger, 101).amount, 30);
    assert_eq!(outcome(&mut ledger, balancing_debit(102, SAVER, SINK, 70)), Some(R::ExceedsCredits));
}
