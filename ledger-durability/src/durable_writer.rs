//! `DurableWriter`: the single writer with group commit.
//!
//! Two threads. The *writer* owns the `Ledger`: it applies each request's batch as it arrives,
//! appends the batch's WAL record to the current group, and keeps the reply. The *WAL thread*
//! owns the `WalWriter`: it writes a whole group with one write and one `fdatasync`, and only
//! then sends the group's replies. While one group is being synced, the writer goes on applying
//! and collects the next group, so the sync cost is shared by every batch that arrived during
//! it. Nothing is answered before its record is durable; a lookup is answered only after
//! everything applied before it is durable, so no client ever sees state a crash could undo.
//!
//! Failure: a failed write or sync stops both threads; every waiting and later request gets
//! `Reply::Fatal` / `WriterError::Stopped` (fsyncgate: never retry a failed sync). A full disk
//! (a new segment cannot be preallocated; nothing was written) is not fatal: the WAL thread
//! retries the same group every second, and meanwhile the writer refuses new writes with
//! `Reply::Unavailable`, so memory never runs ahead of the disk by more than one group.

use crate::journal_log::{self, JournalLog};
use crate::online_snapshot::{JobOutcome, SnapshotPolicy, start_job};
use crate::replay::{encode_batch, replay_log};
use crate::snapshots;
use crate::storage::Storage;
use crate::wal::record::{RECORD_HEADER_SIZE, RecordHeader};
use crate::wal::{GROUP_BYTES_MAX, LogPosition, RecoveryEnd, WalConfig, WalError, WalWriter};
use crossbeam_channel::{Receiver, Sender, bounded};
use ledger_core::clock::Clock;
use ledger_core::transfer_store::TransferStore;
use ledger_core::writer::{
    Command, EntryNotes, Reply, ReplyTo, Request, RequestQueue, WriterError, execute_read,
};
use ledger_core::{BATCH_EVENTS_MAX, BatchResults, Events, Ledger};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// Requests waiting for the writer (each up to one batch).
pub const QUEUE_DEPTH: usize = 1024;
/// The longest the writer sleeps without requests before it checks pending timeouts.
const IDLE_WAKE_MAX: Duration = Duration::from_secs(1);
/// How often the WAL thread retries a group while the disk is full.
const DISK_FULL_RETRY: Duration = Duration::from_secs(1);

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("recovery needs a fresh ledger (no accounts, no transfers, clock 0)")]
    LedgerNotFresh,
    #[error(transparent)]
    Wal(#[from] WalError),
    #[error("cannot start the writer threads: {0}")]
    Spawn(#[source] std::io::Error),
}

/// A group of records on its way to disk, with the replies to send once it is durable.
#[derive(Debug, Default)]
struct Group {
    bytes: Vec<u8>,
    first_op: u64,
    last_op: u64,
    last_checksum: u32,
    /// Transfer records in the store once the group is applied (what is durable after it).
    transfers_end: u64,
    /// Timestamp of the group's last batch.
    timestamp_end: u64,
    /// The group's `journal.log` records (one per WAL record), appended once it is durable.
    journal: Vec<u8>,
    replies: Vec<(ReplyTo, Reply)>,
}

/// What is durable after a group: its last op, the number of transfer records the store then
/// holds, and the ledger clock. Derived read models (the history index) follow these points.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DurablePoint {
    pub op: u64,
    pub transfers: u64,
    pub timestamp: u64,
    /// WAL records (batches) in the group; 0 for the start-up point.
    pub records: u64,
    /// Bytes written for the group.
    pub bytes: u64,
    /// How long the group's write and `fdatasync` took, in nanoseconds.
    pub sync_ns: u64,
    /// Bytes of `journal.log` written so far, the group's records included (0 without a
    /// journal): readers index the journal up to here (`JournalIndex::catch_up`).
    pub journal_end: u64,
}

/// Called on the WAL thread once at start (the recovered state) and after each durable group,
/// before that group's replies are sent: a client that got a reply and then reads a derived
/// model finds its writes announced there. It must be quick and must not block.
pub type DurableObserver = Box<dyn FnMut(DurablePoint) + Send>;

