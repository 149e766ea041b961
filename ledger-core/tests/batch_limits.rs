//! Batch-level limits and capacity: a batch of more than `BATCH_EVENTS_MAX` events, or one whose
//! timestamps would pass 2^63 ns, is refused as a whole with nothing changed. The configured
//! `accounts_max` / `transfers_max` are per-event results (`*_capacity_reached`).

mod common;

use common::{
    Balances, NS_PER_SECOND, T0, account, account_outcome, account_with_flags, accounts_ok, balances,
    create_accounts, create_transfers, fails, linked_account, outcome, pending, pending_with_timeout, post,
    transfer, transfers_ok, try_apply,
};
use ledger_core::{
    AccountFlags, BATCH_EVENTS_MAX, BatchError, CreateAccountResult as A, CreateTransferResult as R, Events,
    Ledger, LedgerConfig, TransferState,
};

const TIMESTAMP_LIMIT: u64 = 1 << 63;

fn accounts_from(first_id: u128, count: usize) -> Vec<ledger_core::Account> {
    (first_id..).take(count).map(account).collect()
}

#[test]
fn a_batch_of_exactly_batch_events_max_is_accepted() {
    let mut ledger = Ledger::default();
    let batch = accounts_from(1, BATCH_EVENTS_MAX);
    assert_eq!(create_accounts(&mut ledger, 0, &batch), vec![]);
    assert_eq!(ledger.account_count(), BATCH_EVENTS_MAX);
}

#[test]
fn an_account_batch_over_batch_events_max_is_refused_with_nothing_changed() {
    let mut ledger = Ledger::default();
    accounts_ok(&mut ledger, &[account(1)]);
    let hash = ledger.state_hash();
    let batch = accounts_from(2, BATCH_EVENTS_MAX + 1);
    let refused = try_apply(&mut ledger, T0, Events::CreateAccounts(&batch));
    assert_eq!(
        refused.err(),
        Some(BatchError::TooManyEvents { events: BATCH_EVENTS_MAX + 1, max: BATCH_EVENTS_MAX })
    );
    assert_eq!(ledger.account_count(), 1);
    assert_eq!(ledger.state_hash(), hash);
}

#[test]
fn a_transfer_batch_over_batch_events_max_is_refused_with_nothing_changed() {
    let mut ledger = common::ledger_with_accounts(&[1, 2]);
    let hash = ledger.state_hash();
    let batch: Vec<_> = (100..).take(BATCH_EVENTS_MAX + 1).map(|id| transfer(id, 1, 2, 1)).collect();
    let refused = try_apply(&mut ledger, T0, Events::CreateTransfers(&batch));
    assert_eq!(
        refused.err(),
        Some(BatchError::TooManyEvents { events: BATCH_EVENTS_MAX + 1, max: BATCH_EVENTS_MAX })
    );
    assert_eq!(balances(&ledger, 1), Balances::ZERO);
    assert_eq!(ledger.transfer_count(), 0);
    assert_eq!(ledger.state_hash(), hash);
}

#[test]
fn a_refused_batch_expires_nothing() {
    let mut ledger = common::ledger_with_accounts(&[1, 2]);
    assert_eq!(create_transfers(&mut ledger, T0, &[pending_with_timeout(50, 1, 2, 10, 1)]), vec![]);
    let batch = accounts_from(10, BATCH_EVENTS_MAX + 1);
    assert!(try_apply(&mut ledger, T0 + 5 * NS_PER_SECOND, Events::CreateAccounts(&batch)).is_err());
    assert_eq!(ledger.transfer_state(50), Some(TransferState::Pending));
    assert_eq!(balances(&ledger, 1), Balances { debits_pending: 10, ..Balances::ZERO });
}

#[test]
fn a_clock_reading_of_two_to_the_63_is_refused_with_nothing_changed() {
    let mut ledger = Ledger::default();
    accounts_ok(&mut ledger, &[account(1)]);
    let hash = ledger.state_hash();
    let clock = ledger.clock();
    let refused = try_apply(&mut ledger, TIMESTAMP_LIMIT, Events::CreateAccounts(&[account(2)]));
    assert_eq!(refused.err(), Some(BatchError::ClockExhausted { clock, events: 1, max: TIMESTAMP_LIMIT }));
    assert_eq!(ledger.lookup_account(2), None);
    assert_eq!(ledger.state_hash(), hash);
}

#[test]
fn the_last_timestamp_below_two_to_the_63_is_usable() {
    let mut ledger = Ledger::default();
    assert_eq!(create_accounts(&mut ledger, TIMESTAMP_LIMIT - 1, &[account(1)]), vec![]);
    assert_eq!(ledger.lookup_account(1).map(|a| a.timestamp), Some(TIMESTAMP_LIMIT - 1));
}

#[test]
fn an_exhausted_clock_refuses_every_further_event() {
    let mut ledger = Ledger::default();
    assert_eq!(create_accounts(&mut ledger, TIMESTAMP_LIMIT - 1, &[account(1)]), vec![]);
    let refused = try_apply(&mut ledger, 0, Events::CreateAccounts(&[account(2)]));
    assert_eq!(
        refused.err(),
        Some(BatchError::ClockExhausted { clock: TIMESTAMP_LIMIT - 1, events: 1, max: TIMESTAMP_LIMIT })
    );
}

