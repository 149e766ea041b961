//! Reads by filter, answered by the writer from its own state between batches: accounts by
//! their secondary fields (`query_accounts`) and the balance history of accounts with the
//! `history` flag (`get_account_balances`).
//!
//! Accounts sit in creation order, which is timestamp order (every event gets a larger
//! timestamp), so a timestamp range is found by binary search and the scan runs from there in
//! the filter's direction. Fields other than the timestamp are not indexed: a selective filter
//! over a wide range scans every account in it (documented in `docs/protocol.md`).
//!
//! `get_account_balances(filter)`, as TigerBeetle's:
//! - nothing if the filter is invalid (`AccountFilter::is_valid`), the account does not exist,
//!   or it was created without the `history` flag;
//! - otherwise one `AccountBalance` per row of the account (`balance_history.rs`: a row per
//!   accepted transfer naming the account, zero amounts included, and per expiry of one of its
//!   pending transfers), holding the account's four balances right after it and its timestamp;
//! - a row passes if the account was on a side the filter asks for (`DEBITS`: it was debited,
//!   `CREDITS`: credited), the transfer's `user_data_128/64/32` and `code` match the filter's
//!   non-zero ones (an expiry row has the pending transfer's; a post or void row the stored
//!   post's or void's, which inherit the pending transfer's where the request left them zero),
//!   and its timestamp lies in `[timestamp_min, timestamp_max]` (zero: unbounded);
//! - rows come in timestamp order (newest first with `REVERSED`), at most `min(limit,
//!   BATCH_EVENTS_MAX)` of them. Timestamps may repeat within an account (an expiry row carries
//!   the timestamp of the pass that released it, which an event of the same batch also has):
//!   rows with equal timestamps keep the order they happened in, so the newest row at or before
//!   `T` (`timestamp_max = T`, `REVERSED`, limit 1) is the balance as of `T`. A client paging
//!   forward should continue from the last timestamp it received (not one past it) and skip the
//!   rows of that timestamp it already has.
//!
//! The timestamp range is found by binary search in the account's rows; fields and sides are
//! tested on the rows inside the range only.

use super::Ledger;
use crate::account::{Account, AccountFlags};
use crate::limits::BATCH_EVENTS_MAX;
use crate::query::{AccountBalance, AccountFilter, QueryFilter};
use crate::transfer_store::TransferStore;

impl<S: TransferStore> Ledger<S> {
    /// Appends to `out` the accounts that pass `filter`, in timestamp order (newest first if
    /// reversed), at most `filter.limit` (and `BATCH_EVENTS_MAX`). An invalid filter matches
    /// nothing.
    pub fn query_accounts(&self, filter: &QueryFilter, out: &mut Vec<Account>) {
        if !filter.is_valid() {
            return;
        }
        let limit = (filter.limit as usize).min(BATCH_EVENTS_MAX);
        let start = self.first_account_at_or_after(filter.timestamp_min);
        let end = if filter.timestamp_max == 0 {
            self.accounts.len()
        } else {
            self.first_account_at_or_after(filter.timestamp_max.saturating_add(1))
        };
        let keep = |a: &&Account| {
            filter.matches_fields(a.user_data_128, a.user_data_64, a.user_data_32, a.ledger, a.code)
        };
        let positions = start..end.max(start);
        if filter.is_reversed() {
            out.extend(
                positions.rev().filter_map(|i| self.accounts.get(i)).filter(keep).take(limit).copied(),
            );
        } else {
            out.extend(positions.filter_map(|i| self.accounts.get(i)).filter(keep).take(limit).copied());
        }
    }

    /// Position of the first account with a timestamp of at least `timestamp`.
    fn first_account_at_or_after(&self, timestamp: u64) -> usize {
        let (mut low, mut high) = (0, self.accounts.len());
        while low < high {
            let mid = low + (high - low) / 2;
            match self.accounts.get(mid) {
                Some(a) if a.timestamp < timestamp => low = mid + 1,
                _ => high = mid,
            }
        }
        low
    }

    /// Appends to `out` the balances of `filter.account_id` after each of its transfers that
    /// pass the filter, if the account has the `history` flag (rules in the module docs).
    pub fn get_account_balances(&self, filter: &AccountFilter, out: &mut Vec<AccountBalance>) {
        if !filter.is_valid() {
            return;
        }
        let Some(position) = self.account_index.get(filter.account_id) else { return };
        if !self.account_at(position).flags.contains(AccountFlags::HISTORY) {
            return;
        }
        self.history.query(position, filter, out);
    }
}
