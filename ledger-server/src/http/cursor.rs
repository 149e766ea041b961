//! The pagination cursor of the account history listings (`/v1/accounts/{id}/transfers` and
//! `/v1/accounts/{id}/balances`).
//!
//! A cursor is the position after the last item a page returned: that item's timestamp, and how
//! many items with exactly that timestamp the client has received so far. Transfer timestamps
//! are unique, so for transfers the count is always 1 and "strictly after the last timestamp"
//! (or strictly before, newest first) names the rest of the listing exactly. Balance rows are
//! not unique by timestamp: an expiry row carries the timestamp of the expiry pass that released
//! it, which an event of the same batch (or another expiry of the same pass) also has
//! (`ledger-core/src/ledger/balance_history.rs`). So a balances page resumes *at* the timestamp
//! and skips the `seen_at_timestamp` rows of it the client already has (`history.rs`); rows of
//! one timestamp come in a fixed order, so the skipped rows are the ones already returned.
//! Either way, items written between two page requests land after every existing one and can
//! neither shift a page nor appear twice.
//!
//! The cursor also carries the listing's filters, so that a cursor cannot be replayed against a
//! different account, side, order or time range, which would silently skip or repeat items;
//! `Scope::merge` refuses such a request.
//!
//! ```text
//! Cursor, 52 bytes, sent as 104 lowercase hex digits
//! offset  size  field
//!      0     1  version            u8    CURSOR_VERSION (2)
//!      1     1  listing            u8    1 transfers, 2 balances
//!      2     1  order              u8    0 ascending (oldest first), 1 descending
//!      3     1  side               u8    1 debits, 2 credits, 3 both (AccountFilterFlags bits)
//!      4    16  account_id         u128
//!     20     8  from               u64   inclusive, 0: unbounded
//!     28     8  to                 u64   inclusive, 0: unbounded
//!     36     8  after_timestamp    u64   the last item returned; never 0
//!     44     4  seen_at_timestamp  u32   items with that timestamp returned so far; never 0,
//!                                        always 1 for transfers
//!     48     4  check              u32   FNV-1a of bytes 0..48
//! ```
//!
//! Version 1 was the first 44 bytes of this layout followed by its check (48 bytes, 96 digits):
//! it had no `seen_at_timestamp`, so a version 1 balances cursor could skip a row. Version 1
//! cursors are recognized only to be refused with `CursorError::Version(1)`; the client starts
//! the listing again. Cursors live for one walk through a listing, so nothing older needs to
//! stay readable.
//!
//! The check is not a signature: a client that forges a cursor can only ask for a listing it
//! could have asked for with `from`/`to` directly. It catches truncated and mistyped cursors,
//! which would otherwise decode to a plausible timestamp and skip items without an error.

use ledger_core::AccountFilterFlags;

pub const CURSOR_VERSION: u8 = 2;
pub const CURSOR_SIZE: usize = 52;
pub const CURSOR_VERSION_OFFSET: usize = 0;
pub const CURSOR_LISTING_OFFSET: usize = 1;
pub const CURSOR_ORDER_OFFSET: usize = 2;
pub const CURSOR_SIDE_OFFSET: usize = 3;
pub const CURSOR_ACCOUNT_ID_OFFSET: usize = 4;
pub const CURSOR_FROM_OFFSET: usize = 20;
pub const CURSOR_TO_OFFSET: usize = 28;
pub const CURSOR_AFTER_TIMESTAMP_OFFSET: usize = 36;
pub const CURSOR_SEEN_AT_TIMESTAMP_OFFSET: usize = 44;
pub const CURSOR_CHECK_OFFSET: usize = 48;
const _: () = assert!(CURSOR_ACCOUNT_ID_OFFSET + 16 == CURSOR_FROM_OFFSET);
const _: () = assert!(CURSOR_FROM_OFFSET + 8 == CURSOR_TO_OFFSET);
const _: () = assert!(CURSOR_TO_OFFSET + 8 == CURSOR_AFTER_TIMESTAMP_OFFSET);
const _: () = assert!(CURSOR_AFTER_TIMESTAMP_OFFSET + 8 == CURSOR_SEEN_AT_TIMESTAMP_OFFSET);
const _: () = assert!(CURSOR_SEEN_AT_TIMESTAMP_OFFSET + 4 == CURSOR_CHECK_OFFSET);
const _: () = assert!(CURSOR_CHECK_OFFSET + 4 == CURSOR_SIZE);
/// Two hex digits per byte.
pub const CURSOR_TEXT_LEN: usize = CURSOR_SIZE * 2;

