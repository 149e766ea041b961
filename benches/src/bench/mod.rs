//! The parts of `ledger-bench` (the load generator with TigerBeetle-compatible flags) that are
//! not the load loop itself: how accounts and ids are drawn, the named scenarios, the server it
//! may start, the process and machine figures, and the report.
//!
//! The generators are pure and unit-tested here; the binary (`src/bin/ledger-bench.rs`) wires
//! them to the client.

pub mod distribution;
pub mod ids;
pub mod machine;
pub mod parameters;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod report;
pub mod server;

pub use distribution::{AccountDistribution, AccountSampler, SamplerError, Zipfian};
pub use ids::IdOrder;
pub use parameters::{Parameters, Scenario};