#[derive(Debug)]
enum WalStatus {
    /// The group is durable and its replies are sent; the emptied group comes back for reuse.
    Written(Group),
    /// The disk is full; the WAL thread keeps retrying the group.
    DiskFull(String),
    /// Fatal: the WAL thread has stopped.
    Failed(String),
}

/// Handle to a running durable writer. Dropping it drains queued work, makes it durable and
/// stops both threads.
#[derive(Debug)]
pub struct DurableWriter<TS: TransferStore + Send + 'static> {
    queue: RequestQueue,
    writer: Option<JoinHandle<Ledger<TS>>>,
    /// The op of the newest snapshot (the start position, then each online snapshot's).
    last_snapshot_op: Arc<AtomicU64>,
    groups_written: GroupCounter,
}

impl<TS: TransferStore + Send + 'static> DurableWriter<TS> {
    /// Recovers `ledger` (which must be fresh) from the WAL in `storage`, then starts the
    /// writer and WAL threads. Returns what recovery found (records replayed, a torn tail cut).
    pub fn open<St>(
        storage: St,
        wal_config: WalConfig,
        ledger: Ledger<TS>,
        clock: impl Clock,
    ) -> Result<(Self, RecoveryEnd), OpenError>
    where
        St: Storage + Send + 'static,
        St::File: Send,
    {
        if ledger.account_count() != 0 || ledger.transfer_count() != 0 || ledger.clock() != 0 {
            return Err(OpenError::LedgerNotFresh);
        }
        Self::open_from(storage, wal_config, ledger, LogPosition::GENESIS, None, None, None, clock)
    }

    /// Like `open`, for a ledger loaded from a snapshot that stands for log position `from`:
    /// replays the WAL records after it. With a `SnapshotPolicy`, the WAL thread takes online
    /// snapshots (`online_snapshot.rs`) and retire the log they cover. An `observer` hears of
    /// every durable point (`DurableObserver`). A `journal` (opened at `from.op`) gets the
    /// replayed records, then every durable group's (`journal_log.rs`).
    #[allow(clippy::too_many_arguments)]
    pub fn open_from<St>(
        storage: St,
        wal_config: WalConfig,
        mut ledger: Ledger<TS>,
        from: LogPosition,
        snapshots: Option<SnapshotPolicy>,
        mut observer: Option<DurableObserver>,
        mut journal: Option<JournalLog>,
        clock: impl Clock,
    ) -> Result<(Self, RecoveryEnd), OpenError>
    where
        St: Storage + Send + 'static,
        St::File: Send,
    {
        let end = replay_log(&storage, from, &mut ledger, journal.as_mut())?;
        if let Some(observer) = &mut observer {
            observer(DurablePoint {
                op: end.next_op.saturating_sub(1),
                transfers: ledger.transfer_count(),
                timestamp: ledger.clock(),
                journal_end: journal.as_ref().map_or(0, JournalLog::end),
                ..DurablePoint::default()
            });
        }
        let last_snapshot_op = Arc::new(AtomicU64::new(from.op));
        let groups_written: GroupCounter = Arc::new(AtomicU64::new(0));
        let wal_groups = Arc::clone(&groups_written);
        let snapshotting = snapshots.map(|policy| Snapshotting {
            policy,
            last_op: Arc::clone(&last_snapshot_op),
            job: None,
        });
        let wal = WalWriter::resume(storage, wal_config, end.clone())?;
        let (queue, requests) = RequestQueue::bounded(QUEUE_DEPTH);
        // One group in flight, one coming back: the writer never blocks on a full channel.
        let (groups_tx, groups_rx) = bounded::<Group>(1);
        let (status_tx, status_rx) = bounded::<WalStatus>(2);
        let wal_thread = std::thread::Builder::new()
            .name("ledger-wal".into())
            .spawn(move || run_wal(wal, &groups_rx, &status_tx, snapshotting, &wal_groups, observer, journal))
            .map_err(OpenError::Spawn)?;
        let state = WriterState {
            ledger,
            next_op: end.next_op,
            last_checksum: end.last_checksum,
            group: Group::default(),
            spare: Some(Group::default()),
            in_flight: false,
            disk_full: None,
            results: BatchResults::with_capacity(BATCH_EVENTS_MAX),
        };
        let writer = std::thread::Builder::new()
            .name("ledger-writer".into())
            .spawn(move || run_writer(state, clock, &requests, groups_tx, &status_rx, wal_thread))
            .map_err(OpenError::Spawn)?;
        Ok((Self { queue, writer: Some(writer), last_snapshot_op, groups_written }, end))
    }

    /// Queues a command, waiting while the queue is full; the reply arrives once durable.
    pub fn submit(&self, command: Command) -> Result<Receiver<Reply>, WriterError> {
        self.queue.submit(command)
    }

    /// Queues a command without waiting; `QueueFull` tells the caller to shed load.
    pub fn try_submit(&self, command: Command) -> Result<Receiver<Reply>, WriterError> {
        self.queue.try_submit(command)
    }

    /// Queues a command whose reply goes to `reply` (a callback runs on the WAL thread once
    /// the answer is durable), waiting while the queue is full.
    pub fn submit_to(&self, command: Command, reply: ReplyTo) -> Result<(), WriterError> {
        self.queue.submit_to(command, reply)
    }

    /// Groups made durable so far: each is one write and one `fdatasync`.
    #[must_use]
    pub fn groups_written(&self) -> u64 {
        self.groups_written.load(Ordering::Relaxed)
    }

    /// The WAL op the newest snapshot covers (0: none).
    #[must_use]
    pub fn last_snapshot_op(&self) -> u64 {
        self.last_snapshot_op.load(Ordering::Acquire)
    }

    /// Submits and waits for the durable reply.
    pub fn call(&self, command: Command) -> Result<Reply, WriterError> {
        self.queue.call(command)
    }

    /// Stops accepting requests, makes everything applied durable, and returns the state.
    /// `None` if the writer stopped on a fatal error.
    pub fn shutdown(mut self) -> Option<Ledger<TS>> {
        self.queue.close();
        self.writer.take().and_then(|t| t.join().ok())
    }
}

