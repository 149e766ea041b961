//! The index thread ("ledger-history") and its two handles: `HistoryIndex` for queries and
//! `DurableFeed` for the durable writer's announcements.
//!
//! One thread owns the `Index`, so nothing in it is locked. Two things wake it:
//! - the feed: the WAL thread publishes the newest durable point in a `PositionCell` and unparks
//!   the thread. No queue, no allocation, no lock: the WAL thread never waits on the index;
//! - queries: a bounded FIFO queue behind a mutex held only to push or pop.
//!
//! Before it answers a query, the thread ingests every record announced so far (it reads the
//! announced point after taking the query off the queue). So a client that got the reply to a
//! batch, and then asks, sees that batch: the durable writer announces a group before it
//! replies, and the reply, the client's request and the queue order everything after it.
//! Between queries the thread catches up one chunk (1 MiB of records) at a time, so `stop`
//! never waits for a long rebuild, and the position moves only to whole durable points.
//!
//! Replies run on the index thread: they should hand the result over (a channel send) and
//! return.
//!
//! A trial balance (`trial_balance`) is answered the same way, from `CodeTotals`: the first
//! after a start, or after many transfers, reads the records not attributed yet, so it may hold
//! the thread for about a second per ten million of them.

use crate::chunks::CHUNK_RECORDS;
use crate::code_totals::{CODES_WANTED_MAX, CodeTotals, TrialBalanceAnswer, TrialBalanceRequest};
use crate::error::HistoryError;
use crate::index::{Index, IngestError};
use crate::position::{IndexPosition, PositionCell};
use crate::posting::POSITION_LIMIT;
use crate::records::{Record, RecordFile, RecordSource, record_offset};
use crate::search;
use ledger_core::{AccountFilter, QueryFilter, TRANSFER_SIZE, Transfer};
use std::cell::Cell;
use std::collections::VecDeque;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{JoinHandle, Thread};

/// Queries waiting for the index thread; one more is refused with `HistoryError::Busy`.
pub const QUERIES_QUEUED_MAX: usize = 1024;
/// Records per read of the record file while ingesting: one chunk, 1 MiB.
pub const INGEST_READ_RECORDS: usize = CHUNK_RECORDS;

/// The answer to a query: the transfers, and the position the index was at when it answered.
pub type TransfersReply = Box<dyn FnOnce(Result<(Vec<Transfer>, IndexPosition), HistoryError>) + Send>;

/// The answer to a trial balance query.
pub type TrialBalanceReply = Box<dyn FnOnce(Result<TrialBalanceAnswer, HistoryError>) + Send>;

/// A handle to the index thread. Clones share the thread; the thread stops after its pending
/// work when `stop` is called or the last handle is dropped.
#[derive(Clone, Debug)]
pub struct HistoryIndex {
    inner: Arc<Inner>,
}

/// What the durable writer calls after each durable point (see `ledger_durability::
/// durable_writer::DurableObserver`): `Box::new(move |p| feed.durable(p.op, p.transfers))`.
/// `Send` but not `Sync`: one thread (the WAL thread) announces.
#[derive(Debug)]
pub struct DurableFeed {
    shared: Arc<Shared>,
    thread: Thread,
    _one_announcer: PhantomData<Cell<()>>,
}

/// Bytes the index holds and the transfers it covers, published at each durable point reached.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HistoryMemory {
    pub transfers: u64,
    pub accounts: u64,
    /// The account id -> list number table.
    pub account_table_bytes: u64,
    /// The per-account posting lists: headers, postings and the room reserved for more.
    pub posting_list_bytes: u64,
    /// Chunk timestamps and `user_data_128` filters.
    pub chunk_bytes: u64,
    /// Account codes and per-chunk posted totals by code (`code_totals`).
    pub code_totals_bytes: u64,
}

impl HistoryMemory {
    #[must_use]
    pub fn total_bytes(&self) -> u64 {
        self.account_table_bytes + self.posting_list_bytes + self.chunk_bytes + self.code_totals_bytes
    }
}

#[derive(Debug)]
struct Inner {
    shared: Arc<Shared>,
    thread: Thread,
    join: Mutex<Option<JoinHandle<()>>>,
}

#[derive(Debug, Default)]
struct Shared {
    announced: PositionCell,
    position: PositionCell,
    queries: Mutex<Queries>,
    stopping: AtomicBool,
    memory: [AtomicU64; 6],
}

#[derive(Debug, Default)]
struct Queries {
    queue: VecDeque<Query>,
    /// Set by the thread on its way out: nothing is queued after it.
    closed: bool,
}

