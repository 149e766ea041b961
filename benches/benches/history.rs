//! The history index's ingest of committed transfer records (`ledger-history`), through its
//! public interface: `HistoryIndex::start` on a record file, `DurableFeed::durable` to announce,
//! `HistoryIndex::position` to see the records ingested. The index runs on its own thread, as in
//! the server, and reads the record file (here fresh in the page cache, as after the writer
//! wrote it).
//!
//! - `ingest_batch`: one durable point of 8,189 more records announced, timed until the index
//!   reports it ingested: the index's work per batch the server commits. The index keeps growing
//!   across iterations; when the pre-written file runs out, a fresh index starts over it
//!   (outside the timed region), so the figure is the average over indexes of 0–2M transfers.
//! - `rebuild`: a fresh index ingesting 1M records in one announcement, as at start-up.
//!
//! Run: `cargo bench -p ledger-benches --bench history`. The record files (256 MB, then 128 MB)
//! are written to the temporary directory and removed after their benchmark.

use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use ledger_core::{BATCH_EVENTS_MAX, Transfer};
use ledger_history::{DurableFeed, HistoryIndex};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Records in the file that `ingest_batch` walks through before it starts a fresh index.
const INGEST_FILE_RECORDS: u64 = 2_000_000;
const REBUILD_RECORDS: u64 = 1_000_000;
/// Transfers sharing one `user_data_128` (one business event posts a few transfers).
const TRANSFERS_PER_EVENT: u64 = 4;
const BATCH: u64 = BATCH_EVENTS_MAX as u64;

/// Writes `transfers` records between pseudo-random account pairs (uniform over `accounts`),
/// timestamps 1 ns apart, in creation order, as the writer appends them.
fn write_records(path: &Path, transfers: u64, accounts: u64) {
    let file = std::fs::File::create(path).expect("create the record file");
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
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
        out.write_all(&transfer.to_bytes()).expect("write a record");
    }
    out.flush().expect("flush the record file");
}

/// Waits until the index has ingested `transfers` records. Yields rather than sleeps: a sleep's
/// granularity (tens of µs) would be a visible share of one batch's ~1 ms.
fn wait_for(index: &HistoryIndex, transfers: u64) {
    while index.position().transfers < transfers {
        std::thread::yield_now();
    }
}

fn record_file(name: &str, transfers: u64, accounts: u64) -> PathBuf {
    let path =
        std::env::temp_dir().join(format!("ledger-bench-history-{}-{name}.records", std::process::id()));
    write_records(&path, transfers, accounts);
    path
}

/// An index over `path` and the records announced to it so far.
struct Ingesting {
    index: HistoryIndex,
    feed: DurableFeed,
    op: u64,
    announced: u64,
}

impl Ingesting {
    fn start(path: &Path) -> Self {
        let (index, feed) = HistoryIndex::start(path).expect("start the history index");
        Self { index, feed, op: 0, announced: 0 }
    }
}

fn ingest_batch(c: &mut Criterion, accounts: u64) {
    let path = record_file(&format!("ingest-{accounts}"), INGEST_FILE_RECORDS, accounts);
    let mut group = c.benchmark_group("history");
    group.throughput(Throughput::Elements(BATCH));
    group.sample_size(30);
    group.measurement_time(Duration::from_secs(5));
    group.warm_up_time(Duration::from_secs(1));
    let mut ingesting = Ingesting::start(&path);
    group.bench_function(BenchmarkId::new("ingest_batch", format!("{accounts}_accounts")), |b| {
        b.iter_custom(|iters| {
            let mut elapsed = Duration::ZERO;
            for _ in 0..iters {
                if ingesting.announced + BATCH > INGEST_FILE_RECORDS {
                    ingesting.index.stop();
                    ingesting = Ingesting::start(&path);
                }
                ingesting.op += 1;
                ingesting.announced += BATCH;
                let start = Instant::now();
                ingesting.feed.durable(ingesting.op, ingesting.announced);
                wait_for(&ingesting.index, ingesting.announced);
                elapsed += start.elapsed();
            }
            elapsed
        });
    });
    group.finish();
    ingesting.index.stop();
    drop(ingesting);
    let _ = std::fs::remove_file(&path);
}

fn rebuild(c: &mut Criterion, accounts: u64) {
    let path = record_file(&format!("rebuild-{accounts}"), REBUILD_RECORDS, accounts);
    let mut group = c.benchmark_group("history");
    group.throughput(Throughput::Elements(REBUILD_RECORDS));
    // Each iteration takes ~0.1 s: the fewest samples criterion takes, each of a few iterations.
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(8));
    group.warm_up_time(Duration::from_secs(1));
    group.bench_function(BenchmarkId::new("rebuild", format!("1m_transfers_{accounts}_accounts")), |b| {
        b.iter_custom(|iters| {
            let mut elapsed = Duration::ZERO;
            for _ in 0..iters {
                let start = Instant::now();
                let (index, feed) = HistoryIndex::start(&path).expect("start the history index");
                feed.durable(1, REBUILD_RECORDS);
                wait_for(&index, REBUILD_RECORDS);
                elapsed += start.elapsed();
                // Stopping and freeing the index is not part of a rebuild.
                index.stop();
            }
            elapsed
        });
    });
    group.finish();
    let _ = std::fs::remove_file(&path);
}

fn history_benches(c: &mut Criterion) {
    ingest_batch(c, 10_000);
    ingest_batch(c, 1_000_000);
    rebuild(c, 10_000);
}

criterion_group!(benches, history_benches);
criterion_main!(benches);
