//! `create_transfers`: every validation code of docs/result-codes.md that depends on the event
//! (and on account existence, ledgers, closed flags and overflow), and the pairs where two checks
//! fail at once and the earlier in the documented order must win.
//!
//! Idempotency (7–18), burnt ids (19), balance limits (58–59), capacity (60) and the state of a
//! pending transfer (38–50 for post/void) have their own behaviour files.

mod common;

use common::{
    CODE, NS_PER_SECOND, OTHER_LEDGER, account, account_with_flags, accounts_ok, ledger_with_accounts,
    outcome, pending, pending_with_timeout, post, transfer, transfers_ok, void, with_flags,
};
use ledger_core::{
    AMOUNT_MAX, Account, AccountFlags, CreateTransferResult as R, Ledger, Transfer, TransferFlags,
};

/// Closed account for the closed-account rules (created closed, so no transfer can reopen it).
const CLOSED_A: u128 = 5;
const CLOSED_B: u128 = 6;
/// An account that may not go into debit and has no credits.
const LIMITED: u128 = 7;
/// An account on `OTHER_LEDGER`.
const FOREIGN: u128 = 4;

/// Accounts 1, 2, 3 on `LEDGER`; `FOREIGN` on `OTHER_LEDGER`; two closed accounts; one limited.
fn book() -> Ledger {
    let mut ledger = ledger_with_accounts(&[1, 2, 3]);
    accounts_ok(
        &mut ledger,
        &[
            Account { ledger: OTHER_LEDGER, ..account(FOREIGN) },
            account_with_flags(CLOSED_A, AccountFlags::CLOSED),
            account_with_flags(CLOSED_B, AccountFlags::CLOSED),
            account_with_flags(LIMITED, AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS),
        ],
    );
    ledger
}

fn assert_code(event: Transfer, expected: R) {
    let mut ledger = book();
    assert_eq!(outcome(&mut ledger, event), Some(expected), "{event:?}");
    assert_eq!(ledger.transfer_count(), 0, "a rejected transfer is not stored");
}

/// Asserts the code of `event` after `setup` was applied successfully.
fn assert_code_after(setup: &[Transfer], event: Transfer, expected: R) {
    let mut ledger = book();
    transfers_ok(&mut ledger, setup);
    let before: Vec<_> = ledger.accounts().copied().collect();
    assert_eq!(outcome(&mut ledger, event), Some(expected), "{event:?}");
    let after: Vec<_> = ledger.accounts().copied().collect();
    assert_eq!(before, after, "a rejected transfer changes no account");
}

const NEAR_MAX: u128 = u128::MAX - 10;

#[test]
fn a_valid_transfer_gets_no_result() {
    let mut ledger = book();
    assert_eq!(outcome(&mut ledger, transfer(100, 1, 2, 10)), None);
}

#[test]
fn timestamp_must_be_zero() {
    assert_code(Transfer { timestamp: 1, ..transfer(100, 1, 2, 10) }, R::TimestampMustBeZero);
}

#[test]
fn the_imported_flag_bit_is_reserved() {
    assert_code(with_flags(transfer(100, 1, 2, 10), TransferFlags(1 << 8)), R::ReservedFlag);
}

#[test]
fn an_undefined_high_flag_bit_is_reserved() {
    assert_code(with_flags(transfer(100, 1, 2, 10), TransferFlags(1 << 15)), R::ReservedFlag);
}

#[test]
fn id_must_not_be_zero() {
    assert_code(transfer(0, 1, 2, 10), R::IdMustNotBeZero);
}

#[test]
fn id_must_not_be_int_max() {
    assert_code(transfer(u128::MAX, 1, 2, 10), R::IdMustNotBeIntMax);
}

#[test]
fn debit_account_id_must_not_be_zero() {
    assert_code(transfer(100, 0, 2, 10), R::DebitAccountIdMustNotBeZero);
}

