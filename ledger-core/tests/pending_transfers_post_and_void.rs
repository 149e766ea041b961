//! Two-phase transfers: a pending transfer reserves its amount; a post moves all or part of it to
//! the posted balances and releases the rest; a void releases it all. Either happens once, and
//! the stored post/void record takes its accounts, ledger, code and empty user data from the
//! pending transfer.

mod common;

use common::{
    Balances, CODE, LEDGER, balances, create_transfers, fails, ledger_with_accounts, outcome, pending, post,
    stored_transfer, transfer, transfers_ok, void,
};
use ledger_core::{AMOUNT_MAX, CreateTransferResult as R, Ledger, Transfer, TransferFlags, TransferState};

const PENDING_ID: u128 = 100;

/// The pending transfer every test resolves: 100 from account 1 to account 2, with user data.
fn pending_transfer() -> Transfer {
    Transfer { user_data_128: 11, user_data_64: 12, user_data_32: 13, ..pending(PENDING_ID, 1, 2, 100) }
}

/// Accounts 1, 2, 3 and the pending transfer, reserved.
fn book() -> Ledger {
    let mut ledger = ledger_with_accounts(&[1, 2, 3]);
    transfers_ok(&mut ledger, &[pending_transfer()]);
    ledger
}

fn debit_side(pending: u128, posted: u128) -> Balances {
    Balances { debits_pending: pending, debits_posted: posted, ..Balances::ZERO }
}

fn credit_side(pending: u128, posted: u128) -> Balances {
    Balances { credits_pending: pending, credits_posted: posted, ..Balances::ZERO }
}

fn assert_book_balances(ledger: &Ledger, pending: u128, posted: u128) {
    assert_eq!(balances(ledger, 1), debit_side(pending, posted), "debit account");
    assert_eq!(balances(ledger, 2), credit_side(pending, posted), "credit account");
}

#[test]
fn a_pending_transfer_reserves_its_amount() {
    let ledger = book();
    assert_book_balances(&ledger, 100, 0);
    assert_eq!(ledger.transfer_state(PENDING_ID), Some(TransferState::Pending));
    assert_eq!(ledger.pending_count(), 1);
}

#[test]
fn a_full_post_moves_the_amount_to_posted() {
    let mut ledger = book();
    assert_eq!(outcome(&mut ledger, post(101, PENDING_ID, 100)), None);
    assert_book_balances(&ledger, 0, 100);
    assert_eq!(ledger.transfer_state(PENDING_ID), Some(TransferState::Posted));
    assert_eq!(ledger.transfer_state(101), Some(TransferState::Committed));
    assert_eq!(ledger.pending_count(), 0);
}

#[test]
fn a_post_of_amount_max_posts_the_whole_pending_amount() {
    let mut ledger = book();
    assert_eq!(outcome(&mut ledger, post(101, PENDING_ID, AMOUNT_MAX)), None);
    assert_book_balances(&ledger, 0, 100);
    assert_eq!(stored_transfer(&ledger, 101).amount, 100);
}

#[test]
fn a_partial_post_posts_its_amount_and_releases_the_rest() {
    let mut ledger = book();
    assert_eq!(outcome(&mut ledger, post(101, PENDING_ID, 30)), None);
    assert_book_balances(&ledger, 0, 30);
    assert_eq!(stored_transfer(&ledger, 101).amount, 30);
    assert_eq!(ledger.transfer_state(PENDING_ID), Some(TransferState::Posted));
}

#[test]
fn a_post_of_zero_posts_nothing_and_releases_everything() {
    let mut ledger = book();
    assert_eq!(outcome(&mut ledger, post(101, PENDING_ID, 0)), None);
    assert_book_balances(&ledger, 0, 0);
    assert_eq!(stored_transfer(&ledger, 101).amount, 0);
    assert_eq!(ledger.transfer_state(PENDING_ID), Some(TransferState::Posted));
}

