//! The two queries, over an `Index` and the records it was built from.
//!
//! - `account_transfers` (`AccountFilter`): binary search of the account's postings by
//!   timestamp for both ends of the range, then a walk in the filter's direction that reads one
//!   record per posting of a wanted side until `limit` records match the secondary fields.
//! - `query_transfers` (`QueryFilter`): the file itself is in timestamp order, so a binary
//!   search of the file for both ends, then a scan in the filter's direction, in reads that
//!   start small (a small `limit` costs little) and double up to one chunk.
//!
//! Only the timestamp and, for accounts, the account and side are indexed. A selective filter
//! on the other fields over a wide range reads every record of the range (of the account, for
//! `account_transfers`), except that a `user_data_128` filter skips every chunk whose
//! correlation filter rules the value out. The cost of such a query is therefore bounded by the
//! range, not by `limit`: narrow the time range for a selective query on `code`, `ledger` or
//! `user_data_64/32`.
//!
//! Binary search probes are answered from the chunk timestamps when they can be, so a search
//! reads at most about log2(records per chunk) timestamps (8 bytes each) from the file.

use crate::error::{Corruption, HistoryError};
use crate::index::Index;
use crate::posting::Side;
use crate::records::{Record, RecordSource, field_u16, field_u32, field_u64, field_u128, record_offset};
use ledger_core::transfer::{
    TRANSFER_CODE_OFFSET, TRANSFER_CREDIT_ACCOUNT_ID_OFFSET, TRANSFER_DEBIT_ACCOUNT_ID_OFFSET,
    TRANSFER_LEDGER_OFFSET, TRANSFER_USER_DATA_32_OFFSET, TRANSFER_USER_DATA_64_OFFSET,
    TRANSFER_USER_DATA_128_OFFSET,
};
use ledger_core::{AccountFilter, AccountFilterFlags, BATCH_EVENTS_MAX, QueryFilter, Transfer};

/// Records of the first read of a scan; each further read doubles, up to the scratch buffer.
const SCAN_RECORDS_INITIAL: usize = 64;

/// The transfers of one account that pass `filter`, in timestamp order (newest first if
/// reversed). An invalid filter, or an account without transfers, gives none.
pub fn account_transfers<S: RecordSource + ?Sized>(
    index: &Index,
    source: &S,
    filter: &AccountFilter,
) -> Result<Vec<Transfer>, HistoryError> {
    if !filter.is_valid() {
        return Ok(Vec::new());
    }
    let Some(list) = index.accounts().postings(filter.account_id) else {
        return Ok(Vec::new());
    };
    let limit = result_limit(filter.limit);
    let position_of = |i: u64| list.get(i).map_or(0, |p| p.position());
    let len = list.len();
    let (lo, hi) = range(index, source, len, position_of, filter.timestamp_min, filter.timestamp_max)?;
    let debits = filter.flags.contains(AccountFilterFlags::DEBITS);
    let credits = filter.flags.contains(AccountFilterFlags::CREDITS);
    let correlation = (filter.user_data_128 != 0).then(|| index.correlation_hash(filter.user_data_128));

    let mut found = Vec::with_capacity(limit.min(usize::try_from(hi - lo).unwrap_or(usize::MAX)));
    let mut visit = |i: u64| -> Result<bool, HistoryError> {
        let Some(posting) = list.get(i) else { return Ok(true) };
        let wanted = match posting.side() {
            Side::Debit => debits,
            Side::Credit => credits,
        };
        if !wanted {
            return Ok(true);
        }
        let position = posting.position();
        if let Some(hash) = correlation
            && !index.chunks().may_hold_correlation(index.chunks().chunk_of(position), hash)
        {
            return Ok(true);
        }
        let record = source.read_record(position)?;
        // Checked again after reading: the posting and the record must agree.
        let named = match posting.side() {
            Side::Debit => field_u128(&record, TRANSFER_DEBIT_ACCOUNT_ID_OFFSET),
            Side::Credit => field_u128(&record, TRANSFER_CREDIT_ACCOUNT_ID_OFFSET),
        };
        if named != filter.account_id {
            return Err(HistoryError::Corrupt {
                path: source.path().to_path_buf(),
                record: position,
                offset: record_offset(position),
                reason: Corruption::PostingMismatch { account_id: filter.account_id },
            });
        }
        let transfer = Transfer::from_bytes(&record);
        if filter.matches_fields(
            transfer.user_data_128,
            transfer.user_data_64,
            transfer.user_data_32,
            transfer.code,
        ) {
            debug_assert!(filter.covers_timestamp(transfer.timestamp), "outside the searched range");
            found.push(transfer);
        }
        Ok(found.len() < limit)
    };
    if filter.is_reversed() {
        for i in (lo..hi).rev() {
            if !visit(i)? {
                break;
            }
        }
    } else {
        for i in lo..hi {
            if !visit(i)? {
                break;
            }
        }
    }
    Ok(found)
}

