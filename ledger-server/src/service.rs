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
use ledger_core::writer::{Command, EntryNotes, Reply, ReplyTo};
use ledger_core::{Account, AccountFlags, BATCH_EVENTS_MAX, LedgerConfig, Transfer, TransferFlags};
use ledger_durability::data_dir::{self, DataDirConfig, DataDirLock, TRANSFER_RECORDS_FILE};
use ledger_durability::durable_writer::{DurablePoint, DurableWriter};
use ledger_durability::journal_log::{JournalIndex, JournalNote, JournalOpened, JournalReadError};
use ledger_durability::notes::NOTE_HEAD_SIZE;
use ledger_durability::storage::IoBackend;
use ledger_durability::wal::RECORD_NOTES_BYTES_MAX;
use ledger_durability::wal::RecoveryEnd;
use ledger_events::event::WireEventRef;
use ledger_events::posting::{self, EntrySide, PlannedEvent};
use ledger_events::{Chart, EventOutcome};
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
        /// Notes about runs of `events` (standard ledger events' records); empty for plain
        /// `create_transfers`.
        notes: EntryNotes,
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
    /// Bytes of `journal.log` durable and announced (set before the index hears of the point,
    /// so a transfer the index serves has its journal record below this).
    journal_end: AtomicU64,
    closing: AtomicBool,
    journal: JournalSignal,
}

/// Wakes change-feed readers (`http/feed.rs`) when the journal may have moved: the observer
/// publishes the durable transfer count and notifies every waiter, on the WAL thread, without
/// waiting on anyone. A waiter costs nothing while idle (a parked future, no polling).
#[derive(Debug, Default)]
struct JournalSignal {
    durable_transfers: AtomicU64,
    moved: tokio::sync::Notify,
    /// Set at shutdown: every wait ends, so long-polls answer and streams end.
    closed: AtomicBool,
}

