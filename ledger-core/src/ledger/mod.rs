//! `Ledger`: the whole state of the books and the pure, deterministic `apply` of a batch.
//!
//! One writer owns a `Ledger`. A batch is a slice of events plus the writer's clock reading; the
//! same prior state and the same batch give the same state and results on any machine: no
//! wall-clock reads, no iteration over hash maps in anything hashed, stored or returned.
//!
//! Where each rule lives: `create_account.rs` and `create_transfer.rs` hold the per-event checks in
//! precedence order, `chain.rs` the linked-chain rollback, `expiry.rs` pending timeouts,
//! `balance_history.rs` the balance rows of accounts with the `history` flag, `queries.rs` the
//! reads by filter, `state_hash.rs` the hash that proves two states equal.

mod balance_history;
mod chain;
mod create_account;
mod create_transfer;
mod expiry;
mod invariants;
mod queries;
mod snapshot;
mod state_hash;

use crate::account::Account;
use crate::chunked::ChunkedVec;
use crate::id_index::IdIndex;
use crate::limits::{BATCH_EVENTS_MAX, LedgerConfig, TIMESTAMP_MAX};
use crate::result::{CreateAccountResult, CreateTransferResult, EventResult};
use crate::transfer::Transfer;
use crate::transfer_store::{MemoryTransferStore, TransferLocator, TransferStore};
use balance_history::BalanceHistory;
use chain::UndoLog;
use expiry::ExpiryQueue;
use foldhash::fast::RandomState;

pub use invariants::InvariantViolation;
pub use snapshot::{SNAPSHOT_HEADER_SIZE, SNAPSHOT_MAGIC, SNAPSHOT_VERSION, SnapshotError, SnapshotPosition};

/// What became of a transfer id. Kept in the top bits of the id index value, so a resolved
/// pending transfer costs no memory beyond its index entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum TransferState {
    /// A single-phase transfer, or a post/void: final when accepted.
    Committed = 0,
    /// A pending transfer still holding its reservation.
    Pending = 1,
    Posted = 2,
    Voided = 3,
    Expired = 4,
    /// Rejected for a transient reason: the id is burnt, there is no record.
    Failed = 5,
}

const STATE_SHIFT: u32 = 60;
const LOCATOR_MASK: u64 = (1 << STATE_SHIFT) - 1;

impl TransferState {
    fn pack(self, locator: TransferLocator) -> u64 {
        debug_assert!(locator <= LOCATOR_MASK);
        (u64::from(self as u8) << STATE_SHIFT) | locator
    }

    fn unpack(value: u64) -> (Self, TransferLocator) {
        // Only `pack` writes index values, and snapshot loading checks every value it reads
        // (`unpack_checked`); anything else is memory corruption.
        Self::unpack_checked(value).unwrap_or_else(|| unreachable!("corrupt transfer index value {value:#x}"))
    }

    fn unpack_checked(value: u64) -> Option<(Self, TransferLocator)> {
        let state = match value >> STATE_SHIFT {
            0 => Self::Committed,
            1 => Self::Pending,
            2 => Self::Posted,
            3 => Self::Voided,
            4 => Self::Expired,
            5 => Self::Failed,
            _ => return None,
        };
        Some((state, value & LOCATOR_MASK))
    }
}

