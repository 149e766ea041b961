//! `ledger-bench`: load generator for `ledger serve` with `tigerbeetle benchmark`'s flags, so the
//! two can be run side by side (`--account-count`, `--transfer-count`, `--transfer-batch-count`,
//! `--id-order`, ...), plus named scenarios (`--scenario`), open loop (`--rate`), pipelining
//! (`--in-flight`) and a JSON report (`--json`). `ledger-bench --help` lists every flag;
//! `docs/capacity.md` has the commands and figures.
//!
//! With `--server-bin target/release/ledger` the server is started on a fresh temporary data
//! directory and ephemeral ports, and its CPU time, RSS, fsyncs and WAL size are measured; with
//! `--addr` a running server is used (accounts 1..=N created if missing, transfer ids from a
//! random base so runs do not collide).
//!
//! Phases: create the accounts; generate every batch up front (so the client spends the load on
//! the network, not on generation); the load, from `clients x in_flight` workers each sending its
//! own share of the batches one at a time (a two-phase batch posts the pendings of the same
//! worker's previous batch, which has been answered, so no post overtakes its pending); then
//! `--query-count` `get_account_transfers` queries, one at a time.
//!
//! `--baseline postgres` (built with the `postgres` feature) then runs the same parameters and
//! the same generated transfers against PostgreSQL (`bench::postgres`, server from
//! `scripts/postgres start`) and prints the ratio; without `--server-bin`/`--addr` it runs
//! PostgreSQL alone.

use clap::Parser;
use hdrhistogram::Histogram;
use ledger_benches::bench::machine::{Machine, ProcessSample, commit};
use ledger_benches::bench::parameters::{Baseline, Cli, Parameters};
use ledger_benches::bench::report::{Percentiles, Report, ServerFigures};
use ledger_benches::bench::server::{SpawnedServer, WalFigures, fsync_count};
use ledger_benches::{AccountChoice, TransferWorkload, XorShift, account_batches};
use ledger_client::{AccountFilter, Client, ClientConfig, Transfer};
use ledger_core::AccountFilterFlags;
use std::error::Error;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

/// Latency histogram bounds in microseconds: 1 µs to 10 minutes, 3 significant digits.
const LATENCY_MICROS_MAX: u64 = 600_000_000;
/// A request (one durable batch of up to 8,189 transfers) waiting longer than this is a failure
/// of the run, not a latency figure.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
const PROGRESS_INTERVAL: Duration = Duration::from_secs(2);

type BoxError = Box<dyn Error + Send + Sync>;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), BoxError> {
    let cli = Cli::parse();
    let parameters = Parameters::resolve(cli.scenario, &cli.overrides)?;
    let scenario = cli.scenario.map(|s| s.name());
    println!("ledger-bench: scenario {}", scenario.unwrap_or("(none)"));
    println!("  {}", parameters.flags());

    // Refuse what the baseline cannot run before spending minutes on the ledger run.
    #[cfg(feature = "postgres")]
    if cli.baseline == Some(Baseline::Postgres) {
        ledger_benches::bench::postgres::baseline::check_supported(&parameters)?;
    }
    let ledger = match (&cli.server_bin, &cli.addr) {
        (None, None) if cli.baseline.is_some() => None,
        (None, None) => {
            return Err(
                "give --server-bin PATH (start a server), --addr HOST:PORT or --baseline postgres".into()
            );
        }
        _ => Some(run_ledger(&cli, &parameters, scenario).await?),
    };
    if let Some(report) = &ledger {
        print!("{}", report.summary());
    }
    let baseline = match cli.baseline {
        Some(Baseline::Postgres) => Some(run_postgres(&cli, &parameters, scenario).await?),
        None => None,
    };
    if let Some(report) = &baseline {
        println!("postgres baseline ({}):", report.server);
        print!("{}", report.summary());
    }
    let ratio = ledger
        .as_ref()
        .zip(baseline.as_ref())
        .map(|(ledger, baseline)| ledger.transfers_per_second / baseline.transfers_per_second);
    if let Some(ratio) = ratio {
        println!("ratio: ledger / postgres = {ratio:.1}x (transfers/s, same parameters)");
    }
    if let Some(path) = &cli.json {
        let json = match (&ledger, &baseline) {
            (Some(ledger), Some(baseline)) => serde_json::to_string_pretty(&serde_json::json!({
                "ledger": ledger,
                "postgres": baseline,
                "ratio_transfers_per_second": ratio,
            }))?,
            (Some(report), None) | (None, Some(report)) => serde_json::to_string_pretty(report)?,
            (None, None) => return Ok(()),
        };
        std::fs::write(path, json + "\n")?;
        println!("report: {}", path.display());
    }
    Ok(())
}

