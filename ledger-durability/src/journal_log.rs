//! `journal.log`: one record per WAL op, in op order, with the op's timestamps and the entry
//! notes its `create_transfers` batch carried. Derived data, kept beside the WAL because the WAL
//! is retired behind snapshots while readers (the journal views, the change feed, finance
//! exports) need every op's notes and the op of every transfer forever.
//!
//! Written by the WAL thread after each group is durable (one `pwrite` per group, no sync);
//! synced before an online snapshot is started and by `compact` before it writes one, so that
//! a snapshot never covers ops whose journal records could be lost. At open the file is
//! validated, cut back to the snapshot's op (or at a torn tail), and replay re-appends the ops
//! after it from the WAL. Records are contiguous in op: a gap is impossible by construction and
//! is reported if found.
//!
//! Byte layout of a record (little-endian, records back to back, each a multiple of 8 bytes):
//!
//! ```text
//! offset  size  field            type
//!      0     4  magic            u32   JOURNAL_MAGIC ("LJNL")
//!      4     4  record_len       u32   header + notes + zero padding to a multiple of 8
//!      8     8  op               u64   the WAL op
//!     16     8  timestamp_first  u64   as in the WAL record
//!     24     8  timestamp_last   u64
//!     32     4  event_count      u32   events of the batch (transfers for create_transfers)
//!     36     1  operation        u8    as in the WAL record (1 accounts, 2 transfers, 3 pulse)
//!     37     3  reserved         u8×3  zero
//!     40     4  notes_len        u32   bytes of notes (`notes.rs`) after the header
//!     44     4  checksum         u32   CRC32C of bytes 0..44, then of the notes
//! ```

use crate::notes::{self, Note, NotesError};
use crate::wal::{Operation, RecordHeader};
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

pub const JOURNAL_FILE: &str = "journal.log";
/// The widest span of the file `JournalIndex::notes_at` reads in one go.
const NOTES_READ_BYTES_MAX: u64 = 8 * 1024 * 1024;
pub const JOURNAL_MAGIC: u32 = u32::from_le_bytes(*b"LJNL");

pub const JOURNAL_MAGIC_OFFSET: usize = 0;
pub const JOURNAL_RECORD_LEN_OFFSET: usize = 4;
pub const JOURNAL_OP_OFFSET: usize = 8;
pub const JOURNAL_TIMESTAMP_FIRST_OFFSET: usize = 16;
pub const JOURNAL_TIMESTAMP_LAST_OFFSET: usize = 24;
pub const JOURNAL_EVENT_COUNT_OFFSET: usize = 32;
pub const JOURNAL_OPERATION_OFFSET: usize = 36;
pub const JOURNAL_NOTES_LEN_OFFSET: usize = 40;
pub const JOURNAL_CHECKSUM_OFFSET: usize = 44;
pub const JOURNAL_HEADER_SIZE: usize = 48;
const _: () = assert!(JOURNAL_CHECKSUM_OFFSET + 4 == JOURNAL_HEADER_SIZE);

/// Appends the journal record of one WAL record to `out`. `notes` is the record's notes section
/// (already only the created runs).
pub fn encode_record(out: &mut Vec<u8>, header: &RecordHeader, notes: &[u8]) {
    let start = out.len();
    let unpadded = JOURNAL_HEADER_SIZE + notes.len();
    let record_len = unpadded.div_ceil(8) * 8;
    out.resize(start + JOURNAL_HEADER_SIZE, 0);
    out.extend_from_slice(notes);
    out.resize(start + record_len, 0);
    let head = &mut out[start..start + JOURNAL_HEADER_SIZE];
    head[JOURNAL_MAGIC_OFFSET..][..4].copy_from_slice(&JOURNAL_MAGIC.to_le_bytes());
    head[JOURNAL_RECORD_LEN_OFFSET..][..4]
        .copy_from_slice(&u32::try_from(record_len).unwrap_or(u32::MAX).to_le_bytes());
    head[JOURNAL_OP_OFFSET..][..8].copy_from_slice(&header.op.to_le_bytes());
    head[JOURNAL_TIMESTAMP_FIRST_OFFSET..][..8].copy_from_slice(&header.timestamp_first.to_le_bytes());
    head[JOURNAL_TIMESTAMP_LAST_OFFSET..][..8].copy_from_slice(&header.timestamp_last.to_le_bytes());
    head[JOURNAL_EVENT_COUNT_OFFSET..][..4].copy_from_slice(&header.event_count.to_le_bytes());
    head[JOURNAL_OPERATION_OFFSET] = header.operation as u8;
    head[JOURNAL_NOTES_LEN_OFFSET..][..4]
        .copy_from_slice(&u32::try_from(notes.len()).unwrap_or(u32::MAX).to_le_bytes());
    let checksum = crc32c::crc32c_append(crc32c::crc32c(&head[..JOURNAL_CHECKSUM_OFFSET]), notes);
    head[JOURNAL_CHECKSUM_OFFSET..][..4].copy_from_slice(&checksum.to_le_bytes());
}

