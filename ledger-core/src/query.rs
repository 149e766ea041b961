//! The read-side records: `AccountFilter` (the transfers or balances of one account),
//! `QueryFilter` (accounts or transfers by their secondary fields) and `AccountBalance` (an
//! account's balances as of one transfer). Fixed little-endian layouts, as TigerBeetle's
//! reference defines them, so that the same bytes serve the wire and the engine.
//!
//! Semantics shared by both filters:
//! - a zero field does not filter (`user_data_*`, `ledger`, `code`);
//! - `timestamp_min`/`timestamp_max` are inclusive, zero means unbounded;
//! - results are in timestamp order, ascending unless `REVERSED`, at most `limit` of them
//!   (and never more than `BATCH_EVENTS_MAX`);
//! - a filter with reserved bytes or flags set, `limit == 0`, or `timestamp_min >
//!   timestamp_max` (when both are set) matches nothing; `AccountFilter` also needs an
//!   account id other than 0 and `u128::MAX` and at least one of `DEBITS`/`CREDITS`.

use crate::record::{read_u16, read_u32, read_u64, read_u128};

/// ```text
/// AccountFilter, 128 bytes
/// offset  size  field
///      0    16  account_id     u128
///     16    16  user_data_128  u128  0: any
///     32     8  user_data_64   u64   0: any
///     40     4  user_data_32   u32   0: any
///     44     2  code           u16   0: any
///     46    58  reserved             must be zero
///    104     8  timestamp_min  u64   inclusive, 0: unbounded
///    112     8  timestamp_max  u64   inclusive, 0: unbounded
///    120     4  limit          u32   at most this many results
///    124     4  flags          u32   AccountFilterFlags
/// ```
pub const ACCOUNT_FILTER_SIZE: usize = 128;
pub const ACCOUNT_FILTER_ACCOUNT_ID_OFFSET: usize = 0;
pub const ACCOUNT_FILTER_USER_DATA_128_OFFSET: usize = 16;
pub const ACCOUNT_FILTER_USER_DATA_64_OFFSET: usize = 32;
pub const ACCOUNT_FILTER_USER_DATA_32_OFFSET: usize = 40;
pub const ACCOUNT_FILTER_CODE_OFFSET: usize = 44;
pub const ACCOUNT_FILTER_RESERVED_OFFSET: usize = 46;
pub const ACCOUNT_FILTER_RESERVED_SIZE: usize = 58;
pub const ACCOUNT_FILTER_TIMESTAMP_MIN_OFFSET: usize = 104;
pub const ACCOUNT_FILTER_TIMESTAMP_MAX_OFFSET: usize = 112;
pub const ACCOUNT_FILTER_LIMIT_OFFSET: usize = 120;
pub const ACCOUNT_FILTER_FLAGS_OFFSET: usize = 124;
const _: () = assert!(
    ACCOUNT_FILTER_RESERVED_OFFSET + ACCOUNT_FILTER_RESERVED_SIZE == ACCOUNT_FILTER_TIMESTAMP_MIN_OFFSET
);
const _: () = assert!(ACCOUNT_FILTER_FLAGS_OFFSET + 4 == ACCOUNT_FILTER_SIZE);

/// Which transfers of the account an `AccountFilter` selects, and in which order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct AccountFilterFlags(pub u32);

impl AccountFilterFlags {
    /// Transfers that debit the account.
    pub const DEBITS: Self = Self(1 << 0);
    /// Transfers that credit the account.
    pub const CREDITS: Self = Self(1 << 1);
    /// Newest first.
    pub const REVERSED: Self = Self(1 << 2);
    pub const KNOWN: Self = Self(0b111);

    #[must_use]
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    #[must_use]
    pub const fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }
}

/// The transfers (or, for an account with the `history` flag, the balances) of one account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AccountFilter {
    pub account_id: u128,
    pub user_data_128: u128,
    pub user_data_64: u64,
    pub user_data_32: u32,
    pub code: u16,
    pub reserved: [u8; ACCOUNT_FILTER_RESERVED_SIZE],
    pub timestamp_min: u64,
    pub timestamp_max: u64,
    pub limit: u32,
    pub flags: AccountFilterFlags,
}

