//! Where the full records of accepted transfers live.
//!
//! The engine keeps only a 24-byte index entry per transfer id in memory for idempotency and
//! pending-state checks; the 128-byte record is needed again only on the rare duplicate path
//! (`exists_with_different_*`), for post/void of a pending transfer (kept apart in memory while
//! live) and for lookups. So the record store is a trait: memory for tests and small books, an
//! append-only file (read back with one `pread` on the rare path) for large ones.

use crate::chunked::ChunkedVec;
use crate::transfer::Transfer;

/// Position of a transfer record in its store, in acceptance order.
pub type TransferLocator = u64;

pub trait TransferStore {
    /// Appends an accepted transfer and returns its locator (`len()` before the call).
    fn append(&mut self, transfer: &Transfer) -> TransferLocator;
    /// Reads a transfer back. `None` only for a locator this store never returned.
    fn get(&self, locator: TransferLocator) -> Option<Transfer>;
    fn len(&self) -> u64;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Forgets the records at `len..`: a linked chain that failed is rolled back.
    fn truncate(&mut self, len: u64);
    /// Bytes held in memory by the store.
    fn resident_bytes(&self) -> usize;
    /// Visits every record in acceptance order (state hashing, snapshots).
    fn for_each(&self, visit: &mut dyn FnMut(&Transfer));
}

/// All records in memory, in chunks that never move.
#[derive(Debug, Default)]
pub struct MemoryTransferStore {
    records: ChunkedVec<Transfer>,
}

impl MemoryTransferStore {
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Transfer> {
        self.records.iter()
    }
}

impl TransferStore for MemoryTransferStore {
    fn append(&mut self, transfer: &Transfer) -> TransferLocator {
        self.records.push(*transfer) as TransferLocator
    }

    fn get(&self, locator: TransferLocator) -> Option<Transfer> {
        self.records.get(usize::try_from(locator).ok()?).copied()
    }

    fn len(&self) -> u64 {
        self.records.len() as u64
    }

    fn truncate(&mut self, len: u64) {
        self.records.truncate(usize::try_from(len).unwrap_or(usize::MAX));
    }

    fn resident_bytes(&self) -> usize {
        self.records.allocated_bytes()
    }

    fn for_each(&self, visit: &mut dyn FnMut(&Transfer)) {
        self.records.iter().for_each(visit);
    }
}
