//! Where the full records of accepted transfers live.
//!
//! The engine keeps only a 24-byte index entry per transfer id in memory for idempotency and
//! pending-state checks; the 128-byte record is needed again only on the rare duplicate path
//! (`exists_with_different_*`), for post/void of a pending transfer (kept apart in memory while
//! live) and for lookups. So the record store is a trait: memory for tests and small books, an
//! append-only file (read back with one `pread` on the rare path) for large ones.

use crate::chunked::ChunkedVec;
use crate::transfer::{TRANSFER_SIZE, Transfer};
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// Position of a transfer record in its store, in acceptance order.
pub type TransferLocator = u64;

pub trait TransferStore {
    /// Whether records outlive the process in the store's own file. A snapshot then records
    /// only how many there are; otherwise it carries the records themselves.
    const KEEPS_RECORDS: bool;

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
    /// Hands buffered records to durable-ish storage (one write per batch, never per event).
    /// The memory store has nothing to do.
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
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
    const KEEPS_RECORDS: bool = false;

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

/// Records in an append-only file of 128-byte records (`docs/formats.md`), in acceptance order:
/// record `n` sits at byte `n * 128`. Appends collect in a buffer that `flush` writes with one
/// `write` per batch; reads of flushed records are one `pread` each, which only the rare
/// duplicate path and client lookups need. So a remembered transfer costs its 24-byte index slot
/// in memory, not its record.
///
/// The file is derived data: the WAL and snapshots are the system of record, and recovery
/// rebuilds or truncates this file to match them. No `fsync` here for that reason.
#[derive(Debug)]
pub struct FileTransferStore {
    path: PathBuf,
    file: File,
    /// Records in the file.
    flushed: u64,
    /// Encoded records not yet written, in order after `flushed`.
    buffer: Vec<u8>,
    /// A failed write leaves the store unusable rather than silently short (the page cache may
    /// have dropped what it had; retrying as if nothing happened could hide a hole).
    failed: bool,
}

impl FileTransferStore {
    /// Creates (or truncates) the record file at `path`.
    pub fn create(path: impl AsRef<Path>) -> std::io::Result<Self> {
        let path = path.as_ref().to_path_buf();
        let file = OpenOptions::new().read(true).write(true).create(true).truncate(true).open(&path)?;
        Ok(Self { path, file, flushed: 0, buffer: Vec::new(), failed: false })
    }

