//! Idempotency: an id is accepted once, forever. A resubmission is compared field by field in the
//! order of codes 7–17 and answers `exists` when nothing differs. For a post/void, zero optional
//! fields mean "as the pending transfer"; a post of `AMOUNT_MAX` and a void of 0 or `AMOUNT_MAX`
//! match whatever was resolved; a balancing transfer matches when its stored (clamped) amount is
//! within the requested cap. A second event with the same id in one batch sees the first.

mod common;

use common::{
    Balances, CODE, LEDGER, NS_PER_SECOND, T0, account, balances, create_accounts, create_transfers, fails,
    ledger_with_accounts, outcome, pending, pending_with_timeout, post, pulse, transfer, transfers_ok, void,
    with_flags,
};
use ledger_core::{
    AMOUNT_MAX, CreateAccountResult as A, CreateTransferResult as R, Ledger, Transfer, TransferFlags,
};

const ID: u128 = 100;
const PENDING_ID: u128 = 50;

/// A single-phase transfer with every comparable field set.
fn base() -> Transfer {
    Transfer { user_data_128: 5, user_data_64: 6, user_data_32: 7, ..transfer(ID, 1, 2, 10) }
}

/// Accounts 1, 2, 3 and `base()` applied.
fn book() -> Ledger {
    let mut ledger = ledger_with_accounts(&[1, 2, 3]);
    transfers_ok(&mut ledger, &[base()]);
    ledger
}

fn resubmit(change: impl FnOnce(&mut Transfer)) -> Option<R> {
    let mut ledger = book();
    let mut event = base();
    change(&mut event);
    let result = outcome(&mut ledger, event);
    assert_eq!(balances(&ledger, 1), Balances { debits_posted: 10, ..Balances::ZERO }, "nothing moves twice");
    result
}

#[test]
fn the_same_transfer_again_exists() {
    assert_eq!(resubmit(|_| {}), Some(R::Exists));
}

#[test]
fn the_stored_transfer_is_unchanged_by_a_resubmission() {
    let mut ledger = book();
    let before = ledger.lookup_transfer(ID);
    assert_eq!(outcome(&mut ledger, base()), Some(R::Exists));
    assert_eq!(ledger.lookup_transfer(ID), before);
    assert_eq!(ledger.transfer_count(), 1);
}

#[test]
fn exists_with_different_flags() {
    assert_eq!(resubmit(|t| t.flags = TransferFlags::PENDING), Some(R::ExistsWithDifferentFlags));
}

#[test]
fn exists_with_different_pending_id() {
    assert_eq!(resubmit(|t| t.pending_id = 99), Some(R::ExistsWithDifferentPendingId));
}

#[test]
fn exists_with_different_timeout() {
    assert_eq!(resubmit(|t| t.timeout = 5), Some(R::ExistsWithDifferentTimeout));
}

#[test]
fn exists_with_different_debit_account_id() {
    assert_eq!(resubmit(|t| t.debit_account_id = 3), Some(R::ExistsWithDifferentDebitAccountId));
}

#[test]
fn exists_with_different_credit_account_id() {
    assert_eq!(resubmit(|t| t.credit_account_id = 3), Some(R::ExistsWithDifferentCreditAccountId));
}

#[test]
fn exists_with_different_amount() {
    assert_eq!(resubmit(|t| t.amount = 11), Some(R::ExistsWithDifferentAmount));
}

#[test]
fn exists_with_different_user_data_128() {
    assert_eq!(resubmit(|t| t.user_data_128 = 0), Some(R::ExistsWithDifferentUserData128));
}

#[test]
fn exists_with_different_user_data_64() {
    assert_eq!(resubmit(|t| t.user_data_64 = 0), Some(R::ExistsWithDifferentUserData64));
}

#[test]
fn exists_with_different_user_data_32() {
    assert_eq!(resubmit(|t| t.user_data_32 = 0), Some(R::ExistsWithDifferentUserData32));
}

#[test]
fn exists_with_different_ledger() {
    assert_eq!(resubmit(|t| t.ledger = LEDGER + 1), Some(R::ExistsWithDifferentLedger));
}