/// The ledger run: a spawned or running server, its accounts, the load and the queries.
async fn run_ledger(
    cli: &Cli,
    parameters: &Parameters,
    scenario: Option<&'static str>,
) -> Result<Report, BoxError> {
    let (server, addr, http_addr, server_label) = match (&cli.server_bin, &cli.addr) {
        (Some(bin), _) => {
            let server = SpawnedServer::start(bin, parameters.account_count, parameters.transfer_count)?;
            let (addr, http) = (server.binary_addr.clone(), server.http_addr.clone());
            (Some(server), addr, Some(http), format!("--server-bin {}", bin.display()))
        }
        (None, Some(addr)) => (None, addr.clone(), cli.http_addr.clone(), format!("--addr {addr}")),
        (None, None) => return Err("give --server-bin PATH (start a server) or --addr HOST:PORT".into()),
    };
    let pid = server.as_ref().and_then(SpawnedServer::pid);

    let mut clients = Vec::with_capacity(parameters.clients);
    for _ in 0..parameters.clients {
        let mut config = ClientConfig::new(addr.clone());
        config.max_in_flight = parameters.in_flight;
        config.request_timeout = REQUEST_TIMEOUT;
        clients.push(Client::connect(config).await?);
    }
    let client = clients[0].clone();

    let started = Instant::now();
    for batch in account_batches(parameters.account_count) {
        let failures = client.create_accounts(&batch).await?;
        // `exists`: a running server from an earlier run (with --addr).
        if let Some(failure) = failures.iter().find(|f| f.result.name() != "exists") {
            return Err(
                format!("creating account {} failed: {}", failure.index, failure.result.name()).into()
            );
        }
    }
    println!("  {} accounts created in {:.2} s", parameters.account_count, started.elapsed().as_secs_f64());

    let workers = parameters.clients * parameters.in_flight;
    let shares = generate(parameters, workers, server.is_none())?;

    let before = pid.and_then(ProcessSample::read);
    let fsyncs_before = http_addr.as_deref().and_then(fsync_count);
    let load = run_load(parameters, &clients, shares).await?;
    let after = pid.and_then(ProcessSample::read);
    let fsyncs_after = http_addr.as_deref().and_then(fsync_count);

    let (query_latency, query_transfers_mean) = run_queries(parameters, &client).await?;
    for client in &clients {
        client.close().await;
    }
    let wal = match server {
        Some(server) => Some(server.stop()?),
        None => None,
    };

    let accepted = load.sent - load.failed;
    let server_figures = server_figures(
        parameters,
        accepted,
        load.seconds,
        before,
        after,
        fsyncs_before.zip(fsyncs_after),
        wal,
    );
    let report = Report {
        tool: "ledger-bench",
        machine: Machine::read(),
        commit: std::env::current_dir().ok().and_then(|dir| commit(&dir)),
        scenario,
        parameters: parameters.clone(),
        server: server_label,
        transfers_sent: load.sent,
        transfers_failed: load.failed,
        load_seconds: load.seconds,
        transfers_per_second: accepted as f64 / load.seconds,
        batch_latency_ms: Percentiles::from_micros(&load.latency),
        query_latency_ms: Percentiles::from_micros(&query_latency),
        query_transfers_mean,
        server_figures,
    };
    Ok(report)
}

