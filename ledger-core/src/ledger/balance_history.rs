//! Balance history: for accounts with the `history` flag, the account's four balances right
//! after each of its transfers (and each expiry of one of its pending transfers), as
//! `get_account_balances` serves them.
//!
//! Rows are state, like balances: they are in snapshots (section 6, `snapshot.rs`), in
//! `state_hash`, rolled back with a failed linked chain (`chain.rs`) and checked by
//! `check_invariants` (an account's last row equals its balances).
//!
//! What is recorded, and when (the rules `queries.rs` serves):
//! - every accepted transfer that names the account appends one row: single-phase, pending,
//!   post and void of a pending transfer, balancing (with the clamped amount) and closing
//!   transfers, zero amounts included (as in TigerBeetle: one row per transfer of the account,
//!   so that a row and a transfer correspond even when nothing moved);
//! - the expiry of a pending transfer appends one row to each of its accounts that keeps history,
//!   with the pending transfer's fields (side, user data, code). Expiry has no timestamp of its
//!   own (the clock rule gives timestamps to events only), so the row carries the timestamp of
//!   the expiry pass that released it: the batch's first event's timestamp for the pass before
//!   the events, the batch's last timestamp for the pass after them (`Ledger::apply`). Both are
//!   at or after the deadline, and both come from the WAL, so replay gives identical rows.
//!
//! Hence timestamps within one account's history never decrease but may repeat: an expiry row
//! shares its timestamp with an event of the same batch, or with another expiry of the same
//! pass. Rows with equal timestamps are in the order they happened; the last of them is the
//! balance as of that timestamp.
//!
//! Memory: 104 bytes per row in one chunked table (no per-row allocation, no move on growth)
//! plus an 8-byte position in the account's position list (a `Vec` that doubles, so 8-16
//! bytes): 112-120 bytes per row, plus one map entry (~40 bytes) per account that has rows. An
//! account without the flag costs one flag test per transfer and nothing else. Rows are bounded
//! by the transfers themselves: at most two per accepted transfer plus two per expiry.

use super::Ledger;
use super::chain::Undo;
use crate::account::{Account, AccountFlags};
use crate::chunked::ChunkedVec;
use crate::limits::BATCH_EVENTS_MAX;
use crate::query::{AccountBalance, AccountFilter, AccountFilterFlags};
use crate::transfer::Transfer;
use crate::transfer_store::TransferStore;
use foldhash::fast::RandomState;

/// ```text
/// BalanceRow, 104 bytes, little-endian, no padding (align 8)
/// offset  size  field
///      0    16  debits_pending   u128  the account's balances right after the transfer
///     16    16  debits_posted    u128
///     32    16  credits_pending  u128
///     48    16  credits_posted   u128
///     64    16  user_data_128    u128  of the transfer (for filtering)
///     80     8  timestamp        u64   of the transfer, or of the expiry pass
///     88     8  user_data_64     u64   of the transfer
///     96     4  user_data_32     u32   of the transfer
///    100     2  code             u16   of the transfer
///    102     2  side             u16   1: the account was debited, 2: credited
/// ```
///
/// The u128 fields are byte arrays so that the row needs 8-byte alignment only: with `u128`
/// fields it would pad to 112 bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(C)]
pub(super) struct BalanceRow {
    debits_pending: [u8; 16],
    debits_posted: [u8; 16],
    credits_pending: [u8; 16],
    credits_posted: [u8; 16],
    user_data_128: [u8; 16],
    pub(super) timestamp: u64,
    user_data_64: u64,
    user_data_32: u32,
    code: u16,
    side: u16,
}

pub(super) const BALANCE_ROW_SIZE: usize = 104;
pub(super) const BALANCE_ROW_TIMESTAMP_OFFSET: usize = 80;
pub(super) const BALANCE_ROW_SIDE_OFFSET: usize = 102;
const _: () = assert!(std::mem::size_of::<BalanceRow>() == BALANCE_ROW_SIZE);
const _: () = assert!(std::mem::offset_of!(BalanceRow, timestamp) == BALANCE_ROW_TIMESTAMP_OFFSET);
const _: () = assert!(std::mem::offset_of!(BalanceRow, side) == BALANCE_ROW_SIDE_OFFSET);
const _: () = assert!(BALANCE_ROW_SIDE_OFFSET + 2 == BALANCE_ROW_SIZE);

/// Which side of the transfer the account was on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u16)]
pub(super) enum Side {
    Debit = 1,
    Credit = 2,
}

impl BalanceRow {
    /// The row `account` (already updated) gets for `transfer` at `timestamp`.
    pub(super) fn new(account: &Account, side: Side, transfer: &Transfer, timestamp: u64) -> Self {
        Self {
            debits_pending: account.debits_pending.to_le_bytes(),
            debits_posted: account.debits_posted.to_le_bytes(),
            credits_pending: account.credits_pending.to_le_bytes(),
            credits_posted: account.credits_posted.to_le_bytes(),
            user_data_128: transfer.user_data_128.to_le_bytes(),
            timestamp,
            user_data_64: transfer.user_data_64,
            user_data_32: transfer.user_data_32,
            code: transfer.code,
            side: side as u16,
        }
    }

