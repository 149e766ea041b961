//! Snapshot files in a data directory's `snapshots/`: written atomically, loaded newest first.
//!
//! A file is `snapshot-<op, 20 digits>.snap`, holding `Ledger::write_snapshot`'s bytes for the
//! state after WAL op `op`. Writing goes to a `.tmp` file, which is fsynced, renamed into place,
//! and the directory fsynced: a crash leaves either the old set of snapshots or the new one,
//! never a half-written file under a snapshot name. Loading tries the newest; a damaged one is
//! reported and the next older one is tried; if snapshots exist but none loads, start-up is
//! refused rather than silently replaying from an incomplete log.

use ledger_core::ledger::{SNAPSHOT_HEADER_SIZE, SnapshotError, SnapshotPosition};
use ledger_core::transfer_store::TransferStore;
use ledger_core::{Ledger, LedgerConfig};
use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Read};
use std::path::{Path, PathBuf};

pub const SNAPSHOT_DIR: &str = "snapshots";
/// Snapshots kept after a new one is durable: the newest and one fallback.
pub const SNAPSHOTS_KEPT: usize = 2;
const BUFFER_BYTES: usize = 8 << 20;

#[derive(Debug, thiserror::Error)]
pub enum SnapshotFileError {
    #[error("snapshot directory {dir}: {source}")]
    Dir { dir: String, source: io::Error },
    #[error("writing snapshot {path}: {source}")]
    Write { path: String, source: io::Error },
    #[error("no snapshot could be loaded, and refusing to start without one: {}", failures.join("; "))]
    NoneLoadable { failures: Vec<String> },
}

/// A snapshot file and the op it covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotFile {
    pub op: u64,
    pub path: PathBuf,
}

#[must_use]
pub fn snapshot_name(op: u64) -> String {
    format!("snapshot-{op:020}.snap")
}

fn parse_name(name: &str) -> Option<u64> {
    let digits = name.strip_prefix("snapshot-")?.strip_suffix(".snap")?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Snapshot files in `data_dir/snapshots`, newest first (none if the directory is absent).
pub fn list(data_dir: &Path) -> Result<Vec<SnapshotFile>, SnapshotFileError> {
    let dir = data_dir.join(SNAPSHOT_DIR);
    let dir_error = |source| SnapshotFileError::Dir { dir: dir.display().to_string(), source };
    let entries = match fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(dir_error(e)),
    };
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(dir_error)?;
        if let Some(op) = entry.file_name().to_str().and_then(parse_name) {
            files.push(SnapshotFile { op, path: entry.path() });
        }
    }
    files.sort_by_key(|f| std::cmp::Reverse(f.op));
    Ok(files)
}

/// Writes a snapshot of `ledger` standing for `position` atomically, then deletes all but the
/// newest `SNAPSHOTS_KEPT`. Returns the new file.
pub fn write<S: TransferStore>(
    data_dir: &Path,
    ledger: &Ledger<S>,
    position: SnapshotPosition,
) -> Result<SnapshotFile, SnapshotFileError> {
    let dir = data_dir.join(SNAPSHOT_DIR);
    let dir_error = |source| SnapshotFileError::Dir { dir: dir.display().to_string(), source };
    if !dir.is_dir() {
        fs::create_dir_all(&dir).map_err(dir_error)?;
        File::open(data_dir).and_then(|d| d.sync_all()).map_err(dir_error)?;
    }
    // A crash mid-write leaves a `.tmp` file behind; it was never a snapshot, so clear it.
    for entry in fs::read_dir(&dir).map_err(dir_error)?.flatten() {
        if entry.file_name().to_str().is_some_and(|n| n.starts_with("snapshot-") && n.ends_with(".tmp")) {
            let _ = fs::remove_file(entry.path());
        }
    }
    let path = dir.join(snapshot_name(position.op));
    let temp = dir.join(format!("{}.tmp", snapshot_name(position.op)));
    let write_error = |source| SnapshotFileError::Write { path: path.display().to_string(), source };
    let file = File::create(&temp).map_err(write_error)?;
    let mut out = BufWriter::with_capacity(BUFFER_BYTES, file);
    ledger.write_snapshot(position, &mut out).map_err(write_error)?;
    let file = out.into_inner().map_err(|e| write_error(e.into_error()))?;
    file.sync_all().map_err(write_error)?;
    drop(file);
    fs::rename(&temp, &path).map_err(write_error)?;
    File::open(&dir).and_then(|d| d.sync_all()).map_err(dir_error)?;
    for old in list(data_dir)?.into_iter().skip(SNAPSHOTS_KEPT) {
        fs::remove_file(&old.path).map_err(dir_error)?;
    }
    File::open(&dir).and_then(|d| d.sync_all()).map_err(dir_error)?;
    Ok(SnapshotFile { op: position.op, path })
}

