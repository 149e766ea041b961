//! `ledger-bench`, the load generator with TigerBeetle-compatible flags: how accounts and ids
//! are drawn, the named scenarios, the server it may start, the run itself (`run.rs`) with the
//! reads beside it (`reads.rs`, `http.rs`), the progress display, the process and machine
//! figures, the report, and the sweeps and their SVG plots (`sweep.rs`, `plot.rs`).
//!
//! The generators and formatters are pure and unit-tested here; the binary
//! (`src/bin/ledger-bench.rs`) parses the command line and writes the files.

pub mod distribution;
pub mod http;
pub mod ids;
pub mod machine;
pub mod parameters;
pub mod plot;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod progress;
pub mod reads;
pub mod report;
pub mod run;
pub mod server;
pub mod sweep;

pub use distribution::{AccountDistribution, AccountSampler, SamplerError, Zipfian};
pub use ids::IdOrder;
pub use parameters::{Parameters, Scenario};
