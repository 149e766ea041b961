//! Measures the history index: builds a record file of N transfers over M accounts, then
//! reports the rebuild rate (one announcement of the whole file), the ingest rate (one
//! announcement per batch of 8,189, waiting for each as a server under load would), the
//! index's bytes per transfer, the latency of a few queries, and of trial balances (the first
//! learns every account's code and attributes the whole file; later ones add up chunk totals).
//!
//! ```text
//! cargo run --release -p ledger-history --bin history-ingest -- [transfers] [accounts] [dir]
//! ```
//! Defaults: 10,000,000 transfers, 10,000 accounts, a temporary directory. The record file is
//! fresh in the page cache, as it is when the writer has just written it.

use ledger_core::{AccountFilter, AccountFilterFlags, BATCH_EVENTS_MAX, QueryFilter, Transfer};
use ledger_history::{
    AccountCode, HistoryError, HistoryIndex, HistoryMemory, IndexPosition, TrialBalanceAnswer,
    TrialBalanceRequest,
};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Transfers sharing one `user_data_128` (one business event posts a few transfers).
const TRANSFERS_PER_EVENT: u64 = 4;
/// Account codes of the chart the trial balance adds up to: account `id` has code `id % 50`.
const CODES: u64 = 50;
const QUERY_SAMPLES: u32 = 200;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let transfers: u64 = args.first().map_or(Ok(10_000_000), |a| a.replace('_', "").parse())?;
    let accounts: u64 = args.get(1).map_or(Ok(10_000), |a| a.replace('_', "").parse())?;
    if accounts < 2 || transfers == 0 {
        return Err("need at least 1 transfer and 2 accounts".into());
    }
    let temporary = if args.get(2).is_none() {
        Some(std::env::temp_dir().join(format!("history-ingest-{}", std::process::id())))
    } else {
        None
    };
    let dir = args.get(2).map(PathBuf::from).or_else(|| temporary.clone()).ok_or("no directory")?;
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("transfers.records");

    let started = Instant::now();
    write_records(&path, transfers, accounts)?;
    println!(
        "record file: {transfers} transfers over {accounts} accounts, {} MiB, written in {:.1} s",
        (transfers * 128) >> 20,
        started.elapsed().as_secs_f64()
    );

    // Rebuild: everything announced at once, as at start-up.
    let rss_before = resident_bytes();
    let (index, feed) = HistoryIndex::start(&path)?;
    let started = Instant::now();
    feed.durable(1, transfers);
    wait_for(&index, transfers);
    let rebuild = started.elapsed();
    let rss_after = resident_bytes();
    report("rebuild", transfers, rebuild);
    print_memory(&index.memory(), rss_after.saturating_sub(rss_before));
    print_queries(&index, transfers, accounts)?;
    print_trial_balances(&index, transfers)?;
    print_memory(&index.memory(), 0);
    index.stop();
    drop(feed);

    // Ingest: one durable point per batch, each waited for.
    let (index, feed) = HistoryIndex::start(&path)?;
    let started = Instant::now();
    let mut slowest = Duration::ZERO;
    let mut announced = 0;
    let mut op = 0;
    while announced < transfers {
        announced = (announced + BATCH_EVENTS_MAX as u64).min(transfers);
        op += 1;
        let batch = Instant::now();
        feed.durable(op, announced);
        wait_for(&index, announced);
        slowest = slowest.max(batch.elapsed());
    }
    report("ingest, one batch of 8,189 at a time", transfers, started.elapsed());
    println!("  slowest batch: {:.2} ms", slowest.as_secs_f64() * 1e3);
    index.stop();

    if let Some(temporary) = temporary {
        std::fs::remove_dir_all(temporary)?;
    }
    Ok(())
}

/// Transfers between pseudo-random account pairs (uniform), timestamps 1 ns apart.
fn write_records(path: &Path, transfers: u64, accounts: u64) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let mut random = 0x9e37_79b9_7f4a_7c15_u64;
    for id in 1..=transfers {
        random ^= random << 13;
        random ^= random >> 7;
        random ^= random << 17;
        let debit = random % accounts;
        let credit = (debit + 1 + (random >> 32) % (accounts - 1)) % accounts;
        let transfer = Transfer {
            id: u128::from(id),
            debit_account_id: u128::from(debit + 1),
            credit_account_id: u128::from(credit + 1),
            amount: 100,
            user_data_128: u128::from(id.div_ceil(TRANSFERS_PER_EVENT)),
            ledger: 156,
            code: 1,
            timestamp: 1_700_000_000_000_000_000 + id,
            ..Transfer::default()
        };
        out.write_all(&transfer.to_bytes())?;
    }
    out.flush()
}

fn wait_for(index: &HistoryIndex, transfers: u64) {
    while index.position().transfers < transfers {
        std::thread::sleep(Duration::from_micros(50));
    }
}

fn report(what: &str, transfers: u64, took: Duration) {
    println!(
        "{what}: {transfers} transfers in {:.3} s = {:.0} transfers/s",
        took.as_secs_f64(),
        transfers as f64 / took.as_secs_f64()
    );
}

