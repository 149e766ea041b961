//! Reading the record file: 128-byte `Transfer` records (`docs/formats.md`), record `n` at byte
//! `n * 128`, in creation (= timestamp) order. The writer appends; this side only reads, with
//! positioned reads (`pread`), so it shares no file cursor with anyone and never blocks the
//! writer.

use crate::error::HistoryError;
use ledger_core::TRANSFER_SIZE;
use ledger_core::transfer::TRANSFER_TIMESTAMP_OFFSET;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// One encoded transfer record.
pub type Record = [u8; TRANSFER_SIZE];

/// Where the index reads records from: the record file, or memory in tests.
pub trait RecordSource {
    /// Fills `out` with the bytes at `offset`; all of them or an error.
    fn read_at(&self, offset: u64, out: &mut [u8]) -> Result<(), HistoryError>;

    /// Names the source in errors.
    fn path(&self) -> &Path;

    fn read_record(&self, position: u64) -> Result<Record, HistoryError> {
        let mut record = [0_u8; TRANSFER_SIZE];
        self.read_at(record_offset(position), &mut record)?;
        Ok(record)
    }

    /// Only the timestamp of a record: 8 bytes, all a binary search needs.
    fn read_timestamp(&self, position: u64) -> Result<u64, HistoryError> {
        let mut timestamp = [0_u8; 8];
        self.read_at(record_offset(position) + TRANSFER_TIMESTAMP_OFFSET as u64, &mut timestamp)?;
        Ok(u64::from_le_bytes(timestamp))
    }

    /// Reads the records `first..first + out.len()`.
    fn read_records(&self, first: u64, out: &mut [Record]) -> Result<(), HistoryError> {
        self.read_at(record_offset(first), out.as_flattened_mut())
    }
}

/// The byte offset of record `position`. Positions are below `posting::POSITION_LIMIT`
/// (2^39), so this never overflows.
#[must_use]
pub fn record_offset(position: u64) -> u64 {
    position.saturating_mul(TRANSFER_SIZE as u64)
}

/// The record file, opened for reading.
#[derive(Debug)]
pub struct RecordFile {
    path: PathBuf,
    file: File,
}

impl RecordFile {
    pub fn open(path: &Path) -> Result<Self, HistoryError> {
        let file = File::open(path).map_err(|e| HistoryError::Io {
            path: path.to_path_buf(),
            offset: 0,
            source: Arc::new(e),
        })?;
        Ok(Self { path: path.to_path_buf(), file })
    }
}

impl RecordSource for RecordFile {
    fn read_at(&self, offset: u64, out: &mut [u8]) -> Result<(), HistoryError> {
        self.file.read_exact_at(out, offset).map_err(|e| HistoryError::Io {
            path: self.path.clone(),
            offset,
            source: Arc::new(e),
        })
    }

    fn path(&self) -> &Path {
        &self.path
    }
}

/// Records in memory, for tests of the queries without files.
#[cfg(test)]
#[derive(Debug, Default)]
pub struct MemoryRecords {
    pub bytes: Vec<u8>,
}

#[cfg(test)]
impl RecordSource for MemoryRecords {
    fn read_at(&self, offset: u64, out: &mut [u8]) -> Result<(), HistoryError> {
        let eof = || HistoryError::Io {
            path: PathBuf::from("<memory>"),
            offset,
            source: Arc::new(std::io::ErrorKind::UnexpectedEof.into()),
        };
        let start = usize::try_from(offset).map_err(|_| eof())?;
        let end = start.checked_add(out.len()).ok_or_else(eof)?;
        out.copy_from_slice(self.bytes.get(start..end).ok_or_else(eof)?);
        Ok(())
    }

    fn path(&self) -> &Path {
        Path::new("<memory>")
    }
}

/// Little-endian field readers for a `Record`. The offsets are `ledger_core::transfer`'s layout
/// constants, all inside the 128 bytes, so the slices are in bounds.
pub(crate) fn field_u128(record: &Record, offset: usize) -> u128 {
    let mut b = [0_u8; 16];
    b.copy_from_slice(&record[offset..offset + 16]);
    u128::from_le_bytes(b)
}

pub(crate) fn field_u64(record: &Record, offset: usize) -> u64 {
    let mut b = [0_u8; 8];
    b.copy_from_slice(&record[offset..offset + 8]);
    u64::from_le_bytes(b)
}

pub(crate) fn field_u32(record: &Record, offset: usize) -> u32 {
    let mut b = [0_u8; 4];
    b.copy_from_slice(&record[offset..offset + 4]);
    u32::from_le_bytes(b)
}

pub(crate) fn field_u16(record: &Record, offset: usize) -> u16 {
    let mut b = [0_u8; 2];
    b.copy_from_slice(&record[offset..offset + 2]);
    u16::from_le_bytes(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ledger_core::Transfer;
    use ledger_core::transfer::{TRANSFER_CODE_OFFSET, TRANSFER_CREDIT_ACCOUNT_ID_OFFSET};

    #[test]
    fn records_are_read_back_whole_and_by_timestamp() {
        let transfers: Vec<Transfer> = (1..=3_u64)
            .map(|i| Transfer {
                id: u128::from(i),
                credit_account_id: 9,
                code: 4,
                timestamp: i * 10,
                ..Transfer::default()
            })
            .collect();
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("transfers.records");
        let bytes: Vec<u8> = transfers.iter().flat_map(Transfer::to_bytes).collect();
        std::fs::write(&path, &bytes).expect("write");
        let memory = MemoryRecords { bytes };
        let file = RecordFile::open(&path).expect("open");
        for source in [&file as &dyn RecordSource, &memory] {
            let record = source.read_record(1).expect("record 1");
            assert_eq!(Transfer::from_bytes(&record), transfers[1]);
            assert_eq!(field_u128(&record, TRANSFER_CREDIT_ACCOUNT_ID_OFFSET), 9);
            assert_eq!(field_u16(&record, TRANSFER_CODE_OFFSET), 4);
            assert_eq!(source.read_timestamp(2).expect("timestamp"), 30);
            let mut two = [[0_u8; TRANSFER_SIZE]; 2];
            source.read_records(1, &mut two).expect("two records");
            assert_eq!(Transfer::from_bytes(&two[1]), transfers[2]);
            let short = source.read_records(2, &mut two);
            assert!(matches!(short, Err(HistoryError::Io { offset: 256, .. })), "{short:?}");
        }
    }
}