#[test]
fn debit_account_id_must_not_be_int_max() {
    assert_code(transfer(100, u128::MAX, 2, 10), R::DebitAccountIdMustNotBeIntMax);
}

#[test]
fn credit_account_id_must_not_be_zero() {
    assert_code(transfer(100, 1, 0, 10), R::CreditAccountIdMustNotBeZero);
}

#[test]
fn credit_account_id_must_not_be_int_max() {
    assert_code(transfer(100, 1, u128::MAX, 10), R::CreditAccountIdMustNotBeIntMax);
}

#[test]
fn accounts_must_be_different() {
    assert_code(transfer(100, 1, 1, 10), R::AccountsMustBeDifferent);
}

#[test]
fn pending_id_must_be_zero_on_a_single_phase_transfer() {
    assert_code(Transfer { pending_id: 9, ..transfer(100, 1, 2, 10) }, R::PendingIdMustBeZero);
}

#[test]
fn pending_id_must_be_zero_on_a_pending_transfer() {
    assert_code(Transfer { pending_id: 9, ..pending(100, 1, 2, 10) }, R::PendingIdMustBeZero);
}

#[test]
fn timeout_is_reserved_for_pending_transfers() {
    assert_code(Transfer { timeout: 1, ..transfer(100, 1, 2, 10) }, R::TimeoutReservedForPendingTransfer);
}

#[test]
fn closing_debit_must_be_pending() {
    assert_code(
        with_flags(transfer(100, 1, 2, 0), TransferFlags::CLOSING_DEBIT),
        R::ClosingTransferMustBePending,
    );
}

#[test]
fn closing_credit_must_be_pending() {
    assert_code(
        with_flags(transfer(100, 1, 2, 0), TransferFlags::CLOSING_CREDIT),
        R::ClosingTransferMustBePending,
    );
}

#[test]
fn ledger_must_not_be_zero() {
    assert_code(Transfer { ledger: 0, ..transfer(100, 1, 2, 10) }, R::LedgerMustNotBeZero);
}

#[test]
fn code_must_not_be_zero() {
    assert_code(Transfer { code: 0, ..transfer(100, 1, 2, 10) }, R::CodeMustNotBeZero);
}

#[test]
fn debit_account_must_exist() {
    assert_code(transfer(100, 99, 2, 10), R::DebitAccountNotFound);
}

#[test]
fn credit_account_must_exist() {
    assert_code(transfer(100, 1, 99, 10), R::CreditAccountNotFound);
}

#[test]
fn accounts_must_have_the_same_ledger() {
    assert_code(transfer(100, 1, FOREIGN, 10), R::AccountsMustHaveTheSameLedger);
}

#[test]
fn transfer_must_have_the_same_ledger_as_accounts() {
    assert_code(
        Transfer { ledger: OTHER_LEDGER, ..transfer(100, 1, 2, 10) },
        R::TransferMustHaveTheSameLedgerAsAccounts,
    );
}

#[test]
fn debit_account_must_not_be_closed() {
    assert_code(transfer(100, CLOSED_A, 2, 10), R::DebitAccountAlreadyClosed);
}

#[test]
fn credit_account_must_not_be_closed() {
    assert_code(transfer(100, 1, CLOSED_A, 10), R::CreditAccountAlreadyClosed);
}

#[test]
fn a_pending_transfer_must_not_overflow_debits_pending() {
    assert_code_after(&[pending(100, 1, 2, NEAR_MAX)], pending(101, 1, 3, 20), R::OverflowsDebitsPending);
}

#[test]
fn a_pending_transfer_must_not_overflow_credits_pending() {
    assert_code_after(&[pending(100, 1, 2, NEAR_MAX)], pending(101, 3, 2, 20), R::OverflowsCreditsPending);
}

#[test]
fn a_single_phase_transfer_must_not_overflow_debits_posted() {
    assert_code_after(&[transfer(100, 1, 2, NEAR_MAX)], transfer(101, 1, 3, 20), R::OverflowsDebitsPosted);
}

