//! A data directory: `wal/` (the log), `snapshots/`, `transfers.records` (transfer records,
//! derived data), `journal.log` (each op's timestamps and entry notes, derived data) and `LOCK`. Opening it recovers the newest loadable snapshot plus the WAL after
//! it; `compact` (offline) writes a new snapshot and retires the WAL segments it covers.
//!
//! One process at a time: `LOCK` is held with an exclusive `flock` for as long as the directory
//! is open (the kernel releases it when the process dies, so a `kill -9` leaves no stale lock).

use crate::durable_writer::{DurableObserver, DurableWriter, OpenError};
use crate::journal_log::{JournalIoError, JournalLog, JournalOpened};
use crate::online_snapshot::SnapshotPolicy;
use crate::replay::replay_log;
use crate::snapshots::{self, SnapshotFile, SnapshotFileError};
use crate::storage::{FileStorage, IoBackend, open_storage};
use crate::wal::{LogPosition, RecoveryEnd, WalConfig, WalError, WalWriter};
use ledger_core::clock::Clock;
use ledger_core::ledger::SnapshotPosition;
use ledger_core::transfer_store::FileTransferStore;
use ledger_core::{Ledger, LedgerConfig};
use std::fs::{File, OpenOptions};
use std::path::Path;

pub const TRANSFER_RECORDS_FILE: &str = "transfers.records";
pub const LOCK_FILE: &str = "LOCK";

#[derive(Clone, Copy, Debug)]
pub struct DataDirConfig {
    pub wal: WalConfig,
    pub ledger: LedgerConfig,
    pub io: IoBackendChoice,
    /// Take an online snapshot every this many WAL records (`None`: only `ledger snapshot`).
    pub snapshot_every_ops: Option<u64>,
}

/// Online snapshot interval by default: 4,096 records, ~33M transfers at full batches.
pub const SNAPSHOT_EVERY_OPS_DEFAULT: u64 = 4096;

impl Default for DataDirConfig {
    fn default() -> Self {
        Self {
            wal: WalConfig::default(),
            ledger: LedgerConfig::default(),
            io: IoBackendChoice::default(),
            snapshot_every_ops: Some(SNAPSHOT_EVERY_OPS_DEFAULT),
        }
    }
}

/// `IoBackend` with a `Default` (the start-up probe).
#[derive(Clone, Copy, Debug)]
pub struct IoBackendChoice(pub IoBackend);

