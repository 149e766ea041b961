//! Snapshot files on the simulated disk, beside the WAL segments (which ignore other names).
//!
//! A snapshot of op N is two files: `snapshot-<N, 20 digits>.snap` (the bytes of
//! `Ledger::write_snapshot`) and an empty marker `snapshot-<N>.done`. The data file is written and
//! fsynced first; only then is the marker created, and one `sync_dir` makes both names durable.
//! So a marker always means a complete, synced data file: the marker plays the part of the real
//! data directory's rename of a `.tmp` file (`ledger-durability/src/snapshots.rs`), which the
//! `Storage` trait has no call for. A data file without a marker is a write that did not finish;
//! start-up deletes it, as the real one deletes `.tmp` files.
//!
//! Loading tries the newest marked snapshot first and falls back to older ones, reporting each
//! one that failed; if there are marked snapshots and none loads, start-up is refused.

use crate::process_disk::ProcessDisk;
use ledger_core::ledger::SnapshotPosition;
use ledger_core::transfer_store::MemoryTransferStore;
use ledger_core::{Ledger, LedgerConfig};
use ledger_durability::storage::{Storage, StorageFile};
use std::io;

/// Snapshots kept once a new one is durable: the newest and one fallback, as in production.
pub const SNAPSHOTS_KEPT: usize = 2;

const PREFIX: &str = "snapshot-";
const DATA_SUFFIX: &str = ".snap";
const MARKER_SUFFIX: &str = ".done";

#[must_use]
pub fn data_name(op: u64) -> String {
    format!("{PREFIX}{op:020}{DATA_SUFFIX}")
}

#[must_use]
pub fn marker_name(op: u64) -> String {
    format!("{PREFIX}{op:020}{MARKER_SUFFIX}")
}

fn parse(name: &str, suffix: &str) -> Option<u64> {
    let digits = name.strip_prefix(PREFIX)?.strip_suffix(suffix)?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The snapshot files in a directory listing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SnapshotListing {
    /// Ops of complete snapshots (data file and marker), newest first.
    pub complete: Vec<u64>,
    /// Data files without a marker: unfinished writes.
    pub unfinished: Vec<String>,
    /// Markers without a data file (only a half-finished delete leaves one).
    pub orphan_markers: Vec<String>,
}

#[must_use]
pub fn listing(names: &[String]) -> SnapshotListing {
    let data: Vec<u64> = names.iter().filter_map(|n| parse(n, DATA_SUFFIX)).collect();
    let markers: Vec<u64> = names.iter().filter_map(|n| parse(n, MARKER_SUFFIX)).collect();
    let mut complete: Vec<u64> = data.iter().copied().filter(|op| markers.contains(op)).collect();
    complete.sort_unstable_by(|a, b| b.cmp(a));
    SnapshotListing {
        complete,
        unfinished: data.iter().filter(|op| !markers.contains(op)).map(|&op| data_name(op)).collect(),
        orphan_markers: markers.iter().filter(|op| !data.contains(op)).map(|&op| marker_name(op)).collect(),
    }
}

/// Why a snapshot was not written.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotWriteError {
    /// The disk is full: nothing of the snapshot counts, the process goes on.
    #[error("disk full while writing snapshot {name}: {source}")]
    Full { name: String, source: io::Error },
    /// Any other failure is treated like a failed WAL write: the process stops.
    #[error("writing snapshot {name}: {source}")]
    Fatal { name: String, source: io::Error },
}

/// Writes a snapshot of `ledger` standing for `position`, then deletes all but the newest
/// `SNAPSHOTS_KEPT` complete snapshots. Returns the op of the oldest snapshot kept: the WAL up to
/// it may be retired.
pub fn write(
    disk: &ProcessDisk,
    ledger: &Ledger,
    position: SnapshotPosition,
) -> Result<u64, SnapshotWriteError> {
    let name = data_name(position.op);
    let fatal = |source| SnapshotWriteError::Fatal { name: name.clone(), source };
    let mut bytes = Vec::new();
    ledger.write_snapshot(position, &mut bytes).map_err(fatal)?;
    let mut file = disk.create(&name).map_err(fatal)?;
    if let Err(source) = file.write_at(0, &bytes) {
        if source.kind() != io::ErrorKind::StorageFull {
            return Err(fatal(source));
        }
        drop(file);
        disk.remove(&name).map_err(fatal)?;
        return Err(SnapshotWriteError::Full { name: name.clone(), source });
    }
    file.sync().map_err(fatal)?;
    drop(file);
    disk.create(&marker_name(position.op)).map_err(fatal)?;
    disk.sync_dir().map_err(fatal)?;

    let names = disk.list().map_err(fatal)?;
    let complete = listing(&names).complete;
    for &old in complete.iter().skip(SNAPSHOTS_KEPT) {
        // Marker first: a crash in between leaves an unfinished data file, never a marked one
        // without its data.
        disk.remove(&marker_name(old)).map_err(fatal)?;
        disk.remove(&data_name(old)).map_err(fatal)?;
    }
    if complete.len() > SNAPSHOTS_KEPT {
        disk.sync_dir().map_err(fatal)?;
    }
    Ok(complete.iter().take(SNAPSHOTS_KEPT).copied().min().unwrap_or(position.op))
}