#[test]
fn a_pulse_on_an_exhausted_clock_is_still_accepted() {
    let mut ledger = Ledger::default();
    assert_eq!(create_accounts(&mut ledger, TIMESTAMP_LIMIT - 1, &[account(1)]), vec![]);
    assert!(try_apply(&mut ledger, 0, Events::Pulse).is_ok());
}

fn small_ledger(accounts_max: u64, transfers_max: u64) -> Ledger {
    Ledger::new(LedgerConfig { accounts_max, transfers_max, ..LedgerConfig::default() })
}

#[test]
fn accounts_beyond_accounts_max_get_accounts_capacity_reached() {
    let mut ledger = small_ledger(2, 10);
    let batch = [account(1), account(2), account(3)];
    assert_eq!(create_accounts(&mut ledger, 0, &batch), vec![fails(2, A::AccountsCapacityReached)]);
    assert_eq!(ledger.account_count(), 2);
    assert_eq!(ledger.lookup_account(3), None);
}

#[test]
fn code_must_not_be_zero_precedes_accounts_capacity_reached() {
    let mut ledger = small_ledger(1, 10);
    accounts_ok(&mut ledger, &[account(1)]);
    let event = ledger_core::Account { code: 0, ..account(2) };
    assert_eq!(account_outcome(&mut ledger, event), Some(A::CodeMustNotBeZero));
}

#[test]
fn an_existing_account_at_capacity_exists() {
    let mut ledger = small_ledger(1, 10);
    accounts_ok(&mut ledger, &[account(1)]);
    assert_eq!(account_outcome(&mut ledger, account(1)), Some(A::Exists));
}

#[test]
fn failed_accounts_take_no_capacity() {
    let mut ledger = small_ledger(2, 10);
    assert_eq!(
        create_accounts(&mut ledger, 0, &[account(0), account(1), account(2)]),
        vec![fails(0, A::IdMustNotBeZero)]
    );
    assert_eq!(ledger.account_count(), 2);
}

#[test]
fn a_rolled_back_chain_gives_its_capacity_back() {
    let mut ledger = small_ledger(2, 10);
    assert_eq!(create_accounts(&mut ledger, 0, &[linked_account(account(1)), account(0)]).len(), 2);
    assert_eq!(create_accounts(&mut ledger, 0, &[account(2), account(3)]), vec![]);
}

/// Accounts 1, 2 and a limited account 3, with room for `transfers_max` transfers.
fn ledger_for_transfers(transfers_max: u64) -> Ledger {
    let mut ledger = small_ledger(10, transfers_max);
    accounts_ok(
        &mut ledger,
        &[account(1), account(2), account_with_flags(3, AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS)],
    );
    ledger
}

#[test]
fn transfers_beyond_transfers_max_get_transfers_capacity_reached() {
    let mut ledger = ledger_for_transfers(2);
    let batch = [transfer(100, 1, 2, 1), transfer(101, 1, 2, 1), transfer(102, 1, 2, 1)];
    assert_eq!(create_transfers(&mut ledger, 0, &batch), vec![fails(2, R::TransfersCapacityReached)]);
    assert_eq!(ledger.transfer_count(), 2);
    assert_eq!(balances(&ledger, 1), Balances { debits_posted: 2, ..Balances::ZERO });
}

#[test]
fn a_post_at_capacity_gets_transfers_capacity_reached() {
    let mut ledger = ledger_for_transfers(1);
    transfers_ok(&mut ledger, &[pending(100, 1, 2, 5)]);
    assert_eq!(outcome(&mut ledger, post(101, 100, 5)), Some(R::TransfersCapacityReached));
    assert_eq!(ledger.transfer_state(100), Some(TransferState::Pending));
}

#[test]
fn exceeds_credits_precedes_transfers_capacity_reached() {
    let mut ledger = ledger_for_transfers(1);
    transfers_ok(&mut ledger, &[transfer(100, 1, 2, 5)]);
    assert_eq!(outcome(&mut ledger, transfer(101, 3, 2, 5)), Some(R::ExceedsCredits));
}

#[test]
fn an_existing_transfer_at_capacity_exists() {
    let mut ledger = ledger_for_transfers(1);
    transfers_ok(&mut ledger, &[transfer(100, 1, 2, 5)]);
    assert_eq!(outcome(&mut ledger, transfer(100, 1, 2, 5)), Some(R::Exists));
}

#[test]
fn transfers_capacity_reached_does_not_burn_the_id() {
    let mut ledger = ledger_for_transfers(1);
    transfers_ok(&mut ledger, &[transfer(100, 1, 2, 5)]);
    assert_eq!(outcome(&mut ledger, transfer(101, 1, 2, 5)), Some(R::TransfersCapacityReached));
    assert_eq!(ledger.transfer_state(101), None);
}