/// The events of one batch. All events of a batch are of one kind, as on the wire.
#[derive(Clone, Copy, Debug)]
pub enum Events<'a> {
    CreateAccounts(&'a [Account]),
    CreateTransfers(&'a [Transfer]),
    /// No events: only advances the clock and expires pending transfers that timed out.
    Pulse,
}

impl Events<'_> {
    #[must_use]
    pub fn len(&self) -> usize {
        match self {
            Self::CreateAccounts(a) => a.len(),
            Self::CreateTransfers(t) => t.len(),
            Self::Pulse => 0,
        }
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The events of one batch, owned: what tests, fuzzers and tools keep to replay a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OwnedEvents {
    CreateAccounts(Vec<Account>),
    CreateTransfers(Vec<Transfer>),
    Pulse,
}

impl OwnedEvents {
    /// The borrowed form `apply` takes.
    #[must_use]
    pub fn events(&self) -> Events<'_> {
        match self {
            Self::CreateAccounts(accounts) => Events::CreateAccounts(accounts),
            Self::CreateTransfers(transfers) => Events::CreateTransfers(transfers),
            Self::Pulse => Events::Pulse,
        }
    }
}

/// Outputs of one batch, in buffers the caller reuses so that applying allocates nothing.
#[derive(Debug, Default)]
pub struct BatchResults {
    /// Failed account events by index, in index order (success is the absence of an entry).
    pub accounts: Vec<EventResult<CreateAccountResult>>,
    /// Failed transfer events by index, in index order.
    pub transfers: Vec<EventResult<CreateTransferResult>>,
    /// Pending transfers that expired in this batch, in (deadline, id) order.
    pub expired: Vec<u128>,
    /// Timestamp of the batch's last event (or the clock, for an empty batch).
    pub timestamp: u64,
}

impl BatchResults {
    #[must_use]
    pub fn with_capacity(events: usize) -> Self {
        Self {
            accounts: Vec::with_capacity(events),
            transfers: Vec::with_capacity(events),
            expired: Vec::new(),
            timestamp: 0,
        }
    }

    fn clear(&mut self) {
        self.accounts.clear();
        self.transfers.clear();
        self.expired.clear();
        self.timestamp = 0;
    }
}

/// A batch the engine refuses as a whole, before changing anything.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    #[error("batch has {events} events; at most {max} are allowed")]
    TooManyEvents { events: usize, max: usize },
    #[error("the clock would pass {max} ns (last timestamp {clock}, batch of {events} events)")]
    ClockExhausted { clock: u64, events: usize, max: u64 },
}

/// The books: accounts, transfers, pending reservations and the clock.
#[derive(Debug)]
pub struct Ledger<S: TransferStore = MemoryTransferStore> {
    config: LedgerConfig,
    accounts: ChunkedVec<Account>,
    /// Account id -> position in `accounts`.
    account_index: IdIndex,
    transfers: S,
    /// Transfer id -> `TransferState::pack(state, locator)`.
    transfer_index: IdIndex,
    /// Burnt ids in the order they failed (the index holds them too; this keeps them hashable
    /// in a deterministic order).
    failed_ids: ChunkedVec<u128>,
    /// Live pending transfers (stored form), by id.
    pending: hashbrown::HashMap<u128, Transfer, RandomState>,
    expiry: ExpiryQueue,
    /// Balance rows of the accounts with the `history` flag.
    history: BalanceHistory,
    /// The last timestamp assigned; every new event gets a larger one.
    clock: u64,
    undo: UndoLog,
}

impl Ledger<MemoryTransferStore> {
    #[must_use]
    pub fn new(config: LedgerConfig) -> Self {
        Self::with_store(config, MemoryTransferStore::new())
    }
}

impl Default for Ledger<MemoryTransferStore> {
    fn default() -> Self {
        Self::new(LedgerConfig::default())
    }
}

impl<S: TransferStore> Ledger<S> {
    /// A ledger whose transfer records go to `store` (which must be empty).
    pub fn with_store(config: LedgerConfig, store: S) -> Self {
        assert!(store.is_empty(), "a new ledger starts from an empty transfer store");
        Self {
            account_index: IdIndex::with_capacity(config.accounts_initial_capacity),
            transfer_index: IdIndex::with_capacity(config.transfers_initial_capacity),
            config,
            accounts: ChunkedVec::new(),
            transfers: store,
            failed_ids: ChunkedVec::new(),
            pending: hashbrown::HashMap::default(),
            expiry: ExpiryQueue::default(),
            history: BalanceHistory::default(),
            clock: 0,
            undo: UndoLog::default(),
        }
    }

    #[must_use]
    pub fn config(&self) -> &LedgerConfig {
        &self.config
    }

