//! The WAL thread announces durable points while the index thread is busy with a query: the
//! announcement must return at once (it stores two atomics and unparks the thread), and the
//! index catches up when the query is done.

mod support;

use ledger_core::{AccountFilter, QueryFilter};
use ledger_history::{HistoryIndex, IndexPosition};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use support::{PATIENCE, append_records, query_transfers, transfers};

#[test]
fn announcements_return_at_once_while_a_query_holds_the_index_thread() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("transfers.records");
    let first = transfers(1, 10, 4);
    append_records(&path, &first);
    let of_account_1 = support::of_account(&first, 1).len();
    let (index, feed) = HistoryIndex::start(&path).expect("start");
    feed.durable(1, 10);

    // A query whose reply does not return until released: the index thread is held busy.
    let (started_tx, started) = mpsc::channel();
    let (release, released) = mpsc::channel::<()>();
    index.get_account_transfers(
        AccountFilter::all_of(1, 10),
        Box::new(move |answer| {
            started_tx.send(answer.map(|(found, _)| found.len())).expect("test waits");
            released.recv_timeout(PATIENCE).expect("released");
        }),
    );
    let answer = started.recv_timeout(PATIENCE).expect("the query runs");
    assert!(matches!(answer, Ok(n) if n == of_account_1), "{answer:?}");

    // The writer keeps committing and announcing meanwhile.
    let mut slowest = Duration::ZERO;
    for op in 2..=1_001_u64 {
        append_records(&path, &transfers(op * 10 - 9, 10, 4));
        let start = Instant::now();
        feed.durable(op, op * 10);
        slowest = slowest.max(start.elapsed());
    }
    assert!(slowest < Duration::from_millis(5), "an announcement took {slowest:?}");
    assert_eq!(index.announced(), IndexPosition { op: 1_001, transfers: 10_010 });
    assert_eq!(index.position(), IndexPosition { op: 1, transfers: 10 }, "still busy with the query");

    release.send(()).expect("release");
    let everything = QueryFilter { limit: u32::MAX, ..QueryFilter::default() };
    let (found, position) = query_transfers(&index, everything).expect("query");
    assert_eq!(position, IndexPosition { op: 1_001, transfers: 10_010 });
    assert_eq!(found.len(), 8_189, "at most a batch");
}
