//! What every measured store does: ingest committed batches, close, reopen, and answer
//! "the last `limit` transfers of an account".

use std::path::Path;

use crate::workload::CommittedTransfer;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("sled: {0}")]
    Sled(#[from] sled::Error),
    #[error("fjall: {0}")]
    Fjall(#[from] fjall::Error),
    #[error("redb: {0}")]
    Redb(#[from] redb::Error),
    #[error("corrupt {what}")]
    Corrupt { what: &'static str },
}

// redb splits its errors by operation; fold them into its umbrella error.
macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self {
                StoreError::Redb(e.into())
            }
        }
    )*};
}
from_redb!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    redb::SetDurabilityError
);

/// One history index store under test.
pub trait IndexStore: Sized {
    /// Makes a new, empty store in `dir` (which exists and is empty).
    fn create(dir: &Path) -> Result<Self, StoreError>;
    /// Reopens the store that `close` left in `dir`.
    fn open(dir: &Path) -> Result<Self, StoreError>;
    /// Indexes one committed batch. `durable` asks for a checkpoint (an fsync of what the store
    /// needs to come back without a rebuild); other commits do not fsync, as the index is derived.
    fn commit(&mut self, batch: &[CommittedTransfer], durable: bool) -> Result<(), StoreError>;
    /// Makes everything durable and releases the store.
    fn close(self) -> Result<(), StoreError>;
    /// Appends to `out` the record positions of the account's newest `limit` postings, newest first.
    fn latest(&self, account_id: u128, limit: usize, out: &mut Vec<u64>) -> Result<(), StoreError>;

    /// Extra measurements taken right after the ingest, before `close` (the in-memory index
    /// writes and times its snapshot here).
    fn measure_after_ingest(&self, _dir: &Path) -> Result<Vec<Measure>, StoreError> {
        Ok(Vec::new())
    }

    /// Extra measurements taken after the reopen and reads (the in-memory index times loading
    /// its snapshot here).
    fn measure_after_reads(_dir: &Path) -> Result<Vec<Measure>, StoreError> {
        Ok(Vec::new())
    }
}

/// One named result, printed as `name=value`.
pub type Measure = (&'static str, String);
