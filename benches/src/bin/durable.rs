//! Durable write throughput through the engine: the group-commit writer on real files.
//!
//! Usage: `durable [accounts] [transfers] [clients] [dir] [io]` (defaults 10,000, 10,000,000, 4,
//! a temp directory (also for an empty `dir`), and `auto`, or `LEDGER_WAL_IO` if set; `io` is
//! `auto`, `uring` or `pwrite`, the WAL I/O backend, printed as chosen). Each client thread submits batches of 8,189 transfers and keeps two in
//! flight; a reply arrives only once its WAL record is fsynced. Then the data directory is
//! reopened and the recovery (replay) time is measured. Prints transfers/s, groups (fsyncs) per
//! second, WAL bytes per transfer, and replay transfers/s.

use ledger_benches::{AccountChoice, TransferWorkload};
use ledger_core::clock::SystemClock;
use ledger_core::transfer_store::FileTransferStore;
use ledger_core::writer::{Command, Reply};
use ledger_core::{BATCH_EVENTS_MAX, Ledger, LedgerConfig};
use ledger_durability::durable_writer::DurableWriter;
use ledger_durability::storage::{IoBackend, open_storage};
use ledger_durability::wal::WalConfig;
use std::collections::VecDeque;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

fn open(
    dir: &Path,
    accounts: u64,
    transfers: u64,
    io: IoBackend,
) -> (DurableWriter<FileTransferStore>, u64, IoBackend) {
    let (storage, backend) = open_storage(dir, io).expect("wal dir");
    let store = FileTransferStore::create(dir.join("transfers.records")).expect("records");
    let config = LedgerConfig {
        accounts_initial_capacity: usize::try_from(accounts).unwrap_or(0),
        transfers_initial_capacity: usize::try_from(transfers).unwrap_or(0),
        ..LedgerConfig::default()
    };
    let mut ledger = Ledger::with_store(config, store);
    ledger.prefault_indexes();
    let (writer, end) =
        DurableWriter::open(storage, WalConfig::default(), ledger, SystemClock).expect("open");
    (writer, end.records_replayed, backend)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |i: usize, default: u64| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    let accounts = number(0, 10_000);
    let transfers = number(1, 10_000_000);
    let clients = number(2, 4).max(1);
    let dir = args.get(3).filter(|d| !d.is_empty()).map_or_else(
        || std::env::temp_dir().join(format!("ledger-durable-bench-{}", std::process::id())),
        std::path::PathBuf::from,
    );
    let io = match args.get(4) {
        Some(name) => name.parse().expect("io backend"),
        None => IoBackend::from_env().expect("LEDGER_WAL_IO"),
    };
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("data dir");

    let (writer, _, backend) = open(&dir, accounts, transfers, io);
    println!("wal io: {backend} (asked for {io})");
    let writer = Arc::new(writer);
    for batch in ledger_benches::account_batches(accounts) {
        assert!(matches!(writer.call(Command::CreateAccounts(batch)), Ok(Reply::CreateAccounts { .. })));
    }
    let batches_per_client = transfers / BATCH_EVENTS_MAX as u64 / clients;
    let start = Instant::now();
    let threads: Vec<_> = (0..clients)
        .map(|client| {
            let writer = Arc::clone(&writer);
            std::thread::spawn(move || {
                let mut workload = TransferWorkload::new(accounts, AccountChoice::Uniform, client + 1);
                // Disjoint id ranges per client.
                workload.next_id = u128::from(client) << 64 | 1;
                let mut batch = Vec::with_capacity(BATCH_EVENTS_MAX);
                let mut in_flight = VecDeque::new();
                for _ in 0..batches_per_client {
                    workload.fill_single_phase(&mut batch, BATCH_EVENTS_MAX);
                    in_flight.push_back(writer.submit(Command::CreateTransfers(batch.clone())).expect("submit"));
                    if in_flight.len() >= 2 {
                        let reply = in_flight.pop_front().map(|r| r.recv());
                        assert!(matches!(reply, Some(Ok(Reply::CreateTransfers { ref results, .. })) if results.is_empty()));
                    }
                }
                for r in in_flight {
                    assert!(matches!(r.recv(), Ok(Reply::CreateTransfers { .. })));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("client");
    }
    let elapsed = start.elapsed();
    let applied = batches_per_client * clients * BATCH_EVENTS_MAX as u64;
    let writer = Arc::into_inner(writer).expect("clients done");
    let groups = writer.groups_written();
    drop(writer);
    println!(
        "fsyncs: {groups} groups (one write + one fdatasync each) = {:.0}/s, {:.1} batches per group",
        groups as f64 / elapsed.as_secs_f64(),
        (batches_per_client * clients) as f64 / groups.max(1) as f64
    );
    let wal_bytes: u64 = std::fs::read_dir(dir.join("wal"))
        .map(|entries| {
            entries.filter_map(Result::ok).filter_map(|e| e.metadata().ok()).map(|m| m.len()).sum()
        })
        .unwrap_or(0);
    let records = batches_per_client * clients + accounts.div_ceil(BATCH_EVENTS_MAX as u64);
    println!(
        "durable: {applied} transfers in {:.2} s = {:.0} transfers/s ({clients} clients, batches of {BATCH_EVENTS_MAX})",
        elapsed.as_secs_f64(),
        applied as f64 / elapsed.as_secs_f64()
    );
    println!(
        "wal: {records} records, {:.1} bytes/transfer (record bytes; segments preallocated to {wal_bytes} bytes in all)",
        (records * 64 + (applied + accounts) * 128) as f64 / applied as f64
    );

    let start = Instant::now();
    let (writer, replayed, _) = open(&dir, accounts, transfers, io);
    let replay = start.elapsed();
    println!(
        "restart: {replayed} records ({applied} transfers) replayed in {:.2} s = {:.0} transfers/s",
        replay.as_secs_f64(),
        applied as f64 / replay.as_secs_f64()
    );
    drop(writer);
    let _ = std::fs::remove_dir_all(&dir);
}
