//! Writer stall while online snapshots run: durable batch latency with snapshots off, then on.
//!
//! Usage: `snapshot-stall [accounts] [batches] [every_ops]` (defaults 1,000,000, 600, 100).
//! One client submits one batch of 8,189 transfers at a time and times each durable reply. The
//! writer never serialises state itself (the snapshot job rebuilds it on another thread), so any
//! difference between the two runs is contention for the machine's two cores and its disk, not
//! a pause of the writer. Prints p50/p99/max batch latency and the snapshots taken.

use ledger_benches::{AccountChoice, TransferWorkload};
use ledger_core::clock::SystemClock;
use ledger_core::writer::{Command, Reply};
use ledger_core::{BATCH_EVENTS_MAX, LedgerConfig};
use ledger_durability::data_dir::{self, DataDirConfig};
use std::time::{Duration, Instant};

fn run(accounts: u64, batches: u64, every_ops: Option<u64>) {
    let dir = std::env::temp_dir().join(format!("ledger-snapshot-stall-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let config = DataDirConfig {
        ledger: LedgerConfig {
            accounts_initial_capacity: usize::try_from(accounts).unwrap_or(0),
            ..LedgerConfig::default()
        },
        snapshot_every_ops: every_ops,
        ..DataDirConfig::default()
    };
    let opened = data_dir::open(&dir, config, SystemClock).expect("open");
    for batch in ledger_benches::account_batches(accounts) {
        assert!(matches!(
            opened.writer.call(Command::CreateAccounts(batch)),
            Ok(Reply::CreateAccounts { .. })
        ));
    }
    let mut workload = TransferWorkload::new(accounts, AccountChoice::Uniform, 3);
    let mut batch = Vec::with_capacity(BATCH_EVENTS_MAX);
    let mut latencies = Vec::with_capacity(usize::try_from(batches).unwrap_or(0));
    let start = Instant::now();
    for _ in 0..batches {
        workload.fill_single_phase(&mut batch, BATCH_EVENTS_MAX);
        let sent = Instant::now();
        let reply = opened.writer.call(Command::CreateTransfers(batch.clone()));
        latencies.push(sent.elapsed());
        assert!(matches!(reply, Ok(Reply::CreateTransfers { ref results, .. }) if results.is_empty()));
    }
    let elapsed = start.elapsed();
    let snapshot_op = opened.writer.last_snapshot_op();
    drop(opened);
    let taken = ledger_durability::snapshots::list(&dir).map(|l| l.len()).unwrap_or(0);
    latencies.sort_unstable();
    // Quantile by rank: index = (n - 1) * per_mille / 1000.
    let at = |per_mille: usize| latencies[(latencies.len() - 1) * per_mille / 1000];
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "snapshots {}: {:.0} transfers/s; batch latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; newest snapshot op {snapshot_op}, {taken} file(s)",
        every_ops.map_or("off".to_owned(), |n| format!("every {n} ops")),
        (batches * BATCH_EVENTS_MAX as u64) as f64 / elapsed.as_secs_f64(),
        ms(at(500)),
        ms(at(990)),
        ms(latencies[latencies.len() - 1]),
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn main() {
    let args: Vec<u64> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let accounts = args.first().copied().unwrap_or(1_000_000);
    let batches = args.get(1).copied().unwrap_or(600);
    let every = args.get(2).copied().unwrap_or(100);
    run(accounts, batches, None);
    run(accounts, batches, Some(every));
}
