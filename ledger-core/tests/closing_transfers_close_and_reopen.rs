//! Closing: a pending transfer with `closing_debit` (`closing_credit`) closes its debit (credit)
//! account. A closed account accepts no new transfers and no post/void of other pending transfers.
//! Voiding or expiry of the closing transfer reopens the account; posting it closes it for good.

mod common;

use common::{
    Balances, NS_PER_SECOND, T0, account_with_flags, accounts_ok, balances, create_transfers, is_closed,
    ledger_with_accounts, outcome, pending, pending_with_timeout, post, pulse, transfer, transfers_ok, void,
    with_flags,
};
use ledger_core::{AMOUNT_MAX, AccountFlags, CreateTransferResult as R, Ledger, Transfer, TransferFlags};

const CLOSING_ID: u128 = 100;

fn closing_debit(id: u128, debit: u128, credit: u128) -> Transfer {
    with_flags(pending(id, debit, credit, 0), TransferFlags::CLOSING_DEBIT)
}

fn closing_credit(id: u128, debit: u128, credit: u128) -> Transfer {
    with_flags(pending(id, debit, credit, 0), TransferFlags::CLOSING_CREDIT)
}

/// Accounts 1, 2, 3, with account 1 closed by `CLOSING_ID` (1 -> 2, closing_debit).
fn book_with_1_closed() -> Ledger {
    let mut ledger = ledger_with_accounts(&[1, 2, 3]);
    transfers_ok(&mut ledger, &[closing_debit(CLOSING_ID, 1, 2)]);
    ledger
}

#[test]
fn closing_debit_closes_the_debit_account_only() {
    let ledger = book_with_1_closed();
    assert!(is_closed(&ledger, 1));
    assert!(!is_closed(&ledger, 2));
}

#[test]
fn closing_credit_closes_the_credit_account_only() {
    let mut ledger = ledger_with_accounts(&[1, 2]);
    transfers_ok(&mut ledger, &[closing_credit(CLOSING_ID, 1, 2)]);
    assert!(!is_closed(&ledger, 1));
    assert!(is_closed(&ledger, 2));
}

#[test]
fn both_closing_flags_close_both_accounts() {
    let mut ledger = ledger_with_accounts(&[1, 2]);
    let event = with_flags(closing_debit(CLOSING_ID, 1, 2), TransferFlags::CLOSING_CREDIT);
    transfers_ok(&mut ledger, &[event]);
    assert!(is_closed(&ledger, 1));
    assert!(is_closed(&ledger, 2));
}

#[test]
fn a_closing_transfer_reserves_its_amount_like_any_pending_transfer() {
    let mut ledger = ledger_with_accounts(&[1, 2]);
    transfers_ok(&mut ledger, &[Transfer { amount: 30, ..closing_debit(CLOSING_ID, 1, 2) }]);
    assert_eq!(balances(&ledger, 1), Balances { debits_pending: 30, ..Balances::ZERO });
    assert_eq!(balances(&ledger, 2), Balances { credits_pending: 30, ..Balances::ZERO });
}

#[test]
fn a_closed_account_cannot_be_debited() {
    let mut ledger = book_with_1_closed();
    assert_eq!(outcome(&mut ledger, transfer(200, 1, 3, 5)), Some(R::DebitAccountAlreadyClosed));
    assert_eq!(balances(&ledger, 1), Balances::ZERO);
}

#[test]
fn a_closed_account_cannot_be_credited() {
    let mut ledger = book_with_1_closed();
    assert_eq!(outcome(&mut ledger, transfer(200, 3, 1, 5)), Some(R::CreditAccountAlreadyClosed));
    assert_eq!(balances(&ledger, 3), Balances::ZERO);
}

#[test]
fn a_closed_account_takes_no_new_pending_transfer() {
    let mut ledger = book_with_1_closed();
    assert_eq!(outcome(&mut ledger, pending(200, 1, 3, 5)), Some(R::DebitAccountAlreadyClosed));
}

#[test]
fn a_closed_account_cannot_be_closed_again() {
    let mut ledger = book_with_1_closed();
    assert_eq!(outcome(&mut ledger, closing_debit(200, 1, 3)), Some(R::DebitAccountAlreadyClosed));
}

#[test]
fn the_other_account_of_a_closing_transfer_stays_usable() {
    let mut ledger = book_with_1_closed();
    assert_eq!(outcome(&mut ledger, transfer(200, 2, 3, 5)), None);
}

