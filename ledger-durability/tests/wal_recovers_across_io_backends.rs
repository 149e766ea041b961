//! A WAL written through io_uring recovers with the pwrite backend, and the other way round:
//! the backend changes how bytes reach the disk, never which bytes.
//!
//! Skipped, with the reason printed, where io_uring does not work on the machine.

#![cfg(target_os = "linux")]

mod common;

use common::{make_group, make_groups, recover_all, write};
use ledger_durability::storage::{FileStorage, Storage, UringStorage, probe_uring};
use ledger_durability::wal::{LogPosition, WalWriter};
use std::path::PathBuf;

fn uring_dir(name: &str) -> Option<PathBuf> {
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let dir = std::env::temp_dir().join(format!("ledger-backends-{name}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    match probe_uring(&dir) {
        Ok(()) => Some(dir),
        Err(e) => {
            println!("SKIPPED {name}: io_uring is unavailable on this machine: {e}");
            eprintln!("SKIPPED {name}: io_uring is unavailable on this machine: {e}");
            let _ = std::fs::remove_dir_all(&dir);
            None
        }
    }
}

fn sizes() -> Vec<Vec<u32>> {
    vec![vec![1], vec![3, 0, 2], vec![10], vec![1, 1, 1, 1], vec![20], vec![0], vec![5, 5]]
}

/// Writes `groups` with `first`, recovers and resumes with `second`, appends one group, and
/// recovers everything with `first` again.
fn round_trip<A: Storage, B: Storage>(first: impl Fn() -> A, second: impl Fn() -> B) {
    let config = common::small_segments();
    let groups = make_groups(&sizes(), 21);
    let mut writer = WalWriter::create(first(), config).expect("create");
    for group in &groups {
        write(&mut writer, group).expect("write");
    }
    assert!(writer.segments().len() > 1, "the test should roll segments");
    drop(writer);

    let expected: Vec<_> = groups.iter().flat_map(|g| g.records.clone()).collect();
    let storage = second();
    let (end, seen) = recover_all(&storage, LogPosition::GENESIS).expect("recover with the other backend");
    assert_eq!(seen, expected);
    let mut writer = WalWriter::resume(storage, config, end).expect("resume");
    let more = make_group(writer.next_op(), writer.last_checksum(), &[4, 1], 22);
    write(&mut writer, &more).expect("write after resume");
    drop(writer);

    let (_, seen) = recover_all(&first(), LogPosition::GENESIS).expect("recover with the first backend");
    assert_eq!(seen.len(), expected.len() + more.records.len());
    assert_eq!(seen[expected.len()..], more.records[..]);
}

#[test]
fn a_wal_written_with_uring_recovers_with_pwrite() {
    let Some(dir) = uring_dir("uring-then-pwrite") else { return };
    round_trip(|| UringStorage::open(&dir).expect("open"), || FileStorage::open(&dir).expect("open"));
    std::fs::remove_dir_all(dir).expect("clean up");
}

#[test]
fn a_wal_written_with_pwrite_recovers_with_uring() {
    let Some(dir) = uring_dir("pwrite-then-uring") else { return };
    round_trip(|| FileStorage::open(&dir).expect("open"), || UringStorage::open(&dir).expect("open"));
    std::fs::remove_dir_all(dir).expect("clean up");
}