/// The transfers that pass `filter`, in timestamp order (newest first if reversed). An invalid
/// filter gives none. `scratch` is the caller's read buffer (at least one record); scans read
/// at most that many records at a time.
pub fn query_transfers<S: RecordSource + ?Sized>(
    index: &Index,
    source: &S,
    filter: &QueryFilter,
    scratch: &mut [Record],
) -> Result<Vec<Transfer>, HistoryError> {
    if !filter.is_valid() || scratch.is_empty() {
        return Ok(Vec::new());
    }
    let limit = result_limit(filter.limit);
    let (lo, hi) = range(index, source, index.records(), |i| i, filter.timestamp_min, filter.timestamp_max)?;
    let chunks = index.chunks();
    let correlation = (filter.user_data_128 != 0).then(|| index.correlation_hash(filter.user_data_128));
    let skip_chunk = |chunk: u64| correlation.is_some_and(|hash| !chunks.may_hold_correlation(chunk, hash));
    let matches = |record: &Record| {
        filter.matches_fields(
            field_u128(record, TRANSFER_USER_DATA_128_OFFSET),
            field_u64(record, TRANSFER_USER_DATA_64_OFFSET),
            field_u32(record, TRANSFER_USER_DATA_32_OFFSET),
            field_u32(record, TRANSFER_LEDGER_OFFSET),
            field_u16(record, TRANSFER_CODE_OFFSET),
        )
    };

    let mut found = Vec::with_capacity(limit.min(usize::try_from(hi - lo).unwrap_or(usize::MAX)));
    let mut read_records = SCAN_RECORDS_INITIAL.min(scratch.len()) as u64;
    if filter.is_reversed() {
        // Reads of `[start, end)`, walking `end` down from `hi` and never crossing a chunk start.
        let mut end = hi;
        while end > lo && found.len() < limit {
            let chunk = chunks.chunk_of(end - 1);
            let start = chunks.chunk_start(chunk).max(lo).max(end.saturating_sub(read_records));
            if skip_chunk(chunk) {
                end = chunks.chunk_start(chunk).max(lo);
                continue;
            }
            let batch = slice_of(scratch, end - start);
            source.read_records(start, batch)?;
            for record in batch.iter().rev() {
                if matches(record) {
                    found.push(Transfer::from_bytes(record));
                    if found.len() == limit {
                        break;
                    }
                }
            }
            end = start;
            read_records = (read_records * 2).min(scratch.len() as u64);
        }
    } else {
        let mut start = lo;
        while start < hi && found.len() < limit {
            let chunk = chunks.chunk_of(start);
            let chunk_end = chunks.chunk_start(chunk + 1).min(hi);
            if skip_chunk(chunk) {
                start = chunk_end;
                continue;
            }
            let end = chunk_end.min(start + read_records);
            let batch = slice_of(scratch, end - start);
            source.read_records(start, batch)?;
            for record in batch.iter() {
                if matches(record) {
                    found.push(Transfer::from_bytes(record));
                    if found.len() == limit {
                        break;
                    }
                }
            }
            start = end;
            read_records = (read_records * 2).min(scratch.len() as u64);
        }
    }
    Ok(found)
}

/// At most `limit` results, and never more than a batch.
fn result_limit(limit: u32) -> usize {
    usize::try_from(limit).unwrap_or(usize::MAX).min(BATCH_EVENTS_MAX)
}

/// The first `count` records of the scratch buffer (`count` is at most its length: every read
/// is capped by it).
fn slice_of(scratch: &mut [Record], count: u64) -> &mut [Record] {
    let count = usize::try_from(count).unwrap_or(usize::MAX).min(scratch.len());
    &mut scratch[..count]
}

