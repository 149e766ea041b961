//! `LedgerService`: what the network edges (binary protocol, HTTP) call, and `RunningLedger`,
//! which opens a data directory and runs the threads behind it.
//!
//! ```text
//! connections ──► LedgerService ──► intake thread ──► durable writer (writer + WAL threads)
//!   (tokio)        enqueue, in       merges small        apply, group commit, reply after
//!                  arrival order     create requests     fdatasync (callbacks on the WAL thread)
//!                                                              │ durable point (observer)
//!                                                              ▼
//!                                           history index thread ──► get_account_transfers,
//!                                                                    query_transfers
//! ```
//!
//! Ordering: every request is put on the intake queue synchronously, in the order the caller
//! makes the calls (a connection's frames in arrival order), and the intake keeps that order.
//! So a connection's later requests see its earlier writes: reads by the writer (lookups,
//! balances, `query_accounts`) are answered after everything queued before them is durable,
//! and history reads pass through the writer as a barrier first (`Command::LookupAccounts` of
//! nothing), whose answer comes after the preceding writes are durable *and announced to the
//! index*; the index answers queries in order with its feed.
//!
//! Merging: the intake drains what is already queued and merges consecutive create requests
//! of one kind into one engine batch (up to `BATCH_EVENTS_MAX` events), then splits the
//! results back by index. It never waits to fill a batch, so merging adds no latency, and it
//! never merges after a request whose last event is `linked` (its open chain must fail on its
//! own, as it would alone).

use crossbeam_channel::{Receiver, Sender, unbounded};
use ledger_core::clock::SystemClock;
use ledger_core::query::{AccountBalance, AccountFilter, QueryFilter};
use ledger_core::result::{CreateAccountResult, CreateTransferResult, EventResult};
use ledger_core::writer::{Command, Reply, ReplyTo};
use ledger_core::{Account, AccountFlags, BATCH_EVENTS_MAX, LedgerConfig, Transfer, TransferFlags};
use ledger_durability::data_dir::{self, DataDirConfig, DataDirLock, TRANSFER_RECORDS_FILE};
use ledger_durability::durable_writer::{DurablePoint, DurableWriter};
use ledger_durability::storage::IoBackend;
use ledger_durability::wal::RecoveryEnd;
use ledger_events::posting::{self, EntrySide};
use ledger_events::{Chart, EventOutcome, WireEvent};
use ledger_history::{HistoryIndex, IndexPosition};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};

use ledger_core::transfer_store::FileTransferStore;

/// Events admitted but not yet answered, across all connections, by default: 32 full batches
/// (32 MiB of records). Beyond it, readers wait (TCP back-pressure), so memory stays bounded.
pub const IN_FLIGHT_EVENTS_DEFAULT: u32 = 32 * BATCH_EVENTS_MAX_U32;

/// `BATCH_EVENTS_MAX` as the semaphore's unit type.
const BATCH_EVENTS_MAX_U32: u32 = 8189;
const _: () = assert!(BATCH_EVENTS_MAX_U32 as usize == BATCH_EVENTS_MAX);

/// How a `RunningLedger` is opened.
#[derive(Clone, Debug)]
pub struct ServiceConfig {
    pub data_dir: PathBuf,
    pub ledger: LedgerConfig,
    /// Online snapshot interval in WAL records (`None`: only offline `ledger snapshot`).
    pub snapshot_every_ops: Option<u64>,
    /// The admission budget (`admit`), in events.
    pub in_flight_events: u32,
    /// The chart of accounts and entry templates for `post_events` (`None`: the shipped
    /// default, `ledger-events/default.toml`).
    pub chart: Option<PathBuf>,
}

impl ServiceConfig {
    /// Defaults, with the data directory `dir`.
    #[must_use]
    pub fn in_dir(dir: &Path) -> Self {
        Self {
            data_dir: dir.to_path_buf(),
            ledger: LedgerConfig::default(),
            snapshot_every_ops: DataDirConfig::default().snapshot_every_ops,
            in_flight_events: IN_FLIGHT_EVENTS_DEFAULT,
            chart: None,
        }
    }
}

