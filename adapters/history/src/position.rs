//! `IndexPosition`: a durable point of the ledger (the op and the number of transfer records
//! after it), and `PositionCell`, which publishes one between threads without a lock.

use std::sync::atomic::{AtomicU64, Ordering, fence};

/// A durable point: after WAL op `op`, the record file holds `transfers` committed records.
/// The index is current to a position when it has ingested exactly those records.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IndexPosition {
    pub op: u64,
    pub transfers: u64,
}

/// One `IndexPosition` shared between one writer thread and any number of readers, read whole:
/// a sequence lock over two atomics. A reader never sees the op of one point with the transfer
/// count of another (which could claim an op whose transfers are not ingested yet). The writer
/// never waits; a reader retries only while a store is between its two halves.
#[derive(Debug, Default)]
pub(crate) struct PositionCell {
    /// Odd while a store is in progress.
    sequence: AtomicU64,
    op: AtomicU64,
    transfers: AtomicU64,
}

impl PositionCell {
    /// Stores a position. Only one thread may store into a cell (the caller's contract: the
    /// feed is `!Sync`, the index position is stored by the index thread alone).
    pub(crate) fn store(&self, position: IndexPosition) {
        let sequence = self.sequence.load(Ordering::Relaxed);
        self.sequence.store(sequence.wrapping_add(1), Ordering::Relaxed);
        // Orders the odd sequence before the data: a reader that sees new data sees it odd or
        // changed.
        fence(Ordering::Release);
        self.op.store(position.op, Ordering::Relaxed);
        self.transfers.store(position.transfers, Ordering::Relaxed);
        self.sequence.store(sequence.wrapping_add(2), Ordering::Release);
    }

    pub(crate) fn load(&self) -> IndexPosition {
        loop {
            let before = self.sequence.load(Ordering::Acquire);
            if before & 1 == 0 {
                let op = self.op.load(Ordering::Relaxed);
                let transfers = self.transfers.load(Ordering::Relaxed);
                fence(Ordering::Acquire);
                if self.sequence.load(Ordering::Relaxed) == before {
                    return IndexPosition { op, transfers };
                }
            }
            std::hint::spin_loop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_stored_position_is_read_back() {
        let cell = PositionCell::default();
        assert_eq!(cell.load(), IndexPosition::default());
        cell.store(IndexPosition { op: 7, transfers: 9 });
        assert_eq!(cell.load(), IndexPosition { op: 7, transfers: 9 });
    }

    #[test]
    fn readers_never_see_halves_of_two_positions() {
        // The writer always stores transfers = 3 * op: a torn read would break the relation.
        let cell = Arc::new(PositionCell::default());
        let writer = {
            let cell = Arc::clone(&cell);
            std::thread::spawn(move || {
                for op in 1..=200_000_u64 {
                    cell.store(IndexPosition { op, transfers: 3 * op });
                }
            })
        };
        let mut last = 0;
        while last < 200_000 {
            let position = cell.load();
            assert_eq!(position.transfers, 3 * position.op, "torn read");
            assert!(position.op >= last, "positions only move forward");
            last = position.op;
        }
        writer.join().expect("writer");
    }
}
