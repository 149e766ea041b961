//! redb 4: a copy-on-write B+tree in one file; one write transaction per committed batch, with
//! `Durability::None` except at checkpoints (`Immediate`), since the index is derived.

use std::path::{Path, PathBuf};

use redb::{Database, Durability, ReadableDatabase, TableDefinition};

use crate::store::{IndexStore, StoreError};
use crate::workload::{
    CommittedTransfer, POSTING_KEY_SIZE, POSTING_VALUE_SIZE, PostingKey, PostingValue, account_key_range,
    sorted_postings,
};

const HISTORY: TableDefinition<&[u8; POSTING_KEY_SIZE], &[u8; POSTING_VALUE_SIZE]> =
    TableDefinition::new("history");
const FILE_NAME: &str = "history.redb";

pub struct RedbStore {
    db: Database,
    postings: Vec<(PostingKey, PostingValue)>,
}

impl std::fmt::Debug for RedbStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedbStore").finish_non_exhaustive()
    }
}

fn file(dir: &Path) -> PathBuf {
    dir.join(FILE_NAME)
}

impl IndexStore for RedbStore {
    fn create(dir: &Path) -> Result<Self, StoreError> {
        // Default cache: 1 GiB.
        let db = Database::create(file(dir))?;
        Ok(Self { db, postings: Vec::new() })
    }

    fn open(dir: &Path) -> Result<Self, StoreError> {
        let db = Database::open(file(dir))?;
        Ok(Self { db, postings: Vec::new() })
    }

    fn commit(&mut self, batch: &[CommittedTransfer], durable: bool) -> Result<(), StoreError> {
        sorted_postings(batch, &mut self.postings);
        let mut txn = self.db.begin_write()?;
        txn.set_durability(if durable { Durability::Immediate } else { Durability::None })?;
        {
            let mut table = txn.open_table(HISTORY)?;
            for (key, value) in &self.postings {
                table.insert(key, value)?;
            }
        }
        txn.commit()?;
        Ok(())
    }

    fn close(self) -> Result<(), StoreError> {
        // One empty durable commit makes every earlier `Durability::None` commit durable.
        let mut txn = self.db.begin_write()?;
        txn.set_durability(Durability::Immediate)?;
        txn.commit()?;
        self.db.close()?;
        Ok(())
    }

    fn latest(&self, account_id: u128, limit: usize, out: &mut Vec<u64>) -> Result<(), StoreError> {
        let (lo, hi) = account_key_range(account_id);
        let txn = self.db.begin_read()?;
        let table = txn.open_table(HISTORY)?;
        for entry in table.range::<&[u8; POSTING_KEY_SIZE]>(&lo..=&hi)?.rev().take(limit) {
            let (_, value) = entry?;
            out.push(
                crate::workload::value_position(value.value())
                    .ok_or(StoreError::Corrupt { what: "redb value" })?,
            );
        }
        Ok(())
    }
}
