//! `IdIndex`: a hash index from a 128-bit id to a 64-bit value.
//!
//! Every account id and every transfer id ever accepted (or burnt) lives here for good, and each
//! new transfer costs one lookup and one insert, so the table is built for exactly this:
//!
//! - **Small entries.** A slot is the key as two `u64` plus the value: 24 bytes, no control
//!   bytes (id 0 is never a valid id, so an all-zero key marks an empty slot). A `u128` key would
//!   force 16-byte alignment and pad the slot to 32 bytes.
//! - **Bounded memory per id.** The table grows by 1.5x at 3/4 load (any capacity works: the home
//!   slot is found by multiply-shift, not by masking), so the load stays in [1/2, 3/4] and a
//!   stored id costs 32 to 48 bytes. A doubling table would swing between 32 and 64.
//! - **Batch prefetch.** The key sits in the slot itself, so `prefetch(id)` can pull an id's home
//!   cache line in ahead of time: the engine prefetches a whole batch before applying it, and the
//!   random accesses of thousands of lookups overlap instead of each stalling on DRAM.
//! - **Insert-mostly.** Deletion exists only to roll back a failed linked chain, and uses
//!   backward-shift deletion (no tombstones), so probe chains never rot.
//!
//! Linear probing. Ids are client-chosen, so the hash is seeded at random per process; nothing
//! iterates this table, so the seed never reaches state, files or replies.

use crate::zeroed::ZeroedSlice;
use foldhash::fast::RandomState;
use std::hash::BuildHasher;

/// Per-process random seeds for `hash_key`, drawn once from foldhash's seeded state.
#[derive(Clone, Copy, Debug)]
struct Seeds([u64; 2]);

impl Default for Seeds {
    fn default() -> Self {
        let state = RandomState::default();
        // `| 1`: an odd multiplier keeps every input bit in play.
        Self([state.hash_one(0x5eed_u64) | 1, state.hash_one(0xcafe_u64) | 1])
    }
}

/// A folded 64x64->128 multiply of the two key halves with the seeds: one multiplication per
/// key, which is all a uniformly mixed, seed-dependent slot choice needs (the construction of
/// foldhash and wyhash). A generic `Hasher` would feed the length and each half separately.
#[inline]
#[expect(clippy::cast_possible_truncation, reason = "folding the 128-bit product into 64 bits")]
fn hash_key(seeds: Seeds, key: [u64; 2]) -> u64 {
    let product = u128::from(key[0] ^ seeds.0[0]) * u128::from(key[1] ^ seeds.0[1]);
    (product as u64) ^ ((product >> 64) as u64)
}

/// `[key_low, key_high, value]`: plain data in a `ZeroedSlice` (all-zero = empty), so a large,
/// pre-sized or freshly grown table costs no memory until slots are written.
type Slot = [u64; 3];

const _: () = assert!(std::mem::size_of::<Slot>() == 24);
const EMPTY_SLOT: Slot = [0; 3];

#[inline]
fn slot_key(slot: &Slot) -> [u64; 2] {
    [slot[0], slot[1]]
}

const EMPTY: [u64; 2] = [0, 0];
const CAPACITY_MIN: usize = 16;

#[expect(clippy::cast_possible_truncation, reason = "splitting a u128 into its two halves")]
const fn split(id: u128) -> [u64; 2] {
    [id as u64, (id >> 64) as u64]
}

#[derive(Debug)]
pub struct IdIndex {
    slots: ZeroedSlice<Slot>,
    len: usize,
    seeds: Seeds,
}

impl Default for IdIndex {
    fn default() -> Self {
        Self::with_capacity(0)
    }
}

impl IdIndex {
    /// An index that holds `capacity` ids before it first grows.
    #[must_use]
    pub fn with_capacity(capacity: usize) -> Self {
        let slots = (capacity.saturating_mul(4) / 3 + 1).max(CAPACITY_MIN);
        Self { slots: ZeroedSlice::allocate(slots), len: 0, seeds: Seeds::default() }
    }

    /// The home slot of a key: the hash scaled onto `0..slots` (multiply-shift).
    #[inline]
    #[expect(clippy::cast_possible_truncation, reason = "the product's high half is < slots.len()")]
    fn home(&self, key: [u64; 2]) -> usize {
        let hash = hash_key(self.seeds, key);
        ((u128::from(hash) * self.slots.len() as u128) >> 64) as usize
    }

    #[inline]
    fn next(&self, slot: usize) -> usize {
        if slot + 1 == self.slots.len() { 0 } else { slot + 1 }
    }

