//! Standard ledger events per second through the real server, durable, from the Rust client.
//!
//! Usage:
//! ```text
//! events-load [--addr HOST:PORT | --server-bin PATH] [--loans 100000] [--batch 1024]
//!             [--connections 2] [--pipeline 4] [--rate EVENTS_PER_S] [--follow]
//! ```
//! The mix, per loan note (a realistic day of a consumer-credit platform, `docs/events.md`):
//! `fund.reserved`, `loan.disbursed`, `interest.accrued` (interest and fee),
//! `penalty.accrued`, `repayment.settled` with four components (principal, interest, fee,
//! penalty) and `clearing.allocated` to four parties (funder, channel, supplier, platform): six
//! events, 17 postings. Funders and channels are funded first (not timed). A loan's events go
//! in order in one request or in consecutive requests of one connection, so each finds what it
//! needs; loans are spread over connections. Every event is checked to be `ok`.
//!
//! Prints events/s, postings/s and request latency percentiles.
//!
//! `--rate` paces the requests to that many events per second (default: as fast as the server
//! answers). `--follow` also reads the change feed (`read_journal` through a
//! `JournalFollower`, on a connection of its own) and measures **feed lag**: for each request,
//! the time from its acknowledgement to its last event's entry arriving at the follower (0 when
//! the entry arrived first: the server makes entries readable before it replies). The follower
//! first catches up with what is already in the journal (the funding), untimed.

use hdrhistogram::Histogram;
use ledger_benches::bench::server::SpawnedServer;
use ledger_client::{Client, ClientConfig, JournalFollower};
use ledger_events::posting::{EntrySide, entry_transfer_id};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

const FUNDERS: u64 = 10;
const CHANNELS: u64 = 4;
/// Postings per loan in the mix (see the module docs).
const POSTINGS_PER_LOAN: u64 = 17;
const EVENTS_PER_LOAN: u64 = 6;
const EVENTS_PER_LOAN_USIZE: usize = 6;
const _: () = assert!(EVENTS_PER_LOAN_USIZE as u64 == EVENTS_PER_LOAN);

struct Options {
    addr: Option<String>,
    server_bin: Option<String>,
    loans: u64,
    batch: usize,
    connections: usize,
    pipeline: usize,
    /// Events per second to pace at; `None`: unpaced.
    rate: Option<u64>,
    follow: bool,
}

/// Transfers per page the lag follower asks for: a page of them fits a reply body.
const FOLLOW_LIMIT: u32 = 2048;
/// How long the lag follower may take to catch up after the last acknowledgement.
const FOLLOW_CATCH_UP: Duration = Duration::from_secs(120);

fn options() -> Options {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let number = |name: &str, default: u64| value(name).map_or(default, |v| v.parse().expect("a number"));
    Options {
        addr: value("--addr"),
        server_bin: value("--server-bin"),
        loans: number("--loans", 100_000),
        batch: usize::try_from(number("--batch", 1024)).unwrap_or(1024).max(EVENTS_PER_LOAN_USIZE),
        connections: usize::try_from(number("--connections", 2)).unwrap_or(2).max(1),
        pipeline: usize::try_from(number("--pipeline", 4)).unwrap_or(4).max(1),
        rate: value("--rate").map(|v| v.parse::<u64>().expect("a number").max(1)),
        follow: args.iter().any(|a| a == "--follow"),
    }
}

fn event(id: &str, event_type: &str, subjects: &str, components: &str) -> Vec<u8> {
    format!(
        r#"{{"type":"event","event_id":"{id}","event_type":"{event_type}","ledger":156,"subjects":{{{subjects}}},"components":{{{components}}},"business_date":"2026-11-25","metadata":{{}}}}"#
    )
    .into_bytes()
}

