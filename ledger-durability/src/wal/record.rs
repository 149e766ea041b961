//! The WAL record: one committed batch, as a 64-byte header followed by its body.
//!
//! Byte layout of the header (64 bytes, little-endian, no padding; see `docs/formats.md`, "WAL"):
//!
//! ```text
//! offset  size  field            type
//!      0     4  magic            u32   RECORD_MAGIC ("LWAL")
//!      4     2  version          u16   RECORD_VERSION (2; version 1 is still read)
//!      6     1  operation        u8    1 create_accounts, 2 create_transfers, 3 pulse
//!      7     1  reserved         u8    must be zero
//!      8     8  op               u64   sequence number: 1, 2, 3, ... across all segments
//!     16     8  clock_ns         u64   the writer's clock reading passed to `apply`
//!     24     8  timestamp_first  u64   timestamp of the batch's first event
//!     32     8  timestamp_last   u64   timestamp of the batch's last event (>= first)
//!     40     4  event_count      u32   events in the body (0 for pulse)
//!     44     4  body_len         u32   event_count * 128 + notes_len rounded up to 64
//!     48     4  body_checksum    u32   CRC32C of the body
//!     52     4  prev_checksum    u32   record checksum of the previous record (0 for op 1)
//!     56     4  notes_len        u32   bytes of entry notes after the events (version 1: 0)
//!     60     4  header_checksum  u32   CRC32C of bytes 0..60: "the record checksum"
//! ```
//!
//! The header checksum covers `body_checksum` and `prev_checksum`, so it commits to the body and,
//! through `prev_checksum`, to every record before it: the records form a hash chain.
//!
//! The body is the batch's events (`event_count` × 128 bytes), then, for `create_transfers`
//! only, the batch's entry notes (`notes_len` bytes, laid out in `notes.rs`) padded with zeros
//! to a multiple of 64. Records are therefore multiples of 64 bytes long, so every record in a
//! segment starts at a 64-byte aligned offset; recovery relies on this when it looks for headers
//! past a torn tail.

use ledger_core::{ACCOUNT_SIZE, BATCH_EVENTS_MAX, TRANSFER_SIZE};

pub const RECORD_HEADER_SIZE: usize = 64;
pub const RECORD_MAGIC_OFFSET: usize = 0;
pub const RECORD_VERSION_OFFSET: usize = 4;
pub const RECORD_OPERATION_OFFSET: usize = 6;
pub const RECORD_RESERVED_OFFSET: usize = 7;
pub const RECORD_OP_OFFSET: usize = 8;
pub const RECORD_CLOCK_NS_OFFSET: usize = 16;
pub const RECORD_TIMESTAMP_FIRST_OFFSET: usize = 24;
pub const RECORD_TIMESTAMP_LAST_OFFSET: usize = 32;
pub const RECORD_EVENT_COUNT_OFFSET: usize = 40;
pub const RECORD_BODY_LEN_OFFSET: usize = 44;
pub const RECORD_BODY_CHECKSUM_OFFSET: usize = 48;
pub const RECORD_PREV_CHECKSUM_OFFSET: usize = 52;
pub const RECORD_NOTES_LEN_OFFSET: usize = 56;
pub const RECORD_HEADER_CHECKSUM_OFFSET: usize = 60;

const _: () = assert!(RECORD_HEADER_CHECKSUM_OFFSET + 4 == RECORD_HEADER_SIZE);

/// "LWAL" read as a little-endian u32. An all-zero (preallocated, never written) header fails
/// this check first.
pub const RECORD_MAGIC: u32 = u32::from_le_bytes(*b"LWAL");
pub const RECORD_VERSION: u16 = 2;
/// Records written before entry notes: `notes_len` (then `reserved_2`) is always 0.
pub const RECORD_VERSION_1: u16 = 1;

/// Size of one event in a body: an `Account` or a `Transfer`.
pub const EVENT_SIZE: usize = EVENT_SIZE_U32 as usize;
pub const EVENT_SIZE_U32: u32 = 128;
const _: () = assert!(ACCOUNT_SIZE == EVENT_SIZE && TRANSFER_SIZE == EVENT_SIZE);

