//! `index-stores`: measures candidate stores for the history index (account -> its transfers in
//! time order) at the ledger's write rate. One store per process, so peak memory and the page
//! cache of one run do not leak into the next. See `README.md` beside `Cargo.toml`.

mod measure;
mod store;
mod stores;
mod workload;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use measure::{cpu_time, disk_usage, evict_from_page_cache, peak_rss_bytes, quantile};
use store::{IndexStore, Measure, StoreError};
use stores::fjall_bulk::FjallBulkStore;
use stores::fjall_store::FjallStore;
use stores::memory::{MemoryStore, RECORD_FILE_NAME, RecordFileWriter};
use stores::redb_store::RedbStore;
use stores::sled_store::SledStore;
use workload::{BATCH_TRANSFERS_MAX, Workload, read_targets};

/// Transfers per second the ledger's writer aims at; the index must keep up with it.
const TARGET_TRANSFERS_PER_SECOND: f64 = 1_000_000.0;
/// "The last 50 transfers of an account": the history page the read test asks for.
const READ_LIMIT: usize = 50;

const USAGE: &str = "usage: index-stores --store sled|fjall|fjall-bulk|redb|memory [--transfers N] [--accounts M] \
[--reads R] [--checkpoint-batches K] [--seed S] [--dir PATH] [--ingest-seconds-max T] [--keep]";

#[derive(Debug, Clone)]
struct Args {
    store: String,
    transfers: u64,
    accounts: u64,
    reads: usize,
    /// A durable checkpoint every K batches (sled flush, fjall journal fsync, redb `Immediate`).
    checkpoint_batches: u64,
    seed: u64,
    dir: PathBuf,
    keep: bool,
    /// Stops the ingest early once the commits have taken this long (for stores far too slow for
    /// N); the transfers actually ingested are reported.
    ingest_seconds_max: Option<u64>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        store: String::new(),
        transfers: 10_000_000,
        accounts: 10_000,
        reads: 10_000,
        checkpoint_batches: 122,
        seed: 42,
        dir: PathBuf::from("target/index-stores-data"),
        keep: false,
        ingest_seconds_max: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--keep" {
            args.keep = true;
            continue;
        }
        let value = it.next().ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        let number = || value.replace('_', "").parse::<u64>().map_err(|e| format!("{flag} {value}: {e}"));
        match flag.as_str() {
            "--store" => args.store = value.clone(),
            "--transfers" => args.transfers = number()?,
            "--accounts" => args.accounts = number()?,
            "--reads" => args.reads = usize::try_from(number()?).map_err(|e| e.to_string())?,
            "--checkpoint-batches" => args.checkpoint_batches = number()?.max(1),
            "--seed" => args.seed = number()?,
            "--dir" => args.dir = PathBuf::from(&value),
            "--ingest-seconds-max" => args.ingest_seconds_max = Some(number()?),
            _ => return Err(format!("unknown flag {flag}\n{USAGE}")),
        }
    }
    if args.accounts < 2 {
        return Err("--accounts must be at least 2".into());
    }
    Ok(args)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let result = match args.store.as_str() {
        "sled" => run::<SledStore>(&args),
        "fjall" => run::<FjallStore>(&args),
        "fjall-bulk" => run::<FjallBulkStore>(&args),
        "redb" => run::<RedbStore>(&args),
        "memory" => run::<MemoryStore>(&args),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("index-stores {}: {e}", args.store);
            ExitCode::FAILURE
        }
    }
}

fn seconds(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64())
}

fn micros(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1e6)
}

fn mib(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / f64::from(1 << 20))
}

fn report(measures: &mut Vec<Measure>, name: &'static str, value: String) {
    println!("{name}={value}");
    measures.push((name, value));
}