/// The six events of loan `n` (module docs), in the order they must apply.
fn loan_events(run: u64, n: u64) -> [Vec<u8>; 6] {
    let funder = n % FUNDERS;
    let channel = n % CHANNELS;
    let loan =
        format!(r#""loan_note":"L{run}-{n}","customer":"C{n}","funder":"F{funder}","channel":"CH{channel}""#);
    let id = |kind: &str| format!("{kind}-{run}-{n}");
    [
        event(&id("RSV"), "fund.reserved", &format!(r#""funder":"F{funder}""#), r#""principal":"1000.00""#),
        event(&id("DSB"), "loan.disbursed", &loan, r#""principal":"1000.00""#),
        event(
            &id("ACR"),
            "interest.accrued",
            &format!(r#""loan_note":"L{run}-{n}""#),
            r#""interest":"12.50","fee":"3.00""#,
        ),
        event(&id("PEN"), "penalty.accrued", &format!(r#""loan_note":"L{run}-{n}""#), r#""penalty":"1.20""#),
        event(
            &id("REP"),
            "repayment.settled",
            &loan,
            r#""principal":"250.00","interest":"12.50","fee":"3.00","penalty":"1.20""#,
        ),
        event(
            &id("CLR"),
            "clearing.allocated",
            &format!(r#""funder":"F{funder}","channel":"CH{channel}","supplier":"S1""#),
            r#""funder":"8.00","channel":"1.00","supplier":"2.00","platform":"5.70""#,
        ),
    ]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let options = options();
    let (_server, addr) = match (&options.server_bin, &options.addr) {
        (Some(bin), _) => {
            let server = SpawnedServer::start(
                std::path::Path::new(bin),
                (options.loans * 8).max(10_000),
                options.loans * 17 + 1_000,
            )
            .expect("start the server");
            let addr = server.binary_addr.clone();
            (Some(server), addr)
        }
        (None, Some(addr)) => (None, addr.clone()),
        (None, None) => (None, "127.0.0.1:3001".to_owned()),
    };
    let run = u64::from(std::process::id());
    let mut clients = Vec::new();
    for _ in 0..options.connections {
        let mut config = ClientConfig::new(addr.clone());
        config.max_in_flight = options.pipeline;
        config.request_timeout = Duration::from_secs(120);
        clients.push(Client::connect(config).await.expect("connect"));
    }

    // Funding (not timed): every funder's money arrives and moves to every channel.
    let mut funding = Vec::new();
    for f in 0..FUNDERS {
        funding.push(event(
            &format!("FUND-{run}-{f}"),
            "fund.arrived",
            &format!(r#""funder":"F{f}","fund_account":"FA{f}""#),
            r#""principal":"100000000000.00""#,
        ));
        for c in 0..CHANNELS {
            funding.push(event(
                &format!("MOVE-{run}-{f}-{c}"),
                "fund.external_transaction_recorded",
                &format!(r#""fund_account":"FA{f}","channel":"CH{c}""#),
                r#""principal":"10000000000.00","fee":"0.00""#,
            ));
        }
    }
    let refused = clients[0].post_events(&funding).await.expect("funding");
    assert!(refused.is_empty(), "funding refused: {refused:?}");

    // Requests: each connection gets whole loans, in order. Each request is known by its
    // index and by the first transfer id of its last event (what the lag follower looks for).
    let loans_per_request = (options.batch / EVENTS_PER_LOAN_USIZE).max(1);
    let connections = options.connections as u64;
    let mut per_connection: Vec<Vec<(usize, Vec<Vec<u8>>)>> = vec![Vec::new(); options.connections];
    let mut watched: HashMap<u128, usize> = HashMap::new();
    for (c, requests) in per_connection.iter_mut().enumerate() {
        let mine: Vec<u64> = (0..options.loans).filter(|n| n % connections == c as u64).collect();
        for chunk in mine.chunks(loans_per_request) {
            let index = watched.len();
            let last = chunk.last().copied().unwrap_or(0);
            watched.insert(entry_transfer_id(EntrySide::Original, &format!("CLR-{run}-{last}"), 0), index);
            requests.push((index, chunk.iter().flat_map(|&n| loan_events(run, n)).collect()));
        }
    }
    let requests_total = watched.len();
    // Nanoseconds since `epoch` (+1, so 0 means "not yet") of each request's acknowledgement
    // and of its entry's arrival at the follower.
    let epoch = Instant::now();
    let acknowledged: Arc<Vec<AtomicU64>> =
        Arc::new((0..requests_total).map(|_| AtomicU64::new(0)).collect());
    let arrived: Arc<Vec<AtomicU64>> = Arc::new((0..requests_total).map(|_| AtomicU64::new(0)).collect());
    let stop_following = Arc::new(AtomicBool::new(false));
    let follower = if options.follow {
        let mut config = ClientConfig::new(addr.clone());
        config.request_timeout = Duration::from_secs(120);
        let client = Client::connect(config).await.expect("connect the follower");
        let mut follower = JournalFollower::new(client, 0).with_limit(FOLLOW_LIMIT);
        // Catch up with what the journal holds already (untimed), without waiting.
        let mut skipped = 0_u64;
        while follower.next_within(Duration::ZERO).await.expect("read the journal").is_some() {
            skipped += 1;
        }
        println!("  follower: caught up with {skipped} earlier entries");
        let (arrived, stop) = (Arc::clone(&arrived), Arc::clone(&stop_following));
        Some(tokio::spawn(follow(follower, watched, epoch, arrived, stop)))
    } else {
        None
    };

    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for (client, requests) in clients.iter().zip(per_connection) {
        let client = client.clone();
        let pipeline = options.pipeline;
        let acknowledged = Arc::clone(&acknowledged);
        // This connection's share of the rate: one request every `interval`.
        let interval = options.rate.map(|rate| {
            Duration::from_secs_f64(
                (loans_per_request * EVENTS_PER_LOAN_USIZE) as f64 * options.connections as f64 / rate as f64,
            )
        });
        tasks.spawn(async move {
            let mut latencies = Histogram::<u64>::new_with_bounds(1, 120_000_000, 3).expect("histogram");
            let mut in_flight = tokio::task::JoinSet::new();
            let mut events = 0_u64;
            for (sent_count, (index, request)) in requests.into_iter().enumerate() {
                if let Some(interval) = interval {
                    tokio::time::sleep_until((started + interval.mul_f64(sent_count as f64)).into()).await;
                }
                // Loans in later requests of this connection never depend on earlier ones,
                // so several may be in flight.
                while in_flight.len() >= pipeline {
                    let (micros, count) = in_flight.join_next().await.expect("a task").expect("no panic");
                    latencies.saturating_record(micros);
                    events += count;
                }
                let client = client.clone();
                let acknowledged = Arc::clone(&acknowledged);
                in_flight.spawn(async move {
                    let sent = Instant::now();
                    let refused = client.post_events(&request).await.expect("posted");
                    acknowledged[index].store(nanos_since(epoch), Ordering::Release);
                    assert!(refused.is_empty(), "events refused: {:?}", &refused[..refused.len().min(3)]);
                    (
                        u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX).max(1),
                        request.len() as u64,
                    )
                });
            }
            while let Some(done) = in_flight.join_next().await {
                let (micros, count) = done.expect("no panic");
                latencies.saturating_record(micros);
                events += count;
            }
            (latencies, events)
        });
    }
    let mut latencies = Histogram::<u64>::new_with_bounds(1, 120_000_000, 3).expect("histogram");
    let mut events = 0_u64;
    while let Some(done) = tasks.join_next().await {
        let (h, e) = done.expect("connection task");
        latencies.add(&h).expect("merge");
        events += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let postings = events / EVENTS_PER_LOAN * POSTINGS_PER_LOAN;
    println!(
        "events-load: {events} events ({} loans x {EVENTS_PER_LOAN}), requests of up to {} events, {} connection(s) x {} in flight{}",
        options.loans,
        loans_per_request * EVENTS_PER_LOAN_USIZE,
        options.connections,
        options.pipeline,
        options.rate.map(|r| format!(", paced at {r} events/s")).unwrap_or_default()
    );
    println!(
        "  throughput: {:.0} events/s, {:.0} postings/s ({elapsed:.2} s)",
        events as f64 / elapsed,
        postings as f64 / elapsed
    );
    println!(
        "  request latency (ms): p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}",
        latencies.value_at_quantile(0.50) as f64 / 1000.0,
        latencies.value_at_quantile(0.90) as f64 / 1000.0,
        latencies.value_at_quantile(0.99) as f64 / 1000.0,
        latencies.max() as f64 / 1000.0
    );

    if let Some(follower) = follower {
        let deadline = Instant::now() + FOLLOW_CATCH_UP;
        while arrived.iter().any(|a| a.load(Ordering::Acquire) == 0) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let caught_up = started.elapsed().as_secs_f64();
        stop_following.store(true, Ordering::Release);
        let entries = follower.await.expect("the follower ran");
        let mut lag = Histogram::<u64>::new_with_bounds(1, 600_000_000, 3).expect("histogram");
        let mut missing = 0_u64;
        for (acked, came) in acknowledged.iter().zip(arrived.iter()) {
            let (acked, came) = (acked.load(Ordering::Acquire), came.load(Ordering::Acquire));
            if came == 0 {
                missing += 1;
            } else {
                lag.saturating_record((came.saturating_sub(acked) / 1000).max(1));
            }
        }
        println!(
            "  feed: {entries} entries ({:.0} entries/s until caught up, {caught_up:.2} s){}",
            entries as f64 / caught_up,
            if missing > 0 { format!(", {missing} requests NOT SEEN") } else { String::new() }
        );
        println!(
            "  feed lag (ms, acknowledgement to entry at the follower): p50 {:.2}  p99 {:.2}  max {:.2}",
            lag.value_at_quantile(0.50) as f64 / 1000.0,
            lag.value_at_quantile(0.99) as f64 / 1000.0,
            lag.max() as f64 / 1000.0
        );
    }
}

fn nanos_since(epoch: Instant) -> u64 {
    u64::try_from(epoch.elapsed().as_nanos()).unwrap_or(u64::MAX).max(1)
}

/// The lag follower: records when each watched entry arrives, until told to stop. Returns the
/// entries read.
async fn follow(
    mut follower: JournalFollower,
    watched: HashMap<u128, usize>,
    epoch: Instant,
    arrived: Arc<Vec<AtomicU64>>,
    stop: Arc<AtomicBool>,
) -> u64 {
    let mut entries = 0_u64;
    while !stop.load(Ordering::Acquire) {
        let Some(entry) = follower.next_within(Duration::from_millis(200)).await.expect("read the journal")
        else {
            continue;
        };
        entries += 1;
        let first = entry.json["transfers"][0]["transfer_id"].as_str().and_then(|id| id.parse::<u128>().ok());
        if let Some(&index) = first.and_then(|id| watched.get(&id)) {
            arrived[index].store(nanos_since(epoch), Ordering::Release);
        }
    }
    entries
}