/// Deletes what unfinished writes and deletes left behind (start-up, before loading).
pub fn clean_up(disk: &ProcessDisk, listing: &SnapshotListing) -> io::Result<()> {
    for name in listing.unfinished.iter().chain(&listing.orphan_markers) {
        disk.remove(name)?;
    }
    Ok(())
}

/// A loaded snapshot.
#[derive(Debug)]
pub struct Loaded {
    pub ledger: Ledger,
    pub position: SnapshotPosition,
    /// Newer complete snapshots that failed to load: (op, why).
    pub skipped: Vec<(u64, String)>,
}

/// Why start-up found no state to start from.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("no complete snapshot loads: {}", failures.iter().map(|(op, why)| format!("op {op}: {why}")).collect::<Vec<_>>().join("; "))]
    NoneLoadable { failures: Vec<(u64, String)> },
    #[error("reading snapshot files: {0}")]
    Io(#[source] io::Error),
}

/// Loads the newest complete snapshot that loads cleanly (`Ok(None)`: there is none at all).
pub fn load_newest(
    disk: &ProcessDisk,
    complete: &[u64],
    config: LedgerConfig,
) -> Result<Option<Loaded>, LoadError> {
    let mut skipped = Vec::new();
    for &op in complete {
        let bytes = read_all(disk, &data_name(op)).map_err(LoadError::Io)?;
        let mut input: &[u8] = &bytes;
        match Ledger::read_snapshot(config, MemoryTransferStore::new(), &mut input) {
            Ok(_) if !input.is_empty() => skipped.push((op, format!("{} bytes after the end", input.len()))),
            Ok((_, position)) if position.op != op => {
                skipped.push((op, format!("named for op {op} but holds op {}", position.op)));
            }
            Ok((ledger, position)) => return Ok(Some(Loaded { ledger, position, skipped })),
            Err(e) => skipped.push((op, e.to_string())),
        }
    }
    if skipped.is_empty() { Ok(None) } else { Err(LoadError::NoneLoadable { failures: skipped }) }
}

fn read_all(disk: &ProcessDisk, name: &str) -> io::Result<Vec<u8>> {
    let mut file = disk.open(name)?;
    let len = usize::try_from(file.len()?).map_err(|_| io::Error::other("file too large"))?;
    let mut bytes = vec![0; len];
    file.read_at(0, &mut bytes)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ledger_durability::storage::FaultyStorage;

    #[test]
    fn names_parse_back_and_a_data_file_counts_only_with_its_marker() {
        let names = vec![data_name(7), marker_name(7), data_name(9), marker_name(3), "x.wal".to_owned()];
        let l = listing(&names);
        assert_eq!(l.complete, vec![7]);
        assert_eq!(l.unfinished, vec![data_name(9)]);
        assert_eq!(l.orphan_markers, vec![marker_name(3)]);
    }

    #[test]
    fn a_written_snapshot_survives_power_loss_and_loads_back_to_the_same_state() {
        let disk = FaultyStorage::new();
        let process = ProcessDisk::new(disk.clone());
        let mut ledger = Ledger::default();
        let account = ledger_core::Account { id: 1, ledger: 1, code: 1, ..Default::default() };
        assert!(ledger.create_accounts(10, &[account]).expect("apply").is_empty());
        let position = SnapshotPosition { op: 4, checksum: 99 };
        write(&process, &ledger, position).expect("write");
        let after = ProcessDisk::new(disk.crash());
        let complete = listing(&after.list().expect("list")).complete;
        let loaded = load_newest(&after, &complete, LedgerConfig::default()).expect("load").expect("some");
        assert_eq!(loaded.position, position);
        assert_eq!(loaded.ledger.state_hash(), ledger.state_hash());
    }
}