#[derive(Clone, Debug, thiserror::Error)]
pub enum ServiceError {
    /// Refused for now with nothing changed (e.g. the disk is full); retrying later is safe.
    #[error("unavailable: {0}")]
    Unavailable(String),
    #[error("overloaded: too many requests in flight")]
    Overloaded,
    #[error("the server is shutting down")]
    ShuttingDown,
    /// The ledger stopped on an unrecoverable error; nothing more will be written.
    #[error("the ledger has stopped: {0}")]
    Failed(String),
    /// The engine refused the whole batch (nothing changed).
    #[error("batch rejected: {0}")]
    Rejected(String),
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("data directory {dir}: {source}")]
    Io { dir: String, source: std::io::Error },
    #[error(transparent)]
    DataDir(#[from] data_dir::DataDirError),
    #[error("history index: {0}")]
    History(#[from] ledger_history::HistoryError),
    #[error("cannot start the intake thread: {0}")]
    Spawn(std::io::Error),
    #[error("chart of accounts: {0}")]
    Chart(Box<ledger_events::ConfigError>),
}

/// An answer from the history index, and the position it is current to.
#[derive(Clone, Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub current_to: IndexPosition,
}

type CreateAccountsAnswer = Result<Vec<EventResult<CreateAccountResult>>, ServiceError>;
type CreateTransfersAnswer = Result<Vec<EventResult<CreateTransferResult>>, ServiceError>;

/// Work for the intake thread.
enum Job {
    CreateAccounts {
        events: Vec<Account>,
        done: oneshot::Sender<CreateAccountsAnswer>,
    },
    CreateTransfers {
        events: Vec<Transfer>,
        done: oneshot::Sender<CreateTransfersAnswer>,
    },
    /// Any other command, passed through unmerged (boxed: filters make it large).
    Other {
        command: Box<Command>,
        reply: ReplyTo,
    },
    /// Stop taking jobs, drain the writer and make everything durable.
    Shutdown,
}

/// Counters shared by the service handles, the observer and the intake.
#[derive(Debug, Default)]
struct Shared {
    durable_op: AtomicU64,
    closing: AtomicBool,
}

/// The handle the edges use. Cheap to clone; every clone talks to the same threads.
#[derive(Clone, Debug)]
pub struct LedgerService {
    jobs: Sender<Job>,
    chart: Arc<Chart>,
    known_accounts: Arc<KnownAccounts>,
    shared: Arc<Shared>,
    index: HistoryIndex,
    admission: Arc<Semaphore>,
    in_flight_events: u32,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::CreateAccounts { events, .. } => write!(f, "CreateAccounts({})", events.len()),
            Self::CreateTransfers { events, .. } => write!(f, "CreateTransfers({})", events.len()),
            Self::Other { command, .. } => write!(f, "Other({command:?})"),
            Self::Shutdown => f.write_str("Shutdown"),
        }
    }
}

impl LedgerService {
    /// Waits until `events` more events may be in flight (at least 1, at most the budget), so
    /// a flood of requests queues in the clients' sockets instead of in memory. Hold the
    /// permit until the answer is sent.
    pub async fn admit(&self, events: usize) -> Result<OwnedSemaphorePermit, ServiceError> {
        let wanted = u32::try_from(events.max(1)).unwrap_or(u32::MAX).min(self.in_flight_events);
        Arc::clone(&self.admission).acquire_many_owned(wanted).await.map_err(|_| ServiceError::ShuttingDown)
    }

    /// Creates accounts. The request is queued now (so calls keep their order); the future
    /// resolves once the batch is durable. Only failed events are listed.
    pub fn create_accounts(
        &self,
        events: Vec<Account>,
    ) -> impl Future<Output = CreateAccountsAnswer> + use<> {
        let (done, answer) = oneshot::channel();
        let queued = if events.is_empty() {
            let _ = done.send(Ok(Vec::new()));
            Ok(())
        } else {
            self.enqueue(Job::CreateAccounts { events, done })
        };
        let shared = Arc::clone(&self.shared);
        async move {
            queued?;
            answer.await.map_err(|_| stopped(&shared))?
        }
    }

