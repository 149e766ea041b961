//! fjall 3.1: an LSM-tree (LZ4 blocks, journal, background flush and compaction); one `WriteBatch`
//! per committed batch, with the journal handed to the OS (no per-batch fsync).

use std::path::Path;

use fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode};

use crate::store::{IndexStore, StoreError};
use crate::workload::{CommittedTransfer, PostingKey, PostingValue, account_key_range, sorted_postings};

const KEYSPACE_NAME: &str = "history";

pub struct FjallStore {
    db: Database,
    history: Keyspace,
    postings: Vec<(PostingKey, PostingValue)>,
}

impl std::fmt::Debug for FjallStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FjallStore").finish_non_exhaustive()
    }
}

impl IndexStore for FjallStore {
    fn create(dir: &Path) -> Result<Self, StoreError> {
        Self::open(dir)
    }

    fn open(dir: &Path) -> Result<Self, StoreError> {
        // Defaults: min(cores, 4) worker threads, LZ4, journal written through on each batch.
        let db = Database::builder(dir).open()?;
        let history = db.keyspace(KEYSPACE_NAME, KeyspaceCreateOptions::default)?;
        Ok(Self { db, history, postings: Vec::new() })
    }

    fn commit(&mut self, batch: &[CommittedTransfer], durable: bool) -> Result<(), StoreError> {
        sorted_postings(batch, &mut self.postings);
        let mut write = fjall::OwnedWriteBatch::with_capacity(self.db.clone(), self.postings.len());
        for (key, value) in &self.postings {
            write.insert(&self.history, &key[..], &value[..]);
        }
        // `Buffer` (fjall's default for `Database::batch`) hands the journal to the OS: it survives a
        // process crash, not a power loss, which is enough for a derived index.
        let mode = if durable { PersistMode::SyncData } else { PersistMode::Buffer };
        write.durability(Some(mode)).commit()?;
        Ok(())
    }

    fn close(self) -> Result<(), StoreError> {
        self.db.persist(PersistMode::SyncAll)?;
        Ok(())
    }

    fn latest(&self, account_id: u128, limit: usize, out: &mut Vec<u64>) -> Result<(), StoreError> {
        let (lo, hi) = account_key_range(account_id);
        for guard in self.history.range(lo..=hi).rev().take(limit) {
            let (_, value) = guard.into_inner()?;
            out.push(
                crate::workload::value_position(&value).ok_or(StoreError::Corrupt { what: "fjall value" })?,
            );
        }
        Ok(())
    }
}
