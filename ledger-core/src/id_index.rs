//! `IdIndex`: a hash index from a 128-bit id to a 64-bit value.
//!
//! Every account and every transfer id ever accepted (or burnt by a transient failure) lives here
//! for good, so each entry must be small: a key as two `u64` (a `u128` would force 16-byte
//! alignment and pad the entry to 32 bytes) and a `u64` value make 24 bytes plus one control byte
//! in hashbrown's SwissTable. Ids are chosen by clients, so the hasher is seeded at random per
//! process; nothing iterates this table, so the seed cannot leak into state, files or replies.

use foldhash::fast::RandomState;
use hashbrown::HashTable;
use std::hash::BuildHasher;

#[derive(Clone, Copy, Debug)]
struct Entry {
    key: [u64; 2],
    value: u64,
}

const _: () = assert!(std::mem::size_of::<Entry>() == 24);

// `as u64` keeps the low half on purpose: the two halves are stored side by side.
#[expect(clippy::cast_possible_truncation, reason = "splitting a u128 into its two halves")]
const fn split(id: u128) -> [u64; 2] {
    [id as u64, (id >> 64) as u64]
}

#[derive(Debug, Default)]
pub struct IdIndex {
    table: HashTable<Entry>,
    hasher: RandomState,
}

impl IdIndex {
    #[must_use]
    pub fn with_capacity(capacity: usize) -> Self {
        Self { table: HashTable::with_capacity(capacity), hasher: RandomState::default() }
    }

    #[inline]
    fn hash(&self, key: [u64; 2]) -> u64 {
        self.hasher.hash_one(key)
    }

    #[must_use]
    #[inline]
    pub fn get(&self, id: u128) -> Option<u64> {
        let key = split(id);
        self.table.find(self.hash(key), |e| e.key == key).map(|e| e.value)
    }

    /// Inserts a new id. The caller has checked that it is absent (every insert follows a lookup
    /// on the validation path); a duplicate would corrupt idempotency, hence the assertion.
    #[inline]
    pub fn insert_new(&mut self, id: u128, value: u64) {
        let key = split(id);
        let hash = self.hash(key);
        debug_assert!(self.table.find(hash, |e| e.key == key).is_none(), "id inserted twice");
        let hasher = &self.hasher;
        self.table.insert_unique(hash, Entry { key, value }, |e| hasher.hash_one(e.key));
    }

    /// Replaces the value of an existing id; returns the old value.
    #[inline]
    pub fn replace(&mut self, id: u128, value: u64) -> Option<u64> {
        let key = split(id);
        let hash = self.hash(key);
        self.table.find_mut(hash, |e| e.key == key).map(|e| std::mem::replace(&mut e.value, value))
    }

    /// Removes an id; only a rolled-back linked chain does this.
    pub fn remove(&mut self, id: u128) -> Option<u64> {
        let key = split(id);
        let hash = self.hash(key);
        self.table.find_entry(hash, |e| e.key == key).ok().map(|e| e.remove().0.value)
    }

    #[must_use]
    pub fn len(&self) -> usize {
        self.table.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// Bytes the table has allocated (buckets and control bytes).
    #[must_use]
    pub fn allocated_bytes(&self) -> usize {
        self.table.allocation_size()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_get_replace_remove() {
        let mut index = IdIndex::with_capacity(4);
        let big = u128::MAX - 1;
        index.insert_new(1, 10);
        index.insert_new(big, 20);
        index.insert_new(1 << 64, 30);
        assert_eq!(index.get(1), Some(10));
        assert_eq!(index.get(big), Some(20));
        assert_eq!(index.get(1 << 64), Some(30));
        assert_eq!(index.get(2), None);
        assert_eq!(index.replace(1, 11), Some(10));
        assert_eq!(index.replace(3, 11), None);
        assert_eq!(index.get(1), Some(11));
        assert_eq!(index.remove(big), Some(20));
        assert_eq!(index.get(big), None);
        assert_eq!(index.len(), 2);
    }

    #[test]
    fn many_ids_stay_findable_through_growth() {
        let mut index = IdIndex::default();
        for id in 1..=50_000_u128 {
            index.insert_new(id * 0x1_0000_0001, u64::try_from(id).unwrap_or_default());
        }
        for id in 1..=50_000_u128 {
            assert_eq!(index.get(id * 0x1_0000_0001), u64::try_from(id).ok());
        }
        assert!(index.allocated_bytes() >= 50_000 * 24);
    }
}