impl Default for AccountFilter {
    fn default() -> Self {
        Self {
            account_id: 0,
            user_data_128: 0,
            user_data_64: 0,
            user_data_32: 0,
            code: 0,
            reserved: [0; ACCOUNT_FILTER_RESERVED_SIZE],
            timestamp_min: 0,
            timestamp_max: 0,
            limit: 0,
            flags: AccountFilterFlags::default(),
        }
    }
}

impl AccountFilter {
    /// Every transfer of `account_id` (both sides), oldest first, up to `limit`.
    #[must_use]
    pub fn all_of(account_id: u128, limit: u32) -> Self {
        Self {
            account_id,
            limit,
            flags: AccountFilterFlags::DEBITS.union(AccountFilterFlags::CREDITS),
            ..Self::default()
        }
    }

    /// Whether the filter can match anything (see the module docs); an invalid filter is
    /// answered with an empty result, as TigerBeetle does.
    #[must_use]
    pub fn is_valid(&self) -> bool {
        self.account_id != 0
            && self.account_id != u128::MAX
            && self.reserved.iter().all(|&b| b == 0)
            && self.flags.0 & !AccountFilterFlags::KNOWN.0 == 0
            && self.flags.0 & (AccountFilterFlags::DEBITS.0 | AccountFilterFlags::CREDITS.0) != 0
            && self.limit != 0
            && timestamps_ordered(self.timestamp_min, self.timestamp_max)
    }

    /// Whether `timestamp` lies in the filter's inclusive range.
    #[must_use]
    pub fn covers_timestamp(&self, timestamp: u64) -> bool {
        in_range(timestamp, self.timestamp_min, self.timestamp_max)
    }

    /// Whether a transfer with these fields passes the filter's secondary fields (not the
    /// account or the timestamp range).
    #[must_use]
    pub fn matches_fields(
        &self,
        user_data_128: u128,
        user_data_64: u64,
        user_data_32: u32,
        code: u16,
    ) -> bool {
        (self.user_data_128 == 0 || self.user_data_128 == user_data_128)
            && (self.user_data_64 == 0 || self.user_data_64 == user_data_64)
            && (self.user_data_32 == 0 || self.user_data_32 == user_data_32)
            && (self.code == 0 || self.code == code)
    }

    #[must_use]
    pub fn is_reversed(&self) -> bool {
        self.flags.contains(AccountFilterFlags::REVERSED)
    }

    #[must_use]
    pub fn to_bytes(&self) -> [u8; ACCOUNT_FILTER_SIZE] {
        let mut b = [0_u8; ACCOUNT_FILTER_SIZE];
        b[ACCOUNT_FILTER_ACCOUNT_ID_OFFSET..][..16].copy_from_slice(&self.account_id.to_le_bytes());
        b[ACCOUNT_FILTER_USER_DATA_128_OFFSET..][..16].copy_from_slice(&self.user_data_128.to_le_bytes());
        b[ACCOUNT_FILTER_USER_DATA_64_OFFSET..][..8].copy_from_slice(&self.user_data_64.to_le_bytes());
        b[ACCOUNT_FILTER_USER_DATA_32_OFFSET..][..4].copy_from_slice(&self.user_data_32.to_le_bytes());
        b[ACCOUNT_FILTER_CODE_OFFSET..][..2].copy_from_slice(&self.code.to_le_bytes());
        b[ACCOUNT_FILTER_RESERVED_OFFSET..][..ACCOUNT_FILTER_RESERVED_SIZE].copy_from_slice(&self.reserved);
        b[ACCOUNT_FILTER_TIMESTAMP_MIN_OFFSET..][..8].copy_from_slice(&self.timestamp_min.to_le_bytes());
        b[ACCOUNT_FILTER_TIMESTAMP_MAX_OFFSET..][..8].copy_from_slice(&self.timestamp_max.to_le_bytes());
        b[ACCOUNT_FILTER_LIMIT_OFFSET..][..4].copy_from_slice(&self.limit.to_le_bytes());
        b[ACCOUNT_FILTER_FLAGS_OFFSET..][..4].copy_from_slice(&self.flags.0.to_le_bytes());
        b
    }