#[test]
fn a_post_of_more_than_the_pending_amount_is_rejected() {
    let mut ledger = book();
    assert_eq!(outcome(&mut ledger, post(101, PENDING_ID, 101)), Some(R::ExceedsPendingTransferAmount));
    assert_book_balances(&ledger, 100, 0);
    assert_eq!(ledger.transfer_state(PENDING_ID), Some(TransferState::Pending));
}

#[test]
fn a_pending_transfer_of_zero_can_be_posted_with_amount_max() {
    let mut ledger = book();
    transfers_ok(&mut ledger, &[pending(200, 1, 3, 0), post(201, 200, AMOUNT_MAX)]);
    assert_eq!(stored_transfer(&ledger, 201).amount, 0);
    assert_eq!(ledger.transfer_state(200), Some(TransferState::Posted));
}

#[test]
fn a_void_of_zero_releases_the_whole_amount() {
    let mut ledger = book();
    assert_eq!(outcome(&mut ledger, void(101, PENDING_ID)), None);
    assert_book_balances(&ledger, 0, 0);
    assert_eq!(ledger.transfer_state(PENDING_ID), Some(TransferState::Voided));
    assert_eq!(stored_transfer(&ledger, 101).amount, 100, "a void records the amount it released");
}

#[test]
fn a_void_of_exactly_the_pending_amount_releases_it() {
    let mut ledger = book();
    assert_eq!(outcome(&mut ledger, Transfer { amount: 100, ..void(101, PENDING_ID) }), None);
    assert_book_balances(&ledger, 0, 0);
    assert_eq!(stored_transfer(&ledger, 101).amount, 100);
}

#[test]
fn a_void_of_amount_max_releases_the_whole_amount() {
    let mut ledger = book();
    assert_eq!(outcome(&mut ledger, Transfer { amount: AMOUNT_MAX, ..void(101, PENDING_ID) }), None);
    assert_book_balances(&ledger, 0, 0);
    assert_eq!(stored_transfer(&ledger, 101).amount, 100);
}

#[test]
fn a_void_of_less_than_the_pending_amount_is_rejected() {
    let mut ledger = book();
    let event = Transfer { amount: 50, ..void(101, PENDING_ID) };
    assert_eq!(outcome(&mut ledger, event), Some(R::PendingTransferHasDifferentAmount));
    assert_book_balances(&ledger, 100, 0);
}

#[test]
fn a_void_of_more_than_the_pending_amount_is_rejected() {
    let mut ledger = book();
    let event = Transfer { amount: 101, ..void(101, PENDING_ID) };
    assert_eq!(outcome(&mut ledger, event), Some(R::PendingTransferHasDifferentAmount));
}

#[test]
fn a_posted_transfer_cannot_be_posted_again() {
    let mut ledger = book();
    transfers_ok(&mut ledger, &[post(101, PENDING_ID, 40)]);
    assert_eq!(outcome(&mut ledger, post(102, PENDING_ID, 40)), Some(R::PendingTransferAlreadyPosted));
    assert_book_balances(&ledger, 0, 40);
}

#[test]
fn a_posted_transfer_cannot_be_voided() {
    let mut ledger = book();
    transfers_ok(&mut ledger, &[post(101, PENDING_ID, 40)]);
    assert_eq!(outcome(&mut ledger, void(102, PENDING_ID)), Some(R::PendingTransferAlreadyPosted));
}

#[test]
fn a_voided_transfer_cannot_be_posted() {
    let mut ledger = book();
    transfers_ok(&mut ledger, &[void(101, PENDING_ID)]);
    assert_eq!(outcome(&mut ledger, post(102, PENDING_ID, 100)), Some(R::PendingTransferAlreadyVoided));
    assert_book_balances(&ledger, 0, 0);
}

#[test]
fn a_voided_transfer_cannot_be_voided_again() {
    let mut ledger = book();
    transfers_ok(&mut ledger, &[void(101, PENDING_ID)]);
    assert_eq!(outcome(&mut ledger, void(102, PENDING_ID)), Some(R::PendingTransferAlreadyVoided));
}

