//! A filter that cannot match anything (`ledger_core::query` module docs) is answered with an
//! empty result, not an error, as TigerBeetle does; its valid counterpart finds transfers.

mod support;

use ledger_core::{AccountFilter, AccountFilterFlags, QueryFilter, QueryFilterFlags};
use ledger_history::HistoryIndex;
use support::{account_transfers, append_records, query_transfers, transfers};

#[test]
fn invalid_filters_give_empty_results() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("transfers.records");
    let all = transfers(1, 100, 3);
    append_records(&path, &all);
    let (index, feed) = HistoryIndex::start(&path).expect("start");
    feed.durable(1, 100);

    let valid = AccountFilter::all_of(1, 10);
    assert_eq!(account_transfers(&index, valid).expect("valid").0.len(), 10);
    let mut reserved = valid;
    reserved.reserved[20] = 1;
    let invalid_accounts = [
        AccountFilter { account_id: 0, ..valid },
        AccountFilter { account_id: u128::MAX, ..valid },
        AccountFilter { limit: 0, ..valid },
        AccountFilter { flags: AccountFilterFlags::REVERSED, ..valid },
        AccountFilter { flags: AccountFilterFlags(AccountFilterFlags::DEBITS.0 | 1 << 5), ..valid },
        AccountFilter { timestamp_min: all[50].timestamp, timestamp_max: all[40].timestamp, ..valid },
        reserved,
    ];
    for filter in invalid_accounts {
        let (found, _) = account_transfers(&index, filter).expect("an empty answer, not an error");
        assert!(found.is_empty(), "{filter:?}");
    }

    let valid = QueryFilter { limit: 10, ..QueryFilter::default() };
    assert_eq!(query_transfers(&index, valid).expect("valid").0.len(), 10);
    let invalid_queries = [
        QueryFilter { limit: 0, ..valid },
        QueryFilter { flags: QueryFilterFlags(QueryFilterFlags::REVERSED.0 | 1 << 4), ..valid },
        QueryFilter { reserved: [0, 0, 1, 0, 0, 0], ..valid },
        QueryFilter { timestamp_min: all[50].timestamp, timestamp_max: all[40].timestamp, ..valid },
    ];
    for filter in invalid_queries {
        let (found, _) = query_transfers(&index, filter).expect("an empty answer, not an error");
        assert!(found.is_empty(), "{filter:?}");
    }
}
