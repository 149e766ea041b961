//! `state_hash`: one BLAKE3 digest over everything that defines the books.
//!
//! Two ledgers with equal hashes hold the same accounts (balances, flags, timestamps), the same
//! transfer records with the same states, the same burnt ids and the same clock. Everything is
//! visited in a deterministic order (creation order), never in hash-map order, so the digest is
//! the same on every machine and across restarts. Recovery and tests compare it.

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
        *hasher.finalize().as_bytes()
    }
}