/// One journal record, decoded and checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JournalRecord<'a> {
    pub op: u64,
    pub operation: Operation,
    pub timestamp_first: u64,
    pub timestamp_last: u64,
    pub event_count: u32,
    pub notes: Vec<Note<'a>>,
    /// Bytes of the record in the file.
    pub record_len: usize,
}

/// Why bytes are not a journal record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum JournalRecordError {
    #[error("cut short")]
    Truncated,
    #[error("bad magic")]
    BadMagic,
    #[error("bad record length {0}")]
    BadLength(u32),
    #[error("checksum mismatch")]
    Checksum,
    #[error("invalid operation {0}")]
    BadOperation(u8),
    #[error("{0}")]
    Notes(#[from] NotesError),
}

/// Decodes the record at the start of `bytes`.
pub fn decode_record(bytes: &[u8]) -> Result<JournalRecord<'_>, JournalRecordError> {
    let head = bytes.get(..JOURNAL_HEADER_SIZE).ok_or(JournalRecordError::Truncated)?;
    if read_u32(head, JOURNAL_MAGIC_OFFSET) != JOURNAL_MAGIC {
        return Err(JournalRecordError::BadMagic);
    }
    let record_len = read_u32(head, JOURNAL_RECORD_LEN_OFFSET);
    let notes_len = read_u32(head, JOURNAL_NOTES_LEN_OFFSET) as usize;
    let len = record_len as usize;
    if !len.is_multiple_of(8) || len != (JOURNAL_HEADER_SIZE + notes_len).div_ceil(8) * 8 {
        return Err(JournalRecordError::BadLength(record_len));
    }
    let record = bytes.get(..len).ok_or(JournalRecordError::Truncated)?;
    let notes_bytes = &record[JOURNAL_HEADER_SIZE..JOURNAL_HEADER_SIZE + notes_len];
    let checksum = crc32c::crc32c_append(crc32c::crc32c(&head[..JOURNAL_CHECKSUM_OFFSET]), notes_bytes);
    if checksum != read_u32(head, JOURNAL_CHECKSUM_OFFSET) {
        return Err(JournalRecordError::Checksum);
    }
    let operation_byte = head[JOURNAL_OPERATION_OFFSET];
    let operation =
        Operation::from_u8(operation_byte).ok_or(JournalRecordError::BadOperation(operation_byte))?;
    let event_count = read_u32(head, JOURNAL_EVENT_COUNT_OFFSET);
    Ok(JournalRecord {
        op: read_u64(head, JOURNAL_OP_OFFSET),
        operation,
        timestamp_first: read_u64(head, JOURNAL_TIMESTAMP_FIRST_OFFSET),
        timestamp_last: read_u64(head, JOURNAL_TIMESTAMP_LAST_OFFSET),
        event_count,
        notes: notes::decode(notes_bytes, event_count)?,
        record_len: len,
    })
}