/// A query and the reply it is owed.
enum Request {
    Account(AccountFilter, TransfersReply),
    Transfers(QueryFilter, TransfersReply),
    TrialBalance(TrialBalanceRequest, TrialBalanceReply),
}

impl Request {
    fn fail(self, error: HistoryError) {
        match self {
            Self::Account(_, reply) | Self::Transfers(_, reply) => reply(Err(error)),
            Self::TrialBalance(_, reply) => reply(Err(error)),
        }
    }
}

/// A queued query. Dropped unanswered (the thread gone), it answers `Stopped`: every reply is
/// called exactly once.
struct Query {
    request: Option<Request>,
}

impl Query {
    fn new(request: Request) -> Self {
        Self { request: Some(request) }
    }

    fn fail(mut self, error: HistoryError) {
        if let Some(request) = self.request.take() {
            request.fail(error);
        }
    }
}

impl Drop for Query {
    fn drop(&mut self) {
        if let Some(request) = self.request.take() {
            request.fail(HistoryError::Stopped);
        }
    }
}

impl std::fmt::Debug for Query {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let request: &dyn std::fmt::Debug = match &self.request {
            Some(Request::Account(filter, _)) => filter,
            Some(Request::Transfers(filter, _)) => filter,
            Some(Request::TrialBalance(request, _)) => request,
            None => &"answered",
        };
        f.debug_struct("Query").field("request", request).finish_non_exhaustive()
    }
}

impl HistoryIndex {
    /// Starts the index thread over the record file; nothing is ingested until the first
    /// `DurableFeed::durable`. The file is opened when there is something to read in it, so it
    /// may not exist yet (the durable writer creates it after this, on open).
    pub fn start(transfers_file: &Path) -> Result<(HistoryIndex, DurableFeed), HistoryError> {
        let shared = Arc::new(Shared::default());
        shared.queries_locked().queue.reserve_exact(QUERIES_QUEUED_MAX);
        let worker = Worker {
            shared: Arc::clone(&shared),
            path: transfers_file.to_path_buf(),
            file: None,
            index: Index::new(CHUNK_RECORDS),
            code_totals: CodeTotals::default(),
            position: IndexPosition::default(),
            failed: None,
            buffer: vec![[0_u8; TRANSFER_SIZE]; INGEST_READ_RECORDS],
        };
        let join = std::thread::Builder::new()
            .name("ledger-history".to_owned())
            .spawn(move || worker.run())
            .map_err(|e| HistoryError::Io {
                path: transfers_file.to_path_buf(),
                offset: 0,
                source: Arc::new(e),
            })?;
        let thread = join.thread().clone();
        let feed =
            DurableFeed { shared: Arc::clone(&shared), thread: thread.clone(), _one_announcer: PhantomData };
        let inner = Inner { shared, thread, join: Mutex::new(Some(join)) };
        Ok((HistoryIndex { inner: Arc::new(inner) }, feed))
    }

    /// The transfers of one account (`AccountFilter` semantics: `ledger_core::query`), answered
    /// on the index thread once it has ingested everything announced before.
    pub fn get_account_transfers(&self, filter: AccountFilter, reply: TransfersReply) {
        self.submit(Query::new(Request::Account(filter, reply)));
    }

    /// Transfers by their secondary fields (`QueryFilter` semantics), as `get_account_transfers`.
    pub fn query_transfers(&self, filter: QueryFilter, reply: TransfersReply) {
        self.submit(Query::new(Request::Transfers(filter, reply)));
    }

    /// The posted totals by account code of one ledger as of a time (`code_totals`), answered
    /// as `get_account_transfers`. The answer may instead name accounts whose codes the index
    /// needs first: ask again with them in `request.codes` (`TrialBalanceAnswer::CodesWanted`).
    pub fn trial_balance(&self, request: TrialBalanceRequest, reply: TrialBalanceReply) {
        self.submit(Query::new(Request::TrialBalance(request, reply)));
    }

    fn submit(&self, query: Query) {
        let shared = &self.inner.shared;
        let mut queries = shared.queries_locked();
        if queries.closed {
            drop(queries);
            query.fail(HistoryError::Stopped);
            return;
        }
        if queries.queue.len() >= QUERIES_QUEUED_MAX {
            let queued = queries.queue.len();
            drop(queries);
            query.fail(HistoryError::Busy { queued });
            return;
        }
        queries.queue.push_back(query);
        drop(queries);
        self.inner.thread.unpark();
    }

