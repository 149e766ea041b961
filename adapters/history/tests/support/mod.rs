//! Shared by the behaviour tests: writing record files the way the ledger's writer does, and
//! asking the index synchronously.

#![allow(dead_code, reason = "each test file uses a different part")]

use ledger_core::{AccountFilter, QueryFilter, Transfer};
use ledger_history::{HistoryError, HistoryIndex, IndexPosition};
use std::io::Write;
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub type Answer = Result<(Vec<Transfer>, IndexPosition), HistoryError>;

/// How long a test waits for the index thread before it calls the index stuck.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// A committed transfer as the writer stores it: `id` doubles as the timestamp's base, so that
/// timestamps strictly increase with ids.
pub fn transfer(id: u64, debit: u128, credit: u128) -> Transfer {
    Transfer {
        id: u128::from(id),
        debit_account_id: debit,
        credit_account_id: credit,
        amount: u128::from(id) * 100,
        user_data_128: u128::from(id % 7),
        user_data_64: id % 3,
        ledger: 156,
        code: 1 + u16::try_from(id % 4).expect("small"),
        timestamp: 1_000 + id * 10,
        ..Transfer::default()
    }
}

/// `count` transfers from id `first` on, over accounts 1..=accounts.
pub fn transfers(first: u64, count: u64, accounts: u64) -> Vec<Transfer> {
    (first..first + count)
        .map(|id| {
            let debit = u128::from(id % accounts + 1);
            let credit = u128::from((id + 1 + id / accounts) % accounts + 1);
            let credit = if credit == debit { debit % u128::from(accounts) + 1 } else { credit };
            transfer(id, debit, credit)
        })
        .collect()
}

/// Appends records to the record file, as the writer does after applying a batch.
pub fn append_records(path: &Path, transfers: &[Transfer]) {
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path).expect("open records");
    let bytes: Vec<u8> = transfers.iter().flat_map(Transfer::to_bytes).collect();
    file.write_all(&bytes).expect("append records");
}

pub fn account_transfers(index: &HistoryIndex, filter: AccountFilter) -> Answer {
    let (tx, rx) = mpsc::channel();
    index.get_account_transfers(filter, Box::new(move |answer| tx.send(answer).expect("test waits")));
    rx.recv_timeout(PATIENCE).expect("an answer")
}

pub fn query_transfers(index: &HistoryIndex, filter: QueryFilter) -> Answer {
    let (tx, rx) = mpsc::channel();
    index.query_transfers(filter, Box::new(move |answer| tx.send(answer).expect("test waits")));
    rx.recv_timeout(PATIENCE).expect("an answer")
}

/// Waits until `done` holds, or fails the test.
pub fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < PATIENCE, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// The transfers of `account` (both sides), by brute force.
pub fn of_account(transfers: &[Transfer], account: u128) -> Vec<Transfer> {
    transfers
        .iter()
        .filter(|t| t.debit_account_id == account || t.credit_account_id == account)
        .copied()
        .collect()
}
