//! After a failed write or sync the writer refuses everything with the same error; running out
//! of space for a new segment is reported before anything is written; caller bugs are refused.

mod common;

use common::{make_group, make_groups, recover_all, small_segments, write};
use ledger_durability::storage::{FaultyStorage, Storage, TornWrites};
use ledger_durability::wal::{LogPosition, WalError, WalWriter};

#[test]
fn a_failed_sync_fails_the_writer_for_good_and_is_never_retried() {
    let groups = make_groups(&[vec![1], vec![2], vec![3]], 1);
    let storage = FaultyStorage::new();
    storage.set_torn_writes(TornWrites::Lost);
    let mut writer = WalWriter::create(storage.clone(), small_segments()).expect("create");
    write(&mut writer, &groups[0]).expect("write");
    storage.fail_sync_at(1);
    let first = write(&mut writer, &groups[1]).expect_err("sync fails");
    assert!(matches!(&first, WalError::Io { action, .. } if action.contains("fdatasync")), "{first:?}");
    let again = write(&mut writer, &groups[1]).expect_err("still failed");
    assert_eq!(again.to_string(), first.to_string(), "the same error every time");
    let next = write(&mut writer, &groups[2]).expect_err("still failed");
    assert_eq!(next.to_string(), first.to_string());
    assert!(writer.failure().is_some());
    assert!(writer.retire_segments_before(u64::MAX).is_err());
    // The storage is alive and reads still show group 1, but the disk lost it: only group 0
    // is durable, which is all that was acknowledged.
    let (_, seen) = recover_all(&storage.crash(), LogPosition::GENESIS).expect("recover");
    assert_eq!(seen, groups[0].records);
}

#[test]
fn a_failed_write_fails_the_writer_for_good() {
    let groups = make_groups(&[vec![1], vec![2]], 2);
    let storage = FaultyStorage::new();
    let mut writer = WalWriter::create(storage.clone(), small_segments()).expect("create");
    write(&mut writer, &groups[0]).expect("write");
    storage.crash_at_operation(1);
    let first = write(&mut writer, &groups[1]).expect_err("write fails");
    assert_eq!(write(&mut writer, &groups[1]).expect_err("failed").to_string(), first.to_string());
}

#[test]
fn no_space_for_a_new_segment_is_reported_before_writing_and_the_group_can_be_retried() {
    let groups = make_groups(&[vec![25], vec![25]], 3);
    let storage = FaultyStorage::new();
    storage.set_space_budget(Some(4096 + 100));
    let mut writer = WalWriter::create(storage.clone(), small_segments()).expect("create");
    write(&mut writer, &groups[0]).expect("fits the first segment");
    let error = write(&mut writer, &groups[1]).expect_err("no room for a second segment");
    assert!(matches!(&error, WalError::OutOfSpace { bytes: 4096, .. }), "{error:?}");
    assert!(!error.is_corruption());
    assert!(writer.failure().is_none(), "not fatal: nothing was written");
    assert_eq!(storage.file_bytes(&ledger_durability::wal::segment_name(groups[1].first_op)), None);
    storage.set_space_budget(None);
    write(&mut writer, &groups[1]).expect("retry after space was freed");
    let (_, seen) = recover_all(&storage, LogPosition::GENESIS).expect("recover");
    assert_eq!(seen.len(), 2);
}

#[test]
fn groups_that_do_not_continue_the_log_are_refused_without_writing() {
    let storage = FaultyStorage::new();
    let mut writer = WalWriter::create(storage.clone(), small_segments()).expect("create");
    let good = make_group(1, 0, &[1, 1], 4);
    let skip = make_group(2, 0, &[1], 4);
    let unchained = make_group(1, 5, &[1], 4);
    let cases = [
        (skip.bytes.clone(), 2, 2, skip.last_checksum),
        (unchained.bytes.clone(), 1, 1, unchained.last_checksum),
        (good.bytes.clone(), 1, 1, good.last_checksum), // wrong last op
        (good.bytes.clone(), 1, 2, good.last_checksum ^ 1), // wrong last checksum
        (good.bytes[..good.bytes.len() - 1].to_vec(), 1, 2, good.last_checksum), // cut short
        (Vec::new(), 1, 0, 0),
    ];
    for (bytes, first, last, checksum) in cases {
        let error = writer.write_group(&bytes, first, last, checksum).expect_err("refused");
        assert!(matches!(error, WalError::InvalidGroup { .. }), "{error:?}");
    }
    assert!(writer.failure().is_none());
    assert!(storage.list().map(|l| l.is_empty()).unwrap_or(false), "nothing was written");
    write(&mut writer, &good).expect("the right group is accepted");
}

#[test]
fn create_refuses_a_directory_that_already_has_a_log() {
    let storage = FaultyStorage::new();
    let mut writer = WalWriter::create(storage.clone(), small_segments()).expect("create");
    write(&mut writer, &make_group(1, 0, &[1], 5)).expect("write");
    assert!(matches!(WalWriter::create(storage, small_segments()), Err(WalError::NotEmpty)));
}