#[test]
fn exists_with_different_code() {
    assert_eq!(resubmit(|t| t.code = CODE + 1), Some(R::ExistsWithDifferentCode));
}

// Precedence among the comparisons, and against the other checks.

#[test]
fn different_flags_precede_different_pending_id() {
    let result = resubmit(|t| {
        t.flags = TransferFlags::PENDING;
        t.pending_id = 99;
    });
    assert_eq!(result, Some(R::ExistsWithDifferentFlags));
}

#[test]
fn different_pending_id_precedes_different_timeout() {
    let result = resubmit(|t| {
        t.pending_id = 99;
        t.timeout = 5;
    });
    assert_eq!(result, Some(R::ExistsWithDifferentPendingId));
}

#[test]
fn different_timeout_precedes_different_debit_account_id() {
    let result = resubmit(|t| {
        t.timeout = 5;
        t.debit_account_id = 3;
    });
    assert_eq!(result, Some(R::ExistsWithDifferentTimeout));
}

#[test]
fn different_debit_account_id_precedes_different_credit_account_id() {
    let result = resubmit(|t| {
        t.debit_account_id = 2;
        t.credit_account_id = 1;
    });
    assert_eq!(result, Some(R::ExistsWithDifferentDebitAccountId));
}

#[test]
fn different_credit_account_id_precedes_different_amount() {
    let result = resubmit(|t| {
        t.credit_account_id = 3;
        t.amount = 11;
    });
    assert_eq!(result, Some(R::ExistsWithDifferentCreditAccountId));
}

#[test]
fn different_amount_precedes_different_user_data_128() {
    let result = resubmit(|t| {
        t.amount = 11;
        t.user_data_128 = 0;
    });
    assert_eq!(result, Some(R::ExistsWithDifferentAmount));
}

#[test]
fn different_user_data_128_precedes_different_user_data_64() {
    let result = resubmit(|t| {
        t.user_data_128 = 0;
        t.user_data_64 = 0;
    });
    assert_eq!(result, Some(R::ExistsWithDifferentUserData128));
}

#[test]
fn different_user_data_64_precedes_different_user_data_32() {
    let result = resubmit(|t| {
        t.user_data_64 = 0;
        t.user_data_32 = 0;
    });
    assert_eq!(result, Some(R::ExistsWithDifferentUserData64));
}

#[test]
fn different_user_data_32_precedes_different_ledger() {
    let result = resubmit(|t| {
        t.user_data_32 = 0;
        t.ledger = LEDGER + 1;
    });
    assert_eq!(result, Some(R::ExistsWithDifferentUserData32));
}

#[test]
fn different_ledger_precedes_different_code() {
    let result = resubmit(|t| {
        t.ledger = LEDGER + 1;
        t.code = CODE + 1;
    });
    assert_eq!(result, Some(R::ExistsWithDifferentLedger));
}

#[test]
fn timestamp_must_be_zero_precedes_exists() {
    assert_eq!(resubmit(|t| t.timestamp = 1), Some(R::TimestampMustBeZero));
}

#[test]
fn reserved_flag_precedes_exists() {
    assert_eq!(resubmit(|t| t.flags = TransferFlags(1 << 8)), Some(R::ReservedFlag));
}

#[test]
fn exists_with_different_ledger_precedes_ledger_must_not_be_zero() {
    assert_eq!(resubmit(|t| t.ledger = 0), Some(R::ExistsWithDifferentLedger));
}

#[test]
fn exists_with_different_timeout_precedes_timeout_reserved_for_pending_transfer() {
    // The same change on a new id would be `timeout_reserved_for_pending_transfer`.
    assert_eq!(resubmit(|t| t.timeout = 1), Some(R::ExistsWithDifferentTimeout));
}

#[test]
fn exists_precedes_the_state_checks_of_the_accounts() {
    let mut ledger = book();
    let closing = with_flags(pending(200, 1, 3, 0), TransferFlags::CLOSING_DEBIT);
    transfers_ok(&mut ledger, &[closing]);
    assert_eq!(outcome(&mut ledger, base()), Some(R::Exists));
}

