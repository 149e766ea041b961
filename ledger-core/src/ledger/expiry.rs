//! Pending transfers with a timeout expire when the writer's clock passes their deadline.
//!
//! The clock is the batch timestamp recorded in the WAL, so replay expires exactly the same
//! transfers at exactly the same point. Expiry releases the reservation (like a void) and marks
//! the id `Expired`; a later post or void gets `pending_transfer_expired`.

use super::{Ledger, TransferState};
use crate::account::AccountFlags;
use crate::limits::NANOS_PER_SECOND;
use crate::transfer::{Transfer, TransferFlags};
use crate::transfer_store::TransferStore;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// The instant a pending transfer expires: its timestamp plus its timeout. Creation checked that
/// this does not overflow (`overflows_timeout`).
pub(super) fn deadline(pending: &Transfer) -> u64 {
    debug_assert!(pending.timeout > 0);
    pending.timestamp + u64::from(pending.timeout) * NANOS_PER_SECOND
}

/// Whether a queue entry `(due, id)` still stands for the live pending transfer `pending`: a
/// rolled-back pending transfer may have been re-created under the same id with another timeout
/// (or none).
fn is_due_entry(pending: &Transfer, due: u64) -> bool {
    pending.timeout > 0 && deadline(pending) == due
}

/// Deadlines in (deadline, id) order: a min-heap. Entries are never removed early; when one fires
/// it is checked against the live pending set, so a transfer posted, voided or rolled back before
/// its deadline is simply skipped.
#[derive(Debug, Default)]
pub(super) struct ExpiryQueue {
    heap: BinaryHeap<Reverse<(u64, u128)>>,
}

impl ExpiryQueue {
    pub(super) fn push(&mut self, deadline: u64, id: u128) {
        self.heap.push(Reverse((deadline, id)));
    }

    pub(super) fn peek_deadline(&self) -> Option<u64> {
        self.heap.peek().map(|Reverse((deadline, _))| *deadline)
    }

    pub(super) fn allocated_bytes(&self) -> usize {
        self.heap.capacity() * std::mem::size_of::<Reverse<(u64, u128)>>()
    }

    pub(super) fn len(&self) -> usize {
        self.heap.len()
    }
}

impl<S: TransferStore> Ledger<S> {
    /// Expires every live pending transfer whose deadline is at or before `now`.
    pub(super) fn expire_pending(&mut self, now: u64, expired: &mut Vec<u128>) {
        debug_assert!(self.undo.is_empty(), "expiry never runs inside a chain");
        while let Some(Reverse((due, id))) = self.expiry.heap.peek().copied() {
            if due > now {
                break;
            }
            self.expiry.heap.pop();
            let Some(pending) = self.pending.get(&id).copied() else { continue };
            if !is_due_entry(&pending, due) {
                continue;
            }
            self.pending.remove(&id);
            let (debit_position, credit_position) = self.release_pending(&pending, true);
            // Expiry has no timestamp of its own: its rows carry the pass's (`balance_history.rs`).
            self.record_balances(debit_position, credit_position, &pending, now);
            let (state, locator) = self.transfer_index_entry(id);
            debug_assert_eq!(state, TransferState::Pending);
            self.set_transfer_state(id, TransferState::Expired, locator);
            expired.push(id);
        }
        // Stale entries (resolved before their deadline) would otherwise accumulate forever in a
        // book where most pending transfers are posted early; rebuild when they dominate.
        if self.expiry.len() > 1024 && self.expiry.len() > 2 * self.pending.len() {
            let pending = &self.pending;
            self.expiry
                .heap
                .retain(|Reverse((due, id))| pending.get(id).is_some_and(|p| is_due_entry(p, *due)));
        }
        // Keep the head live, so that `next_expiry` names a deadline that will really fire.
        while let Some(Reverse((due, id))) = self.expiry.heap.peek().copied() {
            if self.pending.get(&id).is_some_and(|p| is_due_entry(p, due)) {
                break;
            }
            self.expiry.heap.pop();
        }
    }

    /// Takes a pending transfer's reservation off both accounts; reopens accounts it closed when
    /// `reopen` (void and expiry do; a post keeps them closed). Returns the positions of the
    /// debit and credit accounts.
    pub(super) fn release_pending(&mut self, pending: &Transfer, reopen: bool) -> (u64, u64) {
        let debit_position = self.account_position(pending.debit_account_id);
        let credit_position = self.account_position(pending.credit_account_id);
        let mut debit = *self.account_at(debit_position);
        let mut credit = *self.account_at(credit_position);
        // A reservation is on the books until released, so these cannot underflow.
        debit.debits_pending -= pending.amount;
        credit.credits_pending -= pending.amount;
        if reopen {
            if pending.flags.contains(TransferFlags::CLOSING_DEBIT) {
                debit.flags = debit.flags.without(AccountFlags::CLOSED);
            }
            if pending.flags.contains(TransferFlags::CLOSING_CREDIT) {
                credit.flags = credit.flags.without(AccountFlags::CLOSED);
            }
        }
        self.store_account(debit_position, debit);
        self.store_account(credit_position, credit);
        (debit_position, credit_position)
    }

    /// The index position of an account a stored transfer refers to: present by construction.
    pub(super) fn account_position(&self, id: u128) -> u64 {
        self.account_index.get(id).unwrap_or_else(|| unreachable!("stored transfer names an unknown account"))
    }

    pub(super) fn transfer_index_entry(&self, id: u128) -> (TransferState, u64) {
        TransferState::unpack(
            self.transfer_index.get(id).unwrap_or_else(|| unreachable!("pending transfer not indexed")),
        )
    }
}