impl<TS: TransferStore + Send + 'static> Drop for DurableWriter<TS> {
    fn drop(&mut self) {
        self.queue.close();
        if let Some(writer) = self.writer.take() {
            // A panicked writer already reported itself; nothing more to do while dropping.
            let _ = writer.join();
        }
    }
}

/// The WAL thread's view of online snapshots: the policy, the op of the newest snapshot, and
/// the job in progress (at most one).
/// Groups written (one write and one fdatasync each), shared with the handle for metrics.
type GroupCounter = Arc<AtomicU64>;

struct Snapshotting {
    policy: SnapshotPolicy,
    last_op: Arc<AtomicU64>,
    job: Option<JoinHandle<JobOutcome>>,
}

impl Snapshotting {
    /// After a group is durable: collect a finished job (then retire what the oldest kept
    /// snapshot covers), and start a new one when the log has grown enough. The journal is
    /// synced first: a snapshot must never cover ops whose journal records could be lost.
    fn after_group<St: Storage>(
        &mut self,
        wal: &mut WalWriter<St>,
        durable: LogPosition,
        journal: Option<&JournalLog>,
    ) {
        if self.job.as_ref().is_some_and(JoinHandle::is_finished) {
            self.collect(wal);
        }
        let since = durable.op.saturating_sub(self.last_op.load(Ordering::Acquire));
        if self.job.is_none() && since >= self.policy.every_ops {
            if let Some(Err(e)) = journal.map(JournalLog::sync) {
                eprintln!("ledger: cannot sync the journal, snapshot postponed: {e}");
                return;
            }
            match start_job(&self.policy, durable) {
                Ok(job) => self.job = Some(job),
                Err(e) => eprintln!("ledger: cannot start a snapshot job: {e}"),
            }
        }
    }

    fn collect<St: Storage>(&mut self, wal: &mut WalWriter<St>) {
        let Some(job) = self.job.take() else { return };
        match job.join() {
            Ok(Ok(file)) => {
                self.last_op.store(file.op, Ordering::Release);
                // Retiring is best effort: a failure leaves more log than needed, never less.
                let oldest_kept =
                    snapshots::list(&self.policy.data_dir).ok().and_then(|l| l.last().map(|s| s.op));
                if let Some(op) = oldest_kept
                    && let Err(e) = wal.retire_segments_before(op)
                {
                    eprintln!("ledger: retiring WAL segments after snapshot {}: {e}", file.op);
                }
            }
            Ok(Err(reason)) => eprintln!("ledger: snapshot job failed (the log is untouched): {reason}"),
            Err(_) => eprintln!("ledger: snapshot job panicked (the log is untouched)"),
        }
    }
}

