//! Damaged copies of the committed v1 data directory fail with the exact `WalError` variant and
//! message, naming the segment file, the byte offset and the op, from both start-up recovery
//! (`DurableWriter::open`) and the offline check (`wal::verify`, behind `ledger verify`).
//!
//! Each test copies the good fixture to a scratch directory and damages the copy; the committed
//! files never change. The offsets and checksums below are those of the fixture's records:
//!
//! ```text
//! segment                    records (op @ offset, bytes)
//! 00000000000000000001.wal   1@0 576, 2@576 320, 3@896 704, 4@1600 448, 5@2048 192, 6@2240 192,
//!                            7@2432 64 (pulse), 8@2496 448, 9@2944 448, 10@3392 192; zeros from 3584
//! 00000000000000000011.wal   11@0, 12@832, 13@1664, 14@2496 (832 each); zeros from 3328
//! 00000000000000000015.wal   15@0, 16@832, 17@1664, 18@2496 (832 each); zeros from 3328
//! ```
//!
//! Damage in the last segment that is not a gap, repeat or broken chain is a torn tail by the
//! recovery rule (`wal/recovery.rs`), so the checksum cases damage the middle segment.

mod fixture_v1;

use fixture_v1::{FIXTURE_SEGMENT_SIZE, ScratchDir};
use ledger_core::Ledger;
use ledger_core::clock::ManualClock;
use ledger_durability::durable_writer::{DurableWriter, OpenError};
use ledger_durability::storage::FileStorage;
use ledger_durability::wal::{
    HeaderError, RECORD_HEADER_SIZE, RecordFields, RecordHeader, RecoveryEnd, TornTail, VerifyReport,
    WalConfig, WalError, encode, verify,
};

const FIRST: &str = "00000000000000000001.wal";
const MIDDLE: &str = "00000000000000000011.wal";
const LAST: &str = "00000000000000000015.wal";
/// Offsets of ops 12 and 13 in the middle segment, and of op 17 in the last one.
const OP_12_OFFSET: u64 = 832;
const OP_13_OFFSET: u64 = 1664;
const OP_17_OFFSET: u64 = 1664;
/// Each bulk record: a 64-byte header and six 128-byte transfers.
const BULK_RECORD_BYTES: u64 = 832;

fn read(scratch: &ScratchDir, segment: &str) -> Vec<u8> {
    std::fs::read(scratch.segment(segment)).expect("read a segment")
}

fn write(scratch: &ScratchDir, segment: &str, bytes: &[u8]) {
    std::fs::write(scratch.segment(segment), bytes).expect("write a segment");
}

fn flip_byte(scratch: &ScratchDir, segment: &str, offset: u64) {
    let mut bytes = read(scratch, segment);
    let at = usize::try_from(offset).expect("small offset");
    bytes[at] ^= 0x40;
    write(scratch, segment, &bytes);
}

fn truncate(scratch: &ScratchDir, segment: &str, len: u64) {
    let file =
        std::fs::OpenOptions::new().write(true).open(scratch.segment(segment)).expect("open a segment");
    file.set_len(len).expect("truncate");
}

fn recover(scratch: &ScratchDir) -> Result<RecoveryEnd, OpenError> {
    let storage = FileStorage::open(scratch.path()).expect("open wal/");
    let config = WalConfig { segment_size: FIXTURE_SEGMENT_SIZE };
    // Clock 0: nothing is due, so a writer that does start adds no record of its own.
    DurableWriter::open(storage, config, Ledger::default(), ManualClock::new(0)).map(|(writer, end)| {
        drop(writer);
        end
    })
}

fn verify_dir(scratch: &ScratchDir) -> Result<VerifyReport, WalError> {
    verify(&FileStorage::open(scratch.path()).expect("open wal/"))
}

/// Recovery and verify both fail with exactly `message`, and with the variant `is_variant` accepts.
fn assert_fatal(scratch: &ScratchDir, message: &str, is_variant: impl Fn(&WalError) -> bool) {
    let recovered = match recover(scratch) {
        Err(OpenError::Wal(error)) => error,
        other => panic!("recovery must fail with a WAL error, got {other:?}"),
    };
    assert_eq!(recovered.to_string(), message, "recovery: {recovered:?}");
    assert!(is_variant(&recovered), "recovery: {recovered:?}");
    assert!(recovered.is_corruption());
    let verified = verify_dir(scratch).expect_err("verify must fail");
    assert_eq!(verified.to_string(), message, "verify: {verified:?}");
    assert!(is_variant(&verified), "verify: {verified:?}");
}

