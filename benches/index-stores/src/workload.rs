//! The synthetic ledger traffic: transfers between uniformly chosen accounts, in committed batches.
//!
//! Everything is derived from one seed, so every store sees exactly the same postings and the same
//! read targets, and the read checksums of different stores must agree.

/// Transfers in one committed batch: the ledger's `BATCH_EVENTS_MAX` (one WAL record).
pub const BATCH_TRANSFERS_MAX: usize = 8_189;

/// The size of one transfer in the record file (`ledger_core::TRANSFER_SIZE`).
pub const TRANSFER_SIZE: usize = 128;
/// Offsets inside a 128-byte transfer, mirroring `ledger-core/src/transfer.rs` (LE integers).
pub const TRANSFER_ID_OFFSET: usize = 0;
pub const TRANSFER_DEBIT_ACCOUNT_ID_OFFSET: usize = 16;
pub const TRANSFER_CREDIT_ACCOUNT_ID_OFFSET: usize = 32;
pub const TRANSFER_AMOUNT_OFFSET: usize = 48;
pub const TRANSFER_TIMESTAMP_OFFSET: usize = 120;
const _: () = assert!(TRANSFER_TIMESTAMP_OFFSET + 8 == TRANSFER_SIZE);

/// The first transfer's timestamp (ns); each later transfer is 1 ns later, as the ledger's clock
/// guarantees strictly increasing timestamps.
const TIMESTAMP_FIRST: u64 = 1_764_000_000_000_000_000;

/// Key of one posting in the ordered stores:
///
/// ```text
/// offset  size  field
///      0    16  account_id, big-endian (so one account's postings are contiguous)
///     16     8  timestamp, big-endian (so they sort in time order)
/// ```
pub const POSTING_KEY_SIZE: usize = 24;
pub const POSTING_KEY_ACCOUNT_OFFSET: usize = 0;
pub const POSTING_KEY_TIMESTAMP_OFFSET: usize = 16;
const _: () = assert!(POSTING_KEY_TIMESTAMP_OFFSET + 8 == POSTING_KEY_SIZE);

/// Value of one posting:
///
/// ```text
/// offset  size  field
///      0     8  position of the transfer in the record file, big-endian
///      8     1  side: 0 = debit, 1 = credit
/// ```
pub const POSTING_VALUE_SIZE: usize = 9;
pub const POSTING_VALUE_POSITION_OFFSET: usize = 0;
pub const POSTING_VALUE_SIDE_OFFSET: usize = 8;
const _: () = assert!(POSTING_VALUE_SIDE_OFFSET + 1 == POSTING_VALUE_SIZE);

pub type PostingKey = [u8; POSTING_KEY_SIZE];
pub type PostingValue = [u8; POSTING_VALUE_SIZE];

/// SplitMix64: tiny, fast, and good enough to spread accounts uniformly.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix64(self.state)
    }

    /// A value in `0..bound` (bound > 0); the modulo bias is irrelevant for bounds far below 2^64.
    pub fn below(&mut self, bound: u64) -> u64 {
        assert!(bound > 0);
        self.next_u64() % bound
    }
}

fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The 128-bit id of account number `index`: random-looking, so accounts do not arrive in key order.
pub fn account_id(index: u64) -> u128 {
    (u128::from(mix64(index ^ 0xA5A5_A5A5_A5A5_A5A5)) << 64) | u128::from(mix64(index.wrapping_add(1)))
}

/// One committed transfer as the history index sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommittedTransfer {
    /// Byte offset of the transfer in the record file.
    pub position: u64,
    pub timestamp: u64,
    pub debit_account_id: u128,
    pub credit_account_id: u128,
}

impl CommittedTransfer {
    /// The transfer as 128 record-file bytes (only the fields the index needs, plus id and amount).
    pub fn write_record(&self, out: &mut [u8; TRANSFER_SIZE]) {
        out.fill(0);
        let id = u128::from(self.position / TRANSFER_SIZE as u64 + 1);
        out[TRANSFER_ID_OFFSET..][..16].copy_from_slice(&id.to_le_bytes());
        out[TRANSFER_DEBIT_ACCOUNT_ID_OFFSET..][..16].copy_from_slice(&self.debit_account_id.to_le_bytes());
        out[TRANSFER_CREDIT_ACCOUNT_ID_OFFSET..][..16].copy_from_slice(&self.credit_account_id.to_le_bytes());
        out[TRANSFER_AMOUNT_OFFSET..][..16].copy_from_slice(&1_u128.to_le_bytes());
        out[TRANSFER_TIMESTAMP_OFFSET..][..8].copy_from_slice(&self.timestamp.to_le_bytes());
    }
}

/// Produces the batches of a run: `transfers` transfers over `accounts` accounts.
#[derive(Debug)]
pub struct Workload {
    rng: SplitMix64,
    accounts: u64,
    transfers_total: u64,
    transfers_done: u64,
}