impl Default for IoBackendChoice {
    fn default() -> Self {
        Self(IoBackend::Auto)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DataDirError {
    #[error("data directory {dir}: {source}")]
    Io { dir: String, source: std::io::Error },
    #[error("data directory {dir} is in use by another process (LOCK is held)")]
    Locked { dir: String },
    #[error(transparent)]
    Snapshot(#[from] SnapshotFileError),
    #[error(transparent)]
    Wal(#[from] WalError),
    #[error(transparent)]
    Open(#[from] OpenError),
    #[error(transparent)]
    Journal(#[from] JournalIoError),
}

/// The exclusive lock on a data directory; released when dropped (or when the process dies).
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
}

fn io_error(dir: &Path) -> impl Fn(std::io::Error) -> DataDirError + '_ {
    move |source| DataDirError::Io { dir: dir.display().to_string(), source }
}

/// Creates the directory if needed and takes its lock.
pub fn lock(dir: &Path) -> Result<DataDirLock, DataDirError> {
    std::fs::create_dir_all(dir).map_err(io_error(dir))?;
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(dir.join(LOCK_FILE))
        .map_err(io_error(dir))?;
    match rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(DataDirLock { _file: file }),
        Err(rustix::io::Errno::WOULDBLOCK) => Err(DataDirError::Locked { dir: dir.display().to_string() }),
        Err(errno) => Err(io_error(dir)(errno.into())),
    }
}

/// The ledger state to start from: the newest loadable snapshot, or a fresh ledger.
struct Start {
    ledger: Ledger<FileTransferStore>,
    from: LogPosition,
    snapshot: Option<SnapshotFile>,
    skipped_snapshots: Vec<String>,
}

fn start(dir: &Path, config: &DataDirConfig) -> Result<Start, DataDirError> {
    let records = dir.join(TRANSFER_RECORDS_FILE);
    let loaded =
        snapshots::load_newest(dir, config.ledger, |count| FileTransferStore::open_at(&records, count))?;
    Ok(match loaded {
        Some(loaded) => Start {
            ledger: loaded.ledger,
            from: LogPosition { op: loaded.position.op, checksum: loaded.position.checksum },
            snapshot: Some(loaded.file),
            skipped_snapshots: loaded.skipped,
        },
        None => Start {
            ledger: Ledger::with_store(
                config.ledger,
                FileTransferStore::create(&records).map_err(io_error(dir))?,
            ),
            from: LogPosition::GENESIS,
            snapshot: None,
            skipped_snapshots: Vec::new(),
        },
    })
}

/// An open data directory: the running durable writer, its lock, and what start-up found.
#[derive(Debug)]
pub struct Opened {
    pub writer: DurableWriter<FileTransferStore>,
    pub lock: DataDirLock,
    pub io: IoBackend,
    pub snapshot: Option<SnapshotFile>,
    /// Newer snapshots that failed to load (each with its reason).
    pub skipped_snapshots: Vec<String>,
    pub recovery: RecoveryEnd,
    /// What opening `journal.log` found (before replay appended to it).
    pub journal: JournalOpened,
}

/// Opens (creating if needed) a data directory and starts the durable writer.
pub fn open(dir: &Path, config: DataDirConfig, clock: impl Clock) -> Result<Opened, DataDirError> {
    open_observed(dir, config, None, clock)
}

/// `open`, with an observer that hears of every durable point (`DurableObserver`): at start,
/// after recovery, and after each group.
pub fn open_observed(
    dir: &Path,
    config: DataDirConfig,
    observer: Option<DurableObserver>,
    clock: impl Clock,
) -> Result<Opened, DataDirError> {
    let lock = lock(dir)?;
    let (storage, io) = open_storage(dir, config.io.0).map_err(io_error(dir))?;
    let start = start(dir, &config)?;
    let policy = config.snapshot_every_ops.map(|every_ops| SnapshotPolicy {
        data_dir: dir.to_path_buf(),
        every_ops: every_ops.max(1),
        ledger: config.ledger,
    });
    let (journal, journal_opened) = JournalLog::open(dir, start.from.op)?;
    let (writer, recovery) = DurableWriter::open_from(
        storage,
        config.wal,
        start.ledger,
        start.from,
        policy,
        observer,
        Some(journal),
        clock,
    )?;
    Ok(Opened {
        writer,
        lock,
        io,
        snapshot: start.snapshot,
        skipped_snapshots: start.skipped_snapshots,
        recovery,
        journal: journal_opened,
    })
}

/// What `compact` did.
#[derive(Debug)]
pub struct CompactReport {
    /// The snapshot started from, if any.
    pub from: Option<SnapshotFile>,
    /// The snapshot written (`None`: the log had nothing after the newest snapshot).
    pub written: Option<SnapshotFile>,
    pub records_replayed: u64,
    pub segments_retired: usize,
}

/// Offline: replays the WAL after the newest snapshot, writes a snapshot of the result, and
/// retires the WAL segments it covers. Takes the lock, so it refuses to run beside a live writer.
pub fn compact(dir: &Path, config: DataDirConfig) -> Result<CompactReport, DataDirError> {
    let _lock = lock(dir)?;
    let storage = FileStorage::open(dir).map_err(io_error(dir))?;
    let mut start = start(dir, &config)?;
    let (mut journal, _) = JournalLog::open(dir, start.from.op)?;
    let end = replay_log(&storage, start.from, &mut start.ledger, Some(&mut journal))?;
    // The snapshot must not cover ops whose journal records could still be lost.
    journal.sync().map_err(io_error(dir))?;
    let last = end.last_position();
    let records_replayed = end.records_replayed;
    if last.op <= start.from.op {
        return Ok(CompactReport {
            from: start.snapshot,
            written: None,
            records_replayed,
            segments_retired: 0,
        });
    }
    let written =
        snapshots::write(dir, &start.ledger, SnapshotPosition { op: last.op, checksum: last.checksum })?;
    // Only now that the snapshot is durable may log go, and only what the *oldest* kept
    // snapshot covers: if the newest turns out damaged, the fallback still has its log.
    let oldest_kept = snapshots::list(dir)?.last().map_or(0, |s| s.op);
    let mut wal = WalWriter::resume(storage, config.wal, end)?;
    let segments_retired = wal.retire_segments_before(oldest_kept)?;
    Ok(CompactReport { from: start.snapshot, written: Some(written), records_replayed, segments_retired })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ledger_core::clock::ManualClock;
    use ledger_core::writer::{Command, Reply};
    use ledger_core::{Account, Transfer};

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("ledger-data-dir-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn small_segments() -> DataDirConfig {
        DataDirConfig {
            wal: WalConfig { segment_size: 64 * 1024 },
            snapshot_every_ops: None,
            ..DataDirConfig::default()
        }
    }

    fn open_two_accounts(opened: &Opened) {
        let accounts = vec![
            Account { id: 1, ledger: 1, code: 1, ..Account::default() },
            Account { id: 2, ledger: 1, code: 1, ..Account::default() },
        ];
        let reply = opened.writer.call(Command::CreateAccounts(accounts)).expect("accounts");
        assert!(
            matches!(reply, Reply::CreateAccounts { ref results, .. } if results.is_empty()),
            "{reply:?}"
        );
    }

    fn post(opened: &Opened, first: u128, count: u128) {
        let transfers: Vec<Transfer> = (first..first + count)
            .map(|id| Transfer {
                id,
                debit_account_id: 1,
                credit_account_id: 2,
                amount: id,
                ledger: 1,
                code: 1,
                ..Transfer::default()
            })
            .collect();
        let reply = opened.writer.call(Command::CreateTransfers(transfers)).expect("reply");
        assert!(
            matches!(reply, Reply::CreateTransfers { ref results, .. } if results.is_empty()),
            "{reply:?}"
        );
    }

    fn state_hash(opened: &Opened) -> [u8; 32] {
        match opened.writer.call(Command::StateHash) {
            Ok(Reply::StateHash(hash)) => hash,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn compaction_snapshots_retires_segments_and_restarts_to_the_same_state() {
        let dir = scratch("compact");
        let clock = ManualClock::new(1_000);
        let opened = open(&dir, small_segments(), clock.clone()).expect("open");
        open_two_accounts(&opened);
        for batch in 0..20 {
            clock.advance(1);
            post(&opened, 1 + batch * 100, 100);
        }
        let before = state_hash(&opened);
        assert!(matches!(open(&dir, small_segments(), clock.clone()), Err(DataDirError::Locked { .. })));
        drop(opened);

        let segments_before = std::fs::read_dir(dir.join("wal")).expect("wal").count();
        let report = compact(&dir, small_segments()).expect("compact");
        assert_eq!(report.records_replayed, 21);
        assert!(report.written.is_some());
        assert!(report.segments_retired > 0, "{segments_before} segments, none retired");

        // Restart from the snapshot (no records to replay), then write more and restart again.
        let opened = open(&dir, small_segments(), clock.clone()).expect("reopen");
        assert_eq!(opened.recovery.records_replayed, 0);
        assert_eq!(state_hash(&opened), before);
        clock.advance(1);
        post(&opened, 10_000, 50);
        let after = state_hash(&opened);
        drop(opened);
        let opened = open(&dir, small_segments(), clock.clone()).expect("reopen");
        assert_eq!(opened.recovery.records_replayed, 1);
        assert_eq!(state_hash(&opened), after);
        drop(opened);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_damaged_newest_snapshot_falls_back_to_the_older_one_and_is_reported() {
        let dir = scratch("fallback");
        let clock = ManualClock::new(1_000);
        let opened = open(&dir, small_segments(), clock.clone()).expect("open");
        open_two_accounts(&opened);
        post(&opened, 1, 10);
        drop(opened);
        compact(&dir, small_segments()).expect("first snapshot");
        let opened = open(&dir, small_segments(), clock.clone()).expect("open");
        post(&opened, 100, 10);
        let expected = state_hash(&opened);
        drop(opened);
        let newest = compact(&dir, small_segments()).expect("second snapshot").written.expect("written");
        // Damage the newest snapshot: start-up must report it and use the older one plus the WAL
        // after it, which compaction kept for exactly this case.
        let mut bytes = std::fs::read(&newest.path).expect("read");
        let middle = bytes.len() / 2;
        bytes[middle] ^= 1;
        std::fs::write(&newest.path, bytes).expect("write");
        let opened = open(&dir, small_segments(), clock.clone()).expect("falls back");
        assert_eq!(opened.skipped_snapshots.len(), 1, "{:?}", opened.skipped_snapshots);
        assert_eq!(opened.snapshot.as_ref().map(|s| s.op), Some(2));
        assert_eq!(state_hash(&opened), expected);
        drop(opened);
        // With every snapshot damaged, start-up refuses instead of replaying a partial log.
        for file in snapshots::list(&dir).expect("list") {
            std::fs::write(&file.path, b"not a snapshot").expect("damage");
        }
        assert!(matches!(
            open(&dir, small_segments(), clock),
            Err(DataDirError::Snapshot(SnapshotFileError::NoneLoadable { .. }))
        ));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn online_snapshots_are_taken_while_writing_and_retire_the_log() {
        let dir = scratch("online");
        let clock = ManualClock::new(1_000);
        let config = DataDirConfig { snapshot_every_ops: Some(5), ..small_segments() };
        let opened = open(&dir, config, clock.clone()).expect("open");
        open_two_accounts(&opened);
        let mut snapshot_seen = false;
        for batch in 0..200 {
            clock.advance(1);
            post(&opened, 1 + batch * 100, 100);
            if batch >= 20 && opened.writer.last_snapshot_op() > 0 {
                snapshot_seen = true;
                if batch >= 120 {
                    break;
                }
            }
            if batch % 10 == 0 {
                // Give the job thread a moment on a busy 2-core machine.
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        }
        assert!(snapshot_seen, "no online snapshot was taken");
        let expected = state_hash(&opened);
        let snapshot_op = opened.writer.last_snapshot_op();
        drop(opened);
        let files = snapshots::list(&dir).expect("list");
        assert!(!files.is_empty() && files.len() <= snapshots::SNAPSHOTS_KEPT, "{files:?}");
        let first_segment = crate::wal::segment::list_segments(&FileStorage::open(&dir).expect("wal"))
            .expect("segments")
            .first()
            .map(|s| s.first_op);
        assert!(first_segment > Some(1), "no WAL segment was retired");
        // Restart: from the newest snapshot, replaying only the records after it.
        let opened = open(&dir, config, clock).expect("reopen");
        assert!(opened.snapshot.as_ref().is_some_and(|s| s.op >= snapshot_op));
        assert_eq!(state_hash(&opened), expected);
        assert!(opened.recovery.records_replayed < 100, "replayed {}", opened.recovery.records_replayed);
        drop(opened);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[cfg(test)]
mod journal_tests {
    use super::*;
    use crate::journal_log::{JOURNAL_FILE, JournalIndex};
    use ledger_core::clock::ManualClock;
    use ledger_core::writer::{Command, EntryNotes, Reply};
    use ledger_core::{Account, AccountFlags, Transfer, TransferFlags};

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("ledger-data-dir-journal-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn config() -> DataDirConfig {
        DataDirConfig { snapshot_every_ops: None, ..DataDirConfig::default() }
    }

    /// Account 1 may not go below zero (credits must not exceed debits), account 2 is free.
    fn open_accounts(opened: &Opened) {
        let accounts = vec![
            Account {
                id: 1,
                ledger: 1,
                code: 1,
                flags: AccountFlags::CREDITS_MUST_NOT_EXCEED_DEBITS,
                ..Account::default()
            },
            Account { id: 2, ledger: 1, code: 1, ..Account::default() },
        ];
        let reply = opened.writer.call(Command::CreateAccounts(accounts)).expect("accounts");
        assert!(
            matches!(reply, Reply::CreateAccounts { ref results, .. } if results.is_empty()),
            "{reply:?}"
        );
    }

    fn chain(first_id: u128, amounts: &[u128], debit: u128, credit: u128) -> Vec<Transfer> {
        amounts
            .iter()
            .enumerate()
            .map(|(i, &amount)| Transfer {
                id: first_id + i as u128,
                debit_account_id: debit,
                credit_account_id: credit,
                amount,
                ledger: 1,
                code: 1,
                flags: if i + 1 < amounts.len() { TransferFlags::LINKED } else { TransferFlags::NONE },
                ..Transfer::default()
            })
            .collect()
    }

    /// Three chains in one batch: A (2 transfers), B (would take account 1 below zero: fails
    /// whole), C (1 transfer). Only A's and C's notes are kept.
    fn post_noted(opened: &Opened) -> u64 {
        let mut transfers = chain(10, &[5, 5], 1, 2);
        transfers.extend(chain(20, &[1, 100], 2, 1));
        transfers.extend(chain(30, &[7], 1, 2));
        let mut notes = EntryNotes::default();
        notes.push(0, 2, b"event A");
        notes.push(2, 2, b"event B");
        notes.push(4, 1, b"event C");
        let reply = opened.writer.call(Command::CreateTransfersNoted { transfers, notes }).expect("reply");
        let Reply::CreateTransfers { results, timestamp } = reply else { panic!("{reply:?}") };
        let failed: Vec<u32> = results.iter().map(|r| r.index).collect();
        assert_eq!(failed, [2, 3], "chain B fails as a whole");
        timestamp + 1 - 5
    }

    fn notes_seen(dir: &Path, end: u64, first_timestamp: u64) -> Vec<(u64, u32, Vec<u8>)> {
        let mut index = JournalIndex::open(dir).expect("index");
        index.catch_up(end).expect("catch up");
        (first_timestamp..first_timestamp + 5)
            .filter_map(|t| index.note_at(t).expect("read"))
            .map(|n| (n.timestamp - first_timestamp, n.count, n.payload))
            .collect()
    }

    fn journal_len(dir: &Path) -> u64 {
        std::fs::metadata(dir.join(JOURNAL_FILE)).expect("journal").len()
    }

    #[test]
    fn notes_of_created_chains_reach_the_journal_and_survive_its_loss() {
        let dir = scratch("notes");
        let clock = ManualClock::new(1_000);
        let opened = open(&dir, config(), clock.clone()).expect("open");
        open_accounts(&opened);
        let first = post_noted(&opened);
        drop(opened);
        let expected = vec![(0, 2, b"event A".to_vec()), (4, 1, b"event C".to_vec())];
        assert_eq!(notes_seen(&dir, journal_len(&dir), first), expected);

        // The journal is derived: lost entirely, it is rebuilt from the WAL at the next open.
        std::fs::remove_file(dir.join(JOURNAL_FILE)).expect("remove");
        let opened = open(&dir, config(), clock.clone()).expect("reopen");
        assert_eq!(opened.journal.moved_aside, None);
        drop(opened);
        assert_eq!(notes_seen(&dir, journal_len(&dir), first), expected);

        // Compaction syncs the journal before its snapshot; the journal then survives restarts
        // that replay nothing.
        compact(&dir, config()).expect("compact");
        let opened = open(&dir, config(), clock).expect("reopen after compaction");
        assert_eq!(opened.recovery.records_replayed, 0);
        assert_eq!(opened.journal.ops, Some((1, 2)));
        drop(opened);
        assert_eq!(notes_seen(&dir, journal_len(&dir), first), expected);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
