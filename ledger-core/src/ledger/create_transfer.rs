//! Creating a transfer: the checks in precedence order (`docs/result-codes.md`), then the
//! balance changes. Single-phase and pending transfers take `create_transfer`'s main path; posts
//! and voids of a pending transfer take `post_or_void_pending`.

use super::chain::Undo;
use super::{Ledger, TransferState, expiry};
use crate::account::AccountFlags;
use crate::limits::{NANOS_PER_SECOND, TIMESTAMP_MAX};
use crate::result::CreateTransferResult as R;
use crate::transfer::{AMOUNT_MAX, Transfer, TransferFlags as F};
use crate::transfer_store::TransferStore;

impl<S: TransferStore> Ledger<S> {
    pub(super) fn create_transfer(&mut self, t: &Transfer, timestamp: u64) -> R {
        if t.timestamp != 0 {
            return R::TimestampMustBeZero;
        }
        if t.flags.has_reserved_bits() {
            return R::ReservedFlag;
        }
        if t.id == 0 {
            return R::IdMustNotBeZero;
        }
        if t.id == u128::MAX {
            return R::IdMustNotBeIntMax;
        }
        if let Some(packed) = self.transfer_index.get(t.id) {
            let (state, locator) = TransferState::unpack(packed);
            if state == TransferState::Failed {
                return R::IdAlreadyFailed;
            }
            let Some(existing) = self.transfers.get(locator) else {
                unreachable!("indexed transfer missing from the store")
            };
            return transfer_exists(t, &existing);
        }
        if t.flags.is_post_or_void() {
            return self.post_or_void_pending(t, timestamp);
        }

        if t.debit_account_id == 0 {
            return R::DebitAccountIdMustNotBeZero;
        }
        if t.debit_account_id == u128::MAX {
            return R::DebitAccountIdMustNotBeIntMax;
        }
        if t.credit_account_id == 0 {
            return R::CreditAccountIdMustNotBeZero;
        }
        if t.credit_account_id == u128::MAX {
            return R::CreditAccountIdMustNotBeIntMax;
        }
        if t.debit_account_id == t.credit_account_id {
            return R::AccountsMustBeDifferent;
        }
        if t.pending_id != 0 {
            return R::PendingIdMustBeZero;
        }
        let pending = t.flags.contains(F::PENDING);
        if !pending {
            if t.timeout != 0 {
                return R::TimeoutReservedForPendingTransfer;
            }
            if t.flags.is_closing() {
                return R::ClosingTransferMustBePending;
            }
        }
        if t.ledger == 0 {
            return R::LedgerMustNotBeZero;
        }
        if t.code == 0 {
            return R::CodeMustNotBeZero;
        }
        let Some(debit_position) = self.account_index.get(t.debit_account_id) else {
            return R::DebitAccountNotFound;
        };
        let Some(credit_position) = self.account_index.get(t.credit_account_id) else {
            return R::CreditAccountNotFound;
        };
        let mut debit = *self.account_at(debit_position);
        let mut credit = *self.account_at(credit_position);
        if debit.ledger != credit.ledger {
            return R::AccountsMustHaveTheSameLedger;
        }
        if t.ledger != debit.ledger {
            return R::TransferMustHaveTheSameLedgerAsAccounts;
        }
        if debit.flags.contains(AccountFlags::CLOSED) {
            return R::DebitAccountAlreadyClosed;
        }
        if credit.flags.contains(AccountFlags::CLOSED) {
            return R::CreditAccountAlreadyClosed;
        }

        // A balancing transfer moves at most what keeps the account within its own balance:
        // `amount` is then a cap (AMOUNT_MAX: as much as possible).
        let mut amount = t.amount;
        let debit_room =
            debit.credits_posted.saturating_sub(debit.debits_posted.saturating_add(debit.debits_pending));
        let credit_room =
            credit.debits_posted.saturating_sub(credit.credits_posted.saturating_add(credit.credits_pending));
        if t.flags.contains(F::BALANCING_DEBIT) {
            amount = amount.min(debit_room);
        }
        if t.flags.contains(F::BALANCING_CREDIT) {
            amount = amount.min(credit_room);
        }

        if pending {
            if debit.debits_pending.checked_add(amount).is_none() {
                return R::OverflowsDebitsPending;
            }
            if credit.credits_pending.checked_add(amount).is_none() {
                return R::OverflowsCreditsPending;
            }
        } else {
            if debit.debits_posted.checked_add(amount).is_none() {
                return R::OverflowsDebitsPosted;
            }
            if credit.credits_posted.checked_add(amount).is_none() {
                return R::OverflowsCreditsPosted;
            }
        }
        let Some(debits_after) =
            debit.debits_pending.checked_add(debit.debits_posted).and_then(|d| d.checked_add(amount))
        else {
            return R::OverflowsDebits;
        };
        let Some(credits_after) =
            credit.credits_pending.checked_add(credit.credits_posted).and_then(|c| c.checked_add(amount))
        else {
            return R::OverflowsCredits;
        };
        if pending && t.timeout > 0 {
            let timeout_ns = u64::from(t.timeout) * NANOS_PER_SECOND;
            if timestamp.checked_add(timeout_ns).is_none_or(|deadline| deadline >= TIMESTAMP_MAX) {
                return R::OverflowsTimeout;
            }
        }
        if t.flags.contains(F::BALANCING_DEBIT) && debit_room == 0 {
            return R::ExceedsCredits;
        }
        if debit.flags.contains(AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS)
            && debits_after > debit.credits_posted
        {
            return R::ExceedsCredits;
        }
        if t.flags.contains(F::BALANCING_CREDIT) && credit_room == 0 {
            return R::ExceedsDebits;
        }
        if credit.flags.contains(AccountFlags::CREDITS_MUST_NOT_EXCEED_DEBITS)
            && credits_after > credit.debits_posted
        {
            return R::ExceedsDebits;
        }
        if self.transfers.len() >= self.config.transfers_max {
            return R::TransfersCapacityReached;
        }

        // Accepted: record it and move the money.
        let stored = Transfer { amount, timestamp, ..*t };
        let locator = self.transfers.append(&stored);
        if pending {
            debit.debits_pending += amount;
            credit.credits_pending += amount;
            if t.flags.contains(F::CLOSING_DEBIT) {
                debit.flags = debit.flags | AccountFlags::CLOSED;
            }
            if t.flags.contains(F::CLOSING_CREDIT) {
                credit.flags = credit.flags | AccountFlags::CLOSED;
            }
            self.transfer_index.insert_new(t.id, TransferState::Pending.pack(locator));
            self.pending.insert(t.id, stored);
            self.undo.record(|| Undo::PendingInserted { id: t.id });
            if t.timeout > 0 {
                self.expiry.push(expiry::deadline(&stored), t.id);
            }
        } else {
            debit.debits_posted += amount;
            credit.credits_posted += amount;
            self.transfer_index.insert_new(t.id, TransferState::Committed.pack(locator));
        }
        self.undo.record(|| Undo::TransferCreated { id: t.id });
        self.store_account(debit_position, debit);
        self.store_account(credit_position, credit);
        self.record_balances(debit_position, credit_position, &stored, timestamp);
        R::Ok
    }

