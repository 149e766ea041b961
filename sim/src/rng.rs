//! `SimRng`: the one source of randomness of a simulation run, seeded, so that a seed replays the
//! same run on every machine. splitmix64: tiny, no dependency, good enough to pick actions.

/// Probabilities are in parts per thousand: integers keep runs identical across platforms.
pub type PerMille = u32;

#[derive(Clone, Debug)]
pub struct SimRng {
    state: u64,
}

impl SimRng {
    #[must_use]
    pub fn new(seed: u64) -> Self {
        // Mix the seed once so that neighbouring seeds start far apart.
        let mut rng = Self { state: seed ^ 0x5DEE_CE66_D1CE_4E5B };
        rng.next_u64();
        rng
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value in `0..n` (`n >= 1`; 0 gives 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }

    /// A value in `low..=high`.
    pub fn between(&mut self, low: u64, high: u64) -> u64 {
        debug_assert!(low <= high);
        low + self.below(high - low + 1)
    }

    /// An index into a collection of `len` items (`len >= 1`).
    pub fn index(&mut self, len: usize) -> usize {
        // `below(len)` < len, which is a usize.
        usize::try_from(self.below(len as u64)).unwrap_or(0)
    }

    /// True with probability `per_mille` / 1000.
    pub fn chance(&mut self, per_mille: PerMille) -> bool {
        self.below(1000) < u64::from(per_mille)
    }

    /// Picks an index by weight; `weights` must not all be zero.
    pub fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u64 = weights.iter().map(|&w| u64::from(w)).sum();
        let mut roll = self.below(total);
        for (i, &w) in weights.iter().enumerate() {
            if roll < u64::from(w) {
                return i;
            }
            roll -= u64::from(w);
        }
        weights.len() - 1
    }

    /// A seed for a sub-generator (for example `FaultyStorage`'s torn-write policy).
    pub fn fork(&mut self) -> u64 {
        self.next_u64()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_sequence_and_different_seeds_differ() {
        let a: Vec<u64> = (0..8).scan(SimRng::new(7), |r, _| Some(r.next_u64())).collect();
        let b: Vec<u64> = (0..8).scan(SimRng::new(7), |r, _| Some(r.next_u64())).collect();
        let c: Vec<u64> = (0..8).scan(SimRng::new(8), |r, _| Some(r.next_u64())).collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn bounded_draws_stay_in_range_and_weights_of_zero_are_never_picked() {
        let mut rng = SimRng::new(1);
        for _ in 0..1000 {
            assert!(rng.below(5) < 5);
            let v = rng.between(3, 6);
            assert!((3..=6).contains(&v));
            assert_ne!(rng.weighted(&[0, 3, 0, 1]), 0);
        }
        assert!(!(0..1000).any(|_| rng.chance(0)));
        assert!((0..1000).all(|_| rng.chance(1000)));
    }
}
