//! The index has no file of its own: started over an existing record file, it ingests the
//! whole file up to the first announced count and answers as if it had seen every batch.

mod support;

use ledger_core::{AccountFilter, AccountFilterFlags, QueryFilter};
use ledger_history::{CHUNK_RECORDS, HistoryIndex, IndexPosition};
use support::{account_transfers, append_records, of_account, query_transfers, transfers, wait_until};

#[test]
fn a_new_index_over_an_existing_file_answers_from_all_of_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("transfers.records");
    // Several chunks, the last one partial.
    let count = 3 * CHUNK_RECORDS as u64 + 1_234;
    let all = transfers(1, count, 97);
    append_records(&path, &all);

    let (index, feed) = HistoryIndex::start(&path).expect("start");
    assert_eq!(index.position(), IndexPosition::default(), "nothing ingested before the first announcement");
    feed.durable(41, count);
    wait_until("the rebuild", || index.position().transfers == count);
    assert_eq!(index.position(), IndexPosition { op: 41, transfers: count });
    let memory = index.memory();
    assert_eq!((memory.transfers, memory.accounts), (count, 97));
    assert!(
        memory.account_table_bytes > 0 && memory.posting_list_bytes >= count * 10 && memory.chunk_bytes > 0
    );

    for account in [1_u128, 50, 97] {
        let filter = AccountFilter::all_of(account, 10_000);
        let (found, _) = account_transfers(&index, filter).expect("account transfers");
        assert_eq!(found, of_account(&all, account), "account {account}");
    }
    // A time range in the middle of the file, crossing a chunk boundary, by the credit side only.
    let (min, max) = (all[8_000].timestamp, all[8_400].timestamp);
    let credits = AccountFilter {
        timestamp_min: min,
        timestamp_max: max,
        flags: AccountFilterFlags::CREDITS,
        ..AccountFilter::all_of(5, 10_000)
    };
    let expected: Vec<_> = all[8_000..=8_400].iter().filter(|t| t.credit_account_id == 5).copied().collect();
    assert!(!expected.is_empty());
    assert_eq!(account_transfers(&index, credits).expect("credits").0, expected);

    let by_code = QueryFilter { code: 3, timestamp_min: min, limit: 8_000, ..QueryFilter::default() };
    let expected: Vec<_> = all[8_000..].iter().filter(|t| t.code == 3).take(8_000).copied().collect();
    assert_eq!(query_transfers(&index, by_code).expect("by code").0, expected);
}

#[test]
fn two_rebuilds_of_the_same_file_give_the_same_answers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("transfers.records");
    let all = transfers(1, 20_000, 10);
    append_records(&path, &all);
    let answers: Vec<_> = (0..2)
        .map(|_| {
            let (index, feed) = HistoryIndex::start(&path).expect("start");
            feed.durable(1, 20_000);
            let correlated = QueryFilter { user_data_128: 3, limit: 5_000, ..QueryFilter::default() };
            let found = query_transfers(&index, correlated).expect("query").0;
            index.stop();
            found
        })
        .collect();
    assert_eq!(answers[0], answers[1]);
    let expected: Vec<_> = all.iter().filter(|t| t.user_data_128 == 3).take(5_000).copied().collect();
    assert_eq!(answers[0], expected);
}