    /// Every bit pattern decodes; `is_valid` says whether it can match anything.
    #[must_use]
    pub fn from_bytes(b: &[u8; ACCOUNT_FILTER_SIZE]) -> Self {
        let mut reserved = [0_u8; ACCOUNT_FILTER_RESERVED_SIZE];
        reserved.copy_from_slice(&b[ACCOUNT_FILTER_RESERVED_OFFSET..][..ACCOUNT_FILTER_RESERVED_SIZE]);
        Self {
            account_id: read_u128(b, ACCOUNT_FILTER_ACCOUNT_ID_OFFSET),
            user_data_128: read_u128(b, ACCOUNT_FILTER_USER_DATA_128_OFFSET),
            user_data_64: read_u64(b, ACCOUNT_FILTER_USER_DATA_64_OFFSET),
            user_data_32: read_u32(b, ACCOUNT_FILTER_USER_DATA_32_OFFSET),
            code: read_u16(b, ACCOUNT_FILTER_CODE_OFFSET),
            reserved,
            timestamp_min: read_u64(b, ACCOUNT_FILTER_TIMESTAMP_MIN_OFFSET),
            timestamp_max: read_u64(b, ACCOUNT_FILTER_TIMESTAMP_MAX_OFFSET),
            limit: read_u32(b, ACCOUNT_FILTER_LIMIT_OFFSET),
            flags: AccountFilterFlags(read_u32(b, ACCOUNT_FILTER_FLAGS_OFFSET)),
        }
    }
}

/// ```text
/// QueryFilter, 64 bytes
/// offset  size  field
///      0    16  user_data_128  u128  0: any
///     16     8  user_data_64   u64   0: any
///     24     4  user_data_32   u32   0: any
///     28     4  ledger         u32   0: any
///     32     2  code           u16   0: any
///     34     6  reserved             must be zero
///     40     8  timestamp_min  u64   inclusive, 0: unbounded
///     48     8  timestamp_max  u64   inclusive, 0: unbounded
///     56     4  limit          u32
///     60     4  flags          u32   QueryFilterFlags
/// ```
pub const QUERY_FILTER_SIZE: usize = 64;
pub const QUERY_FILTER_USER_DATA_128_OFFSET: usize = 0;
pub const QUERY_FILTER_USER_DATA_64_OFFSET: usize = 16;
pub const QUERY_FILTER_USER_DATA_32_OFFSET: usize = 24;
pub const QUERY_FILTER_LEDGER_OFFSET: usize = 28;
pub const QUERY_FILTER_CODE_OFFSET: usize = 32;
pub const QUERY_FILTER_RESERVED_OFFSET: usize = 34;
pub const QUERY_FILTER_RESERVED_SIZE: usize = 6;
pub const QUERY_FILTER_TIMESTAMP_MIN_OFFSET: usize = 40;
pub const QUERY_FILTER_TIMESTAMP_MAX_OFFSET: usize = 48;
pub const QUERY_FILTER_LIMIT_OFFSET: usize = 56;
pub const QUERY_FILTER_FLAGS_OFFSET: usize = 60;
const _: () =
    assert!(QUERY_FILTER_RESERVED_OFFSET + QUERY_FILTER_RESERVED_SIZE == QUERY_FILTER_TIMESTAMP_MIN_OFFSET);
const _: () = assert!(QUERY_FILTER_FLAGS_OFFSET + 4 == QUERY_FILTER_SIZE);

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct QueryFilterFlags(pub u32);

impl QueryFilterFlags {
    /// Newest first.
    pub const REVERSED: Self = Self(1 << 0);
    pub const KNOWN: Self = Self(0b1);
}

