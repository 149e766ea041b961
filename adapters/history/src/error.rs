//! What can go wrong in the history index.
//!
//! `Io` and `Corrupt` met while ingesting are fatal for that index: it stops ingesting and
//! answers every later query with the same error (the record file is derived data; start a new
//! index to rebuild it once the cause is fixed). Met while answering a query, they fail that query
//! only. `Busy` and `Stopped` concern one query.

use std::path::PathBuf;
use std::sync::Arc;

#[derive(Clone, Debug, thiserror::Error)]
pub enum HistoryError {
    /// Reading the record file failed (a short file is `UnexpectedEof`: the writer announced
    /// records that are not there).
    #[error("reading {} at byte {offset}: {source}", path.display())]
    Io {
        path: PathBuf,
        offset: u64,
        #[source]
        source: Arc<std::io::Error>,
    },
    /// A record breaks an invariant every committed transfer keeps.
    #[error("{}: record {record} (byte {offset}): {reason}", path.display())]
    Corrupt { path: PathBuf, record: u64, offset: u64, reason: Corruption },
    /// The index thread has stopped (`stop`, or every handle dropped) before answering.
    #[error("the history index has stopped")]
    Stopped,
    /// The query queue is full; the query was not queued. Retry later.
    #[error("the history index already has {queued} queries queued")]
    Busy { queued: usize },
    /// More transfers than the index can address: a posting reaches record `POSITION_LIMIT`
    /// (2^39, a 64 TiB record file), or the postings fill their 1 TiB arena. Both are far beyond
    /// one node.
    #[error("the history index is full (at most {limit} transfers)")]
    CapacityReached { limit: u64 },
    /// A trial balance total (the posted debits or credits of one account code, in minor units)
    /// does not fit in 128 bits. Concerns that query only.
    #[error("the posted totals of code {code} in ledger {ledger} exceed 2^128 minor units")]
    TotalOverflow { ledger: u32, code: u16 },
}

/// The invariant a corrupt record breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Corruption {
    /// Records are written in creation order, and the writer's timestamps strictly increase.
    #[error("timestamp {timestamp} is not above the previous record's {previous}")]
    TimestampNotIncreasing { timestamp: u64, previous: u64 },
    /// A committed transfer names two different accounts, neither 0 nor `u128::MAX`.
    #[error("invalid accounts: debit {debit_account_id}, credit {credit_account_id}")]
    InvalidAccounts { debit_account_id: u128, credit_account_id: u128 },
    /// The index points an account at a record that does not name it on that side: the file
    /// changed under the index.
    #[error("the record does not name account {account_id}, whose posting points at it")]
    PostingMismatch { account_id: u128 },
}