fn run_wal<St: Storage>(
    mut wal: WalWriter<St>,
    groups: &Receiver<Group>,
    status: &Sender<WalStatus>,
    mut snapshotting: Option<Snapshotting>,
    groups_written: &GroupCounter,
    mut observer: Option<DurableObserver>,
    mut journal: Option<JournalLog>,
) {
    for mut group in groups {
        loop {
            let started = std::time::Instant::now();
            match wal.write_group(&group.bytes, group.first_op, group.last_op, group.last_checksum) {
                Ok(()) => {
                    let sync_ns = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
                    groups_written.fetch_add(1, Ordering::Relaxed);
                    // The journal is derived from the WAL, but readers trust it to be complete:
                    // a failed append stops the ledger like a failed WAL write.
                    if let Some(journal) = &mut journal
                        && let Err(error) = journal.append(&group.journal, group.first_op, group.last_op)
                    {
                        let message = format!("journal write failed, the ledger has stopped: {error}");
                        for (reply, _) in group.replies.drain(..) {
                            reply.send(Reply::Fatal(message.clone()));
                        }
                        let _ = status.send(WalStatus::Failed(message));
                        return;
                    }
                    if let Some(observer) = &mut observer {
                        observer(DurablePoint {
                            op: group.last_op,
                            transfers: group.transfers_end,
                            timestamp: group.timestamp_end,
                            records: group.last_op + 1 - group.first_op,
                            bytes: group.bytes.len() as u64,
                            sync_ns,
                            journal_end: journal.as_ref().map_or(0, JournalLog::end),
                        });
                    }
                    for (reply, answer) in group.replies.drain(..) {
                        reply.send(answer);
                    }
                    if let Some(snapshotting) = &mut snapshotting {
                        let durable = LogPosition { op: group.last_op, checksum: group.last_checksum };
                        snapshotting.after_group(&mut wal, durable, journal.as_ref());
                    }
                    group.bytes.clear();
                    group.journal.clear();
                    if status.send(WalStatus::Written(group)).is_err() {
                        return;
                    }
                    break;
                }
                Err(WalError::OutOfSpace { segment, bytes, source }) => {
                    let message = format!(
                        "disk full: cannot preallocate {bytes} bytes for WAL segment {segment}: {source}"
                    );
                    if status.send(WalStatus::DiskFull(message)).is_err() {
                        return;
                    }
                    std::thread::sleep(DISK_FULL_RETRY);
                }
                Err(error) => {
                    let message = format!("WAL write failed, the ledger has stopped: {error}");
                    for (reply, _) in group.replies.drain(..) {
                        reply.send(Reply::Fatal(message.clone()));
                    }
                    let _ = status.send(WalStatus::Failed(message));
                    return;
                }
            }
        }
    }
    // Shutting down: let a running job finish its file (it never touches the log).
    if let Some(snapshotting) = &mut snapshotting {
        snapshotting.collect(&mut wal);
    }
}

struct WriterState<TS: TransferStore> {
    ledger: Ledger<TS>,
    /// Op and chain position of the next record.
    next_op: u64,
    last_checksum: u32,
    /// The group being collected.
    group: Group,
    /// An empty group ready to become the next `group` (buffers reused).
    spare: Option<Group>,
    /// A group is with the WAL thread.
    in_flight: bool,
    disk_full: Option<String>,
    results: BatchResults,
}

/// What the writer loop does next.
enum Step {
    Continue,
    Stop,
}

