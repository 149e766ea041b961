//! Property: a flipped bit in an acknowledged record is never accepted as data. Recovery either
//! stops with a corruption error, or, only when the record lies in the last segment (where the
//! damage is indistinguishable from a torn write), reports a torn tail that starts at or before
//! the damaged record and replays nothing from it on.

mod common;

use common::{all_records, make_groups, recover_all, written};
use ledger_durability::wal::{LogPosition, RECORD_HEADER_SIZE, verify};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn a_flipped_bit_in_an_acknowledged_record_is_always_detected(
        sizes in prop::collection::vec(prop::collection::vec(0..12_u32, 1..4), 1..10),
        seed in any::<u64>(),
        pick in any::<prop::sample::Index>(),
        bit in any::<prop::sample::Index>(),
    ) {
        let groups = make_groups(&sizes, seed);
        let storage = written(&groups);
        let records = all_records(&groups);
        let segments = recover_all(&storage, LogPosition::GENESIS).expect("clean").0.segments;

        // Locate the picked record: its segment and offset.
        let victim = pick.index(records.len());
        let mut segment = String::new();
        let mut offset = 0_u64;
        for (i, record) in records.iter().enumerate() {
            if let Some(s) = segments.iter().find(|s| s.first_op == record.op) {
                segment.clone_from(&s.name);
                offset = 0;
            }
            if i == victim {
                break;
            }
            offset += (RECORD_HEADER_SIZE + record.body.len()) as u64;
        }
        let record_bits = (RECORD_HEADER_SIZE + records[victim].body.len()) * 8;
        let bit = bit.index(record_bits);
        prop_assert!(storage.flip_bit(&segment, offset + (bit / 8) as u64, u8::try_from(bit % 8).unwrap_or(0)));
        let in_last_segment = segments.last().is_some_and(|s| s.name == segment);
        let victim_op = records[victim].op;

        let checked = verify(&storage);
        match recover_all(&storage, LogPosition::GENESIS) {
            Err(error) => {
                prop_assert!(error.is_corruption(), "{error}");
                prop_assert!(error.to_string().contains(&segment), "{error}");
                prop_assert!(checked.is_err(), "verify must fail too");
            }
            Ok((end, seen)) => {
                prop_assert!(in_last_segment, "damage outside the last segment was accepted");
                let torn = end.torn_tail.expect("the damage is reported as a torn tail");
                prop_assert!(torn.op <= victim_op && torn.segment == segment);
                prop_assert!(seen.iter().all(|r| r.op < victim_op), "the damaged record was replayed");
                prop_assert_eq!(&seen[..], &records[..seen.len()]);
                prop_assert!(checked.is_ok_and(|r| r.torn_tail.is_some()), "verify reports the torn tail");
            }
        }
    }
}