    /// What the index has ingested: always a whole durable point (atomics; never waits).
    #[must_use]
    pub fn position(&self) -> IndexPosition {
        self.inner.shared.position.load()
    }

    /// The newest durable point announced (atomics): `announced().transfers -
    /// position().transfers` is the lag.
    #[must_use]
    pub fn announced(&self) -> IndexPosition {
        self.inner.shared.announced.load()
    }

    /// The index's memory, as of its position (atomics).
    #[must_use]
    pub fn memory(&self) -> HistoryMemory {
        let [transfers, accounts, account_table_bytes, posting_list_bytes, chunk_bytes, code_totals_bytes] =
            self.inner.shared.memory.each_ref().map(|m| m.load(Ordering::Relaxed));
        HistoryMemory {
            transfers,
            accounts,
            account_table_bytes,
            posting_list_bytes,
            chunk_bytes,
            code_totals_bytes,
        }
    }

    /// Stops the thread after pending work: queued queries are answered, a catch-up without a
    /// query waiting for it is abandoned. Queries submitted afterwards answer `Stopped`. Also
    /// happens on drop of the last handle.
    pub fn stop(&self) {
        self.inner.stop();
    }
}

impl Inner {
    fn stop(&self) {
        self.shared.stopping.store(true, Ordering::Release);
        self.thread.unpark();
        let join = self.join.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(join) = join {
            // A reply that stops the index runs on the index thread, which cannot join itself;
            // it exits once that reply returns.
            if join.thread().id() != std::thread::current().id() {
                // A panic on the index thread has already answered its queries (`Worker`'s
                // drop); nothing is left to report here.
                let _ = join.join();
            }
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.stop();
    }
}

impl DurableFeed {
    /// Announces a durable point: after op `op`, the record file holds `transfers` committed
    /// records. Non-blocking, allocation-free, callable from the WAL thread. A point behind the
    /// last one announced is ignored (durable points only move forward).
    pub fn durable(&self, op: u64, transfers: u64) {
        let announced = self.shared.announced.load();
        if op < announced.op || transfers < announced.transfers {
            return;
        }
        self.shared.announced.store(IndexPosition { op, transfers });
        self.thread.unpark();
    }
}

impl Shared {
    fn queries_locked(&self) -> MutexGuard<'_, Queries> {
        // The lock is held only to push or pop; a panic cannot leave the queue half-changed.
        self.queries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The index thread's state.
struct Worker {
    shared: Arc<Shared>,
    path: PathBuf,
    /// Opened on the first read.
    file: Option<RecordFile>,
    index: Index,
    /// Posted totals by account code, for trial balances.
    code_totals: CodeTotals,
    position: IndexPosition,
    /// The error that stopped ingesting; every later query answers it.
    failed: Option<HistoryError>,
    /// Ingest reads and query scans.
    buffer: Vec<Record>,
}

/// Whether a catch-up step may stop early: only when no query waits for it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum CatchUp {
    OneStep,
    Complete,
}

impl Worker {
    fn run(mut self) {
        loop {
            // Read before the queue: a query queued before `stop` is answered.
            let stopping = self.shared.stopping.load(Ordering::Acquire);
            let query = self.shared.queries_locked().queue.pop_front();
            if let Some(query) = query {
                self.catch_up(CatchUp::Complete);
                self.answer(query);
                continue;
            }
            if stopping {
                return;
            }
            if !self.catch_up(CatchUp::OneStep) {
                // An announcement or a query since the checks above left an unpark token, so
                // this returns at once; spurious wake-ups just go round the loop.
                std::thread::park();
            }
        }
    }

    /// Ingests toward the newest announced point (read once: a query needs what was announced
    /// before it was taken). Returns whether there was anything to do.
    fn catch_up(&mut self, mode: CatchUp) -> bool {
        let target = self.shared.announced.load();
        let mut worked = false;
        // Records never run ahead of an announcement (the feed only moves forward); the last
        // condition keeps a broken feed from spinning here.
        while self.failed.is_none() && self.position != target && self.index.records() <= target.transfers {
            worked = true;
            if let Err(error) = self.ingest_toward(target) {
                self.failed = Some(error);
                break;
            }
            if mode == CatchUp::OneStep {
                break;
            }
        }
        worked
    }