    /// Opens an existing record file holding at least `records` records and cuts it to exactly
    /// that many: what a snapshot covers. Records written after the snapshot are rewritten by
    /// WAL replay.
    pub fn open_at(path: impl AsRef<Path>, records: u64) -> std::io::Result<Self> {
        let path = path.as_ref().to_path_buf();
        let file = OpenOptions::new().read(true).write(true).open(&path)?;
        let bytes = records
            .checked_mul(TRANSFER_SIZE as u64)
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "record count overflows"))?;
        let len = file.metadata()?.len();
        if len < bytes {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!(
                    "{} holds {} records, the snapshot needs {records}",
                    path.display(),
                    len / TRANSFER_SIZE as u64
                ),
            ));
        }
        file.set_len(bytes)?;
        Ok(Self { path, file, flushed: records, buffer: Vec::new(), failed: false })
    }

    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl TransferStore for FileTransferStore {
    const KEEPS_RECORDS: bool = true;

    fn append(&mut self, transfer: &Transfer) -> TransferLocator {
        let locator = self.len();
        self.buffer.extend_from_slice(&transfer.to_bytes());
        locator
    }

    fn get(&self, locator: TransferLocator) -> Option<Transfer> {
        let mut record = [0_u8; TRANSFER_SIZE];
        if locator >= self.flushed {
            let start = usize::try_from(locator - self.flushed).ok()?.checked_mul(TRANSFER_SIZE)?;
            record.copy_from_slice(self.buffer.get(start..start + TRANSFER_SIZE)?);
        } else {
            // An I/O error on a record we wrote means the disk lost data: report "absent" to the
            // caller's assertion rather than inventing a record.
            self.file.read_exact_at(&mut record, locator * TRANSFER_SIZE as u64).ok()?;
        }
        Some(Transfer::from_bytes(&record))
    }

    fn len(&self) -> u64 {
        self.flushed + (self.buffer.len() / TRANSFER_SIZE) as u64
    }

    fn truncate(&mut self, len: u64) {
        // Rollback only ever drops records of the current batch, which are still buffered.
        assert!(len >= self.flushed, "cannot roll back records already written");
        let keep = usize::try_from(len - self.flushed).unwrap_or(usize::MAX).saturating_mul(TRANSFER_SIZE);
        self.buffer.truncate(keep);
    }

    fn resident_bytes(&self) -> usize {
        self.buffer.capacity()
    }

    fn for_each(&self, visit: &mut dyn FnMut(&Transfer)) {
        const RECORDS_PER_READ: usize = 8192;
        let mut chunk = vec![0_u8; RECORDS_PER_READ * TRANSFER_SIZE];
        let mut record = [0_u8; TRANSFER_SIZE];
        let mut next = 0_u64;
        while next < self.flushed {
            let count =
                usize::try_from(self.flushed - next).map_or(RECORDS_PER_READ, |n| n.min(RECORDS_PER_READ));
            let bytes = &mut chunk[..count * TRANSFER_SIZE];
            // Positioned reads: the file cursor is shared and never relied upon.
            if self.file.read_exact_at(bytes, next * TRANSFER_SIZE as u64).is_err() {
                return;
            }
            for encoded in bytes.chunks_exact(TRANSFER_SIZE) {
                record.copy_from_slice(encoded);
                visit(&Transfer::from_bytes(&record));
            }
            next += count as u64;
        }
        for encoded in self.buffer.chunks_exact(TRANSFER_SIZE) {
            record.copy_from_slice(encoded);
            visit(&Transfer::from_bytes(&record));
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.failed {
            return Err(std::io::Error::other(format!("{}: an earlier write failed", self.path.display())));
        }
        if self.buffer.is_empty() {
            return Ok(());
        }
        let offset = self.flushed * TRANSFER_SIZE as u64;
        if let Err(e) = self.file.write_all_at(&self.buffer, offset) {
            self.failed = true;
            return Err(e);
        }
        self.flushed += (self.buffer.len() / TRANSFER_SIZE) as u64;
        self.buffer.clear();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transfer(id: u128) -> Transfer {
        Transfer { id, amount: id * 10, ledger: 1, code: 1, ..Transfer::default() }
    }

    fn scratch_path(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("ledger-core-{}-{name}", std::process::id()))
    }

    #[test]
    fn file_store_reads_back_buffered_and_flushed_records() {
        let path = scratch_path("store-roundtrip");
        let mut store = FileTransferStore::create(&path).expect("create");
        assert_eq!(store.append(&transfer(1)), 0);
        assert_eq!(store.append(&transfer(2)), 1);
        assert_eq!(store.get(1), Some(transfer(2)), "served from the buffer");
        store.flush().expect("flush");
        assert!(store.resident_bytes() >= 2 * TRANSFER_SIZE);
        assert_eq!(store.append(&transfer(3)), 2);
        assert_eq!(store.get(0), Some(transfer(1)), "served from the file");
        assert_eq!(store.get(2), Some(transfer(3)));
        assert_eq!(store.get(3), None);
        store.truncate(2);
        assert_eq!(store.len(), 2);
        let mut seen = Vec::new();
        store.for_each(&mut |t| seen.push(t.id));
        store.for_each(&mut |t| seen.push(t.id));
        assert_eq!(seen, [1, 2, 1, 2]);
        assert_eq!(std::fs::metadata(&path).expect("file").len(), 2 * TRANSFER_SIZE as u64);
        std::fs::remove_file(&path).expect("cleanup");
    }

    #[test]
    #[should_panic(expected = "cannot roll back records already written")]
    fn file_store_refuses_to_roll_back_written_records() {
        let path = scratch_path("store-rollback");
        let mut store = FileTransferStore::create(&path).expect("create");
        store.append(&transfer(1));
        store.flush().expect("flush");
        let _ = std::fs::remove_file(&path);
        store.truncate(0);
    }
}