/// What opening the journal found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JournalOpened {
    /// The first and last op the kept file holds (`None`: empty).
    pub ops: Option<(u64, u64)>,
    /// Bytes dropped at the end: a torn or unsynced tail, or ops after the snapshot that
    /// replay writes again.
    pub bytes_cut: u64,
    /// The file was missing or did not reach the snapshot's op (lost or damaged outside the
    /// rules above): the journal starts again after the snapshot, and ops up to this one have
    /// no journal records (reported at start-up).
    pub records_lost_through_op: Option<u64>,
    /// Where the file that did not reach the snapshot was moved.
    pub moved_aside: Option<PathBuf>,
}

/// The journal file, open for appending (on the WAL thread).
#[derive(Debug)]
pub struct JournalLog {
    file: File,
    end: u64,
    next_op: u64,
}

#[derive(Debug, thiserror::Error)]
#[error("journal {path}: {source}")]
pub struct JournalIoError {
    pub path: String,
    #[source]
    pub source: std::io::Error,
}

impl JournalLog {
    /// Opens (creating if needed) the journal in `dir` for a ledger recovered to WAL op
    /// `snapshot_op`: keeps the valid records up to that op and cuts the rest. Replay then
    /// appends the ops after it in order ([`JournalLog::append_replayed`]).
    pub fn open(dir: &Path, snapshot_op: u64) -> Result<(Self, JournalOpened), JournalIoError> {
        let path = dir.join(JOURNAL_FILE);
        let io = |source| JournalIoError { path: path.display().to_string(), source };
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(io(e)),
        };
        let mut offset = 0_usize;
        let mut first_op = None;
        let mut last_op = None;
        while offset < bytes.len() {
            let Ok(record) = decode_record(&bytes[offset..]) else { break };
            let contiguous = last_op.is_none_or(|last: u64| record.op == last + 1);
            if !contiguous || record.op > snapshot_op {
                break;
            }
            first_op.get_or_insert(record.op);
            last_op = Some(record.op);
            offset += record.record_len;
        }
        let mut opened = JournalOpened {
            ops: first_op.zip(last_op),
            bytes_cut: (bytes.len() - offset) as u64,
            records_lost_through_op: None,
            moved_aside: None,
        };
        // The kept records must reach the snapshot's op (an empty journal with no snapshot is
        // the fresh case).
        let reaches = last_op.unwrap_or(0) == snapshot_op;
        if !reaches {
            let aside = dir.join(format!("{JOURNAL_FILE}.behind-op-{snapshot_op}"));
            if !bytes.is_empty() {
                std::fs::rename(&path, &aside).map_err(io)?;
                opened.moved_aside = Some(aside);
            }
            offset = 0;
            opened.ops = None;
            opened.bytes_cut = 0;
            opened.records_lost_through_op = Some(snapshot_op);
        }
        let file =
            OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path).map_err(io)?;
        file.set_len(offset as u64).map_err(io)?;
        file.sync_all().map_err(io)?;
        Ok((Self { file, end: offset as u64, next_op: snapshot_op + 1 }, opened))
    }

    /// Appends the journal record of a WAL record replayed at start-up (`notes`: its notes
    /// section).
    pub fn append_replayed(&mut self, header: &RecordHeader, notes: &[u8]) -> std::io::Result<()> {
        let mut out = Vec::with_capacity(JOURNAL_HEADER_SIZE + notes.len() + 8);
        encode_record(&mut out, header, notes);
        self.append(&out, header.op, header.op)
    }

    /// Appends encoded records for ops `first_op..=last_op` (one group), at the end.
    pub fn append(&mut self, records: &[u8], first_op: u64, last_op: u64) -> std::io::Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        assert_eq!(first_op, self.next_op, "journal records must continue the op sequence");
        self.file.write_all_at(records, self.end)?;
        self.end += records.len() as u64;
        self.next_op = last_op + 1;
        Ok(())
    }

    /// Makes everything appended durable.
    pub fn sync(&self) -> std::io::Result<()> {
        self.file.sync_data()
    }

    /// Bytes of valid records in the file.
    #[must_use]
    pub const fn end(&self) -> u64 {
        self.end
    }
}

