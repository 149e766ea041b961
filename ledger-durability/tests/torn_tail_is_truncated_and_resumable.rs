//! A crash in the middle of a group write leaves a torn tail: recovery cuts it off, reports it,
//! and the writer continues from there.

mod common;

use common::{all_records, make_group, make_groups, recover_all, small_segments, write};
use ledger_durability::storage::{FaultyStorage, Storage, TornWrites};
use ledger_durability::wal::{LogPosition, WalWriter, verify};

/// Writes `acked` groups, then crashes on the write of one more group with the given policy.
fn crash_during_last_write(torn: TornWrites, seed: u64) -> (Vec<common::Group>, FaultyStorage) {
    let groups = make_groups(&[vec![2, 1], vec![3], vec![4, 4, 4]], seed);
    let storage = FaultyStorage::new();
    storage.set_sector_size(64);
    storage.set_torn_writes(torn);
    let mut writer = WalWriter::create(storage.clone(), small_segments()).expect("create");
    write(&mut writer, &groups[0]).expect("write");
    write(&mut writer, &groups[1]).expect("write");
    storage.crash_at_operation(2); // the write of group 2 lands, its sync crashes
    assert!(write(&mut writer, &groups[2]).is_err());
    (groups, storage.crash())
}

#[test]
fn a_torn_group_is_cut_off_reported_and_the_log_resumes_after_it() {
    let mut saw_torn = false;
    for seed in 0..40 {
        let (groups, storage) = crash_during_last_write(TornWrites::Sectors { seed }, seed);
        let acked: Vec<_> = all_records(&groups[..2]);
        let report = verify(&storage).expect("verify");
        let (end, seen) = recover_all(&storage, LogPosition::GENESIS).expect("recover");
        assert_eq!(seen[..acked.len()], acked[..], "acknowledged records survive");
        assert_eq!(seen[..], all_records(&groups)[..seen.len()], "a prefix, never a hole");
        assert_eq!(report.torn_tail, end.torn_tail, "verify reports what recover cuts");
        if let Some(torn) = &end.torn_tail {
            saw_torn = true;
            assert_eq!(torn.op, seen.len() as u64 + 1);
            assert_eq!(torn.offset, end.tail_offset);
            assert!(torn.dropped_bytes > 0);
            assert!(!torn.reason.is_empty());
        }
        // The tail is gone: a second recovery finds a clean log.
        let (again, seen_again) = recover_all(&storage, LogPosition::GENESIS).expect("recover again");
        assert_eq!((again.torn_tail, seen_again.len()), (None, seen.len()));

        let mut writer = WalWriter::resume(storage.clone(), small_segments(), end).expect("resume");
        let next = make_group(writer.next_op(), writer.last_checksum(), &[1, 2], seed);
        write(&mut writer, &next).expect("write after resume");
        let (_, after) = recover_all(&storage, LogPosition::GENESIS).expect("recover after resume");
        assert_eq!(after[..seen.len()], seen[..]);
        assert_eq!(after[seen.len()..], next.records[..]);
    }
    assert!(saw_torn, "some seeds tear the group");
}

#[test]
fn a_lost_unacknowledged_write_leaves_a_clean_log() {
    let (groups, storage) = crash_during_last_write(TornWrites::Lost, 1);
    let (end, seen) = recover_all(&storage, LogPosition::GENESIS).expect("recover");
    assert_eq!(seen, all_records(&groups[..2]));
    assert_eq!(end.torn_tail, None);
}

#[test]
fn a_fully_landed_unacknowledged_write_is_recovered_whole() {
    let (groups, storage) = crash_during_last_write(TornWrites::Kept, 1);
    let (_, seen) = recover_all(&storage, LogPosition::GENESIS).expect("recover");
    assert_eq!(seen, all_records(&groups));
}

#[test]
fn a_crash_while_cutting_the_tail_is_recovered_the_same_way() {
    for seed in 0..20 {
        let (_, storage) = crash_during_last_write(TornWrites::Prefix { seed }, seed);
        let clean = {
            // What recovery gives without interruption, on a copy.
            let copy = storage.crash();
            recover_all(&copy, LogPosition::GENESIS).expect("recover").1
        };
        let storage = storage.crash();
        storage.set_torn_writes(TornWrites::Sectors { seed });
        storage.crash_at_operation(2); // between cutting and re-extending, or at the sync
        let _ = recover_all(&storage, LogPosition::GENESIS);
        let after = storage.crash();
        let (_, seen) = recover_all(&after, LogPosition::GENESIS).expect("recover after a crash in recovery");
        assert_eq!(seen, clean, "seed {seed}");
    }
}

#[test]
fn a_crash_right_after_creating_a_segment_leaves_an_empty_last_segment_that_resumes() {
    let groups = make_groups(&[vec![25], vec![25]], 3); // each group fills most of a 4096-byte segment
    let storage = FaultyStorage::new();
    let mut writer = WalWriter::create(storage.clone(), small_segments()).expect("create");
    write(&mut writer, &groups[0]).expect("write");
    // Rolling: create, set_len, sync, sync_dir, then the group's write and sync. Crash at the write.
    storage.crash_at_operation(5);
    assert!(write(&mut writer, &groups[1]).is_err());
    let storage = storage.crash();
    assert_eq!(storage.list().expect("list").len(), 2, "the new segment's name is durable");
    let (end, seen) = recover_all(&storage, LogPosition::GENESIS).expect("recover");
    assert_eq!(seen, groups[0].records);
    assert_eq!(end.tail_offset, 0);
    let mut writer = WalWriter::resume(storage.clone(), small_segments(), end).expect("resume");
    write(&mut writer, &groups[1]).expect("the same group again");
    assert_eq!(recover_all(&storage, LogPosition::GENESIS).expect("recover").1, all_records(&groups));
}
