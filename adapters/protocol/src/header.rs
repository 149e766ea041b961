//! The frame header: 64 bytes in front of every request and every reply.
//!
//! Byte layout (little-endian, no padding; see `docs/protocol.md`, "Frame header"):
//!
//! ```text
//! offset  size  field            type
//!      0     4  magic            [u8; 4]  b"LDGR"
//!      4     4  header_checksum  u32      CRC32C of bytes 8..64
//!      8     4  body_checksum    u32      CRC32C of the body (0 for an empty body)
//!     12     2  version          u16      PROTOCOL_VERSION
//!     14     1  kind             u8       FrameKind: 1 request, 2 reply
//!     15     1  operation        u8       Operation
//!     16     8  request_id       u64      chosen by the client, echoed in the reply
//!     24     4  body_len         u32      bytes after the header, at most BODY_MAX
//!     28     4  event_count      u32      records in the body
//!     32     2  status           u16      Status (replies); 0 in requests
//!     34    30  reserved                  zero
//! ```
//!
//! The header checksum covers `body_checksum`, so a header that passes its checksum also commits
//! to its body. It does not cover the magic (a constant) or itself.

use ledger_core::BATCH_EVENTS_MAX;

use crate::status::Status;

/// The first four bytes of every frame.
pub const MAGIC: [u8; 4] = *b"LDGR";
/// The one version this build speaks; a request with another is answered `unsupported_version`.
pub const PROTOCOL_VERSION: u16 = 1;
pub const HEADER_SIZE: usize = 64;
/// The largest body: a full batch of 128-byte records (8189 × 128 = 1,048,192 bytes), so that a
/// frame (1,048,256 bytes) fits in 1 MiB.
pub const BODY_MAX: usize = BATCH_EVENTS_MAX * 128;
/// The largest frame, header included.
pub const FRAME_MAX: usize = HEADER_SIZE + BODY_MAX;
const _: () = assert!(FRAME_MAX <= 1 << 20);
// `body_len` is a u32 on the wire: every valid length must fit.
const _: () = assert!(BODY_MAX <= u32::MAX as usize);

pub const HEADER_MAGIC_OFFSET: usize = 0;
pub const HEADER_CHECKSUM_OFFSET: usize = 4;
pub const HEADER_BODY_CHECKSUM_OFFSET: usize = 8;
pub const HEADER_VERSION_OFFSET: usize = 12;
pub const HEADER_KIND_OFFSET: usize = 14;
pub const HEADER_OPERATION_OFFSET: usize = 15;
pub const HEADER_REQUEST_ID_OFFSET: usize = 16;
pub const HEADER_BODY_LEN_OFFSET: usize = 24;
pub const HEADER_EVENT_COUNT_OFFSET: usize = 28;
pub const HEADER_STATUS_OFFSET: usize = 32;
pub const HEADER_RESERVED_OFFSET: usize = 34;
pub const HEADER_RESERVED_SIZE: usize = 30;
/// The header checksum covers everything after itself.
pub const HEADER_CHECKSUMMED_OFFSET: usize = HEADER_BODY_CHECKSUM_OFFSET;

const _: () = assert!(HEADER_CHECKSUM_OFFSET + 4 == HEADER_BODY_CHECKSUM_OFFSET);
const _: () = assert!(HEADER_STATUS_OFFSET + 2 == HEADER_RESERVED_OFFSET);
const _: () = assert!(HEADER_RESERVED_OFFSET + HEADER_RESERVED_SIZE == HEADER_SIZE);

/// Which way a frame goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum FrameKind {
    /// Client to server.
    Request = 1,
    /// Server to client.
    Reply = 2,
}

impl FrameKind {
    #[must_use]
    pub const fn from_u8(value: u8) -> Option<Self> {
        match value {
            1 => Some(Self::Request),
            2 => Some(Self::Reply),
            _ => None,
        }
    }

    #[must_use]
    pub const fn code(self) -> u8 {
        self as u8
    }
}

