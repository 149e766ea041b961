//! Property: whatever the crash point and however the unsynced bytes fare, recovery gives back a
//! prefix of the written records that contains every acknowledged group whole.
//!
//! Precisely: let A be the groups whose `write_group` returned `Ok` (acknowledged) and F the one
//! group during which the crash or the failed sync happened (later groups are never written: the
//! writer is dead or permanently failed). Recovery returns all records of A, then either nothing
//! of F, all of F, or a prefix of F's records (a torn write may keep the first records of the
//! group and lose later ones; F was never acknowledged, so no client was told either way). It
//! never returns a record with a hole before it, a changed record, or anything after F. The log
//! then resumes exactly after what was recovered.

mod common;

use common::{Group, all_records, make_group, make_groups, recover_all, small_segments, write};
use ledger_durability::storage::{FaultyStorage, TornWrites};
use ledger_durability::wal::{LogPosition, WalWriter, verify};
use proptest::prelude::*;

/// Where the fault hits, as a fraction of the storage calls that a fault-free run makes, so
/// that every case really faults.
#[derive(Clone, Copy, Debug)]
enum Fault {
    /// A mutating storage call crashes the machine.
    Crash(f64),
    /// A sync fails; the process then crashes, as it must.
    FailSync(f64),
}

fn torn_strategy() -> impl Strategy<Value = TornWrites> {
    prop_oneof![
        1 => Just(TornWrites::Lost),
        1 => Just(TornWrites::Kept),
        2 => any::<u64>().prop_map(|seed| TornWrites::Prefix { seed }),
        4 => any::<u64>().prop_map(|seed| TornWrites::Sectors { seed }),
    ]
}

fn fault_strategy() -> impl Strategy<Value = Fault> {
    prop_oneof![3 => (0.0..1.0_f64).prop_map(Fault::Crash), 1 => (0.0..1.0_f64).prop_map(Fault::FailSync)]
}

fn sizes_strategy() -> impl Strategy<Value = Vec<Vec<u32>>> {
    // Up to 4 records of up to 11 events: groups of up to ~6 KiB against 4 KiB segments, so
    // groups roll and some get a segment of their own size.
    prop::collection::vec(prop::collection::vec(0..12_u32, 1..5), 1..10)
}

/// Runs the groups against a faulty storage; returns how many were acknowledged and the
/// storage as it is after the crash.
fn run(groups: &[Group], fault: Fault, torn: TornWrites, sector: usize) -> (usize, FaultyStorage) {
    let dry = FaultyStorage::new();
    let mut writer = WalWriter::create(dry.clone(), small_segments()).expect("create");
    for group in groups {
        write(&mut writer, group).expect("fault-free write");
    }
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss,
        reason = "small counts"
    )]
    let at = |fraction: f64, total: u64| 1 + (fraction * total as f64) as u64;

    let storage = FaultyStorage::new();
    storage.set_sector_size(sector);
    storage.set_torn_writes(torn);
    match fault {
        Fault::Crash(fraction) => storage.crash_at_operation(at(fraction, dry.operations())),
        Fault::FailSync(fraction) => storage.fail_sync_at(at(fraction, dry.syncs())),
    }
    let mut acked = 0;
    if let Ok(mut writer) = WalWriter::create(storage.clone(), small_segments()) {
        let mut first_error = None;
        for group in groups {
            match write(&mut writer, group) {
                Ok(()) => {
                    assert!(first_error.is_none(), "no write succeeds after a failure");
                    acked += 1;
                }
                Err(e) => {
                    let message = e.to_string();
                    // Every later call fails with the same error.
                    assert!(first_error.as_ref().is_none_or(|m| *m == message), "{message}");
                    first_error.get_or_insert(message);
                }
            }
        }
    }
    (acked, storage.crash())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 160, ..ProptestConfig::default() })]

    #[test]
    fn recovery_returns_every_acknowledged_group_and_only_a_prefix_of_the_failed_one(
        sizes in sizes_strategy(),
        fault in fault_strategy(),
        torn in torn_strategy(),
        sector in prop_oneof![3 => Just(64_usize), 1 => Just(512)],
        seed in any::<u64>(),
        crash_in_recovery in prop::option::of(1..4_u64),
    ) {
        let groups = make_groups(&sizes, seed);
        let (acked, storage) = run(&groups, fault, torn, sector);
        let written = all_records(&groups);
        let acked_records = all_records(&groups[..acked]).len();
        let failed_records = groups.get(acked).map_or(0, |g| g.records.len());

        let report = verify(&storage).expect("verify of a crashed log");
        // A crash during recovery (while a torn tail is cut) changes nothing: recover again.
        let storage = match crash_in_recovery {
            Some(n) if report.torn_tail.is_some() => {
                storage.set_torn_writes(torn);
                storage.crash_at_operation(n);
                let _ = recover_all(&storage, LogPosition::GENESIS);
                storage.crash()
            }
            _ => storage,
        };
        let (end, seen) = recover_all(&storage, LogPosition::GENESIS).expect("recover a crashed log");
        prop_assert!(seen.len() >= acked_records, "lost an acknowledged record: {} < {}", seen.len(), acked_records);
        prop_assert!(seen.len() <= acked_records + failed_records, "records after the failed group");
        prop_assert_eq!(&seen[..], &written[..seen.len()], "not an exact prefix");
        prop_assert_eq!(end.next_op, seen.len() as u64 + 1);
        prop_assert_eq!(report.records, seen.len() as u64, "verify and recover agree");

        // The log resumes right after what was recovered, and the tail is clean.
        let clean = verify(&storage).expect("verify after recovery");
        prop_assert_eq!(clean.torn_tail, None);
        let mut writer = WalWriter::resume(storage.clone(), small_segments(), end).expect("resume");
        let next = make_group(writer.next_op(), writer.last_checksum(), &[2, 0, 1], seed ^ 1);
        write(&mut writer, &next).expect("write after resume");
        let (_, after) = recover_all(&storage, LogPosition::GENESIS).expect("recover after resume");
        prop_assert_eq!(&after[..seen.len()], &seen[..]);
        prop_assert_eq!(&after[seen.len()..], &next.records[..]);
    }
}