#[test]
fn voiding_the_closing_transfer_reopens_the_account() {
    let mut ledger = book_with_1_closed();
    assert_eq!(outcome(&mut ledger, void(101, CLOSING_ID)), None);
    assert!(!is_closed(&ledger, 1));
    assert_eq!(outcome(&mut ledger, transfer(200, 1, 3, 5)), None);
}

#[test]
fn voiding_a_closing_credit_transfer_reopens_the_credit_account() {
    let mut ledger = ledger_with_accounts(&[1, 2, 3]);
    transfers_ok(&mut ledger, &[closing_credit(CLOSING_ID, 1, 2), void(101, CLOSING_ID)]);
    assert!(!is_closed(&ledger, 2));
    assert_eq!(outcome(&mut ledger, transfer(200, 3, 2, 5)), None);
}

#[test]
fn expiry_of_the_closing_transfer_reopens_the_account() {
    let mut ledger = ledger_with_accounts(&[1, 2, 3]);
    let event = Transfer { timeout: 1, ..closing_debit(CLOSING_ID, 1, 2) };
    assert_eq!(create_transfers(&mut ledger, T0, &[event]), vec![]);
    assert!(is_closed(&ledger, 1));
    assert_eq!(pulse(&mut ledger, T0 + NS_PER_SECOND), vec![CLOSING_ID]);
    assert!(!is_closed(&ledger, 1));
    assert_eq!(outcome(&mut ledger, transfer(200, 1, 3, 5)), None);
}

#[test]
fn posting_the_closing_transfer_keeps_the_account_closed() {
    let mut ledger = book_with_1_closed();
    assert_eq!(outcome(&mut ledger, post(101, CLOSING_ID, AMOUNT_MAX)), None);
    assert!(is_closed(&ledger, 1));
    assert_eq!(outcome(&mut ledger, transfer(200, 1, 3, 5)), Some(R::DebitAccountAlreadyClosed));
}

#[test]
fn a_posted_closing_transfer_cannot_be_voided_to_reopen() {
    let mut ledger = book_with_1_closed();
    transfers_ok(&mut ledger, &[post(101, CLOSING_ID, AMOUNT_MAX)]);
    assert_eq!(outcome(&mut ledger, void(102, CLOSING_ID)), Some(R::PendingTransferAlreadyPosted));
    assert!(is_closed(&ledger, 1));
}

#[test]
fn a_posted_closing_transfer_with_a_timeout_never_reopens() {
    let mut ledger = ledger_with_accounts(&[1, 2]);
    let event = Transfer { timeout: 1, ..closing_debit(CLOSING_ID, 1, 2) };
    assert_eq!(create_transfers(&mut ledger, T0, &[event, post(101, CLOSING_ID, AMOUNT_MAX)]), vec![]);
    assert_eq!(pulse(&mut ledger, T0 + 10 * NS_PER_SECOND), Vec::<u128>::new());
    assert!(is_closed(&ledger, 1));
}

#[test]
fn another_pending_debit_cannot_be_posted_once_its_account_is_closed() {
    let mut ledger = ledger_with_accounts(&[1, 2, 3]);
    transfers_ok(&mut ledger, &[pending(50, 1, 2, 10), closing_debit(CLOSING_ID, 1, 3)]);
    assert_eq!(outcome(&mut ledger, post(101, 50, AMOUNT_MAX)), Some(R::DebitAccountAlreadyClosed));
    assert_eq!(balances(&ledger, 1), Balances { debits_pending: 10, ..Balances::ZERO });
}

#[test]
fn another_pending_debit_cannot_be_voided_once_its_account_is_closed() {
    let mut ledger = ledger_with_accounts(&[1, 2, 3]);
    transfers_ok(&mut ledger, &[pending(50, 1, 2, 10), closing_debit(CLOSING_ID, 1, 3)]);
    assert_eq!(outcome(&mut ledger, void(101, 50)), Some(R::DebitAccountAlreadyClosed));
}

#[test]
fn another_pending_credit_cannot_be_posted_once_its_account_is_closed() {
    let mut ledger = ledger_with_accounts(&[1, 2, 3]);
    transfers_ok(&mut ledger, &[pending(50, 3, 2, 10), closing_credit(CLOSING_ID, 1, 2)]);
    assert_eq!(outcome(&mut ledger, post(101, 50, AMOUNT_MAX)), Some(R::CreditAccountAlreadyClosed));
}

#[test]
fn debit_account_already_closed_precedes_credit_account_already_closed_on_a_post() {
    let mut ledger = ledger_with_accounts(&[1, 2, 3, 4]);
    transfers_ok(
        &mut ledger,
        &[pending(50, 1, 2, 10), closing_debit(CLOSING_ID, 1, 3), closing_credit(101, 4, 2)],
    );
    assert_eq!(outcome(&mut ledger, post(102, 50, AMOUNT_MAX)), Some(R::DebitAccountAlreadyClosed));
}

