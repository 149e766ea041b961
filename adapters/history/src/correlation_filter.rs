//! `CorrelationFilter`: a Bloom filter of the `user_data_128` values in one chunk of records.
//!
//! `user_data_128` is where clients put the business correlation id (the loan note, the
//! journal entry), so "every transfer of this event" is the query that a time-ordered file
//! cannot answer without scanning. An exact index (value -> positions) would cost a table slot
//! and a list per distinct value, 40 to 90 bytes per transfer when ids are nearly unique: more
//! than the per-account lists themselves. The filter costs one byte per record and lets a scan
//! skip every chunk that cannot hold the value: with 8 bits per value and 5 probes about 2% of
//! full chunks answer "maybe" by mistake.
//!
//! Zero is never inserted: a zero filter field means "any", so nothing looks zero up.

/// Bits of filter per record of the chunk.
pub const BITS_PER_RECORD: usize = 8;
/// Bits set per value. `BITS_PER_RECORD * ln 2` (5.5) minimises false positives.
const PROBES: u64 = 5;

/// A filter sized for `records` records; empty (unallocated) until the first insert, so that
/// a workload that leaves `user_data_128` zero pays nothing.
#[derive(Clone, Debug, Default)]
pub struct CorrelationFilter {
    words: Option<Box<[u64]>>,
}

impl CorrelationFilter {
    /// `records` is a power of two of at least 8, so the bit count is a power of two.
    pub fn insert(&mut self, records: usize, hash: u64) {
        debug_assert!(records.is_power_of_two() && records >= 8);
        let words = self.words.get_or_insert_with(|| vec![0_u64; records * BITS_PER_RECORD / 64].into());
        let mask = (words.len() * 64 - 1) as u64;
        for bit in probes(hash) {
            let bit = bit & mask;
            // Always present: `bit <= mask < words.len() * 64`.
            if let Some(word) = usize::try_from(bit >> 6).ok().and_then(|i| words.get_mut(i)) {
                *word |= 1 << (bit & 63);
            }
        }
    }

    /// False only if no value with this hash was inserted.
    #[must_use]
    pub fn may_contain(&self, hash: u64) -> bool {
        let Some(words) = &self.words else { return false };
        let mask = (words.len() * 64 - 1) as u64;
        probes(hash).all(|bit| {
            let bit = bit & mask;
            usize::try_from(bit >> 6)
                .ok()
                .and_then(|i| words.get(i))
                .is_some_and(|word| word & (1 << (bit & 63)) != 0)
        })
    }

    #[must_use]
    pub fn allocated_bytes(&self) -> usize {
        self.words.as_ref().map_or(0, |w| w.len() * 8)
    }
}

/// Double hashing (Kirsch-Mitzenmacher): probe i is `h1 + i * h2`, with `h2` odd so that the
/// probes differ modulo a power of two.
fn probes(hash: u64) -> impl Iterator<Item = u64> {
    let h1 = hash & 0xffff_ffff;
    let h2 = (hash >> 32) | 1;
    (0..PROBES).map(move |i| h1.wrapping_add(i.wrapping_mul(h2)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    #[test]
    fn inserted_values_are_found_and_most_others_are_not() {
        let hasher = foldhash::fast::RandomState::default();
        let records = 8192;
        let mut filter = CorrelationFilter::default();
        assert!(!filter.may_contain(hasher.hash_one(1_u128)), "an empty filter holds nothing");
        assert_eq!(filter.allocated_bytes(), 0);
        for value in 1..=records as u128 {
            filter.insert(records, hasher.hash_one(value));
        }
        assert_eq!(filter.allocated_bytes(), records);
        assert!((1..=records as u128).all(|v| filter.may_contain(hasher.hash_one(v))));
        let absent = 100_000_u128;
        let false_positives =
            (1_000_000..1_000_000 + absent).filter(|v| filter.may_contain(hasher.hash_one(*v))).count();
        // Expected about 2.2% for a full filter; 4% leaves room for the hash's luck.
        assert!(false_positives * 25 < absent as usize, "{false_positives} false positives");
    }
}
