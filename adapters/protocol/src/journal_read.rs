//! The body of a `read_journal` request: where to read the change feed from, how much, and how
//! long to wait for something new.
//!
//! ```text
//! read_journal request body: exactly one record (event_count = 1)
//! offset  size  field
//!      0     8  after    u64  the cursor: entries whose transfers come after this timestamp (ns);
//!                             0 reads from the start
//!      8     4  limit    u32  the most transfers the page holds (whole entries only); the server
//!                             reads 0 as 100 and caps it at 8,189
//!     12     4  wait_ms  u32  when nothing comes after `after`, how long the server may wait for
//!                             something to before it answers an empty page; capped at 30,000
//! ```
//!
//! The reply body is the page itself, one JSON object in UTF-8 (the document `GET /v1/journal`
//! answers, `docs/http.md`), with `event_count` = its length in bytes: each byte counts as one
//! record, as each token byte of a `hello` does. The codec carries it unparsed.

use crate::operation::JOURNAL_READ_SIZE;

/// The longest the server holds a `read_journal` request (`wait_ms` beyond it is read as it).
pub const READ_JOURNAL_WAIT_MS_MAX: u32 = 30_000;

const AFTER_OFFSET: usize = 0;
const LIMIT_OFFSET: usize = AFTER_OFFSET + 8;
const WAIT_MS_OFFSET: usize = LIMIT_OFFSET + 4;
const _: () = assert!(WAIT_MS_OFFSET + 4 == JOURNAL_READ_SIZE);

/// A `read_journal` request: one page of the change feed after a cursor.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct JournalRead {
    /// The cursor: the last timestamp the reader has (an entry's `last_timestamp`, or a page's
    /// `next_after`); 0 from the start.
    pub after: u64,
    /// The most transfers the page holds; the server reads 0 as its default and caps the rest.
    pub limit: u32,
    /// How long the server may hold the request while nothing comes after `after`.
    pub wait_ms: u32,
}

impl JournalRead {
    #[must_use]
    pub fn to_bytes(&self) -> [u8; JOURNAL_READ_SIZE] {
        let mut bytes = [0_u8; JOURNAL_READ_SIZE];
        bytes[AFTER_OFFSET..LIMIT_OFFSET].copy_from_slice(&self.after.to_le_bytes());
        bytes[LIMIT_OFFSET..WAIT_MS_OFFSET].copy_from_slice(&self.limit.to_le_bytes());
        bytes[WAIT_MS_OFFSET..].copy_from_slice(&self.wait_ms.to_le_bytes());
        bytes
    }

    /// Every 16 bytes are some request: the fields have no reserved values.
    #[must_use]
    pub fn from_bytes(bytes: &[u8; JOURNAL_READ_SIZE]) -> Self {
        let mut after = [0_u8; 8];
        after.copy_from_slice(&bytes[AFTER_OFFSET..LIMIT_OFFSET]);
        let mut limit = [0_u8; 4];
        limit.copy_from_slice(&bytes[LIMIT_OFFSET..WAIT_MS_OFFSET]);
        let mut wait_ms = [0_u8; 4];
        wait_ms.copy_from_slice(&bytes[WAIT_MS_OFFSET..]);
        Self {
            after: u64::from_le_bytes(after),
            limit: u32::from_le_bytes(limit),
            wait_ms: u32::from_le_bytes(wait_ms),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_sit_at_their_offsets_little_endian() {
        let read = JournalRead { after: 0x0102_0304_0506_0708, limit: 0x1122_3344, wait_ms: 30_000 };
        let bytes = read.to_bytes();
        assert_eq!(&bytes[0..8], &[8, 7, 6, 5, 4, 3, 2, 1]);
        assert_eq!(&bytes[8..12], &[0x44, 0x33, 0x22, 0x11]);
        assert_eq!(&bytes[12..16], &30_000_u32.to_le_bytes());
        assert_eq!(JournalRead::from_bytes(&bytes), read);
        let extremes = JournalRead { after: u64::MAX, limit: u32::MAX, wait_ms: u32::MAX };
        assert_eq!(JournalRead::from_bytes(&extremes.to_bytes()), extremes);
        assert_eq!(JournalRead::from_bytes(&[0; JOURNAL_READ_SIZE]), JournalRead::default());
    }
}