#[test]
fn another_pending_transfer_can_be_posted_after_the_account_reopens() {
    let mut ledger = ledger_with_accounts(&[1, 2, 3]);
    transfers_ok(
        &mut ledger,
        &[pending(50, 1, 2, 10), closing_debit(CLOSING_ID, 1, 3), void(101, CLOSING_ID)],
    );
    assert_eq!(outcome(&mut ledger, post(102, 50, AMOUNT_MAX)), None);
    assert_eq!(balances(&ledger, 1), Balances { debits_posted: 10, ..Balances::ZERO });
}

#[test]
fn another_pending_transfer_on_a_closed_account_still_expires() {
    let mut ledger = ledger_with_accounts(&[1, 2, 3]);
    assert_eq!(create_transfers(&mut ledger, T0, &[pending_with_timeout(50, 1, 2, 10, 1)]), vec![]);
    transfers_ok(&mut ledger, &[closing_debit(CLOSING_ID, 1, 3)]);
    assert_eq!(pulse(&mut ledger, T0 + NS_PER_SECOND), vec![50]);
    assert_eq!(balances(&ledger, 1), Balances::ZERO);
    assert!(is_closed(&ledger, 1), "only the closing transfer's own expiry reopens");
}

#[test]
fn a_rejected_closing_transfer_does_not_close_the_account() {
    let mut ledger = ledger_with_accounts(&[1, 2]);
    accounts_ok(&mut ledger, &[account_with_flags(3, AccountFlags::CREDITS_MUST_NOT_EXCEED_DEBITS)]);
    let event = Transfer { amount: 5, ..closing_debit(CLOSING_ID, 1, 3) };
    assert_eq!(outcome(&mut ledger, event), Some(R::ExceedsDebits));
    assert!(!is_closed(&ledger, 1));
}

#[test]
fn an_account_created_closed_accepts_no_transfers() {
    let mut ledger = ledger_with_accounts(&[1]);
    accounts_ok(&mut ledger, &[account_with_flags(2, AccountFlags::CLOSED)]);
    assert_eq!(outcome(&mut ledger, transfer(200, 1, 2, 5)), Some(R::CreditAccountAlreadyClosed));
}

#[test]
fn a_post_of_an_expired_closing_transfer_is_rejected_and_the_account_stays_open() {
    let mut ledger = ledger_with_accounts(&[1, 2]);
    let event = Transfer { timeout: 1, ..closing_debit(CLOSING_ID, 1, 2) };
    assert_eq!(create_transfers(&mut ledger, T0, &[event]), vec![]);
    let failures =
        create_transfers(&mut ledger, T0 + 2 * NS_PER_SECOND, &[post(101, CLOSING_ID, AMOUNT_MAX)]);
    assert_eq!(failures, vec![common::fails(0, R::PendingTransferExpired)]);
    assert!(!is_closed(&ledger, 1));
}

#[test]
fn voiding_a_closing_transfer_is_rejected_when_its_other_account_was_closed_by_another() {
    let mut ledger = ledger_with_accounts(&[1, 2, 3]);
    transfers_ok(&mut ledger, &[closing_debit(CLOSING_ID, 1, 2), closing_credit(101, 3, 2)]);
    assert_eq!(outcome(&mut ledger, void(102, CLOSING_ID)), Some(R::CreditAccountAlreadyClosed));
    assert!(is_closed(&ledger, 1));
}

#[test]
fn pending_transfer_already_posted_precedes_debit_account_already_closed() {
    let mut ledger = ledger_with_accounts(&[1, 2, 3]);
    transfers_ok(&mut ledger, &[pending(50, 1, 2, 10), post(51, 50, 4), closing_debit(CLOSING_ID, 1, 3)]);
    assert_eq!(outcome(&mut ledger, post(52, 50, 4)), Some(R::PendingTransferAlreadyPosted));
}

#[test]
fn pending_transfer_expired_precedes_debit_account_already_closed() {
    let mut ledger = ledger_with_accounts(&[1, 2, 3]);
    assert_eq!(create_transfers(&mut ledger, T0, &[pending_with_timeout(50, 1, 2, 10, 1)]), vec![]);
    transfers_ok(&mut ledger, &[closing_debit(CLOSING_ID, 1, 3)]);
    assert_eq!(pulse(&mut ledger, T0 + NS_PER_SECOND), vec![50]);
    assert_eq!(outcome(&mut ledger, post(51, 50, AMOUNT_MAX)), Some(R::PendingTransferExpired));
}