/// A record holds one batch, and a batch holds at most `BATCH_EVENTS_MAX` events.
pub const RECORD_EVENTS_MAX: u32 = 8189;
const _: () = assert!(RECORD_EVENTS_MAX as usize == BATCH_EVENTS_MAX);

/// The largest body: 8189 * 128 = 1_048_192 bytes.
pub const RECORD_BODY_BYTES_MAX: u32 = RECORD_EVENTS_MAX * EVENT_SIZE_U32;
/// The most entry-note bytes one record carries (960 KiB; the service splits batches to fit).
pub const RECORD_NOTES_BYTES_MAX: u32 = 960 * 1024;
/// The largest record: header, the largest batch and the most notes (2_031_296 bytes).
pub const RECORD_BYTES_MAX: u64 =
    RECORD_HEADER_SIZE as u64 + RECORD_BODY_BYTES_MAX as u64 + RECORD_NOTES_BYTES_MAX as u64;
const _: () = assert!(RECORD_NOTES_BYTES_MAX.is_multiple_of(64));

/// `notes_len` rounded up to the 64-byte boundary the body is padded to.
#[must_use]
pub const fn notes_padded_len(notes_len: u32) -> u32 {
    notes_len.div_ceil(64) * 64
}

/// Bytes of a whole record with `event_count` events and `notes_len` bytes of notes.
#[must_use]
pub const fn record_len_of(event_count: usize, notes_len: u32) -> u64 {
    RECORD_HEADER_SIZE as u64 + (event_count * EVENT_SIZE) as u64 + notes_padded_len(notes_len) as u64
}

// Every record length is a multiple of 64, so records stay 64-byte aligned in a segment.
const _: () = assert!(RECORD_HEADER_SIZE.is_multiple_of(64) && EVENT_SIZE.is_multiple_of(64));

/// What a batch did; the engine call that replay repeats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Operation {
    CreateAccounts = 1,
    CreateTransfers = 2,
    /// No events: the clock advanced (pending transfers may have expired).
    Pulse = 3,
}

impl Operation {
    #[must_use]
    pub const fn from_u8(value: u8) -> Option<Self> {
        match value {
            1 => Some(Self::CreateAccounts),
            2 => Some(Self::CreateTransfers),
            3 => Some(Self::Pulse),
            _ => None,
        }
    }

    #[must_use]
    pub const fn has_events(self) -> bool {
        !matches!(self, Self::Pulse)
    }
}

/// The fields of a record that the writer chooses; lengths and checksums are derived.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordFields {
    pub operation: Operation,
    pub op: u64,
    pub clock_ns: u64,
    pub timestamp_first: u64,
    pub timestamp_last: u64,
    /// The record checksum of the record with op `op - 1` (0 for op 1).
    pub prev_checksum: u32,
}

/// A decoded, validated record header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordHeader {
    pub operation: Operation,
    pub op: u64,
    pub clock_ns: u64,
    pub timestamp_first: u64,
    pub timestamp_last: u64,
    pub event_count: u32,
    pub body_len: u32,
    /// Bytes of entry notes after the events (unpadded).
    pub notes_len: u32,
    pub body_checksum: u32,
    pub prev_checksum: u32,
    /// The record checksum: CRC32C of the header bytes before it.
    pub checksum: u32,
}

/// Why 64 bytes are not a valid record header. Checked in this order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    #[error("bad magic {found:#010x} (expected {RECORD_MAGIC:#010x})")]
    BadMagic { found: u32 },
    #[error("unsupported format version {found} (this build reads {RECORD_VERSION_1} and {RECORD_VERSION})")]
    UnsupportedVersion { found: u16 },
    #[error("header checksum mismatch: stored {stored:#010x}, computed {computed:#010x}")]
    ChecksumMismatch { stored: u32, computed: u32 },
    #[error("invalid operation {found}")]
    InvalidOperation { found: u8 },
    #[error("reserved header bytes are not zero")]
    ReservedNotZero,
    #[error("op 0 is not a valid sequence number")]
    ZeroOp,
    #[error("event_count {event_count} exceeds {RECORD_EVENTS_MAX}")]
    TooManyEvents { event_count: u32 },
    #[error("body_len {body_len} does not match event_count {event_count} for {operation:?}")]
    BodyLenMismatch { operation: Operation, event_count: u32, body_len: u32 },
    #[error(
        "notes_len {notes_len} is invalid for {operation:?} (at most {RECORD_NOTES_BYTES_MAX}, create_transfers only)"
    )]
    NotesLenInvalid { operation: Operation, notes_len: u32 },
    #[error("timestamp_first {first} is after timestamp_last {last}")]
    TimestampsOutOfOrder { first: u64, last: u64 },
}

