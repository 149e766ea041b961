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

/// The derived key of one context string, computed on first use.
///
/// `Hasher::new_derive_key(context)` hashes the context string every time (a compression of its
/// own); the hazmat constructor starts from the context key hashed once, which is the state
/// `new_derive_key` builds, so outputs are the same for one compression less.
pub(crate) struct ContextKey {
    context: &'static str,
    key: std::sync::OnceLock<blake3::hazmat::ContextKey>,
}

impl ContextKey {
    pub(crate) const fn new(context: &'static str) -> Self {
        Self { context, key: std::sync::OnceLock::new() }
    }

    /// A hasher in key-derivation mode for this context.
    pub(crate) fn hasher(&'static self) -> HashFeed {
        let key = self.key.get_or_init(|| blake3::hazmat::hash_derive_key_context(self.context));
        HashFeed { key, buffer: [0; HASH_FEED_BYTES], len: 0, hasher: None }
    }
}

/// Bytes gathered before they are handed to BLAKE3 in one `update`.
const HASH_FEED_BYTES: usize = 256;

/// A BLAKE3 hash in key-derivation mode, fed through a small buffer. The encodings here are
/// many short fields (a length, a few bytes of text): one `update` per field costs more than
/// the compression itself, and a `blake3::Hasher` is 2 KiB that every move copies. So bytes
/// are gathered here and hashed in one go at the end; a hasher (on the heap) is made only for
/// inputs longer than the buffer. The hash is of the concatenated bytes either way.
pub(crate) struct HashFeed {
    key: &'static blake3::hazmat::ContextKey,
    buffer: [u8; HASH_FEED_BYTES],
    len: usize,
    hasher: Option<Box<blake3::Hasher>>,
}

impl HashFeed {
    pub(crate) fn update(&mut self, bytes: &[u8]) {
        if let Some(free) = self.buffer.get_mut(self.len..self.len + bytes.len()) {
            free.copy_from_slice(bytes);
            self.len += bytes.len();
            return;
        }
        let key = self.key;
        let hasher = self.hasher.get_or_insert_with(|| Box::new(new_hasher(key)));
        hasher.update(&self.buffer[..self.len]);
        self.len = 0;
        if bytes.len() < HASH_FEED_BYTES {
            self.buffer[..bytes.len()].copy_from_slice(bytes);
            self.len = bytes.len();
        } else {
            hasher.update(bytes);
        }
    }

    /// `update` for a fixed-size field (an integer's bytes): a single store into the buffer.
    pub(crate) fn update_fixed<const N: usize>(&mut self, bytes: [u8; N]) {
        match self.buffer.get_mut(self.len..self.len + N) {
            Some(free) => {
                free.copy_from_slice(&bytes);
                self.len += N;
            }
            None => self.update(&bytes),
        }
    }

    /// The first 16 bytes of the hash as a u128 (LE).
    pub(crate) fn finish_u128(self) -> u128 {
        let hash = match self.hasher {
            Some(mut hasher) => {
                hasher.update(&self.buffer[..self.len]);
                hasher.finalize()
            }
            None => {
                let mut hasher = new_hasher(self.key);
                hasher.update(&self.buffer[..self.len]);
                hasher.finalize()
            }
        };
        let mut first = [0_u8; 16];
        first.copy_from_slice(&hash.as_bytes()[..16]);
        u128::from_le_bytes(first)
    }

    /// The hash as an id: never 0 or u128::MAX (module docs).
    pub(crate) fn finish_id(self) -> u128 {
        self.finish_u128() % (u128::MAX - 1) + 1
    }
}

fn new_hasher(key: &blake3::hazmat::ContextKey) -> blake3::Hasher {
    use blake3::hazmat::HasherExt as _;
    blake3::Hasher::new_from_context_key(key)
}

static ACCOUNT_KEY: ContextKey = ContextKey::new(ACCOUNT_CONTEXT);
static EVENT_KEY: ContextKey = ContextKey::new(EVENT_CONTEXT);
static SUBJECT_KEY: ContextKey = ContextKey::new(SUBJECT_CONTEXT);

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
    let mut hasher = ACCOUNT_KEY.hasher();
    hasher.update_fixed(ledger.to_le_bytes());
    hasher.update_fixed(code.to_le_bytes());
    match subject {
        None => {
            hasher.update_fixed([SUBJECT_TAG_NONE]);
        }
        Some(subject) => {
            hasher.update_fixed([SUBJECT_TAG_SOME]);
            update_with_length(&mut hasher, subject.key);
            update_with_length(&mut hasher, subject.value);
        }
    }
    hasher.finish_id()
}

/// The hash of an event id, stored in `user_data_128` of every transfer the event posts.
#[must_use]
pub fn event_hash(event_id: &str) -> u128 {
    let mut hasher = EVENT_KEY.hasher();
    hasher.update(event_id.as_bytes());
    hasher.finish_id()
}

/// The hash of a subject, stored in `user_data_128` of the accounts opened for it.
#[must_use]
pub fn subject_hash(subject: Subject<'_>) -> u128 {
    let mut hasher = SUBJECT_KEY.hasher();
    update_with_length(&mut hasher, subject.key);
    update_with_length(&mut hasher, subject.value);
    hasher.finish_id()
}

pub(crate) fn update_with_length(hasher: &mut HashFeed, text: &str) {
    // Subject keys and values are bounded far below 4 GiB when they are accepted; a longer one
    // would still hash deterministically, with a saturated length.
    let length = u32::try_from(text.len()).unwrap_or(u32::MAX);
    hasher.update_fixed(length.to_le_bytes());
    hasher.update(text.as_bytes());
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
    fn a_fed_hash_is_the_derived_key_of_the_concatenated_bytes() {
        static KEY: ContextKey = ContextKey::new("ledger-events test context");
        let bytes: Vec<u8> = (0..1000_u32).map(|i| u8::try_from(i % 251).expect("below 251")).collect();
        // Pieces around the buffer's size, so that every way of filling and flushing it is taken.
        for piece in [1, 7, 64, HASH_FEED_BYTES - 1, HASH_FEED_BYTES, HASH_FEED_BYTES + 1, 999] {
            for total in [0, 5, HASH_FEED_BYTES, 2 * HASH_FEED_BYTES + 3, 1000] {
                let mut hasher = KEY.hasher();
                for chunk in bytes[..total].chunks(piece) {
                    hasher.update(chunk);
                }
                let expected = blake3::derive_key("ledger-events test context", &bytes[..total]);
                let mut first = [0_u8; 16];
                first.copy_from_slice(&expected[..16]);
                assert_eq!(
                    hasher.finish_u128(),
                    u128::from_le_bytes(first),
                    "pieces of {piece}, {total} bytes"
                );
            }
        }
    }

    #[test]
    fn event_hashes_are_domain_separated_from_account_ids() {
        assert_ne!(event_hash("E1"), subject_hash(Subject { key: "", value: "E1" }));
    }
}
