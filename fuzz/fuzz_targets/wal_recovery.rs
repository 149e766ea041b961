//! Any bytes as a WAL segment: `verify` and `recover` never panic, and whatever they accept is
//! consistent: `recover` agrees with `verify` on where the log ends, and a second `recover`
//! (after the first cut the torn tail) finds the same records and no torn tail.
//!
//! Input: one mode byte, then the bytes of the segment named after op 1 (in-memory storage).
//! Mode bit 0 adds a second segment holding a copy of the same bytes, named after op 2 plus the
//! segment's first byte, so that the multi-segment checks (op continuity, segment names, damage
//! outside the last segment) are reached too.

#![no_main]

use ledger_durability::storage::{FaultyStorage, Storage, StorageFile};
use ledger_durability::wal::{LogPosition, recover, segment_name, verify};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, segment)) = data.split_first() else { return };
    let storage = FaultyStorage::new();
    write(&storage, &segment_name(1), segment);
    if mode & 1 == 1 {
        let second_op = 2 + u64::from(segment.first().copied().unwrap_or(0));
        write(&storage, &segment_name(second_op), segment);
    }

    let verified = verify(&storage);
    let first = recover(&storage, LogPosition::GENESIS, |_, _| Ok::<(), std::io::Error>(()));
    let (Ok(verified), Ok(first)) = (verified, first) else { return };
    // Recovery from genesis checks more than verify (record 1's prev_checksum), never less.
    assert_eq!(
        verified.last_op.map_or(1, |op| op + 1),
        first.next_op,
        "verify and recover disagree on the end"
    );
    assert_eq!(verified.torn_tail, first.torn_tail);

    let second = recover(&storage, LogPosition::GENESIS, |_, _| Ok::<(), std::io::Error>(()))
        .expect("a log that recovered once recovers again");
    assert_eq!(second.torn_tail, None, "the torn tail was cut by the first recovery");
    assert_eq!((second.next_op, second.last_checksum), (first.next_op, first.last_checksum));
    assert_eq!(second.records_replayed, first.records_replayed);
});

fn write(storage: &FaultyStorage, name: &str, bytes: &[u8]) {
    let mut file = storage.create(name).expect("in-memory create");
    file.write_at(0, bytes).expect("in-memory write");
    file.sync().expect("in-memory sync");
    storage.sync_dir().expect("in-memory sync_dir");
}
