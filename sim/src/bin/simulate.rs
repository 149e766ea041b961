//! `simulate`: runs the deterministic simulation for one seed or many.
//!
//! ```text
//! simulate --seed 42                  # one seed, printing what it did
//! simulate --seeds 10000              # seeds 0..10000 on every core; stops at the first failure
//! simulate --seeds 1000 --first-seed 50000 --steps 2000 --faults all,-failed-fsync
//! ```
//!
//! A failure prints the check that failed and the one command that replays it; the exit code
//! is 1. Clean runs and runs that ended on detected corruption (as they must) exit 0.

use clap::Parser;
use ledger_sim::{FaultSet, Outcome, STEPS_DEFAULT, SimConfig, SimFailure, SimStats, run};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

#[derive(Debug, Parser)]
#[command(name = "simulate", about = "Deterministic simulation of the ledger's write path with faults")]
struct Args {
    /// Run this one seed and print what it did.
    #[arg(long, conflicts_with = "seeds")]
    seed: Option<u64>,
    /// Run this many seeds, from `--first-seed` on.
    #[arg(long)]
    seeds: Option<u64>,
    /// The first seed of `--seeds`.
    #[arg(long, default_value_t = 0)]
    first_seed: u64,
    /// Steps per run.
    #[arg(long, default_value_t = STEPS_DEFAULT)]
    steps: u64,
    /// Faults to inject: `default`, `all`, `none`, or names (power-loss, process-kill,
    /// kill-in-storage-call, failed-fsync, restart-after-failed-fsync, bit-flips, disk-full,
    /// client-faults); `-name` removes one. `default` leaves out the two that reach known bugs.
    #[arg(long, default_value = "default", value_parser = FaultSet::parse)]
    faults: FaultSet,
    /// Threads for `--seeds` (default: every core).
    #[arg(long)]
    jobs: Option<usize>,
    /// Print every step of a `--seed` run to stderr.
    #[arg(long)]
    trace: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match (args.seed, args.seeds) {
        (Some(seed), _) => {
            run_one(SimConfig { seed, steps: args.steps, faults: args.faults, trace: args.trace })
        }
        (None, seeds) => run_many(&args, seeds.unwrap_or(100)),
    }
}

fn run_one(config: SimConfig) -> ExitCode {
    let started = Instant::now();
    match run(config) {
        Ok(report) => {
            println!("seed {}: {} in {:.2?}", config.seed, describe(&report.outcome), started.elapsed());
            println!("{}", report.stats);
            ExitCode::SUCCESS
        }
        Err(failure) => {
            eprintln!("{failure}");
            ExitCode::FAILURE
        }
    }
}

fn describe(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Clean => "clean".to_owned(),
        Outcome::CorruptionDetected { step, error } => format!("corruption detected at step {step}: {error}"),
    }
}

#[derive(Default)]
struct Totals {
    clean: u64,
    corruption_detected: u64,
    stats: SimStats,
    failure: Option<SimFailure>,
}

fn run_many(args: &Args, seeds: u64) -> ExitCode {
    let started = Instant::now();
    let jobs =
        args.jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from)).max(1);
    let next = Arc::new(AtomicU64::new(args.first_seed));
    let stop = Arc::new(AtomicBool::new(false));
    let totals = Arc::new(Mutex::new(Totals::default()));
    let end = args.first_seed.saturating_add(seeds);
    let workers: Vec<_> = (0..jobs)
        .map(|_| {
            let (next, stop, totals) = (Arc::clone(&next), Arc::clone(&stop), Arc::clone(&totals));
            let (steps, faults) = (args.steps, args.faults);
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let seed = next.fetch_add(1, Ordering::Relaxed);
                    if seed >= end {
                        break;
                    }
                    let result = run(SimConfig { seed, steps, faults, trace: false });
                    let mut t = totals.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                    match result {
                        Ok(report) => {
                            match report.outcome {
                                Outcome::Clean => t.clean += 1,
                                Outcome::CorruptionDetected { .. } => t.corruption_detected += 1,
                            }
                            t.stats.add(&report.stats);
                        }
                        Err(failure) => {
                            stop.store(true, Ordering::Relaxed);
                            if t.failure.as_ref().is_none_or(|f| failure.config.seed < f.config.seed) {
                                t.failure = Some(failure);
                            }
                        }
                    }
                }
            })
        })
        .collect();
    for worker in workers {
        let _ = worker.join();
    }
    let t = totals.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    println!(
        "seeds {}..{}: {} clean, {} ended on detected corruption, {} steps each, faults {}, {:.1?} on {jobs} threads",
        args.first_seed,
        end,
        t.clean,
        t.corruption_detected,
        args.steps,
        args.faults,
        started.elapsed()
    );
    println!("{}", t.stats);
    match &t.failure {
        Some(failure) => {
            eprintln!("FAILED: {failure}");
            ExitCode::FAILURE
        }
        None => ExitCode::SUCCESS,
    }
}