fn run<S: IndexStore>(args: &Args) -> Result<(), StoreError> {
    let dir = args.dir.join(format!("{}-{}-{}", args.store, args.transfers, args.accounts));
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(&dir)?;
    let mut m: Vec<Measure> = Vec::new();
    report(&mut m, "store", args.store.clone());
    report(&mut m, "transfers", args.transfers.to_string());
    report(&mut m, "accounts", args.accounts.to_string());

    // Ingest: one commit per batch of 8,189 transfers; only `commit` is timed. Generating the
    // batch, and for the in-memory index appending it to the record file (the WAL's job), are not.
    let started = Instant::now();
    let mut store = S::create(&dir)?;
    report(&mut m, "create_s", seconds(started.elapsed()));
    let mut records = if args.store == "memory" { Some(RecordFileWriter::create(&dir)?) } else { None };
    let mut workload = Workload::new(args.seed, args.transfers, args.accounts);
    let mut batch = Vec::with_capacity(BATCH_TRANSFERS_MAX);
    let mut commits: Vec<Duration> = Vec::new();
    let mut transfers_per_commit: Vec<usize> = Vec::new();
    let cpu_before = cpu_time();
    let wall_before = Instant::now();
    let mut last_progress = Instant::now();
    let mut commit_total = Duration::ZERO;
    let ingest_limit = args.ingest_seconds_max.map_or(Duration::MAX, Duration::from_secs);
    while commit_total < ingest_limit && workload.next_batch(&mut batch) {
        if let Some(records) = records.as_mut() {
            records.append(&batch)?;
        }
        let durable = (commits.len() as u64 + 1).is_multiple_of(args.checkpoint_batches);
        let started = Instant::now();
        store.commit(&batch, durable)?;
        let elapsed = started.elapsed();
        commit_total += elapsed;
        commits.push(elapsed);
        transfers_per_commit.push(batch.len());
        if last_progress.elapsed() > Duration::from_secs(10) {
            let done: usize = transfers_per_commit.iter().sum();
            eprintln!(
                "  {}: {done} transfers, {:.0} transfers/s so far",
                args.store,
                done as f64 / commit_total.as_secs_f64()
            );
            last_progress = Instant::now();
        }
    }
    let ingest_wall = wall_before.elapsed();
    let ingest_cpu = cpu_time().saturating_sub(cpu_before);
    if let Some(records) = records.take() {
        records.finish()?;
    }
    let transfers_done: usize = transfers_per_commit.iter().sum();
    let rate = transfers_done as f64 / commit_total.as_secs_f64();
    // The last quarter of the batches: a store that slows down as it grows shows it here.
    let tail_from = commits.len() * 3 / 4;
    let tail_time: Duration = commits[tail_from..].iter().sum();
    let tail_transfers: usize = transfers_per_commit[tail_from..].iter().sum();
    let mut sorted = commits.clone();
    sorted.sort_unstable();
    report(&mut m, "transfers_ingested", transfers_done.to_string());
    report(&mut m, "commits", commits.len().to_string());
    report(&mut m, "ingest_commit_total_s", seconds(commit_total));
    report(&mut m, "ingest_wall_s", seconds(ingest_wall));
    report(&mut m, "ingest_transfers_per_s", format!("{rate:.0}"));
    report(
        &mut m,
        "ingest_last_quarter_transfers_per_s",
        format!("{:.0}", tail_transfers as f64 / tail_time.as_secs_f64()),
    );
    report(&mut m, "keeps_up_with_1m_per_s", (rate >= TARGET_TRANSFERS_PER_SECOND).to_string());
    report(&mut m, "commit_p50_us", micros(quantile(&sorted, 0.50)));
    report(&mut m, "commit_p99_us", micros(quantile(&sorted, 0.99)));
    report(&mut m, "commit_max_us", micros(quantile(&sorted, 1.0)));
    // CPU of the whole process over the ingest loop: store threads, plus the (cheap) generator.
    report(&mut m, "ingest_cpu_s", seconds(ingest_cpu));
    report(
        &mut m,
        "cpu_core_s_per_million_transfers",
        format!("{:.3}", ingest_cpu.as_secs_f64() / (transfers_done as f64 / 1e6)),
    );
    m.extend(store.measure_after_ingest(&dir)?.into_iter().inspect(|(k, v)| println!("{k}={v}")));

    let started = Instant::now();
    store.close()?;
    report(&mut m, "close_s", seconds(started.elapsed()));
    let (apparent, allocated) = disk_usage(&dir, RECORD_FILE_NAME)?;
    report(&mut m, "disk_apparent_mib", mib(apparent));
    report(&mut m, "disk_allocated_mib", mib(allocated));

    // Reopen with a cold page cache (for the in-memory index: rebuild from the record file).
    evict_from_page_cache(&dir)?;
    let started = Instant::now();
    let store = S::open(&dir)?;
    report(&mut m, "reopen_cold_s", seconds(started.elapsed()));

    let targets = read_targets(args.seed, args.accounts, args.reads);
    let (cold_reads, checksum, found) = read_pass(&store, &targets)?;
    let (warm_reads, warm_checksum, _) = read_pass(&store, &targets)?;
    assert_eq!(checksum, warm_checksum, "two read passes over the same store must agree");
    report(&mut m, "reads", targets.len().to_string());
    report(&mut m, "read_postings_found", found.to_string());
    report(&mut m, "read_checksum", format!("{checksum:016x}"));
    report(&mut m, "read_first_pass_p50_us", micros(quantile(&cold_reads, 0.50)));
    report(&mut m, "read_first_pass_p99_us", micros(quantile(&cold_reads, 0.99)));
    report(&mut m, "read_warm_p50_us", micros(quantile(&warm_reads, 0.50)));
    report(&mut m, "read_warm_p99_us", micros(quantile(&warm_reads, 0.99)));
    store.close()?;

    // Reopen again with the page cache warm.
    let started = Instant::now();
    let store = S::open(&dir)?;
    report(&mut m, "reopen_warm_s", seconds(started.elapsed()));
    store.close()?;
    m.extend(S::measure_after_reads(&dir)?.into_iter().inspect(|(k, v)| println!("{k}={v}")));
    report(&mut m, "peak_rss_mib", mib(peak_rss_bytes()));

    if !args.keep {
        std::fs::remove_dir_all(&dir)?;
    }
    print_row(&m);
    Ok(())
}

