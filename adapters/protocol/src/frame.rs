//! What requests and replies share: assembling a frame around a body, and checking a body
//! against its header before any record in it is read.

use crate::error::FrameError;
use crate::header::{FrameKind, HEADER_SIZE, Header, PROTOCOL_VERSION};
use crate::operation::Operation;

/// The header fields the encoder chooses; `body_len` and `body_checksum` follow from the body.
pub(crate) struct FrameFields {
    pub kind: FrameKind,
    pub operation: u8,
    pub request_id: u64,
    pub event_count: usize,
    pub status: u16,
}

/// Appends a header and the body that `write_body` appends (exactly `body_len` bytes): the body
/// goes straight into `out` and the header is filled in afterwards, so the body is never copied.
pub(crate) fn append_frame(
    out: &mut Vec<u8>,
    fields: &FrameFields,
    body_len: usize,
    write_body: impl FnOnce(&mut Vec<u8>),
) {
    let start = out.len();
    out.reserve(HEADER_SIZE + body_len);
    out.resize(start + HEADER_SIZE, 0);
    write_body(out);
    let body = &out[start + HEADER_SIZE..];
    assert_eq!(body.len(), body_len, "the body writer wrote the announced length");
    let header = Header {
        version: PROTOCOL_VERSION,
        kind: fields.kind,
        operation: fields.operation,
        request_id: fields.request_id,
        // Bodies the protocol allows are at most BODY_MAX; a caller that builds a larger one gets
        // a frame the peer refuses, and only a body beyond 4 GiB cannot be expressed at all.
        body_len: u32::try_from(body_len).expect("a frame body is smaller than 4 GiB"),
        event_count: u32::try_from(fields.event_count).expect("a frame holds fewer than 2^32 events"),
        status: fields.status,
        body_checksum: crate::header::checksum(body),
    };
    out[start..start + HEADER_SIZE].copy_from_slice(&header.encode());
}

/// Checks, in order: the body slice is `body_len` bytes, `event_count <= events_max`, `body_len ==
/// event_count * event_size` (and exactly one record when `single_record`), then the body checksum.
/// Sizes come first because they only read the (already checksummed) header.
pub(crate) fn check_body(
    header: &Header,
    body: &[u8],
    operation: Operation,
    event_size: usize,
    events_max: usize,
    single_record: bool,
) -> Result<(), FrameError> {
    check_body_len(header, body)?;
    let event_count = header.event_count as usize;
    if event_count > events_max && !single_record {
        return Err(FrameError::TooManyEvents { operation, event_count: header.event_count, events_max });
    }
    // `checked_mul`: a single-record operation reaches this line with any count.
    let size_fits = event_count.checked_mul(event_size) == Some(header.body_len as usize);
    if !size_fits || (single_record && event_count != 1) {
        return Err(FrameError::BodySizeMismatch {
            operation,
            event_count: header.event_count,
            body_len: header.body_len,
        });
    }
    check_body_checksum(header, body)
}

pub(crate) fn check_body_len(header: &Header, body: &[u8]) -> Result<(), FrameError> {
    if body.len() != header.body_len as usize {
        return Err(FrameError::BodyLengthMismatch { body_len: header.body_len, received: body.len() });
    }
    Ok(())
}

pub(crate) fn check_body_checksum(header: &Header, body: &[u8]) -> Result<(), FrameError> {
    let found = crate::header::checksum(body);
    if found != header.body_checksum {
        return Err(FrameError::BodyChecksumMismatch { expected: header.body_checksum, found });
    }
    Ok(())
}

/// Appends fixed-size records in place: one resize, then each record written straight into its
/// slot (no per-record length checks or copies through a temporary).
pub(crate) fn append_records<const N: usize, T>(
    out: &mut Vec<u8>,
    records: &[T],
    write: impl Fn(&T, &mut [u8; N]),
) {
    let start = out.len();
    out.resize(start + records.len() * N, 0);
    let (slots, rest) = out[start..].as_chunks_mut::<N>();
    debug_assert!(rest.is_empty());
    for (slot, record) in slots.iter_mut().zip(records) {
        write(record, slot);
    }
}

/// Decodes a body of fixed-size records in one pass and one allocation. The caller checked that
/// the body is a whole number of records.
pub(crate) fn decode_records<const N: usize, T>(body: &[u8], decode: impl Fn(&[u8; N]) -> T) -> Vec<T> {
    let (records, rest) = body.as_chunks::<N>();
    debug_assert!(rest.is_empty(), "check_body admits whole records only");
    records.iter().map(decode).collect()
}