#[test]
fn a_flipped_body_byte_in_a_middle_record_is_a_checksum_mismatch() {
    let scratch = ScratchDir::copy_of_fixture("body");
    flip_byte(&scratch, MIDDLE, OP_12_OFFSET + RECORD_HEADER_SIZE as u64 + 10);
    assert_fatal(
        &scratch,
        "body checksum mismatch in segment 00000000000000000011.wal at offset 832, op 12: header says \
         0xa3a8bee9, body has 0xe0d9416d",
        |e| matches!(e, WalError::ChecksumMismatch { segment, offset: 832, op: 12, .. } if segment == MIDDLE),
    );
}

#[test]
fn a_flipped_header_byte_is_a_bad_header() {
    let scratch = ScratchDir::copy_of_fixture("header");
    // A byte of op 13's clock_ns: only the header checksum can notice.
    flip_byte(&scratch, MIDDLE, OP_13_OFFSET + 16);
    assert_fatal(
        &scratch,
        "invalid record header in segment 00000000000000000011.wal at offset 1664 (expected op 13): header \
         checksum mismatch: stored 0xbf5dde37, computed 0xdab0096f",
        |e| {
            matches!(e, WalError::BadHeader {
                segment, offset: 1664, op: 13, source: HeaderError::ChecksumMismatch { stored: 0xbf5d_de37, .. }
            } if segment == MIDDLE)
        },
    );
}

#[test]
fn a_record_of_a_future_format_version_is_refused_by_name() {
    let scratch = ScratchDir::copy_of_fixture("version");
    // Op 5 (offset 2048 of the first segment) claims format version 3.
    let mut bytes = read(&scratch, FIRST);
    bytes[2048 + 4..2048 + 6].copy_from_slice(&3_u16.to_le_bytes());
    write(&scratch, FIRST, &bytes);
    assert_fatal(
        &scratch,
        "invalid record header in segment 00000000000000000001.wal at offset 2048 (expected op 5): \
         unsupported format version 3 (this build reads 1 and 2)",
        |e| {
            matches!(
                e,
                WalError::BadHeader {
                    offset: 2048,
                    op: 5,
                    source: HeaderError::UnsupportedVersion { found: 3 },
                    ..
                }
            )
        },
    );
}

#[test]
fn a_deleted_middle_segment_leaves_a_gap_in_the_ops() {
    let scratch = ScratchDir::copy_of_fixture("deleted");
    std::fs::remove_file(scratch.segment(MIDDLE)).expect("delete");
    assert_fatal(
        &scratch,
        "segment 00000000000000000015.wal is named for op 15 but the log continues at op 11",
        |e| matches!(e, WalError::SegmentMisnamed { named_op: 15, expected_op: 11, .. }),
    );
}

#[test]
fn a_renamed_middle_segment_is_misnamed() {
    let scratch = ScratchDir::copy_of_fixture("renamed");
    std::fs::rename(scratch.segment(MIDDLE), scratch.segment("00000000000000000012.wal")).expect("rename");
    assert_fatal(
        &scratch,
        "segment 00000000000000000012.wal is named for op 12 but the log continues at op 11",
        |e| matches!(e, WalError::SegmentMisnamed { named_op: 12, expected_op: 11, .. }),
    );
}

#[test]
fn a_segment_with_a_foreign_name_is_never_skipped() {
    let scratch = ScratchDir::copy_of_fixture("foreign-name");
    std::fs::rename(scratch.segment(MIDDLE), scratch.segment("11.wal")).expect("rename");
    assert_fatal(
        &scratch,
        "WAL file \"11.wal\" is not a segment name (20 digits of the first op, then .wal)",
        |e| matches!(e, WalError::BadSegmentName { name } if name == "11.wal"),
    );
}

#[test]
fn a_record_chained_to_the_wrong_predecessor_breaks_the_hash_chain() {
    let scratch = ScratchDir::copy_of_fixture("chain");
    // Op 12, re-encoded with valid checksums but chained to op 10's record instead of op 11's.
    let op_10_checksum = 0x081b_8302;
    let mut bytes = read(&scratch, MIDDLE);
    let start = usize::try_from(OP_12_OFFSET).expect("small offset");
    let end = start + usize::try_from(BULK_RECORD_BYTES).expect("small length");
    let header_bytes: &[u8; RECORD_HEADER_SIZE] =
        bytes[start..start + RECORD_HEADER_SIZE].try_into().expect("64 bytes");
    let header = RecordHeader::decode(header_bytes).expect("op 12 is intact");
    assert_eq!(header.op, 12);
    let fields = RecordFields {
        operation: header.operation,
        op: header.op,
        clock_ns: header.clock_ns,
        timestamp_first: header.timestamp_first,
        timestamp_last: header.timestamp_last,
        prev_checksum: op_10_checksum,
    };
    let mut record = Vec::new();
    encode(&mut record, &fields, &bytes[start + RECORD_HEADER_SIZE..end]);
    bytes[start..end].copy_from_slice(&record);
    write(&scratch, MIDDLE, &bytes);
    assert_fatal(
        &scratch,
        "hash chain broken in segment 00000000000000000011.wal at offset 832, op 12: prev_checksum is \
         0x081b8302, the previous record's checksum is 0xd7bf6053",
        |e| {
            matches!(
                e,
                WalError::ChainBroken { offset: 832, op: 12, expected: 0xd7bf_6053, found: 0x081b_8302, .. }
            )
        },
    );
}