/// The handle the edges use. Cheap to clone; every clone talks to the same threads.
#[derive(Clone, Debug)]
pub struct LedgerService {
    jobs: Sender<Job>,
    chart: Arc<Chart>,
    known_accounts: Arc<KnownAccounts>,
    shared: Arc<Shared>,
    index: HistoryIndex,
    /// The journal's read side, opened at the first read (`journal_entries`).
    journal: Arc<std::sync::Mutex<Option<JournalIndex>>>,
    /// Account codes the read paths have looked up (a code never changes once the account
    /// exists), so that journal pages do not ask the writer again; bounded.
    account_codes: Arc<std::sync::RwLock<std::collections::HashMap<u128, u16>>>,
    data_dir: Arc<Path>,
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
            self.enqueue(Job::CreateTransfers { events, notes: EntryNotes::default(), done })
        };
        let shared = Arc::clone(&self.shared);
        async move {
            queued?;
            answer.await.map_err(|_| stopped(&shared))?
        }
    }

    /// `create_transfers` with notes about runs of the transfers (`EntryNotes`: kept with the
    /// runs that are created); the notes must fit one WAL record (`RECORD_NOTES_BYTES_MAX`).
    fn create_transfers_noted(
        &self,
        events: Vec<Transfer>,
        notes: EntryNotes,
    ) -> impl Future<Output = CreateTransfersAnswer> + use<> {
        let (done, answer) = oneshot::channel();
        let queued = if events.is_empty() {
            let _ = done.send(Ok(Vec::new()));
            Ok(())
        } else {
            self.enqueue(Job::CreateTransfers { events, notes, done })
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
        // Parses and plans each line without copying its strings, hashing each account of the
        // request once (`ledger_events::posting::RequestPlanner`).
        let mut planner = posting::RequestPlanner::with_capacity(&self.chart, raw.len());
        for (i, bytes) in raw.iter().enumerate() {
            let parsed = std::str::from_utf8(bytes)
                .map_err(|_| EventOutcome::invalid("invalid_json"))
                .and_then(|text| WireEventRef::parse(text).map_err(|e| EventOutcome::invalid(e.code())));
            let event = match parsed {
                Ok(event) => event,
                Err(outcome) => {
                    outcomes[i] = outcome;
                    continue;
                }
            };
            // The event's record goes into the WAL with its chain (`ledger_events::record`).
            let mut note = Vec::new();
            if !ledger_events::record::encode_event_ref(&event, self.chart.version(), &mut note) {
                outcomes[i] = EventOutcome::invalid("event_too_large");
                continue;
            }
            match planner.plan_event(event) {
                Ok(PlannedEvent::Entry { accounts_new, chain }) => {
                    for account in accounts_new {
                        if opened.insert(account.id) {
                            accounts.push(account);
                        }
                    }
                    chains.push((i, chain, note));
                }
                Ok(PlannedEvent::Reversal { reversal, body_hash }) => {
                    reversals.push((i, reversal, body_hash, note))
                }
                Err(error) => outcomes[i] = EventOutcome::invalid(error.code()),
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
            .flat_map(|(_, reversal, _, _)| posting::entry_transfer_ids(&reversal.reverses, postings_max))
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
            for (i, reversal, hash, note) in reversals {
                let original: Vec<Transfer> = posting::entry_transfer_ids(&reversal.reverses, postings_max)
                    .iter()
                    .map_while(|id| found.get(id).copied())
                    .collect();
                if original.is_empty() {
                    outcomes[i] = EventOutcome::OriginalNotFound;
                    continue;
                }
                match posting::reversal_chain(&original, &reversal, hash) {
                    Ok(chain) => chains.push((i, chain, note)),
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

    /// Queues chains (each one event's linked chain, with the event's note) in batches of
    /// whole chains whose notes fit one WAL record, and resolves to each chain's outcome.
    fn post_chains(
        &self,
        chains: Vec<(usize, Vec<Transfer>, Vec<u8>)>,
    ) -> impl Future<Output = Result<Vec<(usize, EventOutcome)>, ServiceError>> + use<> {
        let mut batches: Vec<ChainBatch> = Vec::new();
        for (event, chain, note) in chains {
            let fits = batches
                .last()
                .is_some_and(|(_, t, n)| t.len() + chain.len() <= BATCH_EVENTS_MAX && notes_fit(n, &note));
            if !fits {
                batches.push((Vec::new(), Vec::new(), EntryNotes::default()));
            }
            if let Some((ranges, transfers, notes)) = batches.last_mut() {
                let start = u32::try_from(transfers.len()).unwrap_or(u32::MAX);
                let count = u32::try_from(chain.len()).unwrap_or(u32::MAX);
                transfers.extend(chain);
                notes.push(start, count, &note);
                ranges.push((event, start, start + count));
            }
        }
        let answers: Vec<_> = batches
            .into_iter()
            .map(|(ranges, transfers, notes)| (ranges, self.create_transfers_noted(transfers, notes)))
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

    /// The history index itself, for reads that are not pages of transfers (the trial balance,
    /// `crate::trial_balance`). Its queries do not pass the writer first: a caller that needs
    /// read-your-writes makes an engine read before asking (see the module docs).
    #[must_use]
    pub fn history_index(&self) -> &HistoryIndex {
        &self.index
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

    /// Transfer records durable so far (the newest durable point's count). A journal read that
    /// starts after this was read sees every one of them (its barrier passes the writer, and the
    /// index ingests what was announced), so a reader that found nothing new waits for the count
    /// to pass what it read before asking: no wake-up between the two is lost.
    #[must_use]
    pub fn durable_transfers(&self) -> u64 {
        self.shared.journal.durable_transfers.load(Ordering::Acquire)
    }

    /// Waits until more than `seen` transfers are durable (true), or `timeout` passes or the
    /// feeds close (false). Woken by the durable observer, so the wake-up follows the group
    /// commit within a scheduler hop; an idle waiter costs nothing.
    pub async fn wait_for_durable_transfers(&self, seen: u64, timeout: std::time::Duration) -> bool {
        let signal = &self.shared.journal;
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = signal.moved.notified();
            tokio::pin!(notified);
            // Registered before the checks: a notification between them and the await is kept.
            notified.as_mut().enable();
            if signal.closed.load(Ordering::Acquire) {
                return false;
            }
            if signal.durable_transfers.load(Ordering::Acquire) > seen {
                return true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return signal.durable_transfers.load(Ordering::Acquire) > seen;
            }
        }
    }

    /// Ends every change-feed wait now and later (shutdown): long-polls answer what they have,
    /// streams end after what they hold.
    pub fn close_feeds(&self) {
        self.shared.journal.closed.store(true, Ordering::Release);
        self.shared.journal.moved.notify_waiters();
    }

    /// Whether `close_feeds` was called.
    #[must_use]
    pub fn feeds_closed(&self) -> bool {
        self.shared.journal.closed.load(Ordering::Acquire)
    }

    /// For each of these transfer timestamps: the WAL op that created the transfer, and the
    /// journal note (a standard ledger event's record) of the run starting there, if any (a
    /// plain transfer, or one inside a run, has none). Sees every transfer the history index
    /// has served.
    pub fn journal_entries(&self, timestamps: &[u64]) -> Result<Vec<EntryJournal>, ServiceError> {
        self.with_journal(|journal| {
            let notes = journal.notes_at(timestamps)?;
            Ok(timestamps.iter().zip(notes).map(|(&t, note)| (journal.op_of(t), note)).collect())
        })
    }

    /// `query_transfers` without passing the writer first: answers with what the index has
    /// been told is durable when the query reaches it. A caller that got the answer of a write
    /// (or woke on a durable point) before asking sees that write: the index hears of each
    /// durable point before its replies go out, and answers in order with what it hears. Not
    /// for a pipelined read behind a write still in flight on the same connection.
    pub fn query_transfers_announced(
        &self,
        filter: QueryFilter,
    ) -> impl Future<Output = Result<Page<Transfer>, ServiceError>> + use<> {
        let (tx, rx) = oneshot::channel::<Result<Page<Transfer>, ServiceError>>();
        self.index.query_transfers(
            filter,
            Box::new(move |answer| {
                let _ = tx.send(
                    answer.map(|(items, current_to)| Page { items, current_to }).map_err(history_error),
                );
            }),
        );
        let shared = Arc::clone(&self.shared);
        async move { rx.await.map_err(|_| stopped(&shared))? }
    }

    /// The codes of these accounts (ids not found are left out): from the cache of codes
    /// already seen, the rest looked up through the writer (in batches) and remembered.
    pub async fn account_codes(
        &self,
        ids: &[u128],
    ) -> Result<std::collections::HashMap<u128, u16>, ServiceError> {
        let poisoned = || ServiceError::Failed("account code cache: a reader panicked".to_owned());
        let mut found = std::collections::HashMap::with_capacity(ids.len());
        let mut missing = Vec::new();
        {
            let cache = self.account_codes.read().map_err(|_| poisoned())?;
            for &id in ids {
                match cache.get(&id) {
                    Some(&code) => {
                        found.insert(id, code);
                    }
                    None => missing.push(id),
                }
            }
        }
        missing.sort_unstable();
        missing.dedup();
        let answers: Vec<_> =
            missing.chunks(BATCH_EVENTS_MAX).map(|c| self.lookup_accounts(c.to_vec())).collect();
        for answer in answers {
            let accounts = answer.await?;
            let mut cache = self.account_codes.write().map_err(|_| poisoned())?;
            for account in accounts {
                if cache.len() < ACCOUNT_CODES_CACHED_MAX {
                    cache.insert(account.id, account.code);
                }
                found.insert(account.id, account.code);
            }
        }
        Ok(found)
    }

    /// The journal cursor just before op `op`: the timestamp before the first transfer created
    /// by op `op` or a later one; when no such op is durable yet, the newest transfer's (every
    /// later op's transfers come after it).
    pub fn journal_cursor_before_op(&self, op: u64) -> Result<u64, ServiceError> {
        self.with_journal(|journal| {
            Ok(journal.first_timestamp_from_op(op).map_or(journal.timestamp_last(), |t| t.saturating_sub(1)))
        })
    }

    /// Runs `read` on the journal index, caught up with the newest durable point. The index
    /// is shared by the read paths (not the write path) behind a mutex; a read holds it for
    /// an index search and a few small `pread`s.
    fn with_journal<T>(
        &self,
        read: impl FnOnce(&mut JournalIndex) -> Result<T, JournalReadError>,
    ) -> Result<T, ServiceError> {
        let failed = |e: &dyn std::fmt::Display| ServiceError::Failed(format!("journal: {e}"));
        let mut guard = self.journal.lock().map_err(|_| failed(&"a reader panicked"))?;
        if guard.is_none() {
            *guard = Some(JournalIndex::open(&self.data_dir).map_err(|e| failed(&e))?);
        }
        let Some(journal) = guard.as_mut() else { return Err(failed(&"not open")) };
        journal.catch_up(self.shared.journal_end.load(Ordering::Acquire)).map_err(|e| failed(&e))?;
        read(journal).map_err(|e| failed(&e))
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
type ChainBatch = (Vec<(usize, u32, u32)>, Vec<Transfer>, EntryNotes);

/// What the journal knows of an entry: the WAL op that created it and, for a standard ledger
/// event, its record (`LedgerService::journal_entries`).
pub type EntryJournal = (Option<u64>, Option<JournalNote>);

/// A queued create request taken apart: its events, notes and answer channel.
type QueuedCreate<E> = (Vec<E>, <E as Creatable>::Notes, Done<<E as Creatable>::Result>);

/// Whether `note` still fits beside `notes` in one WAL record.
fn notes_fit(notes: &EntryNotes, note: &[u8]) -> bool {
    notes_len(notes) + NOTE_HEAD_SIZE + note.len() <= RECORD_NOTES_BYTES_MAX as usize
}

/// Bytes `notes` take in a WAL record.
fn notes_len(notes: &EntryNotes) -> usize {
    notes.bytes.len() + notes.runs.len() * NOTE_HEAD_SIZE
}

/// The most account codes `LedgerService::account_codes` keeps (~40 MiB); past it, codes are
/// looked up every time.
const ACCOUNT_CODES_CACHED_MAX: usize = 1 << 20;

/// A history index error as the service reports it.
fn history_error(error: ledger_history::HistoryError) -> ServiceError {
    match error {
        ledger_history::HistoryError::Busy { .. } => ServiceError::Overloaded,
        ledger_history::HistoryError::Stopped => ServiceError::ShuttingDown,
        other => ServiceError::Failed(format!("history index: {other}")),
    }
}

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
    /// What opening `journal.log` found.
    pub journal: JournalOpened,
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
            // Before the index hears of the point: whatever it then serves has its journal
            // record below `journal_end`.
            observed.journal_end.store(point.journal_end, Ordering::Release);
            feed.durable(point.op, point.transfers);
            observed.durable_op.store(point.op, Ordering::Release);
            observed.journal.durable_transfers.store(point.transfers, Ordering::Release);
            observed.journal.moved.notify_waiters();
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
            journal: opened.journal,
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
            journal: Arc::new(std::sync::Mutex::new(None)),
            account_codes: Arc::default(),
            data_dir: Arc::from(dir.as_path()),
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
        self.service.close_feeds();
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
            Job::CreateAccounts { events, done } => merge(events, (), done, jobs, &mut held),
            Job::CreateTransfers { events, notes, done } => merge(events, notes, done, jobs, &mut held),
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
    /// What a request carries beside its events (`EntryNotes` for transfers).
    type Notes: Send;
    fn is_linked(&self) -> bool;
    fn unwrap_job(job: Job) -> Result<QueuedCreate<Self>, Job>;
    fn wrap_job(events: Vec<Self>, notes: Self::Notes, done: Done<Self::Result>) -> Job;
    /// Whether `more` can join `merged` in one WAL record.
    fn notes_fit(merged: &Self::Notes, more: &Self::Notes) -> bool;
    /// Appends `more`, whose events now start at `offset`, to `merged`.
    fn merge_notes(merged: &mut Self::Notes, more: &Self::Notes, offset: u32);
    fn command(events: Vec<Self>, notes: Self::Notes) -> Command;
    fn results(reply: Reply) -> Result<Vec<EventResult<Self::Result>>, ServiceError>;
}

impl Creatable for Account {
    type Result = CreateAccountResult;
    type Notes = ();
    fn is_linked(&self) -> bool {
        self.flags.contains(AccountFlags::LINKED)
    }
    fn unwrap_job(job: Job) -> Result<(Vec<Self>, (), Done<Self::Result>), Job> {
        match job {
            Job::CreateAccounts { events, done } => Ok((events, (), done)),
            other => Err(other),
        }
    }
    fn wrap_job(events: Vec<Self>, (): (), done: Done<Self::Result>) -> Job {
        Job::CreateAccounts { events, done }
    }
    fn notes_fit((): &(), (): &()) -> bool {
        true
    }
    fn merge_notes((): &mut (), (): &(), _: u32) {}
    fn command(events: Vec<Self>, (): ()) -> Command {
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
    type Notes = EntryNotes;
    fn is_linked(&self) -> bool {
        self.flags.contains(TransferFlags::LINKED)
    }
    fn unwrap_job(job: Job) -> Result<(Vec<Self>, EntryNotes, Done<Self::Result>), Job> {
        match job {
            Job::CreateTransfers { events, notes, done } => Ok((events, notes, done)),
            other => Err(other),
        }
    }
    fn wrap_job(events: Vec<Self>, notes: EntryNotes, done: Done<Self::Result>) -> Job {
        Job::CreateTransfers { events, notes, done }
    }
    fn notes_fit(merged: &EntryNotes, more: &EntryNotes) -> bool {
        notes_len(merged) + notes_len(more) <= RECORD_NOTES_BYTES_MAX as usize
    }
    fn merge_notes(merged: &mut EntryNotes, more: &EntryNotes, offset: u32) {
        merged.append_shifted(more, offset);
    }
    fn command(transfers: Vec<Self>, notes: EntryNotes) -> Command {
        if notes.is_empty() {
            Command::CreateTransfers(transfers)
        } else {
            Command::CreateTransfersNoted { transfers, notes }
        }
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
    first_notes: E::Notes,
    first_done: Done<E::Result>,
    jobs: &Receiver<Job>,
    held: &mut Option<Job>,
) -> (Command, ReplyTo) {
    let mut parts = vec![(0_u32, first_done)];
    let mut merged = first;
    let mut merged_notes = first_notes;
    while merged.last().is_none_or(|e| !e.is_linked()) && merged.len() < BATCH_EVENTS_MAX {
        let Ok(next) = jobs.try_recv() else { break };
        match E::unwrap_job(next) {
            Ok((events, notes, done))
                if merged.len() + events.len() <= BATCH_EVENTS_MAX && E::notes_fit(&merged_notes, &notes) =>
            {
                let offset = u32::try_from(merged.len()).unwrap_or(u32::MAX);
                merged.extend(events);
                E::merge_notes(&mut merged_notes, &notes, offset);
                parts.push((offset, done));
            }
            Ok((events, notes, done)) => {
                *held = Some(E::wrap_job(events, notes, done));
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
    (E::command(merged, merged_notes), reply)
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
