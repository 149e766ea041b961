//! Durable write throughput and request latency through the real server, from the Rust client.
//!
//! Usage:
//! ```text
//! server-load [--addr HOST:PORT | --server-bin PATH] [--accounts 10000] [--transfers 10000000]
//!             [--connections 2] [--pipeline 4] [--batch 8189] [--rate TRANSFERS_PER_S]
//! ```
//! With `--server-bin` (e.g. `target/release/ledger`), a server is started on a fresh temporary
//! data directory on ephemeral ports and stopped afterwards; with `--addr`, an already running
//! server is used (its accounts 1..=N are created if missing; transfer ids start at a random
//! base so runs do not collide).
//!
//! Closed loop by default: each connection keeps `--pipeline` requests of `--batch` transfers in
//! flight. With `--rate`, open loop: requests are issued on a fixed schedule and latency is
//! measured from the *scheduled* send time, so a stall shows as latency instead of hiding
//! (coordinated omission). A reply arrives only after the batch is durable (fdatasync).
//! Prints transfers/s and request latency percentiles (hdrhistogram).

use hdrhistogram::Histogram;
use ledger_benches::bench::server::SpawnedServer;
use ledger_benches::{AccountChoice, TransferWorkload, XorShift, account_batches};
use ledger_client::{Client, ClientConfig};
use ledger_core::{Account, BATCH_EVENTS_MAX, Transfer};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug)]
struct Options {
    addr: Option<String>,
    server_bin: Option<String>,
    accounts: u64,
    transfers: u64,
    connections: usize,
    pipeline: usize,
    batch: usize,
    rate: Option<u64>,
}

fn options() -> Options {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let number = |name: &str, default: u64| value(name).map_or(default, |v| v.parse().expect("a number"));
    Options {
        addr: value("--addr"),
        server_bin: value("--server-bin"),
        accounts: number("--accounts", 10_000),
        transfers: number("--transfers", 10_000_000),
        connections: usize::try_from(number("--connections", 2)).unwrap_or(2).max(1),
        pipeline: usize::try_from(number("--pipeline", 4)).unwrap_or(4).max(1),
        batch: usize::try_from(number("--batch", BATCH_EVENTS_MAX as u64)).unwrap_or(BATCH_EVENTS_MAX),
        rate: value("--rate").map(|v| v.parse().expect("a rate")),
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let options = options();
    let (_server, addr) = match (&options.server_bin, &options.addr) {
        (Some(bin), _) => {
            let server = SpawnedServer::start(std::path::Path::new(bin), options.accounts, options.transfers)
                .expect("start the server");
            let addr = server.binary_addr.clone();
            (Some(server), addr)
        }
        (None, Some(addr)) => (None, addr.clone()),
        (None, None) => (None, "127.0.0.1:3001".to_owned()),
    };
    let mut clients = Vec::new();
    for _ in 0..options.connections {
        let mut config = ClientConfig::new(addr.clone());
        config.max_in_flight = options.pipeline.max(1);
        config.request_timeout = Duration::from_secs(120);
        clients.push(Client::connect(config).await.expect("connect"));
    }

    let accounts: Vec<Account> = account_batches(options.accounts).flatten().collect();
    let failures = clients[0].create_accounts(&accounts).await.expect("create accounts");
    // `exists` is fine: a running server from an earlier run.
    assert!(
        failures.iter().all(|f| f.result.name() == "exists"),
        "creating accounts failed: {:?}",
        failures.first()
    );

    let requests = options.transfers.div_ceil(options.batch as u64);
    let base_id = u128::from(XorShift::new(u64::from(std::process::id())).next_u64()) << 64;
    // Batches are generated up front so the client side spends its time on the network.
    let mut workload = TransferWorkload::new(options.accounts, AccountChoice::Uniform, 42);
    workload.next_id = base_id + 1;
    let mut batches: Vec<Vec<Transfer>> = Vec::with_capacity(usize::try_from(requests).unwrap_or(0));
    for _ in 0..requests {
        let mut batch = Vec::new();
        workload.fill_single_phase(&mut batch, options.batch);
        batches.push(batch);
    }
    let batches = Arc::new(std::sync::Mutex::new(batches.into_iter().enumerate()));
    let interval =
        options.rate.map(|rate| Duration::from_secs_f64(options.batch as f64 / rate.max(1) as f64));

    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    let in_flight = options.connections * options.pipeline;
    for worker in 0..in_flight {
        let client = clients[worker % clients.len()].clone();
        let batches = Arc::clone(&batches);
        workers.spawn(async move {
            let mut latencies = Histogram::<u64>::new_with_bounds(1, 120_000_000, 3).expect("histogram");
            let mut failed = 0_u64;
            let mut sent = 0_u64;
            loop {
                let next = batches.lock().expect("batches").next();
                let Some((index, batch)) = next else { break };
                let scheduled = match interval {
                    // Open loop: request k is due at k * interval, whoever sends it.
                    Some(interval) => {
                        let due = started + interval.mul_f64(index as f64);
                        tokio::time::sleep_until(due.into()).await;
                        due
                    }
                    None => Instant::now(),
                };
                let results = client.create_transfers(&batch).await.expect("create transfers");
                if let Some(first) = results.first()
                    && failed == 0
                {
                    eprintln!("server-load: transfer {} failed: {}", first.index, first.result.name());
                }
                failed += results.len() as u64;
                sent += batch.len() as u64;
                let micros = u64::try_from(scheduled.elapsed().as_micros()).unwrap_or(u64::MAX);
                latencies.saturating_record(micros.max(1));
            }
            (latencies, sent, failed)
        });
    }
    let mut latencies = Histogram::<u64>::new_with_bounds(1, 120_000_000, 3).expect("histogram");
    let (mut sent, mut failed) = (0_u64, 0_u64);
    while let Some(done) = workers.join_next().await {
        let (h, s, f) = done.expect("worker");
        latencies.add(&h).expect("merge histograms");
        sent += s;
        failed += f;
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "server-load: {sent} transfers ({failed} failed) over {} accounts, batches of {}, {} connection(s) x {} in flight{}",
        options.accounts,
        options.batch,
        options.connections,
        options.pipeline,
        options.rate.map(|r| format!(", open loop at {r}/s")).unwrap_or_default()
    );
    println!("  throughput: {:.0} transfers/s ({elapsed:.2} s)", sent as f64 / elapsed);
    println!(
        "  request latency (ms): p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}",
        latencies.value_at_quantile(0.50) as f64 / 1000.0,
        latencies.value_at_quantile(0.90) as f64 / 1000.0,
        latencies.value_at_quantile(0.99) as f64 / 1000.0,
        latencies.max() as f64 / 1000.0
    );
}