    /// Creates transfers; see `create_accounts`.
    pub fn create_transfers(
        &self,
        events: Vec<Transfer>,
    ) -> impl Future<Output = CreateTransfersAnswer> + use<> {
        let (done, answer) = oneshot::channel();
        let queued = if events.is_empty() {
            let _ = done.send(Ok(Vec::new()));
            Ok(())
        } else {
            self.enqueue(Job::CreateTransfers { events, done })
        };
        let shared = Arc::clone(&self.shared);
        async move {
            queued?;
            answer.await.map_err(|_| stopped(&shared))?
        }
    }

    /// Posts standard ledger events (`ledger-events`, `docs/events.md`): each is planned
    /// through its template into one linked chain, idempotent by event id (`posting.rs`). The
    /// accounts and the entries' chains are queued now (keeping the caller's order); a
    /// reversal first looks up the entry it reverses (queued now, so an original earlier in
    /// the same request is found), then posts its mirror, so a reversal is applied after
    /// requests queued behind it. One outcome per event, in order.
    pub fn post_events(
        &self,
        raw: Vec<Vec<u8>>,
    ) -> impl Future<Output = Result<Vec<EventOutcome>, ServiceError>> + use<> {
        let mut outcomes = vec![EventOutcome::Ok; raw.len()];
        let mut accounts = Vec::new();
        let mut opened = std::collections::HashSet::new();
        let mut chains = Vec::new();
        let mut reversals = Vec::new();
        for (i, bytes) in raw.iter().enumerate() {
            let parsed = std::str::from_utf8(bytes)
                .map_err(|_| EventOutcome::invalid("invalid_json"))
                .and_then(|text| WireEvent::from_json(text).map_err(|e| EventOutcome::invalid(e.code())));
            let event = match parsed {
                Ok(event) => event,
                Err(outcome) => {
                    outcomes[i] = outcome;
                    continue;
                }
            };
            let hash = posting::body_hash(&event);
            match event {
                WireEvent::Entry(entry) => match self.chart.plan(&entry) {
                    Ok(plan) => {
                        for account in plan.accounts_to_open() {
                            if opened.insert(account.id) {
                                accounts.push(account);
                            }
                        }
                        chains.push((i, posting::entry_chain(&plan, hash)));
                    }
                    Err(error) => outcomes[i] = EventOutcome::invalid(error.code()),
                },
                WireEvent::Reversal(reversal) => reversals.push((i, reversal, hash)),
            }
        }
        // Accounts known to exist are not opened again (accounts are never deleted); the rest
        // are created before the chains, and an account that could not be opened makes its
        // chain fail with `*_account_not_found`.
        let accounts = self.known_accounts.unknown(accounts);
        let opening: Vec<_> = accounts
            .chunks(BATCH_EVENTS_MAX)
            .map(|c| {
                let ids: Vec<u128> = c.iter().map(|a| a.id).collect();
                (ids, self.create_accounts(c.to_vec()))
            })
            .collect();
        let entries = self.post_chains(chains);
        let postings_max = self.chart.templates().map(|t| t.postings.len()).max().unwrap_or(0);
        let lookup_ids: Vec<u128> = reversals
            .iter()
            .flat_map(|(_, reversal, _)| posting::entry_transfer_ids(&reversal.reverses, postings_max))
            .collect();
        let lookups: Vec<_> =
            lookup_ids.chunks(BATCH_EVENTS_MAX).map(|ids| self.lookup_transfers(ids.to_vec())).collect();
        let service = self.clone();
        async move {
            for (ids, answer) in opening {
                let failed = answer.await?;
                service.known_accounts.learn(&ids, &failed);
            }
            for (i, outcome) in entries.await? {
                outcomes[i] = outcome;
            }
            if reversals.is_empty() {
                return Ok(outcomes);
            }
            let mut found = std::collections::HashMap::new();
            for answer in lookups {
                found.extend(answer.await?.into_iter().map(|t| (t.id, t)));
            }
            let mut chains = Vec::new();
            for (i, reversal, hash) in reversals {
                let original: Vec<Transfer> = posting::entry_transfer_ids(&reversal.reverses, postings_max)
                    .iter()
                    .map_while(|id| found.get(id).copied())
                    .collect();
                if original.is_empty() {
                    outcomes[i] = EventOutcome::OriginalNotFound;
                    continue;
                }
                match posting::reversal_chain(&original, &reversal, hash) {
                    Ok(chain) => chains.push((i, chain)),
                    Err(error) => outcomes[i] = EventOutcome::invalid(error.code()),
                }
            }
            let mut reversed = service.post_chains(chains).await?;
            for (i, outcome) in reversed.drain(..) {
                // `post_chains` reads entry outcomes; a reversal's "different body" means the
                // entry was reversed by another reversal event.
                outcomes[i] = match outcome {
                    EventOutcome::ExistsWithDifferentBody => EventOutcome::AlreadyReversed,
                    other => other,
                };
            }
            Ok(outcomes)
        }
    }