/// The PostgreSQL baseline on the same parameters and the same generated transfers.
#[cfg(feature = "postgres")]
async fn run_postgres(
    cli: &Cli,
    parameters: &Parameters,
    scenario: Option<&'static str>,
) -> Result<Report, BoxError> {
    use ledger_benches::bench::postgres;
    postgres::baseline::check_supported(parameters)?;
    let url = &cli.postgres_url;
    let client = postgres::connect(url).await?;
    let started = Instant::now();
    postgres::prepare(&client, parameters.account_count, cli.postgres_foreign_keys).await?;
    println!(
        "  postgres: {} accounts created in {:.2} s",
        parameters.account_count,
        started.elapsed().as_secs_f64()
    );
    let shares = generate(parameters, parameters.clients * parameters.in_flight, false)?;
    let load = postgres::run_load(url, parameters, shares).await?;
    let accepted = load.sent - load.failed;
    postgres::verify(&client, accepted).await?;
    if load.retries > 0 {
        eprintln!("ledger-bench: postgres: {} batches retried after a deadlock", load.retries);
    }
    let (query_latency, query_transfers_mean) = postgres::run_queries(&client, parameters).await?;
    Ok(Report {
        tool: "ledger-bench",
        machine: Machine::read(),
        commit: std::env::current_dir().ok().and_then(|dir| commit(&dir)),
        scenario,
        parameters: parameters.clone(),
        server: format!(
            "--baseline postgres --postgres-url {url}{}",
            if cli.postgres_foreign_keys { " --postgres-foreign-keys" } else { "" }
        ),
        transfers_sent: load.sent,
        transfers_failed: load.failed,
        load_seconds: load.seconds,
        transfers_per_second: accepted as f64 / load.seconds,
        batch_latency_ms: Percentiles::from_micros(&load.latency),
        query_latency_ms: Percentiles::from_micros(&query_latency),
        query_transfers_mean,
        server_figures: ServerFigures::default(),
    })
}

#[cfg(not(feature = "postgres"))]
async fn run_postgres(_: &Cli, _: &Parameters, _: Option<&'static str>) -> Result<Report, BoxError> {
    Err("this ledger-bench was built without the PostgreSQL baseline: \
         cargo build --release -p ledger-benches --features postgres --bin ledger-bench"
        .into())
}

/// One worker's batches with their global index (the open-loop schedule slot).
type Share = Vec<(u64, Vec<Transfer>)>;

/// Every batch of the run, dealt round-robin to `workers`.
fn generate(parameters: &Parameters, workers: usize, random_base: bool) -> Result<Vec<Share>, BoxError> {
    let sampler = parameters.sampler()?;
    let mut workload =
        TransferWorkload::new(parameters.account_count, AccountChoice::Sampled(sampler), parameters.seed);
    workload.id_order = parameters.id_order;
    if random_base {
        // A running server may hold an earlier run's transfers: start in a fresh id range.
        let clock = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
        let entropy =
            u64::from(std::process::id()) ^ clock.as_secs().rotate_left(32) ^ u64::from(clock.subsec_nanos());
        workload.next_id = (u128::from(XorShift::new(entropy).next_u64()) << 64) + 1;
    }
    let mut shares: Vec<Share> = vec![Vec::new(); workers];
    let mut remaining = parameters.transfer_count;
    let mut index = 0_u64;
    while remaining > 0 {
        let count = usize::try_from(remaining.min(parameters.transfer_batch_count as u64))?;
        let worker = usize::try_from(index % workers as u64)?;
        let mut batch = Vec::with_capacity(count);
        if parameters.transfer_pending {
            let previous = shares[worker].last().map_or(&[][..], |(_, b)| b.as_slice());
            workload.fill_two_phase(&mut batch, previous, count);
        } else if parameters.transfer_chain_length > 1 {
            workload.fill_linked(&mut batch, count, parameters.transfer_chain_length);
        } else {
            workload.fill_single_phase(&mut batch, count);
        }
        shares[worker].push((index, batch));
        remaining -= count as u64;
        index += 1;
    }
    Ok(shares)
}

#[derive(Debug)]
struct LoadResult {
    sent: u64,
    failed: u64,
    seconds: f64,
    latency: Histogram<u64>,
}

fn histogram() -> Result<Histogram<u64>, BoxError> {
    Ok(Histogram::new_with_bounds(1, LATENCY_MICROS_MAX, 3)?)
}

