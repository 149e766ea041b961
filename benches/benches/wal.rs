//! WAL and journal encoding: the durable writer's CPU cost per batch, no I/O.
//!
//! One iteration encodes one full batch of 8,189 transfers (the largest a record holds) into a
//! buffer that is reused and already sized, so the figures are the copy and the CRC32C, not
//! allocation or page faults:
//!
//! - `encode_batch`: the WAL record of a `create_transfers` batch (`replay::encode_batch`:
//!   header, 1 MiB of events, body and header CRC32C), as the WAL thread writes it;
//! - `encode_batch_with_notes`: the same with entry notes, as `post_events` batches carry them
//!   (a note of ~250 bytes per linked chain of 3 transfers, ~0.7 MiB of notes);
//! - `decode_and_check`: the reading side (recovery, replay): header decode and body CRC32C;
//! - `journal_encode_record`: the `journal.log` record of that noted batch
//!   (`journal_log::encode_record`: header, notes, CRC32C).
//!
//! Run: `cargo bench -p ledger-benches --bench wal`.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ledger_benches::{AccountChoice, TransferWorkload, open_accounts};
use ledger_core::writer::EntryNotes;
use ledger_core::{BATCH_EVENTS_MAX, BatchResults, Events, Ledger, LedgerConfig, Transfer};
use ledger_durability::journal_log;
use ledger_durability::replay::encode_batch;
use ledger_durability::wal::{RECORD_BYTES_MAX, RECORD_HEADER_SIZE, RecordHeader};
use std::hint::black_box;
use std::time::Duration;

const ACCOUNTS: u64 = 10_000;
/// Transfers per standard ledger event (a loan's 6 events post 17 transfers: ~3 each).
const TRANSFERS_PER_NOTE: u32 = 3;
/// The size of one event's JSON body, which is what a note carries (`events-load`'s events
/// are 230–290 bytes).
const NOTE_PAYLOAD_BYTES: usize = 250;
const CLOCK_NS: u64 = 1_000_000_000;

/// A batch that `apply` accepted, with its results, as the durable writer has it.
fn applied_batch() -> (Vec<Transfer>, BatchResults) {
    let config = LedgerConfig {
        accounts_initial_capacity: usize::try_from(ACCOUNTS).unwrap_or(0),
        transfers_initial_capacity: 4 * BATCH_EVENTS_MAX,
        ..LedgerConfig::default()
    };
    let mut ledger = Ledger::new(config);
    open_accounts(&mut ledger, ACCOUNTS);
    let mut batch = Vec::with_capacity(BATCH_EVENTS_MAX);
    TransferWorkload::new(ACCOUNTS, AccountChoice::Uniform, 42)
        .fill_single_phase(&mut batch, BATCH_EVENTS_MAX);
    let mut results = BatchResults::with_capacity(BATCH_EVENTS_MAX);
    ledger.apply(CLOCK_NS, Events::CreateTransfers(&batch), &mut results).expect("batch within limits");
    assert!(results.transfers.is_empty(), "benchmark transfers must all succeed");
    (batch, results)
}

/// One note per chain of `TRANSFERS_PER_NOTE` transfers, each with a JSON-sized payload.
fn entry_notes(transfers: usize) -> EntryNotes {
    let transfers = u32::try_from(transfers).expect("a batch is far below 2^32 transfers");
    let mut notes = EntryNotes::default();
    let mut payload = vec![b'x'; NOTE_PAYLOAD_BYTES];
    let mut first = 0;
    while first < transfers {
        let count = TRANSFERS_PER_NOTE.min(transfers - first);
        // Distinct payloads, so nothing downstream can take a shortcut on repeated bytes.
        payload[..4].copy_from_slice(&first.to_le_bytes());
        notes.push(first, count, &payload);
        first += count;
    }
    notes
}

fn wal_benches(c: &mut Criterion) {
    let (batch, results) = applied_batch();
    let notes = entry_notes(batch.len());
    let mut out: Vec<u8> = Vec::with_capacity(usize::try_from(RECORD_BYTES_MAX).unwrap_or(usize::MAX));

    let mut group = c.benchmark_group("wal");
    group.throughput(Throughput::Elements(batch.len() as u64));
    group.sample_size(50);
    group.measurement_time(Duration::from_secs(3));
    group.warm_up_time(Duration::from_secs(1));

    let events = Events::CreateTransfers(&batch);
    group.bench_function(BenchmarkId::new("encode_batch", "8189_transfers"), |b| {
        b.iter(|| {
            out.clear();
            black_box(encode_batch(&mut out, 2, 0x1234_5678, CLOCK_NS, events, &results, None))
        });
    });
    group.bench_function(BenchmarkId::new("encode_batch_with_notes", "8189_transfers_2730_notes"), |b| {
        b.iter(|| {
            out.clear();
            black_box(encode_batch(&mut out, 2, 0x1234_5678, CLOCK_NS, events, &results, Some(&notes)))
        });
    });

    // `out` now holds the noted record: read it back as recovery does.
    let head: &[u8; RECORD_HEADER_SIZE] =
        out[..RECORD_HEADER_SIZE].try_into().expect("a record starts with its header");
    let header = RecordHeader::decode(head).expect("the record just encoded is valid");
    let body = &out[RECORD_HEADER_SIZE..];
    assert_eq!(header.event_count as usize, batch.len());
    group.bench_function(BenchmarkId::new("decode_and_check", "8189_transfers_2730_notes"), |b| {
        b.iter(|| {
            let header = RecordHeader::decode(black_box(head)).expect("valid header");
            header.check_body(black_box(body)).expect("valid body");
            header
        });
    });

    let notes_section = header.notes(body);
    assert!(!notes_section.is_empty(), "the record carries its notes");
    let mut journal: Vec<u8> = Vec::with_capacity(journal_log::JOURNAL_HEADER_SIZE + notes_section.len() + 8);
    group.bench_function(BenchmarkId::new("journal_encode_record", "8189_transfers_2730_notes"), |b| {
        b.iter(|| {
            journal.clear();
            journal_log::encode_record(&mut journal, &header, black_box(notes_section));
            journal.len()
        });
    });
    group.finish();
}

criterion_group!(benches, wal_benches);
criterion_main!(benches);
