//! `create_accounts`: every result code of docs/result-codes.md, in precedence order, and the
//! pairs where two checks fail at once and the earlier one must win.

mod common;

use common::{
    CODE, LEDGER, OTHER_LEDGER, account, account_outcome, account_with_flags, accounts_ok, create_accounts,
    fails, ledger_with_accounts, pending, transfers_ok,
};
use ledger_core::{Account, AccountFlags, CreateAccountResult as R, Ledger, TransferFlags};

/// An account with every comparable field set, so that each `exists_with_different_*` can be
/// provoked by changing exactly one of them.
fn full_account(id: u128) -> Account {
    Account {
        user_data_128: 128,
        user_data_64: 64,
        user_data_32: 32,
        flags: AccountFlags::HISTORY,
        ..account(id)
    }
}

fn ledger_with_full_account() -> Ledger {
    let mut ledger = Ledger::default();
    accounts_ok(&mut ledger, &[full_account(1)]);
    ledger
}

#[test]
fn a_valid_account_is_created_with_zero_balances_and_the_batch_timestamp() {
    let mut ledger = Ledger::default();
    let now = 5_000;
    assert_eq!(create_accounts(&mut ledger, now, &[full_account(1)]), vec![]);
    let stored = ledger.lookup_account(1).expect("created");
    assert_eq!(stored, Account { timestamp: now, ..full_account(1) });
    assert_eq!(ledger.account_count(), 1);
}

#[test]
fn timestamp_must_be_zero() {
    let mut ledger = Ledger::default();
    assert_eq!(
        account_outcome(&mut ledger, Account { timestamp: 1, ..account(1) }),
        Some(R::TimestampMustBeZero)
    );
    assert_eq!(ledger.lookup_account(1), None);
}

#[test]
fn reserved_field_must_be_zero() {
    let mut ledger = Ledger::default();
    assert_eq!(account_outcome(&mut ledger, Account { reserved: 1, ..account(1) }), Some(R::ReservedField));
}

#[test]
fn the_imported_flag_bit_is_reserved() {
    let mut ledger = Ledger::default();
    assert_eq!(
        account_outcome(&mut ledger, account_with_flags(1, AccountFlags(1 << 4))),
        Some(R::ReservedFlag)
    );
}

#[test]
fn an_undefined_high_flag_bit_is_reserved() {
    let mut ledger = Ledger::default();
    assert_eq!(
        account_outcome(&mut ledger, account_with_flags(1, AccountFlags(1 << 15))),
        Some(R::ReservedFlag)
    );
}

#[test]
fn id_must_not_be_zero() {
    let mut ledger = Ledger::default();
    assert_eq!(account_outcome(&mut ledger, account(0)), Some(R::IdMustNotBeZero));
}

#[test]
fn id_must_not_be_int_max() {
    let mut ledger = Ledger::default();
    assert_eq!(account_outcome(&mut ledger, account(u128::MAX)), Some(R::IdMustNotBeIntMax));
}

#[test]
fn exists_with_different_flags() {
    let mut ledger = ledger_with_full_account();
    let again = Account { flags: AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS, ..full_account(1) };
    assert_eq!(account_outcome(&mut ledger, again), Some(R::ExistsWithDifferentFlags));
}

#[test]
fn exists_with_different_user_data_128() {
    let mut ledger = ledger_with_full_account();
    let again = Account { user_data_128: 1, ..full_account(1) };
    assert_eq!(account_outcome(&mut ledger, again), Some(R::ExistsWithDifferentUserData128));
}

#[test]
fn exists_with_different_user_data_64() {
    let mut ledger = ledger_with_full_account();
    let again = Account { user_data_64: 1, ..full_account(1) };
    assert_eq!(account_outcome(&mut ledger, again), Some(R::ExistsWithDifferentUserData64));
}

#[test]
fn exists_with_different_user_data_32() {
    let mut ledger = ledger_with_full_account();
    let again = Account { user_data_32: 1, ..full_account(1) };
    assert_eq!(account_outcome(&mut ledger, again), Some(R::ExistsWithDifferentUserData32));
}

