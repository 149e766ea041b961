//! Burnt ids: a transfer that fails for a transient reason (an account or the pending transfer
//! not found, an account closed, exceeds credits/debits) burns its id, so a retry gets
//! `id_already_failed` even after the state changed. Failures that depend only on the event do
//! not burn. In a linked chain only the member that failed burns its id.

mod common;

use common::{
    Balances, NS_PER_SECOND, T0, account, account_with_flags, accounts_ok, balances, create_transfers, fails,
    ledger_with_accounts, linked, outcome, pending, pending_with_timeout, post, pulse, transfer,
    transfers_ok, void, with_flags,
};
use ledger_core::{
    AMOUNT_MAX, AccountFlags, CreateTransferResult as R, Ledger, Transfer, TransferFlags, TransferState,
};

const ID: u128 = 100;

fn assert_burnt(ledger: &Ledger, id: u128) {
    assert_eq!(ledger.transfer_state(id), Some(TransferState::Failed));
    assert_eq!(ledger.lookup_transfer(id), None, "a burnt id has no record");
}

fn assert_not_burnt(ledger: &Ledger, id: u128) {
    assert_eq!(ledger.transfer_state(id), None);
}

fn closing_debit(id: u128, debit: u128, credit: u128) -> Transfer {
    with_flags(pending(id, debit, credit, 0), TransferFlags::CLOSING_DEBIT)
}

#[test]
fn debit_account_not_found_burns_the_id() {
    let mut ledger = ledger_with_accounts(&[1, 2]);
    assert_eq!(outcome(&mut ledger, transfer(ID, 9, 2, 10)), Some(R::DebitAccountNotFound));
    assert_burnt(&ledger, ID);
    accounts_ok(&mut ledger, &[account(9)]);
    assert_eq!(outcome(&mut ledger, transfer(ID, 9, 2, 10)), Some(R::IdAlreadyFailed));
    assert_eq!(balances(&ledger, 9), Balances::ZERO);
}

#[test]
fn credit_account_not_found_burns_the_id() {
    let mut ledger = ledger_with_accounts(&[1, 2]);
    assert_eq!(outcome(&mut ledger, transfer(ID, 1, 9, 10)), Some(R::CreditAccountNotFound));
    accounts_ok(&mut ledger, &[account(9)]);
    assert_eq!(outcome(&mut ledger, transfer(ID, 1, 9, 10)), Some(R::IdAlreadyFailed));
    assert_eq!(balances(&ledger, 1), Balances::ZERO);
}

#[test]
fn pending_transfer_not_found_burns_the_id() {
    let mut ledger = ledger_with_accounts(&[1, 2]);
    assert_eq!(outcome(&mut ledger, post(ID, 50, AMOUNT_MAX)), Some(R::PendingTransferNotFound));
    transfers_ok(&mut ledger, &[pending(50, 1, 2, 10)]);
    assert_eq!(outcome(&mut ledger, post(ID, 50, AMOUNT_MAX)), Some(R::IdAlreadyFailed));
    assert_eq!(ledger.transfer_state(50), Some(TransferState::Pending));
}

#[test]
fn exceeds_credits_burns_the_id() {
    let mut ledger = ledger_with_accounts(&[1, 2]);
    accounts_ok(&mut ledger, &[account_with_flags(3, AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS)]);
    assert_eq!(outcome(&mut ledger, transfer(ID, 3, 2, 10)), Some(R::ExceedsCredits));
    transfers_ok(&mut ledger, &[transfer(10, 1, 3, 10)]);
    assert_eq!(outcome(&mut ledger, transfer(ID, 3, 2, 10)), Some(R::IdAlreadyFailed));
    assert_eq!(balances(&ledger, 3), Balances { credits_posted: 10, ..Balances::ZERO });
}

#[test]
fn exceeds_debits_burns_the_id() {
    let mut ledger = ledger_with_accounts(&[1, 2]);
    accounts_ok(&mut ledger, &[account_with_flags(3, AccountFlags::CREDITS_MUST_NOT_EXCEED_DEBITS)]);
    assert_eq!(outcome(&mut ledger, transfer(ID, 1, 3, 10)), Some(R::ExceedsDebits));
    transfers_ok(&mut ledger, &[transfer(10, 3, 2, 10)]);
    assert_eq!(outcome(&mut ledger, transfer(ID, 1, 3, 10)), Some(R::IdAlreadyFailed));
}

#[test]
fn a_balancing_transfer_without_room_burns_the_id() {
    let mut ledger = ledger_with_accounts(&[1, 2]);
    let event = with_flags(transfer(ID, 1, 2, 10), TransferFlags::BALANCING_DEBIT);
    assert_eq!(outcome(&mut ledger, event), Some(R::ExceedsCredits));
    transfers_ok(&mut ledger, &[transfer(10, 2, 1, 10)]);
    assert_eq!(outcome(&mut ledger, event), Some(R::IdAlreadyFailed));
}

