//! Damage anywhere but a torn tail stops recovery with an error that names the segment file, the
//! byte offset and the op; nothing is skipped.

mod common;

use common::{Group, all_records, make_group, make_groups, recover_all, written};
use ledger_durability::storage::{FaultyStorage, Storage, StorageFile};
use ledger_durability::wal::{
    GROUP_BYTES_MAX, HeaderError, LogPosition, RECORD_HEADER_SIZE, SegmentInfo, WalConfig, WalError,
    WalWriter, segment_name, verify,
};

fn sizes() -> Vec<Vec<u32>> {
    (0..12_u32).map(|i| vec![1 + i % 4, 2]).collect()
}

/// Segment name and offset of record `op`, from the layout the writer produced.
fn locate(groups: &[Group], segments: &[SegmentInfo], op: u64) -> (String, u64) {
    let mut name = String::new();
    let mut offset = 0;
    for record in all_records(groups) {
        if let Some(segment) = segments.iter().find(|s| s.first_op == record.op) {
            name.clone_from(&segment.name);
            offset = 0;
        }
        if record.op == op {
            return (name, offset);
        }
        offset += (RECORD_HEADER_SIZE + record.body.len()) as u64;
    }
    panic!("op {op} not written");
}

fn setup(seed: u64) -> (Vec<Group>, FaultyStorage, Vec<SegmentInfo>) {
    let groups = make_groups(&sizes(), seed);
    let storage = written(&groups);
    let segments = recover_all(&storage, LogPosition::GENESIS).expect("clean log").0.segments;
    assert!(segments.len() >= 3, "the tests need a middle segment");
    (groups, storage, segments)
}

fn assert_names_place(error: &WalError, segment: &str, offset: u64, op: u64) {
    let message = error.to_string();
    assert!(message.contains(segment), "{message}");
    assert!(message.contains(&format!("offset {offset}")), "{message}");
    assert!(message.contains(&format!("op {op}")), "{message}");
    assert!(error.is_corruption());
}

/// Writes raw records as one segment named after the first.
fn raw_segment(storage: &FaultyStorage, first_op: u64, bytes: &[u8]) {
    let mut file = storage.create(&segment_name(first_op)).expect("create");
    file.set_len(4096).expect("preallocate");
    file.write_at(0, bytes).expect("write");
    file.sync().expect("sync");
    storage.sync_dir().expect("sync dir");
}

#[test]
fn a_flipped_body_bit_in_an_older_segment_is_a_checksum_mismatch() {
    let (groups, storage, segments) = setup(1);
    let op = segments[1].first_op + 1;
    let (segment, offset) = locate(&groups, &segments, op);
    assert!(storage.flip_bit(&segment, offset + RECORD_HEADER_SIZE as u64 + 5, 3));
    let error = recover_all(&storage, LogPosition::GENESIS).expect_err("must fail");
    assert!(
        matches!(&error, WalError::ChecksumMismatch { segment: s, offset: o, op: p, .. } if *s == segment && *o == offset && *p == op),
        "{error:?}"
    );
    assert_names_place(&error, &segment, offset, op);
    assert!(verify(&storage).is_err(), "verify finds it too");
}

#[test]
fn a_flipped_header_bit_in_an_older_segment_is_a_bad_header() {
    let (groups, storage, segments) = setup(2);
    let op = segments[0].first_op + 2;
    let (segment, offset) = locate(&groups, &segments, op);
    assert!(storage.flip_bit(&segment, offset + 20, 0));
    let error = recover_all(&storage, LogPosition::GENESIS).expect_err("must fail");
    assert!(
        matches!(&error, WalError::BadHeader { source: HeaderError::ChecksumMismatch { .. }, offset: o, op: p, .. } if *o == offset && *p == op),
        "{error:?}"
    );
    assert_names_place(&error, &segment, offset, op);
}

#[test]
fn a_missing_middle_segment_is_an_op_gap() {
    let (_, storage, segments) = setup(3);
    storage.remove(&segments[1].name).expect("remove");
    let error = recover_all(&storage, LogPosition::GENESIS).expect_err("must fail");
    assert!(
        matches!(&error, WalError::SegmentMisnamed { segment, named_op, expected_op }
            if *segment == segments[2].name && *named_op == segments[2].first_op && *expected_op == segments[1].first_op),
        "{error:?}"
    );
}