#[test]
fn a_single_phase_transfer_must_not_overflow_credits_posted() {
    assert_code_after(&[transfer(100, 1, 2, NEAR_MAX)], transfer(101, 3, 2, 20), R::OverflowsCreditsPosted);
}

#[test]
fn a_single_phase_transfer_must_not_overflow_pending_plus_posted_debits() {
    assert_code_after(&[pending(100, 1, 2, NEAR_MAX)], transfer(101, 1, 3, 20), R::OverflowsDebits);
}

#[test]
fn a_single_phase_transfer_must_not_overflow_pending_plus_posted_credits() {
    assert_code_after(&[pending(100, 1, 2, NEAR_MAX)], transfer(101, 3, 2, 20), R::OverflowsCredits);
}

#[test]
fn a_pending_transfer_must_not_overflow_posted_plus_pending_debits() {
    assert_code_after(&[transfer(100, 1, 2, NEAR_MAX)], pending(101, 1, 3, 20), R::OverflowsDebits);
}

#[test]
fn a_pending_transfer_must_not_overflow_posted_plus_pending_credits() {
    assert_code_after(&[transfer(100, 1, 2, NEAR_MAX)], pending(101, 3, 2, 20), R::OverflowsCredits);
}

#[test]
fn amounts_up_to_the_overflow_boundary_are_accepted() {
    let mut ledger = book();
    transfers_ok(&mut ledger, &[pending(100, 1, 2, NEAR_MAX)]);
    assert_eq!(outcome(&mut ledger, transfer(101, 1, 2, 10)), None, "NEAR_MAX + 10 = u128::MAX fits");
}

#[test]
fn a_pending_timeout_must_not_overflow_the_clock() {
    let mut ledger = book();
    let now = (1_u64 << 63) - NS_PER_SECOND;
    let failures = common::create_transfers(&mut ledger, now, &[pending_with_timeout(100, 1, 2, 10, 1)]);
    assert_eq!(failures, vec![common::fails(0, R::OverflowsTimeout)]);
}

// Post and void: the checks that depend on the event alone.

#[test]
fn post_and_void_are_mutually_exclusive() {
    let event = with_flags(post(101, 100, 10), TransferFlags::VOID_PENDING_TRANSFER);
    assert_code_after(&[pending(100, 1, 2, 10)], event, R::FlagsAreMutuallyExclusive);
}

#[test]
fn post_and_pending_are_mutually_exclusive() {
    let event = with_flags(post(101, 100, 10), TransferFlags::PENDING);
    assert_code_after(&[pending(100, 1, 2, 10)], event, R::FlagsAreMutuallyExclusive);
}

#[test]
fn void_and_pending_are_mutually_exclusive() {
    let event = with_flags(void(101, 100), TransferFlags::PENDING);
    assert_code_after(&[pending(100, 1, 2, 10)], event, R::FlagsAreMutuallyExclusive);
}

#[test]
fn post_and_balancing_debit_are_mutually_exclusive() {
    let event = with_flags(post(101, 100, 10), TransferFlags::BALANCING_DEBIT);
    assert_code_after(&[pending(100, 1, 2, 10)], event, R::FlagsAreMutuallyExclusive);
}

#[test]
fn void_and_balancing_credit_are_mutually_exclusive() {
    let event = with_flags(void(101, 100), TransferFlags::BALANCING_CREDIT);
    assert_code_after(&[pending(100, 1, 2, 10)], event, R::FlagsAreMutuallyExclusive);
}

#[test]
fn post_and_closing_debit_are_mutually_exclusive() {
    let event = with_flags(post(101, 100, 10), TransferFlags::CLOSING_DEBIT);
    assert_code_after(&[pending(100, 1, 2, 10)], event, R::FlagsAreMutuallyExclusive);
}