#[test]
fn exists_with_different_ledger() {
    let mut ledger = ledger_with_full_account();
    let again = Account { ledger: OTHER_LEDGER, ..full_account(1) };
    assert_eq!(account_outcome(&mut ledger, again), Some(R::ExistsWithDifferentLedger));
}

#[test]
fn exists_with_different_code() {
    let mut ledger = ledger_with_full_account();
    let again = Account { code: CODE + 1, ..full_account(1) };
    assert_eq!(account_outcome(&mut ledger, again), Some(R::ExistsWithDifferentCode));
}

#[test]
fn exists_when_resubmitted_with_the_same_fields() {
    let mut ledger = ledger_with_full_account();
    let before = ledger.lookup_account(1);
    assert_eq!(account_outcome(&mut ledger, full_account(1)), Some(R::Exists));
    assert_eq!(ledger.lookup_account(1), before, "the stored account is untouched");
    assert_eq!(ledger.account_count(), 1);
}

#[test]
fn exists_ignores_balances_the_account_gained_since_creation() {
    let mut ledger = ledger_with_accounts(&[1, 2]);
    transfers_ok(&mut ledger, &[common::transfer(100, 1, 2, 40)]);
    assert_eq!(account_outcome(&mut ledger, account(1)), Some(R::Exists));
}

#[test]
fn exists_is_checked_before_the_balance_fields_of_the_request() {
    let mut ledger = ledger_with_accounts(&[1]);
    let again = Account { debits_posted: 9, ..account(1) };
    assert_eq!(account_outcome(&mut ledger, again), Some(R::Exists));
}

#[test]
fn exists_ignores_closed_set_by_a_closing_transfer() {
    let mut ledger = ledger_with_accounts(&[1, 2]);
    let closing = common::with_flags(pending(100, 1, 2, 0), TransferFlags::CLOSING_DEBIT);
    transfers_ok(&mut ledger, &[closing]);
    assert!(common::is_closed(&ledger, 1));
    assert_eq!(account_outcome(&mut ledger, account(1)), Some(R::Exists));
}

#[test]
fn exists_ignores_closed_on_the_resubmission() {
    let mut ledger = ledger_with_accounts(&[1]);
    assert_eq!(account_outcome(&mut ledger, account_with_flags(1, AccountFlags::CLOSED)), Some(R::Exists));
}

#[test]
fn exists_ignores_closed_given_at_creation() {
    let mut ledger = Ledger::default();
    accounts_ok(&mut ledger, &[account_with_flags(1, AccountFlags::CLOSED)]);
    assert_eq!(account_outcome(&mut ledger, account(1)), Some(R::Exists));
}

#[test]
fn an_account_may_be_created_closed() {
    let mut ledger = Ledger::default();
    accounts_ok(&mut ledger, &[account_with_flags(1, AccountFlags::CLOSED)]);
    assert!(common::is_closed(&ledger, 1));
}

#[test]
fn balance_limit_flags_are_mutually_exclusive() {
    let mut ledger = Ledger::default();
    let both = AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS | AccountFlags::CREDITS_MUST_NOT_EXCEED_DEBITS;
    assert_eq!(account_outcome(&mut ledger, account_with_flags(1, both)), Some(R::FlagsAreMutuallyExclusive));
}

#[test]
fn debits_pending_must_be_zero() {
    let mut ledger = Ledger::default();
    assert_eq!(
        account_outcome(&mut ledger, Account { debits_pending: 1, ..account(1) }),
        Some(R::DebitsPendingMustBeZero)
    );
}

#[test]
fn debits_posted_must_be_zero() {
    let mut ledger = Ledger::default();
    assert_eq!(
        account_outcome(&mut ledger, Account { debits_posted: 1, ..account(1) }),
        Some(R::DebitsPostedMustBeZero)
    );
}

#[test]
fn credits_pending_must_be_zero() {
    let mut ledger = Ledger::default();
    assert_eq!(
        account_outcome(&mut ledger, Account { credits_pending: 1, ..account(1) }),
        Some(R::CreditsPendingMustBeZero)
    );
}

