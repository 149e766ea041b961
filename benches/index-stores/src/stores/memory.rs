//! The in-memory index: per account, the record positions of its transfers in time order. It is
//! rebuilt at start by scanning the transfer record file, or loaded from a snapshot file.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::measure::evict_from_page_cache_file;
use crate::store::{IndexStore, Measure, StoreError};
use crate::workload::{
    BATCH_TRANSFERS_MAX, CommittedTransfer, TRANSFER_CREDIT_ACCOUNT_ID_OFFSET,
    TRANSFER_DEBIT_ACCOUNT_ID_OFFSET, TRANSFER_SIZE,
};

/// The record file the ledger's WAL would hold: 128-byte transfers back to back. The bench
/// writes it outside the timed commits, because the WAL pays for it, not the index.
pub const RECORD_FILE_NAME: &str = "transfers.records";
const SNAPSHOT_FILE_NAME: &str = "history.snapshot";

/// Snapshot layout (all integers little-endian):
///
/// ```text
/// offset  size  field
///      0     8  magic "HISTIDX1"
///      8     8  account count
///     16        per account: 16 B account id, 8 B posting count n, then n * 8 B record positions
/// ```
const SNAPSHOT_MAGIC: &[u8; 8] = b"HISTIDX1";
const SNAPSHOT_HEADER_SIZE: usize = 16;
const SNAPSHOT_ACCOUNT_HEADER_SIZE: usize = 24;

type Index = HashMap<u128, Vec<u64>, foldhash::fast::RandomState>;

#[derive(Debug)]
pub struct MemoryStore {
    accounts: Index,
}

pub fn record_file(dir: &Path) -> PathBuf {
    dir.join(RECORD_FILE_NAME)
}

/// Appends committed batches to the record file (the WAL's share of the work, not timed).
#[derive(Debug)]
pub struct RecordFileWriter {
    out: BufWriter<File>,
}

impl RecordFileWriter {
    pub fn create(dir: &Path) -> Result<Self, StoreError> {
        let file = File::create(record_file(dir))?;
        Ok(Self { out: BufWriter::with_capacity(BATCH_TRANSFERS_MAX * TRANSFER_SIZE, file) })
    }

    pub fn append(&mut self, batch: &[CommittedTransfer]) -> Result<(), StoreError> {
        let mut record = [0_u8; TRANSFER_SIZE];
        for transfer in batch {
            transfer.write_record(&mut record);
            self.out.write_all(&record)?;
        }
        Ok(())
    }

    pub fn finish(self) -> Result<(), StoreError> {
        let file = self.out.into_inner().map_err(std::io::IntoInnerError::into_error)?;
        file.sync_all()?;
        Ok(())
    }
}

impl MemoryStore {
    fn empty() -> Self {
        Self { accounts: HashMap::with_hasher(foldhash::fast::RandomState::default()) }
    }

    fn push(&mut self, account_id: u128, position: u64) {
        self.accounts.entry(account_id).or_default().push(position);
    }

    /// Heap bytes held: list capacities plus the table's slots (key, `Vec` header, control byte).
    pub fn heap_bytes(&self) -> u64 {
        let lists: usize = self.accounts.values().map(|list| list.capacity() * 8).sum();
        let slot = size_of::<u128>() + size_of::<Vec<u64>>() + 1;
        (lists + self.accounts.capacity() * slot) as u64
    }

    /// Writes the snapshot and fsyncs it; returns its size in bytes.
    pub fn write_snapshot(&self, path: &Path) -> Result<u64, StoreError> {
        let file = File::create(path)?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        out.write_all(SNAPSHOT_MAGIC)?;
        out.write_all(&(self.accounts.len() as u64).to_le_bytes())?;
        let mut bytes = SNAPSHOT_HEADER_SIZE as u64;
        for (account_id, positions) in &self.accounts {
            out.write_all(&account_id.to_le_bytes())?;
            out.write_all(&(positions.len() as u64).to_le_bytes())?;
            for position in positions {
                out.write_all(&position.to_le_bytes())?;
            }
            bytes += (SNAPSHOT_ACCOUNT_HEADER_SIZE + positions.len() * 8) as u64;
        }
        let file = out.into_inner().map_err(std::io::IntoInnerError::into_error)?;
        file.sync_all()?;
        Ok(bytes)
    }

    /// Loads a snapshot written by `write_snapshot`, validating every length before using it.
    pub fn load_snapshot(path: &Path) -> Result<Self, StoreError> {
        const CORRUPT: StoreError = StoreError::Corrupt { what: "snapshot" };
        let bytes = std::fs::read(path)?;
        let header = bytes.get(..SNAPSHOT_HEADER_SIZE).ok_or(CORRUPT)?;
        if &header[..8] != SNAPSHOT_MAGIC {
            return Err(CORRUPT);
        }
        let account_count = read_u64(header, 8).ok_or(CORRUPT)?;
        let mut store = Self::empty();
        store.accounts.reserve(usize::try_from(account_count).map_err(|_| CORRUPT)?);
        let mut at = SNAPSHOT_HEADER_SIZE;
        for _ in 0..account_count {
            let account = bytes.get(at..at + SNAPSHOT_ACCOUNT_HEADER_SIZE).ok_or(CORRUPT)?;
            let account_id = u128::from_le_bytes(account[..16].try_into().map_err(|_| CORRUPT)?);
            let count = usize::try_from(read_u64(account, 16).ok_or(CORRUPT)?).map_err(|_| CORRUPT)?;
            at += SNAPSHOT_ACCOUNT_HEADER_SIZE;
            let end = count.checked_mul(8).and_then(|n| n.checked_add(at)).ok_or(CORRUPT)?;
            let list = bytes.get(at..end).ok_or(CORRUPT)?;
            let positions: Vec<u64> = list
                .chunks_exact(8)
                .map(|chunk| u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8])))
                .collect();
            if store.accounts.insert(account_id, positions).is_some() {
                return Err(CORRUPT);
            }
            at = end;
        }
        if at != bytes.len() {
            return Err(CORRUPT);
        }
        Ok(store)
    }
}