    fn post_or_void_pending(&mut self, t: &Transfer, timestamp: u64) -> R {
        let post = t.flags.contains(F::POST_PENDING_TRANSFER);
        let void = t.flags.contains(F::VOID_PENDING_TRANSFER);
        if (post && void) || t.flags.contains(F::PENDING) || t.flags.is_balancing() || t.flags.is_closing() {
            return R::FlagsAreMutuallyExclusive;
        }
        if t.pending_id == 0 {
            return R::PendingIdMustNotBeZero;
        }
        if t.pending_id == u128::MAX {
            return R::PendingIdMustNotBeIntMax;
        }
        if t.pending_id == t.id {
            return R::PendingIdMustBeDifferent;
        }
        if t.timeout != 0 {
            return R::TimeoutReservedForPendingTransfer;
        }
        let Some(packed) = self.transfer_index.get(t.pending_id) else {
            return R::PendingTransferNotFound;
        };
        let (state, locator) = TransferState::unpack(packed);
        if state == TransferState::Failed {
            return R::PendingTransferNotFound;
        }
        let Some(p) = self.transfers.get(locator) else {
            unreachable!("indexed transfer missing from the store")
        };
        if !p.flags.contains(F::PENDING) {
            return R::PendingTransferNotPending;
        }
        if t.debit_account_id != 0 && t.debit_account_id != p.debit_account_id {
            return R::PendingTransferHasDifferentDebitAccountId;
        }
        if t.credit_account_id != 0 && t.credit_account_id != p.credit_account_id {
            return R::PendingTransferHasDifferentCreditAccountId;
        }
        if t.ledger != 0 && t.ledger != p.ledger {
            return R::PendingTransferHasDifferentLedger;
        }
        if t.code != 0 && t.code != p.code {
            return R::PendingTransferHasDifferentCode;
        }
        let amount = if post {
            let amount = if t.amount == AMOUNT_MAX { p.amount } else { t.amount };
            if amount > p.amount {
                return R::ExceedsPendingTransferAmount;
            }
            amount
        } else {
            if t.amount != 0 && t.amount != AMOUNT_MAX && t.amount != p.amount {
                return R::PendingTransferHasDifferentAmount;
            }
            p.amount
        };
        match state {
            TransferState::Posted => return R::PendingTransferAlreadyPosted,
            TransferState::Voided => return R::PendingTransferAlreadyVoided,
            TransferState::Expired => return R::PendingTransferExpired,
            TransferState::Pending => {}
            TransferState::Committed | TransferState::Failed => {
                unreachable!("a transfer with the pending flag is never committed or failed")
            }
        }
        if p.timeout > 0 && timestamp >= expiry::deadline(&p) {
            // Past its deadline but not yet released: expiry runs between batches.
            return R::PendingTransferExpired;
        }
        let debit_position = self.account_position(p.debit_account_id);
        let credit_position = self.account_position(p.credit_account_id);
        let debit = *self.account_at(debit_position);
        let credit = *self.account_at(credit_position);
        // Only the transfer that closed an account may still be resolved on it.
        if debit.flags.contains(AccountFlags::CLOSED) && !p.flags.contains(F::CLOSING_DEBIT) {
            return R::DebitAccountAlreadyClosed;
        }
        if credit.flags.contains(AccountFlags::CLOSED) && !p.flags.contains(F::CLOSING_CREDIT) {
            return R::CreditAccountAlreadyClosed;
        }
        if post {
            if debit.debits_posted.checked_add(amount).is_none() {
                return R::OverflowsDebitsPosted;
            }
            if credit.credits_posted.checked_add(amount).is_none() {
                return R::OverflowsCreditsPosted;
            }
        }
        if self.transfers.len() >= self.config.transfers_max {
            return R::TransfersCapacityReached;
        }

        // Accepted. The stored record names the accounts, ledger and code of the pending
        // transfer and the amount actually posted (or released, for a void).
        let stored = Transfer {
            id: t.id,
            debit_account_id: p.debit_account_id,
            credit_account_id: p.credit_account_id,
            amount,
            pending_id: t.pending_id,
            user_data_128: if t.user_data_128 == 0 { p.user_data_128 } else { t.user_data_128 },
            user_data_64: if t.user_data_64 == 0 { p.user_data_64 } else { t.user_data_64 },
            user_data_32: if t.user_data_32 == 0 { p.user_data_32 } else { t.user_data_32 },
            timeout: 0,
            ledger: p.ledger,
            code: p.code,
            flags: t.flags,
            timestamp,
        };
        let new_locator = self.transfers.append(&stored);
        self.transfer_index.insert_new(t.id, TransferState::Committed.pack(new_locator));
        self.undo.record(|| Undo::TransferCreated { id: t.id });

        let removed = self.pending.remove(&p.id);
        debug_assert!(removed.is_some(), "a pending-state transfer is live");
        self.undo.record(|| Undo::PendingRemoved { transfer: p });
        self.release_pending(&p, void);
        if post {
            let mut debit = *self.account_at(debit_position);
            let mut credit = *self.account_at(credit_position);
            debit.debits_posted += amount;
            credit.credits_posted += amount;
            self.store_account(debit_position, debit);
            self.store_account(credit_position, credit);
        }
        let resolved = if post { TransferState::Posted } else { TransferState::Voided };
        self.set_transfer_state(p.id, resolved, locator);
        self.record_balances(debit_position, credit_position, &stored, timestamp);
        R::Ok
    }
}