/// Accounts or transfers by their secondary fields, in timestamp order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct QueryFilter {
    pub user_data_128: u128,
    pub user_data_64: u64,
    pub user_data_32: u32,
    pub ledger: u32,
    pub code: u16,
    pub reserved: [u8; QUERY_FILTER_RESERVED_SIZE],
    pub timestamp_min: u64,
    pub timestamp_max: u64,
    pub limit: u32,
    pub flags: QueryFilterFlags,
}

impl QueryFilter {
    #[must_use]
    pub fn is_valid(&self) -> bool {
        self.reserved.iter().all(|&b| b == 0)
            && self.flags.0 & !QueryFilterFlags::KNOWN.0 == 0
            && self.limit != 0
            && timestamps_ordered(self.timestamp_min, self.timestamp_max)
    }

    #[must_use]
    pub fn covers_timestamp(&self, timestamp: u64) -> bool {
        in_range(timestamp, self.timestamp_min, self.timestamp_max)
    }

    /// Whether a record with these fields passes the filter (not the timestamp range).
    #[must_use]
    pub fn matches_fields(
        &self,
        user_data_128: u128,
        user_data_64: u64,
        user_data_32: u32,
        ledger: u32,
        code: u16,
    ) -> bool {
        (self.user_data_128 == 0 || self.user_data_128 == user_data_128)
            && (self.user_data_64 == 0 || self.user_data_64 == user_data_64)
            && (self.user_data_32 == 0 || self.user_data_32 == user_data_32)
            && (self.ledger == 0 || self.ledger == ledger)
            && (self.code == 0 || self.code == code)
    }

    #[must_use]
    pub fn is_reversed(&self) -> bool {
        self.flags.0 & QueryFilterFlags::REVERSED.0 != 0
    }

    #[must_use]
    pub fn to_bytes(&self) -> [u8; QUERY_FILTER_SIZE] {
        let mut b = [0_u8; QUERY_FILTER_SIZE];
        b[QUERY_FILTER_USER_DATA_128_OFFSET..][..16].copy_from_slice(&self.user_data_128.to_le_bytes());
        b[QUERY_FILTER_USER_DATA_64_OFFSET..][..8].copy_from_slice(&self.user_data_64.to_le_bytes());
        b[QUERY_FILTER_USER_DATA_32_OFFSET..][..4].copy_from_slice(&self.user_data_32.to_le_bytes());
        b[QUERY_FILTER_LEDGER_OFFSET..][..4].copy_from_slice(&self.ledger.to_le_bytes());
        b[QUERY_FILTER_CODE_OFFSET..][..2].copy_from_slice(&self.code.to_le_bytes());
        b[QUERY_FILTER_RESERVED_OFFSET..][..QUERY_FILTER_RESERVED_SIZE].copy_from_slice(&self.reserved);
        b[QUERY_FILTER_TIMESTAMP_MIN_OFFSET..][..8].copy_from_slice(&self.timestamp_min.to_le_bytes());
        b[QUERY_FILTER_TIMESTAMP_MAX_OFFSET..][..8].copy_from_slice(&self.timestamp_max.to_le_bytes());
        b[QUERY_FILTER_LIMIT_OFFSET..][..4].copy_from_slice(&self.limit.to_le_bytes());
        b[QUERY_FILTER_FLAGS_OFFSET..][..4].copy_from_slice(&self.flags.0.to_le_bytes());
        b
    }

    #[must_use]
    pub fn from_bytes(b: &[u8; QUERY_FILTER_SIZE]) -> Self {
        let mut reserved = [0_u8; QUERY_FILTER_RESERVED_SIZE];
        reserved.copy_from_slice(&b[QUERY_FILTER_RESERVED_OFFSET..][..QUERY_FILTER_RESERVED_SIZE]);
        Self {
            user_data_128: read_u128(b, QUERY_FILTER_USER_DATA_128_OFFSET),
            user_data_64: read_u64(b, QUERY_FILTER_USER_DATA_64_OFFSET),
            user_data_32: read_u32(b, QUERY_FILTER_USER_DATA_32_OFFSET),
            ledger: read_u32(b, QUERY_FILTER_LEDGER_OFFSET),
            code: read_u16(b, QUERY_FILTER_CODE_OFFSET),
            reserved,
            timestamp_min: read_u64(b, QUERY_FILTER_TIMESTAMP_MIN_OFFSET),
            timestamp_max: read_u64(b, QUERY_FILTER_TIMESTAMP_MAX_OFFSET),
            limit: read_u32(b, QUERY_FILTER_LIMIT_OFFSET),
            flags: QueryFilterFlags(read_u32(b, QUERY_FILTER_FLAGS_OFFSET)),
        }
    }
}

