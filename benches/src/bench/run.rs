//! One `ledger-bench` run against the ledger: a spawned or running server, its accounts, the
//! write load (closed or open loop, optionally with reads beside it), the history queries after
//! it, and the server's figures.
//!
//! Phases of a phase: create the accounts; generate every batch up front (so the client spends
//! the load on the network, not on generation); the load, from `clients x in_flight` workers each
//! sending its own share of the batches one at a time (a two-phase batch posts the pendings of
//! the same worker's previous batch, which has been answered, so no post overtakes its pending);
//! then `query_count` `get_account_transfers` queries, one at a time.
//!
//! With `--reads` the write load runs twice: first alone, then with the reads beside it, each on
//! a fresh server with `--server-bin` (the same server, in a fresh id range, with `--addr`).

use super::distribution::SamplerError;
use super::machine::{Machine, ProcessSample, commit};
use super::parameters::Parameters;
use super::progress::{Progress, ProgressMode};
use super::reads::{ReadError, Readers};
use super::report::{Percentiles, ReadFigures, Report, ServerFigures};
use super::server::{ServerError, SpawnedServer, WalFigures, fsync_count};
use crate::{AccountChoice, TransferWorkload, XorShift, account_batches};
use hdrhistogram::Histogram;
use ledger_client::{AccountFilter, Client, ClientConfig, ClientError, Transfer};
use ledger_core::AccountFilterFlags;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

/// Latency histogram bounds in microseconds: 1 µs to 10 minutes, 3 significant digits.
pub const LATENCY_MICROS_MAX: u64 = 600_000_000;
/// A request (one durable batch of up to 8,189 transfers) waiting longer than this is a failure
/// of the run, not a latency figure.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// Where the ledger under test runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Start this `ledger` binary on a temporary data directory for each phase, measure it, stop it.
    Spawn { bin: PathBuf },
    /// A running server (its accounts 1..=N are created if missing; transfer ids from a random
    /// base so runs do not collide).
    Running { addr: String, http_addr: Option<String> },
}