#[test]
fn void_and_closing_credit_are_mutually_exclusive() {
    let event = with_flags(void(101, 100), TransferFlags::CLOSING_CREDIT);
    assert_code_after(&[pending(100, 1, 2, 10)], event, R::FlagsAreMutuallyExclusive);
}

#[test]
fn post_pending_id_must_not_be_zero() {
    assert_code(post(101, 0, 10), R::PendingIdMustNotBeZero);
}

#[test]
fn void_pending_id_must_not_be_zero() {
    assert_code(void(101, 0), R::PendingIdMustNotBeZero);
}

#[test]
fn post_pending_id_must_not_be_int_max() {
    assert_code(post(101, u128::MAX, 10), R::PendingIdMustNotBeIntMax);
}

#[test]
fn post_pending_id_must_be_different_from_its_id() {
    assert_code(post(101, 101, 10), R::PendingIdMustBeDifferent);
}

#[test]
fn timeout_is_reserved_for_pending_transfers_on_a_post() {
    let event = Transfer { timeout: 1, ..post(101, 100, 10) };
    assert_code_after(&[pending(100, 1, 2, 10)], event, R::TimeoutReservedForPendingTransfer);
}

#[test]
fn post_of_an_unknown_pending_transfer_is_not_found() {
    assert_code(post(101, 100, 10), R::PendingTransferNotFound);
}

#[test]
fn void_of_an_unknown_pending_transfer_is_not_found() {
    assert_code(void(101, 100), R::PendingTransferNotFound);
}

#[test]
fn post_needs_neither_ledger_nor_code_nor_accounts() {
    let mut ledger = book();
    transfers_ok(&mut ledger, &[pending(100, 1, 2, 10)]);
    assert_eq!(outcome(&mut ledger, post(101, 100, 10)), None);
}

// Precedence pairs for single-phase and pending transfers.

#[test]
fn timestamp_must_be_zero_precedes_reserved_flag() {
    let event = Transfer { timestamp: 1, ..with_flags(transfer(100, 1, 2, 10), TransferFlags(1 << 8)) };
    assert_code(event, R::TimestampMustBeZero);
}

#[test]
fn reserved_flag_precedes_id_must_not_be_zero() {
    assert_code(with_flags(transfer(0, 1, 2, 10), TransferFlags(1 << 8)), R::ReservedFlag);
}

#[test]
fn id_must_not_be_zero_precedes_debit_account_id_must_not_be_zero() {
    assert_code(transfer(0, 0, 2, 10), R::IdMustNotBeZero);
}

#[test]
fn id_must_not_be_int_max_precedes_accounts_must_be_different() {
    assert_code(transfer(u128::MAX, 1, 1, 10), R::IdMustNotBeIntMax);
}

#[test]
fn debit_account_id_must_not_be_zero_precedes_credit_account_id_must_not_be_zero() {
    assert_code(transfer(100, 0, 0, 10), R::DebitAccountIdMustNotBeZero);
}

#[test]
fn debit_account_id_must_not_be_int_max_precedes_credit_account_id_must_not_be_zero() {
    assert_code(transfer(100, u128::MAX, 0, 10), R::DebitAccountIdMustNotBeIntMax);
}

#[test]
fn credit_account_id_must_not_be_zero_precedes_pending_id_must_be_zero() {
    assert_code(Transfer { pending_id: 9, ..transfer(100, 1, 0, 10) }, R::CreditAccountIdMustNotBeZero);
}

#[test]
fn credit_account_id_must_not_be_int_max_precedes_pending_id_must_be_zero() {
    assert_code(
        Transfer { pending_id: 9, ..transfer(100, 1, u128::MAX, 10) },
        R::CreditAccountIdMustNotBeIntMax,
    );
}

#[test]
fn accounts_must_be_different_precedes_pending_id_must_be_zero() {
    assert_code(Transfer { pending_id: 9, ..transfer(100, 1, 1, 10) }, R::AccountsMustBeDifferent);
}