/// A decoded header. `version` and `operation` are raw: the server answers an unknown version or
/// operation with a status, so `Header::decode` must not refuse them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Header {
    pub version: u16,
    pub kind: FrameKind,
    pub operation: u8,
    pub request_id: u64,
    pub body_len: u32,
    pub event_count: u32,
    pub status: u16,
    pub body_checksum: u32,
}

/// Why 64 bytes are not a header this side can work with. Checked in the order listed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    #[error("bad magic (expected \"LDGR\")")]
    BadMagic,
    #[error("header checksum mismatch")]
    BadChecksum,
    #[error("body_len {body_len} exceeds the maximum of {BODY_MAX} bytes")]
    TooLarge { body_len: u32 },
    #[error("unknown frame kind {0}")]
    UnknownKind(u8),
    #[error("reserved header bytes are not zero")]
    ReservedBytesSet,
}

impl HeaderError {
    /// The status the server answers with, or `None` when it must close without a reply: a header
    /// with a bad magic or checksum has no request id anyone can trust.
    ///
    /// After `TooLarge` the body cannot be skipped safely; after `UnknownKind` and
    /// `ReservedBytesSet` it can (`body_len` was checked first), which is why only the last one
    /// keeps the connection open (see `Status::closes_connection`).
    #[must_use]
    pub const fn status(&self) -> Option<Status> {
        match self {
            Self::BadMagic | Self::BadChecksum => None,
            Self::TooLarge { .. } => Some(Status::FrameTooLarge),
            Self::UnknownKind(_) => Some(Status::InvalidKind),
            Self::ReservedBytesSet => Some(Status::ReservedBytesSet),
        }
    }
}

/// What an error reply needs from a header that `Header::decode` refused: available whenever the
/// magic and the header checksum are good, because then every field is what the peer sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct HeaderIdentity {
    pub request_id: u64,
    pub operation: u8,
    pub body_len: u32,
}

impl Header {
    /// Header plus body, in bytes.
    #[must_use]
    pub const fn frame_len(&self) -> usize {
        HEADER_SIZE + self.body_len as usize
    }

    /// Encodes the header and computes its checksum (over bytes 8..64, which include
    /// `body_checksum`).
    #[must_use]
    pub fn encode(&self) -> [u8; HEADER_SIZE] {
        let mut b = [0_u8; HEADER_SIZE];
        b[HEADER_MAGIC_OFFSET..][..4].copy_from_slice(&MAGIC);
        b[HEADER_BODY_CHECKSUM_OFFSET..][..4].copy_from_slice(&self.body_checksum.to_le_bytes());
        b[HEADER_VERSION_OFFSET..][..2].copy_from_slice(&self.version.to_le_bytes());
        b[HEADER_KIND_OFFSET] = self.kind.code();
        b[HEADER_OPERATION_OFFSET] = self.operation;
        b[HEADER_REQUEST_ID_OFFSET..][..8].copy_from_slice(&self.request_id.to_le_bytes());
        b[HEADER_BODY_LEN_OFFSET..][..4].copy_from_slice(&self.body_len.to_le_bytes());
        b[HEADER_EVENT_COUNT_OFFSET..][..4].copy_from_slice(&self.event_count.to_le_bytes());
        b[HEADER_STATUS_OFFSET..][..2].copy_from_slice(&self.status.to_le_bytes());
        let checksum = header_checksum(&b);
        b[HEADER_CHECKSUM_OFFSET..][..4].copy_from_slice(&checksum.to_le_bytes());
        b
    }

