//! Reading the WAL back: `recover` replays it (and cuts a torn tail), `verify` checks it read-only.
//!
//! Every record is checked: header (magic, version, checksum, fields), body checksum, op
//! continuity (no gap, no repeat, each segment named after the op it continues with) and the hash
//! chain (each `prev_checksum` is the previous record's checksum).
//!
//! The torn-tail rule. A crash can interrupt only the one group write that was not yet
//! acknowledged: it started at the end of the last acknowledged record, in the last segment, and
//! is at most `GROUP_BYTES_MAX` bytes long, of which any subset of sectors may have reached the
//! disk, in any order. So in the last segment the first invalid record (bad header, bad body
//! checksum, or cut short by the end of the file) at offset X ends the log, and everything from X
//! on is dropped, provided that no valid record header lies at or beyond X + `GROUP_BYTES_MAX`:
//! such a header cannot come from that write, so the damage is in the middle of the log and
//! recovery stops with an error. Everything else is fatal too, never skipped: invalid data in
//! any other segment, an op gap or repeat, a broken chain, a misnamed segment.
//!
//! What this rule cannot tell apart: bit rot in the last acknowledged record(s) of the log, with
//! no later record beyond the window, looks exactly like a torn write and is dropped as a torn
//! tail (reported in `RecoveryEnd::torn_tail`, never replayed). The recovery starting point
//! (`LogPosition`, from the snapshot) bounds this: a log that ends before it is an error.

use super::error::WalError;
use super::record::{RECORD_BODY_BYTES_MAX, RECORD_HEADER_SIZE, RecordHeader};
use super::segment::{SegmentInfo, list_segments};
use super::writer::GROUP_BYTES_MAX;
use crate::storage::{Storage, StorageFile};
use std::sync::Arc;

/// Bytes read at a time when looking past the end of a segment's records.
const SCAN_CHUNK_BYTES: usize = 1024 * 1024;
const _: () = assert!(SCAN_CHUNK_BYTES.is_multiple_of(RECORD_HEADER_SIZE));

/// A point in the log: an op and the record checksum of that op (what a snapshot records).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogPosition {
    pub op: u64,
    pub checksum: u32,
}

impl LogPosition {
    /// Before the first record: replay everything; record 1 must have `prev_checksum` 0.
    pub const GENESIS: Self = Self { op: 0, checksum: 0 };
}

/// The invalid data that ended the log in its last segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TornTail {
    pub segment: String,
    /// Offset of the first invalid record: the new end of the segment's records.
    pub offset: u64,
    /// The op that was expected there (the first op not recovered).
    pub op: u64,
    /// From `offset` to the end of the last non-zero byte of the segment.
    pub dropped_bytes: u64,
    /// Why the record at `offset` is invalid.
    pub reason: String,
}

/// Where the log ends after recovery: what `WalWriter::resume` continues from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecoveryEnd {
    /// All segments in op order; the writer appends to the last one.
    pub segments: Vec<SegmentInfo>,
    /// The op of the next record to write.
    pub next_op: u64,
    /// The record checksum of op `next_op - 1` (the next record's `prev_checksum`).
    pub last_checksum: u32,
    /// End of the last valid record in the last segment (0 without segments).
    pub tail_offset: u64,
    /// Present if a torn tail was cut off.
    pub torn_tail: Option<TornTail>,
    /// Records checked, and among them records passed to `visit` (op > the starting op).
    pub records_checked: u64,
    pub records_replayed: u64,
}

impl RecoveryEnd {
    /// The last durable position: the starting point for a later recovery or a snapshot.
    #[must_use]
    pub fn last_position(&self) -> LogPosition {
        LogPosition { op: self.next_op - 1, checksum: self.last_checksum }
    }
}

/// What `verify` found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyReport {
    pub segments: Vec<SegmentInfo>,
    pub records: u64,
    /// Op range of the valid records (`None` if there are none).
    pub first_op: Option<u64>,
    pub last_op: Option<u64>,
    /// Bytes of valid records.
    pub record_bytes: u64,
    /// Torn tail that `recover` would cut off.
    pub torn_tail: Option<TornTail>,
}