#[test]
fn a_pending_transfer_still_exists_after_it_was_posted() {
    let mut ledger = book();
    transfers_ok(&mut ledger, &[pending(PENDING_ID, 1, 2, 100), post(51, PENDING_ID, AMOUNT_MAX)]);
    assert_eq!(outcome(&mut ledger, pending(PENDING_ID, 1, 2, 100)), Some(R::Exists));
    assert_eq!(balances(&ledger, 1), Balances { debits_posted: 110, ..Balances::ZERO });
}

#[test]
fn a_pending_transfer_still_exists_after_it_expired() {
    let mut ledger = book();
    let event = pending_with_timeout(PENDING_ID, 1, 2, 100, 1);
    assert_eq!(create_transfers(&mut ledger, T0, &[event]), vec![]);
    assert_eq!(pulse(&mut ledger, T0 + NS_PER_SECOND), vec![PENDING_ID]);
    assert_eq!(create_transfers(&mut ledger, T0 + 2 * NS_PER_SECOND, &[event]), vec![fails(0, R::Exists)]);
    assert_eq!(
        balances(&ledger, 1),
        Balances { debits_posted: 10, ..Balances::ZERO },
        "nothing is reserved again"
    );
}

// Post and void: zero optional fields are "as the pending transfer".

/// `book()` plus a pending transfer of 100 (with user data) from 1 to 2.
fn book_with_pending() -> Ledger {
    let mut ledger = book();
    let event =
        Transfer { user_data_128: 15, user_data_64: 16, user_data_32: 17, ..pending(PENDING_ID, 1, 2, 100) };
    transfers_ok(&mut ledger, &[event]);
    ledger
}

fn resolved_then_resubmitted(first: Transfer, again: Transfer) -> Option<R> {
    let mut ledger = book_with_pending();
    transfers_ok(&mut ledger, &[first]);
    outcome(&mut ledger, again)
}

#[test]
fn a_post_with_empty_optional_fields_again_exists() {
    assert_eq!(
        resolved_then_resubmitted(post(60, PENDING_ID, AMOUNT_MAX), post(60, PENDING_ID, AMOUNT_MAX)),
        Some(R::Exists)
    );
}

#[test]
fn a_post_naming_the_pending_transfers_accounts_ledger_and_code_exists() {
    let again = Transfer {
        debit_account_id: 1,
        credit_account_id: 2,
        ledger: LEDGER,
        code: CODE,
        ..post(60, PENDING_ID, AMOUNT_MAX)
    };
    assert_eq!(resolved_then_resubmitted(post(60, PENDING_ID, AMOUNT_MAX), again), Some(R::Exists));
}

#[test]
fn a_post_naming_the_filled_user_data_exists() {
    let again = Transfer {
        user_data_128: 15,
        user_data_64: 16,
        user_data_32: 17,
        ..post(60, PENDING_ID, AMOUNT_MAX)
    };
    assert_eq!(resolved_then_resubmitted(post(60, PENDING_ID, AMOUNT_MAX), again), Some(R::Exists));
}

#[test]
fn a_post_with_its_own_user_data_matches_a_resubmission_without_it() {
    let first = Transfer { user_data_64: 99, ..post(60, PENDING_ID, AMOUNT_MAX) };
    assert_eq!(resolved_then_resubmitted(first, post(60, PENDING_ID, AMOUNT_MAX)), Some(R::Exists));
}

#[test]
fn a_post_naming_another_debit_account_exists_with_different_debit_account_id() {
    let again = Transfer { debit_account_id: 3, ..post(60, PENDING_ID, AMOUNT_MAX) };
    assert_eq!(
        resolved_then_resubmitted(post(60, PENDING_ID, AMOUNT_MAX), again),
        Some(R::ExistsWithDifferentDebitAccountId)
    );
}

#[test]
fn a_post_naming_another_credit_account_exists_with_different_credit_account_id() {
    let again = Transfer { credit_account_id: 3, ..post(60, PENDING_ID, AMOUNT_MAX) };
    assert_eq!(
        resolved_then_resubmitted(post(60, PENDING_ID, AMOUNT_MAX), again),
        Some(R::ExistsWithDifferentCreditAccountId)
    );
}

