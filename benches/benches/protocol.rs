//! The binary protocol's codec: what the server spends per frame before and after the engine.
//!
//! - `decode_request`: a whole request frame as the server reads it: `Header::decode` (magic,
//!   version, header CRC32C) then `decode_request` (limits, body CRC32C, records into a `Vec`).
//!   `create_transfers` carries a full batch of 8,189 transfers (1 MiB); `post_events` carries
//!   1,020 standard ledger events of ~250 bytes of JSON each (`events-load`'s request size);
//! - `encode_request`: the client's side of the `create_transfers` frame;
//! - `encode_reply`: a `create_transfers` reply in which every event failed (the largest such
//!   reply), and a reply of 8,189 transfers (`lookup_transfers`, `get_account_transfers`).
//!
//! Decoded values are dropped inside the timed loop, as the server drops them.
//! Run: `cargo bench -p ledger-benches --bench protocol`.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ledger_benches::{AccountChoice, TransferWorkload};
use ledger_core::{BATCH_EVENTS_MAX, CreateTransferResult, EventResult, Transfer};
use ledger_protocol::{
    FRAME_MAX, HEADER_SIZE, Header, Operation, Reply, Request, decode_request, encode_reply, encode_request,
};
use std::hint::black_box;
use std::time::Duration;

const ACCOUNTS: u64 = 10_000;
/// Events per `post_events` request, as `events-load --batch 1020` sends them.
const POST_EVENTS_PER_REQUEST: usize = 1_020;
const REQUEST_ID: u64 = 7;

fn transfers() -> Vec<Transfer> {
    let mut batch = Vec::with_capacity(BATCH_EVENTS_MAX);
    TransferWorkload::new(ACCOUNTS, AccountChoice::Uniform, 42)
        .fill_single_phase(&mut batch, BATCH_EVENTS_MAX);
    batch
}

/// Standard ledger events shaped like `events-load`'s `repayment.settled` (~250 bytes each).
fn ledger_events(count: usize) -> Vec<Vec<u8>> {
    (0..count)
        .map(|n| {
            format!(
                r#"{{"type":"event","event_id":"REP-1-{n}","event_type":"repayment.settled","ledger":156,"subjects":{{"loan_note":"L1-{n}","customer":"C{n}","funder":"F{}","channel":"CH{}"}},"components":{{"principal":"250.00","interest":"12.50","fee":"3.00","penalty":"1.20"}},"business_date":"2026-11-25","metadata":{{}}}}"#,
                n % 20,
                n % 8
            )
            .into_bytes()
        })
        .collect()
}

/// Decodes a whole frame (header, then body) as the server does.
fn decode_frame(frame: &[u8]) -> Request {
    let head: &[u8; HEADER_SIZE] = frame[..HEADER_SIZE].try_into().expect("a frame starts with its header");
    let header = Header::decode(head).expect("valid header");
    decode_request(&header, &frame[HEADER_SIZE..]).expect("valid request")
}

fn protocol_benches(c: &mut Criterion) {
    let batch = transfers();
    let events = ledger_events(POST_EVENTS_PER_REQUEST);
    let create_transfers = Request::CreateTransfers(batch.clone());
    let post_events = Request::PostEvents(events);
    let mut transfers_frame = Vec::with_capacity(FRAME_MAX);
    encode_request(REQUEST_ID, &create_transfers, &mut transfers_frame);
    let mut events_frame = Vec::with_capacity(FRAME_MAX);
    encode_request(REQUEST_ID, &post_events, &mut events_frame);
    assert_eq!(decode_frame(&transfers_frame), create_transfers);
    assert_eq!(decode_frame(&events_frame), post_events);

    let mut group = c.benchmark_group("protocol");
    group.sample_size(50);
    group.measurement_time(Duration::from_secs(3));
    group.warm_up_time(Duration::from_secs(1));

    group.throughput(Throughput::Elements(batch.len() as u64));
    group.bench_function(BenchmarkId::new("decode_request", "create_transfers_8189"), |b| {
        b.iter(|| decode_frame(black_box(&transfers_frame)));
    });
    group.throughput(Throughput::Elements(POST_EVENTS_PER_REQUEST as u64));
    group.bench_function(BenchmarkId::new("decode_request", "post_events_1020"), |b| {
        b.iter(|| decode_frame(black_box(&events_frame)));
    });

    let mut out: Vec<u8> = Vec::with_capacity(FRAME_MAX);
    group.throughput(Throughput::Elements(batch.len() as u64));
    group.bench_function(BenchmarkId::new("encode_request", "create_transfers_8189"), |b| {
        b.iter(|| {
            out.clear();
            encode_request(REQUEST_ID, black_box(&create_transfers), &mut out);
            out.len()
        });
    });

    let all_failed = Reply::CreateTransfers(
        (0..batch.len())
            .map(|index| EventResult {
                index: u32::try_from(index).expect("a batch index fits in u32"),
                result: CreateTransferResult::ExceedsCredits,
            })
            .collect(),
    );
    group.bench_function(BenchmarkId::new("encode_reply", "create_transfers_8189_failed"), |b| {
        b.iter(|| {
            out.clear();
            encode_reply(REQUEST_ID, Operation::CreateTransfers, black_box(&all_failed), &mut out);
            out.len()
        });
    });
    let found = Reply::Transfers(batch);
    group.bench_function(BenchmarkId::new("encode_reply", "transfers_8189"), |b| {
        b.iter(|| {
            out.clear();
            encode_reply(REQUEST_ID, Operation::LookupTransfers, black_box(&found), &mut out);
            out.len()
        });
    });
    group.finish();
}

criterion_group!(benches, protocol_benches);
criterion_main!(benches);
