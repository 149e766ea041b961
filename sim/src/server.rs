//! The simulated server process: the single writer with group commit, on one thread.
//!
//! It does what `ledger-durability`'s `DurableWriter` does with two threads, in steps the
//! simulation chooses: `handle` applies a request's batch to the ledger at once and appends its
//! WAL record to the group being collected (the answer waits in the group); `commit` writes the
//! group with one write and one fsync (`WalWriter::write_group`) and only then releases its
//! answers. A failed write or sync stops the process (fsyncgate: never retried); a full disk
//! (`OutOfSpace`: a new segment cannot be preallocated, nothing written) keeps the group, refuses
//! new batches with `Unavailable` and retries the group at the next commit.
//!
//! `recover` is start-up: the newest complete snapshot that loads, then the WAL after it
//! (`wal::recover` with `replay::replay_record`, as `replay_log` does), then `WalWriter::resume`.

use crate::client::{Answer, Reply, Request};
use crate::process_disk::ProcessDisk;
use crate::snapshot_files::{self, LoadError, SnapshotWriteError};
use ledger_core::ledger::SnapshotPosition;
use ledger_core::reference_model::ReferenceResults;
use ledger_core::{BatchError, BatchResults, Ledger, LedgerConfig, OwnedEvents};
use ledger_durability::replay::{ReplayBuffers, ReplayError, encode_batch, replay_record};
use ledger_durability::wal::{LogPosition, RecoveryEnd, WalConfig, WalError, WalWriter, recover};
use std::rc::Rc;

/// One batch the writer applied and logged, as the oracle keeps it: enough to replay it.
#[derive(Clone, Debug)]
pub struct LoggedBatch {
    pub op: u64,
    pub clock_ns: u64,
    pub events: Rc<OwnedEvents>,
    /// The WAL record checksum the writer computed.
    pub checksum: u32,
    /// What `apply` answered.
    pub results: ReferenceResults,
}

#[derive(Debug, Default)]
struct Group {
    bytes: Vec<u8>,
    first_op: u64,
    last_op: u64,
    last_checksum: u32,
    records: usize,
    replies: Vec<Reply>,
}

/// What start-up found.
#[derive(Debug)]
pub struct Recovered {
    /// The snapshot started from.
    pub snapshot: Option<SnapshotPosition>,
    /// Newer complete snapshots that failed to load, and why.
    pub skipped_snapshots: Vec<(u64, String)>,
    pub end: RecoveryEnd,
    /// (op, record checksum) of every record replayed.
    pub replayed: Vec<(u64, u32)>,
}

/// Why start-up failed.
#[derive(Debug, thiserror::Error)]
pub enum RecoveryError {
    /// Damage in the WAL: fatal, never skipped.
    #[error("WAL corruption: {0}")]
    Wal(WalError),
    /// Complete snapshots exist and none loads.
    #[error("{0}")]
    Snapshots(LoadError),
    /// The log and the engine disagree: a record was accepted once and refused now.
    #[error("replay: {0}")]
    Replay(WalError),
    /// An I/O error (an armed fault hit start-up): try again.
    #[error("I/O during start-up: {0}")]
    Io(String),
}

/// The process stopped: a failed write or sync, a kill, or a dead disk.
#[derive(Debug)]
pub struct Stopped(pub String);

/// What became of a request.
#[derive(Debug)]
pub enum Handled {
    /// Applied and logged; the answer waits in the group.
    Logged(LoggedBatch),
    /// Refused before it was applied; the answer goes out now.
    Refused(Reply),
    /// The engine refused the whole batch (clients never send what it may refuse: a bug).
    EngineRefused(String),
}

/// What `commit` did.
#[derive(Debug)]
pub enum Commit {
    /// Nothing to write.
    Idle,
    /// The group is durable; its answers may go out.
    Durable { first_op: u64, last_op: u64, replies: Vec<Reply> },
    /// No room for a new segment; the group waits.
    DiskFull,
}

