//! How a transfer's two accounts are drawn: uniform, zipfian or latest over a range of
//! accounts, with TigerBeetle's hot split (`--account-count-hot`, `--transfer-hot-percent`).
//!
//! Account ids are `1..=account_count`. With a hot set of `h > 0` accounts, `p`% of transfers
//! draw both accounts from the first `h` ids, the rest from all ids; within the chosen range the
//! distribution decides. `zipfian` makes the lowest ids the most popular (rank 0 is account 1),
//! `latest` the highest ids (the accounts created last), as YCSB's `latest` does for keys.

use crate::XorShift;

/// The skew YCSB and TigerBeetle's benchmark use: the most popular of 10,000 items gets ~10%.
pub const ZIPFIAN_THETA: f64 = 0.99;

/// Redraws of the credit account while it equals the debit account, before falling back to
/// the debit account's neighbour: bounded, although at `ZIPFIAN_THETA` a redraw is needed for
/// about one transfer in ten only.
const PAIR_REDRAWS_MAX: u32 = 64;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AccountDistribution {
    Uniform,
    Zipfian,
    Latest,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SamplerError {
    #[error("at least 2 accounts are needed for a transfer, got {0}")]
    TooFewAccounts(u64),
    #[error("--account-count-hot must be 0 or between 2 and --account-count ({accounts}), got {hot}")]
    HotCountOutOfRange { hot: u64, accounts: u64 },
    #[error("--transfer-hot-percent must be at most 100, got {0}")]
    HotPercentOutOfRange(u64),
}

/// A zipfian distribution over ranks `0..items` (rank 0 the most popular), by the constant-time
/// method of Gray et al., "Quickly generating billion-record synthetic databases" (SIGMOD '94),
/// as in YCSB's `ZipfianGenerator`. Construction sums `items` powers (O(items), once).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Zipfian {
    items: u64,
    theta: f64,
    alpha: f64,
    zeta_items: f64,
    eta: f64,
}

impl Zipfian {
    /// `items >= 1`, `0 < theta < 1`.
    #[must_use]
    pub fn new(items: u64, theta: f64) -> Self {
        assert!(items >= 1, "a distribution over no items");
        assert!(theta > 0.0 && theta < 1.0, "theta in (0, 1)");
        let zeta_items = zeta(items, theta);
        let zeta_two = zeta(2, theta);
        // With one or two items the first two branches of `sample` cover every draw and `eta`
        // is not used (its formula would divide zero by zero).
        let eta = if items > 2 {
            (1.0 - (2.0 / items as f64).powf(1.0 - theta)) / (1.0 - zeta_two / zeta_items)
        } else {
            0.0
        };
        Self { items, theta, alpha: 1.0 / (1.0 - theta), zeta_items, eta }
    }

    #[must_use]
    pub fn items(&self) -> u64 {
        self.items
    }

    /// A rank in `0..items`.
    #[expect(
        clippy::cast_possible_truncation,
        reason = "the float is in [0, items) by construction and clamped; truncation is the floor we want"
    )]
    pub fn sample(&self, rng: &mut XorShift) -> u64 {
        let u = unit(rng);
        let uz = u * self.zeta_items;
        if uz < 1.0 {
            return 0;
        }
        if uz < 1.0 + 0.5_f64.powf(self.theta) {
            return 1.min(self.items - 1);
        }
        let rank = (self.items as f64 * (self.eta * u - self.eta + 1.0).powf(self.alpha)) as u64;
        rank.min(self.items - 1)
    }
}

/// The generalized harmonic number `sum_{i=1..n} 1/i^theta`.
fn zeta(n: u64, theta: f64) -> f64 {
    (1..=n).map(|i| 1.0 / (i as f64).powf(theta)).sum()
}

/// Uniform in `[0, 1)` from the top 53 bits.
fn unit(rng: &mut XorShift) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1_u64 << 53) as f64
}

