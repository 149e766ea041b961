//! Instruction counts (callgrind, through gungraun) of the two hottest pure functions: the
//! engine's `apply` and the protocol's frame decoder. Unlike wall-clock times on the shared
//! 2-core VM, the counts repeat to within a fraction of a percent, so a growth of a few percent
//! is a real regression: `scripts/instructions` compares a run against a saved baseline and
//! fails above a threshold.
//!
//! Each benchmark runs once under valgrind; only the benchmark function is counted, not its
//! setup (building the ledger and the batch, encoding the frame) and not the dropping of what it
//! returns.
//!
//! - `apply`: one batch of 8,189 single-phase transfers into a ledger with 10,000 accounts
//!   (scattered ids, id indexes pre-sized to a low load: see `scattered` and
//!   `ledger_and_batch`; records to memory);
//! - `decode_request`: `Header::decode` plus `decode_request` of a `create_transfers` frame of
//!   8,189 transfers, and of a `post_events` frame of 1,020 events.
//!
//! Needs valgrind and `gungraun-runner` of the same version as the `gungraun` library:
//! `cargo install gungraun-runner --version 0.20.0 --locked` (see `scripts/instructions`).
//! `cargo test` and `cargo clippy --all-targets` compile this file but never run it.

use gungraun::{library_benchmark, library_benchmark_group, main};
use ledger_benches::bench::IdOrder;
use ledger_benches::{AccountChoice, TransferWorkload, account_batches};
use ledger_core::{BATCH_EVENTS_MAX, BatchResults, Events, Ledger, LedgerConfig, Transfer};
use ledger_protocol::{FRAME_MAX, HEADER_SIZE, Header, Request, decode_request, encode_request};
use std::hint::black_box;

/// The writer's clock for the measured batch (after the accounts' batches at 1, 2, ...).
const NOW_NS: u64 = 1_000_000_000;

/// The id of account or transfer number `n`, scattered over all 128 bits.
///
/// The id indexes hash with per-process random seeds, and small sequential ids (high half zero)
/// cluster into long probe runs for some seeds: with ids `1..=n` the count of this benchmark
/// moved by up to 4% between runs, all of it in `IdIndex::get`. Scattered ids hash uniformly
/// whatever the seed.
fn scattered(n: u128) -> u128 {
    IdOrder::Random.id(n)
}

/// A ledger with `accounts` accounts, a batch of single-phase transfers between them, and the
/// results buffer, sized so that `apply` neither grows an index nor reallocates.
fn ledger_and_batch(accounts: u64) -> (Ledger, Vec<Transfer>, BatchResults) {
    // Both id indexes at a load below 1/8 (production runs them up to 3/4): nearly every lookup
    // ends in its home slot, so where the seeds put the ids hardly changes the count.
    let config = LedgerConfig {
        accounts_initial_capacity: usize::try_from(accounts).unwrap_or(0).saturating_mul(8),
        transfers_initial_capacity: 8 * BATCH_EVENTS_MAX,
        ..LedgerConfig::default()
    };
    let mut ledger = Ledger::new(config);
    for (now, mut batch) in (1_u64..).zip(account_batches(accounts)) {
        for account in &mut batch {
            account.id = scattered(account.id);
        }
        let failures = ledger.create_accounts(now, &batch).expect("account batch within limits");
        assert!(failures.is_empty(), "opening accounts failed: {failures:?}");
    }
    let mut workload = TransferWorkload::new(accounts, AccountChoice::Uniform, 42);
    workload.id_order = IdOrder::Random;
    let mut batch = Vec::with_capacity(BATCH_EVENTS_MAX);
    workload.fill_single_phase(&mut batch, BATCH_EVENTS_MAX);
    for transfer in &mut batch {
        transfer.debit_account_id = scattered(transfer.debit_account_id);
        transfer.credit_account_id = scattered(transfer.credit_account_id);
    }
    (ledger, batch, BatchResults::with_capacity(BATCH_EVENTS_MAX))
}

#[library_benchmark]
#[bench::uniform_10k_accounts(args = (10_000), setup = ledger_and_batch)]
fn apply(
    (mut ledger, batch, mut results): (Ledger, Vec<Transfer>, BatchResults),
) -> (Ledger, Vec<Transfer>, BatchResults) {
    ledger
        .apply(NOW_NS, Events::CreateTransfers(black_box(&batch)), &mut results)
        .expect("batch within limits");
    assert!(results.transfers.is_empty(), "benchmark transfers must all succeed");
    (ledger, batch, results)
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

fn create_transfers_frame(transfers: usize) -> Vec<u8> {
    let mut batch = Vec::with_capacity(transfers);
    TransferWorkload::new(10_000, AccountChoice::Uniform, 42).fill_single_phase(&mut batch, transfers);
    let mut frame = Vec::with_capacity(FRAME_MAX);
    encode_request(1, &Request::CreateTransfers(batch), &mut frame);
    frame
}

fn post_events_frame(events: usize) -> Vec<u8> {
    let mut frame = Vec::with_capacity(FRAME_MAX);
    encode_request(1, &Request::PostEvents(ledger_events(events)), &mut frame);
    frame
}

#[library_benchmark]
#[bench::create_transfers_8189(args = (BATCH_EVENTS_MAX), setup = create_transfers_frame)]
#[bench::post_events_1020(args = (1_020), setup = post_events_frame)]
fn decode_request_frame(frame: Vec<u8>) -> (Request, Vec<u8>) {
    let head: &[u8; HEADER_SIZE] = frame[..HEADER_SIZE].try_into().expect("a frame starts with its header");
    let header = Header::decode(black_box(head)).expect("valid header");
    let request = decode_request(&header, black_box(&frame[HEADER_SIZE..])).expect("valid request");
    (request, frame)
}

library_benchmark_group!(name = engine; benchmarks = apply);
library_benchmark_group!(name = protocol; benchmarks = decode_request_frame);

main!(library_benchmark_groups = engine, protocol);