fn read_u64(bytes: &[u8], offset: usize) -> Option<u64> {
    Some(u64::from_le_bytes(bytes.get(offset..offset + 8)?.try_into().ok()?))
}

fn read_u128(bytes: &[u8], offset: usize) -> Option<u128> {
    Some(u128::from_le_bytes(bytes.get(offset..offset + 16)?.try_into().ok()?))
}

/// Fills `buf` from `file` until it is full or the file ends; returns the bytes read.
fn read_full(file: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

impl IndexStore for MemoryStore {
    fn create(_dir: &Path) -> Result<Self, StoreError> {
        Ok(Self::empty())
    }

    /// Rebuilds the index by scanning the record file, as the ledger does at start.
    fn open(dir: &Path) -> Result<Self, StoreError> {
        const CORRUPT: StoreError = StoreError::Corrupt { what: "record file" };
        let mut file = File::open(record_file(dir))?;
        let mut store = Self::empty();
        let mut buf = vec![0_u8; BATCH_TRANSFERS_MAX * TRANSFER_SIZE];
        let mut position = 0_u64;
        loop {
            let len = read_full(&mut file, &mut buf)?;
            if len % TRANSFER_SIZE != 0 {
                return Err(CORRUPT);
            }
            for record in buf[..len].chunks_exact(TRANSFER_SIZE) {
                let debit = read_u128(record, TRANSFER_DEBIT_ACCOUNT_ID_OFFSET).ok_or(CORRUPT)?;
                let credit = read_u128(record, TRANSFER_CREDIT_ACCOUNT_ID_OFFSET).ok_or(CORRUPT)?;
                store.push(debit, position);
                store.push(credit, position);
                position += TRANSFER_SIZE as u64;
            }
            if len < buf.len() {
                return Ok(store);
            }
        }
    }

    fn commit(&mut self, batch: &[CommittedTransfer], _durable: bool) -> Result<(), StoreError> {
        // Nothing to fsync: the record file (the WAL's) is what the index is rebuilt from.
        for transfer in batch {
            self.push(transfer.debit_account_id, transfer.position);
            self.push(transfer.credit_account_id, transfer.position);
        }
        Ok(())
    }

    fn close(self) -> Result<(), StoreError> {
        Ok(())
    }

    fn latest(&self, account_id: u128, limit: usize, out: &mut Vec<u64>) -> Result<(), StoreError> {
        if let Some(positions) = self.accounts.get(&account_id) {
            out.extend(positions.iter().rev().take(limit));
        }
        Ok(())
    }

    fn measure_after_ingest(&self, dir: &Path) -> Result<Vec<Measure>, StoreError> {
        let started = Instant::now();
        let bytes = self.write_snapshot(&dir.join(SNAPSHOT_FILE_NAME))?;
        let elapsed = started.elapsed();
        Ok(vec![
            ("index_heap_bytes", self.heap_bytes().to_string()),
            ("snapshot_bytes", bytes.to_string()),
            ("snapshot_write_fsync_s", format!("{:.3}", elapsed.as_secs_f64())),
        ])
    }

    fn measure_after_reads(dir: &Path) -> Result<Vec<Measure>, StoreError> {
        let path = dir.join(SNAPSHOT_FILE_NAME);
        evict_from_page_cache_file(&path)?;
        let started = Instant::now();
        let cold = Self::load_snapshot(&path)?;
        let cold_elapsed = started.elapsed();
        drop(cold);
        let started = Instant::now();
        let warm = Self::load_snapshot(&path)?;
        let warm_elapsed = started.elapsed();
        Ok(vec![
            ("snapshot_accounts", warm.accounts.len().to_string()),
            ("snapshot_load_cold_s", format!("{:.3}", cold_elapsed.as_secs_f64())),
            ("snapshot_load_warm_s", format!("{:.3}", warm_elapsed.as_secs_f64())),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::Workload;

    fn sample() -> (tempfile::TempDir, MemoryStore) {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut store = MemoryStore::create(dir.path()).expect("create");
        let mut records = RecordFileWriter::create(dir.path()).expect("record file");
        let mut workload = Workload::new(3, 20_000, 50);
        let mut batch = Vec::new();
        while workload.next_batch(&mut batch) {
            records.append(&batch).expect("append");
            store.commit(&batch, false).expect("commit");
        }
        records.finish().expect("finish");
        (dir, store)
    }

    #[test]
    fn rebuild_and_snapshot_give_the_same_index() {
        let (dir, store) = sample();
        let rebuilt = MemoryStore::open(dir.path()).expect("rebuild");
        assert_eq!(rebuilt.accounts, store.accounts);
        let snapshot = dir.path().join("snap");
        let bytes = store.write_snapshot(&snapshot).expect("snapshot");
        assert_eq!(bytes, std::fs::metadata(&snapshot).expect("stat").len());
        let loaded = MemoryStore::load_snapshot(&snapshot).expect("load");
        assert_eq!(loaded.accounts, store.accounts);
    }

    #[test]
    fn truncated_snapshot_is_refused() {
        let (dir, store) = sample();
        let snapshot = dir.path().join("snap");
        store.write_snapshot(&snapshot).expect("snapshot");
        let bytes = std::fs::read(&snapshot).expect("read");
        std::fs::write(&snapshot, &bytes[..bytes.len() - 3]).expect("write");
        assert!(matches!(MemoryStore::load_snapshot(&snapshot), Err(StoreError::Corrupt { .. })));
    }
}
