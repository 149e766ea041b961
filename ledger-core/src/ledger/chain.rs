//! Linked chains: all of a chain's events apply, or none do.
//!
//! Events of a chain are applied one by one (a later event sees the balances the earlier ones
//! left), and every change is recorded in an undo log. If a member fails, the log is replayed
//! backwards; nothing of the chain remains. Outside a chain the log is off: a single event is
//! fully validated before it changes anything.

use super::{Ledger, TransferState};
use crate::account::{Account, AccountFlags};
use crate::result::{CreateAccountResult, CreateTransferResult};
use crate::transfer::{Transfer, TransferFlags};
use crate::transfer_store::TransferStore;

/// One change, with what is needed to take it back.
#[derive(Debug)]
pub(super) enum Undo {
    /// An account's record before a change (balances, the `closed` flag).
    AccountBefore { position: u64, account: Account },
    /// An account was appended.
    AccountCreated { id: u128 },
    /// A transfer record was appended and its id indexed.
    TransferCreated { id: u128 },
    /// A pending transfer's index state before it was posted or voided.
    TransferStateBefore { id: u128, packed: u64 },
    /// A live pending transfer was added.
    PendingInserted { id: u128 },
    /// A live pending transfer was resolved.
    PendingRemoved { transfer: Transfer },
    /// A balance row was appended to the history of the account at this position.
    BalanceRowAppended { account_position: u64 },
}

#[derive(Debug, Default)]
pub(super) struct UndoLog {
    active: bool,
    entries: Vec<Undo>,
}

impl UndoLog {
    pub(super) fn begin(&mut self) {
        debug_assert!(!self.active && self.entries.is_empty());
        self.active = true;
    }

    pub(super) fn commit(&mut self) {
        self.active = false;
        self.entries.clear();
    }

    pub(super) fn is_empty(&self) -> bool {
        !self.active && self.entries.is_empty()
    }

    /// Records a change if a chain is open. `entries` keeps its capacity across batches, so a
    /// steady state allocates nothing.
    #[inline]
    pub(super) fn record(&mut self, change: impl FnOnce() -> Undo) {
        if self.active {
            self.entries.push(change());
        }
    }
}

impl<S: TransferStore> Ledger<S> {
    pub(super) fn rollback_chain(&mut self) {
        self.undo.active = false;
        while let Some(change) = self.undo.entries.pop() {
            match change {
                Undo::AccountBefore { position, account } => {
                    *self.account_mut(position) = account;
                }
                Undo::AccountCreated { id } => {
                    let removed = self.account_index.remove(id);
                    debug_assert_eq!(removed, Some(self.accounts.len() as u64 - 1));
                    self.accounts.truncate(self.accounts.len() - 1);
                }
                Undo::TransferCreated { id } => {
                    let removed = self.transfer_index.remove(id);
                    debug_assert!(removed.is_some());
                    let len = self.transfers.len();
                    self.transfers.truncate(len - 1);
                }
                Undo::TransferStateBefore { id, packed } => {
                    let replaced = self.transfer_index.replace(id, packed);
                    debug_assert!(replaced.is_some());
                }
                Undo::PendingInserted { id } => {
                    // The expiry queue may still hold this id's deadline; it is checked against
                    // the live pending set when it fires, so a stale entry is harmless.
                    let removed = self.pending.remove(&id);
                    debug_assert!(removed.is_some());
                }
                Undo::BalanceRowAppended { account_position } => {
                    self.history.remove_last(account_position);
                }
                Undo::PendingRemoved { transfer } => {
                    let previous = self.pending.insert(transfer.id, transfer);
                    debug_assert!(previous.is_none());
                    if transfer.timeout > 0 {
                        self.expiry.push(super::expiry::deadline(&transfer), transfer.id);
                    }
                }
            }
        }
        debug_assert!(self.undo.entries.is_empty());
    }

    /// The account at a position that the index returned: present by construction.
    pub(super) fn account_mut(&mut self, position: u64) -> &mut Account {
        let position = usize::try_from(position).unwrap_or(usize::MAX);
        // Positions come only from `account_index`, which indexes exactly the stored accounts.
        self.accounts.get_mut(position).unwrap_or_else(|| unreachable!("account index out of sync"))
    }

    pub(super) fn account_at(&self, position: u64) -> &Account {
        let position = usize::try_from(position).unwrap_or(usize::MAX);
        self.accounts.get(position).unwrap_or_else(|| unreachable!("account index out of sync"))
    }

    /// Writes an account back, recording its previous value if a chain is open.
    #[inline]
    pub(super) fn store_account(&mut self, position: u64, account: Account) {
        let slot = self.account_mut(position);
        let before = *slot;
        *slot = account;
        self.undo.record(|| Undo::AccountBefore { position, account: before });
    }

    pub(super) fn set_transfer_state(&mut self, id: u128, state: TransferState, locator: u64) {
        let packed = state.pack(locator);
        let before = self.transfer_index.replace(id, packed);
        debug_assert!(before.is_some());
        if let Some(before) = before {
            self.undo.record(|| Undo::TransferStateBefore { id, packed: before });
        }
    }
}

/// What `run_batch` needs to know about an event.
pub(super) trait ChainEvent {
    fn is_linked(&self) -> bool;
    fn id(&self) -> u128;
    /// Hints the cache lines this event's checks will read.
    fn prefetch<S: TransferStore>(&self, ledger: &Ledger<S>);
}

impl ChainEvent for Account {
    fn is_linked(&self) -> bool {
        self.flags.contains(AccountFlags::LINKED)
    }
    fn id(&self) -> u128 {
        self.id
    }
    fn prefetch<S: TransferStore>(&self, ledger: &Ledger<S>) {
        ledger.account_index.prefetch(self.id);
    }
}

impl ChainEvent for Transfer {
    fn is_linked(&self) -> bool {
        self.flags.contains(TransferFlags::LINKED)
    }
    fn id(&self) -> u128 {
        self.id
    }
    fn prefetch<S: TransferStore>(&self, ledger: &Ledger<S>) {
        ledger.transfer_index.prefetch(self.id);
        ledger.account_index.prefetch(self.debit_account_id);
        ledger.account_index.prefetch(self.credit_account_id);
    }
}

/// What `run_batch` needs to know about a result.
pub(super) trait ChainResult: Copy {
    const LINKED_EVENT_FAILED: Self;
    const LINKED_EVENT_CHAIN_OPEN: Self;
    fn is_ok(self) -> bool;
    fn burns_id(self) -> bool;
}

impl ChainResult for CreateAccountResult {
    const LINKED_EVENT_FAILED: Self = Self::LinkedEventFailed;
    const LINKED_EVENT_CHAIN_OPEN: Self = Self::LinkedEventChainOpen;
    fn is_ok(self) -> bool {
        self == Self::Ok
    }
    fn burns_id(self) -> bool {
        false
    }
}

impl ChainResult for CreateTransferResult {
    const LINKED_EVENT_FAILED: Self = Self::LinkedEventFailed;
    const LINKED_EVENT_CHAIN_OPEN: Self = Self::LinkedEventChainOpen;
    fn is_ok(self) -> bool {
        self == Self::Ok
    }
    fn burns_id(self) -> bool {
        self.is_transient()
    }
}
