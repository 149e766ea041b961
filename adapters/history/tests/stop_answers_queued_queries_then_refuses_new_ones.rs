//! `stop` lets the thread finish the queries already queued, then every query answers
//! `Stopped`; every reply is called exactly once either way.

mod support;

use ledger_core::AccountFilter;
use ledger_history::{HistoryError, HistoryIndex};
use std::sync::mpsc;
use support::{PATIENCE, account_transfers, append_records, transfers};

#[test]
fn queued_queries_are_answered_and_later_ones_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("transfers.records");
    append_records(&path, &transfers(1, 20, 2));
    let (index, feed) = HistoryIndex::start(&path).expect("start");
    feed.durable(1, 20);

    // Hold the thread in a reply, queue two more queries behind it, then stop.
    let (started_tx, started) = mpsc::channel();
    let (release, released) = mpsc::channel::<()>();
    index.get_account_transfers(
        AccountFilter::all_of(1, 1),
        Box::new(move |_| {
            started_tx.send(()).expect("test waits");
            released.recv_timeout(PATIENCE).expect("released");
        }),
    );
    started.recv_timeout(PATIENCE).expect("the first query runs");
    let (answers_tx, answers) = mpsc::channel();
    for _ in 0..2 {
        let answers_tx = answers_tx.clone();
        index.get_account_transfers(
            AccountFilter::all_of(2, 100),
            Box::new(move |answer| {
                answers_tx.send(answer.map(|(found, _)| found.len())).expect("test waits")
            }),
        );
    }
    let stopper = {
        let index = index.clone();
        std::thread::spawn(move || index.stop())
    };
    release.send(()).expect("release");
    stopper.join().expect("stop returns once the queue is done");
    for _ in 0..2 {
        let answer = answers.recv_timeout(PATIENCE).expect("answered");
        assert!(matches!(answer, Ok(20)), "{answer:?}");
    }

    assert!(matches!(account_transfers(&index, AccountFilter::all_of(1, 1)), Err(HistoryError::Stopped)));
    index.stop();
}