#[test]
fn accounts_must_be_different_precedes_debit_account_not_found() {
    assert_code(transfer(100, 99, 99, 10), R::AccountsMustBeDifferent);
}

#[test]
fn pending_id_must_be_zero_precedes_timeout_reserved_for_pending_transfer() {
    assert_code(Transfer { pending_id: 9, timeout: 1, ..transfer(100, 1, 2, 10) }, R::PendingIdMustBeZero);
}

#[test]
fn timeout_reserved_for_pending_transfer_precedes_closing_transfer_must_be_pending() {
    let event = Transfer { timeout: 1, ..with_flags(transfer(100, 1, 2, 0), TransferFlags::CLOSING_DEBIT) };
    assert_code(event, R::TimeoutReservedForPendingTransfer);
}

#[test]
fn closing_transfer_must_be_pending_precedes_ledger_must_not_be_zero() {
    let event = Transfer { ledger: 0, ..with_flags(transfer(100, 1, 2, 0), TransferFlags::CLOSING_CREDIT) };
    assert_code(event, R::ClosingTransferMustBePending);
}

#[test]
fn ledger_must_not_be_zero_precedes_code_must_not_be_zero() {
    assert_code(Transfer { ledger: 0, code: 0, ..transfer(100, 1, 2, 10) }, R::LedgerMustNotBeZero);
}

#[test]
fn code_must_not_be_zero_precedes_debit_account_not_found() {
    assert_code(Transfer { code: 0, ..transfer(100, 98, 99, 10) }, R::CodeMustNotBeZero);
}

#[test]
fn debit_account_not_found_precedes_credit_account_not_found() {
    assert_code(transfer(100, 98, 99, 10), R::DebitAccountNotFound);
}

#[test]
fn credit_account_not_found_precedes_the_ledger_checks() {
    assert_code(Transfer { ledger: OTHER_LEDGER, ..transfer(100, 1, 99, 10) }, R::CreditAccountNotFound);
}

#[test]
fn accounts_must_have_the_same_ledger_precedes_transfer_must_have_the_same_ledger() {
    let event = Transfer { ledger: OTHER_LEDGER + 1, ..transfer(100, 1, FOREIGN, 10) };
    assert_code(event, R::AccountsMustHaveTheSameLedger);
}

#[test]
fn transfer_must_have_the_same_ledger_precedes_debit_account_already_closed() {
    let event = Transfer { ledger: OTHER_LEDGER, ..transfer(100, CLOSED_A, 2, 10) };
    assert_code(event, R::TransferMustHaveTheSameLedgerAsAccounts);
}

#[test]
fn debit_account_already_closed_precedes_credit_account_already_closed() {
    assert_code(transfer(100, CLOSED_A, CLOSED_B, 10), R::DebitAccountAlreadyClosed);
}

#[test]
fn credit_account_already_closed_precedes_exceeds_credits() {
    assert_code(transfer(100, LIMITED, CLOSED_A, 10), R::CreditAccountAlreadyClosed);
}

#[test]
fn debit_account_already_closed_precedes_overflows_credits_pending() {
    assert_code_after(
        &[pending(100, 1, 2, NEAR_MAX)],
        pending(101, CLOSED_A, 2, 20),
        R::DebitAccountAlreadyClosed,
    );
}

#[test]
fn overflows_debits_pending_precedes_overflows_credits_pending() {
    assert_code_after(&[pending(100, 1, 2, NEAR_MAX)], pending(101, 1, 2, 20), R::OverflowsDebitsPending);
}

#[test]
fn overflows_debits_posted_precedes_overflows_credits_posted() {
    assert_code_after(&[transfer(100, 1, 2, NEAR_MAX)], transfer(101, 1, 2, 20), R::OverflowsDebitsPosted);
}

#[test]
fn overflows_credits_posted_precedes_overflows_debits() {
    // Account 1 carries a huge pending debit, account 2 a huge posted credit.
    let setup = [pending(100, 1, 3, NEAR_MAX), transfer(101, 3, 2, NEAR_MAX)];
    assert_code_after(&setup, transfer(102, 1, 2, 20), R::OverflowsCreditsPosted);
}