#[test]
fn a_repeated_op_is_out_of_sequence() {
    let storage = FaultyStorage::new();
    let a = make_group(1, 0, &[1, 1], 4);
    let repeat = make_group(2, a.last_checksum, &[1], 4); // op 2 again, chained correctly
    raw_segment(&storage, 1, &[a.bytes.as_slice(), repeat.bytes.as_slice()].concat());
    let error = recover_all(&storage, LogPosition::GENESIS).expect_err("must fail");
    let offset = a.bytes.len() as u64;
    assert!(
        matches!(&error, WalError::OpOutOfSequence { offset: o, expected: 3, found: 2, .. } if *o == offset),
        "{error:?}"
    );
    assert!(error.to_string().contains(&format!("offset {offset}")));
}

#[test]
fn a_skipped_op_is_out_of_sequence() {
    let storage = FaultyStorage::new();
    let a = make_group(1, 0, &[1, 1], 5);
    let skip = make_group(4, a.last_checksum, &[1], 5);
    raw_segment(&storage, 1, &[a.bytes.as_slice(), skip.bytes.as_slice()].concat());
    let error = recover_all(&storage, LogPosition::GENESIS).expect_err("must fail");
    assert!(matches!(error, WalError::OpOutOfSequence { expected: 3, found: 4, .. }), "{error:?}");
}

#[test]
fn a_record_that_does_not_chain_to_its_predecessor_breaks_the_chain() {
    let storage = FaultyStorage::new();
    let a = make_group(1, 0, &[1, 1], 6);
    let unchained = make_group(3, a.last_checksum ^ 1, &[1], 6);
    raw_segment(&storage, 1, &[a.bytes.as_slice(), unchained.bytes.as_slice()].concat());
    let error = recover_all(&storage, LogPosition::GENESIS).expect_err("must fail");
    let offset = a.bytes.len() as u64;
    assert!(
        matches!(&error, WalError::ChainBroken { offset: o, op: 3, expected, found, .. }
            if *o == offset && *expected == a.last_checksum && *found == a.last_checksum ^ 1),
        "{error:?}"
    );
    assert_names_place(&error, &segment_name(1), offset, 3);
}

#[test]
fn the_first_record_must_chain_to_zero() {
    let storage = FaultyStorage::new();
    raw_segment(&storage, 1, &make_group(1, 7, &[1], 7).bytes);
    assert!(matches!(recover_all(&storage, LogPosition::GENESIS), Err(WalError::ChainBroken { op: 1, .. })));
}

#[test]
fn a_segment_named_for_another_op_than_its_first_record_is_misnamed() {
    let storage = FaultyStorage::new();
    raw_segment(&storage, 2, &make_group(1, 0, &[1], 8).bytes);
    let error = recover_all(&storage, LogPosition { op: 1, checksum: 0 }).expect_err("must fail");
    assert!(matches!(error, WalError::OpOutOfSequence { expected: 2, found: 1, .. }), "{error:?}");
}

#[test]
fn data_after_the_last_record_of_an_older_segment_is_garbage() {
    let (groups, storage, segments) = setup(9);
    let (segment, last_offset) = locate(&groups, &segments, segments[1].first_op - 1);
    let records = all_records(&groups);
    let last_len = RECORD_HEADER_SIZE as u64
        + records[usize::try_from(segments[1].first_op).unwrap_or(0) - 2].body.len() as u64;
    let end = last_offset + last_len;
    // Zeros where the next header would be, data after it.
    assert!(storage.flip_bit(&segment, end + 100, 0));
    let error = recover_all(&storage, LogPosition::GENESIS).expect_err("must fail");
    assert!(
        matches!(&error, WalError::GarbageAfterEnd { segment: s, offset, op } if *s == segment && *offset == end + 100 && *op == segments[1].first_op),
        "{error:?}"
    );
}

#[test]
fn a_short_record_in_an_older_segment_is_fatal() {
    let (groups, storage, segments) = setup(10);
    let (segment, offset) = locate(&groups, &segments, segments[1].first_op - 1);
    let mut file = storage.open(&segment).expect("open");
    file.set_len(offset + RECORD_HEADER_SIZE as u64 + 10).expect("cut");
    let error = recover_all(&storage, LogPosition::GENESIS).expect_err("must fail");
    assert!(matches!(&error, WalError::ShortRecord { offset: o, .. } if *o == offset), "{error:?}");
}