/// Why a body does not belong to its header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("body checksum mismatch: header says {expected:#010x}, body has {found:#010x}")]
pub struct BodyChecksumMismatch {
    pub expected: u32,
    pub found: u32,
}

impl RecordHeader {
    /// Bytes of the whole record: header plus body.
    #[must_use]
    pub const fn record_len(&self) -> u64 {
        RECORD_HEADER_SIZE as u64 + self.body_len as u64
    }

    /// Bytes of the body's events (the rest is notes and padding).
    #[must_use]
    pub const fn events_len(&self) -> usize {
        self.event_count as usize * EVENT_SIZE
    }

    /// The body's entry notes: `notes_len` bytes after the events. `body` is this record's
    /// whole body (`body_len` bytes, as `decode` validated).
    #[must_use]
    pub fn notes<'b>(&self, body: &'b [u8]) -> &'b [u8] {
        let start = self.events_len().min(body.len());
        let end = (start + self.notes_len as usize).min(body.len());
        &body[start..end]
    }

    /// Validates and decodes a header. Every check that guards a length or an offset runs before
    /// that value is used, and the checksum runs before any field is trusted.
    pub fn decode(bytes: &[u8; RECORD_HEADER_SIZE]) -> Result<Self, HeaderError> {
        let magic = read_u32(bytes, RECORD_MAGIC_OFFSET);
        if magic != RECORD_MAGIC {
            return Err(HeaderError::BadMagic { found: magic });
        }
        let version = read_u16(bytes, RECORD_VERSION_OFFSET);
        if version != RECORD_VERSION && version != RECORD_VERSION_1 {
            return Err(HeaderError::UnsupportedVersion { found: version });
        }
        let stored = read_u32(bytes, RECORD_HEADER_CHECKSUM_OFFSET);
        let computed = crc32c::crc32c(&bytes[..RECORD_HEADER_CHECKSUM_OFFSET]);
        if stored != computed {
            return Err(HeaderError::ChecksumMismatch { stored, computed });
        }
        let operation_byte = bytes[RECORD_OPERATION_OFFSET];
        let Some(operation) = Operation::from_u8(operation_byte) else {
            return Err(HeaderError::InvalidOperation { found: operation_byte });
        };
        let notes_len = read_u32(bytes, RECORD_NOTES_LEN_OFFSET);
        if bytes[RECORD_RESERVED_OFFSET] != 0 || (version == RECORD_VERSION_1 && notes_len != 0) {
            return Err(HeaderError::ReservedNotZero);
        }
        if notes_len > RECORD_NOTES_BYTES_MAX || (notes_len != 0 && operation != Operation::CreateTransfers) {
            return Err(HeaderError::NotesLenInvalid { operation, notes_len });
        }
        let op = read_u64(bytes, RECORD_OP_OFFSET);
        if op == 0 {
            return Err(HeaderError::ZeroOp);
        }
        let event_count = read_u32(bytes, RECORD_EVENT_COUNT_OFFSET);
        let body_len = read_u32(bytes, RECORD_BODY_LEN_OFFSET);
        if event_count > RECORD_EVENTS_MAX {
            return Err(HeaderError::TooManyEvents { event_count });
        }
        // No overflow: event_count <= 8189 and notes_len <= RECORD_NOTES_BYTES_MAX were checked,
        // so the sum is at most 2_031_232.
        let events_len = if operation.has_events() { event_count * EVENT_SIZE_U32 } else { 0 };
        let expected_body_len = events_len + notes_padded_len(notes_len);
        if body_len != expected_body_len || (!operation.has_events() && event_count != 0) {
            return Err(HeaderError::BodyLenMismatch { operation, event_count, body_len });
        }
        let timestamp_first = read_u64(bytes, RECORD_TIMESTAMP_FIRST_OFFSET);
        let timestamp_last = read_u64(bytes, RECORD_TIMESTAMP_LAST_OFFSET);
        if timestamp_first > timestamp_last {
            return Err(HeaderError::TimestampsOutOfOrder { first: timestamp_first, last: timestamp_last });
        }
        Ok(Self {
            operation,
            op,
            clock_ns: read_u64(bytes, RECORD_CLOCK_NS_OFFSET),
            timestamp_first,
            timestamp_last,
            event_count,
            body_len,
            notes_len,
            body_checksum: read_u32(bytes, RECORD_BODY_CHECKSUM_OFFSET),
            prev_checksum: read_u32(bytes, RECORD_PREV_CHECKSUM_OFFSET),
            checksum: stored,
        })
    }

    /// Checks that `body` is this header's body. The caller has already read exactly
    /// `body_len` bytes.
    pub fn check_body(&self, body: &[u8]) -> Result<(), BodyChecksumMismatch> {
        debug_assert_eq!(body.len() as u64, u64::from(self.body_len));
        let found = crc32c::crc32c(body);
        if found == self.body_checksum {
            Ok(())
        } else {
            Err(BodyChecksumMismatch { expected: self.body_checksum, found })
        }
    }
}

