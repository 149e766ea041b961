//! sled 0.34.7: a Bw-tree with a log-structured page store; one `Batch` per committed batch.

use std::path::Path;

use crate::store::{IndexStore, StoreError};
use crate::workload::{CommittedTransfer, PostingKey, PostingValue, account_key_range, sorted_postings};

#[derive(Debug)]
pub struct SledStore {
    db: sled::Db,
    postings: Vec<(PostingKey, PostingValue)>,
}

impl IndexStore for SledStore {
    fn create(dir: &Path) -> Result<Self, StoreError> {
        Self::open(dir)
    }

    fn open(dir: &Path) -> Result<Self, StoreError> {
        // Defaults: 1 GiB page cache, background flush every 500 ms.
        let db = sled::Config::new().path(dir).open()?;
        Ok(Self { db, postings: Vec::new() })
    }

    fn commit(&mut self, batch: &[CommittedTransfer], durable: bool) -> Result<(), StoreError> {
        sorted_postings(batch, &mut self.postings);
        let mut sled_batch = sled::Batch::default();
        for (key, value) in &self.postings {
            sled_batch.insert(&key[..], &value[..]);
        }
        self.db.apply_batch(sled_batch)?;
        if durable {
            self.db.flush()?;
        }
        Ok(())
    }

    fn close(self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }

    fn latest(&self, account_id: u128, limit: usize, out: &mut Vec<u64>) -> Result<(), StoreError> {
        let (lo, hi) = account_key_range(account_id);
        for entry in self.db.range(lo..=hi).rev().take(limit) {
            let (_, value) = entry?;
            out.push(
                crate::workload::value_position(&value).ok_or(StoreError::Corrupt { what: "sled value" })?,
            );
        }
        Ok(())
    }
}
