//! `get_account_balances` serves an account's balance rows through an `AccountFilter`: the
//! sides (`DEBITS`: the account was debited, `CREDITS`: credited), the transfer's non-zero
//! `user_data_128/64/32` and `code`, an inclusive timestamp range (zero: unbounded), oldest first
//! or `REVERSED`, at most `limit` and never more than `BATCH_EVENTS_MAX`. An invalid filter, an
//! unknown account and an account without the `history` flag give nothing.

mod common;

use common::{
    NS_PER_SECOND, T0, account, account_with_flags, accounts_ok, create_transfers, pending,
    pending_with_timeout, post, pulse, stored_transfer, transfer, transfers_ok,
};
use ledger_core::{
    AccountBalance, AccountFilter, AccountFilterFlags as F, AccountFlags, BATCH_EVENTS_MAX, Ledger, Transfer,
};

/// Account 1 keeps history; 2 and 3 are its counterparties (3 without history).
fn book() -> Ledger {
    let mut ledger = Ledger::default();
    accounts_ok(
        &mut ledger,
        &[
            account_with_flags(1, AccountFlags::HISTORY),
            account_with_flags(2, AccountFlags::HISTORY),
            account(3),
        ],
    );
    ledger
}

/// Transfers 10..=15 on account 1, alternating sides, each with its own code and user data:
/// transfer `10 + i` moves `i + 1`, has code `i % 3 + 1`, user_data_128 `i % 2`, user_data_64
/// `i`, user_data_32 `i / 2`.
fn six_transfers(ledger: &mut Ledger) -> Vec<u64> {
    let transfers: Vec<Transfer> = (0..6_u16)
        .map(|i| {
            let id = 10 + u128::from(i);
            let (debit, credit) = if i % 2 == 0 { (1, 2) } else { (3, 1) };
            Transfer {
                code: i % 3 + 1,
                user_data_128: u128::from(i % 2),
                user_data_64: u64::from(i),
                user_data_32: u32::from(i / 2),
                ..transfer(id, debit, credit, u128::from(i) + 1)
            }
        })
        .collect();
    transfers_ok(ledger, &transfers);
    (10..16).map(|id| stored_transfer(ledger, id).timestamp).collect()
}

fn query(ledger: &Ledger, filter: AccountFilter) -> Vec<AccountBalance> {
    let mut out = Vec::new();
    ledger.get_account_balances(&filter, &mut out);
    out
}

fn timestamps(ledger: &Ledger, filter: AccountFilter) -> Vec<u64> {
    query(ledger, filter).iter().map(|b| b.timestamp).collect()
}

fn filter(flags: F) -> AccountFilter {
    AccountFilter { flags, ..AccountFilter::all_of(1, u32::MAX) }
}

const BOTH: F = F(F::DEBITS.0 | F::CREDITS.0);

#[test]
fn sides_select_the_rows_where_the_account_was_debited_or_credited() {
    let mut ledger = book();
    let t = six_transfers(&mut ledger);
    assert_eq!(timestamps(&ledger, filter(F::DEBITS)), vec![t[0], t[2], t[4]]);
    assert_eq!(timestamps(&ledger, filter(F::CREDITS)), vec![t[1], t[3], t[5]]);
    assert_eq!(timestamps(&ledger, filter(BOTH)), t);
    // The balances are the account's after each transfer, whichever rows are selected.
    let credits = query(&ledger, filter(F::CREDITS));
    assert_eq!((credits[0].debits_posted, credits[0].credits_posted), (1, 2));
}

#[test]
fn non_zero_fields_must_equal_the_transfers() {
    let mut ledger = book();
    let t = six_transfers(&mut ledger);
    let by = |f: AccountFilter| timestamps(&ledger, f);
    assert_eq!(by(AccountFilter { code: 1, ..filter(BOTH) }), vec![t[0], t[3]]);
    assert_eq!(by(AccountFilter { user_data_128: 1, ..filter(BOTH) }), vec![t[1], t[3], t[5]]);
    assert_eq!(by(AccountFilter { user_data_64: 4, ..filter(BOTH) }), vec![t[4]]);
    assert_eq!(by(AccountFilter { user_data_32: 1, ..filter(BOTH) }), vec![t[2], t[3]]);
    assert_eq!(by(AccountFilter { user_data_32: 1, code: 3, ..filter(BOTH) }), vec![t[2]]);
    assert_eq!(by(AccountFilter { user_data_32: 1, ..filter(F::CREDITS) }), vec![t[3]]);
    assert_eq!(by(AccountFilter { code: 9, ..filter(BOTH) }), Vec::<u64>::new());
}

