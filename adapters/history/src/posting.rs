//! A posting: one side of one transfer, as an account's history holds it.
//!
//! ```text
//! Posting, 5 bytes, little-endian 40-bit integer
//! bits     field
//!  0..39   position  record number of the transfer in the record file (< 2^39)
//!     39   side      0: the transfer debits the account, 1: it credits it
//! ```
//!
//! Five bytes, not eight: a transfer makes two postings, so this is 10 bytes per transfer
//! instead of 16, and 2^39 records (a 64 TiB record file) is beyond what one node writes.
//! The side lives in the posting so that a debits-only or credits-only query skips the other
//! side without reading its records.

/// Bytes of one encoded posting.
pub const POSTING_SIZE: usize = 5;
/// Record numbers a posting can address.
pub const POSITION_LIMIT: u64 = 1 << 39;
const SIDE_CREDIT_BIT: u64 = 1 << 39;
const _: () = assert!(SIDE_CREDIT_BIT == POSITION_LIMIT && SIDE_CREDIT_BIT < 1 << (8 * POSTING_SIZE));

/// Which side of a transfer an account is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Debit,
    Credit,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Posting(u64);

impl Posting {
    /// `position` must be below `POSITION_LIMIT` (the index checks before it builds one).
    #[must_use]
    pub fn new(position: u64, side: Side) -> Self {
        debug_assert!(position < POSITION_LIMIT, "record number {position} beyond a posting's reach");
        let side_bit = match side {
            Side::Debit => 0,
            Side::Credit => SIDE_CREDIT_BIT,
        };
        Self((position & (POSITION_LIMIT - 1)) | side_bit)
    }

    #[must_use]
    pub fn position(self) -> u64 {
        self.0 & (POSITION_LIMIT - 1)
    }

    #[must_use]
    pub fn side(self) -> Side {
        if self.0 & SIDE_CREDIT_BIT == 0 { Side::Debit } else { Side::Credit }
    }

    pub(crate) fn to_bytes(self) -> [u8; POSTING_SIZE] {
        let b = self.0.to_le_bytes();
        [b[0], b[1], b[2], b[3], b[4]]
    }

    pub(crate) fn from_bytes(b: [u8; POSTING_SIZE]) -> Self {
        Self(u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], 0, 0, 0]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_posting_keeps_its_position_and_side() {
        for position in [0, 1, 0x12_3456_789a, POSITION_LIMIT - 1] {
            for side in [Side::Debit, Side::Credit] {
                let posting = Posting::new(position, side);
                assert_eq!(posting.position(), position);
                assert_eq!(posting.side(), side);
                assert_eq!(Posting::from_bytes(posting.to_bytes()), posting);
            }
        }
        assert_eq!(Posting::new(0x01_0203_0405, Side::Credit).to_bytes(), [5, 4, 3, 2, 0x81]);
    }
}
