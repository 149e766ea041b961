//! Four bugs the simulator found (`--faults all`), each reduced to the few storage calls that
//! show it, now fixed. All four had one shape: a process restarts on the machine's page cache
//! (a `kill -9`, or the stop after a failed fsync) and start-up recovers WAL data that is in the
//! page cache but not on the disk, then `WalWriter::resume` appended after it and acknowledged
//! new groups whose durability depended on that data. A later power loss took the data away, and
//! with it the acknowledged groups: silently (cut as a torn tail) or by refusing to start (a gap
//! between segments).
//!
//! The fix is in start-up (`WalWriter::resume`, `make_tail_durable`): before the first append,
//! it rewrites the stretch of the last segment that can differ between cache and disk exactly
//! as it read it, syncs it, and syncs the directory (a segment's name). Rewriting, not just
//! syncing: after a failed fsync the kernel marked the dropped pages clean, and only a new write
//! makes them dirty again.

use ledger_durability::storage::{FaultyStorage, TornWrites};
use ledger_durability::wal::{LogPosition, Operation, RecordFields, WalConfig, WalWriter, encode, recover};
use ledger_sim::process_disk::{KillTiming, ProcessDisk};
use std::convert::Infallible;

/// Segments of 4 KiB: two records of `BIG_EVENTS` events do not fit in one.
const SEGMENT_BYTES: u64 = 4096;
const BIG_EVENTS: u32 = 20;

/// One group of one record continuing after `prev`: (bytes, checksum).
fn record(op: u64, prev: u32, events: u32) -> (Vec<u8>, u32) {
    let operation = if events == 0 { Operation::Pulse } else { Operation::CreateTransfers };
    let fields = RecordFields {
        operation,
        op,
        clock_ns: 1_000 + op,
        timestamp_first: op * 100,
        timestamp_last: op * 100 + u64::from(events.max(1)) - 1,
        prev_checksum: prev,
    };
    let body = vec![u8::try_from(op % 251).unwrap_or(1); events as usize * 128];
    let mut bytes = Vec::new();
    let checksum = encode(&mut bytes, &fields, &body);
    (bytes, checksum)
}

/// Appends one record as one group; returns its checksum.
fn append(wal: &mut WalWriter<ProcessDisk>, events: u32) -> Result<u32, String> {
    let op = wal.next_op();
    let (bytes, checksum) = record(op, wal.last_checksum(), events);
    wal.write_group(&bytes, op, op, checksum).map_err(|e| e.to_string())?;
    Ok(checksum)
}

/// Start-up of a new process on `disk`: recovery, then a writer resumed after it.
fn restart(disk: &FaultyStorage) -> WalWriter<ProcessDisk> {
    let process = ProcessDisk::new(disk.clone());
    let end =
        recover(&process, LogPosition::GENESIS, |_, _| Ok::<(), Infallible>(())).expect("start-up recovers");
    WalWriter::resume(process, WalConfig { segment_size: SEGMENT_BYTES }, end).expect("resume")
}

/// The last op recovered after power loss, or the start-up error.
fn after_power_loss(disk: &FaultyStorage) -> Result<u64, String> {
    disk.set_torn_writes(TornWrites::Lost);
    let after = disk.crash();
    recover(&after, LogPosition::GENESIS, |_, _| Ok::<(), Infallible>(()))
        .map(|end| end.next_op - 1)
        .map_err(|e| e.to_string())
}

fn first_process(disk: &FaultyStorage) -> (ProcessDisk, WalWriter<ProcessDisk>) {
    let process = ProcessDisk::new(disk.clone());
    let wal = WalWriter::create(process.clone(), WalConfig { segment_size: SEGMENT_BYTES }).expect("create");
    (process, wal)
}