    /// Applies one batch. `now_ns` is the writer's clock reading for this batch (recorded in the
    /// WAL with the batch, so replay passes the same value). Failures of single events are
    /// results, not errors; an `Err` means nothing was changed.
    pub fn apply(
        &mut self,
        now_ns: u64,
        events: Events<'_>,
        results: &mut BatchResults,
    ) -> Result<(), BatchError> {
        results.clear();
        let count = events.len();
        if count > BATCH_EVENTS_MAX {
            return Err(BatchError::TooManyEvents { events: count, max: BATCH_EVENTS_MAX });
        }
        // Event i gets `first + i`; the last event's timestamp is max(now, clock + count), so
        // timestamps strictly increase even if the wall clock steps back.
        let count_u64 = count as u64;
        let last = now_ns.max(self.clock.saturating_add(count_u64));
        if last >= TIMESTAMP_MAX {
            return Err(BatchError::ClockExhausted { clock: self.clock, events: count, max: TIMESTAMP_MAX });
        }
        let first = last - count_u64 + 1;

        // Pending transfers whose deadline passed before this batch's first event are released
        // first, so that the batch sees the amounts they held.
        self.expire_pending(first.min(last), &mut results.expired);
        match events {
            Events::CreateAccounts(accounts) => {
                self.run_batch(accounts, first, &mut results.accounts, Self::create_account);
            }
            Events::CreateTransfers(transfers) => {
                self.run_batch(transfers, first, &mut results.transfers, Self::create_transfer);
            }
            Events::Pulse => {}
        }
        self.expire_pending(last, &mut results.expired);
        self.clock = last;
        results.timestamp = last;
        debug_assert!(self.undo.is_empty());
        Ok(())
    }

    /// Convenience for tests and tools: applies account events and returns the failures.
    pub fn create_accounts(
        &mut self,
        now_ns: u64,
        accounts: &[Account],
    ) -> Result<Vec<EventResult<CreateAccountResult>>, BatchError> {
        let mut results = BatchResults::default();
        self.apply(now_ns, Events::CreateAccounts(accounts), &mut results)?;
        Ok(results.accounts)
    }

    /// Convenience for tests and tools: applies transfer events and returns the failures.
    pub fn create_transfers(
        &mut self,
        now_ns: u64,
        transfers: &[Transfer],
    ) -> Result<Vec<EventResult<CreateTransferResult>>, BatchError> {
        let mut results = BatchResults::default();
        self.apply(now_ns, Events::CreateTransfers(transfers), &mut results)?;
        Ok(results.transfers)
    }

    #[must_use]
    pub fn lookup_account(&self, id: u128) -> Option<Account> {
        let position = self.account_index.get(id)?;
        self.accounts.get(usize::try_from(position).ok()?).copied()
    }

    /// Looks up many accounts; ids that do not exist are skipped, as in TigerBeetle.
    pub fn lookup_accounts(&self, ids: &[u128], out: &mut Vec<Account>) {
        out.extend(ids.iter().filter_map(|id| self.lookup_account(*id)));
    }

    #[must_use]
    pub fn lookup_transfer(&self, id: u128) -> Option<Transfer> {
        let (state, locator) = TransferState::unpack(self.transfer_index.get(id)?);
        if state == TransferState::Failed {
            return None;
        }
        self.transfers.get(locator)
    }

    /// Looks up many transfers; ids that do not exist (or were burnt) are skipped.
    pub fn lookup_transfers(&self, ids: &[u128], out: &mut Vec<Transfer>) {
        out.extend(ids.iter().filter_map(|id| self.lookup_transfer(*id)));
    }

    /// The state of a transfer id: committed, pending, posted, voided, expired or failed.
    #[must_use]
    pub fn transfer_state(&self, id: u128) -> Option<TransferState> {
        self.transfer_index.get(id).map(|v| TransferState::unpack(v).0)
    }

    /// The last timestamp assigned.
    #[must_use]
    pub fn clock(&self) -> u64 {
        self.clock
    }

    #[must_use]
    pub fn account_count(&self) -> usize {
        self.accounts.len()
    }

    /// Accepted transfers (not counting burnt ids).
    #[must_use]
    pub fn transfer_count(&self) -> u64 {
        self.transfers.len()
    }

    #[must_use]
    pub fn pending_count(&self) -> usize {
        self.pending.len()
    }

    /// Accounts in creation order.
    pub fn accounts(&self) -> impl Iterator<Item = &Account> {
        self.accounts.iter()
    }

    #[must_use]
    pub fn transfer_store(&self) -> &S {
        &self.transfers
    }

    /// Backs the pre-sized id indexes with memory now (see `IdIndex::prefault`): a deployment
    /// that sizes its indexes from configuration pays the page faults at start-up instead of as
    /// latency spikes on the write path.
    pub fn prefault_indexes(&mut self) {
        self.account_index.prefault();
        self.transfer_index.prefault();
    }

    /// Writes the transfer records buffered by this batch to the store (one write per batch).
    /// An error is fatal for the writer: the store cannot be trusted to be complete.
    pub fn flush_transfer_store(&mut self) -> std::io::Result<()> {
        self.transfers.flush()
    }