#[test]
fn an_empty_segment_before_the_last_is_fatal() {
    let (groups, storage, _) = setup(11);
    let next = groups.last().map_or(0, |g| g.last_op + 1);
    let mut file = storage.create(&segment_name(next)).expect("create");
    file.set_len(4096).expect("len");
    let later = make_group(next, groups.last().map_or(0, |g| g.last_checksum), &[1], 11);
    raw_segment(&storage, next + 1, &later.bytes);
    let error = recover_all(&storage, LogPosition::GENESIS).expect_err("must fail");
    assert!(
        matches!(&error, WalError::EmptySegment { segment } if *segment == segment_name(next)),
        "{error:?}"
    );
}

#[test]
fn a_file_with_a_malformed_segment_name_is_reported_not_ignored() {
    let (_, storage, _) = setup(12);
    storage.create("42.wal").expect("create");
    storage.create("notes.txt").expect("create");
    let error = recover_all(&storage, LogPosition::GENESIS).expect_err("must fail");
    assert!(matches!(&error, WalError::BadSegmentName { name } if name == "42.wal"), "{error:?}");
}

#[test]
fn the_starting_point_must_match_the_log() {
    let (groups, storage, _) = setup(13);
    let records = all_records(&groups);
    let last = records.len() as u64;
    let wrong = LogPosition { op: 5, checksum: records[4].checksum ^ 1 };
    assert!(matches!(recover_all(&storage, wrong), Err(WalError::AnchorMismatch { op: 5, .. })));
    let beyond = LogPosition { op: last + 1, checksum: 0 };
    assert!(matches!(recover_all(&storage, beyond), Err(WalError::LogEndsTooEarly { .. })));
    assert!(matches!(
        recover_all(&FaultyStorage::new(), LogPosition { op: 3, checksum: 1 }),
        Err(WalError::LogEndsTooEarly { last_op: 0, from_op: 3 })
    ));
    let at_end = LogPosition { op: last, checksum: records[records.len() - 1].checksum };
    assert_eq!(recover_all(&storage, at_end).expect("nothing to replay").1, vec![]);
}

#[test]
fn a_valid_record_beyond_the_group_window_after_an_invalid_one_is_damage_not_a_torn_tail() {
    let segment_size = GROUP_BYTES_MAX + 64 * 1024;
    let storage = FaultyStorage::new();
    let mut writer = WalWriter::create(storage.clone(), WalConfig { segment_size }).expect("create");
    let groups = make_groups(&[vec![1, 2], vec![3], vec![1]], 14);
    for group in &groups {
        common::write(&mut writer, group).expect("write");
    }
    drop(writer);
    let name = segment_name(1);
    let second = groups[0].records[0].body.len() as u64 + RECORD_HEADER_SIZE as u64;
    assert!(storage.flip_bit(&name, second + 70, 1)); // body of op 2

    // Within the window this is indistinguishable from a torn write: cut and reported.
    let probe = FaultyStorage::new();
    {
        let mut file = probe.create(&name).expect("create");
        file.write_at(0, &storage.file_bytes(&name).expect("segment")).expect("copy");
    }
    let (end, seen) = recover_all(&probe, LogPosition::GENESIS).expect("torn tail");
    assert_eq!(seen.len(), 1);
    assert_eq!(end.torn_tail.as_ref().map(|t| (t.offset, t.op)), Some((second, 2)));

    // A valid header at or beyond the window cannot come from the one unacknowledged write.
    let header = storage.file_bytes(&name).expect("segment")[..RECORD_HEADER_SIZE].to_vec();
    let far = second + GROUP_BYTES_MAX;
    common::poke(&storage, &name, far, &header);
    let error = recover_all(&storage, LogPosition::GENESIS).expect_err("must fail");
    assert!(
        matches!(&error, WalError::RecordAfterTornTail { offset, op: 2, found_offset, found_op: 1, .. }
            if *offset == second && *found_offset == far),
        "{error:?}"
    );
    assert_names_place(&error, &name, second, 2);
    // Just inside the window it is tolerated.
    common::poke(&storage, &name, far, &[0; RECORD_HEADER_SIZE]);
    common::poke(&storage, &name, far - 64, &header);
    assert!(recover_all(&storage, LogPosition::GENESIS).is_ok());
}