#[test]
fn a_post_row_carries_the_user_data_it_inherited_and_an_expiry_row_the_pending_transfers() {
    let mut ledger = book();
    let reserve = Transfer { user_data_64: 77, code: 5, ..pending(10, 1, 2, 8) };
    let expiring = Transfer { user_data_64: 88, ..pending_with_timeout(12, 1, 2, 2, 1) };
    assert_eq!(create_transfers(&mut ledger, T0, &[reserve, post(11, 10, 8), expiring]), vec![]);
    assert_eq!(pulse(&mut ledger, T0 + 2 * NS_PER_SECOND), vec![12]);
    let t = |id| stored_transfer(&ledger, id).timestamp;
    let by_user_data_64 = |value| timestamps(&ledger, AccountFilter { user_data_64: value, ..filter(BOTH) });
    assert_eq!(by_user_data_64(77), vec![t(10), t(11)], "the post inherits the pending transfer's user data");
    assert_eq!(by_user_data_64(88), vec![t(12), T0 + 2 * NS_PER_SECOND]);
    assert_eq!(timestamps(&ledger, AccountFilter { code: 5, ..filter(BOTH) }), vec![t(10), t(11)]);
}

#[test]
fn the_timestamp_range_is_inclusive_and_zero_leaves_a_side_open() {
    let mut ledger = book();
    let t = six_transfers(&mut ledger);
    let range = |min, max| {
        timestamps(&ledger, AccountFilter { timestamp_min: min, timestamp_max: max, ..filter(BOTH) })
    };
    assert_eq!(range(t[1], t[3]), t[1..=3].to_vec());
    assert_eq!(range(t[1] + 1, t[3] - 1), vec![t[2]]);
    assert_eq!(range(t[4], 0), t[4..].to_vec());
    assert_eq!(range(0, t[1]), t[..=1].to_vec());
    assert_eq!(range(t[5] + 1, 0), Vec::<u64>::new());
    assert_eq!(range(1, t[0] - 1), Vec::<u64>::new());
}

#[test]
fn reversed_gives_newest_first_and_limit_keeps_the_first_rows_in_that_order() {
    let mut ledger = book();
    let t = six_transfers(&mut ledger);
    let reversed = filter(BOTH.union(F::REVERSED));
    assert_eq!(timestamps(&ledger, reversed), t.iter().rev().copied().collect::<Vec<_>>());
    assert_eq!(timestamps(&ledger, AccountFilter { limit: 2, ..reversed }), vec![t[5], t[4]]);
    assert_eq!(timestamps(&ledger, AccountFilter { limit: 2, ..filter(BOTH) }), vec![t[0], t[1]]);
    assert_eq!(
        timestamps(&ledger, AccountFilter { limit: 2, ..filter(F::CREDITS.union(F::REVERSED)) }),
        vec![t[5], t[3]]
    );
}

#[test]
fn the_balance_at_a_time_is_the_newest_row_at_or_before_it() {
    let mut ledger = book();
    let t = six_transfers(&mut ledger);
    let at = |time| {
        query(&ledger, AccountFilter { timestamp_max: time, limit: 1, ..filter(BOTH.union(F::REVERSED)) })
    };
    let row = at(t[2]);
    assert_eq!(row.len(), 1);
    assert_eq!((row[0].timestamp, row[0].debits_posted, row[0].credits_posted), (t[2], 1 + 3, 2));
    assert_eq!(at(t[3] - 1), row, "between two transfers: the earlier one's balances");
    assert_eq!(at(t[0] - 1), vec![], "before the first transfer there is no row");
}

#[test]
fn invalid_filters_unknown_accounts_and_accounts_without_history_give_nothing() {
    let mut ledger = book();
    let t = six_transfers(&mut ledger);
    let valid = filter(BOTH);
    assert_eq!(query(&ledger, valid).len(), 6);
    let mut reserved = valid;
    reserved.reserved[3] = 1;
    for invalid in [
        AccountFilter { limit: 0, ..valid },
        AccountFilter { flags: F::REVERSED, ..valid },
        AccountFilter { flags: F(BOTH.0 | 8), ..valid },
        AccountFilter { timestamp_min: t[3], timestamp_max: t[2], ..valid },
        AccountFilter { account_id: 0, ..valid },
        AccountFilter { account_id: u128::MAX, ..valid },
        reserved,
    ] {
        assert_eq!(query(&ledger, invalid), vec![], "{invalid:?}");
    }
    assert_eq!(query(&ledger, AccountFilter { account_id: 42, ..valid }), vec![], "unknown account");
    assert_eq!(
        query(&ledger, AccountFilter { account_id: 3, ..valid }),
        vec![],
        "account 3 keeps no history"
    );
}

#[test]
fn no_more_than_batch_events_max_rows_are_returned() {
    let mut ledger = book();
    let total = BATCH_EVENTS_MAX + 3;
    let transfers: Vec<Transfer> = (0..total as u128).map(|i| transfer(1_000 + i, 1, 3, 1)).collect();
    let (first, second) = transfers.split_at(BATCH_EVENTS_MAX);
    transfers_ok(&mut ledger, first);
    transfers_ok(&mut ledger, second);
    let all = query(&ledger, filter(BOTH));
    assert_eq!(all.len(), BATCH_EVENTS_MAX);
    assert_eq!(all.last().map(|b| b.debits_posted), Some(BATCH_EVENTS_MAX as u128));
    let newest = query(&ledger, filter(BOTH.union(F::REVERSED)));
    assert_eq!(newest.len(), BATCH_EVENTS_MAX);
    assert_eq!(newest[0].debits_posted, total as u128);
}