#[test]
fn a_segment_created_before_a_kill_keeps_its_acknowledged_groups_through_power_loss() {
    let disk = FaultyStorage::new();
    let (process, mut wal) = first_process(&disk);
    append(&mut wal, BIG_EVENTS).expect("op 1");
    // Op 2 does not fit: the writer creates segment 2 (create, set_len, sync, sync_dir) and
    // the process dies right before the file's sync: the name never reaches the disk.
    process.kill_at_operation(3, KillTiming::Before);
    assert!(append(&mut wal, BIG_EVENTS).is_err(), "the process died during the roll");

    let mut wal = restart(&disk);
    append(&mut wal, BIG_EVENTS).expect("op 2 is acknowledged after the restart");

    assert_eq!(after_power_loss(&disk), Ok(2), "acknowledged op 2 must survive power loss");
}

#[test]
fn a_group_written_before_a_kill_does_not_strand_later_acknowledged_groups() {
    let disk = FaultyStorage::new();
    let (process, mut wal) = first_process(&disk);
    append(&mut wal, BIG_EVENTS).expect("op 1");
    // Op 2 (a pulse) fits in segment 1: its write lands in the page cache, then the process dies
    // before the fsync.
    process.kill_at_operation(2, KillTiming::Before);
    assert!(append(&mut wal, 0).is_err(), "the process died before the fsync");

    let mut wal = restart(&disk);
    assert_eq!(wal.next_op(), 3, "start-up recovered op 2 from the page cache");
    append(&mut wal, BIG_EVENTS).expect("op 3 rolls to segment 3 and is acknowledged");

    assert_eq!(after_power_loss(&disk), Ok(3), "acknowledged op 3 must survive power loss");
}

#[test]
fn a_group_whose_fsync_failed_does_not_take_later_acknowledged_groups_with_it() {
    let disk = FaultyStorage::new();
    let (_process, mut wal) = first_process(&disk);
    append(&mut wal, 2).expect("op 1");
    // The fsync of op 2 fails: the kernel drops the pages but reads still show them.
    disk.fail_sync_at(1);
    assert!(append(&mut wal, 2).is_err(), "a failed fsync is fatal");

    let mut wal = restart(&disk);
    assert_eq!(wal.next_op(), 3, "start-up recovered op 2 from the page cache");
    append(&mut wal, 2).expect("op 3 is acknowledged after the restart");

    assert_eq!(after_power_loss(&disk), Ok(3), "acknowledged op 3 must survive power loss");
}

#[test]
fn a_torn_tail_cut_whose_fsync_failed_does_not_come_back_behind_acknowledged_groups() {
    let disk = FaultyStorage::new();
    let (_process, mut wal) = first_process(&disk);
    let one = append(&mut wal, BIG_EVENTS).expect("op 1");
    // A torn write of op 2 reached the disk: its header sector survived, its body did not.
    let (mut torn, _) = record(2, one, BIG_EVENTS);
    torn.truncate(64 + 128);
    let name = wal.segments()[0].name.clone();
    let mut file = ledger_durability::storage::Storage::open(&disk, &name).expect("open");
    let end_of_op_1 = record(1, 0, BIG_EVENTS).0.len() as u64;
    ledger_durability::storage::StorageFile::write_and_sync(&mut file, end_of_op_1, &torn)
        .expect("torn bytes");
    drop(wal);

    // Start-up cuts the torn tail, and the fsync of the cut fails: start-up stops.
    disk.fail_sync_at(1);
    let process = ProcessDisk::new(disk.clone());
    assert!(recover(&process, LogPosition::GENESIS, |_, _| Ok::<(), Infallible>(())).is_err());
    // Retried on the same page cache, it finds a clean end and resumes; op 2 rolls.
    let mut wal = restart(&disk);
    assert_eq!(wal.next_op(), 2);
    append(&mut wal, BIG_EVENTS).expect("op 2 is acknowledged");

    assert_eq!(after_power_loss(&disk), Ok(2), "acknowledged op 2 must survive power loss");
}

/// The whole simulator with every fault kind, the two restart faults above included.
#[test]
fn every_fault_kind_keeps_every_acknowledged_batch() {
    for seed in 0..200 {
        let config = ledger_sim::SimConfig {
            faults: ledger_sim::FaultSet::ALL,
            ..ledger_sim::SimConfig::new(seed, 300)
        };
        if let Err(failure) = ledger_sim::run(config) {
            panic!("{failure}");
        }
    }
}
