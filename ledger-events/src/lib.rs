//! `ledger-events`: the accounting layer of the ledger. Standard ledger events (business facts
//! such as "loan note L1 disbursed 100.00") become balanced entries through a chart of accounts
//! and entry templates read from a versioned TOML file (`default.toml` ships with the crate).
//!
//! Pure: no I/O beyond reading a chart file, no clock. The server (a later slice) parses a
//! line with `WireEvent::from_json`, plans it with `Chart::plan`, opens `accounts_to_open` and
//! applies `transfers(first_id)` as one linked chain; a reversal posts
//! `original_plan.reversal(&reversal_event)`.
//!
//! - `chart`: the validated chart (ledgers, accounts, templates) and its loader;
//! - `config`: the file as written; `expression`: the amount language;
//! - `event`: events on the wire; `plan`: events into entries and transfers;
//! - `account_id`: deterministic account ids and event hashes; `amount`: decimal ↔ minor units;
//! - `error`: `ConfigError` (load) and `EventError` (per event, stable codes).
//!
//! See `docs/events.md`.

pub mod account_id;
pub mod amount;
pub mod business_date;
pub mod chart;
mod config;
pub mod error;
pub mod event;
pub mod expression;
pub mod outcome;
pub mod plan;
pub mod posting;
pub mod record;

pub use account_id::{Subject, account_id, event_hash, subject_hash};
pub use business_date::BusinessDate;
pub use chart::{
    AccountClass, AccountRef, AccountSpec, Chart, DEFAULT_CHART_TOML, EntryTemplate, LedgerSpec, NormalSide,
    Posting,
};
pub use error::{ConfigError, ConfigProblem, EventError};
pub use event::{LedgerEvent, ReversalEvent, WireEvent};
pub use expression::{Expression, Rounding};
pub use outcome::EventOutcome;
pub use plan::{EntryPlan, PlannedAccount, PlannedPosting};
pub use record::EventNote;