fn run_writer<TS: TransferStore>(
    mut state: WriterState<TS>,
    mut clock: impl Clock,
    requests: &Receiver<Request>,
    groups: Sender<Group>,
    status: &Receiver<WalStatus>,
    wal_thread: JoinHandle<()>,
) -> Ledger<TS> {
    let mut fatal: Option<String> = None;
    let mut accepting = true;
    while fatal.is_none() && (accepting || state.in_flight || !state.group.replies.is_empty()) {
        let wait = state.ledger.next_expiry().map_or(IDLE_WAKE_MAX, |deadline| {
            Duration::from_nanos(deadline.saturating_sub(clock.now_ns())).min(IDLE_WAKE_MAX)
        });
        crossbeam_channel::select! {
            recv(status) -> message => match message {
                Ok(WalStatus::Written(empty)) => {
                    state.in_flight = false;
                    state.disk_full = None;
                    state.spare = Some(empty);
                }
                Ok(WalStatus::DiskFull(message)) => state.disk_full = Some(message),
                Ok(WalStatus::Failed(message)) => fatal = Some(message),
                Err(_) => fatal = Some("the WAL thread stopped".to_owned()),
            },
            recv(if accepting { requests.clone() } else { crossbeam_channel::never() }) -> request => match request {
                Ok(request) => {
                    if let Step::Stop = handle(&mut state, &mut clock, request, &groups, status) {
                        fatal = Some("writing transfer records failed".to_owned());
                    }
                }
                Err(_) => accepting = false,
            },
            default(wait) => pulse_if_due(&mut state, &mut clock),
        }
        if fatal.is_none() {
            dispatch(&mut state, &groups);
        }
    }
    if let Some(message) = fatal {
        for (reply, _) in state.group.replies.drain(..) {
            reply.send(Reply::Fatal(message.clone()));
        }
        drop(groups);
        let _ = wal_thread.join();
        // Keep answering until every handle is gone: a request already queued would otherwise
        // wait forever (its reply sender lives in the channel as long as a handle does).
        for request in requests {
            request.reply.send(Reply::Fatal(message.clone()));
        }
        return state.ledger;
    }
    drop(groups);
    let _ = wal_thread.join();
    state.ledger
}

fn handle<TS: TransferStore>(
    state: &mut WriterState<TS>,
    clock: &mut impl Clock,
    request: Request,
    groups: &Sender<Group>,
    status: &Receiver<WalStatus>,
) -> Step {
    let Request { command, reply } = request;
    let (events, notes) = match &command {
        Command::CreateAccounts(accounts) => (Events::CreateAccounts(accounts), None),
        Command::CreateTransfers(transfers) => (Events::CreateTransfers(transfers), None),
        Command::CreateTransfersNoted { transfers, notes } => {
            (Events::CreateTransfers(transfers), Some(notes))
        }
        read => {
            // Answered with the group: nobody sees state a crash could still undo.
            if let Some(answer) = execute_read(&state.ledger, read) {
                state.group.replies.push((reply, answer));
            }
            return Step::Continue;
        }
    };
    if let Some(message) = &state.disk_full {
        reply.send(Reply::Unavailable(message.clone()));
        return Step::Continue;
    }
    // A group is bounded (recovery's torn-tail window depends on it): when this record might
    // not fit, wait for the group in flight and send this one first.
    if state.group.bytes.len() as u64 + record_len_bound(events, notes) > GROUP_BYTES_MAX {
        while state.in_flight {
            match status.recv() {
                Ok(WalStatus::Written(empty)) => {
                    state.in_flight = false;
                    state.spare = Some(empty);
                }
                Ok(WalStatus::DiskFull(message)) => {
                    reply.send(Reply::Unavailable(message.clone()));
                    state.disk_full = Some(message);
                    return Step::Continue;
                }
                Ok(WalStatus::Failed(_)) | Err(_) => {
                    reply.send(Reply::Fatal("the WAL thread stopped".to_owned()));
                    return Step::Stop;
                }
            }
        }
        dispatch(state, groups);
    }
    let now = clock.now_ns();
    if let Err(error) = state.ledger.apply(now, events, &mut state.results) {
        reply.send(Reply::Rejected(error));
        return Step::Continue;
    }
    append_record(state, now, events, notes);
    let answer = match command {
        Command::CreateAccounts(_) => Reply::CreateAccounts {
            results: state.results.accounts.clone(),
            timestamp: state.results.timestamp,
        },
        _ => Reply::CreateTransfers {
            results: state.results.transfers.clone(),
            timestamp: state.results.timestamp,
        },
    };
    state.group.replies.push((reply, answer));
    match state.ledger.flush_transfer_store() {
        Ok(()) => Step::Continue,
        Err(_) => Step::Stop,
    }
}

