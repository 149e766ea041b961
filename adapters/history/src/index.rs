//! `Index`: the in-memory part of the history, built from records in file order. Pure: records
//! in, postings and chunk summaries out; the thread that reads the file and the queries that
//! read records back live elsewhere (`index_thread`, `search`).
//!
//! Every record is checked as it is ingested (timestamps strictly increase; two different,
//! valid accounts), so that a query can trust the order its binary searches depend on.

use crate::accounts::{AccountPostings, AccountPostingsMemory};
use crate::chunks::Chunks;
use crate::error::Corruption;
use crate::posting::{POSITION_LIMIT, Posting, Side};
use crate::posting_lists::ListNumber;
use crate::records::{Record, field_u64, field_u128};
use foldhash::fast::RandomState;
use ledger_core::transfer::{
    TRANSFER_CREDIT_ACCOUNT_ID_OFFSET, TRANSFER_DEBIT_ACCOUNT_ID_OFFSET, TRANSFER_TIMESTAMP_OFFSET,
    TRANSFER_USER_DATA_128_OFFSET,
};
use std::hash::BuildHasher;

/// Records ingested as a group. With a million accounts, each posting touches three cache
/// lines nobody has touched lately: the account's table slot, its list header, and its list's
/// tail. One at a time, every one is a stall on memory; by group, the slots of the next group
/// are prefetched while this one is ingested, and this group's headers, then tails, are
/// prefetched all together before any posting is appended, so the misses overlap.
const GROUP_RECORDS: usize = 16;

/// Account numbers looked up ahead, per record: debit, credit (`None`: a new account).
type Numbers = (Option<ListNumber>, Option<ListNumber>);

#[derive(Debug)]
pub struct Index {
    accounts: AccountPostings,
    chunks: Chunks,
    /// Records ingested: the next record's position.
    records: u64,
    last_timestamp: u64,
    /// Seeds the `user_data_128` hash per process: values are client-chosen, and a fixed hash
    /// would let a client aim many values at one filter's bits.
    correlation_hasher: RandomState,
}

/// Why ingesting stopped at a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IngestError {
    Corrupt {
        record: u64,
        reason: Corruption,
    },
    /// A posting cannot address the record, or the posting arena is full.
    CapacityReached,
}

/// Bytes the index holds, by part.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IndexMemory {
    pub transfers: u64,
    pub accounts: AccountPostingsMemory,
    /// Chunk timestamps and `user_data_128` filters.
    pub chunk_bytes: usize,
}

impl Index {
    #[must_use]
    pub fn new(records_per_chunk: usize) -> Self {
        Self {
            accounts: AccountPostings::default(),
            chunks: Chunks::new(records_per_chunk),
            records: 0,
            last_timestamp: 0,
            correlation_hasher: RandomState::default(),
        }
    }

    /// Records ingested.
    #[must_use]
    pub fn records(&self) -> u64 {
        self.records
    }

    #[must_use]
    pub fn accounts(&self) -> &AccountPostings {
        &self.accounts
    }

    #[must_use]
    pub fn chunks(&self) -> &Chunks {
        &self.chunks
    }

    /// The hash the chunk filters use for a `user_data_128` (non-zero).
    #[must_use]
    pub fn correlation_hash(&self, user_data_128: u128) -> u64 {
        self.correlation_hasher.hash_one(user_data_128)
    }

    /// Ingests `records`, which follow the records already ingested in the file. On an error,
    /// the records before the bad one are ingested and the rest are not.
    pub fn ingest(&mut self, records: &[Record]) -> Result<(), IngestError> {
        let mut groups = records.chunks(GROUP_RECORDS).peekable();
        if let Some(first) = groups.peek() {
            self.prefetch_numbers(first);
        }
        while let Some(group) = groups.next() {
            if let Some(next) = groups.peek() {
                self.prefetch_numbers(next);
            }
            let mut numbers: [Numbers; GROUP_RECORDS] = [(None, None); GROUP_RECORDS];
            for (record, numbers) in group.iter().zip(&mut numbers) {
                *numbers = (
                    self.accounts.number(field_u128(record, TRANSFER_DEBIT_ACCOUNT_ID_OFFSET)),
                    self.accounts.number(field_u128(record, TRANSFER_CREDIT_ACCOUNT_ID_OFFSET)),
                );
                for number in [numbers.0, numbers.1].into_iter().flatten() {
                    self.accounts.prefetch_list(number);
                }
            }
            for (debit, credit) in &numbers[..group.len()] {
                for number in [debit, credit].into_iter().flatten() {
                    self.accounts.prefetch_tail(*number);
                }
            }
            for (record, numbers) in group.iter().zip(numbers) {
                self.ingest_one(record, numbers)?;
            }
        }
        Ok(())
    }

