//! The history index: each account's transfers, and transfers by their fields, derived from
//! the committed transfer records (DESIGN.md, "Reads").
//!
//! The writer appends every created transfer's 128-byte record to `<data-dir>/transfers.records`
//! in creation order, which is strictly increasing timestamp order, and the durable writer
//! announces each durable point (op, records in the file) before it replies. This crate keeps,
//! on its own thread, an in-memory index of those records up to the newest announced point:
//!
//! - per account, the record numbers of its transfers with the side packed in (`posting`,
//!   5 bytes per posting, 10 per transfer), in segments that never move (`posting_lists`), so
//!   an account's history is a binary search by timestamp and then one positioned read per
//!   transfer returned, and a debits-only query never reads a credit record;
//! - per chunk of 8,192 records, the first timestamp and a Bloom filter of `user_data_128`
//!   (`chunks`, `correlation_filter`), so a search by time needs few file reads and a scan for
//!   a correlation id skips the chunks that cannot hold it.
//!
//! A trial balance (posted debits and credits by account code, as of a time) is added up from
//! per-chunk totals by code (`code_totals`); the accounts' codes come from the caller.
//!
//! Transfer queries (`QueryFilter`) search the file itself by timestamp and scan the range:
//! fields other than the timestamp are not indexed, so a selective filter on `code`, `ledger`
//! or `user_data_64/32` over a wide time range reads the whole range (`search`).
//!
//! The index is derived data with no file of its own: at start it ingests the whole record file
//! (a rebuild), then each announced point. It reports the point it is current to, and the
//! WAL thread only stores two atomics and unparks it, so it never waits on the index.
//!
//! Memory (measured by `src/bin/history-ingest.rs`, 10M transfers): about 11 bytes per
//! transfer for the per-account index over 10k accounts, 19 over 1M accounts (where the account
//! table and the young lists' reserved room weigh most), plus 1 byte per transfer for the chunk
//! summaries when `user_data_128` is used.
//!
//! Map: `index_thread` (the thread, `HistoryIndex`, `DurableFeed`), `index` (ingest),
//! `search` (the queries), `code_totals` (trial balances), `accounts`, `posting_lists`, `posting` (per-account lists), `chunks`,
//! `correlation_filter`, `records` (reading the file), `position`, `error`, `prefetch`.

mod accounts;
mod chunks;
mod code_totals;
mod correlation_filter;
mod error;
mod index;
mod index_thread;
mod position;
mod posting;
mod posting_lists;
mod prefetch;
mod records;
mod search;

pub use chunks::CHUNK_RECORDS;
pub use code_totals::{
    AccountCode, CODES_WANTED_MAX, CodeTotal, LedgerTotals, TrialBalanceAnswer, TrialBalanceRequest,
    moves_posted_balances,
};
pub use error::{Corruption, HistoryError};
pub use index_thread::{
    DurableFeed, HistoryIndex, HistoryMemory, INGEST_READ_RECORDS, QUERIES_QUEUED_MAX, TransfersReply,
    TrialBalanceReply,
};
pub use position::IndexPosition;
pub use posting::{POSITION_LIMIT, POSTING_SIZE};