    /// Queues chains (each one event's linked chain) in batches of whole chains, and resolves
    /// to each chain's outcome.
    fn post_chains(
        &self,
        chains: Vec<(usize, Vec<Transfer>)>,
    ) -> impl Future<Output = Result<Vec<(usize, EventOutcome)>, ServiceError>> + use<> {
        let mut batches: Vec<ChainBatch> = Vec::new();
        for (event, chain) in chains {
            let fits = batches.last().is_some_and(|(_, t)| t.len() + chain.len() <= BATCH_EVENTS_MAX);
            if !fits {
                batches.push((Vec::new(), Vec::new()));
            }
            if let Some((ranges, transfers)) = batches.last_mut() {
                let start = u32::try_from(transfers.len()).unwrap_or(u32::MAX);
                transfers.extend(chain);
                let end = u32::try_from(transfers.len()).unwrap_or(u32::MAX);
                ranges.push((event, start, end));
            }
        }
        let answers: Vec<_> = batches
            .into_iter()
            .map(|(ranges, transfers)| (ranges, self.create_transfers(transfers)))
            .collect();
        async move {
            let mut outcomes = Vec::new();
            for (ranges, answer) in answers {
                // One pass: chains sit back to back and results come in index order.
                let mut results = answer.await?.into_iter().peekable();
                for (event, start, end) in ranges {
                    let mine = take_rebased(&mut results, start, end);
                    outcomes.push((event, posting::chain_outcome(EntrySide::Original, &mine)));
                }
            }
            Ok(outcomes)
        }
    }

    /// The accounts with these ids, in request order; ids not found are left out.
    pub fn lookup_accounts(
        &self,
        ids: Vec<u128>,
    ) -> impl Future<Output = Result<Vec<Account>, ServiceError>> + use<> {
        self.writer_read(Command::LookupAccounts(ids), |reply| match reply {
            Reply::Accounts(found) => Ok(found),
            other => Err(other),
        })
    }

    /// The transfers with these ids, in request order; ids not found are left out.
    pub fn lookup_transfers(
        &self,
        ids: Vec<u128>,
    ) -> impl Future<Output = Result<Vec<Transfer>, ServiceError>> + use<> {
        self.writer_read(Command::LookupTransfers(ids), |reply| match reply {
            Reply::Transfers(found) => Ok(found),
            other => Err(other),
        })
    }

    /// The balance history of an account with the `history` flag.
    pub fn get_account_balances(
        &self,
        filter: AccountFilter,
    ) -> impl Future<Output = Result<Vec<AccountBalance>, ServiceError>> + use<> {
        self.writer_read(Command::GetAccountBalances(filter), |reply| match reply {
            Reply::Balances(found) => Ok(found),
            other => Err(other),
        })
    }

    pub fn query_accounts(
        &self,
        filter: QueryFilter,
    ) -> impl Future<Output = Result<Vec<Account>, ServiceError>> + use<> {
        self.writer_read(Command::QueryAccounts(filter), |reply| match reply {
            Reply::Accounts(found) => Ok(found),
            other => Err(other),
        })
    }

