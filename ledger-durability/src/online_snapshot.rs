//! Online snapshots, taken without stopping the writer.
//!
//! The writer thread never serialises its own state (4.5 s at 10M accounts: far beyond the
//! stall budget). Instead, when the log has grown by `every_ops` records since the last snapshot,
//! the WAL thread starts a *snapshot job* on its own thread. The job builds a second copy of the
//! state from durable data only: the newest snapshot file (or an empty ledger), then the WAL
//! records after it up to the op that was durable when the job started. Records past that op
//! are never read, so appends going on meanwhile do not matter. It writes the new snapshot file
//! atomically and reports back; the WAL thread then retires the segments that the oldest kept
//! snapshot covers (it alone owns the log, and starts no second job while one runs, so nothing
//! is deleted under a reader).
//!
//! The job shares the transfer record file read-only: the writer writes a batch's records before
//! its WAL group is synced, so every record up to the job's target op is already in the file.
//! Cost: a second copy of the state in memory while a job runs, and a second `apply` of the
//! records since the last snapshot, on a core the writer is not using.

use crate::data_dir::TRANSFER_RECORDS_FILE;
use crate::replay::{ReplayBuffers, replay_record};
use crate::snapshots::{self, SnapshotFile};
use crate::storage::{FileStorage, Storage, StorageFile};
use crate::wal::segment::list_segments;
use crate::wal::{LogPosition, RECORD_HEADER_SIZE, RecordHeader};
use ledger_core::ledger::SnapshotPosition;
use ledger_core::transfer_store::TransferStore;
use ledger_core::{LedgerConfig, TRANSFER_SIZE, Transfer};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// When and where online snapshots are taken.
#[derive(Clone, Debug)]
pub struct SnapshotPolicy {
    pub data_dir: PathBuf,
    /// Start a snapshot job once this many records were logged since the last snapshot.
    pub every_ops: u64,
    pub ledger: LedgerConfig,
}

/// A finished job: the snapshot written, or why it failed (the log is untouched either way).
pub type JobOutcome = Result<SnapshotFile, String>;

/// Starts a job that snapshots the state at durable op `target`.
pub fn start_job(
    policy: &SnapshotPolicy,
    target: LogPosition,
) -> std::io::Result<std::thread::JoinHandle<JobOutcome>> {
    let policy = policy.clone();
    std::thread::Builder::new().name("ledger-snapshot".into()).spawn(move || run_job(&policy, target))
}

fn run_job(policy: &SnapshotPolicy, target: LogPosition) -> JobOutcome {
    let dir = &policy.data_dir;
    let records = dir.join(TRANSFER_RECORDS_FILE);
    let open_store = |count| SharedRecords::open(&records, count);
    let (mut ledger, from) =
        match snapshots::load_newest(dir, policy.ledger, open_store).map_err(|e| e.to_string())? {
            Some(loaded) => {
                (loaded.ledger, LogPosition { op: loaded.position.op, checksum: loaded.position.checksum })
            }
            None => {
                let store = open_store(0).map_err(|e| e.to_string())?;
                (ledger_core::Ledger::with_store(policy.ledger, store), LogPosition::GENESIS)
            }
        };
    if from.op >= target.op {
        return Err(format!("the newest snapshot (op {}) already covers op {}", from.op, target.op));
    }
    let storage = FileStorage::open(dir).map_err(|e| e.to_string())?;
    let mut buffers = ReplayBuffers::default();
    let last = read_log(&storage, from, target.op, |header, body| {
        replay_record(&mut ledger, header, body, &mut buffers).map_err(|e| e.to_string())
    })?;
    if last != target {
        return Err(format!(
            "the log at op {} has checksum {:#010x}, expected {:#010x}",
            last.op, last.checksum, target.checksum
        ));
    }
    snapshots::write(dir, &ledger, SnapshotPosition { op: target.op, checksum: target.checksum })
        .map_err(|e| e.to_string())
}