#[test]
fn a_post_naming_other_user_data_exists_with_different_user_data() {
    let again = Transfer { user_data_128: 9, ..post(60, PENDING_ID, AMOUNT_MAX) };
    assert_eq!(
        resolved_then_resubmitted(post(60, PENDING_ID, AMOUNT_MAX), again),
        Some(R::ExistsWithDifferentUserData128)
    );
}

#[test]
fn a_post_naming_another_ledger_exists_with_different_ledger() {
    let again = Transfer { ledger: LEDGER + 1, ..post(60, PENDING_ID, AMOUNT_MAX) };
    assert_eq!(
        resolved_then_resubmitted(post(60, PENDING_ID, AMOUNT_MAX), again),
        Some(R::ExistsWithDifferentLedger)
    );
}

#[test]
fn a_post_naming_another_code_exists_with_different_code() {
    let again = Transfer { code: CODE + 1, ..post(60, PENDING_ID, AMOUNT_MAX) };
    assert_eq!(
        resolved_then_resubmitted(post(60, PENDING_ID, AMOUNT_MAX), again),
        Some(R::ExistsWithDifferentCode)
    );
}

#[test]
fn a_post_resubmitted_as_a_void_exists_with_different_flags() {
    assert_eq!(
        resolved_then_resubmitted(post(60, PENDING_ID, AMOUNT_MAX), void(60, PENDING_ID)),
        Some(R::ExistsWithDifferentFlags)
    );
}

#[test]
fn a_post_naming_another_pending_id_exists_with_different_pending_id() {
    assert_eq!(
        resolved_then_resubmitted(post(60, PENDING_ID, AMOUNT_MAX), post(60, 51, AMOUNT_MAX)),
        Some(R::ExistsWithDifferentPendingId)
    );
}

#[test]
fn a_post_of_amount_max_matches_the_amount_it_posted() {
    assert_eq!(
        resolved_then_resubmitted(post(60, PENDING_ID, AMOUNT_MAX), post(60, PENDING_ID, 100)),
        Some(R::Exists)
    );
}

#[test]
fn a_partial_post_matches_a_resubmission_of_amount_max() {
    assert_eq!(
        resolved_then_resubmitted(post(60, PENDING_ID, 30), post(60, PENDING_ID, AMOUNT_MAX)),
        Some(R::Exists)
    );
}

#[test]
fn a_partial_post_resubmitted_with_another_amount_exists_with_different_amount() {
    assert_eq!(
        resolved_then_resubmitted(post(60, PENDING_ID, 30), post(60, PENDING_ID, 40)),
        Some(R::ExistsWithDifferentAmount)
    );
}

#[test]
fn a_void_of_zero_matches_a_resubmission_of_amount_max() {
    let again = Transfer { amount: AMOUNT_MAX, ..void(60, PENDING_ID) };
    assert_eq!(resolved_then_resubmitted(void(60, PENDING_ID), again), Some(R::Exists));
}

#[test]
fn a_void_of_amount_max_matches_a_resubmission_of_zero() {
    let first = Transfer { amount: AMOUNT_MAX, ..void(60, PENDING_ID) };
    assert_eq!(resolved_then_resubmitted(first, void(60, PENDING_ID)), Some(R::Exists));
}

#[test]
fn a_void_matches_a_resubmission_of_the_released_amount() {
    let again = Transfer { amount: 100, ..void(60, PENDING_ID) };
    assert_eq!(resolved_then_resubmitted(void(60, PENDING_ID), again), Some(R::Exists));
}

#[test]
fn a_void_resubmitted_with_another_amount_exists_with_different_amount() {
    let again = Transfer { amount: 50, ..void(60, PENDING_ID) };
    assert_eq!(resolved_then_resubmitted(void(60, PENDING_ID), again), Some(R::ExistsWithDifferentAmount));
}

#[test]
fn a_post_resubmitted_with_a_timeout_exists_with_different_timeout() {
    let again = Transfer { timeout: 1, ..post(60, PENDING_ID, AMOUNT_MAX) };
    assert_eq!(
        resolved_then_resubmitted(post(60, PENDING_ID, AMOUNT_MAX), again),
        Some(R::ExistsWithDifferentTimeout)
    );
}

