//! Times writing and loading a snapshot of a large ledger.
//!
//! Usage: `snapshot [accounts] [transfers]` (defaults 10,000,000 and 10,000,000). Builds the
//! ledger (records in a temp file), writes a snapshot to the temp directory, fsyncs it, loads it
//! back and compares state hashes. Writing synchronously on the writer thread is what a naive
//! snapshot would stall the writer for; see `docs/performance.md`.

use ledger_benches::{AccountChoice, TransferWorkload, open_accounts};
use ledger_core::ledger::SnapshotPosition;
use ledger_core::transfer_store::FileTransferStore;
use ledger_core::{BATCH_EVENTS_MAX, BatchResults, Events, Ledger, LedgerConfig};
use std::io::{BufReader, BufWriter, Write};
use std::time::Instant;

fn main() {
    let args: Vec<u64> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let accounts = args.first().copied().unwrap_or(10_000_000);
    let transfers = args.get(1).copied().unwrap_or(10_000_000);
    let dir = std::env::temp_dir().join(format!("ledger-snapshot-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let records = dir.join("transfers.records");
    let store = FileTransferStore::create(&records).expect("records");
    let mut ledger = Ledger::with_store(LedgerConfig::default(), store);
    open_accounts(&mut ledger, accounts);
    let mut workload = TransferWorkload::new(accounts, AccountChoice::Uniform, 5);
    let mut batch = Vec::with_capacity(BATCH_EVENTS_MAX);
    let mut results = BatchResults::default();
    let mut applied = 0;
    while applied < transfers {
        workload.fill_single_phase(&mut batch, BATCH_EVENTS_MAX);
        ledger.apply(applied + (1 << 40), Events::CreateTransfers(&batch), &mut results).expect("batch");
        ledger.flush_transfer_store().expect("records");
        applied += BATCH_EVENTS_MAX as u64;
    }
    let path = dir.join("state.snap");
    let start = Instant::now();
    let file = std::fs::File::create(&path).expect("snapshot file");
    let mut out = BufWriter::with_capacity(8 << 20, file);
    ledger.write_snapshot(SnapshotPosition { op: 1, checksum: 0 }, &mut out).expect("write");
    let file = out.into_inner().expect("flush");
    file.sync_all().expect("fsync");
    let write = start.elapsed();
    let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    println!(
        "{accounts} accounts, {applied} transfers: snapshot of {} MiB written and fsynced in {:.2} s",
        bytes >> 20,
        write.as_secs_f64()
    );
    let hash = ledger.state_hash();
    let count = ledger.transfer_count();
    drop(ledger);
    let start = Instant::now();
    let store = FileTransferStore::open_at(&records, count).expect("records");
    let mut input = BufReader::with_capacity(8 << 20, std::fs::File::open(&path).expect("open"));
    let (loaded, _) = Ledger::read_snapshot(LedgerConfig::default(), store, &mut input).expect("load");
    println!(
        "loaded in {:.2} s; state hash equal: {}",
        start.elapsed().as_secs_f64(),
        loaded.state_hash() == hash
    );
    std::io::stdout().flush().ok();
    let _ = std::fs::remove_dir_all(&dir);
}
