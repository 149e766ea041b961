//! `ledger-sim`: a deterministic simulation of the whole write path, from a seed.
//!
//! One thread runs clients, the network between them and the server, the single writer with
//! group commit, the WAL on a fault-injecting disk, snapshots, crashes and start-up recovery.
//! Every choice (what clients send, what arrives first, when the writer commits, when the power
//! goes, which bit rots) comes from one seeded generator, so a failing seed replays exactly:
//! `cargo run -p ledger-sim --release -- --seed N`. `docs/reliability.md` describes the fault
//! model and the checks.
//!
//! - `simulation`: the step loop and the fault actions.
//! - `faults`: which faults a run may inject, and each seed's rates.
//! - `server`: the simulated server process (writer, group commit, snapshots, start-up).
//! - `process_disk`: the process's handle on the disk, with `kill -9` inside storage calls.
//! - `snapshot_files`: snapshot files on the simulated disk.
//! - `client`, `workload`: the clients, their retries, and what they ask for.
//! - `oracle`: what is known to be true, and the checks.
//! - `stats`: counts of what runs did.
//! - `rng`: the seeded generator.

pub mod client;
pub mod faults;
pub mod oracle;
pub mod process_disk;
pub mod rng;
pub mod server;
pub mod simulation;
pub mod snapshot_files;
pub mod stats;
pub mod workload;

pub use faults::FaultSet;
pub use simulation::{Outcome, STEPS_DEFAULT, SimConfig, SimFailure, SimReport, reproduce_command, run};
pub use stats::SimStats;