#[test]
fn two_swapped_records_are_ops_out_of_sequence_even_in_the_last_segment() {
    let scratch = ScratchDir::copy_of_fixture("swapped");
    // Ops 16 and 17 change places (both 832 bytes).
    let mut bytes = read(&scratch, LAST);
    let a = usize::try_from(BULK_RECORD_BYTES).expect("small offset");
    let b = usize::try_from(OP_17_OFFSET).expect("small offset");
    let record_16 = bytes[a..b].to_vec();
    bytes.copy_within(b..b + (b - a), a);
    bytes[b..b + record_16.len()].copy_from_slice(&record_16);
    write(&scratch, LAST, &bytes);
    assert_fatal(
        &scratch,
        "op out of sequence in segment 00000000000000000015.wal at offset 832: expected op 16, found 17",
        |e| matches!(e, WalError::OpOutOfSequence { offset: 832, expected: 16, found: 17, .. }),
    );
}

#[test]
fn a_middle_segment_cut_mid_record_is_a_short_record() {
    let scratch = ScratchDir::copy_of_fixture("short-middle");
    truncate(&scratch, MIDDLE, OP_12_OFFSET + 100);
    assert_fatal(
        &scratch,
        "short record in segment 00000000000000000011.wal at offset 832 (expected op 12): needs 832 bytes, \
         the file ends at 932",
        |e| matches!(e, WalError::ShortRecord { offset: 832, op: 12, needed: 832, file_len: 932, .. }),
    );
}

/// The torn tail that both checks must report when the last segment ends inside op 17.
fn expected_torn_tail(dropped_bytes: u64) -> TornTail {
    TornTail {
        segment: LAST.to_owned(),
        offset: OP_17_OFFSET,
        op: 17,
        dropped_bytes,
        reason:
            "short record in segment 00000000000000000015.wal at offset 1664 (expected op 17): needs 832 \
                 bytes, the file ends at 1764"
                .to_owned(),
    }
}

#[test]
fn the_last_segment_cut_mid_record_is_a_torn_tail_that_recovery_cuts() {
    let scratch = ScratchDir::copy_of_fixture("short-last");
    truncate(&scratch, LAST, OP_17_OFFSET + 100);
    // The cut keeps op 17's header and 36 bytes of its body, whose last non-zero byte (in the
    // credit account id of its first transfer) is at offset 1760: 97 bytes are dropped.
    let dropped_bytes = 97;
    let report = verify_dir(&scratch).expect("a torn tail is not damage");
    assert_eq!(report.records, 16);
    assert_eq!(report.last_op, Some(16));
    assert_eq!(report.torn_tail, Some(expected_torn_tail(dropped_bytes)));
    let end = recover(&scratch).expect("recovery cuts the torn tail");
    assert_eq!(end.records_replayed, 16);
    assert_eq!(end.next_op, 17);
    assert_eq!(end.tail_offset, OP_17_OFFSET);
    assert_eq!(end.torn_tail, Some(expected_torn_tail(dropped_bytes)));
    // The cut is durable: the next recovery finds a clean end.
    let again = recover(&scratch).expect("recover again");
    assert_eq!((again.records_replayed, again.torn_tail), (16, None));
}

/// The documented limit of the torn-tail rule: damage to the last segment's records with no valid
/// record beyond the group window is indistinguishable from a torn write. `verify` reports it
/// and recovery drops ops 16 to 18, although they were acknowledged; the recovery starting point
/// of a snapshot bounds this in production.
#[test]
fn a_flipped_body_byte_in_the_last_segment_reads_as_a_torn_tail() {
    let scratch = ScratchDir::copy_of_fixture("last-body");
    flip_byte(&scratch, LAST, BULK_RECORD_BYTES + RECORD_HEADER_SIZE as u64 + 10);
    let reason = "body checksum mismatch in segment 00000000000000000015.wal at offset 832, op 16: header says \
                  0x7d975c56, body has 0x3ee6a3d2";
    let report = verify_dir(&scratch).expect("read as a torn tail");
    let torn = report.torn_tail.expect("a torn tail");
    assert_eq!((torn.offset, torn.op, torn.reason.as_str()), (BULK_RECORD_BYTES, 16, reason));
    let end = recover(&scratch).expect("recovery cuts it");
    assert_eq!((end.records_replayed, end.next_op), (15, 16));
}
