//! `ledger-core`: the deterministic, single-writer double-entry engine.
//!
//! - `account`, `transfer`: the 128-byte records and their flags (byte layouts in `docs/formats.md`).
//! - `query`: the read-side records (`AccountFilter`, `QueryFilter`, `AccountBalance`).
//! - `result`: the numbered per-event result codes (`docs/result-codes.md`).
//! - `ledger`: the state and `apply(batch) -> results`, pure and deterministic.
//! - `writer`: the one thread that owns a `Ledger`, fed through a bounded queue.
//! - `id_index`, `chunked`, `transfer_store`: the memory layout behind the state.
//!
//! No sockets, no async runtime, no wall-clock reads inside `apply`: the clock comes in with the
//! batch, so replaying the same batches gives the same state everywhere.

pub mod account;
mod chunked;
pub mod clock;
pub mod id_index;
pub mod ledger;
pub mod limits;
pub mod query;
mod record;
#[cfg(any(test, feature = "reference-model"))]
pub mod reference_model;
pub mod result;
pub mod transfer;
pub mod transfer_store;
pub mod writer;
mod zeroed;

pub use account::{ACCOUNT_SIZE, Account, AccountFlags};
pub use ledger::{BatchError, BatchResults, Events, Ledger, MemoryUsage, OwnedEvents, TransferState};
pub use limits::{BATCH_EVENTS_MAX, LedgerConfig};
pub use query::{AccountBalance, AccountFilter, AccountFilterFlags, QueryFilter, QueryFilterFlags};
pub use result::{CreateAccountResult, CreateTransferResult, EventResult};
pub use transfer::{AMOUNT_MAX, TRANSFER_SIZE, Transfer, TransferFlags};