#[test]
fn debit_account_already_closed_burns_the_id() {
    let mut ledger = ledger_with_accounts(&[1, 2]);
    transfers_ok(&mut ledger, &[closing_debit(50, 1, 2)]);
    assert_eq!(outcome(&mut ledger, transfer(ID, 1, 2, 10)), Some(R::DebitAccountAlreadyClosed));
    transfers_ok(&mut ledger, &[void(51, 50)]);
    assert_eq!(outcome(&mut ledger, transfer(ID, 1, 2, 10)), Some(R::IdAlreadyFailed));
}

#[test]
fn credit_account_already_closed_burns_the_id() {
    let mut ledger = ledger_with_accounts(&[1, 2]);
    transfers_ok(&mut ledger, &[closing_debit(50, 1, 2)]);
    assert_eq!(outcome(&mut ledger, transfer(ID, 2, 1, 10)), Some(R::CreditAccountAlreadyClosed));
    transfers_ok(&mut ledger, &[void(51, 50)]);
    assert_eq!(outcome(&mut ledger, transfer(ID, 2, 1, 10)), Some(R::IdAlreadyFailed));
}

#[test]
fn a_post_on_a_closed_account_burns_the_id() {
    let mut ledger = ledger_with_accounts(&[1, 2, 3]);
    transfers_ok(&mut ledger, &[pending(50, 1, 2, 10), closing_debit(60, 1, 3)]);
    assert_eq!(outcome(&mut ledger, post(ID, 50, AMOUNT_MAX)), Some(R::DebitAccountAlreadyClosed));
    transfers_ok(&mut ledger, &[void(61, 60)]);
    assert_eq!(outcome(&mut ledger, post(ID, 50, AMOUNT_MAX)), Some(R::IdAlreadyFailed));
    assert_eq!(ledger.transfer_state(50), Some(TransferState::Pending));
}

#[test]
fn id_already_failed_precedes_the_validation_of_the_retry() {
    let mut ledger = ledger_with_accounts(&[1, 2]);
    assert_eq!(outcome(&mut ledger, transfer(ID, 9, 2, 10)), Some(R::DebitAccountNotFound));
    assert_eq!(outcome(&mut ledger, transfer(ID, 1, 1, 10)), Some(R::IdAlreadyFailed));
}

#[test]
fn id_already_failed_precedes_flags_are_mutually_exclusive() {
    let mut ledger = ledger_with_accounts(&[1, 2]);
    assert_eq!(outcome(&mut ledger, post(ID, 50, AMOUNT_MAX)), Some(R::PendingTransferNotFound));
    let retry = with_flags(post(ID, 50, AMOUNT_MAX), TransferFlags::VOID_PENDING_TRANSFER);
    assert_eq!(outcome(&mut ledger, retry), Some(R::IdAlreadyFailed));
}

#[test]
fn timestamp_must_be_zero_precedes_id_already_failed() {
    let mut ledger = ledger_with_accounts(&[1, 2]);
    assert_eq!(outcome(&mut ledger, transfer(ID, 9, 2, 10)), Some(R::DebitAccountNotFound));
    assert_eq!(
        outcome(&mut ledger, Transfer { timestamp: 1, ..transfer(ID, 9, 2, 10) }),
        Some(R::TimestampMustBeZero)
    );
}

#[test]
fn a_burnt_id_counts_as_no_pending_transfer() {
    let mut ledger = ledger_with_accounts(&[1, 2]);
    assert_eq!(outcome(&mut ledger, pending(50, 9, 2, 10)), Some(R::DebitAccountNotFound));
    assert_eq!(outcome(&mut ledger, post(ID, 50, AMOUNT_MAX)), Some(R::PendingTransferNotFound));
}

#[test]
fn a_burnt_id_is_burnt_for_the_rest_of_its_batch() {
    let mut ledger = ledger_with_accounts(&[1, 2]);
    let batch = [transfer(ID, 9, 2, 10), transfer(ID, 1, 2, 10)];
    assert_eq!(
        create_transfers(&mut ledger, 0, &batch),
        vec![fails(0, R::DebitAccountNotFound), fails(1, R::IdAlreadyFailed)]
    );
    assert_eq!(balances(&ledger, 1), Balances::ZERO);
}

#[test]
fn a_burnt_id_adds_no_transfer() {
    let mut ledger = ledger_with_accounts(&[1, 2]);
    assert_eq!(outcome(&mut ledger, transfer(ID, 9, 2, 10)), Some(R::DebitAccountNotFound));
    assert_eq!(ledger.transfer_count(), 0);
}

// Failures that depend only on the event do not burn.

#[test]
fn accounts_must_be_different_does_not_burn_the_id() {
    let mut ledger = ledger_with_accounts(&[1, 2]);
    assert_eq!(outcome(&mut ledger, transfer(ID, 1, 1, 10)), Some(R::AccountsMustBeDifferent));
    assert_not_burnt(&ledger, ID);
    assert_eq!(outcome(&mut ledger, transfer(ID, 1, 2, 10)), None);
}

