//! Workload generators shared by the criterion benchmarks and the measurement binaries.
//!
//! Deterministic (a seeded xorshift), so two runs apply the same transfers. Ids are time-ordered
//! (sequential) like TigerBeetle's recommended ids; accounts are drawn uniformly or from a small
//! hot set, or from a zipfian/latest distribution with a hot split (`bench::AccountSampler`);
//! ids can also be scattered (`bench::IdOrder::Random`), the hard case for the id index.

pub mod bench;

use bench::{AccountSampler, IdOrder};
use ledger_core::transfer_store::TransferStore;
use ledger_core::{Account, Ledger, Transfer, TransferFlags};

/// The ledger every workload books into.
pub const LEDGER: u32 = 156;

/// A small, fast, seeded generator: benchmarks must not depend on an RNG crate's version.
#[derive(Debug, Clone)]
pub struct XorShift(u64);

impl XorShift {
    #[must_use]
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// Uniform in `0..n` (n > 0), by multiply-shift (no modulo bias worth caring about here).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }
}

/// How debit/credit accounts are chosen.
#[derive(Debug, Clone, Copy)]
pub enum AccountChoice {
    /// Uniform over all accounts.
    Uniform,
    /// `percent`% of transfers touch only the first `hot` accounts.
    Hot { hot: u64, percent: u64 },
    /// A distribution (uniform, zipfian, latest) with an optional hot split, as chosen by
    /// `ledger-bench`'s TigerBeetle-style flags.
    Sampled(AccountSampler),
}

/// Batches (of at most `BATCH_EVENTS_MAX`) of accounts with ids `1..=count`, on `LEDGER`, with
/// no balance limits, so that no workload transfer fails.
pub fn account_batches(count: u64) -> impl Iterator<Item = Vec<Account>> {
    (1..=u128::from(count)).step_by(ledger_core::BATCH_EVENTS_MAX).map(move |first| {
        (first..=u128::from(count))
            .take(ledger_core::BATCH_EVENTS_MAX)
            .map(|id| Account { id, ledger: LEDGER, code: 1, ..Account::default() })
            .collect()
    })
}

/// Creates accounts with ids `1..=count` directly in a ledger.
pub fn open_accounts<S: TransferStore>(ledger: &mut Ledger<S>, count: u64) {
    for (now, batch) in (1_u64..).zip(account_batches(count)) {
        let failures = ledger.create_accounts(now, &batch).expect("account batch within limits");
        assert!(failures.is_empty(), "opening accounts failed: {failures:?}");
    }
}

/// Generates transfer batches with sequential ids.
#[derive(Debug, Clone)]
pub struct TransferWorkload {
    pub accounts: u64,
    pub choice: AccountChoice,
    /// The sequence number of the next transfer; its id is `id_order.id(next_id)`.
    pub next_id: u128,
    pub id_order: IdOrder,
    rng: XorShift,
}

impl TransferWorkload {
    #[must_use]
    pub fn new(accounts: u64, choice: AccountChoice, seed: u64) -> Self {
        assert!(accounts >= 2);
        Self { accounts, choice, next_id: 1, id_order: IdOrder::Sequential, rng: XorShift::new(seed) }
    }

    /// The next transfer id in `id_order` (unique: the order is a bijection of the sequence).
    fn take_id(&mut self) -> u128 {
        let id = self.id_order.id(self.next_id);
        self.next_id += 1;
        id
    }

    fn account_pair(&mut self) -> (u128, u128) {
        let range = match self.choice {
            AccountChoice::Sampled(sampler) => return sampler.pair(&mut self.rng),
            AccountChoice::Uniform => self.accounts,
            AccountChoice::Hot { hot, percent } => {
                if self.rng.below(100) < percent {
                    hot.min(self.accounts)
                } else {
                    self.accounts
                }
            }
        };
        let debit = self.rng.below(range);
        let mut credit = self.rng.below(range - 1);
        if credit >= debit {
            credit += 1;
        }
        (u128::from(debit) + 1, u128::from(credit) + 1)
    }

    fn transfer(&mut self, flags: TransferFlags) -> Transfer {
        let (debit_account_id, credit_account_id) = self.account_pair();
        let id = self.take_id();
        Transfer {
            id,
            debit_account_id,
            credit_account_id,
            amount: u128::from(self.rng.below(10_000) + 1),
            ledger: LEDGER,
            code: 1,
            flags,
            ..Transfer::default()
        }
    }

    /// Single-phase transfers.
    pub fn fill_single_phase(&mut self, batch: &mut Vec<Transfer>, count: usize) {
        batch.clear();
        batch.extend((0..count).map(|_| self.transfer(TransferFlags::NONE)));
    }

    /// Half pending transfers, half posts or voids of the pending transfers of the previous
    /// call (the first call is all pending).
    pub fn fill_two_phase(&mut self, batch: &mut Vec<Transfer>, previous: &[Transfer], count: usize) {
        let pendings: Vec<u128> =
            previous.iter().filter(|t| t.flags.contains(TransferFlags::PENDING)).map(|t| t.id).collect();
        batch.clear();
        for (i, pending_id) in pendings.iter().take(count / 2).enumerate() {
            let flags = if i % 4 == 3 {
                TransferFlags::VOID_PENDING_TRANSFER
            } else {
                TransferFlags::POST_PENDING_TRANSFER
            };
            let id = self.take_id();
            batch.push(Transfer {
                id,
                pending_id: *pending_id,
                amount: ledger_core::AMOUNT_MAX,
                flags,
                ..Transfer::default()
            });
        }
        while batch.len() < count {
            let t = self.transfer(TransferFlags::PENDING);
            batch.push(Transfer { timeout: 3600, ..t });
        }
    }

    /// Linked chains of `chain_len` transfers (the last of each chain unlinked).
    pub fn fill_linked(&mut self, batch: &mut Vec<Transfer>, count: usize, chain_len: usize) {
        batch.clear();
        for i in 0..count {
            let last_of_chain = i % chain_len == chain_len - 1 || i + 1 == count;
            let flags = if last_of_chain { TransferFlags::NONE } else { TransferFlags::LINKED };
            batch.push(self.transfer(flags));
        }
    }
}
