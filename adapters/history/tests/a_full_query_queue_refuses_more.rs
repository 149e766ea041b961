//! The query queue is bounded: when it is full, a query is answered `Busy` at once instead of
//! waiting, so a caller on an async runtime never blocks.

mod support;

use ledger_core::AccountFilter;
use ledger_history::{HistoryError, HistoryIndex, QUERIES_QUEUED_MAX};
use std::sync::mpsc;
use support::{PATIENCE, append_records, transfers};

#[test]
fn a_query_beyond_the_queue_limit_is_busy() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("transfers.records");
    append_records(&path, &transfers(1, 4, 2));
    let (index, feed) = HistoryIndex::start(&path).expect("start");
    feed.durable(1, 4);

    let (started_tx, started) = mpsc::channel();
    let (release, released) = mpsc::channel::<()>();
    index.get_account_transfers(
        AccountFilter::all_of(1, 1),
        Box::new(move |_| {
            started_tx.send(()).expect("test waits");
            released.recv_timeout(PATIENCE).expect("released");
        }),
    );
    started.recv_timeout(PATIENCE).expect("the index thread is held");

    let (answers_tx, answers) = mpsc::channel();
    for _ in 0..=QUERIES_QUEUED_MAX {
        let answers_tx = answers_tx.clone();
        index.get_account_transfers(
            AccountFilter::all_of(1, 10),
            Box::new(move |answer| {
                answers_tx.send(answer.map(|(found, _)| found.len())).expect("test waits")
            }),
        );
    }
    // The one beyond the limit is refused on the caller's thread, before any other answer.
    let refused = answers.recv_timeout(PATIENCE).expect("refused at once");
    assert!(matches!(refused, Err(HistoryError::Busy { queued: QUERIES_QUEUED_MAX })), "{refused:?}");

    release.send(()).expect("release");
    for _ in 0..QUERIES_QUEUED_MAX {
        let answer = answers.recv_timeout(PATIENCE).expect("answered");
        assert!(matches!(answer, Ok(4)), "{answer:?}");
    }
}