/// Version 1, recognized only to be refused: the same fields up to `after_timestamp`, then
/// its check (FNV-1a of bytes 0..44).
const CURSOR_V1_SIZE: usize = 48;
const CURSOR_V1_CHECK_OFFSET: usize = 44;
const _: () = assert!(CURSOR_V1_CHECK_OFFSET == CURSOR_SEEN_AT_TIMESTAMP_OFFSET);
const _: () = assert!(CURSOR_V1_CHECK_OFFSET + 4 == CURSOR_V1_SIZE);
const _: () = assert!(CURSOR_V1_SIZE < CURSOR_SIZE);

/// Which history listing a cursor continues.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Listing {
    Transfers,
    Balances,
}

/// Oldest first (`asc`, the default) or newest first (`desc`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Order {
    #[default]
    Asc,
    Desc,
}

/// Which of the account's transfers a listing holds: those that debit it, those that credit
/// it, or both (the default).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    Debits,
    Credits,
    #[default]
    Both,
}

impl Side {
    /// The side as the engine's filter flags.
    #[must_use]
    pub fn filter_flags(self) -> AccountFilterFlags {
        match self {
            Self::Debits => AccountFilterFlags::DEBITS,
            Self::Credits => AccountFilterFlags::CREDITS,
            Self::Both => AccountFilterFlags::DEBITS.union(AccountFilterFlags::CREDITS),
        }
    }
}

/// The filters that define one listing; a cursor is only valid within its scope.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scope {
    pub listing: Listing,
    pub account_id: u128,
    pub order: Order,
    pub side: Side,
    /// Inclusive lower timestamp bound; 0 means unbounded.
    pub from: u64,
    /// Inclusive upper timestamp bound; 0 means unbounded.
    pub to: u64,
}

/// The filters a request gave explicitly; `None` for a parameter it left out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RequestedScope {
    pub order: Option<Order>,
    pub side: Option<Side>,
    pub from: Option<u64>,
    pub to: Option<u64>,
}