#[test]
fn a_post_record_is_filled_from_the_pending_transfer() {
    let mut ledger = book();
    let now = 1_000_000;
    assert_eq!(create_transfers(&mut ledger, now, &[post(101, PENDING_ID, 60)]), vec![]);
    let expected = Transfer {
        id: 101,
        debit_account_id: 1,
        credit_account_id: 2,
        amount: 60,
        pending_id: PENDING_ID,
        user_data_128: 11,
        user_data_64: 12,
        user_data_32: 13,
        timeout: 0,
        ledger: LEDGER,
        code: CODE,
        flags: TransferFlags::POST_PENDING_TRANSFER,
        timestamp: now,
    };
    assert_eq!(stored_transfer(&ledger, 101), expected);
}

#[test]
fn a_void_record_is_filled_from_the_pending_transfer() {
    let mut ledger = book();
    let now = 1_000_000;
    assert_eq!(create_transfers(&mut ledger, now, &[void(101, PENDING_ID)]), vec![]);
    let expected = Transfer {
        id: 101,
        debit_account_id: 1,
        credit_account_id: 2,
        amount: 100,
        pending_id: PENDING_ID,
        user_data_128: 11,
        user_data_64: 12,
        user_data_32: 13,
        timeout: 0,
        ledger: LEDGER,
        code: CODE,
        flags: TransferFlags::VOID_PENDING_TRANSFER,
        timestamp: now,
    };
    assert_eq!(stored_transfer(&ledger, 101), expected);
}

#[test]
fn a_post_keeps_its_own_non_zero_user_data() {
    let mut ledger = book();
    transfers_ok(&mut ledger, &[Transfer { user_data_64: 99, ..post(101, PENDING_ID, 60) }]);
    let stored = stored_transfer(&ledger, 101);
    assert_eq!((stored.user_data_128, stored.user_data_64, stored.user_data_32), (11, 99, 13));
}

#[test]
fn a_post_may_repeat_the_pending_transfers_accounts_ledger_and_code() {
    let mut ledger = book();
    let event = Transfer {
        debit_account_id: 1,
        credit_account_id: 2,
        ledger: LEDGER,
        code: CODE,
        ..post(101, PENDING_ID, 60)
    };
    assert_eq!(outcome(&mut ledger, event), None);
    assert_book_balances(&ledger, 0, 60);
}

#[test]
fn the_pending_record_is_unchanged_by_its_post() {
    let mut ledger = book();
    let before = stored_transfer(&ledger, PENDING_ID);
    transfers_ok(&mut ledger, &[post(101, PENDING_ID, 60)]);
    assert_eq!(stored_transfer(&ledger, PENDING_ID), before);
}

#[test]
fn a_post_in_the_same_batch_as_its_pending_transfer_sees_it() {
    let mut ledger = ledger_with_accounts(&[1, 2]);
    transfers_ok(&mut ledger, &[pending(100, 1, 2, 100), post(101, 100, 70)]);
    assert_book_balances(&ledger, 0, 70);
}

#[test]
fn a_single_phase_transfer_is_not_pending() {
    let mut ledger = book();
    transfers_ok(&mut ledger, &[transfer(200, 1, 2, 5)]);
    assert_eq!(outcome(&mut ledger, post(201, 200, 5)), Some(R::PendingTransferNotPending));
}

#[test]
fn a_post_record_is_not_pending() {
    let mut ledger = book();
    transfers_ok(&mut ledger, &[post(101, PENDING_ID, 100)]);
    assert_eq!(outcome(&mut ledger, void(102, 101)), Some(R::PendingTransferNotPending));
}

#[test]
fn a_post_naming_another_debit_account_is_rejected() {
    let mut ledger = book();
    let event = Transfer { debit_account_id: 3, ..post(101, PENDING_ID, 100) };
    assert_eq!(outcome(&mut ledger, event), Some(R::PendingTransferHasDifferentDebitAccountId));
    assert_book_balances(&ledger, 100, 0);
}

