//! `ledger verify --data-dir DIR`: the offline check of a data directory.

use ledger_durability::journal_log::{self, JournalVerifyError};
use ledger_durability::snapshots::{self, SnapshotFileError};
use ledger_durability::storage::FileStorage;
use ledger_durability::wal::{WalError, verify};
use ledger_events::EventNote;
use std::io::Write;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("no WAL directory at {0} (is this a data directory?)")]
    NotADataDir(String),
    #[error("cannot open the WAL directory: {0}")]
    Open(#[source] std::io::Error),
    #[error("damaged: {0}")]
    Damaged(#[from] WalError),
    #[error("cannot print the report: {0}")]
    Output(#[source] std::io::Error),
    #[error(transparent)]
    Snapshots(#[from] SnapshotFileError),
    #[error("damaged snapshot(s): {0}")]
    DamagedSnapshots(String),
    #[error("damaged: {0}")]
    Journal(#[from] JournalVerifyError),
}

/// Checks the WAL, the snapshots and `journal.log` read-only and prints what was checked. A torn tail (an unacknowledged write
/// cut short by a crash) is reported but is not damage: start-up cuts it off.
pub fn run(data_dir: &Path, out: &mut impl Write) -> Result<(), VerifyError> {
    let wal_dir = data_dir.join("wal");
    if !wal_dir.is_dir() {
        return Err(VerifyError::NotADataDir(wal_dir.display().to_string()));
    }
    let storage = FileStorage::open(data_dir).map_err(VerifyError::Open)?;
    let report = verify(&storage)?;
    let print = |out: &mut dyn Write, line: String| writeln!(out, "{line}").map_err(VerifyError::Output);
    print(out, format!("wal: {} segment(s)", report.segments.len()))?;
    for segment in &report.segments {
        print(out, format!("  {} (first op {})", segment.name, segment.first_op))?;
    }
    match (report.first_op, report.last_op) {
        (Some(first), Some(last)) => print(
            out,
            format!(
                "records: {} (ops {first}..={last}), {} bytes; checksums and hash chain intact",
                report.records, report.record_bytes
            ),
        )?,
        _ => print(out, "records: none".to_owned())?,
    }
    if let Some(torn) = &report.torn_tail {
        print(
            out,
            format!(
                "torn tail: segment {} at offset {} (op {}), {} bytes, will be cut at start-up: {}",
                torn.segment, torn.offset, torn.op, torn.dropped_bytes, torn.reason
            ),
        )?;
    }
    let checked = snapshots::verify(data_dir, ledger_core::LedgerConfig::default())?;
    if checked.is_empty() {
        print(out, "snapshots: none".to_owned())?;
    }
    let mut damaged = Vec::new();
    for (file, result) in &checked {
        match result {
            Ok(position) => print(
                out,
                format!("snapshot {} (op {}): checksums and counts intact", file.path.display(), position.op),
            )?,
            Err(reason) => damaged.push(format!("{}: {reason}", file.path.display())),
        }
    }
    if !damaged.is_empty() {
        return Err(VerifyError::DamagedSnapshots(damaged.join("; ")));
    }
    // Every note must be an event record this build reads.
    let journal = journal_log::verify(data_dir, |payload| {
        EventNote::decode(payload).map(|_| ()).map_err(|e| e.to_string())
    })?;
    match journal.ops {
        Some((first, last)) => print(
            out,
            format!(
                "journal: {} record(s) (ops {first}..={last}), {} event record(s); checksums intact",
                journal.records, journal.notes
            ),
        )?,
        None => print(out, "journal: empty (rebuilt from the WAL at start-up)".to_owned())?,
    }
    if journal.tail_bytes > 0 {
        print(
            out,
            format!(
                "journal tail: {} unsynced byte(s), rebuilt from the WAL at start-up",
                journal.tail_bytes
            ),
        )?;
    }
    Ok(())
}