/// The most bytes the record of this batch can take (its notes may shrink when runs fail).
fn record_len_bound(events: Events<'_>, notes: Option<&EntryNotes>) -> u64 {
    let notes_len = notes.map_or(0, |n| (n.bytes.len() + n.runs.len() * crate::notes::NOTE_HEAD_SIZE) as u64);
    RECORD_HEADER_SIZE as u64 + events.len() as u64 * 128 + notes_len.div_ceil(64) * 64
}

fn append_record<TS: TransferStore>(
    state: &mut WriterState<TS>,
    now: u64,
    events: Events<'_>,
    notes: Option<&EntryNotes>,
) {
    let op = state.next_op;
    if state.group.bytes.is_empty() {
        state.group.first_op = op;
    }
    let start = state.group.bytes.len();
    let checksum =
        encode_batch(&mut state.group.bytes, op, state.last_checksum, now, events, &state.results, notes);
    let record = &state.group.bytes[start..];
    if let Some(header) =
        record.first_chunk::<RECORD_HEADER_SIZE>().and_then(|h| RecordHeader::decode(h).ok())
    {
        journal_log::encode_record(
            &mut state.group.journal,
            &header,
            header.notes(&record[RECORD_HEADER_SIZE..]),
        );
    } else {
        debug_assert!(false, "a record just encoded decodes");
    }
    state.group.last_op = op;
    state.group.last_checksum = checksum;
    state.group.transfers_end = state.ledger.transfer_count();
    state.group.timestamp_end = state.ledger.clock();
    state.last_checksum = checksum;
    state.next_op = op + 1;
}

/// Expiry changes state, so a pulse is a batch like any other: applied, logged, made durable.
fn pulse_if_due<TS: TransferStore>(state: &mut WriterState<TS>, clock: &mut impl Clock) {
    if state.disk_full.is_some() {
        return;
    }
    let now = clock.now_ns();
    if state.ledger.next_expiry().is_none_or(|deadline| deadline > now) {
        return;
    }
    if state.group.bytes.len() as u64 + record_len_bound(Events::Pulse, None) > GROUP_BYTES_MAX {
        return; // The next loop turn dispatches the group; the pulse comes after it.
    }
    // A pulse has no events, so apply cannot refuse it.
    if state.ledger.apply(now, Events::Pulse, &mut state.results).is_ok() {
        append_record(state, now, Events::Pulse, None);
    }
}