#[test]
fn ledger_must_not_be_zero_does_not_burn_the_id() {
    let mut ledger = ledger_with_accounts(&[1, 2]);
    assert_eq!(
        outcome(&mut ledger, Transfer { ledger: 0, ..transfer(ID, 1, 2, 10) }),
        Some(R::LedgerMustNotBeZero)
    );
    assert_eq!(outcome(&mut ledger, transfer(ID, 1, 2, 10)), None);
}

#[test]
fn accounts_must_have_the_same_ledger_does_not_burn_the_id() {
    let mut ledger = ledger_with_accounts(&[1, 2]);
    accounts_ok(&mut ledger, &[ledger_core::Account { ledger: common::OTHER_LEDGER, ..account(3) }]);
    assert_eq!(outcome(&mut ledger, transfer(ID, 1, 3, 10)), Some(R::AccountsMustHaveTheSameLedger));
    assert_not_burnt(&ledger, ID);
}

#[test]
fn exceeds_pending_transfer_amount_does_not_burn_the_id() {
    let mut ledger = ledger_with_accounts(&[1, 2]);
    transfers_ok(&mut ledger, &[pending(50, 1, 2, 10)]);
    assert_eq!(outcome(&mut ledger, post(ID, 50, 11)), Some(R::ExceedsPendingTransferAmount));
    assert_eq!(outcome(&mut ledger, post(ID, 50, 10)), None);
}

#[test]
fn pending_transfer_already_posted_does_not_burn_the_id() {
    let mut ledger = ledger_with_accounts(&[1, 2]);
    transfers_ok(&mut ledger, &[pending(50, 1, 2, 10), post(51, 50, AMOUNT_MAX)]);
    assert_eq!(outcome(&mut ledger, void(ID, 50)), Some(R::PendingTransferAlreadyPosted));
    assert_not_burnt(&ledger, ID);
}

#[test]
fn pending_transfer_expired_does_not_burn_the_id() {
    let mut ledger = ledger_with_accounts(&[1, 2]);
    assert_eq!(create_transfers(&mut ledger, T0, &[pending_with_timeout(50, 1, 2, 10, 1)]), vec![]);
    pulse(&mut ledger, T0 + NS_PER_SECOND);
    assert_eq!(outcome(&mut ledger, post(ID, 50, AMOUNT_MAX)), Some(R::PendingTransferExpired));
    assert_not_burnt(&ledger, ID);
    assert_eq!(
        outcome(&mut ledger, post(ID, 50, AMOUNT_MAX)),
        Some(R::PendingTransferExpired),
        "not id_already_failed"
    );
}

#[test]
fn an_overflow_does_not_burn_the_id() {
    let mut ledger = ledger_with_accounts(&[1, 2]);
    transfers_ok(&mut ledger, &[transfer(10, 1, 2, u128::MAX)]);
    assert_eq!(outcome(&mut ledger, transfer(ID, 1, 2, 1)), Some(R::OverflowsDebitsPosted));
    assert_not_burnt(&ledger, ID);
}

// Linked chains.

#[test]
fn in_a_chain_only_the_failing_member_burns_its_id() {
    let mut ledger = ledger_with_accounts(&[1, 2]);
    let batch = [linked(transfer(ID, 1, 2, 10)), transfer(ID + 1, 9, 2, 10)];
    assert_eq!(
        create_transfers(&mut ledger, 0, &batch),
        vec![fails(0, R::LinkedEventFailed), fails(1, R::DebitAccountNotFound)]
    );
    assert_not_burnt(&ledger, ID);
    assert_burnt(&ledger, ID + 1);
}

#[test]
fn a_member_that_got_linked_event_failed_can_be_retried() {
    let mut ledger = ledger_with_accounts(&[1, 2]);
    let batch = [linked(transfer(ID, 1, 2, 10)), transfer(ID + 1, 9, 2, 10)];
    assert_eq!(create_transfers(&mut ledger, 0, &batch).len(), 2);
    assert_eq!(outcome(&mut ledger, transfer(ID, 1, 2, 10)), None);
    assert_eq!(balances(&ledger, 1), Balances { debits_posted: 10, ..Balances::ZERO });
}

#[test]
fn members_after_the_failing_one_do_not_burn_their_ids() {
    let mut ledger = ledger_with_accounts(&[1, 2]);
    let batch =
        [linked(transfer(ID, 9, 2, 10)), linked(transfer(ID + 1, 1, 2, 10)), transfer(ID + 2, 2, 1, 3)];
    assert_eq!(create_transfers(&mut ledger, 0, &batch).len(), 3);
    assert_burnt(&ledger, ID);
    assert_not_burnt(&ledger, ID + 1);
    assert_not_burnt(&ledger, ID + 2);
}

#[test]
fn a_chain_rollback_keeps_the_failing_members_id_burnt() {
    let mut ledger = ledger_with_accounts(&[1, 2]);
    let batch = [linked(transfer(ID, 1, 2, 10)), transfer(ID + 1, 9, 2, 10)];
    assert_eq!(create_transfers(&mut ledger, 0, &batch).len(), 2);
    accounts_ok(&mut ledger, &[account(9)]);
    assert_eq!(outcome(&mut ledger, transfer(ID + 1, 9, 2, 10)), Some(R::IdAlreadyFailed));
}