/// Compares a resubmitted transfer with the stored one (`exists` or the first difference).
///
/// For a post or void, zero account ids, ledger, code and user data mean "as the pending
/// transfer", and the stored record holds the filled-in values, so only non-zero request fields
/// are compared. A balancing transfer's stored amount may be less than the requested cap.
fn transfer_exists(t: &Transfer, e: &Transfer) -> R {
    if t.flags != e.flags {
        return R::ExistsWithDifferentFlags;
    }
    if t.pending_id != e.pending_id {
        return R::ExistsWithDifferentPendingId;
    }
    if t.timeout != e.timeout {
        return R::ExistsWithDifferentTimeout;
    }
    let optional = t.flags.is_post_or_void();
    let differs = |requested: u128, existing: u128| {
        if optional { requested != 0 && requested != existing } else { requested != existing }
    };
    if differs(t.debit_account_id, e.debit_account_id) {
        return R::ExistsWithDifferentDebitAccountId;
    }
    if differs(t.credit_account_id, e.credit_account_id) {
        return R::ExistsWithDifferentCreditAccountId;
    }
    let amount_differs = if t.flags.is_balancing() {
        e.amount > t.amount
    } else if t.flags.contains(F::POST_PENDING_TRANSFER) {
        t.amount != AMOUNT_MAX && t.amount != e.amount
    } else if t.flags.contains(F::VOID_PENDING_TRANSFER) {
        t.amount != 0 && t.amount != AMOUNT_MAX && t.amount != e.amount
    } else {
        t.amount != e.amount
    };
    if amount_differs {
        return R::ExistsWithDifferentAmount;
    }
    if differs(t.user_data_128, e.user_data_128) {
        return R::ExistsWithDifferentUserData128;
    }
    if differs(u128::from(t.user_data_64), u128::from(e.user_data_64)) {
        return R::ExistsWithDifferentUserData64;
    }
    if differs(u128::from(t.user_data_32), u128::from(e.user_data_32)) {
        return R::ExistsWithDifferentUserData32;
    }
    if differs(u128::from(t.ledger), u128::from(e.ledger)) {
        return R::ExistsWithDifferentLedger;
    }
    if differs(u128::from(t.code), u128::from(e.code)) {
        return R::ExistsWithDifferentCode;
    }
    R::Exists
}