impl Target {
    /// How the report names it.
    #[must_use]
    pub fn label(&self) -> String {
        match self {
            Self::Spawn { bin } => format!("--server-bin {}", bin.display()),
            Self::Running { addr, .. } => format!("--addr {addr}"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Server(#[from] ServerError),
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error(transparent)]
    Reads(#[from] ReadError),
    #[error(transparent)]
    Accounts(#[from] SamplerError),
    #[error("creating account {index} failed: {result}")]
    AccountRefused { index: u32, result: &'static str },
    #[error("a load task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    #[error("latency histogram: {0}")]
    Histogram(String),
    #[error("{0} does not fit this platform's usize")]
    Size(&'static str),
}

/// One worker's batches with their global index (the open-loop schedule slot).
pub type Share = Vec<(u64, Vec<Transfer>)>;

/// A fresh latency histogram in microseconds.
///
/// # Errors
/// Never with these constant bounds; kept as an error rather than a panic.
pub fn histogram() -> Result<Histogram<u64>, RunError> {
    Histogram::new_with_bounds(1, LATENCY_MICROS_MAX, 3).map_err(|e| RunError::Histogram(e.to_string()))
}

/// The ledger run: with reads, the write load alone first, then with the reads, in one report.
///
/// # Errors
/// The server cannot be started or reached, a request fails, or an account is refused.
pub async fn run_ledger(
    target: &Target,
    parameters: &Parameters,
    scenario: Option<&'static str>,
    progress: ProgressMode,
) -> Result<Report, RunError> {
    let Some(reads) = parameters.reads else {
        return run_phase(target, parameters, scenario, progress).await.map(|(report, _)| report);
    };
    // Refuse before the first phase rather than after it.
    if let Target::Running { http_addr: None, .. } = target
        && reads.kind.needs_http()
    {
        return Err(ReadError::NoHttpAddress { kind: reads.kind.name() }.into());
    }
    // The queries after the load are not compared: run them once, after the second phase.
    let alone = Parameters { reads: None, query_count: 0, ..parameters.clone() };
    println!("  phase 1 of 2: the writes alone");
    let (without, _) = run_phase(target, &alone, scenario, progress).await?;
    println!(
        "  {:.0} tx/s, batch p50 {:.2} ms, p99 {:.2} ms",
        without.transfers_per_second, without.batch_latency_ms.p50, without.batch_latency_ms.p99
    );
    println!("  phase 2 of 2: the writes with {} reads at {}/s", reads.kind.name(), reads.rate);
    let (mut report, read_load) = run_phase(target, parameters, scenario, progress).await?;
    if let Some(read_load) = read_load {
        report.reads = Some(ReadFigures::new(reads.kind, &read_load, report.transfers_per_second, &without));
    }
    Ok(report)
}

/// One server (spawned or running), its accounts, the load (with the reads if the parameters
/// have them) and the queries.
async fn run_phase(
    target: &Target,
    parameters: &Parameters,
    scenario: Option<&'static str>,
    progress: ProgressMode,
) -> Result<(Report, Option<super::reads::ReadLoad>), RunError> {
    let (server, addr, http_addr) = match target {
        Target::Spawn { bin } => {
            let server = SpawnedServer::start(bin, parameters.account_count, parameters.transfer_count)?;
            let (addr, http) = (server.binary_addr.clone(), server.http_addr.clone());
            (Some(server), addr, Some(http))
        }
        Target::Running { addr, http_addr } => (None, addr.clone(), http_addr.clone()),
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

    create_accounts(&client, parameters.account_count, progress).await?;

    let workers = parameters.clients * parameters.in_flight;
    let shares = generate(parameters, workers, server.is_none())?;

    let before = pid.and_then(ProcessSample::read);
    let fsyncs_before = http_addr.as_deref().and_then(fsync_count);
    let readers = match parameters.reads {
        Some(reads) => Some(Readers::start(reads, parameters, &addr, http_addr.as_deref()).await?),
        None => None,
    };
    let load = run_load(parameters, &clients, shares, progress, readers.as_ref().map(Readers::done)).await;
    let read_load = match readers {
        Some(readers) => Some(readers.stop().await?),
        None => None,
    };
    let load = load?;
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
        server: target.label(),
        transfers_sent: load.sent,
        transfers_failed: load.failed,
        load_seconds: load.seconds,
        transfers_per_second: accepted as f64 / load.seconds,
        batch_latency_ms: Percentiles::from_micros(&load.latency),
        query_latency_ms: Percentiles::from_micros(&query_latency),
        query_transfers_mean,
        server_figures,
        reads: None,
    };
    Ok((report, read_load))
}

/// Accounts `1..=count`; `exists` is accepted (a running server from an earlier run).
async fn create_accounts(client: &Client, count: u64, progress: ProgressMode) -> Result<(), RunError> {
    let started = Instant::now();
    let done = Arc::new(AtomicU64::new(0));
    let display = Progress::start(progress, "accounts", "accounts", count, Arc::clone(&done), None);
    for batch in account_batches(count) {
        let failures = client.create_accounts(&batch).await?;
        if let Some(failure) = failures.iter().find(|f| f.result.name() != "exists") {
            display.finish();
            return Err(RunError::AccountRefused { index: failure.index, result: failure.result.name() });
        }
        done.fetch_add(batch.len() as u64, Ordering::Relaxed);
    }
    display.finish();
    println!("  {count} accounts created in {:.2} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// Every batch of the run, dealt round-robin to `workers`; with `random_base`, ids start in a
/// fresh random range (a running server may hold an earlier run's transfers).
///
/// # Errors
/// The parameters' account sampler is invalid (checked by `Parameters::resolve` already).
pub fn generate(parameters: &Parameters, workers: usize, random_base: bool) -> Result<Vec<Share>, RunError> {
    let sampler = parameters.sampler()?;
    let mut workload =
        TransferWorkload::new(parameters.account_count, AccountChoice::Sampled(sampler), parameters.seed);
    workload.id_order = parameters.id_order;
    if random_base {
        let clock = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
        let entropy =
            u64::from(std::process::id()) ^ clock.as_secs().rotate_left(32) ^ u64::from(clock.subsec_nanos());
        workload.next_id = (u128::from(XorShift::new(entropy).next_u64()) << 64) + 1;
    }
    let workers = workers.max(1);
    let mut shares: Vec<Share> = vec![Vec::new(); workers];
    let mut remaining = parameters.transfer_count;
    let mut index = 0_u64;
    while remaining > 0 {
        let count = usize::try_from(remaining.min(parameters.transfer_batch_count as u64))
            .map_err(|_| RunError::Size("a batch"))?;
        let worker = usize::try_from(index % workers as u64).map_err(|_| RunError::Size("a worker index"))?;
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

/// What the write load did.
#[derive(Debug)]
pub struct LoadResult {
    pub sent: u64,
    /// Transfers the server refused (the workload's own bug if not zero).
    pub failed: u64,
    pub seconds: f64,
    pub latency: Histogram<u64>,
}

async fn run_load(
    parameters: &Parameters,
    clients: &[Client],
    shares: Vec<Share>,
    progress: ProgressMode,
    reads: Option<Arc<AtomicU64>>,
) -> Result<LoadResult, RunError> {
    // Open loop: request k is due at k * interval from the start, whoever sends it.
    let interval = parameters
        .rate
        .map(|rate| Duration::from_secs_f64(parameters.transfer_batch_count as f64 / rate as f64));
    let done = Arc::new(AtomicU64::new(0));
    let display =
        Progress::start(progress, "load", "transfers", parameters.transfer_count, Arc::clone(&done), reads);
    let started = Instant::now();
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
            Ok::<_, ClientError>((sent, failed, latency))
        });
    }
    let mut result = LoadResult { sent: 0, failed: 0, seconds: 0.0, latency: histogram()? };
    let mut failure = None;
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(Ok((sent, failed, latency))) => {
                result.sent += sent;
                result.failed += failed;
                result.latency.add(&latency).map_err(|e| RunError::Histogram(e.to_string()))?;
            }
            Ok(Err(error)) => failure = failure.or(Some(RunError::Client(error))),
            Err(error) => failure = failure.or(Some(RunError::Task(error))),
        }
    }
    result.seconds = started.elapsed().as_secs_f64();
    display.finish();
    match failure {
        Some(error) => Err(error),
        None => Ok(result),
    }
}

/// `query_count` `get_account_transfers` queries on accounts drawn like the load's, one at a
/// time; returns their latency and the mean number of transfers returned.
async fn run_queries(parameters: &Parameters, client: &Client) -> Result<(Histogram<u64>, f64), RunError> {
    let sampler = parameters.sampler()?;
    let mut rng = XorShift::new(parameters.seed.wrapping_add(1));
    let mut latency = histogram()?;
    let mut returned = 0_u64;
    let limit =
        u32::try_from(ledger_core::BATCH_EVENTS_MAX).map_err(|_| RunError::Size("the query limit"))?;
    for _ in 0..parameters.query_count {
        let filter = AccountFilter {
            account_id: sampler.account(&mut rng),
            limit,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::parameters::{Overrides, Parameters};

    fn parameters(transfers: u64, batch: usize) -> Parameters {
        let flags = Overrides {
            transfer_count: Some(transfers),
            transfer_batch_count: Some(batch),
            account_count: Some(100),
            ..Overrides::default()
        };
        Parameters::resolve(None, &flags).expect("valid")
    }

    #[test]
    fn batches_are_dealt_round_robin_with_their_schedule_slot() {
        let shares = generate(&parameters(1_050, 100), 4, false).expect("generated");
        assert_eq!(shares.len(), 4);
        let slots: Vec<Vec<u64>> = shares.iter().map(|s| s.iter().map(|(i, _)| *i).collect()).collect();
        assert_eq!(slots, vec![vec![0, 4, 8], vec![1, 5, 9], vec![2, 6, 10], vec![3, 7]]);
        let sizes: u64 = shares.iter().flatten().map(|(_, b)| b.len() as u64).sum();
        assert_eq!(sizes, 1_050);
        assert_eq!(shares[2][2].1.len(), 50, "the last batch is short");
    }

    #[test]
    fn a_random_base_moves_the_ids_out_of_the_sequential_range() {
        let fixed = generate(&parameters(10, 10), 1, false).expect("generated");
        let moved = generate(&parameters(10, 10), 1, true).expect("generated");
        assert_eq!(fixed[0][0].1[0].id, 1);
        assert!(moved[0][0].1[0].id > u128::from(u64::MAX));
    }
}