fn print_memory(memory: &HistoryMemory, rss_growth: u64) {
    let per_transfer = |bytes: u64| bytes as f64 / memory.transfers as f64;
    println!(
        "memory: {} accounts; per transfer: account table {:.2} B + posting lists {:.2} B = {:.2} B per-account index; \
         chunk summaries {:.2} B; code totals {:.2} B; total {:.2} B ({} MiB); resident growth {:.2} B/transfer",
        memory.accounts,
        per_transfer(memory.account_table_bytes),
        per_transfer(memory.posting_list_bytes),
        per_transfer(memory.account_table_bytes + memory.posting_list_bytes),
        per_transfer(memory.chunk_bytes),
        per_transfer(memory.code_totals_bytes),
        per_transfer(memory.total_bytes()),
        memory.total_bytes() >> 20,
        per_transfer(rss_growth),
    );
}

type Answer = Result<(Vec<Transfer>, IndexPosition), HistoryError>;

fn ask(
    submit: impl FnOnce(Box<dyn FnOnce(Answer) + Send>),
) -> Result<(Vec<Transfer>, Duration), HistoryError> {
    let (tx, rx) = mpsc::channel();
    let started = Instant::now();
    submit(Box::new(move |answer| {
        // The receiver waits below; a failed send only means it gave up.
        let _ = tx.send(answer);
    }));
    let answer = rx.recv().map_err(|_| HistoryError::Stopped)?;
    answer.map(|(found, _)| (found, started.elapsed()))
}

fn print_queries(index: &HistoryIndex, transfers: u64, accounts: u64) -> Result<(), HistoryError> {
    let mut newest = Duration::ZERO;
    let mut ranged = Duration::ZERO;
    let mut correlated = Duration::ZERO;
    let mut found = 0;
    for sample in 0..QUERY_SAMPLES {
        let account = u128::from(u64::from(sample) * 7_919 % accounts + 1);
        let filter = AccountFilter {
            flags: AccountFilterFlags::DEBITS
                .union(AccountFilterFlags::CREDITS)
                .union(AccountFilterFlags::REVERSED),
            ..AccountFilter::all_of(account, 10)
        };
        let (result, took) = ask(|reply| index.get_account_transfers(filter, reply))?;
        newest += took;
        found += result.len();

        // A one-hour-like window in the middle of the history: a binary search, then a walk.
        let middle = 1_700_000_000_000_000_000 + transfers / 2 + u64::from(sample);
        let filter = AccountFilter { timestamp_min: middle, ..AccountFilter::all_of(account, 10) };
        ranged += ask(|reply| index.get_account_transfers(filter, reply))?.1;

        // Every transfer of one business event, anywhere in the file.
        let event = u128::from(u64::from(sample) * 104_729 % transfers.div_ceil(TRANSFERS_PER_EVENT) + 1);
        let filter = QueryFilter { user_data_128: event, limit: 10, ..QueryFilter::default() };
        let (result, took) = ask(|reply| index.query_transfers(filter, reply))?;
        correlated += took;
        found += result.len();
    }
    let mean_us = |total: Duration| total.as_secs_f64() * 1e6 / f64::from(QUERY_SAMPLES);
    println!(
        "queries (mean of {QUERY_SAMPLES}, round trip): account newest 10: {:.1} us; account 10 from mid-history: {:.1} us; \
         transfers by user_data_128 over the whole file: {:.1} us ({found} results)",
        mean_us(newest),
        mean_us(ranged),
        mean_us(correlated),
    );
    Ok(())
}

fn trial_balance(index: &HistoryIndex, at: Option<u64>) -> Result<(usize, u32), HistoryError> {
    let mut codes = Vec::new();
    for round in 1..=1024 {
        let (tx, rx) = mpsc::channel();
        let request = TrialBalanceRequest { ledger: 156, at, codes: std::mem::take(&mut codes) };
        index.trial_balance(request, Box::new(move |answer| drop(tx.send(answer))));
        match rx.recv().map_err(|_| HistoryError::Stopped)?? {
            TrialBalanceAnswer::Totals(totals) => return Ok((totals.rows.len(), round)),
            TrialBalanceAnswer::CodesWanted(ids) => {
                codes = ids
                    .into_iter()
                    .map(|account_id| AccountCode {
                        account_id,
                        code: u16::try_from(account_id % u128::from(CODES)).unwrap_or(0),
                    })
                    .collect();
            }
        }
    }
    Err(HistoryError::Busy { queued: 0 })
}

fn print_trial_balances(index: &HistoryIndex, transfers: u64) -> Result<(), HistoryError> {
    let started = Instant::now();
    let (rows, rounds) = trial_balance(index, None)?;
    println!(
        "trial balance, first ({rounds} rounds to learn the codes, the whole file attributed): {:.3} s, {rows} codes",
        started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    trial_balance(index, None)?;
    let now = started.elapsed();
    let started = Instant::now();
    for sample in 0..QUERY_SAMPLES {
        // Anywhere in the history: the chunks before, plus a partial read of one chunk.
        let at = 1_700_000_000_000_000_000 + 1 + u64::from(sample) * (transfers / u64::from(QUERY_SAMPLES));
        trial_balance(index, Some(at))?;
    }
    println!(
        "trial balance, next: now {:.1} us; at a random time (mean of {QUERY_SAMPLES}): {:.1} us",
        now.as_secs_f64() * 1e6,
        started.elapsed().as_secs_f64() * 1e6 / f64::from(QUERY_SAMPLES)
    );
    Ok(())
}

/// Resident memory of this process (Linux `statm`), 0 if unknown.
fn resident_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1).and_then(|pages| pages.parse::<u64>().ok()))
        .map_or(0, |pages| pages * 4096)
}
