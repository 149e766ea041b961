//! `state_hash`: one BLAKE3 digest over everything that defines the books.
//!
//! Two ledgers with equal hashes hold the same accounts (balances, flags, timestamps), the same
//! transfer records with the same states, the same burnt ids, the same balance history and the
//! same clock. Everything is visited in a deterministic order (creation order), never in
//! hash-map order, so the digest is the same on every machine and across restarts. Recovery and
//! tests compare it.
//!
//! The balance history is hashed last and only when there is at least one row: per account with
//! rows, in creation order, its id, its row count and its 104-byte rows. A ledger without rows
//! thus hashes exactly as before history existed (the committed WAL fixture's recorded hash
//! stays valid), and one with rows cannot collide with one without: the bytes before the history
//! are length-prefixed, so the history changes the hashed input's length.

use super::{Ledger, TransferState};
use crate::transfer_store::TransferStore;

const DOMAIN: &[u8] = b"ledger-core state v1\0";

impl<S: TransferStore> Ledger<S> {
    #[must_use]
    pub fn state_hash(&self) -> [u8; 32] {
        let mut hasher = blake3::Hasher::new();
        hasher.update(DOMAIN);
        hasher.update(&self.clock.to_le_bytes());

        hasher.update(&(self.accounts.len() as u64).to_le_bytes());
        for account in self.accounts.iter() {
            hasher.update(&account.to_bytes());
        }

        hasher.update(&self.transfers.len().to_le_bytes());
        self.transfers.for_each(&mut |transfer| {
            hasher.update(&transfer.to_bytes());
            let (state, _) = self.transfer_index_entry(transfer.id);
            debug_assert_ne!(state, TransferState::Failed);
            hasher.update(&[state as u8]);
        });

        hasher.update(&(self.failed_ids.len() as u64).to_le_bytes());
        for id in self.failed_ids.iter() {
            hasher.update(&id.to_le_bytes());
        }

        if !self.history.is_empty() {
            hasher.update(&self.history.len().to_le_bytes());
            for position in self.history.accounts_in_creation_order() {
                hasher.update(&self.account_at(position).id.to_le_bytes());
                hasher.update(&(self.history.row_count_of(position) as u64).to_le_bytes());
                for row in self.history.rows_of(position) {
                    hasher.update(bytemuck::bytes_of(row));
                }
            }
        }
        *hasher.finalize().as_bytes()
    }
}
