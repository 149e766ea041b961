//! The `Account` record: balances of one chart-of-accounts entry in one ledger.
//!
//! Byte layout (128 bytes, little-endian, no padding). The same bytes go to the WAL, snapshots and
//! the wire; see `docs/formats.md`.
//!
//! ```text
//! offset  size  field
//!      0    16  id               u128  client-chosen, never 0 or u128::MAX
//!     16    16  debits_pending   u128  minor units reserved by pending transfers
//!     32    16  debits_posted    u128
//!     48    16  credits_pending  u128
//!     64    16  credits_posted   u128
//!     80    16  user_data_128    u128  opaque to the ledger
//!     96     8  user_data_64     u64
//!    104     4  user_data_32     u32
//!    108     4  reserved         u32   must be zero
//!    112     4  ledger           u32   the book (one asset) this account belongs to
//!    116     2  code             u16   chart-of-accounts code
//!    118     2  flags            u16   AccountFlags
//!    120     8  timestamp        u64   nanoseconds, assigned by the writer; zero on input
//! ```

use crate::record::{read_u16, read_u32, read_u64, read_u128};

pub const ACCOUNT_SIZE: usize = 128;
pub const ACCOUNT_ID_OFFSET: usize = 0;
pub const ACCOUNT_DEBITS_PENDING_OFFSET: usize = 16;
pub const ACCOUNT_DEBITS_POSTED_OFFSET: usize = 32;
pub const ACCOUNT_CREDITS_PENDING_OFFSET: usize = 48;
pub const ACCOUNT_CREDITS_POSTED_OFFSET: usize = 64;
pub const ACCOUNT_USER_DATA_128_OFFSET: usize = 80;
pub const ACCOUNT_USER_DATA_64_OFFSET: usize = 96;
pub const ACCOUNT_USER_DATA_32_OFFSET: usize = 104;
pub const ACCOUNT_RESERVED_OFFSET: usize = 108;
pub const ACCOUNT_LEDGER_OFFSET: usize = 112;
pub const ACCOUNT_CODE_OFFSET: usize = 116;
pub const ACCOUNT_FLAGS_OFFSET: usize = 118;
pub const ACCOUNT_TIMESTAMP_OFFSET: usize = 120;

const _: () = assert!(ACCOUNT_TIMESTAMP_OFFSET + 8 == ACCOUNT_SIZE);
// The in-memory record is exactly as large as the encoded one: the account table stays dense.
const _: () = assert!(std::mem::size_of::<Account>() == ACCOUNT_SIZE);

/// Flags of an account. Bits not named here are reserved and must be zero.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, bytemuck::Pod, bytemuck::Zeroable,
)]
#[repr(transparent)]
pub struct AccountFlags(pub u16);

impl AccountFlags {
    /// The account is created atomically with the next account in the batch.
    pub const LINKED: Self = Self(1 << 0);
    /// `debits_pending + debits_posted` may never exceed `credits_posted` (an asset the customer owns).
    pub const DEBITS_MUST_NOT_EXCEED_CREDITS: Self = Self(1 << 1);
    /// `credits_pending + credits_posted` may never exceed `debits_posted` (a receivable).
    pub const CREDITS_MUST_NOT_EXCEED_DEBITS: Self = Self(1 << 2);
    /// Keep a balance history for this account (served by the history index).
    pub const HISTORY: Self = Self(1 << 3);
    /// Bit 4 is TigerBeetle's `imported`; we do not accept imported events, so it stays reserved.
    /// The account accepts no new transfers until the pending transfer that closed it is voided.
    pub const CLOSED: Self = Self(1 << 5);

    pub const NONE: Self = Self(0);
    pub const KNOWN: Self = Self(
        Self::LINKED.0
            | Self::DEBITS_MUST_NOT_EXCEED_CREDITS.0
            | Self::CREDITS_MUST_NOT_EXCEED_DEBITS.0
            | Self::HISTORY.0
            | Self::CLOSED.0,
    );