    pub(super) fn balance(&self) -> AccountBalance {
        AccountBalance {
            debits_pending: u128::from_le_bytes(self.debits_pending),
            debits_posted: u128::from_le_bytes(self.debits_posted),
            credits_pending: u128::from_le_bytes(self.credits_pending),
            credits_posted: u128::from_le_bytes(self.credits_posted),
            timestamp: self.timestamp,
        }
    }

    /// Whether the row's balances are the account's current ones.
    pub(super) fn balances_equal(&self, account: &Account) -> bool {
        let b = self.balance();
        (b.debits_pending, b.debits_posted, b.credits_pending, b.credits_posted)
            == (
                account.debits_pending,
                account.debits_posted,
                account.credits_pending,
                account.credits_posted,
            )
    }

    /// Whether the side field names exactly one side (what a loaded snapshot must hold).
    pub(super) fn side_is_valid(&self) -> bool {
        self.side == Side::Debit as u16 || self.side == Side::Credit as u16
    }

    fn passes(&self, filter: &AccountFilter) -> bool {
        let side_wanted = if self.side == Side::Debit as u16 {
            filter.flags.contains(AccountFilterFlags::DEBITS)
        } else {
            filter.flags.contains(AccountFilterFlags::CREDITS)
        };
        side_wanted
            && filter.matches_fields(
                u128::from_le_bytes(self.user_data_128),
                self.user_data_64,
                self.user_data_32,
                self.code,
            )
    }
}

/// Every row of every history account.
#[derive(Debug, Default)]
pub(super) struct BalanceHistory {
    /// All rows, in the order they were appended (after a snapshot load: grouped by account).
    rows: ChunkedVec<BalanceRow>,
    /// Account position -> positions in `rows` of its rows, oldest first. Only accounts with at
    /// least one row have an entry. Never iterated for anything hashed, written or returned
    /// (those walk the accounts in creation order).
    by_account: hashbrown::HashMap<u64, Vec<u64>, RandomState>,
}

impl BalanceHistory {
    /// Appends a row for the account at `account_position`. Rows of one account come in
    /// timestamp order (the engine appends them as time advances).
    pub(super) fn append(&mut self, account_position: u64, row: BalanceRow) {
        let positions = self.by_account.entry(account_position).or_default();
        debug_assert!(
            positions
                .last()
                .and_then(|p| self.rows.get(usize::try_from(*p).ok()?))
                .is_none_or(|last| last.timestamp <= row.timestamp),
            "an account's rows never go back in time"
        );
        positions.push(self.rows.push(row) as u64);
    }

    /// Takes back the account's newest row, which is the newest row of all: a linked chain is
    /// rolled back in the reverse order of its changes.
    pub(super) fn remove_last(&mut self, account_position: u64) {
        let Some(positions) = self.by_account.get_mut(&account_position) else {
            unreachable!("rolled back a balance row of an account without rows")
        };
        let removed = positions.pop();
        debug_assert_eq!(removed, Some(self.rows.len() as u64 - 1), "rollback is last in, first out");
        if positions.is_empty() {
            self.by_account.remove(&account_position);
        }
        self.rows.truncate(self.rows.len() - 1);
    }

    /// The row at a position taken from `by_account`: present by construction.
    fn row(&self, position: u64) -> &BalanceRow {
        usize::try_from(position)
            .ok()
            .and_then(|p| self.rows.get(p))
            .unwrap_or_else(|| unreachable!("balance history positions out of sync"))
    }

    /// The account's rows, oldest first.
    pub(super) fn rows_of(&self, account_position: u64) -> impl Iterator<Item = &BalanceRow> {
        self.by_account.get(&account_position).into_iter().flatten().map(|p| self.row(*p))
    }

    /// The account's newest row.
    pub(super) fn last_of(&self, account_position: u64) -> Option<&BalanceRow> {
        self.by_account.get(&account_position)?.last().map(|p| self.row(*p))
    }

    pub(super) fn row_count_of(&self, account_position: u64) -> usize {
        self.by_account.get(&account_position).map_or(0, Vec::len)
    }

    /// Positions of the accounts that have rows, in creation order.
    pub(super) fn accounts_in_creation_order(&self) -> Vec<u64> {
        let mut accounts: Vec<u64> = self.by_account.keys().copied().collect();
        accounts.sort_unstable();
        accounts
    }

    pub(super) fn len(&self) -> u64 {
        self.rows.len() as u64
    }

    pub(super) fn is_empty(&self) -> bool {
        self.rows.len() == 0
    }

    pub(super) fn allocated_bytes(&self) -> usize {
        self.rows.allocated_bytes()
            + self.by_account.allocation_size()
            + self.by_account.values().map(|v| v.capacity() * 8).sum::<usize>()
    }