async fn run_load(
    parameters: &Parameters,
    clients: &[Client],
    shares: Vec<Share>,
) -> Result<LoadResult, BoxError> {
    // Open loop: request k is due at k * interval from the start, whoever sends it.
    let interval = parameters
        .rate
        .map(|rate| Duration::from_secs_f64(parameters.transfer_batch_count as f64 / rate as f64));
    let total = parameters.transfer_count;
    let done = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let progress = {
        let done = Arc::clone(&done);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(PROGRESS_INTERVAL).await;
                let sent = done.load(Ordering::Relaxed);
                let seconds = started.elapsed().as_secs_f64();
                eprintln!(
                    "  {sent} / {total} transfers ({:.0}%), {:.0}/s so far",
                    sent as f64 * 100.0 / total.max(1) as f64,
                    sent as f64 / seconds
                );
            }
        })
    };
    let mut tasks = tokio::task::JoinSet::new();
    for (worker, share) in shares.into_iter().enumerate() {
        let client = clients[worker % clients.len()].clone();
        let done = Arc::clone(&done);
        let mut latency = histogram()?;
        tasks.spawn(async move {
            let (mut sent, mut failed) = (0_u64, 0_u64);
            for (index, batch) in share {
                let scheduled = match interval {
                    Some(interval) => {
                        let due = started + interval.mul_f64(index as f64);
                        tokio::time::sleep_until(due.into()).await;
                        due
                    }
                    None => Instant::now(),
                };
                let results = client.create_transfers(&batch).await?;
                let micros = u64::try_from(scheduled.elapsed().as_micros()).unwrap_or(u64::MAX);
                latency.saturating_record(micros.max(1));
                if let Some(first) = results.first()
                    && failed == 0
                {
                    eprintln!(
                        "ledger-bench: transfer {} of batch {index} failed: {}",
                        first.index,
                        first.result.name()
                    );
                }
                failed += results.len() as u64;
                sent += batch.len() as u64;
                done.fetch_add(batch.len() as u64, Ordering::Relaxed);
            }
            Ok::<_, ledger_client::ClientError>((sent, failed, latency))
        });
    }
    let mut result = LoadResult { sent: 0, failed: 0, seconds: 0.0, latency: histogram()? };
    while let Some(joined) = tasks.join_next().await {
        let (sent, failed, latency) = joined??;
        result.sent += sent;
        result.failed += failed;
        result.latency.add(&latency)?;
    }
    result.seconds = started.elapsed().as_secs_f64();
    progress.abort();
    Ok(result)
}

/// `query_count` `get_account_transfers` queries on accounts drawn like the load's, one at a
/// time; returns their latency and the mean number of transfers returned.
async fn run_queries(parameters: &Parameters, client: &Client) -> Result<(Histogram<u64>, f64), BoxError> {
    let sampler = parameters.sampler()?;
    let mut rng = XorShift::new(parameters.seed.wrapping_add(1));
    let mut latency = histogram()?;
    let mut returned = 0_u64;
    for _ in 0..parameters.query_count {
        let filter = AccountFilter {
            account_id: sampler.account(&mut rng),
            limit: u32::try_from(ledger_core::BATCH_EVENTS_MAX)?,
            flags: AccountFilterFlags::DEBITS.union(AccountFilterFlags::CREDITS),
            ..AccountFilter::default()
        };
        let sent = Instant::now();
        let transfers = client.get_account_transfers(filter).await?;
        latency.saturating_record(u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX).max(1));
        returned += transfers.len() as u64;
    }
    Ok((latency, returned as f64 / parameters.query_count.max(1) as f64))
}

fn server_figures(
    parameters: &Parameters,
    accepted: u64,
    seconds: f64,
    before: Option<ProcessSample>,
    after: Option<ProcessSample>,
    fsyncs: Option<(u64, u64)>,
    wal: Option<WalFigures>,
) -> ServerFigures {
    let cpu = before.zip(after).map(|(b, a)| a.cpu_seconds - b.cpu_seconds);
    let fsyncs_load = fsyncs.map(|(b, a)| a.saturating_sub(b));
    let events = parameters.account_count + parameters.transfer_count;
    ServerFigures {
        cpu_seconds_load: cpu,
        transfers_per_cpu_second: cpu.filter(|c| *c > 0.0).map(|c| accepted as f64 / c),
        rss_before_load_bytes: before.map(|b| b.rss_bytes),
        rss_after_load_bytes: after.map(|a| a.rss_bytes),
        rss_peak_bytes: after.map(|a| a.rss_peak_bytes),
        fsyncs_load,
        fsyncs_per_second: fsyncs_load.map(|f| f as f64 / seconds),
        wal,
        wal_dir_bytes_per_transfer: wal.map(|w| w.dir_bytes as f64 / parameters.transfer_count.max(1) as f64),
        wal_record_bytes_per_event: wal.map(|w| w.record_bytes as f64 / events.max(1) as f64),
    }
}
