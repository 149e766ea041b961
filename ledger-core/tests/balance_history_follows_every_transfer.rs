//! An account created with the `history` flag keeps one balance row per accepted transfer that
//! names it (single-phase, pending, post, void, balancing with its clamped amount, closing, zero
//! amounts too) and one per expiry of its pending transfers: its four balances right after it and
//! the timestamp (the transfer's, or for an expiry the timestamp of the pass that released it).
//! A linked chain that fails leaves no rows; accounts without the flag keep none.

mod common;

use common::{
    NS_PER_SECOND, T0, account, account_with_flags, accounts_ok, create_transfers, fails, linked, pending,
    pending_with_timeout, post, pulse, stored_transfer, transfer, transfers_ok, void, with_flags,
};
use ledger_core::{
    AMOUNT_MAX, AccountBalance, AccountFilter, AccountFilterFlags, AccountFlags, CreateTransferResult as R,
    Ledger, TransferFlags,
};

/// Accounts 1 and 2 keep history, 3 does not.
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

fn history(ledger: &Ledger, id: u128) -> Vec<AccountBalance> {
    let mut out = Vec::new();
    ledger.get_account_balances(&AccountFilter::all_of(id, u32::MAX), &mut out);
    out
}

/// A row: (debits_pending, debits_posted, credits_pending, credits_posted) at `timestamp`.
fn row(balances: (u128, u128, u128, u128), timestamp: u64) -> AccountBalance {
    let (debits_pending, debits_posted, credits_pending, credits_posted) = balances;
    AccountBalance { debits_pending, debits_posted, credits_pending, credits_posted, timestamp }
}

fn timestamp_of(ledger: &Ledger, transfer_id: u128) -> u64 {
    stored_transfer(ledger, transfer_id).timestamp
}

#[test]
fn a_single_phase_transfer_appends_a_row_to_each_history_account_it_names() {
    let mut ledger = book();
    transfers_ok(&mut ledger, &[transfer(10, 1, 2, 7), transfer(11, 1, 3, 5)]);
    let (t10, t11) = (timestamp_of(&ledger, 10), timestamp_of(&ledger, 11));
    assert_eq!(history(&ledger, 1), vec![row((0, 7, 0, 0), t10), row((0, 12, 0, 0), t11)]);
    assert_eq!(history(&ledger, 2), vec![row((0, 0, 0, 7), t10)]);
    assert_eq!(history(&ledger, 3), vec![], "account 3 has no history flag");
    assert_eq!(ledger.balance_row_count(), 3);
}

#[test]
fn pending_post_and_void_each_append_a_row() {
    let mut ledger = book();
    transfers_ok(&mut ledger, &[pending(10, 1, 2, 30), post(11, 10, 20), pending(12, 1, 2, 5), void(13, 12)]);
    let t = |id| timestamp_of(&ledger, id);
    assert_eq!(
        history(&ledger, 1),
        vec![
            row((30, 0, 0, 0), t(10)),
            row((0, 20, 0, 0), t(11)),
            row((5, 20, 0, 0), t(12)),
            row((0, 20, 0, 0), t(13)),
        ]
    );
    assert_eq!(
        history(&ledger, 2),
        vec![
            row((0, 0, 30, 0), t(10)),
            row((0, 0, 0, 20), t(11)),
            row((0, 0, 5, 20), t(12)),
            row((0, 0, 0, 20), t(13)),
        ]
    );
}

#[test]
fn an_expiry_appends_a_row_with_the_timestamp_of_the_pass_that_released_it() {
    let mut ledger = book();
    assert_eq!(create_transfers(&mut ledger, T0, &[pending_with_timeout(10, 1, 2, 40, 1)]), vec![]);
    let pass = T0 + 3 * NS_PER_SECOND;
    assert_eq!(pulse(&mut ledger, pass), vec![10]);
    assert_eq!(history(&ledger, 1), vec![row((40, 0, 0, 0), T0), row((0, 0, 0, 0), pass)]);
    assert_eq!(history(&ledger, 2), vec![row((0, 0, 40, 0), T0), row((0, 0, 0, 0), pass)]);
}