/// ```text
/// AccountBalance, 128 bytes
/// offset  size  field
///      0    16  debits_pending   u128
///     16    16  debits_posted    u128
///     32    16  credits_pending  u128
///     48    16  credits_posted   u128
///     64     8  timestamp        u64   of the transfer (or expiry) that left these balances
///     72    56  reserved               zero
/// ```
pub const ACCOUNT_BALANCE_SIZE: usize = 128;
pub const ACCOUNT_BALANCE_DEBITS_PENDING_OFFSET: usize = 0;
pub const ACCOUNT_BALANCE_DEBITS_POSTED_OFFSET: usize = 16;
pub const ACCOUNT_BALANCE_CREDITS_PENDING_OFFSET: usize = 32;
pub const ACCOUNT_BALANCE_CREDITS_POSTED_OFFSET: usize = 48;
pub const ACCOUNT_BALANCE_TIMESTAMP_OFFSET: usize = 64;
pub const ACCOUNT_BALANCE_RESERVED_OFFSET: usize = 72;
const _: () = assert!(ACCOUNT_BALANCE_RESERVED_OFFSET + 56 == ACCOUNT_BALANCE_SIZE);

/// An account's balances right after one of its transfers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct AccountBalance {
    pub debits_pending: u128,
    pub debits_posted: u128,
    pub credits_pending: u128,
    pub credits_posted: u128,
    pub timestamp: u64,
}

impl AccountBalance {
    #[must_use]
    pub fn to_bytes(&self) -> [u8; ACCOUNT_BALANCE_SIZE] {
        let mut b = [0_u8; ACCOUNT_BALANCE_SIZE];
        b[ACCOUNT_BALANCE_DEBITS_PENDING_OFFSET..][..16].copy_from_slice(&self.debits_pending.to_le_bytes());
        b[ACCOUNT_BALANCE_DEBITS_POSTED_OFFSET..][..16].copy_from_slice(&self.debits_posted.to_le_bytes());
        b[ACCOUNT_BALANCE_CREDITS_PENDING_OFFSET..][..16]
            .copy_from_slice(&self.credits_pending.to_le_bytes());
        b[ACCOUNT_BALANCE_CREDITS_POSTED_OFFSET..][..16].copy_from_slice(&self.credits_posted.to_le_bytes());
        b[ACCOUNT_BALANCE_TIMESTAMP_OFFSET..][..8].copy_from_slice(&self.timestamp.to_le_bytes());
        b
    }

    /// Decodes a record; the reserved bytes are ignored.
    #[must_use]
    pub fn from_bytes(b: &[u8; ACCOUNT_BALANCE_SIZE]) -> Self {
        Self {
            debits_pending: read_u128(b, ACCOUNT_BALANCE_DEBITS_PENDING_OFFSET),
            debits_posted: read_u128(b, ACCOUNT_BALANCE_DEBITS_POSTED_OFFSET),
            credits_pending: read_u128(b, ACCOUNT_BALANCE_CREDITS_PENDING_OFFSET),
            credits_posted: read_u128(b, ACCOUNT_BALANCE_CREDITS_POSTED_OFFSET),
            timestamp: read_u64(b, ACCOUNT_BALANCE_TIMESTAMP_OFFSET),
        }
    }
}

fn timestamps_ordered(min: u64, max: u64) -> bool {
    min == 0 || max == 0 || min <= max
}

