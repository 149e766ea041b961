//! `query_accounts` finds accounts by their secondary fields: the filter's non-zero
//! `user_data_128/64/32`, `ledger` and `code` must equal the account's, its timestamp must lie in
//! the inclusive range (zero: unbounded), results come in creation (= timestamp) order or newest
//! first with `REVERSED`, at most `limit` and never more than `BATCH_EVENTS_MAX`. A filter that
//! cannot match (limit 0, reserved bytes or unknown flags, min > max) gives nothing.

mod common;

use common::{NS_PER_SECOND, T0, accounts_ok, create_accounts};
use ledger_core::{Account, BATCH_EVENTS_MAX, Ledger, QueryFilter, QueryFilterFlags};

/// Accounts 1..=9, three per batch at `T0`, `T0 + 1 s` and `T0 + 2 s`. Account `id` has ledger
/// `id % 2 + 1`, code `id % 3 + 1`, user_data_128 `id / 4`, user_data_64 `id % 4`,
/// user_data_32 `id`.
fn book() -> Ledger {
    let mut ledger = Ledger::default();
    for batch in 0..3_u64 {
        let accounts: Vec<Account> = (1..=3).map(|i| planned(u128::from(batch * 3 + i))).collect();
        assert_eq!(create_accounts(&mut ledger, T0 + batch * NS_PER_SECOND, &accounts), vec![]);
    }
    ledger
}

fn planned(id: u128) -> Account {
    let small = u32::try_from(id).expect("small ids");
    Account {
        id,
        ledger: small % 2 + 1,
        code: u16::try_from(small % 3 + 1).expect("small"),
        user_data_128: id / 4,
        user_data_64: u64::from(small % 4),
        user_data_32: small,
        ..Account::default()
    }
}

fn ids(ledger: &Ledger, filter: QueryFilter) -> Vec<u128> {
    let mut out = Vec::new();
    ledger.query_accounts(&filter, &mut out);
    out.iter().map(|a| a.id).collect()
}

fn any(limit: u32) -> QueryFilter {
    QueryFilter { limit, ..QueryFilter::default() }
}

fn timestamp(ledger: &Ledger, id: u128) -> u64 {
    ledger.lookup_account(id).expect("the account exists").timestamp
}

#[test]
fn a_filter_of_zeros_finds_every_account_in_creation_order() {
    let ledger = book();
    assert_eq!(ids(&ledger, any(100)), (1..=9).collect::<Vec<_>>());
}

#[test]
fn each_non_zero_field_must_equal_the_accounts() {
    let ledger = book();
    let all = any(100);
    assert_eq!(ids(&ledger, QueryFilter { ledger: 2, ..all }), vec![1, 3, 5, 7, 9]);
    assert_eq!(ids(&ledger, QueryFilter { code: 1, ..all }), vec![3, 6, 9]);
    assert_eq!(ids(&ledger, QueryFilter { user_data_128: 1, ..all }), vec![4, 5, 6, 7]);
    assert_eq!(ids(&ledger, QueryFilter { user_data_64: 3, ..all }), vec![3, 7]);
    assert_eq!(ids(&ledger, QueryFilter { user_data_32: 8, ..all }), vec![8]);
    assert_eq!(ids(&ledger, QueryFilter { ledger: 2, code: 1, ..all }), vec![3, 9]);
    assert_eq!(ids(&ledger, QueryFilter { ledger: 2, code: 1, user_data_128: 2, ..all }), vec![9]);
    assert_eq!(ids(&ledger, QueryFilter { ledger: 3, ..all }), Vec::<u128>::new());
}

#[test]
fn the_timestamp_range_is_inclusive_and_zero_leaves_a_side_open() {
    let ledger = book();
    let range = |min, max| ids(&ledger, QueryFilter { timestamp_min: min, timestamp_max: max, ..any(100) });
    assert_eq!(range(timestamp(&ledger, 4), timestamp(&ledger, 6)), vec![4, 5, 6]);
    assert_eq!(range(timestamp(&ledger, 4) + 1, timestamp(&ledger, 6) - 1), vec![5]);
    assert_eq!(range(timestamp(&ledger, 8), 0), vec![8, 9]);
    assert_eq!(range(0, timestamp(&ledger, 2)), vec![1, 2]);
    assert_eq!(range(timestamp(&ledger, 9) + 1, 0), Vec::<u128>::new());
    // Between two batches nothing was created.
    assert_eq!(range(timestamp(&ledger, 3) + 1, timestamp(&ledger, 4) - 1), Vec::<u128>::new());
}

#[test]
fn reversed_gives_newest_first_and_limit_keeps_the_first_in_that_order() {
    let ledger = book();
    let reversed = QueryFilter { flags: QueryFilterFlags::REVERSED, ..any(100) };
    assert_eq!(ids(&ledger, reversed), (1..=9).rev().collect::<Vec<_>>());
    assert_eq!(ids(&ledger, QueryFilter { limit: 2, ..reversed }), vec![9, 8]);
    assert_eq!(ids(&ledger, any(2)), vec![1, 2]);
    // The limit counts matches, not accounts scanned.
    assert_eq!(ids(&ledger, QueryFilter { ledger: 2, limit: 2, ..reversed }), vec![9, 7]);
    let ranged = QueryFilter { timestamp_max: timestamp(&ledger, 5), limit: 1, ..reversed };
    assert_eq!(ids(&ledger, ranged), vec![5]);
}

#[test]
fn filters_that_cannot_match_give_nothing() {
    let ledger = book();
    let valid = any(100);
    assert_eq!(ids(&ledger, valid).len(), 9);
    for invalid in [
        QueryFilter { limit: 0, ..valid },
        QueryFilter { flags: QueryFilterFlags(2), ..valid },
        QueryFilter { reserved: [0, 0, 1, 0, 0, 0], ..valid },
        QueryFilter { timestamp_min: timestamp(&ledger, 5), timestamp_max: timestamp(&ledger, 4), ..valid },
    ] {
        assert_eq!(ids(&ledger, invalid), Vec::<u128>::new(), "{invalid:?}");
    }
}

#[test]
fn no_more_than_batch_events_max_accounts_are_returned() {
    let mut ledger = Ledger::default();
    let accounts: Vec<Account> = (1..=BATCH_EVENTS_MAX as u128 + 2)
        .map(|id| Account { id, ledger: 1, code: 1, ..Account::default() })
        .collect();
    let (first, second) = accounts.split_at(BATCH_EVENTS_MAX);
    accounts_ok(&mut ledger, first);
    accounts_ok(&mut ledger, second);
    let found = ids(&ledger, any(u32::MAX));
    assert_eq!(found.len(), BATCH_EVENTS_MAX);
    assert_eq!(found.last(), Some(&(BATCH_EVENTS_MAX as u128)));
    let newest = ids(&ledger, QueryFilter { flags: QueryFilterFlags::REVERSED, ..any(u32::MAX) });
    assert_eq!(newest.first(), Some(&(BATCH_EVENTS_MAX as u128 + 2)));
}