    /// The slot holding `key`, or the empty slot where it would go.
    #[inline]
    fn probe(&self, key: [u64; 2]) -> (usize, bool) {
        let mut slot = self.home(key);
        loop {
            let k = slot_key(&self.slots[slot]);
            if k == key {
                return (slot, true);
            }
            if k == EMPTY {
                return (slot, false);
            }
            slot = self.next(slot);
        }
    }

    #[must_use]
    #[inline]
    pub fn get(&self, id: u128) -> Option<u64> {
        let key = split(id);
        if key == EMPTY {
            return None;
        }
        match self.probe(key) {
            (slot, true) => Some(self.slots[slot][2]),
            (_, false) => None,
        }
    }

    /// Hints the CPU to load the cache line where `id` lives (or would be inserted). Purely a
    /// performance hint: it changes nothing and is correct for any id.
    #[inline]
    pub fn prefetch(&self, id: u128) {
        let slot = self.home(split(id));
        prefetch_read(&self.slots[slot]);
    }

    /// Inserts a new id. The caller has checked that it is absent (every insert follows a lookup
    /// on the validation path); a duplicate would break idempotency, hence the assertion.
    #[inline]
    pub fn insert_new(&mut self, id: u128, value: u64) {
        let key = split(id);
        assert!(key != EMPTY, "id 0 is never stored");
        if (self.len + 1) * 4 > self.slots.len() * 3 {
            self.grow();
        }
        let (slot, found) = self.probe(key);
        debug_assert!(!found, "id inserted twice");
        self.slots[slot] = [key[0], key[1], value];
        self.len += 1;
    }

    /// Replaces the value of an existing id; returns the old value.
    #[inline]
    pub fn replace(&mut self, id: u128, value: u64) -> Option<u64> {
        let key = split(id);
        if key == EMPTY {
            return None;
        }
        match self.probe(key) {
            (slot, true) => Some(std::mem::replace(&mut self.slots[slot][2], value)),
            (_, false) => None,
        }
    }

    /// Removes an id (only a rolled-back linked chain does this). Backward-shift deletion: the
    /// entries after the hole that could live in it move back, so no tombstone is left.
    pub fn remove(&mut self, id: u128) -> Option<u64> {
        let key = split(id);
        if key == EMPTY {
            return None;
        }
        let (mut hole, found) = self.probe(key);
        if !found {
            return None;
        }
        let value = self.slots[hole][2];
        let mut slot = self.next(hole);
        loop {
            let entry = self.slots[slot];
            if slot_key(&entry) == EMPTY {
                break;
            }
            let home = self.home(slot_key(&entry));
            // The entry may move into the hole unless its home lies cyclically in (hole, slot].
            let stays = if hole <= slot { hole < home && home <= slot } else { hole < home || home <= slot };
            if !stays {
                self.slots[hole] = entry;
                hole = slot;
            }
            slot = self.next(slot);
        }
        self.slots[hole] = EMPTY_SLOT;
        self.len -= 1;
        Some(value)
    }

    fn grow(&mut self) {
        let capacity = self.slots.len() + self.slots.len() / 2;
        let old = std::mem::replace(&mut self.slots, ZeroedSlice::allocate(capacity));
        for entry in old.iter().filter(|e| slot_key(e) != EMPTY) {
            let (slot, _) = self.probe(slot_key(entry));
            self.slots[slot] = *entry;
        }
    }

    /// The table's raw state for a snapshot: the hash seeds, the number of ids, and the slots
    /// (`[key_lo, key_hi, value]`, all-zero = empty) in table order. Restoring the same seeds
    /// and slots with `from_raw` gives back a table where every id is where it was.
    #[must_use]
    pub fn raw(&self) -> ([u64; 2], usize, &[[u64; 3]]) {
        (self.seeds.0, self.len, &self.slots)
    }

    /// Rebuilds a table from `raw()`'s parts, reading the slots with `fill` (which writes into
    /// the freshly mapped table, e.g. straight from a snapshot file). Checks that `len` ids are
    /// present and that the load is legal; a corrupt snapshot fails here, never later.
    pub fn from_raw(
        seeds: [u64; 2],
        len: usize,
        slot_count: usize,
        fill: impl FnOnce(&mut [[u64; 3]]) -> std::io::Result<()>,
    ) -> std::io::Result<Self> {
        let invalid = |what: String| std::io::Error::new(std::io::ErrorKind::InvalidData, what);
        if slot_count < CAPACITY_MIN || len.saturating_mul(4) > slot_count.saturating_mul(3) {
            return Err(invalid(format!("id index of {slot_count} slots cannot hold {len} ids")));
        }
        if seeds[0] & 1 == 0 || seeds[1] & 1 == 0 {
            return Err(invalid("id index seeds must be odd".to_owned()));
        }
        let mut slots = ZeroedSlice::with_huge_pages(slot_count, true)?;
        fill(&mut slots)?;
        let present = slots.iter().filter(|s| slot_key(s) != EMPTY).count();
        if present != len {
            return Err(invalid(format!("id index holds {present} ids, its header says {len}")));
        }
        Ok(Self { slots, len, seeds: Seeds(seeds) })
    }