/// Reads the newest `READ_LIMIT` postings of each target account; returns the sorted latencies,
/// a checksum of the positions (equal across stores for the same seed) and the postings found.
fn read_pass<S: IndexStore>(store: &S, targets: &[u128]) -> Result<(Vec<Duration>, u64, usize), StoreError> {
    let mut latencies = Vec::with_capacity(targets.len());
    let mut out = Vec::with_capacity(READ_LIMIT);
    let mut checksum = 0_u64;
    let mut found = 0;
    for &account_id in targets {
        out.clear();
        let started = Instant::now();
        store.latest(account_id, READ_LIMIT, &mut out)?;
        latencies.push(started.elapsed());
        // Newest first: positions grow with time, so they must strictly decrease.
        if out.windows(2).any(|w| w[0] <= w[1]) || out.len() > READ_LIMIT {
            return Err(StoreError::Corrupt { what: "history order" });
        }
        found += out.len();
        for &position in &out {
            checksum = checksum.wrapping_mul(0x100_0000_01B3).wrapping_add(position);
        }
    }
    latencies.sort_unstable();
    Ok((latencies, checksum, found))
}

/// One markdown table row, in the column order of the table in `docs/decisions.md`.
fn print_row(m: &[Measure]) {
    let get = |name: &str| m.iter().find(|(k, _)| *k == name).map_or("-", |(_, v)| v.as_str());
    let columns = [
        "store",
        "transfers_ingested",
        "accounts",
        "ingest_transfers_per_s",
        "ingest_last_quarter_transfers_per_s",
        "commit_p50_us",
        "commit_p99_us",
        "commit_max_us",
        "cpu_core_s_per_million_transfers",
        "close_s",
        "disk_allocated_mib",
        "reopen_cold_s",
        "reopen_warm_s",
        "read_first_pass_p50_us",
        "read_first_pass_p99_us",
        "read_warm_p50_us",
        "read_warm_p99_us",
        "peak_rss_mib",
    ];
    let cells: Vec<&str> = columns.iter().map(|c| get(c)).collect();
    println!("ROW | {} |", cells.join(" | "));
}