/// Starts a record at the end of `out`: appends a zeroed header to be filled by
/// [`finish_record`] and returns the record's start offset in `out`. Append the body's events
/// right after it (for example with `Transfer::write_bytes`), so that no separate body buffer is
/// needed.
pub fn begin_record(out: &mut Vec<u8>) -> usize {
    let start = out.len();
    out.resize(start + RECORD_HEADER_SIZE, 0);
    start
}

/// Completes the record begun at `start`: the body is everything in `out` after its header,
/// whose first `notes_len` bytes after the events are entry notes (append them, then call this:
/// it pads them to 64 bytes). Returns the record checksum, which is the next record's
/// `prev_checksum`.
///
/// # Panics
///
/// On a caller bug, never on input data: `start` is not a record begun with [`begin_record`], the
/// body is not a whole number of 128-byte events plus the notes, holds more than
/// `RECORD_EVENTS_MAX` events or more than `RECORD_NOTES_BYTES_MAX` of notes, notes on an
/// operation other than `create_transfers`, events on a pulse, `op` is 0, or the timestamps are
/// out of order.
pub fn finish_record(out: &mut Vec<u8>, start: usize, fields: &RecordFields, notes_len: u32) -> u32 {
    assert!(start + RECORD_HEADER_SIZE <= out.len(), "finish_record: no header reserved at {start}");
    assert!(notes_len <= RECORD_NOTES_BYTES_MAX, "{notes_len} bytes of notes exceed one record");
    assert!(
        notes_len == 0 || fields.operation == Operation::CreateTransfers,
        "notes on {:?}",
        fields.operation
    );
    let events_len = (out.len() - start - RECORD_HEADER_SIZE)
        .checked_sub(notes_len as usize)
        .expect("the body holds the notes");
    out.resize(out.len() + (notes_padded_len(notes_len) - notes_len) as usize, 0);
    let (header, body) = out[start..].split_at_mut(RECORD_HEADER_SIZE);
    assert!(events_len.is_multiple_of(EVENT_SIZE), "body of {events_len} bytes is not whole events");
    let event_count = events_len / EVENT_SIZE;
    assert!(event_count <= RECORD_EVENTS_MAX as usize, "{event_count} events exceed one record");
    assert!(fields.operation.has_events() || event_count == 0, "a pulse has no events");
    assert!(fields.op > 0, "op numbers start at 1");
    assert!(fields.timestamp_first <= fields.timestamp_last, "timestamps out of order");
    #[expect(clippy::cast_possible_truncation, reason = "event_count <= RECORD_EVENTS_MAX was asserted")]
    let event_count = event_count as u32;
    let body_len = event_count * EVENT_SIZE_U32 + notes_padded_len(notes_len);

    header.fill(0);
    header[RECORD_MAGIC_OFFSET..][..4].copy_from_slice(&RECORD_MAGIC.to_le_bytes());
    header[RECORD_VERSION_OFFSET..][..2].copy_from_slice(&RECORD_VERSION.to_le_bytes());
    header[RECORD_OPERATION_OFFSET] = fields.operation as u8;
    header[RECORD_OP_OFFSET..][..8].copy_from_slice(&fields.op.to_le_bytes());
    header[RECORD_CLOCK_NS_OFFSET..][..8].copy_from_slice(&fields.clock_ns.to_le_bytes());
    header[RECORD_TIMESTAMP_FIRST_OFFSET..][..8].copy_from_slice(&fields.timestamp_first.to_le_bytes());
    header[RECORD_TIMESTAMP_LAST_OFFSET..][..8].copy_from_slice(&fields.timestamp_last.to_le_bytes());
    header[RECORD_EVENT_COUNT_OFFSET..][..4].copy_from_slice(&event_count.to_le_bytes());
    header[RECORD_BODY_LEN_OFFSET..][..4].copy_from_slice(&body_len.to_le_bytes());
    header[RECORD_BODY_CHECKSUM_OFFSET..][..4].copy_from_slice(&crc32c::crc32c(body).to_le_bytes());
    header[RECORD_PREV_CHECKSUM_OFFSET..][..4].copy_from_slice(&fields.prev_checksum.to_le_bytes());
    header[RECORD_NOTES_LEN_OFFSET..][..4].copy_from_slice(&notes_len.to_le_bytes());
    let checksum = crc32c::crc32c(&header[..RECORD_HEADER_CHECKSUM_OFFSET]);
    header[RECORD_HEADER_CHECKSUM_OFFSET..][..4].copy_from_slice(&checksum.to_le_bytes());

    // Assert after encoding what recovery will check after reading.
    debug_assert!(
        <&[u8; RECORD_HEADER_SIZE]>::try_from(&*header).is_ok_and(|h| RecordHeader::decode(h).is_ok())
    );
    checksum
}

