//! `ledger-server`: the network edges of the ledger and the tools around them.
//!
//! - `service`: `LedgerService`, what the edges call, and `RunningLedger`, which opens a data
//!   directory and runs the intake, writer, WAL and history-index threads behind it.
//! - `serve`: `ledger serve`: settings, the binary protocol over TCP, metrics, shutdown.
//! - `http`: the HTTP read API (axum); `json`: the JSON shapes of records.
//! - `export`: the finance exports (journal lines, trial balance) as CSV or JSON lines.
//! - `cli`: `ledger post` and `ledger lookup`, clients of the binary protocol.

pub mod cli;
pub mod export;
pub mod http;
pub mod json;
pub mod serve;
pub mod service;
pub mod trial_balance;
