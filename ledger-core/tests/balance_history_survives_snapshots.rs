//! Balance rows are state: a snapshot carries them (section 6), a loaded snapshot serves the same
//! histories and hashes the same, both ledgers go on appending identically (expiry included), and
//! damage to the rows is caught on load.

mod common;

use common::{
    NS_PER_SECOND, T0, account, account_with_flags, accounts_ok, create_transfers, pending,
    pending_with_timeout, post, transfer, void,
};
use ledger_core::ledger::{SnapshotError, SnapshotPosition};
use ledger_core::transfer_store::MemoryTransferStore;
use ledger_core::{AccountBalance, AccountFilter, AccountFlags, Ledger, LedgerConfig};

/// History accounts 1, 2 and 4, plain account 3; transfers of every kind, and a pending transfer
/// of 1 → 4 that is still live (1 s timeout) when the snapshot is taken.
fn book() -> Ledger {
    let mut ledger = Ledger::default();
    accounts_ok(
        &mut ledger,
        &[
            account_with_flags(1, AccountFlags::HISTORY),
            account_with_flags(2, AccountFlags::HISTORY),
            account(3),
            account_with_flags(4, AccountFlags::HISTORY | AccountFlags::CREDITS_MUST_NOT_EXCEED_DEBITS),
        ],
    );
    let batch = [
        transfer(10, 1, 2, 50),
        transfer(11, 3, 1, 20),
        pending(12, 2, 3, 7),
        post(13, 12, 5),
        pending(14, 1, 2, 9),
        void(15, 14),
        transfer(16, 4, 3, 30),
        pending_with_timeout(17, 1, 4, 6, 1),
    ];
    assert_eq!(create_transfers(&mut ledger, T0, &batch), vec![]);
    ledger
}

fn history(ledger: &Ledger, id: u128) -> Vec<AccountBalance> {
    let mut out = Vec::new();
    ledger.get_account_balances(&AccountFilter::all_of(id, u32::MAX), &mut out);
    out
}

fn snapshot(ledger: &Ledger) -> Vec<u8> {
    let mut bytes = Vec::new();
    ledger.write_snapshot(SnapshotPosition { op: 3, checksum: 9 }, &mut bytes).expect("write to memory");
    bytes
}

fn load(bytes: &[u8]) -> Result<Ledger, SnapshotError> {
    Ledger::read_snapshot(LedgerConfig::default(), MemoryTransferStore::new(), &mut &bytes[..])
        .map(|(l, _)| l)
}

#[test]
fn a_loaded_snapshot_serves_the_same_histories() {
    let ledger = book();
    let loaded = load(&snapshot(&ledger)).expect("the snapshot loads");
    assert_eq!(loaded.state_hash(), ledger.state_hash());
    assert_eq!(loaded.balance_row_count(), ledger.balance_row_count());
    for id in 1..=4 {
        assert_eq!(history(&loaded, id), history(&ledger, id), "account {id}");
    }
    assert_eq!(history(&ledger, 1).len(), 5);
    assert_eq!(history(&ledger, 3), vec![]);
    loaded.check_invariants().expect("a loaded ledger holds its invariants");
}

#[test]
fn a_loaded_ledger_goes_on_appending_rows_like_the_original() {
    let mut ledger = book();
    let mut loaded = load(&snapshot(&ledger)).expect("the snapshot loads");
    // Past the deadline of transfer 17: it expires before the batch's events, on both.
    let later = [transfer(20, 2, 1, 4), transfer(21, 1, 4, 1)];
    let now = T0 + 2 * NS_PER_SECOND;
    assert_eq!(create_transfers(&mut ledger, now, &later), vec![]);
    assert_eq!(create_transfers(&mut loaded, now, &later), vec![]);
    assert_eq!(loaded.state_hash(), ledger.state_hash());
    for id in 1..=4 {
        assert_eq!(history(&loaded, id), history(&ledger, id), "account {id}");
    }
    let rows = history(&ledger, 4);
    let expiry = rows[rows.len() - 2];
    // Two events: the first gets `now - 1`, and so does the expiry released before it.
    assert_eq!((expiry.credits_pending, expiry.timestamp), (0, now - 1), "the expiry row");

    // A second generation: snapshot of the loaded ledger, whose rows are stored grouped.
    let again = load(&snapshot(&loaded)).expect("the second snapshot loads");
    assert_eq!(again.state_hash(), ledger.state_hash());
    assert_eq!(snapshot(&again), snapshot(&ledger), "the same state gives the same bytes");
}

#[test]
fn damage_to_a_balance_row_is_caught_on_load() {
    let bytes = snapshot(&book());
    // The file ends with the last row of the last history account.
    for back in [1, 30, 100] {
        let mut damaged = bytes.clone();
        let at = damaged.len() - back;
        damaged[at] ^= 0x10;
        let error = load(&damaged).map(|_| ()).expect_err("damaged history must not load");
        assert!(error.to_string().contains("balance history"), "{error}");
    }
    let cut = &bytes[..bytes.len() - 1];
    assert!(load(cut).is_err(), "a history section cut short must not load");
}

#[test]
fn a_ledger_without_history_accounts_has_an_empty_history_section() {
    let mut plain = Ledger::default();
    accounts_ok(&mut plain, &[account(1), account(2)]);
    assert_eq!(create_transfers(&mut plain, T0, &[transfer(10, 1, 2, 5)]), vec![]);
    let bytes = snapshot(&plain);
    // The last 16 bytes are the history frame: length 0, checksum of nothing.
    let frame = &bytes[bytes.len() - 16..];
    assert_eq!(frame, [0_u8; 16].as_slice());
    assert_eq!(load(&bytes).expect("loads").state_hash(), plain.state_hash());
}