/// One range of account ids `1..=count` and how ranks in it are drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
enum RangeSampler {
    Uniform { count: u64 },
    Zipfian(Zipfian),
    Latest(Zipfian),
}

impl RangeSampler {
    fn new(count: u64, distribution: AccountDistribution) -> Self {
        match distribution {
            AccountDistribution::Uniform => Self::Uniform { count },
            AccountDistribution::Zipfian => Self::Zipfian(Zipfian::new(count, ZIPFIAN_THETA)),
            AccountDistribution::Latest => Self::Latest(Zipfian::new(count, ZIPFIAN_THETA)),
        }
    }

    fn count(&self) -> u64 {
        match self {
            Self::Uniform { count } => *count,
            Self::Zipfian(z) | Self::Latest(z) => z.items(),
        }
    }

    /// An account id in `1..=count`.
    fn account(&self, rng: &mut XorShift) -> u64 {
        match self {
            Self::Uniform { count } => rng.below(*count) + 1,
            Self::Zipfian(z) => z.sample(rng) + 1,
            Self::Latest(z) => z.items() - z.sample(rng),
        }
    }

    /// Two different account ids.
    fn pair(&self, rng: &mut XorShift) -> (u64, u64) {
        let debit = self.account(rng);
        for _ in 0..PAIR_REDRAWS_MAX {
            let credit = self.account(rng);
            if credit != debit {
                return (debit, credit);
            }
        }
        (debit, debit % self.count() + 1)
    }
}

/// Draws the (debit, credit) accounts of transfers; `Copy`, so a workload can own one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AccountSampler {
    all: RangeSampler,
    /// `None` without a hot set.
    hot: Option<RangeSampler>,
    hot_percent: u64,
}

impl AccountSampler {
    /// # Errors
    /// Fewer than 2 accounts, a hot set of 1 or larger than the accounts, a percentage over 100.
    pub fn new(
        account_count: u64,
        distribution: AccountDistribution,
        account_count_hot: u64,
        transfer_hot_percent: u64,
    ) -> Result<Self, SamplerError> {
        if account_count < 2 {
            return Err(SamplerError::TooFewAccounts(account_count));
        }
        if account_count_hot == 1 || account_count_hot > account_count {
            return Err(SamplerError::HotCountOutOfRange { hot: account_count_hot, accounts: account_count });
        }
        if transfer_hot_percent > 100 {
            return Err(SamplerError::HotPercentOutOfRange(transfer_hot_percent));
        }
        Ok(Self {
            all: RangeSampler::new(account_count, distribution),
            hot: (account_count_hot > 0).then(|| RangeSampler::new(account_count_hot, distribution)),
            hot_percent: transfer_hot_percent,
        })
    }

    /// One account (for queries), drawn as a debit account is.
    pub fn account(&self, rng: &mut XorShift) -> u128 {
        u128::from(self.range(rng).account(rng))
    }

    /// Two different accounts for one transfer.
    pub fn pair(&self, rng: &mut XorShift) -> (u128, u128) {
        let (debit, credit) = self.range(rng).pair(rng);
        (u128::from(debit), u128::from(credit))
    }

