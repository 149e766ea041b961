//! `state_hash`: the same batches give the same hash on every ledger, and any difference in the
//! books (accounts, balances, transfers, burnt ids, the clock) gives a different hash.

mod common;

use common::{
    NS_PER_SECOND, T0, account, accounts_ok, create_accounts, create_transfers, pending,
    pending_with_timeout, post, pulse, transfer, void,
};
use ledger_core::{Account, Ledger, LedgerConfig};

/// A history that touches every part of the state: accounts, single-phase, pending, post, void,
/// a burnt id, a non-burning failure, and an expiry.
fn replay(ledger: &mut Ledger) {
    assert_eq!(create_accounts(ledger, T0, &[account(1), account(2), account(3)]), vec![]);
    let batch = [
        transfer(100, 1, 2, 10),
        pending(101, 2, 3, 4),
        pending_with_timeout(102, 3, 1, 6, 1),
        post(103, 101, 3),
        transfer(104, 9, 1, 1),
        transfer(105, 1, 1, 1),
    ];
    assert_eq!(create_transfers(ledger, T0 + 10, &batch).len(), 2);
    assert_eq!(create_transfers(ledger, T0 + 20, &[pending(106, 1, 3, 2), void(107, 106)]), vec![]);
    assert_eq!(pulse(ledger, T0 + 2 * NS_PER_SECOND), vec![102]);
}

fn replayed() -> Ledger {
    let mut ledger = Ledger::default();
    replay(&mut ledger);
    ledger
}

#[test]
fn the_same_batches_give_the_same_hash() {
    assert_eq!(replayed().state_hash(), replayed().state_hash());
}

#[test]
fn pre_sizing_the_indexes_does_not_change_the_hash() {
    let config = LedgerConfig {
        accounts_initial_capacity: 1_000,
        transfers_initial_capacity: 1_000,
        ..LedgerConfig::default()
    };
    let mut presized = Ledger::new(config);
    replay(&mut presized);
    assert_eq!(presized.state_hash(), replayed().state_hash());
}

#[test]
fn lookups_do_not_change_the_hash() {
    let ledger = replayed();
    let hash = ledger.state_hash();
    let mut out = Vec::new();
    ledger.lookup_transfers(&[100, 101, 104, 999], &mut out);
    let _ = ledger.lookup_account(1);
    assert_eq!(ledger.state_hash(), hash);
}

#[test]
fn splitting_batches_differently_with_the_same_timestamps_gives_the_same_hash() {
    let mut one_batch = Ledger::default();
    let mut two_batches = Ledger::default();
    assert_eq!(create_accounts(&mut one_batch, 1_000, &[account(1), account(2)]), vec![]);
    assert_eq!(create_accounts(&mut two_batches, 999, &[account(1)]), vec![]);
    assert_eq!(create_accounts(&mut two_batches, 1_000, &[account(2)]), vec![]);
    assert_eq!(one_batch.state_hash(), two_batches.state_hash());
}

#[test]
fn an_extra_account_changes_the_hash() {
    let mut ledger = replayed();
    accounts_ok(&mut ledger, &[account(4)]);
    let mut twin = replayed();
    assert_eq!(create_accounts(&mut twin, 0, &[account(0)]).len(), 1, "consumes the same timestamp");
    assert_ne!(ledger.state_hash(), twin.state_hash());
}

#[test]
fn different_account_user_data_changes_the_hash() {
    let mut a = Ledger::default();
    let mut b = Ledger::default();
    accounts_ok(&mut a, &[account(1)]);
    accounts_ok(&mut b, &[Account { user_data_32: 1, ..account(1) }]);
    assert_ne!(a.state_hash(), b.state_hash());
}

#[test]
fn a_different_amount_changes_the_hash() {
    let mut a = common::ledger_with_accounts(&[1, 2]);
    let mut b = common::ledger_with_accounts(&[1, 2]);
    assert_eq!(create_transfers(&mut a, 0, &[transfer(100, 1, 2, 10)]), vec![]);
    assert_eq!(create_transfers(&mut b, 0, &[transfer(100, 1, 2, 11)]), vec![]);
    assert_ne!(a.state_hash(), b.state_hash());
}

#[test]
fn a_burnt_id_changes_the_hash() {
    let mut burnt = common::ledger_with_accounts(&[1, 2]);
    let mut rejected = common::ledger_with_accounts(&[1, 2]);
    assert_eq!(create_transfers(&mut burnt, 0, &[transfer(100, 9, 2, 10)]).len(), 1);
    assert_eq!(create_transfers(&mut rejected, 0, &[transfer(100, 1, 1, 10)]).len(), 1);
    assert_eq!(burnt.clock(), rejected.clock());
    assert_ne!(burnt.state_hash(), rejected.state_hash());
}

#[test]
fn the_clock_alone_changes_the_hash() {
    let mut ledger = replayed();
    let before = ledger.state_hash();
    pulse(&mut ledger, T0 + 100 * NS_PER_SECOND);
    assert_ne!(ledger.state_hash(), before);
}

#[test]
fn a_posted_and_a_voided_pending_transfer_hash_differently() {
    let mut posted = common::ledger_with_accounts(&[1, 2]);
    let mut voided = common::ledger_with_accounts(&[1, 2]);
    assert_eq!(create_transfers(&mut posted, 0, &[pending(100, 1, 2, 10), post(101, 100, 0)]), vec![]);
    assert_eq!(create_transfers(&mut voided, 0, &[pending(100, 1, 2, 10), void(101, 100)]), vec![]);
    assert_eq!(
        posted.lookup_account(1).map(|a| a.debits_posted),
        voided.lookup_account(1).map(|a| a.debits_posted)
    );
    assert_ne!(posted.state_hash(), voided.state_hash());
}