    /// Validates and decodes a header: magic, header checksum, `body_len <= BODY_MAX`, kind,
    /// reserved bytes, in that order. The checksum runs before any field is trusted, and
    /// `body_len` is bounded before the later checks, so that a peer refusing a frame for its
    /// kind or reserved bytes knows how many body bytes to skip.
    pub fn decode(bytes: &[u8; HEADER_SIZE]) -> Result<Header, HeaderError> {
        let identity = Self::identify(bytes).ok_or_else(|| {
            if bytes[HEADER_MAGIC_OFFSET..][..4] == MAGIC {
                HeaderError::BadChecksum
            } else {
                HeaderError::BadMagic
            }
        })?;
        if identity.body_len as usize > BODY_MAX {
            return Err(HeaderError::TooLarge { body_len: identity.body_len });
        }
        let kind_byte = bytes[HEADER_KIND_OFFSET];
        let kind = FrameKind::from_u8(kind_byte).ok_or(HeaderError::UnknownKind(kind_byte))?;
        if bytes[HEADER_RESERVED_OFFSET..].iter().any(|&b| b != 0) {
            return Err(HeaderError::ReservedBytesSet);
        }
        Ok(Header {
            version: read_u16(bytes, HEADER_VERSION_OFFSET),
            kind,
            operation: identity.operation,
            request_id: identity.request_id,
            body_len: identity.body_len,
            event_count: read_u32(bytes, HEADER_EVENT_COUNT_OFFSET),
            status: read_u16(bytes, HEADER_STATUS_OFFSET),
            body_checksum: read_u32(bytes, HEADER_BODY_CHECKSUM_OFFSET),
        })
    }

    /// The fields an error reply needs, if the magic and the header checksum are good; `None`
    /// otherwise (then nothing in the header can be trusted and the connection must close).
    #[must_use]
    pub fn identify(bytes: &[u8; HEADER_SIZE]) -> Option<HeaderIdentity> {
        if bytes[HEADER_MAGIC_OFFSET..][..4] != MAGIC {
            return None;
        }
        if read_u32(bytes, HEADER_CHECKSUM_OFFSET) != header_checksum(bytes) {
            return None;
        }
        Some(HeaderIdentity {
            request_id: read_u64(bytes, HEADER_REQUEST_ID_OFFSET),
            operation: bytes[HEADER_OPERATION_OFFSET],
            body_len: read_u32(bytes, HEADER_BODY_LEN_OFFSET),
        })
    }
}

/// The protocol's checksum, CRC32C (Castagnoli), for both the header and the body.
#[must_use]
pub fn checksum(bytes: &[u8]) -> u32 {
    crc32c::crc32c(bytes)
}

fn header_checksum(bytes: &[u8; HEADER_SIZE]) -> u32 {
    checksum(&bytes[HEADER_CHECKSUMMED_OFFSET..])
}

fn read_u16(b: &[u8; HEADER_SIZE], offset: usize) -> u16 {
    let mut x = [0_u8; 2];
    x.copy_from_slice(&b[offset..][..2]);
    u16::from_le_bytes(x)
}

fn read_u32(b: &[u8; HEADER_SIZE], offset: usize) -> u32 {
    let mut x = [0_u8; 4];
    x.copy_from_slice(&b[offset..][..4]);
    u32::from_le_bytes(x)
}