    /// The transfers of one account, from the history index.
    pub fn get_account_transfers(
        &self,
        filter: AccountFilter,
    ) -> impl Future<Output = Result<Page<Transfer>, ServiceError>> + use<> {
        self.history_read(move |index, reply| index.get_account_transfers(filter, reply))
    }

    /// Transfers by their secondary fields, from the history index.
    pub fn query_transfers(
        &self,
        filter: QueryFilter,
    ) -> impl Future<Output = Result<Page<Transfer>, ServiceError>> + use<> {
        self.history_read(move |index, reply| index.query_transfers(filter, reply))
    }

    /// The chart of accounts and entry templates events are posted with.
    #[must_use]
    pub fn chart(&self) -> &Chart {
        &self.chart
    }

    /// The newest durable WAL op.
    #[must_use]
    pub fn durable_op(&self) -> u64 {
        self.shared.durable_op.load(Ordering::Acquire)
    }

    /// What the history index has ingested.
    #[must_use]
    pub fn index_position(&self) -> IndexPosition {
        self.index.position()
    }

    /// The newest durable point announced to the index.
    #[must_use]
    pub fn index_announced(&self) -> IndexPosition {
        self.index.announced()
    }

    /// Requests queued for the intake thread.
    #[must_use]
    pub fn queue_depth(&self) -> usize {
        self.jobs.len()
    }

    fn enqueue(&self, job: Job) -> Result<(), ServiceError> {
        if self.shared.closing.load(Ordering::Acquire) {
            return Err(ServiceError::ShuttingDown);
        }
        self.jobs.send(job).map_err(|_| ServiceError::ShuttingDown)
    }

    /// Queues a read for the writer; it is answered once everything before it is durable.
    /// `answer` picks the expected reply out; anything else comes back as an internal error.
    fn writer_read<T>(
        &self,
        command: Command,
        answer: fn(Reply) -> Result<T, Reply>,
    ) -> impl Future<Output = Result<T, ServiceError>> + use<T> {
        let (tx, rx) = oneshot::channel();
        let reply = ReplyTo::Callback(Box::new(move |reply| {
            let _ = tx.send(reply);
        }));
        let queued = self.enqueue(Job::Other { command: Box::new(command), reply });
        let shared = Arc::clone(&self.shared);
        async move {
            queued?;
            let reply = refused(rx.await.map_err(|_| stopped(&shared))?)?;
            answer(reply).map_err(|other| unexpected(&other))
        }
    }

    /// Passes the writer as a barrier, then asks the index (see the module docs).
    fn history_read<F>(&self, ask: F) -> impl Future<Output = Result<Page<Transfer>, ServiceError>> + use<F>
    where
        F: FnOnce(&HistoryIndex, ledger_history::TransfersReply) + Send + 'static,
    {
        let (tx, rx) = oneshot::channel::<Result<Page<Transfer>, ServiceError>>();
        let index = self.index.clone();
        let reply = ReplyTo::Callback(Box::new(move |reply| match refused(reply) {
            Ok(_) => ask(
                &index,
                Box::new(move |answer| {
                    let _ =
                        tx.send(answer.map(|(items, current_to)| Page { items, current_to }).map_err(|e| {
                            match e {
                                ledger_history::HistoryError::Busy { .. } => ServiceError::Overloaded,
                                ledger_history::HistoryError::Stopped => ServiceError::ShuttingDown,
                                other => ServiceError::Failed(format!("history index: {other}")),
                            }
                        }));
                }),
            ),
            Err(e) => {
                let _ = tx.send(Err(e));
            }
        }));
        let queued =
            self.enqueue(Job::Other { command: Box::new(Command::LookupAccounts(Vec::new())), reply });
        let shared = Arc::clone(&self.shared);
        async move {
            queued?;
            rx.await.map_err(|_| stopped(&shared))?
        }
    }
}

