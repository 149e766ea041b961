//! A record that breaks the order of timestamps is corruption: the index stops ingesting at
//! the last whole durable point before it and answers every query with an error that names the
//! file, the record and its offset. It never guesses past it.

mod support;

use ledger_core::{AccountFilter, QueryFilter};
use ledger_history::{Corruption, HistoryError, HistoryIndex, IndexPosition};
use support::{account_transfers, append_records, query_transfers, transfer, transfers, wait_until};

#[test]
fn a_record_out_of_order_fails_every_query_with_its_place() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("transfers.records");
    let good = transfers(1, 5, 2);
    append_records(&path, &good);
    let (index, feed) = HistoryIndex::start(&path).expect("start");
    feed.durable(1, 5);
    wait_until("the good records", || index.position().transfers == 5);

    // Record 6 goes back in time.
    let mut late = transfer(6, 1, 2);
    late.timestamp = good[1].timestamp;
    append_records(&path, &[transfer(100, 1, 2), late]);
    feed.durable(2, 7);

    let answer = account_transfers(&index, AccountFilter::all_of(1, 10));
    match answer {
        Err(HistoryError::Corrupt { path: named, record: 6, offset: 768, reason }) => {
            assert_eq!(named, path);
            assert_eq!(
                reason,
                Corruption::TimestampNotIncreasing {
                    timestamp: good[1].timestamp,
                    previous: 1_000 + 100 * 10
                }
            );
        }
        other => panic!("expected corruption at record 6, got {other:?}"),
    }
    assert!(matches!(
        query_transfers(&index, QueryFilter { limit: 1, ..QueryFilter::default() }),
        Err(HistoryError::Corrupt { .. })
    ));
    assert_eq!(index.position(), IndexPosition { op: 1, transfers: 5 }, "never past the damage");
    let message =
        account_transfers(&index, AccountFilter::all_of(1, 10)).expect_err("still failed").to_string();
    assert!(message.contains("transfers.records") && message.contains("record 6"), "{message}");
}

#[test]
fn announced_records_missing_from_the_file_fail_the_index() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("transfers.records");
    append_records(&path, &transfers(1, 3, 2));
    let (index, feed) = HistoryIndex::start(&path).expect("start");
    feed.durable(1, 4);
    let answer = account_transfers(&index, AccountFilter::all_of(1, 10));
    match answer {
        Err(HistoryError::Io { offset: 0, source, .. }) => {
            assert_eq!(source.kind(), std::io::ErrorKind::UnexpectedEof);
        }
        other => panic!("expected a short read, got {other:?}"),
    }
    assert_eq!(index.position(), IndexPosition::default());
}