    /// Touches every page of the table now, so that the kernel's first-touch page faults (and
    /// zeroing) happen here rather than as latency spikes inside later batches. Changes nothing.
    pub fn prefault(&mut self) {
        const SLOTS_PER_PAGE: usize = 4096 / std::mem::size_of::<Slot>();
        for i in (0..self.slots.len()).step_by(SLOTS_PER_PAGE) {
            // A write (of the same value) is what makes the kernel back the page with memory;
            // `black_box` keeps the compiler from dropping the store as a no-op.
            let value = std::hint::black_box(self.slots[i][2]);
            self.slots[i][2] = value;
        }
    }

    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes the table has allocated.
    #[must_use]
    pub fn allocated_bytes(&self) -> usize {
        self.slots.mapped_bytes()
    }
}

#[cfg(target_arch = "x86_64")]
#[inline]
#[expect(unsafe_code, reason = "a prefetch is a hint: it never dereferences and cannot fault")]
fn prefetch_read<T>(value: &T) {
    use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
    // SAFETY: `_mm_prefetch` only hints the cache; the pointer comes from a live reference and
    // is not read through. SSE is part of the x86_64 baseline.
    unsafe { _mm_prefetch::<_MM_HINT_T0>(std::ptr::from_ref(value).cast::<i8>()) };
}

#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn prefetch_read<T>(_value: &T) {}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

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
        assert_eq!(index.get(0), None);
        assert_eq!(index.replace(1, 11), Some(10));
        assert_eq!(index.replace(3, 11), None);
        assert_eq!(index.get(1), Some(11));
        assert_eq!(index.remove(big), Some(20));
        assert_eq!(index.remove(big), None);
        assert_eq!(index.get(big), None);
        assert_eq!(index.len(), 2);
    }

    #[test]
    fn load_stays_between_half_and_three_quarters_once_grown() {
        let mut index = IdIndex::default();
        for id in 1..=100_000_u128 {
            index.insert_new(id, 0);
            let load = index.len() as f64 / (index.allocated_bytes() / 24) as f64;
            assert!(load <= 0.75);
            if id > 100 {
                assert!(load >= 0.49, "load {load} at {id}");
            }
        }
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u128, u64),
        Remove(u128),
        Replace(u128, u64),
    }

    fn op() -> impl Strategy<Value = Op> {
        // A small id space makes collisions, probe chains and wrap-around common.
        let id = prop_oneof![1..64_u128, Just(u128::MAX - 1), Just(1 << 64)];
        prop_oneof![
            (id.clone(), any::<u64>()).prop_map(|(i, v)| Op::Insert(i, v)),
            id.clone().prop_map(Op::Remove),
            (id, any::<u64>()).prop_map(|(i, v)| Op::Replace(i, v)),
        ]
    }

    proptest! {
        #[test]
        fn behaves_like_a_hash_map(ops in proptest::collection::vec(op(), 1..400)) {
            let mut index = IdIndex::default();
            let mut model = HashMap::new();
            for op in ops {
                match op {
                    Op::Insert(id, v) => {
                        if let std::collections::hash_map::Entry::Vacant(e) = model.entry(id) {
                            e.insert(v);
                            index.insert_new(id, v);
                        }
                    }
                    Op::Remove(id) => prop_assert_eq!(index.remove(id), model.remove(&id)),
                    Op::Replace(id, v) => {
                        let old = model.get_mut(&id).map(|slot| std::mem::replace(slot, v));
                        prop_assert_eq!(index.replace(id, v), old);
                    }
                }
                prop_assert_eq!(index.len(), model.len());
                for id in 0..66_u128 {
                    prop_assert_eq!(index.get(id), model.get(&id).copied());
                }
                prop_assert_eq!(index.get(u128::MAX - 1), model.get(&(u128::MAX - 1)).copied());
                prop_assert_eq!(index.get(1 << 64), model.get(&(1 << 64)).copied());
            }
        }
    }
}