/// Account ids known to exist, so that posting events does not ask the writer to create the
/// same accounts again and again (each event names several; nearly all exist). Only a cache:
/// a miss costs one `exists`. Bounded: it starts over beyond `KNOWN_ACCOUNTS_MAX` ids. The lock
/// is held for a set lookup per account of a request, on a network thread, never by the writer.
#[derive(Debug, Default)]
struct KnownAccounts {
    ids: std::sync::Mutex<hashbrown::HashSet<u128, foldhash::fast::RandomState>>,
}

const KNOWN_ACCOUNTS_MAX: usize = 1 << 20;

impl KnownAccounts {
    fn unknown(&self, accounts: Vec<Account>) -> Vec<Account> {
        let Ok(known) = self.ids.lock() else { return accounts };
        accounts.into_iter().filter(|a| !known.contains(&a.id)).collect()
    }

    /// After a create: every id but those that failed for a reason other than `exists`.
    fn learn(&self, ids: &[u128], failed: &[EventResult<CreateAccountResult>]) {
        let Ok(mut known) = self.ids.lock() else { return };
        if known.len() + ids.len() > KNOWN_ACCOUNTS_MAX {
            known.clear();
        }
        let mut failures = failed.iter().filter(|f| f.result != CreateAccountResult::Exists).peekable();
        for (index, id) in (0_u32..).zip(ids) {
            if failures.next_if(|f| f.index == index).is_none() {
                known.insert(*id);
            }
        }
    }
}

/// Whole chains packed into one engine batch: (event index, start, end) per chain, and the
/// transfers.
type ChainBatch = (Vec<(usize, u32, u32)>, Vec<Transfer>);

/// A dropped answer: the ledger is shutting down or has stopped.
fn stopped(shared: &Shared) -> ServiceError {
    if shared.closing.load(Ordering::Acquire) {
        ServiceError::ShuttingDown
    } else {
        ServiceError::Failed("the writer stopped".to_owned())
    }
}

/// The replies that refuse a request, as errors; anything else passes.
fn refused(reply: Reply) -> Result<Reply, ServiceError> {
    match reply {
        Reply::Rejected(e) => Err(ServiceError::Rejected(e.to_string())),
        Reply::Unavailable(m) => Err(ServiceError::Unavailable(m)),
        Reply::Fatal(m) => Err(ServiceError::Failed(m)),
        other => Ok(other),
    }
}

fn unexpected(reply: &Reply) -> ServiceError {
    ServiceError::Failed(format!("internal: unexpected writer reply {reply:?}"))
}

/// A ledger running on a data directory: the durable writer, the intake thread and the
/// history index, with the directory locked.
#[derive(Debug)]
pub struct RunningLedger {
    pub service: LedgerService,
    pub startup: StartupReport,
    intake: Option<JoinHandle<()>>,
    _lock: DataDirLock,
}

/// What opening found, for the start-up log line.
#[derive(Debug)]
pub struct StartupReport {
    pub io: IoBackend,
    pub snapshot_op: Option<u64>,
    pub skipped_snapshots: Vec<String>,
    pub recovery: RecoveryEnd,
}

