//! Written groups come back exactly, across segment rolls, from any starting point, and on disk.

mod common;

use common::{all_records, make_group, make_groups, recover_all, small_segments, write, written};
use ledger_durability::storage::{FaultyStorage, FileStorage, Storage};
use ledger_durability::wal::{LogPosition, WalConfig, WalError, WalWriter, segment_name, verify};

fn sizes() -> Vec<Vec<u32>> {
    // 4096-byte segments: groups of 1..3 records with 0..9 events roll every few groups.
    (0..20_u32).map(|i| (0..1 + i % 3).map(|j| (i * 7 + j * 3) % 10).collect()).collect()
}

#[test]
fn every_written_record_is_replayed_in_order_across_segments() {
    let groups = make_groups(&sizes(), 1);
    let storage = written(&groups);
    let (end, seen) = recover_all(&storage, LogPosition::GENESIS).expect("recover");
    assert_eq!(seen, all_records(&groups));
    assert!(end.segments.len() > 3, "small segments roll: {:?}", end.segments);
    assert_eq!(end.segments[0].name, segment_name(1));
    let last = groups.last().expect("groups");
    assert_eq!(end.next_op, last.last_op + 1);
    assert_eq!(end.last_checksum, last.last_checksum);
    assert_eq!(end.torn_tail, None);
    assert_eq!(end.records_replayed, end.records_checked);
}

#[test]
fn segments_are_named_after_the_op_of_their_first_record() {
    let groups = make_groups(&sizes(), 2);
    let storage = written(&groups);
    let (end, _) = recover_all(&storage, LogPosition::GENESIS).expect("recover");
    for segment in &end.segments {
        assert!(groups.iter().any(|g| g.first_op == segment.first_op), "segments start at group boundaries");
        assert_eq!(segment.name, segment_name(segment.first_op));
    }
}

#[test]
fn recovery_from_a_snapshot_position_replays_only_later_records() {
    let groups = make_groups(&sizes(), 3);
    let storage = written(&groups);
    let records = all_records(&groups);
    let snapshot = LogPosition { op: 10, checksum: records[9].checksum };
    let (end, seen) = recover_all(&storage, snapshot).expect("recover");
    assert_eq!(seen, records[10..].to_vec());
    assert_eq!(end.records_checked, records.len() as u64, "earlier records are still checked");
}

#[test]
fn retired_segments_are_gone_and_the_rest_recovers_from_the_snapshot() {
    let groups = make_groups(&sizes(), 4);
    let storage = FaultyStorage::new();
    let mut writer = WalWriter::create(storage.clone(), small_segments()).expect("create");
    for group in &groups {
        write(&mut writer, group).expect("write");
    }
    let records = all_records(&groups);
    let before = writer.segments().to_vec();
    let snapshot_op = before[2].first_op; // covers all of segments 0 and 1, and the first record of 2
    let snapshot = LogPosition {
        op: snapshot_op,
        checksum: records[usize::try_from(snapshot_op).unwrap_or(0) - 1].checksum,
    };
    assert_eq!(writer.retire_segments_before(snapshot_op).expect("retire"), 2);
    assert_eq!(writer.segments(), &before[2..]);
    assert_eq!(storage.list().expect("list").len(), before.len() - 2);

    let (_, seen) = recover_all(&storage, snapshot).expect("recover");
    assert_eq!(seen, records[usize::try_from(snapshot_op).unwrap_or(0)..].to_vec());
    // Without the snapshot the log no longer starts at op 1.
    assert!(matches!(recover_all(&storage, LogPosition::GENESIS), Err(WalError::LogStartsTooLate { .. })));
    // The current segment is never retired, whatever the op.
    writer.retire_segments_before(u64::MAX).expect("retire");
    assert_eq!(writer.segments().len(), 1);
}

#[test]
fn verify_reports_segments_records_ops_and_bytes() {
    let groups = make_groups(&sizes(), 5);
    let storage = written(&groups);
    let report = verify(&storage).expect("verify");
    let records = all_records(&groups);
    assert_eq!(report.records, records.len() as u64);
    assert_eq!(report.first_op, Some(1));
    assert_eq!(report.last_op, Some(records.len() as u64));
    let bytes: usize = groups.iter().map(|g| g.bytes.len()).sum();
    assert_eq!(report.record_bytes, bytes as u64);
    assert_eq!(report.torn_tail, None);
}

#[test]
fn an_empty_directory_recovers_to_op_one_and_resumes() {
    let storage = FaultyStorage::new();
    let (end, seen) = recover_all(&storage, LogPosition::GENESIS).expect("recover");
    assert!(seen.is_empty());
    assert_eq!((end.next_op, end.last_checksum), (1, 0));
    let mut writer = WalWriter::resume(storage.clone(), small_segments(), end).expect("resume");
    let group = make_group(1, 0, &[2], 6);
    write(&mut writer, &group).expect("write");
    assert_eq!(recover_all(&storage, LogPosition::GENESIS).expect("recover").1, group.records);
}

#[test]
fn a_group_larger_than_a_segment_gets_a_segment_of_its_own_size() {
    let group = make_group(1, 0, &[20, 20], 7); // 2 * (64 + 2560) bytes > 4096
    let storage = FaultyStorage::new();
    let mut writer = WalWriter::create(storage.clone(), small_segments()).expect("create");
    write(&mut writer, &group).expect("write");
    let next = make_group(3, group.last_checksum, &[1], 7);
    write(&mut writer, &next).expect("write");
    let names = storage.list().expect("list");
    assert_eq!(names.len(), 2, "the next group rolled: {names:?}");
    let first = storage.file_bytes(&segment_name(1)).expect("segment");
    assert_eq!(first.len(), group.bytes.len());
    let (_, seen) = recover_all(&storage, LogPosition::GENESIS).expect("recover");
    assert_eq!(seen.len(), 3);
}

#[test]
fn file_storage_round_trips_on_disk() {
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let dir = std::env::temp_dir().join(format!("ledger-durability-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let groups = make_groups(&sizes(), 8);
    {
        let storage = FileStorage::open(&dir).expect("open");
        let mut writer = WalWriter::create(storage, WalConfig { segment_size: 8192 }).expect("create");
        for group in &groups {
            write(&mut writer, group).expect("write");
        }
    }
    let storage = FileStorage::open(&dir).expect("open");
    let (end, seen) = recover_all(&storage, LogPosition::GENESIS).expect("recover");
    assert_eq!(seen, all_records(&groups));
    let segment_len = std::fs::metadata(dir.join("wal").join(segment_name(1))).expect("metadata").len();
    assert_eq!(segment_len, 8192, "segments are preallocated");
    let mut writer = WalWriter::resume(storage, WalConfig { segment_size: 8192 }, end).expect("resume");
    let more = make_group(writer.next_op(), writer.last_checksum(), &[3], 8);
    write(&mut writer, &more).expect("write after resume");
    drop(writer);
    let (_, seen) =
        recover_all(&FileStorage::open(&dir).expect("open"), LogPosition::GENESIS).expect("recover");
    assert_eq!(seen.len(), all_records(&groups).len() + 1);
    std::fs::remove_dir_all(&dir).expect("clean up");
}
