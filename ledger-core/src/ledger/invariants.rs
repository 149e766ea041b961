//! Whole-state invariant checks, for tests, fuzzing and `ledger verify`.
//!
//! These walk the entire state (seconds at 10M accounts), so they never run on the write path.

use super::{Ledger, TransferState};
use crate::account::AccountFlags;
use crate::transfer::TransferFlags;
use crate::transfer_store::TransferStore;
use std::collections::BTreeMap;

/// The first broken invariant found, in words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("ledger invariant violated: {0}")]
pub struct InvariantViolation(pub String);

#[derive(Default)]
struct LedgerTotals {
    debits_pending: u128,
    debits_posted: u128,
    credits_pending: u128,
    credits_posted: u128,
}

impl<S: TransferStore> Ledger<S> {
    /// Checks: per ledger, total debits = total credits (posted and pending separately); no
    /// account beyond its balance limit; the live pending set matches the pending states in the
    /// index and the accounts' pending totals; timestamps strictly increase in creation order;
    /// only `history` accounts have balance rows, their rows never go back in time, and the last
    /// row of each equals its balances (zero balances if it has none).
    pub fn check_invariants(&self) -> Result<(), InvariantViolation> {
        let fail = |message: String| Err(InvariantViolation(message));
        // Wrapping sums: equality modulo 2^128 still catches any imbalance a test can produce,
        // and a ledger whose totals exceed u128 is itself legal.
        let mut totals: BTreeMap<u32, LedgerTotals> = BTreeMap::new();
        let mut last_timestamp = 0;
        for account in self.accounts.iter() {
            let t = totals.entry(account.ledger).or_default();
            t.debits_pending = t.debits_pending.wrapping_add(account.debits_pending);
            t.debits_posted = t.debits_posted.wrapping_add(account.debits_posted);
            t.credits_pending = t.credits_pending.wrapping_add(account.credits_pending);
            t.credits_posted = t.credits_posted.wrapping_add(account.credits_posted);
            let debits = account.debits_pending.checked_add(account.debits_posted);
            let credits = account.credits_pending.checked_add(account.credits_posted);
            if account.flags.contains(AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS)
                && debits.is_none_or(|d| d > account.credits_posted)
            {
                return fail(format!("account {} debits exceed its credits", account.id));
            }
            if account.flags.contains(AccountFlags::CREDITS_MUST_NOT_EXCEED_DEBITS)
                && credits.is_none_or(|c| c > account.debits_posted)
            {
                return fail(format!("account {} credits exceed its debits", account.id));
            }
            if account.timestamp <= last_timestamp {
                return fail(format!("account {} timestamp does not increase", account.id));
            }
            last_timestamp = account.timestamp;
        }
        for (ledger, t) in &totals {
            if t.debits_pending != t.credits_pending {
                return fail(format!("ledger {ledger}: pending debits != pending credits"));
            }
            if t.debits_posted != t.credits_posted {
                return fail(format!("ledger {ledger}: posted debits != posted credits"));
            }
        }

        let mut pending_in_index = 0_usize;
        let mut last_timestamp = 0;
        let mut broken = None;
        self.transfers.for_each(&mut |transfer| {
            if broken.is_some() {
                return;
            }
            let (state, _) = self.transfer_index_entry(transfer.id);
            let is_pending_flag = transfer.flags.contains(TransferFlags::PENDING);
            let state_ok = match state {
                TransferState::Committed => !is_pending_flag,
                TransferState::Pending => {
                    pending_in_index += 1;
                    is_pending_flag && self.pending.get(&transfer.id) == Some(transfer)
                }
                TransferState::Posted | TransferState::Voided | TransferState::Expired => is_pending_flag,
                TransferState::Failed => false,
            };
            if !state_ok {
                broken =
                    Some(format!("transfer {} has state {state:?} that its record contradicts", transfer.id));
            } else if transfer.timestamp <= last_timestamp {
                broken = Some(format!("transfer {} timestamp does not increase", transfer.id));
            }
            last_timestamp = transfer.timestamp;
        });
        if let Some(message) = broken {
            return fail(message);
        }
        // The accounts' pending totals are exactly the sums of the live pending transfers.
        let mut reserved: BTreeMap<u128, (u128, u128)> = BTreeMap::new();
        for transfer in self.pending.values() {
            let debit = reserved.entry(transfer.debit_account_id).or_default();
            debit.0 = debit.0.wrapping_add(transfer.amount);
            let credit = reserved.entry(transfer.credit_account_id).or_default();
            credit.1 = credit.1.wrapping_add(transfer.amount);
        }
        for account in self.accounts.iter() {
            let (debits, credits) = reserved.get(&account.id).copied().unwrap_or_default();
            if (debits, credits) != (account.debits_pending, account.credits_pending) {
                return fail(format!(
                    "account {} pending totals differ from its live pending transfers",
                    account.id
                ));
            }
        }
        if pending_in_index != self.pending.len() {
            return fail(format!(
                "{} transfers are pending in the index, {} live",
                pending_in_index,
                self.pending.len()
            ));
        }
        self.check_balance_history()
    }

    fn check_balance_history(&self) -> Result<(), InvariantViolation> {
        let fail = |message: String| Err(InvariantViolation(message));
        let mut rows = 0_u64;
        for position in self.history.accounts_in_creation_order() {
            let account = self.account_at(position);
            if !account.flags.contains(AccountFlags::HISTORY) {
                return fail(format!("account {} has balance rows but no history flag", account.id));
            }
            let mut last_timestamp = account.timestamp;
            for row in self.history.rows_of(position) {
                if row.timestamp <= account.timestamp
                    || row.timestamp < last_timestamp
                    || row.timestamp > self.clock
                {
                    return fail(format!("account {} has a balance row out of time order", account.id));
                }
                last_timestamp = row.timestamp;
                rows += 1;
            }
        }
        if rows != self.history.len() {
            return fail(format!(
                "{rows} balance rows belong to accounts, {} are stored",
                self.history.len()
            ));
        }
        for (position, account) in (0_u64..).zip(self.accounts.iter()) {
            if !account.flags.contains(AccountFlags::HISTORY) {
                continue;
            }
            let matches = match self.history.last_of(position) {
                Some(last) => last.balances_equal(account),
                None => {
                    [
                        account.debits_pending,
                        account.debits_posted,
                        account.credits_pending,
                        account.credits_posted,
                    ] == [0; 4]
                }
            };
            if !matches {
                return fail(format!(
                    "account {}: the last balance row differs from its balances",
                    account.id
                ));
            }
        }
        Ok(())
    }
}