impl RunningLedger {
    /// Opens (creating if needed) the data directory, recovers, and starts the threads.
    pub fn open(config: ServiceConfig) -> Result<Self, ServeError> {
        let dir = &config.data_dir;
        let io_error = |source| ServeError::Io { dir: dir.display().to_string(), source };
        std::fs::create_dir_all(dir).map_err(io_error)?;
        // The index opens the record file before recovery rewrites it; recovery truncates or
        // extends it in place, so both see the same file.
        let records = dir.join(TRANSFER_RECORDS_FILE);
        std::fs::OpenOptions::new().create(true).append(true).open(&records).map_err(io_error)?;
        let chart = Arc::new(
            Chart::load_or_default(config.chart.as_deref()).map_err(|e| ServeError::Chart(Box::new(e)))?,
        );
        let (index, feed) = HistoryIndex::start(&records)?;
        let shared = Arc::new(Shared::default());
        let observed = Arc::clone(&shared);
        let observer = Box::new(move |point: DurablePoint| {
            feed.durable(point.op, point.transfers);
            observed.durable_op.store(point.op, Ordering::Release);
            crate::serve::metrics::record_durable(&point);
        });
        let data_dir_config = DataDirConfig {
            ledger: config.ledger,
            snapshot_every_ops: config.snapshot_every_ops,
            ..DataDirConfig::default()
        };
        let opened = data_dir::open_observed(dir, data_dir_config, Some(observer), SystemClock)?;
        let startup = StartupReport {
            io: opened.io,
            snapshot_op: opened.snapshot.as_ref().map(|s| s.op),
            skipped_snapshots: opened.skipped_snapshots,
            recovery: opened.recovery,
        };
        let (jobs, intake_jobs) = unbounded();
        let holder = WriterHolder(Some(opened.writer));
        let intake = std::thread::Builder::new()
            .name("ledger-intake".into())
            .spawn(move || run_intake(&holder, &intake_jobs))
            .map_err(ServeError::Spawn)?;
        let in_flight_events = config.in_flight_events.max(BATCH_EVENTS_MAX_U32);
        let service = LedgerService {
            jobs,
            chart,
            known_accounts: Arc::new(KnownAccounts::default()),
            shared,
            index,
            admission: Arc::new(Semaphore::new(in_flight_events as usize)),
            in_flight_events,
        };
        Ok(Self { service, startup, intake: Some(intake), _lock: opened.lock })
    }

    /// Stops taking requests, answers what is queued once durable, closes the WAL and stops
    /// the index. Requests made after this get `ShuttingDown`.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        self.service.shared.closing.store(true, Ordering::Release);
        let _ = self.service.jobs.send(Job::Shutdown);
        if let Some(intake) = self.intake.take() {
            let _ = intake.join();
        }
        self.service.index.stop();
    }
}

impl Drop for RunningLedger {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The intake owns the writer; dropping the holder (at the end of `run_intake`) shuts the
/// writer down: queued work is applied and made durable, then both threads stop.
struct WriterHolder(Option<DurableWriter<FileTransferStore>>);

impl Drop for WriterHolder {
    fn drop(&mut self) {
        if let Some(writer) = self.0.take() {
            let _ = writer.shutdown();
        }
    }
}

fn run_intake(holder: &WriterHolder, jobs: &Receiver<Job>) {
    let Some(writer) = holder.0.as_ref() else { return };
    let mut held: Option<Job> = None;
    loop {
        let job = match held.take() {
            Some(job) => job,
            None => match jobs.recv() {
                Ok(job) => job,
                Err(_) => return,
            },
        };
        crate::serve::metrics::record_queue_depth(jobs.len());
        let (command, reply) = match job {
            Job::Shutdown => return,
            Job::Other { command, reply } => (*command, reply),
            Job::CreateAccounts { events, done } => merge(events, done, jobs, &mut held),
            Job::CreateTransfers { events, done } => merge(events, done, jobs, &mut held),
        };
        // On failure the request (and its reply callback) is dropped: every waiting caller
        // sees its answer channel close and reports the writer as stopped.
        let _ = writer.submit_to(command, reply);
    }
}

type Done<R> = oneshot::Sender<Result<Vec<EventResult<R>>, ServiceError>>;

/// What the intake needs to know about a kind of create event to merge its requests.
trait Creatable: Sized + Send + 'static {
    type Result: Copy + Send + 'static;
    fn is_linked(&self) -> bool;
    fn unwrap_job(job: Job) -> Result<(Vec<Self>, Done<Self::Result>), Job>;
    fn wrap_job(events: Vec<Self>, done: Done<Self::Result>) -> Job;
    fn command(events: Vec<Self>) -> Command;
    fn results(reply: Reply) -> Result<Vec<EventResult<Self::Result>>, ServiceError>;
}

impl Creatable for Account {
    type Result = CreateAccountResult;
    fn is_linked(&self) -> bool {
        self.flags.contains(AccountFlags::LINKED)
    }
    fn unwrap_job(job: Job) -> Result<(Vec<Self>, Done<Self::Result>), Job> {
        match job {
            Job::CreateAccounts { events, done } => Ok((events, done)),
            other => Err(other),
        }
    }
    fn wrap_job(events: Vec<Self>, done: Done<Self::Result>) -> Job {
        Job::CreateAccounts { events, done }
    }
    fn command(events: Vec<Self>) -> Command {
        Command::CreateAccounts(events)
    }
    fn results(reply: Reply) -> Result<Vec<EventResult<Self::Result>>, ServiceError> {
        match refused(reply)? {
            Reply::CreateAccounts { results, .. } => Ok(results),
            other => Err(unexpected(&other)),
        }
    }
}