#[test]
fn credits_posted_must_be_zero() {
    let mut ledger = Ledger::default();
    assert_eq!(
        account_outcome(&mut ledger, Account { credits_posted: 1, ..account(1) }),
        Some(R::CreditsPostedMustBeZero)
    );
}

#[test]
fn ledger_must_not_be_zero() {
    let mut ledger = Ledger::default();
    assert_eq!(
        account_outcome(&mut ledger, Account { ledger: 0, ..account(1) }),
        Some(R::LedgerMustNotBeZero)
    );
}

#[test]
fn code_must_not_be_zero() {
    let mut ledger = Ledger::default();
    assert_eq!(account_outcome(&mut ledger, Account { code: 0, ..account(1) }), Some(R::CodeMustNotBeZero));
}

#[test]
fn a_failed_account_is_not_created() {
    let mut ledger = Ledger::default();
    assert_eq!(account_outcome(&mut ledger, Account { code: 0, ..account(1) }), Some(R::CodeMustNotBeZero));
    assert_eq!(ledger.lookup_account(1), None);
    assert_eq!(ledger.account_count(), 0);
    assert_eq!(account_outcome(&mut ledger, account(1)), None, "the id was never taken");
}

#[test]
fn failures_are_reported_by_index_and_successes_are_absent() {
    let mut ledger = Ledger::default();
    let batch = [account(1), account(0), account(2), Account { ledger: 0, ..account(3) }];
    assert_eq!(
        create_accounts(&mut ledger, 0, &batch),
        vec![fails(1, R::IdMustNotBeZero), fails(3, R::LedgerMustNotBeZero)]
    );
    assert_eq!(ledger.account_count(), 2);
}

// Precedence: when two checks fail, the earlier in docs/result-codes.md wins.

/// Each case breaks two rules; the expected code is the earlier one.
fn assert_earlier_wins(ledger: &mut Ledger, account: Account, expected: R) {
    assert_eq!(account_outcome(ledger, account), Some(expected), "{account:?}");
}

#[test]
fn timestamp_must_be_zero_precedes_reserved_field() {
    let mut ledger = Ledger::default();
    assert_earlier_wins(
        &mut ledger,
        Account { timestamp: 1, reserved: 1, ..account(1) },
        R::TimestampMustBeZero,
    );
}

#[test]
fn reserved_field_precedes_reserved_flag() {
    let mut ledger = Ledger::default();
    let event = Account { reserved: 1, flags: AccountFlags(1 << 4), ..account(1) };
    assert_earlier_wins(&mut ledger, event, R::ReservedField);
}

#[test]
fn reserved_flag_precedes_id_must_not_be_zero() {
    let mut ledger = Ledger::default();
    assert_earlier_wins(&mut ledger, account_with_flags(0, AccountFlags(1 << 4)), R::ReservedFlag);
}

#[test]
fn id_must_not_be_zero_precedes_the_field_checks() {
    let mut ledger = Ledger::default();
    assert_earlier_wins(&mut ledger, Account { ledger: 0, code: 0, ..account(0) }, R::IdMustNotBeZero);
}

#[test]
fn id_must_not_be_int_max_precedes_the_field_checks() {
    let mut ledger = Ledger::default();
    assert_earlier_wins(
        &mut ledger,
        Account { debits_posted: 1, ..account(u128::MAX) },
        R::IdMustNotBeIntMax,
    );
}

#[test]
fn timestamp_must_be_zero_precedes_exists() {
    let mut ledger = ledger_with_full_account();
    assert_earlier_wins(&mut ledger, Account { timestamp: 1, ..full_account(1) }, R::TimestampMustBeZero);
}

#[test]
fn exists_with_different_flags_precedes_different_user_data_128() {
    let mut ledger = ledger_with_full_account();
    let event = Account { flags: AccountFlags::NONE, user_data_128: 1, ..full_account(1) };
    assert_earlier_wins(&mut ledger, event, R::ExistsWithDifferentFlags);
}

#[test]
fn exists_with_different_user_data_128_precedes_different_user_data_64() {
    let mut ledger = ledger_with_full_account();
    let event = Account { user_data_128: 1, user_data_64: 1, ..full_account(1) };
    assert_earlier_wins(&mut ledger, event, R::ExistsWithDifferentUserData128);
}