    fn range(&self, rng: &mut XorShift) -> RangeSampler {
        match self.hot {
            Some(hot) if rng.below(100) < self.hot_percent => hot,
            _ => self.all,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn histogram(sampler: &AccountSampler, accounts: u64, draws: u64) -> Vec<u64> {
        let mut rng = XorShift::new(7);
        let mut counts = vec![0_u64; usize::try_from(accounts + 1).expect("small")];
        for _ in 0..draws {
            let (debit, credit) = sampler.pair(&mut rng);
            assert_ne!(debit, credit, "a transfer needs two accounts");
            for id in [debit, credit] {
                assert!((1..=u128::from(accounts)).contains(&id), "account {id} out of 1..={accounts}");
                counts[usize::try_from(id).expect("small")] += 1;
            }
        }
        counts
    }

    #[test]
    fn zipfian_ranks_stay_in_bounds_and_are_skewed_to_rank_zero() {
        let zipfian = Zipfian::new(10_000, ZIPFIAN_THETA);
        let mut rng = XorShift::new(3);
        let mut counts = vec![0_u64; 10_000];
        let draws = 200_000;
        for _ in 0..draws {
            let rank = zipfian.sample(&mut rng);
            counts[usize::try_from(rank).expect("below 10,000")] += 1;
        }
        // Rank 0 has probability 1 / zeta(10,000, 0.99) ~ 0.1; the top 1% of ranks ~ half.
        let top = counts[0] as f64 / draws as f64;
        assert!((0.08..0.12).contains(&top), "rank 0 drew {top}");
        let top_hundred: u64 = counts[..100].iter().sum();
        assert!(top_hundred * 2 > draws, "top 1% drew {top_hundred} of {draws}");
        assert!(counts[0] > counts[1] && counts[1] > counts[9], "popularity falls with rank");
        assert!(counts[5_000..].iter().sum::<u64>() > 0, "the tail is reached");
    }

    #[test]
    fn zipfian_over_one_or_two_items_stays_in_bounds() {
        let mut rng = XorShift::new(5);
        for items in [1, 2, 3] {
            let zipfian = Zipfian::new(items, ZIPFIAN_THETA);
            for _ in 0..10_000 {
                assert!(zipfian.sample(&mut rng) < items);
            }
        }
    }

    #[test]
    fn uniform_spreads_evenly() {
        let sampler = AccountSampler::new(100, AccountDistribution::Uniform, 0, 100).expect("valid");
        let counts = histogram(&sampler, 100, 100_000);
        let (min, max) = (counts[1..].iter().min().copied(), counts[1..].iter().max().copied());
        // 2,000 expected per account; a 10% band is > 4 standard deviations.
        assert!(min > Some(1_800) && max < Some(2_200), "min {min:?} max {max:?}");
    }

    #[test]
    fn latest_favours_the_newest_accounts() {
        let sampler = AccountSampler::new(10_000, AccountDistribution::Latest, 0, 100).expect("valid");
        let counts = histogram(&sampler, 10_000, 100_000);
        assert!(counts[10_000] > 10 * counts[1].max(1), "newest {} oldest {}", counts[10_000], counts[1]);
        assert!(counts[10_000] > counts[9_990]);
    }

    #[test]
    fn hot_split_puts_the_given_percentage_on_the_hot_accounts() {
        let sampler = AccountSampler::new(10_000, AccountDistribution::Uniform, 10, 90).expect("valid");
        let mut rng = XorShift::new(11);
        let draws = 100_000;
        let hot = (0..draws).filter(|_| sampler.pair(&mut rng).0 <= 10).count();
        // 90% drawn from the hot set, plus ~0.1% of the other 10% landing there by chance.
        let share = hot as f64 / f64::from(draws);
        assert!((0.895..0.905).contains(&share), "hot share {share}");
    }

    #[test]
    fn no_hot_set_means_every_transfer_uses_all_accounts() {
        let sampler = AccountSampler::new(1_000, AccountDistribution::Uniform, 0, 100).expect("valid");
        let counts = histogram(&sampler, 1_000, 50_000);
        assert!(counts[500..].iter().sum::<u64>() > 40_000);
    }

    #[test]
    fn invalid_parameters_are_refused() {
        use AccountDistribution::Uniform;
        assert_eq!(AccountSampler::new(1, Uniform, 0, 100), Err(SamplerError::TooFewAccounts(1)));
        assert_eq!(
            AccountSampler::new(10, Uniform, 1, 100),
            Err(SamplerError::HotCountOutOfRange { hot: 1, accounts: 10 })
        );
        assert_eq!(
            AccountSampler::new(10, Uniform, 11, 100),
            Err(SamplerError::HotCountOutOfRange { hot: 11, accounts: 10 })
        );
        assert_eq!(AccountSampler::new(10, Uniform, 2, 101), Err(SamplerError::HotPercentOutOfRange(101)));
    }
}