/// A snapshot that was written, and the WAL segments it let go.
#[derive(Debug)]
pub struct SnapshotTaken {
    pub op: u64,
    pub segments_retired: usize,
}

#[derive(Debug)]
pub struct Server {
    disk: ProcessDisk,
    ledger: Ledger,
    wal: WalWriter<ProcessDisk>,
    group: Group,
    next_op: u64,
    last_checksum: u32,
    disk_full: bool,
    results: BatchResults,
}

impl Server {
    /// Start-up from what `disk` holds.
    pub fn recover(
        disk: ProcessDisk,
        wal_config: WalConfig,
        config: LedgerConfig,
    ) -> Result<(Self, Recovered), RecoveryError> {
        let io = |e: std::io::Error| RecoveryError::Io(e.to_string());
        let names = ledger_durability::storage::Storage::list(&disk).map_err(io)?;
        let listing = snapshot_files::listing(&names);
        snapshot_files::clean_up(&disk, &listing).map_err(io)?;
        let (mut ledger, from, snapshot, skipped_snapshots) =
            match snapshot_files::load_newest(&disk, &listing.complete, config) {
                Ok(Some(loaded)) => {
                    let from = LogPosition { op: loaded.position.op, checksum: loaded.position.checksum };
                    (loaded.ledger, from, Some(loaded.position), loaded.skipped)
                }
                Ok(None) => (Ledger::new(config), LogPosition::GENESIS, None, Vec::new()),
                Err(LoadError::Io(e)) => return Err(io(e)),
                Err(e) => return Err(RecoveryError::Snapshots(e)),
            };
        let mut buffers = ReplayBuffers::default();
        let mut replayed = Vec::new();
        let end = recover(&disk, from, |header, body| -> Result<(), ReplayError> {
            replay_record(&mut ledger, header, body, &mut buffers)?;
            replayed.push((header.op, header.checksum));
            Ok(())
        })
        .map_err(|e| match e {
            WalError::Replay { .. } => RecoveryError::Replay(e),
            e if e.is_corruption() => RecoveryError::Wal(e),
            e => RecoveryError::Io(e.to_string()),
        })?;
        ledger.flush_transfer_store().map_err(io)?;
        let wal = WalWriter::resume(disk.clone(), wal_config, end.clone())
            .map_err(|e| RecoveryError::Io(e.to_string()))?;
        let server = Self {
            disk,
            ledger,
            next_op: end.next_op,
            last_checksum: end.last_checksum,
            wal,
            group: Group::default(),
            disk_full: false,
            results: BatchResults::default(),
        };
        Ok((server, Recovered { snapshot, skipped_snapshots, end, replayed }))
    }

    #[must_use]
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    #[must_use]
    pub fn disk(&self) -> &ProcessDisk {
        &self.disk
    }

    /// Records waiting in the group.
    #[must_use]
    pub fn group_records(&self) -> usize {
        self.group.records
    }

    #[must_use]
    pub fn is_disk_full(&self) -> bool {
        self.disk_full
    }

    /// Applies a request's batch and logs it into the group, or refuses it at once.
    pub fn handle(&mut self, request: &Request, now_ns: u64) -> Handled {
        let reply = |answer| Reply {
            client: request.client,
            batch: request.batch,
            connection: request.connection,
            events: Rc::clone(&request.events),
            answer,
        };
        if self.disk_full {
            return Handled::Refused(reply(Answer::Unavailable));
        }
        let logged = match self.apply(now_ns, &request.events) {
            Ok(logged) => logged,
            Err(e) => return Handled::EngineRefused(e.to_string()),
        };
        let answer = match &*request.events {
            OwnedEvents::CreateAccounts(_) => Answer::Accounts(logged.results.accounts.clone()),
            _ => Answer::Transfers(logged.results.transfers.clone()),
        };
        self.group.replies.push(reply(answer));
        Handled::Logged(logged)
    }