/// Replays the WAL: checks every record and calls `visit` for each record with op > `from.op`,
/// in op order. `from` is the position a snapshot covers (`LogPosition::GENESIS` without one);
/// the log must continue from it: it may start at or before `from.op + 1` (older segments not
/// yet retired are checked, not replayed) and must reach `from.op`, with matching checksums.
///
/// A torn tail in the last segment is cut off (the segment is truncated back to that offset and
/// re-extended with zeros to its size, then synced) and reported, so that the writer can resume.
///
/// `visit` runs as records are validated; on an error (including one found after some records
/// were visited) the caller must discard what it built.
pub fn recover<S, E>(
    storage: &S,
    from: LogPosition,
    mut visit: impl FnMut(&RecordHeader, &[u8]) -> Result<(), E>,
) -> Result<RecoveryEnd, WalError>
where
    S: Storage,
    E: std::error::Error + Send + Sync + 'static,
{
    let mut replayed = 0_u64;
    let scan = scan(storage, Some(from), true, |header, body| {
        if header.op > from.op {
            visit(header, body).map_err(|e| WalError::Replay { op: header.op, source: Arc::new(e) })?;
            replayed += 1;
        }
        Ok(())
    })?;
    Ok(RecoveryEnd {
        segments: scan.segments,
        next_op: scan.next_op,
        last_checksum: scan.last_checksum,
        tail_offset: scan.tail_offset,
        torn_tail: scan.torn_tail,
        records_checked: scan.records,
        records_replayed: replayed,
    })
}

/// Checks the whole WAL read-only (`ledger verify`): the same checks as `recover`, without a
/// starting point (the first record's `prev_checksum` is trusted if its predecessor was retired)
/// and without cutting a torn tail, which is only reported.
pub fn verify<S: Storage>(storage: &S) -> Result<VerifyReport, WalError> {
    let mut first_op = None;
    let scan = scan(storage, None, false, |header, _| {
        first_op.get_or_insert(header.op);
        Ok(())
    })?;
    Ok(VerifyReport {
        segments: scan.segments,
        records: scan.records,
        first_op,
        last_op: first_op.map(|_| scan.next_op - 1),
        record_bytes: scan.record_bytes,
        torn_tail: scan.torn_tail,
    })
}

struct Scan {
    segments: Vec<SegmentInfo>,
    next_op: u64,
    last_checksum: u32,
    tail_offset: u64,
    torn_tail: Option<TornTail>,
    records: u64,
    record_bytes: u64,
}

/// What lies after the last valid record of a segment.
struct AfterEnd {
    /// End of the last non-zero byte (`None`: all zeros).
    nonzero_end: Option<u64>,
    /// First non-zero byte.
    nonzero_start: Option<u64>,
    /// First valid record header at or beyond the group window.
    far_header: Option<(u64, u64)>,
}

