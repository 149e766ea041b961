//! Standard ledger events on the CPU: parsing, planning and building the chain of one event,
//! and a whole `post_events` request of the `events-load` mix, with no engine and no I/O.
//!
//! The three single events are the heavy ones of the mix: a disbursement (four postings), a
//! repayment with four components (six postings) and a clearing to four parties (four
//! postings). `request` runs what the server does per request on its network thread, for 170
//! loans × 6 events (1,020 events, the request size of `events-load`): parse, body hash, plan,
//! the accounts to open (deduplicated per request) and the chain; `per_event_api` with
//! `WireEvent::from_json`, `Chart::plan` and `entry_chain` per line, `planner` with
//! `posting::RequestPlanner` (what `post_events` uses).
//!
//! Run: `cargo bench -p ledger-events --bench events`.

use std::collections::HashSet;
use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ledger_core::{Account, Transfer};
use ledger_events::{Chart, WireEvent, posting};

const LOANS_PER_REQUEST: u64 = 170;

fn line(id: &str, event_type: &str, subjects: &str, components: &str) -> String {
    format!(
        r#"{{"type":"event","event_id":"{id}","event_type":"{event_type}","ledger":156,"subjects":{{{subjects}}},"components":{{{components}}},"business_date":"2026-11-25","metadata":{{}}}}"#
    )
}

/// The six events of loan `n`, as `events-load` sends them.
fn loan_events(n: u64) -> [String; 6] {
    let (funder, channel) = (n % 10, n % 4);
    let loan =
        format!(r#""loan_note":"L{n}","customer":"C{n}","funder":"F{funder}","channel":"CH{channel}""#);
    let note = format!(r#""loan_note":"L{n}""#);
    [
        line(
            &format!("RSV-{n}"),
            "fund.reserved",
            &format!(r#""funder":"F{funder}""#),
            r#""principal":"1000.00""#,
        ),
        line(&format!("DSB-{n}"), "loan.disbursed", &loan, r#""principal":"1000.00""#),
        line(&format!("ACR-{n}"), "interest.accrued", &note, r#""interest":"12.50","fee":"3.00""#),
        line(&format!("PEN-{n}"), "penalty.accrued", &note, r#""penalty":"1.20""#),
        line(
            &format!("REP-{n}"),
            "repayment.settled",
            &loan,
            r#""principal":"250.00","interest":"12.50","fee":"3.00","penalty":"1.20""#,
        ),
        line(
            &format!("CLR-{n}"),
            "clearing.allocated",
            &format!(r#""funder":"F{funder}","channel":"CH{channel}","supplier":"S1""#),
            r#""funder":"8.00","channel":"1.00","supplier":"2.00","platform":"5.70""#,
        ),
    ]
}

/// The three single events measured on their own: (name, index in `loan_events`).
const SINGLE: [(&str, usize); 3] = [("disbursement", 1), ("repayment", 4), ("clearing", 5)];

fn entry(line: &str) -> ledger_events::LedgerEvent {
    match WireEvent::from_json(line).expect("a valid event") {
        WireEvent::Entry(event) => event,
        WireEvent::Reversal(_) => panic!("the mix has no reversals"),
    }
}

fn single_events(c: &mut Criterion) {
    let chart = Chart::shipped_default();
    let events = loan_events(7);
    let mut group = c.benchmark_group("event");
    group.throughput(Throughput::Elements(1));
    for (name, index) in SINGLE {
        let text = events[index].as_str();
        group.bench_with_input(BenchmarkId::new("parse", name), text, |b, text| {
            b.iter(|| WireEvent::from_json(black_box(text)).expect("valid"));
        });
        let event = entry(text);
        group.bench_with_input(BenchmarkId::new("plan", name), &event, |b, event| {
            b.iter(|| chart.plan(black_box(event)).expect("plans"));
        });
        let wire = WireEvent::Entry(event.clone());
        let plan = chart.plan(&event).expect("plans");
        group.bench_with_input(BenchmarkId::new("chain", name), &(wire, plan), |b, (wire, plan)| {
            b.iter(|| posting::entry_chain(plan, posting::body_hash(black_box(wire))));
        });
        group.bench_with_input(BenchmarkId::new("planner", name), text, |b, text| {
            // A fresh planner per event: no account known from earlier events.
            b.iter(|| posting::RequestPlanner::new(&chart).plan_line(black_box(text)).expect("plans"));
        });
        group.bench_with_input(BenchmarkId::new("all", name), text, |b, text| {
            b.iter(|| {
                let wire = WireEvent::from_json(black_box(text)).expect("valid");
                let hash = posting::body_hash(&wire);
                let WireEvent::Entry(event) = wire else { unreachable!("an entry") };
                let plan = chart.plan(&event).expect("plans");
                (plan.accounts_to_open(), posting::entry_chain(&plan, hash))
            });
        });
    }
    group.finish();
}

/// What `post_events` does per request before queueing, with the per-event API.
fn request_per_event_api(chart: &Chart, lines: &[String]) -> (Vec<Account>, Vec<Vec<Transfer>>) {
    let mut accounts = Vec::new();
    let mut opened = HashSet::new();
    let mut chains = Vec::new();
    for text in lines {
        let wire = WireEvent::from_json(text).expect("valid");
        let hash = posting::body_hash(&wire);
        let WireEvent::Entry(event) = wire else { unreachable!("an entry") };
        let plan = chart.plan(&event).expect("plans");
        for account in plan.accounts_to_open() {
            if opened.insert(account.id) {
                accounts.push(account);
            }
        }
        chains.push(posting::entry_chain(&plan, hash));
    }
    (accounts, chains)
}

/// The same with `RequestPlanner`.
fn request_planner(chart: &Chart, lines: &[String]) -> (Vec<Account>, Vec<Vec<Transfer>>) {
    let mut accounts = Vec::new();
    let mut opened = HashSet::new();
    let mut chains = Vec::new();
    let mut planner = posting::RequestPlanner::with_capacity(chart, lines.len());
    for text in lines {
        let posting::PlannedEvent::Entry { accounts_new, chain } = planner.plan_line(text).expect("plans")
        else {
            unreachable!("an entry")
        };
        for account in accounts_new {
            if opened.insert(account.id) {
                accounts.push(account);
            }
        }
        chains.push(chain);
    }
    (accounts, chains)
}

fn request(c: &mut Criterion) {
    let chart = Chart::shipped_default();
    let lines: Vec<String> = (0..LOANS_PER_REQUEST).flat_map(loan_events).collect();
    let mut group = c.benchmark_group("request");
    group.throughput(Throughput::Elements(lines.len() as u64));
    assert_eq!(request_per_event_api(&chart, &lines), request_planner(&chart, &lines), "the same work");
    group.bench_function("per_event_api", |b| b.iter(|| request_per_event_api(&chart, black_box(&lines))));
    group.bench_function("planner", |b| b.iter(|| request_planner(&chart, black_box(&lines))));
    group.finish();
}

fn config() -> Criterion {
    Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = single_events, request
}
criterion_main!(benches);