#[test]
fn overflows_debits_precedes_overflows_credits() {
    assert_code_after(&[pending(100, 1, 2, NEAR_MAX)], transfer(101, 1, 2, 20), R::OverflowsDebits);
}

#[test]
fn overflows_credits_precedes_overflows_timeout() {
    let mut ledger = book();
    transfers_ok(&mut ledger, &[transfer(100, 1, 2, NEAR_MAX)]);
    let now = (1_u64 << 63) - NS_PER_SECOND;
    let failures = common::create_transfers(&mut ledger, now, &[pending_with_timeout(101, 3, 2, 20, 1)]);
    assert_eq!(failures, vec![common::fails(0, R::OverflowsCredits)]);
}

#[test]
fn overflows_timeout_precedes_exceeds_credits() {
    let mut ledger = book();
    let now = (1_u64 << 63) - NS_PER_SECOND;
    let failures =
        common::create_transfers(&mut ledger, now, &[pending_with_timeout(100, LIMITED, 2, 20, 1)]);
    assert_eq!(failures, vec![common::fails(0, R::OverflowsTimeout)]);
}

#[test]
fn overflows_debits_posted_precedes_exceeds_credits() {
    let mut ledger = book();
    // LIMITED receives almost everything, then spends almost everything.
    transfers_ok(&mut ledger, &[transfer(100, 1, LIMITED, NEAR_MAX), transfer(101, LIMITED, 2, NEAR_MAX)]);
    assert_eq!(outcome(&mut ledger, transfer(102, LIMITED, 3, 20)), Some(R::OverflowsDebitsPosted));
}

// Precedence pairs for post and void.

#[test]
fn reserved_flag_precedes_flags_are_mutually_exclusive() {
    let event = with_flags(post(101, 100, 10), TransferFlags::VOID_PENDING_TRANSFER | TransferFlags(1 << 8));
    assert_code(event, R::ReservedFlag);
}

#[test]
fn id_must_not_be_zero_precedes_flags_are_mutually_exclusive() {
    assert_code(with_flags(post(0, 100, 10), TransferFlags::VOID_PENDING_TRANSFER), R::IdMustNotBeZero);
}

#[test]
fn flags_are_mutually_exclusive_precedes_pending_id_must_not_be_zero() {
    assert_code(
        with_flags(post(101, 0, 10), TransferFlags::VOID_PENDING_TRANSFER),
        R::FlagsAreMutuallyExclusive,
    );
}

#[test]
fn pending_id_must_not_be_zero_precedes_timeout_reserved_for_pending_transfer() {
    assert_code(Transfer { timeout: 1, ..post(101, 0, 10) }, R::PendingIdMustNotBeZero);
}

#[test]
fn pending_id_must_not_be_int_max_precedes_timeout_reserved_for_pending_transfer() {
    assert_code(Transfer { timeout: 1, ..post(101, u128::MAX, 10) }, R::PendingIdMustNotBeIntMax);
}

#[test]
fn pending_id_must_be_different_precedes_timeout_reserved_for_pending_transfer() {
    assert_code(Transfer { timeout: 1, ..void(101, 101) }, R::PendingIdMustBeDifferent);
}

#[test]
fn timeout_reserved_for_pending_transfer_precedes_pending_transfer_not_found() {
    assert_code(Transfer { timeout: 1, ..post(101, 100, 10) }, R::TimeoutReservedForPendingTransfer);
}

#[test]
fn pending_transfer_not_found_precedes_the_comparisons_with_it() {
    let event =
        Transfer { debit_account_id: 3, ledger: OTHER_LEDGER, code: CODE + 1, ..post(101, 100, AMOUNT_MAX) };
    assert_code(event, R::PendingTransferNotFound);
}