impl Creatable for Transfer {
    type Result = CreateTransferResult;
    fn is_linked(&self) -> bool {
        self.flags.contains(TransferFlags::LINKED)
    }
    fn unwrap_job(job: Job) -> Result<(Vec<Self>, Done<Self::Result>), Job> {
        match job {
            Job::CreateTransfers { events, done } => Ok((events, done)),
            other => Err(other),
        }
    }
    fn wrap_job(events: Vec<Self>, done: Done<Self::Result>) -> Job {
        Job::CreateTransfers { events, done }
    }
    fn command(events: Vec<Self>) -> Command {
        Command::CreateTransfers(events)
    }
    fn results(reply: Reply) -> Result<Vec<EventResult<Self::Result>>, ServiceError> {
        match refused(reply)? {
            Reply::CreateTransfers { results, .. } => Ok(results),
            other => Err(unexpected(&other)),
        }
    }
}

/// Merges `first` with the create jobs of the same kind already queued behind it (see the
/// module docs) into one command, and builds the reply callback that splits the results.
fn merge<E: Creatable>(
    first: Vec<E>,
    first_done: Done<E::Result>,
    jobs: &Receiver<Job>,
    held: &mut Option<Job>,
) -> (Command, ReplyTo) {
    let mut parts = vec![(0_u32, first_done)];
    let mut merged = first;
    while merged.last().is_none_or(|e| !e.is_linked()) && merged.len() < BATCH_EVENTS_MAX {
        let Ok(next) = jobs.try_recv() else { break };
        match E::unwrap_job(next) {
            Ok((events, done)) if merged.len() + events.len() <= BATCH_EVENTS_MAX => {
                let offset = u32::try_from(merged.len()).unwrap_or(u32::MAX);
                merged.extend(events);
                parts.push((offset, done));
            }
            Ok((events, done)) => {
                *held = Some(E::wrap_job(events, done));
                break;
            }
            Err(other) => {
                *held = Some(other);
                break;
            }
        }
    }
    crate::serve::metrics::record_batch(merged.len(), parts.len());
    let reply = ReplyTo::Callback(Box::new(move |reply| split(E::results(reply), parts)));
    (E::command(merged), reply)
}

/// Sends each merged request its own results, re-based to its own indexes. Results arrive in
/// index order, so one pass splits them.
fn split<R>(results: Result<Vec<EventResult<R>>, ServiceError>, parts: Vec<(u32, Done<R>)>) {
    let results = match results {
        Ok(results) => results,
        Err(error) => {
            for (_, done) in parts {
                let _ = done.send(Err(error.clone()));
            }
            return;
        }
    };
    if parts.len() == 1 {
        if let Some((_, done)) = parts.into_iter().next() {
            let _ = done.send(Ok(results));
        }
        return;
    }
    let mut results = results.into_iter().peekable();
    let mut parts = parts.into_iter().peekable();
    while let Some((offset, done)) = parts.next() {
        let end = parts.peek().map_or(u32::MAX, |(next, _)| *next);
        let _ = done.send(Ok(take_rebased(&mut results, offset, end)));
    }
}

/// The results with indexes below `end`, taken from the front of `results` (index order) and
/// re-based to `start`: one part's share of a batch that holds several parts back to back.
fn take_rebased<R>(
    results: &mut std::iter::Peekable<impl Iterator<Item = EventResult<R>>>,
    start: u32,
    end: u32,
) -> Vec<EventResult<R>> {
    let mut mine = Vec::new();
    while let Some(result) = results.next_if(|r| r.index < end) {
        mine.push(EventResult { index: result.index - start, result: result.result });
    }
    mine
}