fn scan<S: Storage>(
    storage: &S,
    from: Option<LogPosition>,
    repair: bool,
    mut visit: impl FnMut(&RecordHeader, &[u8]) -> Result<(), WalError>,
) -> Result<Scan, WalError> {
    let segments = list_segments(storage)?;
    let Some(first) = segments.first() else {
        let from_op = from.map_or(0, |f| f.op);
        if from_op > 0 {
            return Err(WalError::LogEndsTooEarly { last_op: 0, from_op });
        }
        return Ok(Scan {
            segments,
            next_op: 1,
            last_checksum: 0,
            tail_offset: 0,
            torn_tail: None,
            records: 0,
            record_bytes: 0,
        });
    };
    if let Some(from) = from
        && first.first_op > from.op + 1
    {
        return Err(WalError::LogStartsTooLate {
            segment: first.name.clone(),
            first_op: first.first_op,
            needed_op: from.op + 1,
        });
    }

    let mut expected_op = first.first_op;
    // The checksum the next record must chain to, when it is known: op 1 chains to 0, a log that
    // starts right after the starting point chains to it; otherwise the chain starts unanchored
    // at the first record (its predecessor was retired) and the anchor is checked at `from.op`.
    let mut last_checksum: Option<u32> = match from {
        _ if first.first_op == 1 => Some(0),
        Some(from) if first.first_op == from.op + 1 => Some(from.checksum),
        _ => None,
    };
    let mut records = 0_u64;
    let mut record_bytes = 0_u64;
    let mut tail_offset = 0_u64;
    let mut torn_tail = None;
    let mut header_bytes = [0_u8; RECORD_HEADER_SIZE];
    let mut body = Vec::with_capacity(RECORD_BODY_BYTES_MAX as usize);

    for (index, segment) in segments.iter().enumerate() {
        let is_last = index + 1 == segments.len();
        let name = segment.name.as_str();
        if segment.first_op != expected_op {
            return Err(WalError::SegmentMisnamed {
                segment: name.to_owned(),
                named_op: segment.first_op,
                expected_op,
            });
        }
        let io = |action: &'static str| move |e| WalError::io(action, Some(name), e);
        let mut file = storage.open(name).map_err(io("open a WAL segment"))?;
        let file_len = file.len().map_err(io("read the length of a WAL segment"))?;
        let mut offset = 0_u64;
        let mut segment_records = 0_u64;

        // Reads records until the first invalid one; `invalid` is why it is invalid.
        let invalid: Option<WalError> = loop {
            if offset + RECORD_HEADER_SIZE as u64 > file_len {
                break (offset < file_len).then(|| WalError::ShortRecord {
                    segment: name.to_owned(),
                    offset,
                    op: expected_op,
                    needed: RECORD_HEADER_SIZE as u64,
                    file_len,
                });
            }
            file.read_at(offset, &mut header_bytes).map_err(io("read a WAL record header"))?;
            let header = match RecordHeader::decode(&header_bytes) {
                Ok(header) => header,
                Err(source) => {
                    break Some(WalError::BadHeader {
                        segment: name.to_owned(),
                        offset,
                        op: expected_op,
                        source,
                    });
                }
            };
            // A valid header in the wrong place is never a torn write: the one unacknowledged
            // write continues the sequence and the chain exactly.
            if header.op != expected_op {
                return Err(WalError::OpOutOfSequence {
                    segment: name.to_owned(),
                    offset,
                    expected: expected_op,
                    found: header.op,
                });
            }
            if let Some(expected) = last_checksum
                && header.prev_checksum != expected
            {
                let anchored = from.is_some_and(|f| f.op > 0 && f.op + 1 == header.op);
                if anchored {
                    return Err(WalError::AnchorMismatch {
                        op: header.op - 1,
                        expected,
                        found: header.prev_checksum,
                    });
                }
                return Err(WalError::ChainBroken {
                    segment: name.to_owned(),
                    offset,
                    op: header.op,
                    expected,
                    found: header.prev_checksum,
                });
            }
            let record_len = header.record_len();
            if offset + record_len > file_len {
                break Some(WalError::ShortRecord {
                    segment: name.to_owned(),
                    offset,
                    op: expected_op,
                    needed: record_len,
                    file_len,
                });
            }
            // body_len <= RECORD_BODY_BYTES_MAX was validated by `decode`.
            body.resize(header.body_len as usize, 0);
            file.read_at(offset + RECORD_HEADER_SIZE as u64, &mut body)
                .map_err(io("read a WAL record body"))?;
            if let Err(e) = header.check_body(&body) {
                break Some(WalError::ChecksumMismatch {
                    segment: name.to_owned(),
                    offset,
                    op: expected_op,
                    expected: e.expected,
                    found: e.found,
                });
            }
            if let Some(from) = from
                && header.op == from.op
                && header.checksum != from.checksum
            {
                return Err(WalError::AnchorMismatch {
                    op: header.op,
                    expected: from.checksum,
                    found: header.checksum,
                });
            }
            visit(&header, &body)?;
            records += 1;
            segment_records += 1;
            record_bytes += record_len;
            expected_op += 1;
            last_checksum = Some(header.checksum);
            offset += record_len;
        };
        tail_offset = offset;

        let Some(invalid) = invalid else {
            // The records fill the file exactly.
            if !is_last && segment_records == 0 {
                return Err(WalError::EmptySegment { segment: name.to_owned() });
            }
            continue;
        };
        let after = scan_after(&mut file, name, offset, file_len, is_last)?;
        if !is_last {
            match after.nonzero_start {
                None if segment_records == 0 => {
                    return Err(WalError::EmptySegment { segment: name.to_owned() });
                }
                None => continue,
                // A zero header followed by data: name where the data starts.
                Some(start) if start >= offset + RECORD_HEADER_SIZE as u64 => {
                    return Err(WalError::GarbageAfterEnd {
                        segment: name.to_owned(),
                        offset: start,
                        op: expected_op,
                    });
                }
                Some(_) => return Err(invalid),
            }
        }
        let Some(nonzero_end) = after.nonzero_end else {
            // Zeros after the last record: the normal end of the log.
            continue;
        };
        if let Some((found_offset, found_op)) = after.far_header {
            return Err(WalError::RecordAfterTornTail {
                segment: name.to_owned(),
                offset,
                op: expected_op,
                found_offset,
                found_op,
            });
        }
        if repair {
            // Cut and re-extend rather than write zeros: cheap, and a crash between the steps
            // leaves either the torn bytes (recovered the same way again) or a shorter file.
            file.set_len(offset).map_err(io("truncate the torn tail of a WAL segment"))?;
            file.set_len(file_len).map_err(io("re-extend a WAL segment after truncation"))?;
            file.sync().map_err(io("sync a WAL segment after truncation"))?;
        }
        torn_tail = Some(TornTail {
            segment: name.to_owned(),
            offset,
            op: expected_op,
            dropped_bytes: nonzero_end - offset,
            reason: invalid.to_string(),
        });
    }

    let last_op = expected_op - 1;
    let last_checksum = match (last_checksum, from) {
        (Some(checksum), _) => checksum,
        // `verify` of a log whose only segment is empty and whose predecessors were retired.
        (None, None) => 0,
        // No record was read and the log did not start right after `from`: it cannot reach it.
        (None, Some(from)) => return Err(WalError::LogEndsTooEarly { last_op, from_op: from.op }),
    };
    if let Some(from) = from
        && last_op < from.op
    {
        return Err(WalError::LogEndsTooEarly { last_op, from_op: from.op });
    }
    Ok(Scan { segments, next_op: expected_op, last_checksum, tail_offset, torn_tail, records, record_bytes })
}