/// Hands the collected group to the WAL thread if it is idle. A group with replies but no
/// records (lookups) is answered at once: with nothing in flight, all it saw is durable.
fn dispatch<TS: TransferStore>(state: &mut WriterState<TS>, groups: &Sender<Group>) {
    if state.in_flight {
        return;
    }
    if state.group.bytes.is_empty() {
        for (reply, answer) in state.group.replies.drain(..) {
            reply.send(answer);
        }
        return;
    }
    let next = state.spare.take().unwrap_or_default();
    let group = std::mem::replace(&mut state.group, next);
    // Capacity 1 and nothing in flight: the send cannot block. A closed channel means the WAL
    // thread died; its status message tells the loop.
    if groups.send(group).is_ok() {
        state.in_flight = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::FaultyStorage;
    use ledger_core::clock::ManualClock;
    use ledger_core::{Account, CreateTransferResult, Transfer, TransferFlags};

    fn account(id: u128) -> Account {
        Account { id, ledger: 1, code: 1, ..Account::default() }
    }

    fn transfer(id: u128, amount: u128) -> Transfer {
        Transfer {
            id,
            debit_account_id: 1,
            credit_account_id: 2,
            amount,
            ledger: 1,
            code: 1,
            ..Transfer::default()
        }
    }

    fn open(
        storage: &FaultyStorage,
        clock: &ManualClock,
    ) -> (DurableWriter<ledger_core::transfer_store::MemoryTransferStore>, RecoveryEnd) {
        DurableWriter::open(storage.clone(), WalConfig::default(), Ledger::default(), clock.clone())
            .expect("open")
    }

    #[test]
    fn acknowledged_batches_survive_a_restart() {
        let storage = FaultyStorage::new();
        let clock = ManualClock::new(1_000);
        let (writer, end) = open(&storage, &clock);
        assert_eq!(end.records_replayed, 0);
        assert!(
            matches!(writer.call(Command::CreateAccounts(vec![account(1), account(2)])), Ok(Reply::CreateAccounts { ref results, .. }) if results.is_empty())
        );
        for id in 10..20 {
            clock.advance(1);
            let reply = writer.call(Command::CreateTransfers(vec![transfer(id, 5)])).expect("reply");
            assert!(
                matches!(reply, Reply::CreateTransfers { ref results, .. } if results.is_empty()),
                "{reply:?}"
            );
        }
        let Ok(Reply::StateHash(before)) = writer.call(Command::StateHash) else { panic!("state hash") };
        let ledger = writer.shutdown().expect("clean stop");
        assert_eq!(ledger.state_hash(), before);

        let (writer, end) = open(&storage.crash(), &clock);
        assert_eq!(end.records_replayed, 11);
        let Ok(Reply::StateHash(after)) = writer.call(Command::StateHash) else { panic!("state hash") };
        assert_eq!(after, before);
        // Idempotency holds across the restart.
        let reply = writer.call(Command::CreateTransfers(vec![transfer(10, 5)])).expect("reply");
        assert!(
            matches!(reply, Reply::CreateTransfers { ref results, .. } if results[0].result == CreateTransferResult::Exists)
        );
    }

    #[test]
    fn an_idle_writer_expires_pending_transfers_durably() {
        let storage = FaultyStorage::new();
        let clock = ManualClock::new(1_000_000_000);
        let (writer, _) = open(&storage, &clock);
        writer.call(Command::CreateAccounts(vec![account(1), account(2)])).expect("accounts");
        let pending = Transfer { flags: TransferFlags::PENDING, timeout: 1, ..transfer(7, 9) };
        writer.call(Command::CreateTransfers(vec![pending])).expect("pending");
        clock.advance(2_000_000_000);
        let mut expired = false;
        for _ in 0..500 {
            let Ok(Reply::Transfers(_)) = writer.call(Command::LookupTransfers(vec![7])) else {
                panic!("lookup")
            };
            let Ok(Reply::Accounts(accounts)) = writer.call(Command::LookupAccounts(vec![1])) else {
                panic!("lookup")
            };
            if accounts[0].debits_pending == 0 {
                expired = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(expired, "the writer pulsed when the deadline passed");
        drop(writer);
        let (writer, end) = open(&storage.crash(), &clock);
        assert_eq!(end.records_replayed, 3, "accounts, pending and the pulse");
        let Ok(Reply::Accounts(accounts)) = writer.call(Command::LookupAccounts(vec![1])) else {
            panic!("lookup")
        };
        assert_eq!(accounts[0].debits_pending, 0);
    }

    #[test]
    fn a_failed_sync_stops_the_writer_and_is_never_acknowledged() {
        let storage = FaultyStorage::new();
        let clock = ManualClock::new(1);
        let (writer, _) = open(&storage, &clock);
        writer.call(Command::CreateAccounts(vec![account(1), account(2)])).expect("accounts");
        storage.fail_sync_at(2);
        let mut replies = Vec::new();
        for id in 1..=5 {
            replies.push(writer.call(Command::CreateTransfers(vec![transfer(id, 1)])));
        }
        let failed_at = replies.iter().position(|r| !matches!(r, Ok(Reply::CreateTransfers { .. })));
        let failed_at = failed_at.expect("a write failed");
        assert!(matches!(replies[failed_at], Ok(Reply::Fatal(_))), "{:?}", replies[failed_at]);
        assert!(
            replies[failed_at + 1..]
                .iter()
                .all(|r| matches!(r, Err(WriterError::Stopped) | Ok(Reply::Fatal(_)))),
            "{replies:?}"
        );
        drop(writer);
        // Every acknowledged transfer is recovered.
        let (writer, _) = open(&storage.crash(), &clock);
        let ids: Vec<u128> = (1..=u128::try_from(failed_at).unwrap_or(0)).collect();
        let Ok(Reply::Transfers(found)) = writer.call(Command::LookupTransfers(ids.clone())) else {
            panic!()
        };
        assert_eq!(found.len(), ids.len());
    }

    #[test]
    fn lookups_wait_for_durability_but_never_block_on_an_idle_log() {
        let storage = FaultyStorage::new();
        let clock = ManualClock::new(1);
        let (writer, _) = open(&storage, &clock);
        let Ok(Reply::Accounts(none)) = writer.call(Command::LookupAccounts(vec![1])) else { panic!() };
        assert!(none.is_empty());
        writer.call(Command::CreateAccounts(vec![account(1)])).expect("account");
        let Ok(Reply::Accounts(one)) = writer.call(Command::LookupAccounts(vec![1])) else { panic!() };
        assert_eq!(one.len(), 1);
    }

    #[test]
    fn a_full_disk_refuses_writes_without_losing_any_and_recovers_when_space_returns() {
        let storage = FaultyStorage::new();
        let clock = ManualClock::new(1);
        // Small segments, so that the log must soon preallocate a new one.
        let config = WalConfig { segment_size: 64 * 1024 };
        let (writer, _) =
            DurableWriter::open(storage.clone(), config, Ledger::default(), clock.clone()).expect("open");
        writer.call(Command::CreateAccounts(vec![account(1), account(2)])).expect("accounts");
        // Room for the current segment only: the next preallocation fails with ENOSPC. The
        // batch whose group hits it waits (its group is retried); later writes are refused.
        storage.set_space_budget(Some(64 * 1024));
        let mut waiting = Vec::new();
        let mut acknowledged = Vec::new();
        let mut refused = 0;
        for id in 1..=400_u128 {
            let batch: Vec<Transfer> = (0..40).map(|i| transfer(id * 1000 + i, 1)).collect();
            waiting.push((id, writer.submit(Command::CreateTransfers(batch)).expect("submit")));
            std::thread::sleep(Duration::from_millis(2));
            waiting.retain(|(id, receiver)| match receiver.try_recv() {
                Ok(Reply::CreateTransfers { results, .. }) if results.is_empty() => {
                    acknowledged.push(*id);
                    false
                }
                Ok(Reply::Unavailable(message)) => {
                    assert!(message.contains("disk full"), "{message}");
                    refused += 1;
                    false
                }
                Ok(other) => panic!("unexpected reply {other:?}"),
                Err(_) => true,
            });
            if refused >= 3 {
                break;
            }
        }
        assert!(refused > 0, "the disk never filled");
        // Space returns: the stuck group completes within the retry interval, writes resume.
        storage.set_space_budget(None);
        for (id, receiver) in waiting {
            match receiver.recv().expect("reply") {
                Reply::CreateTransfers { results, .. } if results.is_empty() => acknowledged.push(id),
                Reply::Unavailable(_) => {}
                other => panic!("unexpected reply {other:?}"),
            }
        }
        let resumed = (0..500).any(|attempt| {
            let batch = vec![transfer(9_000_000 + attempt, 1)];
            let reply = writer.call(Command::CreateTransfers(batch)).expect("reply");
            let ok = matches!(reply, Reply::CreateTransfers { ref results, .. } if results.is_empty());
            if !ok {
                std::thread::sleep(Duration::from_millis(10));
            }
            ok
        });
        assert!(resumed, "writes did not resume after space returned");
        let Ok(Reply::StateHash(before)) = writer.call(Command::StateHash) else { panic!("hash") };
        drop(writer);
        // Nothing acknowledged is lost, and the state survives a crash.
        let (writer, _) =
            DurableWriter::open(storage.crash(), config, Ledger::default(), clock).expect("reopen");
        let Ok(Reply::StateHash(after)) = writer.call(Command::StateHash) else { panic!("hash") };
        assert_eq!(after, before);
        let ids: Vec<u128> = acknowledged.iter().map(|id| id * 1000).collect();
        let Ok(Reply::Transfers(found)) = writer.call(Command::LookupTransfers(ids.clone())) else {
            panic!()
        };
        assert_eq!(found.len(), ids.len());
    }
}