fn read_u64(b: &[u8; HEADER_SIZE], offset: usize) -> u64 {
    let mut x = [0_u8; 8];
    x.copy_from_slice(&b[offset..][..8]);
    u64::from_le_bytes(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Header {
        Header {
            version: PROTOCOL_VERSION,
            kind: FrameKind::Request,
            operation: 2,
            request_id: 0x0102_0304_0506_0708,
            body_len: 256,
            event_count: 2,
            status: 0,
            body_checksum: 0xdead_beef,
        }
    }

    /// Rewrites the header checksum after a test edits the bytes, so that the check under test
    /// is reached.
    fn reseal(bytes: &mut [u8; HEADER_SIZE]) {
        let checksum = header_checksum(bytes);
        bytes[HEADER_CHECKSUM_OFFSET..][..4].copy_from_slice(&checksum.to_le_bytes());
    }

    #[test]
    fn header_round_trips_with_fields_at_their_offsets() {
        let header = sample();
        let bytes = header.encode();
        assert_eq!(&bytes[..4], b"LDGR");
        assert_eq!(bytes[HEADER_KIND_OFFSET], 1);
        assert_eq!(bytes[HEADER_OPERATION_OFFSET], 2);
        assert_eq!(bytes[HEADER_REQUEST_ID_OFFSET], 0x08);
        assert_eq!(read_u32(&bytes, HEADER_BODY_LEN_OFFSET), 256);
        assert_eq!(read_u32(&bytes, HEADER_BODY_CHECKSUM_OFFSET), 0xdead_beef);
        assert_eq!(read_u32(&bytes, HEADER_CHECKSUM_OFFSET), crc32c::crc32c(&bytes[8..]));
        assert!(bytes[HEADER_RESERVED_OFFSET..].iter().all(|&b| b == 0));
        assert_eq!(Header::decode(&bytes), Ok(header));
        assert_eq!(header.frame_len(), 64 + 256);
    }

    #[test]
    fn version_operation_and_status_are_returned_raw() {
        let header = Header { version: 9, operation: 200, status: 77, ..sample() };
        assert_eq!(Header::decode(&header.encode()), Ok(header));
    }

    #[test]
    fn a_bad_magic_or_checksum_is_refused_without_an_identity() {
        let mut bytes = sample().encode();
        bytes[0] = b'X';
        assert_eq!(Header::decode(&bytes), Err(HeaderError::BadMagic));
        assert_eq!(Header::identify(&bytes), None);
        assert_eq!(HeaderError::BadMagic.status(), None);

        let mut bytes = sample().encode();
        bytes[HEADER_REQUEST_ID_OFFSET] ^= 1;
        assert_eq!(Header::decode(&bytes), Err(HeaderError::BadChecksum));
        assert_eq!(Header::identify(&bytes), None);
        assert_eq!(HeaderError::BadChecksum.status(), None);
    }

    #[test]
    fn an_oversized_body_is_refused_as_frame_too_large() {
        let at_max = Header { body_len: u32::try_from(BODY_MAX).expect("fits"), ..sample() };
        assert_eq!(Header::decode(&at_max.encode()), Ok(at_max));
        let over = Header { body_len: at_max.body_len + 1, ..sample() };
        let error = Header::decode(&over.encode()).expect_err("too large");
        assert_eq!(error, HeaderError::TooLarge { body_len: at_max.body_len + 1 });
        assert_eq!(error.status(), Some(Status::FrameTooLarge));
        let identity = Header::identify(&over.encode()).expect("checksum is good");
        assert_eq!(identity.request_id, sample().request_id);
    }

    #[test]
    fn an_unknown_kind_is_refused_as_invalid_kind() {
        for kind in [0_u8, 3, 255] {
            let mut bytes = sample().encode();
            bytes[HEADER_KIND_OFFSET] = kind;
            reseal(&mut bytes);
            let error = Header::decode(&bytes).expect_err("unknown kind");
            assert_eq!(error, HeaderError::UnknownKind(kind));
            assert_eq!(error.status(), Some(Status::InvalidKind));
        }
    }

    #[test]
    fn every_reserved_byte_is_checked() {
        for offset in HEADER_RESERVED_OFFSET..HEADER_SIZE {
            let mut bytes = sample().encode();
            bytes[offset] = 0x80;
            reseal(&mut bytes);
            let error = Header::decode(&bytes).expect_err("reserved byte set");
            assert_eq!(error, HeaderError::ReservedBytesSet, "offset {offset}");
            assert_eq!(error.status(), Some(Status::ReservedBytesSet));
            let identity = Header::identify(&bytes).expect("checksum is good");
            assert_eq!(
                identity,
                HeaderIdentity { request_id: 0x0102_0304_0506_0708, operation: 2, body_len: 256 }
            );
        }
    }

    #[test]
    fn body_len_is_bounded_before_reserved_bytes_are_checked() {
        // A refused frame whose body the server skips must have a bounded body.
        let mut bytes = Header { body_len: u32::MAX, ..sample() }.encode();
        bytes[HEADER_SIZE - 1] = 1;
        reseal(&mut bytes);
        assert_eq!(Header::decode(&bytes), Err(HeaderError::TooLarge { body_len: u32::MAX }));
    }

    #[test]
    fn the_checksum_is_crc32c_castagnoli() {
        // The check value of CRC-32C, as docs/protocol.md states it for implementers.
        assert_eq!(checksum(b"123456789"), 0xe306_9283);
        assert_eq!(checksum(b""), 0);
    }
}