/// Reads `[offset, file_len)` of a segment: where its non-zero bytes are and, if
/// `find_headers`, the first valid record header at or beyond the group window past `offset`.
/// `offset` is 64-byte aligned (records are multiples of 64 bytes), and so is every chunk.
fn scan_after<F: StorageFile>(
    file: &mut F,
    segment: &str,
    offset: u64,
    file_len: u64,
    find_headers: bool,
) -> Result<AfterEnd, WalError> {
    let mut after = AfterEnd { nonzero_end: None, nonzero_start: None, far_header: None };
    let window_end = offset.saturating_add(GROUP_BYTES_MAX);
    let mut chunk = vec![0_u8; SCAN_CHUNK_BYTES];
    let mut position = offset;
    while position < file_len {
        // Bounded by SCAN_CHUNK_BYTES, so the conversion cannot truncate.
        let len = usize::try_from(file_len - position).map_or(SCAN_CHUNK_BYTES, |l| l.min(SCAN_CHUNK_BYTES));
        let chunk = &mut chunk[..len];
        file.read_at(position, chunk)
            .map_err(|e| WalError::io("read past the end of a WAL segment's records", Some(segment), e))?;
        if let Some(first) = chunk.iter().position(|&b| b != 0) {
            after.nonzero_start.get_or_insert(position + first as u64);
            if let Some(last) = chunk.iter().rposition(|&b| b != 0) {
                after.nonzero_end = Some(position + last as u64 + 1);
            }
            if !find_headers {
                return Ok(after);
            }
        }
        if find_headers && position + len as u64 > window_end {
            for (i, candidate) in chunk.chunks_exact(RECORD_HEADER_SIZE).enumerate() {
                let at = position + (i * RECORD_HEADER_SIZE) as u64;
                if at < window_end {
                    continue;
                }
                let Ok(header_bytes) = <&[u8; RECORD_HEADER_SIZE]>::try_from(candidate) else { continue };
                if let Ok(header) = RecordHeader::decode(header_bytes) {
                    after.far_header = Some((at, header.op));
                    return Ok(after);
                }
            }
        }
        position += len as u64;
    }
    Ok(after)
}