#[test]
fn exists_with_different_user_data_64_precedes_different_user_data_32() {
    let mut ledger = ledger_with_full_account();
    let event = Account { user_data_64: 1, user_data_32: 1, ..full_account(1) };
    assert_earlier_wins(&mut ledger, event, R::ExistsWithDifferentUserData64);
}

#[test]
fn exists_with_different_user_data_32_precedes_different_ledger() {
    let mut ledger = ledger_with_full_account();
    let event = Account { user_data_32: 1, ledger: OTHER_LEDGER, ..full_account(1) };
    assert_earlier_wins(&mut ledger, event, R::ExistsWithDifferentUserData32);
}

#[test]
fn exists_with_different_ledger_precedes_different_code() {
    let mut ledger = ledger_with_full_account();
    let event = Account { ledger: OTHER_LEDGER, code: CODE + 1, ..full_account(1) };
    assert_earlier_wins(&mut ledger, event, R::ExistsWithDifferentLedger);
}

#[test]
fn exists_with_different_ledger_precedes_ledger_must_not_be_zero() {
    let mut ledger = ledger_with_full_account();
    assert_earlier_wins(&mut ledger, Account { ledger: 0, ..full_account(1) }, R::ExistsWithDifferentLedger);
}

#[test]
fn exists_with_different_flags_precedes_flags_are_mutually_exclusive() {
    let mut ledger = ledger_with_full_account();
    let both = AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS | AccountFlags::CREDITS_MUST_NOT_EXCEED_DEBITS;
    assert_earlier_wins(&mut ledger, Account { flags: both, ..full_account(1) }, R::ExistsWithDifferentFlags);
}

#[test]
fn flags_are_mutually_exclusive_precedes_debits_pending_must_be_zero() {
    let mut ledger = Ledger::default();
    let both = AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS | AccountFlags::CREDITS_MUST_NOT_EXCEED_DEBITS;
    let event = Account { debits_pending: 1, ..account_with_flags(1, both) };
    assert_earlier_wins(&mut ledger, event, R::FlagsAreMutuallyExclusive);
}

#[test]
fn debits_pending_must_be_zero_precedes_debits_posted_must_be_zero() {
    let mut ledger = Ledger::default();
    let event = Account { debits_pending: 1, debits_posted: 1, ..account(1) };
    assert_earlier_wins(&mut ledger, event, R::DebitsPendingMustBeZero);
}

#[test]
fn debits_posted_must_be_zero_precedes_credits_pending_must_be_zero() {
    let mut ledger = Ledger::default();
    let event = Account { debits_posted: 1, credits_pending: 1, ..account(1) };
    assert_earlier_wins(&mut ledger, event, R::DebitsPostedMustBeZero);
}

#[test]
fn credits_pending_must_be_zero_precedes_credits_posted_must_be_zero() {
    let mut ledger = Ledger::default();
    let event = Account { credits_pending: 1, credits_posted: 1, ..account(1) };
    assert_earlier_wins(&mut ledger, event, R::CreditsPendingMustBeZero);
}

#[test]
fn credits_posted_must_be_zero_precedes_ledger_must_not_be_zero() {
    let mut ledger = Ledger::default();
    let event = Account { credits_posted: 1, ledger: 0, ..account(1) };
    assert_earlier_wins(&mut ledger, event, R::CreditsPostedMustBeZero);
}

#[test]
fn ledger_must_not_be_zero_precedes_code_must_not_be_zero() {
    let mut ledger = Ledger::default();
    assert_earlier_wins(&mut ledger, Account { ledger: 0, code: 0, ..account(1) }, R::LedgerMustNotBeZero);
}

#[test]
fn account_ids_are_unique_across_ledgers() {
    let mut ledger = Ledger::default();
    accounts_ok(&mut ledger, &[account(1), Account { ledger: OTHER_LEDGER, ..account(2) }]);
    assert_eq!(
        account_outcome(&mut ledger, Account { ledger: LEDGER, ..account(2) }),
        Some(R::ExistsWithDifferentLedger)
    );
}