    fn prefetch_numbers(&self, group: &[Record]) {
        for record in group {
            self.accounts.prefetch_number(field_u128(record, TRANSFER_DEBIT_ACCOUNT_ID_OFFSET));
            self.accounts.prefetch_number(field_u128(record, TRANSFER_CREDIT_ACCOUNT_ID_OFFSET));
        }
    }

    #[inline]
    fn ingest_one(&mut self, record: &Record, (debit, credit): Numbers) -> Result<(), IngestError> {
        let position = self.records;
        if position >= POSITION_LIMIT {
            return Err(IngestError::CapacityReached);
        }
        let corrupt = |reason| IngestError::Corrupt { record: position, reason };
        let timestamp = field_u64(record, TRANSFER_TIMESTAMP_OFFSET);
        if timestamp <= self.last_timestamp {
            return Err(corrupt(Corruption::TimestampNotIncreasing {
                timestamp,
                previous: self.last_timestamp,
            }));
        }
        let debit_account_id = field_u128(record, TRANSFER_DEBIT_ACCOUNT_ID_OFFSET);
        let credit_account_id = field_u128(record, TRANSFER_CREDIT_ACCOUNT_ID_OFFSET);
        let valid = |id: u128| id != 0 && id != u128::MAX;
        if !valid(debit_account_id) || !valid(credit_account_id) || debit_account_id == credit_account_id {
            return Err(corrupt(Corruption::InvalidAccounts { debit_account_id, credit_account_id }));
        }
        let user_data_128 = field_u128(record, TRANSFER_USER_DATA_128_OFFSET);
        let correlation = (user_data_128 != 0).then(|| self.correlation_hash(user_data_128));

        let full = |_| IngestError::CapacityReached;
        self.accounts.append(debit_account_id, debit, Posting::new(position, Side::Debit)).map_err(full)?;
        self.accounts
            .append(credit_account_id, credit, Posting::new(position, Side::Credit))
            .map_err(full)?;
        self.chunks.record(position, timestamp, correlation);
        self.last_timestamp = timestamp;
        self.records = position + 1;
        Ok(())
    }

    #[must_use]
    pub fn memory(&self) -> IndexMemory {
        IndexMemory {
            transfers: self.records,
            accounts: self.accounts.memory(),
            chunk_bytes: self.chunks.allocated_bytes(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ledger_core::Transfer;

    fn record(debit: u128, credit: u128, timestamp: u64) -> Record {
        Transfer {
            id: 1,
            debit_account_id: debit,
            credit_account_id: credit,
            timestamp,
            ..Transfer::default()
        }
        .to_bytes()
    }

    #[test]
    fn each_transfer_becomes_a_debit_and_a_credit_posting() {
        let mut index = Index::new(8);
        index.ingest(&[record(1, 2, 10), record(2, 3, 11)]).expect("ingest");
        let two = index.accounts().postings(2).expect("account 2");
        assert_eq!(two.get(0), Some(Posting::new(0, Side::Credit)));
        assert_eq!(two.get(1), Some(Posting::new(1, Side::Debit)));
        assert_eq!(index.accounts().postings(3).map(|l| l.len()), Some(1));
        assert_eq!(index.records(), 2);
        assert_eq!(index.memory().transfers, 2);
    }

    #[test]
    fn a_record_out_of_timestamp_order_is_corrupt_and_stops_the_ingest() {
        let mut index = Index::new(8);
        let result = index.ingest(&[record(1, 2, 10), record(1, 2, 10), record(1, 2, 12)]);
        assert_eq!(
            result,
            Err(IngestError::Corrupt {
                record: 1,
                reason: Corruption::TimestampNotIncreasing { timestamp: 10, previous: 10 }
            })
        );
        assert_eq!(index.records(), 1, "the records before the bad one stay ingested");
        assert_eq!(
            Index::new(8).ingest(&[record(1, 2, 0)]),
            Err(IngestError::Corrupt {
                record: 0,
                reason: Corruption::TimestampNotIncreasing { timestamp: 0, previous: 0 }
            }),
            "a stored record always has a timestamp"
        );
    }

    #[test]
    fn a_record_without_two_different_valid_accounts_is_corrupt() {
        for (debit, credit) in [(0, 2), (1, u128::MAX), (5, 5)] {
            let result = Index::new(8).ingest(&[record(debit, credit, 1)]);
            assert_eq!(
                result,
                Err(IngestError::Corrupt {
                    record: 0,
                    reason: Corruption::InvalidAccounts {
                        debit_account_id: debit,
                        credit_account_id: credit
                    }
                })
            );
        }
    }
}
