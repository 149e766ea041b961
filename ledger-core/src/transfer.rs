//! The `Transfer` record: an immutable movement of `amount` from a debit to a credit account.
//!
//! Byte layout (128 bytes, little-endian, no padding); see `docs/formats.md`.
//!
//! ```text
//! offset  size  field
//!      0    16  id                 u128  client-chosen idempotency key, never 0 or u128::MAX
//!     16    16  debit_account_id   u128
//!     32    16  credit_account_id  u128
//!     48    16  amount             u128  minor units
//!     64    16  pending_id         u128  the pending transfer a post/void resolves, else 0
//!     80    16  user_data_128      u128
//!     96     8  user_data_64       u64
//!    104     4  user_data_32       u32
//!    108     4  timeout            u32   seconds; pending transfers only (0 = never expires)
//!    112     4  ledger             u32
//!    116     2  code               u16   reason for the transfer (event type)
//!    118     2  flags              u16   TransferFlags
//!    120     8  timestamp          u64   nanoseconds, assigned by the writer; zero on input
//! ```

use crate::record::{read_u16, read_u32, read_u64, read_u128};

pub const TRANSFER_SIZE: usize = 128;
pub const TRANSFER_ID_OFFSET: usize = 0;
pub const TRANSFER_DEBIT_ACCOUNT_ID_OFFSET: usize = 16;
pub const TRANSFER_CREDIT_ACCOUNT_ID_OFFSET: usize = 32;
pub const TRANSFER_AMOUNT_OFFSET: usize = 48;
pub const TRANSFER_PENDING_ID_OFFSET: usize = 64;
pub const TRANSFER_USER_DATA_128_OFFSET: usize = 80;
pub const TRANSFER_USER_DATA_64_OFFSET: usize = 96;
pub const TRANSFER_USER_DATA_32_OFFSET: usize = 104;
pub const TRANSFER_TIMEOUT_OFFSET: usize = 108;
pub const TRANSFER_LEDGER_OFFSET: usize = 112;
pub const TRANSFER_CODE_OFFSET: usize = 116;
pub const TRANSFER_FLAGS_OFFSET: usize = 118;
pub const TRANSFER_TIMESTAMP_OFFSET: usize = 120;

const _: () = assert!(TRANSFER_TIMESTAMP_OFFSET + 8 == TRANSFER_SIZE);
const _: () = assert!(std::mem::size_of::<Transfer>() == TRANSFER_SIZE);

/// `amount` of a post that posts the whole pending amount, and of a balancing transfer that moves
/// as much as the balance limits allow.
pub const AMOUNT_MAX: u128 = u128::MAX;

/// Flags of a transfer. Bits not named here are reserved and must be zero.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, bytemuck::Pod, bytemuck::Zeroable,
)]
#[repr(transparent)]
pub struct TransferFlags(pub u16);

impl TransferFlags {
    /// The transfer succeeds or fails together with the next transfer in the batch.
    pub const LINKED: Self = Self(1 << 0);
    /// Reserve the amount (debits/credits_pending) until posted, voided or expired.
    pub const PENDING: Self = Self(1 << 1);
    /// Post the pending transfer named by `pending_id` (all of it, or a smaller amount).
    pub const POST_PENDING_TRANSFER: Self = Self(1 << 2);
    /// Void the pending transfer named by `pending_id`, releasing its amount.
    pub const VOID_PENDING_TRANSFER: Self = Self(1 << 3);
    /// Clamp the amount so that the debit account's debits do not exceed its credits.
    pub const BALANCING_DEBIT: Self = Self(1 << 4);
    /// Clamp the amount so that the credit account's credits do not exceed its debits.
    pub const BALANCING_CREDIT: Self = Self(1 << 5);
    /// A pending transfer that closes its debit account; voiding it reopens the account.
    pub const CLOSING_DEBIT: Self = Self(1 << 6);
    /// A pending transfer that closes its credit account; voiding it reopens the account.
    pub const CLOSING_CREDIT: Self = Self(1 << 7);
    // Bit 8 is TigerBeetle's `imported`; we do not accept imported events, so it stays reserved.

    pub const NONE: Self = Self(0);
    pub const KNOWN: Self = Self(0xff);

    pub const NAMES: [(&'static str, Self); 8] = [
        ("linked", Self::LINKED),
        ("pending", Self::PENDING),
        ("post_pending_transfer", Self::POST_PENDING_TRANSFER),
        ("void_pending_transfer", Self::VOID_PENDING_TRANSFER),
        ("balancing_debit", Self::BALANCING_DEBIT),
        ("balancing_credit", Self::BALANCING_CREDIT),
        ("closing_debit", Self::CLOSING_DEBIT),
        ("closing_credit", Self::CLOSING_CREDIT),
    ];

    #[must_use]
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    #[must_use]
    pub const fn intersects(self, other: Self) -> bool {
        self.0 & other.0 != 0
    }

    #[must_use]
    pub const fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    #[must_use]
    pub const fn has_reserved_bits(self) -> bool {
        self.0 & !Self::KNOWN.0 != 0
    }

    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::NAMES.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
    }

    #[must_use]
    pub const fn is_post_or_void(self) -> bool {
        self.intersects(Self(Self::POST_PENDING_TRANSFER.0 | Self::VOID_PENDING_TRANSFER.0))
    }

    #[must_use]
    pub const fn is_balancing(self) -> bool {
        self.intersects(Self(Self::BALANCING_DEBIT.0 | Self::BALANCING_CREDIT.0))
    }

    #[must_use]
    pub const fn is_closing(self) -> bool {
        self.intersects(Self(Self::CLOSING_DEBIT.0 | Self::CLOSING_CREDIT.0))
    }
}

