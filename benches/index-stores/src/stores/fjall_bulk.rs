//! fjall 3.1 fed in bulk: postings stay in memory for a checkpoint interval (122 batches, ~2M
//! postings), then are sorted and written as new tables through `start_ingestion`, which bypasses
//! the journal and the memtable. This is the shape of a hybrid index (an in-memory tail spilled
//! to an LSM-tree), measured to see whether fjall can take the full write rate that way.
//!
//! Reads here see only what was spilled; a real hybrid would merge the in-memory tail. The bench
//! reads after `close`, which spills everything, so the answers are complete.

use std::path::Path;

use fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode};

use crate::store::{IndexStore, StoreError};
use crate::workload::{CommittedTransfer, PostingKey, PostingValue, account_key_range, sorted_postings};

const KEYSPACE_NAME: &str = "history";

pub struct FjallBulkStore {
    db: Database,
    history: Keyspace,
    batch_postings: Vec<(PostingKey, PostingValue)>,
    pending: Vec<(PostingKey, PostingValue)>,
}

impl std::fmt::Debug for FjallBulkStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FjallBulkStore").field("pending", &self.pending.len()).finish_non_exhaustive()
    }
}

impl FjallBulkStore {
    fn spill(&mut self) -> Result<(), StoreError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        self.pending.sort_unstable_by_key(|a| a.0);
        let mut ingestion = self.history.start_ingestion()?;
        for (key, value) in &self.pending {
            ingestion.write(&key[..], &value[..])?;
        }
        ingestion.finish()?;
        self.pending.clear();
        Ok(())
    }
}

impl IndexStore for FjallBulkStore {
    fn create(dir: &Path) -> Result<Self, StoreError> {
        Self::open(dir)
    }

    fn open(dir: &Path) -> Result<Self, StoreError> {
        let db = Database::builder(dir).open()?;
        let history = db.keyspace(KEYSPACE_NAME, KeyspaceCreateOptions::default)?;
        Ok(Self { db, history, batch_postings: Vec::new(), pending: Vec::new() })
    }

    fn commit(&mut self, batch: &[CommittedTransfer], durable: bool) -> Result<(), StoreError> {
        sorted_postings(batch, &mut self.batch_postings);
        self.pending.extend_from_slice(&self.batch_postings);
        if durable {
            self.spill()?;
        }
        Ok(())
    }

    fn close(mut self) -> Result<(), StoreError> {
        self.spill()?;
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
