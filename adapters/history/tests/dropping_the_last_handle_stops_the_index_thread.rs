//! The index thread lives as long as some `HistoryIndex` handle does: clones share it, and
//! dropping the last one stops and joins it. The `DurableFeed` does not keep it alive (the WAL
//! thread may announce after the server has shut the index down).

mod support;

use ledger_core::AccountFilter;
use ledger_history::HistoryIndex;
use support::{account_transfers, wait_until};

/// Threads of this process named like the index thread (Linux names them in `/proc`).
fn index_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .expect("/proc/self/task")
        .filter_map(Result::ok)
        .filter(|task| {
            std::fs::read_to_string(task.path().join("comm"))
                .is_ok_and(|name| name.trim() == "ledger-history")
        })
        .count()
}

#[test]
fn the_thread_stops_with_the_last_handle() {
    assert_eq!(index_threads(), 0);
    let dir = tempfile::tempdir().expect("tempdir");
    let (index, feed) = HistoryIndex::start(&dir.path().join("transfers.records")).expect("start");
    // The new thread names itself once it runs, which may be just after `start` returns.
    wait_until("the index thread to start", || index_threads() == 1);

    let clone = index.clone();
    drop(index);
    assert!(account_transfers(&clone, AccountFilter::all_of(1, 1)).is_ok(), "a clone keeps it running");
    assert_eq!(index_threads(), 1);

    drop(clone);
    wait_until("the index thread to exit", || index_threads() == 0);
    feed.durable(1, 0);
}
