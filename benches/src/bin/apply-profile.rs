//! Applies single-phase batches to a growing ledger and prints throughput per phase: a quick,
//! profiler-friendly companion of the criterion `apply` bench (records in a temp file, written
//! outside the timed region).
//! Usage: `apply-profile [accounts] [batches] [transfers_initial_capacity]`.

use ledger_benches::{AccountChoice, TransferWorkload, open_accounts};
use ledger_core::transfer_store::FileTransferStore;
use ledger_core::{BATCH_EVENTS_MAX, BatchResults, Events, Ledger, LedgerConfig};
use std::time::Instant;

fn main() {
    let args: Vec<u64> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let accounts = args.first().copied().unwrap_or(10_000);
    let batches = args.get(1).copied().unwrap_or(1_000);
    let capacity = usize::try_from(args.get(2).copied().unwrap_or(0)).unwrap_or(0);
    let path = std::env::temp_dir().join(format!("ledger-apply-profile-{}.transfers", std::process::id()));
    let store = FileTransferStore::create(&path).expect("create the transfer record file");
    let config = LedgerConfig { transfers_initial_capacity: capacity, ..LedgerConfig::default() };
    let mut ledger = Ledger::with_store(config, store);
    ledger.prefault_indexes();
    open_accounts(&mut ledger, accounts);
    let mut workload = TransferWorkload::new(accounts, AccountChoice::Uniform, 7);
    let mut batch = Vec::with_capacity(BATCH_EVENTS_MAX);
    let mut results = BatchResults::with_capacity(BATCH_EVENTS_MAX);
    let report_every = (batches / 10).max(1);
    let mut window = std::time::Duration::ZERO;
    let mut total = std::time::Duration::ZERO;
    for i in 1..=batches {
        workload.fill_single_phase(&mut batch, BATCH_EVENTS_MAX);
        let start = Instant::now();
        ledger.apply(i * 1_000_000, Events::CreateTransfers(&batch), &mut results).expect("within limits");
        let spent = start.elapsed();
        ledger.flush_transfer_store().expect("write transfer records");
        window += spent;
        total += spent;
        if i % report_every == 0 {
            let rate = (report_every * BATCH_EVENTS_MAX as u64) as f64 / window.as_secs_f64();
            println!("after {:>11} transfers: {:>10.0} transfers/s", i * BATCH_EVENTS_MAX as u64, rate);
            window = std::time::Duration::ZERO;
        }
    }
    let rate = (batches * BATCH_EVENTS_MAX as u64) as f64 / total.as_secs_f64();
    println!("total: {rate:.0} transfers/s over {} transfers", batches * BATCH_EVENTS_MAX as u64);
    println!("{:?}", ledger.memory_usage());
    let _ = std::fs::remove_file(&path);
}
