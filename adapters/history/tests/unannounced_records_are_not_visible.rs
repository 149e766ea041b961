//! Records the writer has written but the WAL has not made durable yet sit in the record file
//! beyond the announced count: no query may return them.

mod support;

use ledger_core::{AccountFilter, QueryFilter};
use ledger_history::{HistoryIndex, IndexPosition};
use support::{account_transfers, append_records, query_transfers, transfers};

#[test]
fn records_beyond_the_announced_count_are_not_returned() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("transfers.records");
    let durable = transfers(1, 10, 2);
    let pending = transfers(11, 5, 2);
    append_records(&path, &durable);
    append_records(&path, &pending);
    let (index, feed) = HistoryIndex::start(&path).expect("start");
    feed.durable(3, 10);

    let everything = QueryFilter { limit: 100, ..QueryFilter::default() };
    let (found, position) = query_transfers(&index, everything).expect("query");
    assert_eq!(found, durable);
    assert_eq!(position, IndexPosition { op: 3, transfers: 10 });
    let (found, _) = account_transfers(&index, AccountFilter::all_of(1, 100)).expect("account");
    assert_eq!(found.len(), 10, "account 1 is on every transfer; only the durable ones count");

    feed.durable(4, 15);
    let (found, _) = query_transfers(&index, everything).expect("query");
    assert_eq!(found.len(), 15, "visible once announced");
}