    /// Names in bit order, as used by the CLI, JSON and docs.
    pub const NAMES: [(&'static str, Self); 5] = [
        ("linked", Self::LINKED),
        ("debits_must_not_exceed_credits", Self::DEBITS_MUST_NOT_EXCEED_CREDITS),
        ("credits_must_not_exceed_debits", Self::CREDITS_MUST_NOT_EXCEED_DEBITS),
        ("history", Self::HISTORY),
        ("closed", Self::CLOSED),
    ];

    #[must_use]
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    #[must_use]
    pub const fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    #[must_use]
    pub const fn without(self, other: Self) -> Self {
        Self(self.0 & !other.0)
    }

    #[must_use]
    pub const fn has_reserved_bits(self) -> bool {
        self.0 & !Self::KNOWN.0 != 0
    }

    /// Looks a flag up by its snake_case name.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::NAMES.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
    }
}

impl std::ops::BitOr for AccountFlags {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        self.union(rhs)
    }
}

/// One account. Balances only ever change through transfers.
///
/// `repr(C)` with fields in layout order: the in-memory record has no padding (the size assert
/// below) and can live in zero-initialised tables (`bytemuck::Pod`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(C)]
pub struct Account {
    pub id: u128,
    pub debits_pending: u128,
    pub debits_posted: u128,
    pub credits_pending: u128,
    pub credits_posted: u128,
    pub user_data_128: u128,
    pub user_data_64: u64,
    pub user_data_32: u32,
    pub reserved: u32,
    pub ledger: u32,
    pub code: u16,
    pub flags: AccountFlags,
    pub timestamp: u64,
}

impl Account {
    /// Encodes the record in its fixed little-endian layout.
    #[must_use]
    pub fn to_bytes(&self) -> [u8; ACCOUNT_SIZE] {
        let mut b = [0_u8; ACCOUNT_SIZE];
        self.write_bytes(&mut b);
        b
    }

    /// Encodes the record into `out`, which is exactly `ACCOUNT_SIZE` bytes.
    pub fn write_bytes(&self, out: &mut [u8; ACCOUNT_SIZE]) {
        out[ACCOUNT_ID_OFFSET..][..16].copy_from_slice(&self.id.to_le_bytes());
        out[ACCOUNT_DEBITS_PENDING_OFFSET..][..16].copy_from_slice(&self.debits_pending.to_le_bytes());
        out[ACCOUNT_DEBITS_POSTED_OFFSET..][..16].copy_from_slice(&self.debits_posted.to_le_bytes());
        out[ACCOUNT_CREDITS_PENDING_OFFSET..][..16].copy_from_slice(&self.credits_pending.to_le_bytes());
        out[ACCOUNT_CREDITS_POSTED_OFFSET..][..16].copy_from_slice(&self.credits_posted.to_le_bytes());
        out[ACCOUNT_USER_DATA_128_OFFSET..][..16].copy_from_slice(&self.user_data_128.to_le_bytes());
        out[ACCOUNT_USER_DATA_64_OFFSET..][..8].copy_from_slice(&self.user_data_64.to_le_bytes());
        out[ACCOUNT_USER_DATA_32_OFFSET..][..4].copy_from_slice(&self.user_data_32.to_le_bytes());
        out[ACCOUNT_RESERVED_OFFSET..][..4].copy_from_slice(&self.reserved.to_le_bytes());
        out[ACCOUNT_LEDGER_OFFSET..][..4].copy_from_slice(&self.ledger.to_le_bytes());
        out[ACCOUNT_CODE_OFFSET..][..2].copy_from_slice(&self.code.to_le_bytes());
        out[ACCOUNT_FLAGS_OFFSET..][..2].copy_from_slice(&self.flags.0.to_le_bytes());
        out[ACCOUNT_TIMESTAMP_OFFSET..][..8].copy_from_slice(&self.timestamp.to_le_bytes());
    }