/// Appends one whole record (header + `body`, no notes) to `out` and returns its record
/// checksum. Once `out` has grown to a group's size, this does not allocate.
///
/// # Panics
///
/// On the caller bugs listed at [`finish_record`].
pub fn encode(out: &mut Vec<u8>, fields: &RecordFields, body: &[u8]) -> u32 {
    let start = begin_record(out);
    out.extend_from_slice(body);
    finish_record(out, start, fields, 0)
}

fn read_u16(b: &[u8; RECORD_HEADER_SIZE], offset: usize) -> u16 {
    u16::from_le_bytes([b[offset], b[offset + 1]])
}

fn read_u32(b: &[u8; RECORD_HEADER_SIZE], offset: usize) -> u32 {
    u32::from_le_bytes([b[offset], b[offset + 1], b[offset + 2], b[offset + 3]])
}

fn read_u64(b: &[u8; RECORD_HEADER_SIZE], offset: usize) -> u64 {
    let mut x = [0_u8; 8];
    x.copy_from_slice(&b[offset..offset + 8]);
    u64::from_le_bytes(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(op: u64, prev_checksum: u32) -> RecordFields {
        RecordFields {
            operation: Operation::CreateTransfers,
            op,
            clock_ns: 1_000 + op,
            timestamp_first: 10,
            timestamp_last: 12,
            prev_checksum,
        }
    }

    fn header_of(bytes: &[u8]) -> [u8; RECORD_HEADER_SIZE] {
        let mut h = [0_u8; RECORD_HEADER_SIZE];
        h.copy_from_slice(&bytes[..RECORD_HEADER_SIZE]);
        h
    }

    /// Rewrites the header checksum so that a deliberately wrong field reaches its own check.
    fn reseal(h: &mut [u8; RECORD_HEADER_SIZE]) {
        let c = crc32c::crc32c(&h[..RECORD_HEADER_CHECKSUM_OFFSET]);
        h[RECORD_HEADER_CHECKSUM_OFFSET..].copy_from_slice(&c.to_le_bytes());
    }

    #[test]
    fn encode_then_decode_round_trips() {
        let body: Vec<u8> = (0..3 * EVENT_SIZE).map(|i| u8::try_from(i % 251).unwrap_or(0)).collect();
        let mut out = vec![0xAA; 5]; // encode appends after whatever is there
        let checksum = encode(&mut out, &fields(7, 0x1234_5678), &body);
        assert_eq!(out.len(), 5 + RECORD_HEADER_SIZE + body.len());
        let header = RecordHeader::decode(&header_of(&out[5..])).expect("valid header");
        assert_eq!(header.op, 7);
        assert_eq!(header.operation, Operation::CreateTransfers);
        assert_eq!(header.clock_ns, 1_007);
        assert_eq!((header.timestamp_first, header.timestamp_last), (10, 12));
        assert_eq!(header.event_count, 3);
        assert_eq!(header.body_len, 384);
        assert_eq!(header.prev_checksum, 0x1234_5678);
        assert_eq!(header.checksum, checksum);
        assert_eq!(header.record_len(), 64 + 384);
        header.check_body(&out[5 + RECORD_HEADER_SIZE..]).expect("body matches");
    }

    #[test]
    fn pulse_has_an_empty_body() {
        let mut out = Vec::new();
        let f = RecordFields { operation: Operation::Pulse, ..fields(1, 0) };
        encode(&mut out, &f, &[]);
        let header = RecordHeader::decode(&header_of(&out)).expect("valid");
        assert_eq!((header.event_count, header.body_len), (0, 0));
    }

    #[test]
    fn decode_rejects_each_invalid_field_with_its_own_error() {
        let mut out = Vec::new();
        encode(&mut out, &fields(1, 0), &[7_u8; EVENT_SIZE]);
        let good = header_of(&out);

        let mut h = good;
        h[0] ^= 1;
        assert!(matches!(RecordHeader::decode(&h), Err(HeaderError::BadMagic { .. })));
        assert!(matches!(RecordHeader::decode(&[0; 64]), Err(HeaderError::BadMagic { found: 0 })));

        let mut h = good;
        h[RECORD_VERSION_OFFSET] = 3;
        assert_eq!(RecordHeader::decode(&h), Err(HeaderError::UnsupportedVersion { found: 3 }));

        let mut h = good;
        h[RECORD_OP_OFFSET] ^= 0x10;
        assert!(matches!(RecordHeader::decode(&h), Err(HeaderError::ChecksumMismatch { .. })));

        let mut h = good;
        h[RECORD_OPERATION_OFFSET] = 4;
        reseal(&mut h);
        assert_eq!(RecordHeader::decode(&h), Err(HeaderError::InvalidOperation { found: 4 }));

        let mut h = good;
        h[RECORD_RESERVED_OFFSET] = 1;
        reseal(&mut h);
        assert_eq!(RecordHeader::decode(&h), Err(HeaderError::ReservedNotZero));

        let mut h = good;
        h[RECORD_VERSION_OFFSET] = 1;
        h[RECORD_NOTES_LEN_OFFSET] = 64;
        reseal(&mut h);
        assert_eq!(RecordHeader::decode(&h), Err(HeaderError::ReservedNotZero), "version 1 has no notes");

        let mut h = good;
        h[RECORD_NOTES_LEN_OFFSET..][..4].copy_from_slice(&(RECORD_NOTES_BYTES_MAX + 1).to_le_bytes());
        reseal(&mut h);
        assert!(matches!(RecordHeader::decode(&h), Err(HeaderError::NotesLenInvalid { .. })));

        let mut h = good;
        h[RECORD_OPERATION_OFFSET] = Operation::CreateAccounts as u8;
        h[RECORD_NOTES_LEN_OFFSET] = 8;
        reseal(&mut h);
        assert!(matches!(RecordHeader::decode(&h), Err(HeaderError::NotesLenInvalid { .. })));

        let mut h = good;
        h[RECORD_NOTES_LEN_OFFSET] = 8;
        reseal(&mut h);
        assert!(
            matches!(RecordHeader::decode(&h), Err(HeaderError::BodyLenMismatch { .. })),
            "notes widen the body"
        );

        let mut h = good;
        h[RECORD_OP_OFFSET..][..8].copy_from_slice(&0_u64.to_le_bytes());
        reseal(&mut h);
        assert_eq!(RecordHeader::decode(&h), Err(HeaderError::ZeroOp));

        let mut h = good;
        h[RECORD_EVENT_COUNT_OFFSET..][..4].copy_from_slice(&u32::MAX.to_le_bytes());
        h[RECORD_BODY_LEN_OFFSET..][..4].copy_from_slice(&u32::MAX.to_le_bytes());
        reseal(&mut h);
        assert_eq!(RecordHeader::decode(&h), Err(HeaderError::TooManyEvents { event_count: u32::MAX }));

        let mut h = good;
        h[RECORD_BODY_LEN_OFFSET..][..4].copy_from_slice(&256_u32.to_le_bytes());
        reseal(&mut h);
        assert!(matches!(RecordHeader::decode(&h), Err(HeaderError::BodyLenMismatch { body_len: 256, .. })));

        let mut h = good;
        h[RECORD_OPERATION_OFFSET] = Operation::Pulse as u8;
        reseal(&mut h);
        assert!(matches!(RecordHeader::decode(&h), Err(HeaderError::BodyLenMismatch { .. })));

        let mut h = good;
        h[RECORD_TIMESTAMP_FIRST_OFFSET..][..8].copy_from_slice(&13_u64.to_le_bytes());
        reseal(&mut h);
        assert_eq!(RecordHeader::decode(&h), Err(HeaderError::TimestampsOutOfOrder { first: 13, last: 12 }));
    }

    #[test]
    fn any_single_bit_flip_in_a_record_is_detected() {
        let mut out = Vec::new();
        encode(&mut out, &fields(3, 99), &[0x5A_u8; 2 * EVENT_SIZE]);
        for bit in 0..out.len() * 8 {
            let mut r = out.clone();
            r[bit / 8] ^= 1 << (bit % 8);
            let ok = RecordHeader::decode(&header_of(&r))
                .is_ok_and(|h| h.check_body(&r[RECORD_HEADER_SIZE..]).is_ok());
            assert!(!ok, "flip of bit {bit} went undetected");
        }
    }

    #[test]
    fn the_header_checksum_chains_the_previous_record() {
        let mut out = Vec::new();
        let a = encode(&mut out, &fields(1, 0), &[]);
        let b = encode(&mut out, &fields(2, a), &[]);
        let mut other = Vec::new();
        let b2 = encode(&mut other, &fields(2, a ^ 1), &[]);
        assert_ne!(b, b2, "a different predecessor gives a different record checksum");
    }

    #[test]
    fn notes_follow_the_events_padded_to_64_bytes() {
        let mut out = Vec::new();
        let start = begin_record(&mut out);
        out.extend_from_slice(&[0x11_u8; 2 * EVENT_SIZE]);
        out.extend_from_slice(b"notes of 17 bytes");
        finish_record(&mut out, start, &fields(4, 0), 17);
        assert_eq!(out.len() as u64, record_len_of(2, 17));
        assert_eq!(out.len(), 64 + 256 + 64);
        let header = RecordHeader::decode(&header_of(&out)).expect("valid");
        assert_eq!((header.event_count, header.notes_len, header.body_len), (2, 17, 256 + 64));
        let body = &out[RECORD_HEADER_SIZE..];
        header.check_body(body).expect("body");
        assert_eq!(header.notes(body), b"notes of 17 bytes");
        assert!(body[256 + 17..].iter().all(|&b| b == 0), "zero padding");

        // A version 1 record (no notes) still reads.
        let mut v1 = Vec::new();
        encode(&mut v1, &fields(5, 0), &[0x22_u8; EVENT_SIZE]);
        let mut h = header_of(&v1);
        h[RECORD_VERSION_OFFSET..][..2].copy_from_slice(&RECORD_VERSION_1.to_le_bytes());
        reseal(&mut h);
        let header = RecordHeader::decode(&h).expect("version 1 reads");
        assert_eq!((header.notes_len, header.notes(&v1[64..]).len()), (0, 0));
    }

    #[test]
    #[should_panic(expected = "not whole events")]
    fn encode_refuses_a_partial_event() {
        encode(&mut Vec::new(), &fields(1, 0), &[0; 100]);
    }
}