/// A position in a listing: after the first `seen_at_timestamp` items (in the scope's order)
/// whose timestamp is `after_timestamp`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub scope: Scope,
    /// The timestamp of the last item returned; never 0.
    pub after_timestamp: u64,
    /// How many items with timestamp `after_timestamp` the client has received; never 0, and
    /// always 1 for the transfers listing (transfer timestamps are unique).
    pub seen_at_timestamp: u32,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CursorError {
    #[error("a cursor is {expected} characters, got {got}")]
    Length { got: usize, expected: usize },
    #[error("a cursor holds only hex digits; character {offset} is not one")]
    NotHex { offset: usize },
    #[error("the cursor is damaged (check {got:#010x}, expected {expected:#010x})")]
    Check { got: u32, expected: u32 },
    #[error("cursor version {0} is not known; start the listing again without a cursor")]
    Version(u8),
    #[error("cursor field {field} has the unknown value {value}")]
    UnknownValue { field: &'static str, value: u8 },
    #[error("the cursor names timestamp 0, which no item has")]
    ZeroTimestamp,
    #[error("the cursor counts {seen} items at its timestamp, which the {listing} listing cannot have")]
    SeenAtTimestamp { listing: &'static str, seen: u32 },
}

/// Why a request's parameters do not fit its cursor.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ScopeMismatch {
    #[error("the cursor belongs to the {0} listing of another account")]
    Account(&'static str),
    #[error("the cursor belongs to the {0} listing, not this one")]
    Listing(&'static str),
    #[error("parameter `{0}` differs from the value the cursor was issued for")]
    Parameter(&'static str),
}

impl Listing {
    const fn code(self) -> u8 {
        match self {
            Self::Transfers => 1,
            Self::Balances => 2,
        }
    }

    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Transfers => "transfers",
            Self::Balances => "balances",
        }
    }
}

impl Order {
    const fn code(self) -> u8 {
        match self {
            Self::Asc => 0,
            Self::Desc => 1,
        }
    }
}

impl Side {
    const fn code(self) -> u8 {
        match self {
            Self::Debits => 1,
            Self::Credits => 2,
            Self::Both => 3,
        }
    }
}

impl Scope {
    /// The scope of a follow-up request: `requested` parameters that the request left out are
    /// taken from the cursor's scope (so `?cursor=` alone continues a listing); parameters it
    /// gave must equal the cursor's. `path` is the listing and account of the request's path.
    ///
    /// # Errors
    /// `ScopeMismatch` when the cursor belongs to another listing or account, or a given
    /// parameter differs from the cursor's.
    pub fn merge(
        self,
        listing: Listing,
        account_id: u128,
        requested: RequestedScope,
    ) -> Result<Self, ScopeMismatch> {
        if self.listing != listing {
            return Err(ScopeMismatch::Listing(self.listing.name()));
        }
        if self.account_id != account_id {
            return Err(ScopeMismatch::Account(self.listing.name()));
        }
        let same = |given: Option<u64>, own: u64| given.is_none_or(|g| g == own);
        if !requested.order.is_none_or(|o| o == self.order) {
            return Err(ScopeMismatch::Parameter("order"));
        }
        if !requested.side.is_none_or(|s| s == self.side) {
            return Err(ScopeMismatch::Parameter("side"));
        }
        if !same(requested.from, self.from) {
            return Err(ScopeMismatch::Parameter("from"));
        }
        if !same(requested.to, self.to) {
            return Err(ScopeMismatch::Parameter("to"));
        }
        Ok(self)
    }
}

impl Cursor {
    #[must_use]
    pub fn to_bytes(self) -> [u8; CURSOR_SIZE] {
        let mut b = [0_u8; CURSOR_SIZE];
        b[CURSOR_VERSION_OFFSET] = CURSOR_VERSION;
        b[CURSOR_LISTING_OFFSET] = self.scope.listing.code();
        b[CURSOR_ORDER_OFFSET] = self.scope.order.code();
        b[CURSOR_SIDE_OFFSET] = self.scope.side.code();
        b[CURSOR_ACCOUNT_ID_OFFSET..][..16].copy_from_slice(&self.scope.account_id.to_le_bytes());
        b[CURSOR_FROM_OFFSET..][..8].copy_from_slice(&self.scope.from.to_le_bytes());
        b[CURSOR_TO_OFFSET..][..8].copy_from_slice(&self.scope.to.to_le_bytes());
        b[CURSOR_AFTER_TIMESTAMP_OFFSET..][..8].copy_from_slice(&self.after_timestamp.to_le_bytes());
        b[CURSOR_SEEN_AT_TIMESTAMP_OFFSET..][..4].copy_from_slice(&self.seen_at_timestamp.to_le_bytes());
        let check = fnv1a_32(&b[..CURSOR_CHECK_OFFSET]);
        b[CURSOR_CHECK_OFFSET..][..4].copy_from_slice(&check.to_le_bytes());
        b
    }

    /// Decodes a cursor, validating the check before reading any field.
    ///
    /// # Errors
    /// `CursorError` for a damaged cursor or one with values this version does not know.
    pub fn from_bytes(b: &[u8; CURSOR_SIZE]) -> Result<Self, CursorError> {
        let expected = fnv1a_32(&b[..CURSOR_CHECK_OFFSET]);
        let got = u32::from_le_bytes(array(b, CURSOR_CHECK_OFFSET));
        if got != expected {
            return Err(CursorError::Check { got, expected });
        }
        if b[CURSOR_VERSION_OFFSET] != CURSOR_VERSION {
            return Err(CursorError::Version(b[CURSOR_VERSION_OFFSET]));
        }
        let listing = match b[CURSOR_LISTING_OFFSET] {
            1 => Listing::Transfers,
            2 => Listing::Balances,
            value => return Err(CursorError::UnknownValue { field: "listing", value }),
        };
        let order = match b[CURSOR_ORDER_OFFSET] {
            0 => Order::Asc,
            1 => Order::Desc,
            value => return Err(CursorError::UnknownValue { field: "order", value }),
        };
        let side = match b[CURSOR_SIDE_OFFSET] {
            1 => Side::Debits,
            2 => Side::Credits,
            3 => Side::Both,
            value => return Err(CursorError::UnknownValue { field: "side", value }),
        };
        let after_timestamp = u64::from_le_bytes(array(b, CURSOR_AFTER_TIMESTAMP_OFFSET));
        if after_timestamp == 0 {
            return Err(CursorError::ZeroTimestamp);
        }
        let seen_at_timestamp = u32::from_le_bytes(array(b, CURSOR_SEEN_AT_TIMESTAMP_OFFSET));
        let seen_valid = match listing {
            // The cursor's own item has the timestamp, and no other transfer has it.
            Listing::Transfers => seen_at_timestamp == 1,
            Listing::Balances => seen_at_timestamp != 0,
        };
        if !seen_valid {
            return Err(CursorError::SeenAtTimestamp { listing: listing.name(), seen: seen_at_timestamp });
        }
        Ok(Self {
            scope: Scope {
                listing,
                account_id: u128::from_le_bytes(array(b, CURSOR_ACCOUNT_ID_OFFSET)),
                order,
                side,
                from: u64::from_le_bytes(array(b, CURSOR_FROM_OFFSET)),
                to: u64::from_le_bytes(array(b, CURSOR_TO_OFFSET)),
            },
            after_timestamp,
            seen_at_timestamp,
        })
    }

    /// The cursor as sent to clients: lowercase hex, URL-safe without escaping.
    #[must_use]
    pub fn encode(self) -> String {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let bytes = self.to_bytes();
        let mut text = String::with_capacity(CURSOR_TEXT_LEN);
        for byte in bytes {
            text.push(char::from(DIGITS[usize::from(byte >> 4)]));
            text.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
        }
        text
    }

    /// Parses a cursor a client sent back (upper- or lowercase hex).
    ///
    /// # Errors
    /// `CursorError` for anything that is not a cursor this server issued.
    pub fn decode(text: &str) -> Result<Self, CursorError> {
        let text = text.as_bytes();
        if text.len() == CURSOR_V1_SIZE * 2 {
            let mut bytes = [0_u8; CURSOR_V1_SIZE];
            hex_decode(text, &mut bytes)?;
            return Err(refuse_v1(&bytes));
        }
        if text.len() != CURSOR_TEXT_LEN {
            return Err(CursorError::Length { got: text.len(), expected: CURSOR_TEXT_LEN });
        }
        let mut bytes = [0_u8; CURSOR_SIZE];
        hex_decode(text, &mut bytes)?;
        Self::from_bytes(&bytes)
    }
}

/// Why a cursor with the length of a version 1 cursor is refused: a well-checked version 1
/// cursor is named as such (so the client knows to start over), anything else is a damaged
/// cursor of the current length.
fn refuse_v1(b: &[u8; CURSOR_V1_SIZE]) -> CursorError {
    let check = u32::from_le_bytes(array(b, CURSOR_V1_CHECK_OFFSET));
    if b[CURSOR_VERSION_OFFSET] == 1 && check == fnv1a_32(&b[..CURSOR_V1_CHECK_OFFSET]) {
        CursorError::Version(1)
    } else {
        CursorError::Length { got: CURSOR_V1_SIZE * 2, expected: CURSOR_TEXT_LEN }
    }
}

/// Fills `bytes` from exactly twice as many hex digits (the caller checked the length).
fn hex_decode(text: &[u8], bytes: &mut [u8]) -> Result<(), CursorError> {
    debug_assert_eq!(text.len(), bytes.len() * 2);
    for (i, byte) in bytes.iter_mut().enumerate() {
        let high = hex_value(text[2 * i]).ok_or(CursorError::NotHex { offset: 2 * i })?;
        let low = hex_value(text[2 * i + 1]).ok_or(CursorError::NotHex { offset: 2 * i + 1 })?;
        *byte = (high << 4) | low;
    }
    Ok(())
}

fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

fn array<const N: usize, const SIZE: usize>(b: &[u8; SIZE], offset: usize) -> [u8; N] {
    let mut out = [0_u8; N];
    out.copy_from_slice(&b[offset..][..N]);
    out
}

/// 32-bit FNV-1a: a few lines, no dependency, and every single-byte change alters it.
fn fnv1a_32(bytes: &[u8]) -> u32 {
    const OFFSET_BASIS: u32 = 0x811c_9dc5;
    const PRIME: u32 = 0x0100_0193;
    bytes.iter().fold(OFFSET_BASIS, |hash, &byte| (hash ^ u32::from(byte)).wrapping_mul(PRIME))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Cursor {
        Cursor {
            scope: Scope {
                listing: Listing::Transfers,
                account_id: 0x0102_0304_0506_0708_090a_0b0c_0d0e_0f10,
                order: Order::Desc,
                side: Side::Credits,
                from: 5,
                to: u64::MAX,
            },
            after_timestamp: 1_700_000_000_123_456_789,
            seen_at_timestamp: 1,
        }
    }

    /// A balances cursor in the middle of three rows that share a timestamp.
    fn balances_sample() -> Cursor {
        let scope = Scope { listing: Listing::Balances, side: Side::Both, ..sample().scope };
        Cursor { scope, seen_at_timestamp: 2, ..sample() }
    }

    /// Re-seals `bytes` after a test changed a field, so that only the field is wrong.
    fn reseal(mut bytes: [u8; CURSOR_SIZE]) -> [u8; CURSOR_SIZE] {
        let check = fnv1a_32(&bytes[..CURSOR_CHECK_OFFSET]);
        bytes[CURSOR_CHECK_OFFSET..].copy_from_slice(&check.to_le_bytes());
        bytes
    }

    #[test]
    fn a_cursor_round_trips_through_its_text() {
        let cursor = sample();
        let text = cursor.encode();
        assert_eq!(text.len(), CURSOR_TEXT_LEN);
        assert!(text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        assert_eq!(Cursor::decode(&text), Ok(cursor));
        assert_eq!(Cursor::decode(&text.to_uppercase()), Ok(cursor));
        let balances = balances_sample();
        assert_eq!(Cursor::decode(&balances.encode()), Ok(balances));
        let many = Cursor { seen_at_timestamp: u32::MAX, ..balances };
        assert_eq!(Cursor::decode(&many.encode()), Ok(many));
    }

    #[test]
    fn the_layout_puts_each_field_at_its_offset() {
        let bytes = sample().to_bytes();
        assert_eq!(bytes[CURSOR_VERSION_OFFSET], CURSOR_VERSION);
        assert_eq!(bytes[CURSOR_LISTING_OFFSET], 1);
        assert_eq!(bytes[CURSOR_ORDER_OFFSET], 1);
        assert_eq!(bytes[CURSOR_SIDE_OFFSET], 2);
        assert_eq!(bytes[CURSOR_ACCOUNT_ID_OFFSET], 0x10);
        assert_eq!(bytes[CURSOR_FROM_OFFSET], 5);
        assert_eq!(bytes[CURSOR_TO_OFFSET..CURSOR_AFTER_TIMESTAMP_OFFSET], [0xff; 8]);
        assert_eq!(
            bytes[CURSOR_AFTER_TIMESTAMP_OFFSET..CURSOR_SEEN_AT_TIMESTAMP_OFFSET],
            1_700_000_000_123_456_789_u64.to_le_bytes()
        );
        assert_eq!(bytes[CURSOR_SEEN_AT_TIMESTAMP_OFFSET..CURSOR_CHECK_OFFSET], [1, 0, 0, 0]);
        let bytes = balances_sample().to_bytes();
        assert_eq!(bytes[CURSOR_SEEN_AT_TIMESTAMP_OFFSET..CURSOR_CHECK_OFFSET], [2, 0, 0, 0]);
    }

    #[test]
    fn every_single_digit_change_is_refused() {
        for text in [sample().encode(), balances_sample().encode()] {
            for i in 0..text.len() {
                let mut damaged = text.clone().into_bytes();
                damaged[i] = if damaged[i] == b'0' { b'1' } else { b'0' };
                let damaged = String::from_utf8(damaged).expect("ascii stays utf-8");
                assert!(Cursor::decode(&damaged).is_err(), "digit {i} changed but the cursor decoded");
            }
        }
    }

    #[test]
    fn malformed_text_names_the_problem() {
        let text = sample().encode();
        assert_eq!(
            Cursor::decode(&text[..10]),
            Err(CursorError::Length { got: 10, expected: CURSOR_TEXT_LEN })
        );
        let not_hex = format!("{}g{}", &text[..7], &text[8..]);
        assert_eq!(Cursor::decode(&not_hex), Err(CursorError::NotHex { offset: 7 }));
        assert_eq!(Cursor::decode("é"), Err(CursorError::Length { got: 2, expected: CURSOR_TEXT_LEN }));
    }

    #[test]
    fn well_checked_but_unknown_values_are_refused() {
        let mut bytes = sample().to_bytes();
        bytes[CURSOR_SIDE_OFFSET] = 9;
        assert_eq!(
            Cursor::from_bytes(&reseal(bytes)),
            Err(CursorError::UnknownValue { field: "side", value: 9 })
        );

        for version in [0, 1, 3] {
            let mut bytes = sample().to_bytes();
            bytes[CURSOR_VERSION_OFFSET] = version;
            assert_eq!(Cursor::from_bytes(&reseal(bytes)), Err(CursorError::Version(version)));
        }

        let zero = Cursor { after_timestamp: 0, ..sample() };
        assert_eq!(Cursor::from_bytes(&zero.to_bytes()), Err(CursorError::ZeroTimestamp));
    }

    #[test]
    fn seen_at_timestamp_is_never_0_and_is_1_for_transfers() {
        let none = Cursor { seen_at_timestamp: 0, ..balances_sample() };
        assert_eq!(
            Cursor::from_bytes(&none.to_bytes()),
            Err(CursorError::SeenAtTimestamp { listing: "balances", seen: 0 })
        );
        for seen in [0, 2] {
            let transfers = Cursor { seen_at_timestamp: seen, ..sample() };
            assert_eq!(
                Cursor::from_bytes(&transfers.to_bytes()),
                Err(CursorError::SeenAtTimestamp { listing: "transfers", seen })
            );
        }
    }

    /// A version 1 cursor as the previous server issued it (`sample()` without
    /// `seen_at_timestamp`): 48 bytes, the check over bytes 0..44.
    const CURSOR_V1_FIXTURE: &str =
        "01010102100f0e0d0c0b0a0908070605040302010500000000000000ffffffffffffffff15cd853dfe9c971779159a1c";

    #[test]
    fn a_version_1_cursor_is_refused_by_its_version() {
        assert_eq!(CURSOR_V1_FIXTURE.len(), CURSOR_V1_SIZE * 2);
        assert_eq!(Cursor::decode(CURSOR_V1_FIXTURE), Err(CursorError::Version(1)));
        assert_eq!(Cursor::decode(&CURSOR_V1_FIXTURE.to_uppercase()), Err(CursorError::Version(1)));
        // Damaged, or a current cursor cut to the old length: a length error, not a version.
        let damaged = format!("{}0", &CURSOR_V1_FIXTURE[..CURSOR_V1_FIXTURE.len() - 1]);
        let short = &sample().encode()[..CURSOR_V1_SIZE * 2];
        for text in [damaged.as_str(), short] {
            assert_eq!(
                Cursor::decode(text),
                Err(CursorError::Length { got: CURSOR_V1_SIZE * 2, expected: CURSOR_TEXT_LEN })
            );
        }
        let not_hex = format!("{}g", &CURSOR_V1_FIXTURE[..CURSOR_V1_FIXTURE.len() - 1]);
        assert_eq!(Cursor::decode(&not_hex), Err(CursorError::NotHex { offset: CURSOR_V1_SIZE * 2 - 1 }));
    }

    #[test]
    fn omitted_parameters_come_from_the_cursor_and_given_ones_must_match() {
        let scope = sample().scope;
        let id = scope.account_id;
        assert_eq!(scope.merge(Listing::Transfers, id, RequestedScope::default()), Ok(scope));
        let same = RequestedScope {
            order: Some(Order::Desc),
            side: Some(Side::Credits),
            from: Some(5),
            to: Some(u64::MAX),
        };
        assert_eq!(scope.merge(Listing::Transfers, id, same), Ok(scope));

        let other_order = RequestedScope { order: Some(Order::Asc), ..RequestedScope::default() };
        assert_eq!(scope.merge(Listing::Transfers, id, other_order), Err(ScopeMismatch::Parameter("order")));
        let other_side = RequestedScope { side: Some(Side::Both), ..RequestedScope::default() };
        assert_eq!(scope.merge(Listing::Transfers, id, other_side), Err(ScopeMismatch::Parameter("side")));
        let other_from = RequestedScope { from: Some(6), ..RequestedScope::default() };
        assert_eq!(scope.merge(Listing::Transfers, id, other_from), Err(ScopeMismatch::Parameter("from")));
        let other_to = RequestedScope { to: Some(7), ..RequestedScope::default() };
        assert_eq!(scope.merge(Listing::Transfers, id, other_to), Err(ScopeMismatch::Parameter("to")));
        assert_eq!(
            scope.merge(Listing::Transfers, id + 1, RequestedScope::default()),
            Err(ScopeMismatch::Account("transfers"))
        );
        assert_eq!(
            scope.merge(Listing::Balances, id, RequestedScope::default()),
            Err(ScopeMismatch::Listing("transfers"))
        );
    }
}