    /// Appends to `out` the account's rows that pass `filter` (already known to be valid), in
    /// timestamp order or reversed, at most `min(limit, BATCH_EVENTS_MAX)`. The timestamp range
    /// is found by binary search; only rows inside it are visited.
    pub(super) fn query(&self, account_position: u64, filter: &AccountFilter, out: &mut Vec<AccountBalance>) {
        debug_assert!(filter.is_valid());
        let Some(positions) = self.by_account.get(&account_position) else { return };
        let limit = usize::try_from(filter.limit).unwrap_or(usize::MAX).min(BATCH_EVENTS_MAX);
        // Timestamps within an account never decrease, so both bounds are partition points.
        let start = positions.partition_point(|p| self.row(*p).timestamp < filter.timestamp_min);
        let end = if filter.timestamp_max == 0 {
            positions.len()
        } else {
            positions.partition_point(|p| self.row(*p).timestamp <= filter.timestamp_max)
        };
        let in_range = &positions[start..end.max(start)];
        let passing = |p: &u64| {
            let row = self.row(*p);
            row.passes(filter).then(|| row.balance())
        };
        if filter.is_reversed() {
            out.extend(in_range.iter().rev().filter_map(passing).take(limit));
        } else {
            out.extend(in_range.iter().filter_map(passing).take(limit));
        }
    }
}

impl<S: TransferStore> Ledger<S> {
    /// Appends a row to each account of `transfer` that keeps history, with the balances the
    /// accounts hold now. Called after a transfer (or expiry) has changed both accounts. For an
    /// account without the flag this is one flag test.
    #[inline]
    pub(super) fn record_balances(
        &mut self,
        debit_position: u64,
        credit_position: u64,
        transfer: &Transfer,
        timestamp: u64,
    ) {
        if self.account_at(debit_position).flags.contains(AccountFlags::HISTORY) {
            self.append_balance_row(debit_position, Side::Debit, transfer, timestamp);
        }
        if self.account_at(credit_position).flags.contains(AccountFlags::HISTORY) {
            self.append_balance_row(credit_position, Side::Credit, transfer, timestamp);
        }
    }

    /// Out of line: most accounts do not keep history, and the write path stays small.
    #[inline(never)]
    fn append_balance_row(&mut self, account_position: u64, side: Side, transfer: &Transfer, timestamp: u64) {
        let row = BalanceRow::new(self.account_at(account_position), side, transfer, timestamp);
        self.history.append(account_position, row);
        self.undo.record(|| Undo::BalanceRowAppended { account_position });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(timestamp: u64, side: Side, code: u16) -> BalanceRow {
        let account = Account { debits_posted: u128::from(timestamp), ..Account::default() };
        BalanceRow::new(&account, side, &Transfer { code, ..Transfer::default() }, timestamp)
    }

    #[test]
    fn query_binary_searches_the_range_and_honours_ties_and_order() {
        let mut history = BalanceHistory::default();
        for (timestamp, side) in
            [(10, Side::Debit), (20, Side::Credit), (20, Side::Debit), (30, Side::Credit)]
        {
            history.append(7, row(timestamp, side, 1));
        }
        history.append(8, row(25, Side::Debit, 1));
        let filter = |min, max, flags: AccountFilterFlags, limit| AccountFilter {
            account_id: 1,
            timestamp_min: min,
            timestamp_max: max,
            limit,
            flags,
            ..AccountFilter::default()
        };
        let both = AccountFilterFlags::DEBITS.union(AccountFilterFlags::CREDITS);
        let timestamps = |f: AccountFilter| {
            let mut out = Vec::new();
            history.query(7, &f, &mut out);
            out.iter().map(|b| b.timestamp).collect::<Vec<_>>()
        };
        assert_eq!(timestamps(filter(0, 0, both, 10)), vec![10, 20, 20, 30]);
        assert_eq!(timestamps(filter(20, 20, both, 10)), vec![20, 20]);
        assert_eq!(timestamps(filter(11, 29, AccountFilterFlags::DEBITS, 10)), vec![20]);
        assert_eq!(timestamps(filter(0, 25, both.union(AccountFilterFlags::REVERSED), 1)), vec![20]);
        assert_eq!(timestamps(filter(31, 0, both, 10)), Vec::<u64>::new());
        // The reversed newest row at a tied timestamp is the last one appended.
        let mut out = Vec::new();
        history.query(7, &filter(0, 20, both.union(AccountFilterFlags::REVERSED), 1), &mut out);
        assert_eq!(out[0].debits_posted, 20);
        assert_eq!(history.row_count_of(7), 4);
    }

    #[test]
    fn remove_last_takes_back_rows_and_forgets_empty_accounts() {
        let mut history = BalanceHistory::default();
        history.append(3, row(1, Side::Debit, 1));
        history.append(4, row(2, Side::Credit, 1));
        history.remove_last(4);
        assert_eq!(history.len(), 1);
        assert_eq!(history.row_count_of(4), 0);
        assert_eq!(history.accounts_in_creation_order(), vec![3]);
        history.remove_last(3);
        assert!(history.is_empty());
        assert!(history.accounts_in_creation_order().is_empty());
    }
}
