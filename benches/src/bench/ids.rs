//! Transfer ids in TigerBeetle's `--id-order`: `sequential` (time-ordered, the recommended and
//! easy case) or `random` (scattered over the whole 128-bit space: every insert lands in a cold
//! part of the id index, the hard case).
//!
//! A random id is a bijection of the sequence number, so ids are unique without remembering
//! them, and a run is reproducible from its seed.

/// Odd multipliers (from the 128-bit PCG and SplitMix families): multiplying by an odd number
/// is invertible modulo 2^128, as are the xor-shifts between them.
const SCATTER_MULTIPLIER_A: u128 = 0x2360_ED05_1FC6_5DA4_4385_DF64_9FCC_F645;
const SCATTER_MULTIPLIER_B: u128 = 0x5851_F42D_4C95_7F2D_1405_7B7E_F767_814F;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IdOrder {
    #[default]
    Sequential,
    Random,
}

impl IdOrder {
    /// The id of the transfer with this sequence number (`sequence >= 1`). Non-zero for a
    /// non-zero sequence (the map is a bijection fixing zero). `u128::MAX` is not excluded: one
    /// sequence number in 2^128 maps to it, and the server would refuse that one transfer.
    #[must_use]
    pub fn id(self, sequence: u128) -> u128 {
        match self {
            Self::Sequential => sequence,
            Self::Random => scatter(sequence),
        }
    }
}

/// An invertible mix of all 128 bits (xor-shift, multiply, xor-shift, multiply, xor-shift).
fn scatter(mut x: u128) -> u128 {
    x ^= x >> 67;
    x = x.wrapping_mul(SCATTER_MULTIPLIER_A);
    x ^= x >> 59;
    x = x.wrapping_mul(SCATTER_MULTIPLIER_B);
    x ^= x >> 64;
    x
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn sequential_ids_are_the_sequence() {
        let ids: Vec<u128> = (1..=5).map(|s| IdOrder::Sequential.id(s)).collect();
        assert_eq!(ids, [1, 2, 3, 4, 5]);
    }

    #[test]
    fn random_ids_are_unique_and_non_zero() {
        let count = 1_000_000_u128;
        let ids: HashSet<u128> = (1..=count).map(|s| IdOrder::Random.id(s)).collect();
        assert_eq!(ids.len() as u128, count, "two sequence numbers gave one id");
        assert!(!ids.contains(&0));
        // Unique also across the high bases `server-load`-style runs start from.
        let base = 0xDEAD_BEEF_u128 << 64;
        let more: HashSet<u128> = (1..=10_000).map(|s| IdOrder::Random.id(base + s)).collect();
        assert_eq!(more.len(), 10_000);
        assert!(more.is_disjoint(&ids));
    }

    #[test]
    fn random_ids_are_scattered() {
        let ids: Vec<u128> = (1..=1_000).map(|s| IdOrder::Random.id(s)).collect();
        let ascending = ids.windows(2).filter(|w| w[0] < w[1]).count();
        // About half the neighbours ascend if the order is random; sequential ids all do.
        assert!((400..600).contains(&ascending), "{ascending} of 999 ascend");
        // Both halves of the id carry entropy (the high half is what spreads index inserts).
        let high: HashSet<u64> = ids.iter().map(|id| u64::try_from(id >> 64).expect("64 bits")).collect();
        assert_eq!(high.len(), 1_000);
    }
}
