//! Read-your-writes: once a durable point is announced (which the durable writer does before it
//! replies), a query submitted afterwards sees every transfer up to it, with no waiting by the
//! client and no sleep in between.

mod support;

use ledger_core::{AccountFilter, AccountFilterFlags, QueryFilter};
use ledger_history::{HistoryIndex, IndexPosition};
use support::{account_transfers, append_records, of_account, query_transfers, transfers};

#[test]
fn each_query_after_an_announcement_sees_that_announcement() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("transfers.records");
    // The index starts before the writer has created the file, as in a fresh data directory.
    let (index, feed) = HistoryIndex::start(&path).expect("start");
    append_records(&path, &[]);
    feed.durable(0, 0);

    let mut all = Vec::new();
    let mut op = 0;
    for batch in 0..40_u64 {
        // Batches of varying size, some larger than one 8,192-record read.
        let count = [1, 7, 300, 9_000][usize::try_from(batch % 4).expect("small")];
        let written = transfers(all.len() as u64 + 1, count, 13);
        append_records(&path, &written);
        all.extend_from_slice(&written);
        op += 1;
        feed.durable(op, all.len() as u64);

        let account = u128::from(batch % 13 + 1);
        let newest_first = AccountFilter {
            flags: AccountFilterFlags::DEBITS
                .union(AccountFilterFlags::CREDITS)
                .union(AccountFilterFlags::REVERSED),
            ..AccountFilter::all_of(account, 5)
        };
        let (found, position) = account_transfers(&index, newest_first).expect("account transfers");
        let mut expected = of_account(&all, account);
        expected.reverse();
        expected.truncate(5);
        assert_eq!(found, expected, "batch {batch}: the account's newest transfers");
        assert_eq!(position, IndexPosition { op, transfers: all.len() as u64 });

        let newest = QueryFilter {
            limit: 1,
            flags: ledger_core::QueryFilterFlags::REVERSED,
            ..QueryFilter::default()
        };
        let (found, _) = query_transfers(&index, newest).expect("query transfers");
        assert_eq!(found.as_slice(), &all[all.len() - 1..], "batch {batch}: the newest transfer");
    }
    assert_eq!(index.position(), IndexPosition { op, transfers: all.len() as u64 });
    assert_eq!(index.announced(), index.position(), "no lag once caught up");
}