    /// Expiry changes state, so a due pulse is a batch like any other: applied, logged, durable.
    pub fn pulse_if_due(&mut self, now_ns: u64) -> Option<LoggedBatch> {
        if self.disk_full || self.ledger.next_expiry().is_none_or(|deadline| deadline > now_ns) {
            return None;
        }
        // A pulse has no events: `apply` cannot refuse it.
        self.apply(now_ns, &Rc::new(OwnedEvents::Pulse)).ok()
    }

    fn apply(&mut self, now_ns: u64, events: &Rc<OwnedEvents>) -> Result<LoggedBatch, BatchError> {
        self.ledger.apply(now_ns, events.events(), &mut self.results)?;
        let op = self.next_op;
        if self.group.records == 0 {
            self.group.first_op = op;
        }
        let checksum = encode_batch(
            &mut self.group.bytes,
            op,
            self.last_checksum,
            now_ns,
            events.events(),
            &self.results,
            None,
        );
        self.group.last_op = op;
        self.group.last_checksum = checksum;
        self.group.records += 1;
        self.next_op += 1;
        self.last_checksum = checksum;
        Ok(LoggedBatch {
            op,
            clock_ns: now_ns,
            events: Rc::clone(events),
            checksum,
            results: ReferenceResults::from(&self.results),
        })
    }

    /// Writes the group: one write and one fsync.
    pub fn commit(&mut self) -> Result<Commit, Stopped> {
        if self.group.records == 0 {
            return Ok(Commit::Idle);
        }
        let g = &self.group;
        match self.wal.write_group(&g.bytes, g.first_op, g.last_op, g.last_checksum) {
            Ok(()) => {
                self.disk_full = false;
                let group = std::mem::take(&mut self.group);
                Ok(Commit::Durable {
                    first_op: group.first_op,
                    last_op: group.last_op,
                    replies: group.replies,
                })
            }
            Err(WalError::OutOfSpace { .. }) => {
                self.disk_full = true;
                Ok(Commit::DiskFull)
            }
            Err(e) => Err(Stopped(format!("WAL write failed: {e}"))),
        }
    }

    /// Takes a snapshot of the durable state (only when everything applied is durable), then
    /// retires the WAL segments the oldest kept snapshot covers. `Ok(None)`: not now.
    pub fn snapshot(&mut self) -> Result<Option<SnapshotTaken>, Stopped> {
        if self.group.records > 0 || self.disk_full {
            return Ok(None);
        }
        let position = self.wal.last_position();
        if position.op == 0 {
            return Ok(None);
        }
        let position = SnapshotPosition { op: position.op, checksum: position.checksum };
        // Nothing was logged since a snapshot of this op (perhaps one a damaged file holds, which
        // stays as it is: the fallback and the reports depend on it).
        let names = ledger_durability::storage::Storage::list(&self.disk)
            .map_err(|e| Stopped(format!("listing the disk: {e}")))?;
        if names.contains(&snapshot_files::data_name(position.op)) {
            return Ok(None);
        }
        match snapshot_files::write(&self.disk, &self.ledger, position) {
            Ok(oldest_kept) => {
                let retired = self.wal.retire_segments_before(oldest_kept);
                match retired {
                    Ok(segments_retired) => Ok(Some(SnapshotTaken { op: position.op, segments_retired })),
                    // Retiring is best effort, unless the process or the disk died doing it.
                    Err(e) if self.disk.is_killed() || self.disk.disk().is_dead() => {
                        Err(Stopped(format!("retiring WAL segments: {e}")))
                    }
                    Err(_) => Ok(Some(SnapshotTaken { op: position.op, segments_retired: 0 })),
                }
            }
            Err(SnapshotWriteError::Full { .. }) => Ok(None),
            Err(e) => Err(Stopped(e.to_string())),
        }
    }
}