// Balancing transfers: the stored (clamped) amount matches any cap at or above it.

/// Account 4 with 100 of room; a balancing debit of 150 from it, stored as 100.
fn book_with_balancing() -> Ledger {
    let mut ledger = book();
    common::accounts_ok(&mut ledger, &[account(4)]);
    transfers_ok(&mut ledger, &[transfer(200, 3, 4, 100), balancing(150)]);
    assert_eq!(ledger.lookup_transfer(201).map(|t| t.amount), Some(100));
    ledger
}

fn balancing(cap: u128) -> Transfer {
    with_flags(transfer(201, 4, 2, cap), TransferFlags::BALANCING_DEBIT)
}

#[test]
fn a_balancing_transfer_resubmitted_with_the_same_cap_exists() {
    let mut ledger = book_with_balancing();
    assert_eq!(outcome(&mut ledger, balancing(150)), Some(R::Exists));
}

#[test]
fn a_balancing_transfer_resubmitted_with_a_larger_cap_exists() {
    let mut ledger = book_with_balancing();
    assert_eq!(outcome(&mut ledger, balancing(AMOUNT_MAX)), Some(R::Exists));
}

#[test]
fn a_balancing_transfer_resubmitted_with_the_stored_amount_exists() {
    let mut ledger = book_with_balancing();
    assert_eq!(outcome(&mut ledger, balancing(100)), Some(R::Exists));
}

#[test]
fn a_balancing_transfer_resubmitted_with_a_cap_below_the_stored_amount_differs() {
    let mut ledger = book_with_balancing();
    assert_eq!(outcome(&mut ledger, balancing(99)), Some(R::ExistsWithDifferentAmount));
}

#[test]
fn an_ordinary_transfer_does_not_match_a_larger_amount() {
    assert_eq!(resubmit(|t| t.amount = 1_000), Some(R::ExistsWithDifferentAmount));
}

// Duplicates inside one batch.

#[test]
fn a_duplicate_in_the_same_batch_exists() {
    let mut ledger = ledger_with_accounts(&[1, 2]);
    assert_eq!(create_transfers(&mut ledger, 0, &[base(), base()]), vec![fails(1, R::Exists)]);
    assert_eq!(balances(&ledger, 1), Balances { debits_posted: 10, ..Balances::ZERO });
}

#[test]
fn a_differing_duplicate_in_the_same_batch_is_compared_with_the_first() {
    let mut ledger = ledger_with_accounts(&[1, 2]);
    let again = Transfer { amount: 11, ..base() };
    assert_eq!(
        create_transfers(&mut ledger, 0, &[base(), again]),
        vec![fails(1, R::ExistsWithDifferentAmount)]
    );
    assert_eq!(balances(&ledger, 1), Balances { debits_posted: 10, ..Balances::ZERO });
}

#[test]
fn a_duplicate_post_in_the_same_batch_exists_rather_than_already_posted() {
    let mut ledger = ledger_with_accounts(&[1, 2]);
    let batch = [pending(PENDING_ID, 1, 2, 100), post(60, PENDING_ID, 70), post(60, PENDING_ID, 70)];
    assert_eq!(create_transfers(&mut ledger, 0, &batch), vec![fails(2, R::Exists)]);
    assert_eq!(balances(&ledger, 1), Balances { debits_posted: 70, ..Balances::ZERO });
}

#[test]
fn a_duplicate_of_a_rejected_event_in_the_same_batch_is_a_new_attempt() {
    let mut ledger = ledger_with_accounts(&[1, 2]);
    let invalid = Transfer { ledger: 0, ..base() };
    assert_eq!(create_transfers(&mut ledger, 0, &[invalid, base()]), vec![fails(0, R::LedgerMustNotBeZero)]);
    assert_eq!(balances(&ledger, 1), Balances { debits_posted: 10, ..Balances::ZERO });
}

#[test]
fn a_duplicate_account_in_the_same_batch_exists() {
    let mut ledger = Ledger::default();
    assert_eq!(create_accounts(&mut ledger, 0, &[account(1), account(1)]), vec![fails(1, A::Exists)]);
    assert_eq!(ledger.account_count(), 1);
}
