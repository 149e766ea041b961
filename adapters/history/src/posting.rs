//! A posting: one side of one transfer, as an account's history holds it; and `PostingList`,
//! one account's postings in record order.
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

/// Postings a list makes room for when it first grows; then it grows by half its length, so
/// that a list wastes at most a third of its bytes (doubling would waste up to half).
const LIST_POSTINGS_INITIAL: usize = 4;

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

    fn to_bytes(self) -> [u8; POSTING_SIZE] {
        let b = self.0.to_le_bytes();
        [b[0], b[1], b[2], b[3], b[4]]
    }

    fn from_bytes(b: [u8; POSTING_SIZE]) -> Self {
        Self(u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], 0, 0, 0]))
    }
}

/// One account's postings, oldest first: the order of their record numbers, which is the
/// order of their timestamps (records are written in timestamp order).
#[derive(Clone, Debug, Default)]
pub struct PostingList {
    bytes: Vec<u8>,
}

impl PostingList {
    #[must_use]
    pub fn len(&self) -> usize {
        self.bytes.len() / POSTING_SIZE
    }

    #[must_use]
    pub fn get(&self, index: usize) -> Option<Posting> {
        let start = index.checked_mul(POSTING_SIZE)?;
        let encoded = self.bytes.get(start..start.checked_add(POSTING_SIZE)?)?;
        let mut b = [0_u8; POSTING_SIZE];
        b.copy_from_slice(encoded);
        Some(Posting::from_bytes(b))
    }

    /// Appends a posting; returns how many bytes the list's allocation grew by.
    pub fn push(&mut self, posting: Posting) -> usize {
        debug_assert!(
            self.get(self.len().wrapping_sub(1)).is_none_or(|last| last.position() < posting.position()),
            "postings are appended in record order"
        );
        let capacity = self.bytes.capacity();
        if self.bytes.len() + POSTING_SIZE > capacity {
            let postings = (self.len() / 2).max(LIST_POSTINGS_INITIAL);
            self.bytes.reserve_exact(postings * POSTING_SIZE);
        }
        self.bytes.extend_from_slice(&posting.to_bytes());
        self.bytes.capacity() - capacity
    }

    /// Bytes allocated for the postings.
    #[cfg(test)]
    pub fn allocated_bytes(&self) -> usize {
        self.bytes.capacity()
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

    #[test]
    fn a_list_returns_its_postings_in_order_and_grows_by_half() {
        let mut list = PostingList::default();
        let mut grown = 0;
        for position in 0..100_u64 {
            let side = if position % 3 == 0 { Side::Credit } else { Side::Debit };
            grown += list.push(Posting::new(position * 7, side));
        }
        assert_eq!(list.len(), 100);
        assert_eq!(grown, list.allocated_bytes());
        assert_eq!(list.get(99), Some(Posting::new(693, Side::Credit)));
        assert_eq!(list.get(98), Some(Posting::new(686, Side::Debit)));
        assert_eq!(list.get(100), None);
        assert!(list.allocated_bytes() * 2 <= list.len() * POSTING_SIZE * 3, "at most 1.5x the postings");
    }
}
