//! `ledger-durability`: how committed batches become durable and come back after a crash.
//!
//! - `wal`: the write-ahead log (records, segments, the group-commit writer, recovery, verify).
//! - `storage`: the files the WAL needs, behind a trait: `FileStorage` on disk and, for tests,
//!   `FaultyStorage`, which simulates crashes, torn writes, failed syncs, bit rot and a full disk
//!   (feature `fault-injection`).
//!
//! The engine (`ledger-core`) stays pure: this crate only stores and returns bytes of batches.

pub mod data_dir;
pub mod durable_writer;
pub mod journal_log;
pub mod notes;
pub mod online_snapshot;
pub mod replay;
pub mod snapshots;
pub mod storage;
pub mod wal;