fn in_range(timestamp: u64, min: u64, max: u64) -> bool {
    (min == 0 || timestamp >= min) && (max == 0 || timestamp <= max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_filter_round_trips_through_bytes() {
        let filter = AccountFilter {
            account_id: 0x0102_0304_0506_0708_090a_0b0c_0d0e_0f10,
            user_data_128: 7,
            user_data_64: 8,
            user_data_32: 9,
            code: 10,
            timestamp_min: 11,
            timestamp_max: 12,
            limit: 13,
            flags: AccountFilterFlags::CREDITS,
            ..AccountFilter::default()
        };
        let bytes = filter.to_bytes();
        assert_eq!(bytes[ACCOUNT_FILTER_ACCOUNT_ID_OFFSET], 0x10);
        assert_eq!(bytes[ACCOUNT_FILTER_LIMIT_OFFSET], 13);
        assert_eq!(AccountFilter::from_bytes(&bytes), filter);
    }

    #[test]
    fn query_filter_round_trips_through_bytes() {
        let filter = QueryFilter {
            user_data_128: 1,
            user_data_64: 2,
            user_data_32: 3,
            ledger: 4,
            code: 5,
            timestamp_min: 6,
            timestamp_max: 7,
            limit: 8,
            flags: QueryFilterFlags::REVERSED,
            ..QueryFilter::default()
        };
        let bytes = filter.to_bytes();
        assert_eq!(bytes[QUERY_FILTER_LEDGER_OFFSET], 4);
        assert_eq!(QueryFilter::from_bytes(&bytes), filter);
    }

    #[test]
    fn account_balance_round_trips_and_zeroes_reserved_bytes() {
        let balance = AccountBalance {
            debits_pending: 1,
            debits_posted: 2,
            credits_pending: 3,
            credits_posted: u128::MAX,
            timestamp: 5,
        };
        let bytes = balance.to_bytes();
        assert!(bytes[ACCOUNT_BALANCE_RESERVED_OFFSET..].iter().all(|&b| b == 0));
        assert_eq!(AccountBalance::from_bytes(&bytes), balance);
    }

    #[test]
    fn filters_that_cannot_match_are_invalid() {
        let good = AccountFilter::all_of(5, 10);
        assert!(good.is_valid());
        assert!(!AccountFilter { account_id: 0, ..good }.is_valid());
        assert!(!AccountFilter { account_id: u128::MAX, ..good }.is_valid());
        assert!(!AccountFilter { limit: 0, ..good }.is_valid());
        assert!(!AccountFilter { flags: AccountFilterFlags::REVERSED, ..good }.is_valid());
        assert!(!AccountFilter { flags: AccountFilterFlags(8 | 1), ..good }.is_valid());
        assert!(!AccountFilter { timestamp_min: 9, timestamp_max: 8, ..good }.is_valid());
        let mut reserved = good;
        reserved.reserved[57] = 1;
        assert!(!reserved.is_valid());

        let query = QueryFilter { limit: 1, ..QueryFilter::default() };
        assert!(query.is_valid());
        assert!(!QueryFilter { limit: 0, ..query }.is_valid());
        assert!(!QueryFilter { flags: QueryFilterFlags(2), ..query }.is_valid());
        assert!(!QueryFilter { reserved: [0, 0, 0, 0, 0, 1], ..query }.is_valid());
    }

    #[test]
    fn zero_fields_do_not_filter_and_set_fields_must_match() {
        let query = QueryFilter { ledger: 7, limit: 1, ..QueryFilter::default() };
        assert!(query.matches_fields(1, 2, 3, 7, 9));
        assert!(!query.matches_fields(1, 2, 3, 8, 9));
        assert!(query.covers_timestamp(1) && query.covers_timestamp(u64::MAX));
        let ranged = QueryFilter { timestamp_min: 5, timestamp_max: 6, ..query };
        assert!(!ranged.covers_timestamp(4) && ranged.covers_timestamp(5) && ranged.covers_timestamp(6));
        assert!(!ranged.covers_timestamp(7));
    }
}
