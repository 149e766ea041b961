//! Deterministic ids: accounts from (ledger, code, subject), and the hash of an event id.
//!
//! Account id derivation (BLAKE3 in key-derivation mode, so that these hashes can never equal a
//! hash of the same bytes made for another purpose):
//!
//! ```text
//! context  "ledger-events 2026-11-25 account id v1"
//! input    offset  size  field
//!               0     4  ledger          u32 LE
//!               4     2  code            u16 LE
//!               6     1  subject tag     u8: 0 = platform-level account (input ends here),
//!                                            1 = a subject follows
//!               7     4  key length      u32 LE
//!              11     k  key             UTF-8 bytes of the subject key ("loan_note")
//!            11+k     4  value length    u32 LE
//!            15+k     v  value           UTF-8 bytes of the subject value ("L1")
//! output   the first 16 bytes of the hash as a u128 (LE) = h;
//!          id = h mod (2^128 - 2) + 1, so that an id is never 0 or u128::MAX (both reserved by
//!          the engine)
//! ```
//!
//! The lengths make the encoding prefix-free: ("ab", "c") and ("a", "bc") differ. The same
//! mapping with the context `"ledger-events 2026-11-25 event id v1"` over the UTF-8 bytes of an
//! event id gives the `user_data_128` of every transfer of that event, and with the context
//! `"ledger-events 2026-11-25 subject v1"` over (key length, key, value length, value) the
//! `user_data_128` of an account, so that all accounts of one loan note share one value.

const ACCOUNT_CONTEXT: &str = "ledger-events 2026-11-25 account id v1";
const EVENT_CONTEXT: &str = "ledger-events 2026-11-25 event id v1";
const SUBJECT_CONTEXT: &str = "ledger-events 2026-11-25 subject v1";

/// A hasher already keyed with `context`. Deriving the key from the context string costs a
/// compression of its own; doing it once and cloning the keyed state per hash gives the same
/// output (the clone is the state `new_derive_key` would have built) for one compression less.
pub(crate) fn keyed(
    context: &'static str,
    cache: &'static std::sync::OnceLock<blake3::Hasher>,
) -> blake3::Hasher {
    cache.get_or_init(|| blake3::Hasher::new_derive_key(context)).clone()
}

static ACCOUNT_HASHER: std::sync::OnceLock<blake3::Hasher> = std::sync::OnceLock::new();
static EVENT_HASHER: std::sync::OnceLock<blake3::Hasher> = std::sync::OnceLock::new();
static SUBJECT_HASHER: std::sync::OnceLock<blake3::Hasher> = std::sync::OnceLock::new();

const SUBJECT_TAG_NONE: u8 = 0;
const SUBJECT_TAG_SOME: u8 = 1;

/// A subject: which loan note, funder, channel, ... an account belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Subject<'a> {
    pub key: &'a str,
    pub value: &'a str,
}

/// The id of the account of chart `code` in `ledger` for `subject` (None: platform-level).
#[must_use]
pub fn account_id(ledger: u32, code: u16, subject: Option<Subject<'_>>) -> u128 {
    let mut hasher = keyed(ACCOUNT_CONTEXT, &ACCOUNT_HASHER);
    hasher.update(&ledger.to_le_bytes());
    hasher.update(&code.to_le_bytes());
    match subject {
        None => {
            hasher.update(&[SUBJECT_TAG_NONE]);
        }
        Some(subject) => {
            hasher.update(&[SUBJECT_TAG_SOME]);
            update_with_length(&mut hasher, subject.key);
            update_with_length(&mut hasher, subject.value);
        }
    }
    to_id(&hasher)
}

/// The hash of an event id, stored in `user_data_128` of every transfer the event posts.
#[must_use]
pub fn event_hash(event_id: &str) -> u128 {
    let mut hasher = keyed(EVENT_CONTEXT, &EVENT_HASHER);
    hasher.update(event_id.as_bytes());
    to_id(&hasher)
}

/// The hash of a subject, stored in `user_data_128` of the accounts opened for it.
#[must_use]
pub fn subject_hash(subject: Subject<'_>) -> u128 {
    let mut hasher = keyed(SUBJECT_CONTEXT, &SUBJECT_HASHER);
    update_with_length(&mut hasher, subject.key);
    update_with_length(&mut hasher, subject.value);
    to_id(&hasher)
}

pub(crate) fn update_with_length(hasher: &mut blake3::Hasher, text: &str) {
    // Subject keys and values are bounded far below 4 GiB when they are accepted; a longer one
    // would still hash deterministically, with a saturated length.
    let length = u32::try_from(text.len()).unwrap_or(u32::MAX);
    hasher.update(&length.to_le_bytes());
    hasher.update(text.as_bytes());
}

pub(crate) fn to_id(hasher: &blake3::Hasher) -> u128 {
    let hash = hasher.finalize();
    let mut first = [0_u8; 16];
    first.copy_from_slice(&hash.as_bytes()[..16]);
    let h = u128::from_le_bytes(first);
    h % (u128::MAX - 1) + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_level_and_subject_accounts_differ() {
        let platform = account_id(156, 6011, None);
        let empty = account_id(156, 6011, Some(Subject { key: "", value: "" }));
        assert_ne!(platform, empty);
    }

    #[test]
    fn the_encoding_is_prefix_free() {
        let a = account_id(156, 1122, Some(Subject { key: "ab", value: "c" }));
        let b = account_id(156, 1122, Some(Subject { key: "a", value: "bc" }));
        assert_ne!(a, b);
    }

    #[test]
    fn event_hashes_are_domain_separated_from_account_ids() {
        assert_ne!(event_hash("E1"), subject_hash(Subject { key: "", value: "E1" }));
    }
}