/// The indexes `lo..hi` of `0..len` whose records lie in the inclusive timestamp range `[min,
/// max]` (0: unbounded), given the record position of each index, in timestamp order.
fn range<S: RecordSource + ?Sized>(
    index: &Index,
    source: &S,
    len: u64,
    position_of: impl Fn(u64) -> u64,
    min: u64,
    max: u64,
) -> Result<(u64, u64), HistoryError> {
    let lo = if min == 0 { 0 } else { first_at_or_after(index, source, len, &position_of, min)? };
    let hi = match max.checked_add(1) {
        Some(after_max) if max != 0 => first_at_or_after(index, source, len, &position_of, after_max)?,
        _ => len,
    };
    Ok((lo, hi.max(lo)))
}

/// The first index in `0..len` whose record's timestamp is at least `timestamp`.
fn first_at_or_after<S: RecordSource + ?Sized>(
    index: &Index,
    source: &S,
    len: u64,
    position_of: &impl Fn(u64) -> u64,
    timestamp: u64,
) -> Result<u64, HistoryError> {
    let (mut lo, mut hi) = (0, len);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let position = position_of(mid);
        let below = match index.chunks().timestamp_below(position, timestamp) {
            Some(below) => below,
            None => source.read_timestamp(position)? < timestamp,
        };
        if below {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    Ok(lo)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::MemoryRecords;
    use ledger_core::{AccountFilterFlags as AF, QueryFilterFlags as QF};
    use proptest::prelude::*;
    use std::cell::Cell;

    const CHUNK: usize = 8;

    /// A source that counts what it reads.
    struct Counted {
        records: MemoryRecords,
        record_reads: Cell<u64>,
        timestamp_reads: Cell<u64>,
    }

    impl RecordSource for Counted {
        fn read_at(&self, offset: u64, out: &mut [u8]) -> Result<(), HistoryError> {
            if out.len() == 8 {
                self.timestamp_reads.set(self.timestamp_reads.get() + 1);
            } else {
                self.record_reads.set(self.record_reads.get() + out.len() as u64 / 128);
            }
            self.records.read_at(offset, out)
        }

        fn path(&self) -> &std::path::Path {
            self.records.path()
        }
    }

    fn build(transfers: &[Transfer], splits: &[usize]) -> (Index, Counted) {
        let bytes: Vec<u8> = transfers.iter().flat_map(Transfer::to_bytes).collect();
        let records: Vec<Record> = transfers.iter().map(Transfer::to_bytes).collect();
        let mut index = Index::new(CHUNK);
        let mut start = 0;
        for &split in splits.iter().chain([&records.len()]) {
            let end = split.clamp(start, records.len());
            index.ingest(&records[start..end]).expect("ingest");
            start = end;
        }
        assert_eq!(index.records(), transfers.len() as u64);
        let source = Counted {
            records: MemoryRecords { bytes },
            record_reads: Cell::new(0),
            timestamp_reads: Cell::new(0),
        };
        (index, source)
    }

    fn scratch() -> Vec<Record> {
        vec![[0; 128]; CHUNK]
    }

    /// The naive model: every transfer, filtered by brute force.
    fn model_account(transfers: &[Transfer], filter: &AccountFilter) -> Vec<Transfer> {
        if !filter.is_valid() {
            return Vec::new();
        }
        let mut found: Vec<Transfer> = transfers
            .iter()
            .filter(|t| {
                (filter.flags.contains(AF::DEBITS) && t.debit_account_id == filter.account_id)
                    || (filter.flags.contains(AF::CREDITS) && t.credit_account_id == filter.account_id)
            })
            .filter(|t| filter.covers_timestamp(t.timestamp))
            .filter(|t| filter.matches_fields(t.user_data_128, t.user_data_64, t.user_data_32, t.code))
            .copied()
            .collect();
        if filter.is_reversed() {
            found.reverse();
        }
        found.truncate(result_limit(filter.limit));
        found
    }

    fn model_query(transfers: &[Transfer], filter: &QueryFilter) -> Vec<Transfer> {
        if !filter.is_valid() {
            return Vec::new();
        }
        let mut found: Vec<Transfer> = transfers
            .iter()
            .filter(|t| filter.covers_timestamp(t.timestamp))
            .filter(|t| {
                filter.matches_fields(t.user_data_128, t.user_data_64, t.user_data_32, t.ledger, t.code)
            })
            .copied()
            .collect();
        if filter.is_reversed() {
            found.reverse();
        }
        found.truncate(result_limit(filter.limit));
        found
    }

    /// Transfers among accounts 1..=5 with few distinct field values, so that filters hit,
    /// at strictly increasing timestamps with gaps (so that ranges can fall between them).
    fn transfers() -> impl Strategy<Value = Vec<Transfer>> {
        let one = (1..=5_u128, 1..=4_u128, 0..=3_u128, 0..=2_u64, 0..=2_u32, 1..=2_u32, 1..=3_u16, 1..=3_u64);
        prop::collection::vec(one, 0..80).prop_map(|rows| {
            let mut timestamp = 0;
            rows.into_iter()
                .enumerate()
                .map(|(i, (debit, offset, ud128, ud64, ud32, ledger, code, gap))| {
                    timestamp += gap;
                    Transfer {
                        id: i as u128 + 1,
                        debit_account_id: debit,
                        // `offset` in 1..=4 never brings it back to `debit`.
                        credit_account_id: (debit + offset - 1) % 5 + 1,
                        amount: 10,
                        user_data_128: ud128,
                        user_data_64: ud64,
                        user_data_32: ud32,
                        ledger,
                        code,
                        timestamp,
                        ..Transfer::default()
                    }
                })
                .collect()
        })
    }

    fn timestamp_bound() -> impl Strategy<Value = u64> {
        prop_oneof![Just(0_u64), 1..250_u64, Just(u64::MAX)]
    }

    fn limit() -> impl Strategy<Value = u32> {
        prop_oneof![Just(0_u32), 1..12_u32, Just(u32::MAX)]
    }

    fn reserved_byte() -> impl Strategy<Value = Option<usize>> {
        prop_oneof![8 => Just(None), 1 => (0..6_usize).prop_map(Some)]
    }

    fn account_filter() -> impl Strategy<Value = AccountFilter> {
        (
            prop_oneof![0..=6_u128, Just(u128::MAX)],
            (0..=3_u128, 0..=2_u64, 0..=2_u32, 0..=3_u16),
            (timestamp_bound(), timestamp_bound(), limit(), 0..16_u32, reserved_byte()),
        )
            .prop_map(
                |(account_id, (ud128, ud64, ud32, code), (min, max, limit, flags, reserved))| {
                    let mut filter = AccountFilter {
                        account_id,
                        user_data_128: ud128,
                        user_data_64: ud64,
                        user_data_32: ud32,
                        code,
                        timestamp_min: min,
                        timestamp_max: max,
                        limit,
                        flags: AF(flags),
                        ..AccountFilter::default()
                    };
                    if let Some(byte) = reserved {
                        filter.reserved[byte * 9] = 1;
                    }
                    filter
                },
            )
    }

    fn query_filter() -> impl Strategy<Value = QueryFilter> {
        (
            (0..=3_u128, 0..=2_u64, 0..=2_u32, 0..=3_u32, 0..=3_u16),
            (timestamp_bound(), timestamp_bound(), limit(), 0..4_u32, reserved_byte()),
        )
            .prop_map(|((ud128, ud64, ud32, ledger, code), (min, max, limit, flags, reserved))| {
                let mut filter = QueryFilter {
                    user_data_128: ud128,
                    user_data_64: ud64,
                    user_data_32: ud32,
                    ledger,
                    code,
                    timestamp_min: min,
                    timestamp_max: max,
                    limit,
                    flags: QF(flags),
                    ..QueryFilter::default()
                };
                if let Some(byte) = reserved {
                    filter.reserved[byte] = 1;
                }
                filter
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn queries_match_the_brute_force_model(
            transfers in transfers(),
            splits in prop::collection::vec(0..80_usize, 0..4),
            account_filters in prop::collection::vec(account_filter(), 1..8),
            query_filters in prop::collection::vec(query_filter(), 1..8),
        ) {
            let mut splits = splits;
            splits.sort_unstable();
            let (index, source) = build(&transfers, &splits);
            for filter in &account_filters {
                let found = account_transfers(&index, &source, filter).expect("account transfers");
                prop_assert_eq!(found, model_account(&transfers, filter), "{:?}", filter);
            }
            let mut scratch = scratch();
            for filter in &query_filters {
                let found = query_transfers(&index, &source, filter, &mut scratch).expect("query transfers");
                prop_assert_eq!(found, model_query(&transfers, filter), "{:?}", filter);
            }
        }
    }

    fn between(debit: u128, credit: u128, timestamp: u64) -> Transfer {
        Transfer {
            id: u128::from(timestamp),
            debit_account_id: debit,
            credit_account_id: credit,
            ledger: 1,
            code: 1,
            timestamp,
            ..Transfer::default()
        }
    }

    #[test]
    fn results_never_exceed_a_batch() {
        let transfers: Vec<Transfer> = (1..=9_000).map(|ts| between(1, 2, ts)).collect();
        let (index, source) = build(&transfers, &[]);
        for flags in [AF::DEBITS, AF::DEBITS.union(AF::REVERSED)] {
            let filter = AccountFilter { flags, ..AccountFilter::all_of(1, u32::MAX) };
            let found = account_transfers(&index, &source, &filter).expect("account");
            assert_eq!(found.len(), BATCH_EVENTS_MAX);
            assert_eq!(found, model_account(&transfers, &filter));
        }
        let filter = QueryFilter { limit: u32::MAX, flags: QF::REVERSED, ..QueryFilter::default() };
        let found = query_transfers(&index, &source, &filter, &mut scratch()).expect("query");
        assert_eq!(found.len(), BATCH_EVENTS_MAX);
        assert_eq!(found[0].timestamp, 9_000, "newest first");
    }

    #[test]
    fn a_side_filter_reads_no_record_of_the_other_side() {
        // Account 1 is credited 100 times and debited once.
        let mut transfers: Vec<Transfer> = (1..=100).map(|ts| between(2, 1, ts)).collect();
        transfers.push(between(1, 2, 101));
        let (index, source) = build(&transfers, &[]);
        let filter = AccountFilter { flags: AF::DEBITS, ..AccountFilter::all_of(1, 10) };
        let found = account_transfers(&index, &source, &filter).expect("debits");
        assert_eq!(found.iter().map(|t| t.timestamp).collect::<Vec<_>>(), [101]);
        assert_eq!(source.record_reads.get(), 1);
    }

    #[test]
    fn a_time_range_search_reads_few_timestamps() {
        let transfers: Vec<Transfer> =
            (1..=4_096_u64).map(|i| between(1 + u128::from(i % 3), 4, i * 10)).collect();
        let (index, source) = build(&transfers, &[]);
        let filter = QueryFilter {
            timestamp_min: 20_005,
            timestamp_max: 20_100,
            limit: 100,
            ..QueryFilter::default()
        };
        let found = query_transfers(&index, &source, &filter, &mut scratch()).expect("query");
        assert_eq!(found.first().map(|t| t.timestamp), Some(20_010));
        assert_eq!(found.len(), 10);
        // Two searches, each reading only inside one chunk of 8: about 2 * log2(8) reads, not
        // 2 * log2(4096).
        assert!(source.timestamp_reads.get() <= 8, "{} timestamp reads", source.timestamp_reads.get());
    }

    #[test]
    fn a_correlation_scan_skips_chunks_that_cannot_hold_the_value() {
        // 128 chunks of 8 records, each record with its own user_data_128; one value sought.
        let transfers: Vec<Transfer> = (1..=1_024_u64)
            .map(|ts| Transfer { user_data_128: u128::from(ts) * 1_000_003, ..between(1, 2, ts) })
            .collect();
        let (index, source) = build(&transfers, &[]);
        let sought = 500 * 1_000_003;
        let filter = QueryFilter { user_data_128: sought, limit: 10, ..QueryFilter::default() };
        let found = query_transfers(&index, &source, &filter, &mut scratch()).expect("query");
        assert_eq!(found.iter().map(|t| t.timestamp).collect::<Vec<_>>(), [500]);
        // About 2% of the other chunks answer "maybe"; a full scan would read 1,024 records.
        assert!(source.record_reads.get() <= 16 * 8, "{} records read", source.record_reads.get());

        let account = AccountFilter { user_data_128: sought, ..AccountFilter::all_of(2, 10) };
        source.record_reads.set(0);
        assert_eq!(account_transfers(&index, &source, &account).expect("account").len(), 1);
        assert!(source.record_reads.get() <= 16 * 8, "{} records read", source.record_reads.get());
    }

    #[test]
    fn a_posting_that_disagrees_with_its_record_is_corruption() {
        let transfers = [between(1, 2, 1), between(1, 2, 2)];
        let (index, mut source) = build(&transfers, &[]);
        // The file changes under the index: record 1 now names other accounts.
        source.records.bytes[128..256].copy_from_slice(&between(3, 4, 2).to_bytes());
        let result = account_transfers(&index, &source, &AccountFilter::all_of(1, 10));
        assert!(
            matches!(
                result,
                Err(HistoryError::Corrupt {
                    record: 1,
                    offset: 128,
                    reason: Corruption::PostingMismatch { account_id: 1 },
                    ..
                })
            ),
            "{result:?}"
        );
    }
}