/// A reader's view of the journal (the server's read side): an index of ops and notes built
/// from the file as it grows, and note payloads read on demand.
#[derive(Debug)]
pub struct JournalIndex {
    file: File,
    /// Bytes indexed so far.
    indexed_to: u64,
    /// Per op with transfers: (op, timestamp_first, timestamp_last), in op order.
    ops: Vec<OpSpan>,
    /// Per note: the timestamp of its first transfer, its op, its run length and where its
    /// payload is. Ascending by timestamp.
    notes: Vec<NoteSpan>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct OpSpan {
    op: u64,
    timestamp_first: u64,
    timestamp_last: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct NoteSpan {
    timestamp: u64,
    op: u64,
    count: u32,
    payload_len: u32,
    payload_offset: u64,
}

/// A note as a reader gets it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JournalNote {
    pub op: u64,
    /// Timestamp of the run's first transfer.
    pub timestamp: u64,
    /// Transfers in the run (their timestamps are `timestamp..timestamp + count`).
    pub count: u32,
    pub payload: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum JournalReadError {
    #[error("reading the journal: {0}")]
    Io(#[from] std::io::Error),
    #[error("journal damaged at byte {offset}: {error}")]
    Damaged { offset: u64, error: JournalRecordError },
}

impl JournalIndex {
    pub fn open(dir: &Path) -> std::io::Result<Self> {
        let file = File::open(dir.join(JOURNAL_FILE))?;
        Ok(Self { file, indexed_to: 0, ops: Vec::new(), notes: Vec::new() })
    }

    /// Indexes the records written up to byte `end` (a durable point's `journal_end`).
    pub fn catch_up(&mut self, end: u64) -> Result<(), JournalReadError> {
        if end <= self.indexed_to {
            return Ok(());
        }
        let len = usize::try_from(end - self.indexed_to).unwrap_or(usize::MAX);
        let mut bytes = vec![0_u8; len];
        self.file.read_exact_at(&mut bytes, self.indexed_to)?;
        let mut offset = 0_usize;
        while offset < bytes.len() {
            let at = self.indexed_to + offset as u64;
            let record = decode_record(&bytes[offset..])
                .map_err(|error| JournalReadError::Damaged { offset: at, error })?;
            if record.operation == Operation::CreateTransfers && record.event_count > 0 {
                self.ops.push(OpSpan {
                    op: record.op,
                    timestamp_first: record.timestamp_first,
                    timestamp_last: record.timestamp_last,
                });
            }
            let notes_start = at + JOURNAL_HEADER_SIZE as u64;
            let mut note_offset = notes_start;
            for note in &record.notes {
                let payload_offset = note_offset + notes::NOTE_HEAD_SIZE as u64;
                self.notes.push(NoteSpan {
                    timestamp: record.timestamp_first + u64::from(note.first),
                    op: record.op,
                    count: note.count,
                    payload_len: u32::try_from(note.payload.len()).unwrap_or(u32::MAX),
                    payload_offset,
                });
                note_offset = payload_offset + note.payload.len() as u64;
            }
            offset += record.record_len;
        }
        self.indexed_to = end;
        Ok(())
    }

    /// The op that created the transfer with this timestamp (if it was created by an indexed
    /// `create_transfers` op).
    #[must_use]
    pub fn op_of(&self, timestamp: u64) -> Option<u64> {
        let i = self.ops.partition_point(|span| span.timestamp_last < timestamp);
        self.ops.get(i).filter(|span| span.timestamp_first <= timestamp).map(|span| span.op)
    }

    /// The timestamp of the first transfer of the first op at or after `op` that created
    /// transfers (`None`: no such op indexed yet).
    #[must_use]
    pub fn first_timestamp_from_op(&self, op: u64) -> Option<u64> {
        let i = self.ops.partition_point(|span| span.op < op);
        self.ops.get(i).map(|span| span.timestamp_first)
    }

    /// The timestamp of the newest transfer indexed (0: none).
    #[must_use]
    pub fn timestamp_last(&self) -> u64 {
        self.ops.last().map_or(0, |span| span.timestamp_last)
    }

    /// The note whose run starts at the transfer with this timestamp.
    pub fn note_at(&self, timestamp: u64) -> Result<Option<JournalNote>, JournalReadError> {
        let i = self.notes.partition_point(|span| span.timestamp < timestamp);
        let Some(span) = self.notes.get(i).filter(|span| span.timestamp == timestamp) else {
            return Ok(None);
        };
        let mut payload = vec![0_u8; span.payload_len as usize];
        self.file.read_exact_at(&mut payload, span.payload_offset)?;
        Ok(Some(JournalNote { op: span.op, timestamp: span.timestamp, count: span.count, payload }))
    }

    /// The notes whose runs start at these timestamps (each `None` where no run starts), read
    /// with one `pread` when they lie close together in the file (consecutive entries do),
    /// else one per note.
    pub fn notes_at(&self, timestamps: &[u64]) -> Result<Vec<Option<JournalNote>>, JournalReadError> {
        let spans: Vec<Option<NoteSpan>> = timestamps
            .iter()
            .map(|&timestamp| {
                let i = self.notes.partition_point(|span| span.timestamp < timestamp);
                self.notes.get(i).filter(|span| span.timestamp == timestamp).copied()
            })
            .collect();
        let start = spans.iter().flatten().map(|s| s.payload_offset).min();
        let end = spans.iter().flatten().map(|s| s.payload_offset + u64::from(s.payload_len)).max();
        let (Some(start), Some(end)) = (start, end) else { return Ok(vec![None; timestamps.len()]) };
        if end - start > NOTES_READ_BYTES_MAX {
            return timestamps.iter().map(|&t| self.note_at(t)).collect();
        }
        let mut bytes = vec![0_u8; usize::try_from(end - start).unwrap_or(0)];
        self.file.read_exact_at(&mut bytes, start)?;
        Ok(spans
            .into_iter()
            .map(|span| {
                span.map(|span| {
                    let from = usize::try_from(span.payload_offset - start).unwrap_or(0);
                    let payload = bytes[from..from + span.payload_len as usize].to_vec();
                    JournalNote { op: span.op, timestamp: span.timestamp, count: span.count, payload }
                })
            })
            .collect())
    }

    /// Notes indexed so far.
    #[must_use]
    pub fn note_count(&self) -> usize {
        self.notes.len()
    }

    /// Bytes of the index in memory.
    #[must_use]
    pub fn memory_bytes(&self) -> usize {
        self.ops.capacity() * size_of::<OpSpan>() + self.notes.capacity() * size_of::<NoteSpan>()
    }
}

fn read_u32(bytes: &[u8], offset: usize) -> u32 {
    let mut x = [0_u8; 4];
    x.copy_from_slice(&bytes[offset..offset + 4]);
    u32::from_le_bytes(x)
}

fn read_u64(bytes: &[u8], offset: usize) -> u64 {
    let mut x = [0_u8; 8];
    x.copy_from_slice(&bytes[offset..offset + 8]);
    u64::from_le_bytes(x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wal::record::{RecordFields, begin_record, finish_record};
    use ledger_core::CreateTransferResult;
    use ledger_core::writer::EntryNotes;

    fn header(op: u64, timestamp_first: u64, event_count: u32, notes: &[u8]) -> RecordHeader {
        let mut out = Vec::new();
        let start = begin_record(&mut out);
        out.resize(out.len() + event_count as usize * 128, 0);
        out.extend_from_slice(notes);
        let fields = RecordFields {
            operation: Operation::CreateTransfers,
            op,
            clock_ns: 1,
            timestamp_first,
            timestamp_last: timestamp_first + u64::from(event_count.max(1)) - 1,
            prev_checksum: 0,
        };
        finish_record(&mut out, start, &fields, u32::try_from(notes.len()).expect("small"));
        let mut bytes = [0_u8; 64];
        bytes.copy_from_slice(&out[..64]);
        RecordHeader::decode(&bytes).expect("valid")
    }

    fn notes_section(runs: &[(u32, u32, &[u8])]) -> Vec<u8> {
        let mut notes = EntryNotes::default();
        for &(first, count, payload) in runs {
            notes.push(first, count, payload);
        }
        let mut out = Vec::new();
        notes::encode_created::<CreateTransferResult>(&mut out, &notes, &[]);
        out
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("ledger-journal-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        dir
    }

    #[test]
    fn records_round_trip_and_every_flipped_bit_is_caught() {
        let notes = notes_section(&[(0, 2, b"A"), (2, 1, b"event B")]);
        let mut out = Vec::new();
        encode_record(&mut out, &header(7, 100, 3, &notes), &notes);
        assert!(out.len().is_multiple_of(8));
        let record = decode_record(&out).expect("valid");
        assert_eq!(
            (record.op, record.timestamp_first, record.timestamp_last, record.event_count),
            (7, 100, 102, 3)
        );
        assert_eq!(record.notes.len(), 2);
        assert_eq!(record.notes[1].payload, b"event B");
        for bit in 0..(JOURNAL_HEADER_SIZE + notes.len()) * 8 {
            let mut damaged = out.clone();
            damaged[bit / 8] ^= 1 << (bit % 8);
            assert!(decode_record(&damaged).is_err(), "bit {bit}");
        }
    }

    #[test]
    fn open_keeps_records_up_to_the_snapshot_and_replay_appends_the_rest() {
        let dir = scratch("open");
        let (mut log, opened) = JournalLog::open(&dir, 0).expect("fresh");
        assert_eq!(opened, JournalOpened::default());
        for op in 1..=5_u64 {
            let notes = notes_section(&[(0, 1, format!("note {op}").as_bytes())]);
            log.append_replayed(&header(op, op * 10, 2, &notes), &notes).expect("append");
        }
        let full = log.end();
        drop(log);
        // A torn tail: half of op 5 written.
        let file = OpenOptions::new().write(true).open(dir.join(JOURNAL_FILE)).expect("open");
        file.set_len(full - 20).expect("cut");
        drop(file);
        let (log, opened) = JournalLog::open(&dir, 3).expect("reopen at snapshot op 3");
        assert_eq!(opened.ops, Some((1, 3)));
        assert!(opened.bytes_cut > 0);
        let mut index = JournalIndex::open(&dir).expect("index");
        index.catch_up(log.end()).expect("catch up");
        assert_eq!(index.note_count(), 3);
        assert_eq!(index.op_of(20), Some(2));
        assert_eq!(index.op_of(21), Some(2));
        assert_eq!(index.op_of(22), None);
        assert_eq!(index.first_timestamp_from_op(2), Some(20));
        assert_eq!(index.first_timestamp_from_op(4), None);
        assert_eq!(index.timestamp_last(), 31);
        let note = index.note_at(30).expect("read").expect("found");
        assert_eq!((note.op, note.count, note.payload.as_slice()), (3, 1, &b"note 3"[..]));
        assert_eq!(index.note_at(31).expect("read"), None);
        let batch = index.notes_at(&[10, 11, 30, 20]).expect("read");
        let payloads: Vec<Option<Vec<u8>>> = batch.into_iter().map(|n| n.map(|n| n.payload)).collect();
        assert_eq!(
            payloads,
            [Some(b"note 1".to_vec()), None, Some(b"note 3".to_vec()), Some(b"note 2".to_vec())]
        );
        assert_eq!(index.notes_at(&[11, 12]).expect("read"), vec![None, None]);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn verify_reports_gaps_and_bad_notes_but_not_a_torn_tail() {
        let dir = scratch("verify");
        let notes = notes_section(&[(0, 1, b"good"), (1, 1, b"bad")]);
        let mut bytes = Vec::new();
        for op in [1, 2, 4] {
            encode_record(&mut bytes, &header(op, op * 10, 2, &notes), &notes);
        }
        let two_records = bytes.len() / 3 * 2;
        std::fs::write(dir.join(JOURNAL_FILE), &bytes[..two_records]).expect("write");
        let accept_good =
            |payload: &[u8]| if payload == b"good" { Ok(()) } else { Err("not good".to_owned()) };
        let report = verify(&dir, |_| Ok(())).expect("two contiguous records");
        assert_eq!((report.records, report.ops, report.notes, report.tail_bytes), (2, Some((1, 2)), 4, 0));
        assert!(matches!(
            verify(&dir, accept_good),
            Err(JournalVerifyError::BadNote { op: 1, index: 1, .. })
        ));
        std::fs::write(dir.join(JOURNAL_FILE), &bytes).expect("write");
        assert!(matches!(
            verify(&dir, |_| Ok(())),
            Err(JournalVerifyError::Gap { previous: 2, found: 4, .. })
        ));
        std::fs::write(dir.join(JOURNAL_FILE), &bytes[..two_records + 10]).expect("write");
        assert_eq!(verify(&dir, |_| Ok(())).expect("torn tail").tail_bytes, 10);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_journal_behind_the_snapshot_is_moved_aside_and_reported() {
        let dir = scratch("behind");
        let (mut log, _) = JournalLog::open(&dir, 0).expect("fresh");
        let notes = notes_section(&[]);
        log.append_replayed(&header(1, 10, 1, &notes), &notes).expect("append");
        drop(log);
        let (log, opened) = JournalLog::open(&dir, 5).expect("snapshot at op 5");
        assert_eq!((log.end(), opened.records_lost_through_op), (0, Some(5)));
        let aside = opened.moved_aside.expect("moved aside");
        assert!(aside.exists());
        drop(log);
        // Missing altogether behind a snapshot: reported too.
        std::fs::remove_file(dir.join(JOURNAL_FILE)).expect("remove");
        let (_, opened) = JournalLog::open(&dir, 5).expect("snapshot at op 5");
        assert_eq!((opened.records_lost_through_op, opened.moved_aside), (Some(5), None));
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// What `verify` found in `journal.log`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JournalReport {
    pub records: u64,
    /// First and last op (`None`: empty or absent).
    pub ops: Option<(u64, u64)>,
    pub notes: u64,
    /// Bytes after the last valid record: an unsynced tail that start-up cuts and rebuilds
    /// from the WAL (not damage).
    pub tail_bytes: u64,
}

/// Why `journal.log` is damaged beyond a torn tail.
#[derive(Debug, thiserror::Error)]
pub enum JournalVerifyError {
    #[error("journal.log: {0}")]
    Io(#[from] std::io::Error),
    #[error("journal.log: op {found} at byte {offset} does not follow op {previous}")]
    Gap { offset: u64, previous: u64, found: u64 },
    #[error("journal.log: note {index} of op {op} at byte {offset}: {reason}")]
    BadNote { offset: u64, op: u64, index: usize, reason: String },
}

/// Checks `journal.log` in `dir` read-only: every record's checksum and note layout, ops
/// contiguous; `check_note` judges each note's payload (the server decodes event records).
/// Invalid bytes at the end are reported as a tail, not damage.
pub fn verify(
    dir: &Path,
    mut check_note: impl FnMut(&[u8]) -> Result<(), String>,
) -> Result<JournalReport, JournalVerifyError> {
    let bytes = match std::fs::read(dir.join(JOURNAL_FILE)) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(JournalReport::default()),
        Err(e) => return Err(e.into()),
    };
    let mut report = JournalReport::default();
    let mut offset = 0_usize;
    while offset < bytes.len() {
        let Ok(record) = decode_record(&bytes[offset..]) else { break };
        if let Some((_, last)) = report.ops
            && record.op != last + 1
        {
            return Err(JournalVerifyError::Gap { offset: offset as u64, previous: last, found: record.op });
        }
        for (index, note) in record.notes.iter().enumerate() {
            check_note(note.payload).map_err(|reason| JournalVerifyError::BadNote {
                offset: offset as u64,
                op: record.op,
                index,
                reason,
            })?;
        }
        report.records += 1;
        report.notes += record.notes.len() as u64;
        report.ops = Some((report.ops.map_or(record.op, |(first, _)| first), record.op));
        offset += record.record_len;
    }
    report.tail_bytes = (bytes.len() - offset) as u64;
    Ok(report)
}