impl std::ops::BitOr for TransferFlags {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        self.union(rhs)
    }
}

/// One transfer, as submitted (timestamp 0) or as stored (timestamp assigned, and for post/void
/// the account ids, ledger, code and effective amount filled in from the pending transfer).
///
/// `repr(C)` with fields in layout order: the in-memory record has no padding (the size assert
/// below) and can live in zero-initialised tables (`bytemuck::Pod`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(C)]
pub struct Transfer {
    pub id: u128,
    pub debit_account_id: u128,
    pub credit_account_id: u128,
    pub amount: u128,
    pub pending_id: u128,
    pub user_data_128: u128,
    pub user_data_64: u64,
    pub user_data_32: u32,
    pub timeout: u32,
    pub ledger: u32,
    pub code: u16,
    pub flags: TransferFlags,
    pub timestamp: u64,
}

impl Transfer {
    #[must_use]
    pub fn to_bytes(&self) -> [u8; TRANSFER_SIZE] {
        let mut b = [0_u8; TRANSFER_SIZE];
        self.write_bytes(&mut b);
        b
    }

    pub fn write_bytes(&self, out: &mut [u8; TRANSFER_SIZE]) {
        out[TRANSFER_ID_OFFSET..][..16].copy_from_slice(&self.id.to_le_bytes());
        out[TRANSFER_DEBIT_ACCOUNT_ID_OFFSET..][..16].copy_from_slice(&self.debit_account_id.to_le_bytes());
        out[TRANSFER_CREDIT_ACCOUNT_ID_OFFSET..][..16].copy_from_slice(&self.credit_account_id.to_le_bytes());
        out[TRANSFER_AMOUNT_OFFSET..][..16].copy_from_slice(&self.amount.to_le_bytes());
        out[TRANSFER_PENDING_ID_OFFSET..][..16].copy_from_slice(&self.pending_id.to_le_bytes());
        out[TRANSFER_USER_DATA_128_OFFSET..][..16].copy_from_slice(&self.user_data_128.to_le_bytes());
        out[TRANSFER_USER_DATA_64_OFFSET..][..8].copy_from_slice(&self.user_data_64.to_le_bytes());
        out[TRANSFER_USER_DATA_32_OFFSET..][..4].copy_from_slice(&self.user_data_32.to_le_bytes());
        out[TRANSFER_TIMEOUT_OFFSET..][..4].copy_from_slice(&self.timeout.to_le_bytes());
        out[TRANSFER_LEDGER_OFFSET..][..4].copy_from_slice(&self.ledger.to_le_bytes());
        out[TRANSFER_CODE_OFFSET..][..2].copy_from_slice(&self.code.to_le_bytes());
        out[TRANSFER_FLAGS_OFFSET..][..2].copy_from_slice(&self.flags.0.to_le_bytes());
        out[TRANSFER_TIMESTAMP_OFFSET..][..8].copy_from_slice(&self.timestamp.to_le_bytes());
    }

    /// Decodes a record; every bit pattern is structurally valid (see `Account::from_bytes`).
    #[must_use]
    pub fn from_bytes(b: &[u8; TRANSFER_SIZE]) -> Self {
        Self {
            id: read_u128(b, TRANSFER_ID_OFFSET),
            debit_account_id: read_u128(b, TRANSFER_DEBIT_ACCOUNT_ID_OFFSET),
            credit_account_id: read_u128(b, TRANSFER_CREDIT_ACCOUNT_ID_OFFSET),
            amount: read_u128(b, TRANSFER_AMOUNT_OFFSET),
            pending_id: read_u128(b, TRANSFER_PENDING_ID_OFFSET),
            user_data_128: read_u128(b, TRANSFER_USER_DATA_128_OFFSET),
            user_data_64: read_u64(b, TRANSFER_USER_DATA_64_OFFSET),
            user_data_32: read_u32(b, TRANSFER_USER_DATA_32_OFFSET),
            timeout: read_u32(b, TRANSFER_TIMEOUT_OFFSET),
            ledger: read_u32(b, TRANSFER_LEDGER_OFFSET),
            code: read_u16(b, TRANSFER_CODE_OFFSET),
            flags: TransferFlags(read_u16(b, TRANSFER_FLAGS_OFFSET)),
            timestamp: read_u64(b, TRANSFER_TIMESTAMP_OFFSET),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_round_trips() {
        let t = Transfer {
            id: 1,
            debit_account_id: 2,
            credit_account_id: 3,
            amount: u128::MAX - 1,
            pending_id: 5,
            user_data_128: 6,
            user_data_64: 7,
            user_data_32: 8,
            timeout: 9,
            ledger: 10,
            code: 11,
            flags: TransferFlags::PENDING | TransferFlags::CLOSING_CREDIT,
            timestamp: 12,
        };
        let b = t.to_bytes();
        assert_eq!(Transfer::from_bytes(&b), t);
        assert_eq!(b[TRANSFER_TIMEOUT_OFFSET..][..4], 9_u32.to_le_bytes());
        assert_eq!(b[TRANSFER_FLAGS_OFFSET..][..2], 0b1000_0010_u16.to_le_bytes());
    }

    #[test]
    fn flag_classes() {
        assert!(TransferFlags::VOID_PENDING_TRANSFER.is_post_or_void());
        assert!(!TransferFlags::PENDING.is_post_or_void());
        assert!((TransferFlags::BALANCING_CREDIT | TransferFlags::LINKED).is_balancing());
        assert!(TransferFlags::CLOSING_DEBIT.is_closing());
        assert!(TransferFlags(1 << 8).has_reserved_bits(), "imported is not supported");
        assert_eq!(TransferFlags::from_name("pending"), Some(TransferFlags::PENDING));
    }
}