#[test]
fn a_post_naming_another_credit_account_is_rejected() {
    let mut ledger = book();
    let event = Transfer { credit_account_id: 3, ..post(101, PENDING_ID, 100) };
    assert_eq!(outcome(&mut ledger, event), Some(R::PendingTransferHasDifferentCreditAccountId));
}

#[test]
fn a_void_naming_another_ledger_is_rejected() {
    let mut ledger = book();
    let event = Transfer { ledger: LEDGER + 1, ..void(101, PENDING_ID) };
    assert_eq!(outcome(&mut ledger, event), Some(R::PendingTransferHasDifferentLedger));
}

#[test]
fn a_void_naming_another_code_is_rejected() {
    let mut ledger = book();
    let event = Transfer { code: CODE + 1, ..void(101, PENDING_ID) };
    assert_eq!(outcome(&mut ledger, event), Some(R::PendingTransferHasDifferentCode));
}

// Precedence pairs among the post/void checks.

#[test]
fn pending_transfer_not_pending_precedes_different_debit_account_id() {
    let mut ledger = book();
    transfers_ok(&mut ledger, &[transfer(200, 1, 2, 5)]);
    let event = Transfer { debit_account_id: 3, ..post(201, 200, 5) };
    assert_eq!(outcome(&mut ledger, event), Some(R::PendingTransferNotPending));
}

#[test]
fn different_debit_account_id_precedes_different_credit_account_id() {
    let mut ledger = book();
    let event = Transfer { debit_account_id: 2, credit_account_id: 1, ..post(101, PENDING_ID, 100) };
    assert_eq!(outcome(&mut ledger, event), Some(R::PendingTransferHasDifferentDebitAccountId));
}

#[test]
fn different_credit_account_id_precedes_different_ledger() {
    let mut ledger = book();
    let event = Transfer { credit_account_id: 3, ledger: LEDGER + 1, ..post(101, PENDING_ID, 100) };
    assert_eq!(outcome(&mut ledger, event), Some(R::PendingTransferHasDifferentCreditAccountId));
}

#[test]
fn different_ledger_precedes_different_code() {
    let mut ledger = book();
    let event = Transfer { ledger: LEDGER + 1, code: CODE + 1, ..post(101, PENDING_ID, 100) };
    assert_eq!(outcome(&mut ledger, event), Some(R::PendingTransferHasDifferentLedger));
}

#[test]
fn different_code_precedes_exceeds_pending_transfer_amount() {
    let mut ledger = book();
    let event = Transfer { code: CODE + 1, ..post(101, PENDING_ID, 101) };
    assert_eq!(outcome(&mut ledger, event), Some(R::PendingTransferHasDifferentCode));
}

#[test]
fn exceeds_pending_transfer_amount_precedes_already_posted() {
    let mut ledger = book();
    transfers_ok(&mut ledger, &[post(101, PENDING_ID, 100)]);
    assert_eq!(outcome(&mut ledger, post(102, PENDING_ID, 101)), Some(R::ExceedsPendingTransferAmount));
}

#[test]
fn different_amount_precedes_already_voided() {
    let mut ledger = book();
    transfers_ok(&mut ledger, &[void(101, PENDING_ID)]);
    let event = Transfer { amount: 50, ..void(102, PENDING_ID) };
    assert_eq!(outcome(&mut ledger, event), Some(R::PendingTransferHasDifferentAmount));
}

#[test]
fn a_failed_post_leaves_the_pending_transfer_resolvable() {
    let mut ledger = book();
    let batch = [post(101, PENDING_ID, 101), post(102, PENDING_ID, 100)];
    assert_eq!(create_transfers(&mut ledger, 0, &batch), vec![fails(0, R::ExceedsPendingTransferAmount)]);
    assert_book_balances(&ledger, 0, 100);
}

#[test]
fn a_pending_transfer_is_stored_as_submitted() {
    let ledger = book();
    let stored = stored_transfer(&ledger, PENDING_ID);
    assert_eq!(stored, Transfer { timestamp: stored.timestamp, ..pending_transfer() });
    assert_ne!(stored.timestamp, 0);
}