impl Workload {
    pub fn new(seed: u64, transfers_total: u64, accounts: u64) -> Self {
        assert!(accounts >= 2, "a transfer needs two distinct accounts");
        Self { rng: SplitMix64::new(seed), accounts, transfers_total, transfers_done: 0 }
    }

    /// Fills `batch` with the next batch (at most `BATCH_TRANSFERS_MAX`); false when the run is done.
    pub fn next_batch(&mut self, batch: &mut Vec<CommittedTransfer>) -> bool {
        batch.clear();
        while batch.len() < BATCH_TRANSFERS_MAX && self.transfers_done < self.transfers_total {
            let debit = self.rng.below(self.accounts);
            // Pick the credit account among the other `accounts - 1`, so debit != credit.
            let mut credit = self.rng.below(self.accounts - 1);
            if credit >= debit {
                credit += 1;
            }
            let n = self.transfers_done;
            batch.push(CommittedTransfer {
                position: n * TRANSFER_SIZE as u64,
                timestamp: TIMESTAMP_FIRST + n,
                debit_account_id: account_id(debit),
                credit_account_id: account_id(credit),
            });
            self.transfers_done += 1;
        }
        !batch.is_empty()
    }
}

/// The accounts the read test asks for, from their own seed so they do not depend on the ingest.
pub fn read_targets(seed: u64, accounts: u64, count: usize) -> Vec<u128> {
    let mut rng = SplitMix64::new(seed ^ 0x005E_ED0F_4EAD);
    (0..count).map(|_| account_id(rng.below(accounts))).collect()
}

pub fn posting_key(account_id: u128, timestamp: u64) -> PostingKey {
    let mut key = [0_u8; POSTING_KEY_SIZE];
    key[POSTING_KEY_ACCOUNT_OFFSET..][..16].copy_from_slice(&account_id.to_be_bytes());
    key[POSTING_KEY_TIMESTAMP_OFFSET..][..8].copy_from_slice(&timestamp.to_be_bytes());
    key
}

/// The smallest and largest key of one account: the bounds of its history range.
pub fn account_key_range(account_id: u128) -> (PostingKey, PostingKey) {
    (posting_key(account_id, 0), posting_key(account_id, u64::MAX))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Debit = 0,
    Credit = 1,
}

pub fn posting_value(position: u64, side: Side) -> PostingValue {
    let mut value = [0_u8; POSTING_VALUE_SIZE];
    value[POSTING_VALUE_POSITION_OFFSET..][..8].copy_from_slice(&position.to_be_bytes());
    value[POSTING_VALUE_SIDE_OFFSET] = side as u8;
    value
}

/// The record position in a stored value; `None` if the value has the wrong size.
pub fn value_position(value: &[u8]) -> Option<u64> {
    let bytes: [u8; 8] =
        value.get(POSTING_VALUE_POSITION_OFFSET..POSTING_VALUE_POSITION_OFFSET + 8)?.try_into().ok()?;
    (value.len() == POSTING_VALUE_SIZE).then(|| u64::from_be_bytes(bytes))
}

/// A batch's postings, sorted by key: what an ordered store ingests for one commit. Sorting is
/// cheap (16,378 keys) and gives B-trees locality; the real index writer can do the same.
pub fn sorted_postings(batch: &[CommittedTransfer], out: &mut Vec<(PostingKey, PostingValue)>) {
    out.clear();
    for transfer in batch {
        out.push((
            posting_key(transfer.debit_account_id, transfer.timestamp),
            posting_value(transfer.position, Side::Debit),
        ));
        out.push((
            posting_key(transfer.credit_account_id, transfer.timestamp),
            posting_value(transfer.position, Side::Credit),
        ));
    }
    out.sort_unstable_by_key(|a| a.0);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_cover_all_transfers_with_distinct_sides() {
        let mut workload = Workload::new(7, 20_000, 3);
        let mut batch = Vec::new();
        let mut sizes = Vec::new();
        while workload.next_batch(&mut batch) {
            assert!(batch.iter().all(|t| t.debit_account_id != t.credit_account_id));
            sizes.push(batch.len());
        }
        assert_eq!(sizes, vec![8_189, 8_189, 3_622]);
    }

    #[test]
    fn keys_sort_by_account_then_time() {
        let a = posting_key(1, 5);
        let b = posting_key(1, 6);
        let c = posting_key(2, 0);
        assert!(a < b && b < c);
        let (lo, hi) = account_key_range(1);
        assert!(lo <= a && b <= hi && hi < c);
    }

    #[test]
    fn value_round_trips_position() {
        let value = posting_value(0x0102_0304_0506_0708, Side::Credit);
        assert_eq!(value_position(&value), Some(0x0102_0304_0506_0708));
        assert_eq!(value[POSTING_VALUE_SIDE_OFFSET], 1);
        assert_eq!(value_position(&value[..8]), None);
    }
}