    /// Decodes a record. Every bit pattern is a structurally valid record; semantic checks
    /// (reserved bits, zero ids, ...) are the engine's, so that they yield result codes.
    #[must_use]
    pub fn from_bytes(b: &[u8; ACCOUNT_SIZE]) -> Self {
        Self {
            id: read_u128(b, ACCOUNT_ID_OFFSET),
            debits_pending: read_u128(b, ACCOUNT_DEBITS_PENDING_OFFSET),
            debits_posted: read_u128(b, ACCOUNT_DEBITS_POSTED_OFFSET),
            credits_pending: read_u128(b, ACCOUNT_CREDITS_PENDING_OFFSET),
            credits_posted: read_u128(b, ACCOUNT_CREDITS_POSTED_OFFSET),
            user_data_128: read_u128(b, ACCOUNT_USER_DATA_128_OFFSET),
            user_data_64: read_u64(b, ACCOUNT_USER_DATA_64_OFFSET),
            user_data_32: read_u32(b, ACCOUNT_USER_DATA_32_OFFSET),
            reserved: read_u32(b, ACCOUNT_RESERVED_OFFSET),
            ledger: read_u32(b, ACCOUNT_LEDGER_OFFSET),
            code: read_u16(b, ACCOUNT_CODE_OFFSET),
            flags: AccountFlags(read_u16(b, ACCOUNT_FLAGS_OFFSET)),
            timestamp: read_u64(b, ACCOUNT_TIMESTAMP_OFFSET),
        }
    }

    /// Credits minus debits, both posted: the balance of a liability/income-normal account.
    /// Signed because either side may be larger; `None` only if the difference exceeds `i128`.
    #[must_use]
    pub fn credit_balance_posted(&self) -> Option<i128> {
        let c = i128::try_from(self.credits_posted).ok()?;
        let d = i128::try_from(self.debits_posted).ok()?;
        c.checked_sub(d)
    }

    /// Debits minus credits, both posted: the balance of an asset/expense-normal account.
    #[must_use]
    pub fn debit_balance_posted(&self) -> Option<i128> {
        self.credit_balance_posted().and_then(i128::checked_neg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Account {
        Account {
            id: 0x0102_0304_0506_0708_090a_0b0c_0d0e_0f10,
            debits_pending: 1,
            debits_posted: 2,
            credits_pending: 3,
            credits_posted: u128::MAX,
            user_data_128: 5,
            user_data_64: 6,
            user_data_32: 7,
            reserved: 8,
            ledger: 156,
            code: 1001,
            flags: AccountFlags::HISTORY | AccountFlags::LINKED,
            timestamp: 11,
        }
    }

    #[test]
    fn encoding_round_trips() {
        let a = sample();
        assert_eq!(Account::from_bytes(&a.to_bytes()), a);
    }

    #[test]
    fn fields_sit_at_their_documented_offsets() {
        let b = sample().to_bytes();
        assert_eq!(b[0], 0x10, "id is little-endian at offset 0");
        assert_eq!(b[ACCOUNT_LEDGER_OFFSET..][..4], 156_u32.to_le_bytes());
        assert_eq!(b[ACCOUNT_CODE_OFFSET..][..2], 1001_u16.to_le_bytes());
        assert_eq!(b[ACCOUNT_FLAGS_OFFSET..][..2], 0b1001_u16.to_le_bytes());
        assert_eq!(b[ACCOUNT_CREDITS_POSTED_OFFSET..][..16], [0xff; 16]);
        assert_eq!(b[ACCOUNT_TIMESTAMP_OFFSET..][..8], 11_u64.to_le_bytes());
    }

    #[test]
    fn reserved_flag_bits_are_detected() {
        assert!(!AccountFlags::KNOWN.has_reserved_bits());
        assert!(AccountFlags(1 << 4).has_reserved_bits(), "imported is not supported");
        assert!(AccountFlags(1 << 15).has_reserved_bits());
    }

    #[test]
    fn flag_names_resolve() {
        assert_eq!(AccountFlags::from_name("closed"), Some(AccountFlags::CLOSED));
        assert_eq!(AccountFlags::from_name("imported"), None);
    }

    #[test]
    fn balances_are_signed_differences() {
        let mut a = Account { credits_posted: 10, debits_posted: 25, ..Account::default() };
        assert_eq!(a.credit_balance_posted(), Some(-15));
        assert_eq!(a.debit_balance_posted(), Some(15));
        a.credits_posted = u128::MAX;
        assert_eq!(a.credit_balance_posted(), None);
    }
}
