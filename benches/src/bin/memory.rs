//! Measures resident memory per account and per remembered transfer id.
//!
//! Usage: `memory [accounts] [transfers] [--file-store]` (defaults 10,000,000 and 100,000,000;
//! `--file-store` keeps transfer records in a file in the temp directory). Opens the
//! accounts, then applies single-phase transfers with sequential ids over them, and prints both
//! the engine's own accounting (`Ledger::memory_usage`) and the process's resident set growth
//! (`VmRSS` from /proc/self/status) for each phase.

use ledger_benches::{AccountChoice, TransferWorkload, open_accounts};
use ledger_core::transfer_store::{FileTransferStore, MemoryTransferStore, TransferStore};
use ledger_core::{BATCH_EVENTS_MAX, BatchResults, Events, Ledger, LedgerConfig};

fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

fn main() {
    let args: Vec<u64> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let accounts = args.first().copied().unwrap_or(10_000_000);
    let transfers = args.get(1).copied().unwrap_or(100_000_000);
    if std::env::args().any(|a| a == "--file-store") {
        let path = std::env::temp_dir().join(format!("ledger-memory-{}.transfers", std::process::id()));
        let store = FileTransferStore::create(&path).expect("create the record file");
        println!("transfer records in {}", path.display());
        measure(Ledger::with_store(LedgerConfig::default(), store), accounts, transfers);
        let _ = std::fs::remove_file(&path);
    } else {
        measure(Ledger::with_store(LedgerConfig::default(), MemoryTransferStore::new()), accounts, transfers);
    }
}

fn measure<S: TransferStore>(mut ledger: Ledger<S>, accounts: u64, transfers: u64) {
    let rss_start = rss_bytes();
    open_accounts(&mut ledger, accounts);
    let rss_accounts = rss_bytes();
    let usage = ledger.memory_usage();
    println!("accounts: {accounts}");
    println!(
        "  engine: records {} B + index {} B = {:.1} B/account",
        usage.accounts_bytes,
        usage.account_index_bytes,
        (usage.accounts_bytes + usage.account_index_bytes) as f64 / accounts as f64
    );
    println!("  rss growth: {:.1} B/account", (rss_accounts - rss_start) as f64 / accounts as f64);

    let mut workload = TransferWorkload::new(accounts, AccountChoice::Uniform, 11);
    let mut batch = Vec::with_capacity(BATCH_EVENTS_MAX);
    let mut results = BatchResults::with_capacity(BATCH_EVENTS_MAX);
    let mut applied = 0_u64;
    let mut now = 1_u64 << 40;
    while applied < transfers {
        let count = usize::try_from((transfers - applied).min(BATCH_EVENTS_MAX as u64)).unwrap_or(0);
        workload.fill_single_phase(&mut batch, count);
        now += 1;
        ledger.apply(now, Events::CreateTransfers(&batch), &mut results).expect("within limits");
        ledger.flush_transfer_store().expect("write transfer records");
        assert!(results.transfers.is_empty());
        applied += count as u64;
    }
    let rss_transfers = rss_bytes();
    let usage = ledger.memory_usage();
    println!("transfers: {transfers}");
    println!(
        "  engine: id index {} B = {:.1} B/id; records {} B = {:.1} B/transfer",
        usage.transfer_index_bytes,
        usage.transfer_index_bytes as f64 / transfers as f64,
        usage.transfer_records_bytes,
        usage.transfer_records_bytes as f64 / transfers as f64
    );
    println!(
        "  rss growth: {:.1} B/transfer (id index + records of the transfer store in use)",
        (rss_transfers - rss_accounts) as f64 / transfers as f64
    );
}