    /// The earliest deadline of a live pending transfer: when the writer should pulse next.
    #[must_use]
    pub fn next_expiry(&self) -> Option<u64> {
        self.expiry.peek_deadline()
    }

    /// Memory held by the state, by part (what the capacity figures in `docs/performance.md`
    /// are measured with).
    #[must_use]
    pub fn memory_usage(&self) -> MemoryUsage {
        MemoryUsage {
            accounts_bytes: self.accounts.allocated_bytes(),
            account_index_bytes: self.account_index.allocated_bytes(),
            transfer_index_bytes: self.transfer_index.allocated_bytes(),
            transfer_records_bytes: self.transfers.resident_bytes(),
            pending_bytes: self.pending.allocation_size() + self.expiry.allocated_bytes(),
            balance_history_bytes: self.history.allocated_bytes(),
        }
    }

    /// Balance rows kept for accounts with the `history` flag, all accounts together.
    #[must_use]
    pub fn balance_row_count(&self) -> u64 {
        self.history.len()
    }

    /// Runs the events of one batch, honouring linked chains (see `chain.rs`).
    fn run_batch<E: chain::ChainEvent, R: chain::ChainResult>(
        &mut self,
        events: &[E],
        first_timestamp: u64,
        results: &mut Vec<EventResult<R>>,
        create: fn(&mut Self, &E, u64) -> R,
    ) {
        let count = events.len();
        let mut chain_start: Option<usize> = None;
        let mut chain_failed = false;
        for (index, event) in events.iter().enumerate() {
            // Start loading the index slots of an event a few places ahead, so that its cache
            // misses overlap with the work on this one instead of stalling in its checks.
            if let Some(ahead) = events.get(index + PREFETCH_DISTANCE) {
                ahead.prefetch(self);
            }
            let timestamp = first_timestamp + index as u64;
            let linked = event.is_linked();
            if linked && chain_start.is_none() {
                chain_start = Some(index);
                chain_failed = false;
                self.undo.begin();
            }
            // A chain still open at the end of the batch fails on its last event, whatever
            // happened earlier in it.
            let closes_batch_open = linked && index + 1 == count;
            let result = if closes_batch_open {
                R::LINKED_EVENT_CHAIN_OPEN
            } else if chain_failed {
                R::LINKED_EVENT_FAILED
            } else {
                create(self, event, timestamp)
            };
            if !result.is_ok() {
                if let Some(start) = chain_start
                    && !chain_failed
                {
                    // The first failure of a chain: undo what the chain applied so far and
                    // report every earlier member as failed because of this one.
                    self.rollback_chain();
                    for earlier in start..index {
                        results
                            .push(EventResult { index: index_u32(earlier), result: R::LINKED_EVENT_FAILED });
                    }
                    chain_failed = true;
                }
                results.push(EventResult { index: index_u32(index), result });
                if result.burns_id() {
                    self.burn_transfer_id(event.id());
                }
            }
            if !linked || closes_batch_open {
                if chain_start.is_some() && !chain_failed {
                    self.undo.commit();
                }
                chain_start = None;
                chain_failed = false;
            }
        }
        debug_assert!(chain_start.is_none(), "a batch never ends inside a chain");
    }

    fn burn_transfer_id(&mut self, id: u128) {
        debug_assert!(self.transfer_index.get(id).is_none());
        self.transfer_index.insert_new(id, TransferState::Failed.pack(0));
        self.failed_ids.push(id);
    }
}

/// Memory held by each part of the state, in bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemoryUsage {
    pub accounts_bytes: usize,
    pub account_index_bytes: usize,
    pub transfer_index_bytes: usize,
    pub transfer_records_bytes: usize,
    pub pending_bytes: usize,
    /// Balance rows of `history` accounts and their per-account position lists.
    pub balance_history_bytes: usize,
}

/// How many events ahead `run_batch` prefetches: enough to cover a DRAM miss (~100 ns) with the
/// work on the events in between, few enough that the lines are still in L1 when used.
const PREFETCH_DISTANCE: usize = 8;

#[expect(clippy::cast_possible_truncation, reason = "batches hold at most BATCH_EVENTS_MAX events")]
fn index_u32(index: usize) -> u32 {
    debug_assert!(index < BATCH_EVENTS_MAX);
    index as u32
}