    /// Ingests up to one read of records toward `target`; publishes `target` once all its
    /// records are in.
    fn ingest_toward(&mut self, target: IndexPosition) -> Result<(), HistoryError> {
        let ingested = self.index.records();
        if ingested < target.transfers {
            if target.transfers > POSITION_LIMIT {
                return Err(HistoryError::CapacityReached { limit: POSITION_LIMIT });
            }
            let count = usize::try_from(target.transfers - ingested)
                .map_or(self.buffer.len(), |n| n.min(self.buffer.len()));
            let file = match &self.file {
                Some(file) => file,
                None => self.file.insert(RecordFile::open(&self.path)?),
            };
            let records = &mut self.buffer[..count];
            file.read_records(ingested, records)?;
            self.index.ingest(records).map_err(|error| match error {
                IngestError::Corrupt { record, reason } => HistoryError::Corrupt {
                    path: self.path.clone(),
                    record,
                    offset: record_offset(record),
                    reason,
                },
                IngestError::CapacityReached => HistoryError::CapacityReached { limit: POSITION_LIMIT },
            })?;
        }
        if self.index.records() == target.transfers {
            self.publish(target);
        }
        Ok(())
    }

    fn publish(&mut self, position: IndexPosition) {
        self.position = position;
        self.publish_memory();
        self.shared.position.store(position);
    }

    fn publish_memory(&self) {
        let memory = self.index.memory();
        let values = [
            memory.transfers,
            memory.accounts.accounts as u64,
            memory.accounts.id_table_bytes as u64,
            (memory.accounts.list_head_bytes + memory.accounts.posting_bytes) as u64,
            memory.chunk_bytes as u64,
            self.code_totals.allocated_bytes() as u64,
        ];
        for (cell, value) in self.shared.memory.iter().zip(values) {
            cell.store(value, Ordering::Relaxed);
        }
    }

    fn answer(&mut self, mut query: Query) {
        let Some(request) = query.request.take() else { return };
        if let Some(error) = &self.failed {
            request.fail(error.clone());
            return;
        }
        match request {
            Request::Account(filter, reply) => {
                let result = match &self.file {
                    Some(file) => search::account_transfers(&self.index, file, &filter),
                    None => Ok(self.nothing_ingested()),
                };
                reply(result.map(|transfers| (transfers, self.position)));
            }
            Request::Transfers(filter, reply) => {
                let result = match &self.file {
                    Some(file) => search::query_transfers(&self.index, file, &filter, &mut self.buffer),
                    None => Ok(self.nothing_ingested()),
                };
                reply(result.map(|transfers| (transfers, self.position)));
            }
            Request::TrialBalance(request, reply) => {
                let result = self.trial_balance(request);
                self.publish_memory();
                reply(result);
            }
        }
    }

    /// Without a file nothing is ingested, so nothing can be read: every query is answered
    /// empty.
    fn nothing_ingested(&self) -> Vec<Transfer> {
        debug_assert_eq!(self.index.records(), 0);
        Vec::new()
    }

    /// Learns the codes the request brings, asks for the ones still missing, attributes the
    /// records not attributed yet, and adds up (`code_totals`).
    fn trial_balance(&mut self, request: TrialBalanceRequest) -> Result<TrialBalanceAnswer, HistoryError> {
        let accounts = self.index.accounts();
        self.code_totals.learn(accounts, &request.codes);
        let wanted = self.code_totals.codes_wanted(accounts, CODES_WANTED_MAX);
        if !wanted.is_empty() {
            return Ok(TrialBalanceAnswer::CodesWanted(wanted));
        }
        let ledger_and_time = (request.ledger, request.at);
        let Some(file) = &self.file else {
            debug_assert_eq!(self.index.records(), 0);
            let empty = crate::code_totals::LedgerTotals {
                ledger: request.ledger,
                position: self.position,
                at: 0,
                rows: Vec::new(),
            };
            return Ok(TrialBalanceAnswer::Totals(empty));
        };
        let limit = self.position.transfers;
        self.code_totals.attribute(&self.index, file, limit, &mut self.buffer)?;
        self.code_totals
            .ledger_totals(&self.index, file, ledger_and_time, self.position, &mut self.buffer)
            .map(TrialBalanceAnswer::Totals)
    }
}

impl Drop for Worker {
    /// On the way out (stop, or a panic in a reply): close the queue and answer what is left,
    /// so that no reply is lost and none is queued afterwards.
    fn drop(&mut self) {
        let left = {
            let mut queries = self.shared.queries_locked();
            queries.closed = true;
            std::mem::take(&mut queries.queue)
        };
        drop(left);
    }
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker").field("position", &self.position).finish_non_exhaustive()
    }
}

// The handles cross threads: queries come from any thread, the feed moves to the WAL thread.
const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    const fn send<T: Send>() {}
    send_sync::<HistoryIndex>();
    send::<DurableFeed>();
};
