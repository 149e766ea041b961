//! `apply` alone: transfers per second through the pure engine, no I/O.
//!
//! Each iteration applies one full batch (8,189 transfers) to a ledger that keeps growing, so the
//! id index holds tens of millions of ids by the end, as in production. The index is pre-sized
//! (`transfers_initial_capacity`) as a production deployment sizes it from configuration, so the
//! figures are the steady state without rehash stalls; `apply-profile` measures growth too.
//! Transfer records go to a `FileTransferStore` (as in production: records on disk, only the
//! index slot in memory); its one write per batch is outside the timed region, as is batch
//! generation (`iter_custom`). The write is the durability layer's cost, measured there.
//! Run: `cargo bench -p ledger-benches --bench apply`.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ledger_benches::{AccountChoice, TransferWorkload, open_accounts};
use ledger_core::transfer_store::FileTransferStore;
use ledger_core::{BATCH_EVENTS_MAX, BatchResults, Events, Ledger, LedgerConfig, Transfer};
use std::time::{Duration, Instant};

/// More than one benchmark function applies (warm-up and 5 s of measurement at ~5M/s).
const TRANSFERS_PRESIZED: usize = 40_000_000;

#[derive(Clone, Copy)]
enum Shape {
    SinglePhase,
    TwoPhase,
    Linked4,
}

fn run(c: &mut Criterion, name: &str, accounts: u64, choice: AccountChoice, shape: Shape) {
    let mut group = c.benchmark_group("apply");
    group.throughput(Throughput::Elements(BATCH_EVENTS_MAX as u64));
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(5));
    group.warm_up_time(Duration::from_secs(1));
    let path = std::env::temp_dir().join(format!("ledger-bench-{}-{name}.transfers", std::process::id()));
    let store = FileTransferStore::create(&path).expect("create the transfer record file");
    let config = LedgerConfig {
        accounts_initial_capacity: usize::try_from(accounts).unwrap_or(0),
        transfers_initial_capacity: TRANSFERS_PRESIZED,
        ..LedgerConfig::default()
    };
    let mut ledger = Ledger::with_store(config, store);
    ledger.prefault_indexes();
    open_accounts(&mut ledger, accounts);
    let mut workload = TransferWorkload::new(accounts, choice, 42);
    let mut batch: Vec<Transfer> = Vec::with_capacity(BATCH_EVENTS_MAX);
    let mut previous: Vec<Transfer> = Vec::new();
    let mut results = BatchResults::with_capacity(BATCH_EVENTS_MAX);
    let mut now = 1_000_000_000_u64;
    group.bench_function(BenchmarkId::from_parameter(name), |b| {
        b.iter_custom(|iters| {
            let mut elapsed = Duration::ZERO;
            for _ in 0..iters {
                match shape {
                    Shape::SinglePhase => workload.fill_single_phase(&mut batch, BATCH_EVENTS_MAX),
                    Shape::TwoPhase => {
                        workload.fill_two_phase(&mut batch, &previous, BATCH_EVENTS_MAX);
                        previous.clone_from(&batch);
                    }
                    Shape::Linked4 => workload.fill_linked(&mut batch, BATCH_EVENTS_MAX, 4),
                }
                now += 1_000_000;
                let start = Instant::now();
                ledger
                    .apply(now, Events::CreateTransfers(&batch), &mut results)
                    .expect("batch within limits");
                elapsed += start.elapsed();
                ledger.flush_transfer_store().expect("write transfer records");
                assert!(results.transfers.is_empty(), "benchmark transfers must all succeed");
            }
            elapsed
        });
    });
    group.finish();
    drop(ledger);
    let _ = std::fs::remove_file(&path);
}

fn apply_benches(c: &mut Criterion) {
    run(c, "uniform_10k_accounts", 10_000, AccountChoice::Uniform, Shape::SinglePhase);
    run(c, "uniform_1m_accounts", 1_000_000, AccountChoice::Uniform, Shape::SinglePhase);
    run(
        c,
        "hot_90pct_on_10_accounts",
        10_000,
        AccountChoice::Hot { hot: 10, percent: 90 },
        Shape::SinglePhase,
    );
    run(c, "two_phase_10k_accounts", 10_000, AccountChoice::Uniform, Shape::TwoPhase);
    run(c, "linked_chains_of_4_10k_accounts", 10_000, AccountChoice::Uniform, Shape::Linked4);
}

criterion_group!(benches, apply_benches);
criterion_main!(benches);