#[test]
fn an_expiry_before_a_batch_shares_the_first_events_timestamp_and_comes_first() {
    let mut ledger = book();
    assert_eq!(create_transfers(&mut ledger, T0, &[pending_with_timeout(10, 1, 2, 40, 1)]), vec![]);
    // The batch's first event gets `now` (one event); the pending transfer is due before it.
    let now = T0 + 2 * NS_PER_SECOND;
    assert_eq!(create_transfers(&mut ledger, now, &[transfer(11, 1, 2, 3)]), vec![]);
    assert_eq!(timestamp_of(&ledger, 11), now);
    assert_eq!(
        history(&ledger, 1),
        vec![row((40, 0, 0, 0), T0), row((0, 0, 0, 0), now), row((0, 3, 0, 0), now)],
        "released first, then the transfer, both at the event's timestamp"
    );
    // The balance as of `now` is the last row at that timestamp.
    let mut as_of = Vec::new();
    let whole = AccountFilter::all_of(1, 1);
    let filter =
        AccountFilter { timestamp_max: now, flags: whole.flags.union(AccountFilterFlags::REVERSED), ..whole };
    ledger.get_account_balances(&filter, &mut as_of);
    assert_eq!(as_of, vec![row((0, 3, 0, 0), now)]);
}

#[test]
fn balancing_transfers_record_the_clamped_amount() {
    let mut ledger = Ledger::default();
    let flags = AccountFlags::HISTORY | AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS;
    accounts_ok(&mut ledger, &[account_with_flags(1, flags), account(2)]);
    transfers_ok(
        &mut ledger,
        &[transfer(10, 2, 1, 15), with_flags(transfer(11, 1, 2, AMOUNT_MAX), TransferFlags::BALANCING_DEBIT)],
    );
    assert_eq!(stored_transfer(&ledger, 11).amount, 15);
    assert_eq!(
        history(&ledger, 1),
        vec![row((0, 0, 0, 15), timestamp_of(&ledger, 10)), row((0, 15, 0, 15), timestamp_of(&ledger, 11))]
    );
}

#[test]
fn closing_transfers_and_their_void_append_rows() {
    let mut ledger = book();
    transfers_ok(
        &mut ledger,
        &[with_flags(pending(10, 1, 2, 4), TransferFlags::CLOSING_DEBIT), void(11, 10)],
    );
    assert_eq!(
        history(&ledger, 1),
        vec![row((4, 0, 0, 0), timestamp_of(&ledger, 10)), row((0, 0, 0, 0), timestamp_of(&ledger, 11))]
    );
}

#[test]
fn a_zero_amount_transfer_appends_an_unchanged_row() {
    let mut ledger = book();
    transfers_ok(&mut ledger, &[transfer(10, 1, 2, 9), transfer(11, 2, 1, 0)]);
    let rows = history(&ledger, 1);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1], AccountBalance { timestamp: timestamp_of(&ledger, 11), ..rows[0] });
}

#[test]
fn a_failed_linked_chain_leaves_no_rows() {
    let mut ledger = book();
    transfers_ok(&mut ledger, &[pending(10, 1, 2, 6)]);
    let before = history(&ledger, 1);
    // The chain posts the pending transfer and moves money, then fails on an unknown account.
    let chain = [linked(post(11, 10, AMOUNT_MAX)), linked(transfer(12, 2, 1, 3)), transfer(13, 1, 99, 1)];
    assert_eq!(
        create_transfers(&mut ledger, 0, &chain),
        vec![
            fails(0, R::LinkedEventFailed),
            fails(1, R::LinkedEventFailed),
            fails(2, R::CreditAccountNotFound)
        ]
    );
    assert_eq!(history(&ledger, 1), before);
    assert_eq!(history(&ledger, 2).len(), 1);
    assert_eq!(ledger.balance_row_count(), 2);
    // The same moves outside a failing chain do append.
    transfers_ok(&mut ledger, &[linked(post(14, 10, AMOUNT_MAX)), transfer(15, 2, 1, 3)]);
    assert_eq!(history(&ledger, 1).len(), 3);
}

#[test]
fn a_rejected_transfer_appends_nothing() {
    let mut ledger = book();
    assert_eq!(create_transfers(&mut ledger, 0, &[transfer(10, 1, 2, 0), transfer(10, 1, 2, 1)]).len(), 1);
    assert_eq!(history(&ledger, 1).len(), 1, "the second event is `exists_with_different_amount`");
}

#[test]
fn accounts_without_the_flag_keep_no_rows_and_no_memory() {
    let mut ledger = Ledger::default();
    accounts_ok(&mut ledger, &[account(1), account(2)]);
    let transfers: Vec<_> = (10..200).map(|id| transfer(id, 1 + id % 2, 2 - id % 2, 1)).collect();
    transfers_ok(&mut ledger, &transfers);
    assert_eq!(ledger.balance_row_count(), 0);
    assert_eq!(ledger.memory_usage().balance_history_bytes, 0);
    assert_eq!(history(&ledger, 1), vec![]);
}