/// The transfer-record count a snapshot file's header names (so that a record file can be cut
/// to it before loading). Validates the header fully.
pub fn header_transfer_count(path: &Path) -> Result<u64, SnapshotError> {
    let mut header = [0_u8; SNAPSHOT_HEADER_SIZE];
    File::open(path)?.read_exact(&mut header)?;
    // `read_snapshot` re-validates everything; here only what is needed before it runs.
    let stored = u32::from_le_bytes([header[60], header[61], header[62], header[63]]);
    let computed = crc32c::crc32c(&header[..60]);
    if stored != computed {
        return Err(SnapshotError::HeaderChecksum { stored, computed });
    }
    let mut count = [0_u8; 8];
    count.copy_from_slice(&header[32..40]);
    Ok(u64::from_le_bytes(count))
}

/// A loaded snapshot, and the newer ones that failed to load (reported, never silent).
#[derive(Debug)]
pub struct Loaded<S: TransferStore> {
    pub ledger: Ledger<S>,
    pub position: SnapshotPosition,
    pub file: SnapshotFile,
    pub skipped: Vec<String>,
}

/// Loads the newest snapshot that loads cleanly. `make_store(records)` builds the transfer store
/// for a snapshot with that many records. `Ok(None)`: there are no snapshots.
pub fn load_newest<S: TransferStore>(
    data_dir: &Path,
    config: LedgerConfig,
    mut make_store: impl FnMut(u64) -> io::Result<S>,
) -> Result<Option<Loaded<S>>, SnapshotFileError> {
    let files = list(data_dir)?;
    if files.is_empty() {
        return Ok(None);
    }
    let mut failures = Vec::new();
    for file in files {
        let attempt = (|| -> Result<(Ledger<S>, SnapshotPosition), SnapshotError> {
            let records = header_transfer_count(&file.path)?;
            let store = make_store(records)?;
            let mut input = BufReader::with_capacity(BUFFER_BYTES, File::open(&file.path)?);
            let loaded = Ledger::read_snapshot(config, store, &mut input)?;
            // Trailing bytes mean the file is not what was written.
            let mut extra = [0_u8; 1];
            if input.read(&mut extra)? != 0 {
                return Err(SnapshotError::Invalid {
                    section: "end",
                    reason: "bytes after the last section".into(),
                });
            }
            Ok(loaded)
        })();
        match attempt {
            Ok((ledger, position)) if position.op == file.op => {
                return Ok(Some(Loaded { ledger, position, file, skipped: failures }));
            }
            Ok((_, position)) => failures.push(format!(
                "{}: names op {} but holds op {}",
                file.path.display(),
                file.op,
                position.op
            )),
            Err(e) => failures.push(format!("{}: {e}", file.path.display())),
        }
    }
    Err(SnapshotFileError::NoneLoadable { failures })
}

/// A transfer store that only counts: lets `verify` check a snapshot completely without
/// touching the record file (which loading would cut to the snapshot's length).
#[derive(Debug)]
struct CountingStore {
    len: u64,
}

impl TransferStore for CountingStore {
    const KEEPS_RECORDS: bool = true;

    fn append(&mut self, _transfer: &ledger_core::Transfer) -> u64 {
        self.len += 1;
        self.len - 1
    }

    fn get(&self, _locator: u64) -> Option<ledger_core::Transfer> {
        None
    }

    fn len(&self) -> u64 {
        self.len
    }

    fn truncate(&mut self, len: u64) {
        self.len = self.len.min(len);
    }

    fn resident_bytes(&self) -> usize {
        0
    }

    fn for_each(&self, _visit: &mut dyn FnMut(&ledger_core::Transfer)) {}
}

/// One snapshot file and what checking it found (the position, or why it is damaged).
pub type SnapshotCheck = (SnapshotFile, Result<SnapshotPosition, String>);

/// Checks every snapshot file read-only: header, every section checksum and count. Newest first.
pub fn verify(data_dir: &Path, config: LedgerConfig) -> Result<Vec<SnapshotCheck>, SnapshotFileError> {
    let mut checked = Vec::new();
    for file in list(data_dir)? {
        let result = (|| -> Result<SnapshotPosition, SnapshotError> {
            let records = header_transfer_count(&file.path)?;
            let mut input = BufReader::with_capacity(BUFFER_BYTES, File::open(&file.path)?);
            let (_, position) = Ledger::read_snapshot(config, CountingStore { len: records }, &mut input)?;
            Ok(position)
        })()
        .map_err(|e| e.to_string())
        .and_then(|position| {
            if position.op == file.op {
                Ok(position)
            } else {
                Err(format!("named for op {} but holds op {}", file.op, position.op))
            }
        });
        checked.push((file, result));
    }
    Ok(checked)
}
