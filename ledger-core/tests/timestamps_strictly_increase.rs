//! Timestamps: a batch of `n` events gets `last - n + 1 ..= last` with
//! `last = max(now, previous_last + n)`. Every event, failed or not, consumes one timestamp, and
//! timestamps strictly increase even when the clock reading steps back.

mod common;

use common::{
    account, apply, create_accounts, create_transfers, ledger_with_accounts, pending, post, pulse, transfer,
    try_apply,
};
use ledger_core::{Account, BATCH_EVENTS_MAX, Events, Ledger};

fn account_timestamp(ledger: &Ledger, id: u128) -> u64 {
    ledger.lookup_account(id).expect("the account exists").timestamp
}

fn transfer_timestamp(ledger: &Ledger, id: u128) -> u64 {
    ledger.lookup_transfer(id).expect("the transfer exists").timestamp
}

#[test]
fn a_single_event_gets_the_clock_reading() {
    let mut ledger = Ledger::default();
    let results = apply(&mut ledger, 5_000, Events::CreateAccounts(&[account(1)]));
    assert_eq!(account_timestamp(&ledger, 1), 5_000);
    assert_eq!(results.timestamp, 5_000);
    assert_eq!(ledger.clock(), 5_000);
}

#[test]
fn the_events_of_a_batch_end_at_the_clock_reading() {
    let mut ledger = Ledger::default();
    let results = apply(&mut ledger, 5_000, Events::CreateAccounts(&[account(1), account(2), account(3)]));
    assert_eq!([1, 2, 3].map(|id| account_timestamp(&ledger, id)), [4_998, 4_999, 5_000]);
    assert_eq!(results.timestamp, 5_000, "the batch reports its last event's timestamp");
}

#[test]
fn a_clock_stepping_back_still_gives_increasing_timestamps() {
    let mut ledger = Ledger::default();
    assert_eq!(create_accounts(&mut ledger, 5_000, &[account(1)]), vec![]);
    let results = apply(&mut ledger, 1_000, Events::CreateAccounts(&[account(2), account(3)]));
    assert_eq!([2, 3].map(|id| account_timestamp(&ledger, id)), [5_001, 5_002]);
    assert_eq!(results.timestamp, 5_002);
}

#[test]
fn the_same_reading_twice_gives_the_next_timestamp() {
    let mut ledger = Ledger::default();
    assert_eq!(create_accounts(&mut ledger, 5_000, &[account(1)]), vec![]);
    assert_eq!(create_accounts(&mut ledger, 5_000, &[account(2)]), vec![]);
    assert_eq!(account_timestamp(&ledger, 2), 5_001);
}

#[test]
fn a_batch_too_large_for_the_gap_since_the_last_batch_is_pushed_forward() {
    let mut ledger = Ledger::default();
    assert_eq!(create_accounts(&mut ledger, 5_000, &[account(1)]), vec![]);
    let results = apply(&mut ledger, 5_002, Events::CreateAccounts(&[account(2), account(3), account(4)]));
    assert_eq!([2, 3, 4].map(|id| account_timestamp(&ledger, id)), [5_001, 5_002, 5_003]);
    assert_eq!(results.timestamp, 5_003);
}

#[test]
fn failed_events_consume_timestamps() {
    let mut ledger = Ledger::default();
    assert_eq!(create_accounts(&mut ledger, 5_000, &[account(1), account(0), account(3)]).len(), 1);
    assert_eq!(account_timestamp(&ledger, 1), 4_998);
    assert_eq!(account_timestamp(&ledger, 3), 5_000);
    assert_eq!(ledger.clock(), 5_000);
}

#[test]
fn accounts_and_transfers_share_one_clock() {
    let mut ledger = Ledger::default();
    assert_eq!(create_accounts(&mut ledger, 5_000, &[account(1), account(2)]), vec![]);
    assert_eq!(create_transfers(&mut ledger, 0, &[transfer(100, 1, 2, 1)]), vec![]);
    assert_eq!(transfer_timestamp(&ledger, 100), 5_001);
}

#[test]
fn a_post_gets_its_own_timestamp() {
    let mut ledger = ledger_with_accounts(&[1, 2]);
    assert_eq!(create_transfers(&mut ledger, 7_000, &[pending(100, 1, 2, 5)]), vec![]);
    assert_eq!(create_transfers(&mut ledger, 9_000, &[post(101, 100, 5)]), vec![]);
    assert_eq!(transfer_timestamp(&ledger, 100), 7_000);
    assert_eq!(transfer_timestamp(&ledger, 101), 9_000);
}

#[test]
fn a_pulse_moves_the_clock_to_its_reading() {
    let mut ledger = Ledger::default();
    let results = apply(&mut ledger, 9_000, Events::Pulse);
    assert_eq!(results.timestamp, 9_000);
    assert_eq!(ledger.clock(), 9_000);
}

#[test]
fn a_pulse_behind_the_clock_keeps_the_clock() {
    let mut ledger = Ledger::default();
    assert_eq!(create_accounts(&mut ledger, 5_000, &[account(1)]), vec![]);
    let results = apply(&mut ledger, 10, Events::Pulse);
    assert_eq!(results.timestamp, 5_000);
    assert_eq!(ledger.clock(), 5_000);
    assert_eq!(pulse(&mut ledger, 10), Vec::<u128>::new());
}

#[test]
fn an_empty_batch_consumes_no_timestamp() {
    let mut ledger = Ledger::default();
    assert_eq!(create_accounts(&mut ledger, 5_000, &[account(1)]), vec![]);
    let results = apply(&mut ledger, 0, Events::CreateTransfers(&[]));
    assert_eq!(results.timestamp, 5_000);
    assert_eq!(create_accounts(&mut ledger, 0, &[account(2)]), vec![]);
    assert_eq!(account_timestamp(&ledger, 2), 5_001);
}

#[test]
fn a_refused_batch_consumes_no_timestamp() {
    let mut ledger = Ledger::default();
    assert_eq!(create_accounts(&mut ledger, 5_000, &[account(1)]), vec![]);
    let too_many = vec![Account::default(); BATCH_EVENTS_MAX + 1];
    assert!(try_apply(&mut ledger, 1_000_000, Events::CreateAccounts(&too_many)).is_err());
    assert_eq!(ledger.clock(), 5_000);
    assert_eq!(create_accounts(&mut ledger, 0, &[account(2)]), vec![]);
    assert_eq!(account_timestamp(&ledger, 2), 5_001);
}

#[test]
fn timestamps_increase_whatever_the_readings_do() {
    let mut ledger = Ledger::default();
    // (clock reading, batch size): forward, backward, equal, a jump, backward again.
    let batches: [(u64, u128); 5] = [(100, 3), (50, 1), (50, 2), (200, 1), (10, 4)];
    let mut next_id = 1;
    for (now, size) in batches {
        let accounts: Vec<Account> = (next_id..next_id + size).map(account).collect();
        assert_eq!(create_accounts(&mut ledger, now, &accounts), vec![]);
        next_id += size;
    }
    let stamps: Vec<u64> = ledger.accounts().map(|a| a.timestamp).collect();
    assert_eq!(stamps, vec![98, 99, 100, 101, 102, 103, 200, 201, 202, 203, 204]);
}