/// Reads records `from.op + 1 ..= until` (all durable), checking each header, body checksum, op
/// and chain link (anchored at `from`), and passes them to `visit`. Returns the position of
/// `until`.
fn read_log<S: Storage>(
    storage: &S,
    from: LogPosition,
    until: u64,
    mut visit: impl FnMut(&RecordHeader, &[u8]) -> Result<(), String>,
) -> Result<LogPosition, String> {
    let segments = list_segments(storage).map_err(|e| e.to_string())?;
    let mut position: Option<LogPosition> = (from.op > 0).then_some(from);
    let mut body = Vec::new();
    for (i, segment) in segments.iter().enumerate() {
        // Skip segments that end before `from + 1`, except to learn the chain value of `from`.
        let next_first = segments.get(i + 1).map_or(u64::MAX, |s| s.first_op);
        if next_first <= from.op {
            continue;
        }
        let mut file = storage.open(&segment.name).map_err(|e| format!("{}: {e}", segment.name))?;
        let mut offset = 0_u64;
        let mut expected_op = segment.first_op;
        while expected_op <= until && expected_op < next_first {
            let mut raw = [0_u8; RECORD_HEADER_SIZE];
            file.read_at(offset, &mut raw).map_err(|e| format!("{} at {offset}: {e}", segment.name))?;
            let header =
                RecordHeader::decode(&raw).map_err(|e| format!("{} at {offset}: {e}", segment.name))?;
            if header.op != expected_op {
                return Err(format!(
                    "{} at {offset}: op {} where {expected_op} was expected",
                    segment.name, header.op
                ));
            }
            if header.op == from.op && header.checksum != from.checksum {
                return Err(format!(
                    "{} at {offset}: op {} does not match the snapshot's checksum",
                    segment.name, header.op
                ));
            }
            if header.op > from.op {
                let previous = position.map_or(0, |p| p.checksum);
                if header.prev_checksum != previous {
                    return Err(format!(
                        "{} at {offset}: the hash chain breaks at op {}",
                        segment.name, header.op
                    ));
                }
                body.resize(usize::try_from(header.body_len).unwrap_or(0), 0);
                file.read_at(offset + RECORD_HEADER_SIZE as u64, &mut body)
                    .map_err(|e| format!("{} at {offset}: {e}", segment.name))?;
                header
                    .check_body(&body)
                    .map_err(|e| format!("{} at {offset}: body checksum {e:?}", segment.name))?;
                visit(&header, &body)?;
                position = Some(LogPosition { op: header.op, checksum: header.checksum });
            }
            offset += header.record_len();
            expected_op += 1;
        }
        if expected_op > until {
            break;
        }
    }
    position.filter(|p| p.op == until).ok_or_else(|| format!("the log does not reach op {until}"))
}

/// The live transfer record file, read-only: appends only count (the writer already wrote the
/// record at that position), reads are positioned reads.
#[derive(Debug)]
struct SharedRecords {
    file: File,
    len: u64,
}

impl SharedRecords {
    fn open(path: &Path, records: u64) -> std::io::Result<Self> {
        let file = File::open(path)?;
        let available = file.metadata()?.len() / TRANSFER_SIZE as u64;
        if available < records {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!("{} holds {available} records, {records} needed", path.display()),
            ));
        }
        Ok(Self { file, len: records })
    }
}

impl TransferStore for SharedRecords {
    const KEEPS_RECORDS: bool = true;

    fn append(&mut self, _transfer: &Transfer) -> u64 {
        // The writer put the identical record here before this op became durable (replay is
        // deterministic); a debug build checks it.
        debug_assert_eq!(self.get(self.len).as_ref(), Some(_transfer));
        self.len += 1;
        self.len - 1
    }

    fn get(&self, locator: u64) -> Option<Transfer> {
        let mut record = [0_u8; TRANSFER_SIZE];
        self.file.read_exact_at(&mut record, locator.checked_mul(TRANSFER_SIZE as u64)?).ok()?;
        Some(Transfer::from_bytes(&record))
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

    fn for_each(&self, visit: &mut dyn FnMut(&Transfer)) {
        (0..self.len).filter_map(|i| self.get(i)).for_each(|t| visit(&t));
    }
}
