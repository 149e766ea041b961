//! Shared helpers of the behaviour tests: building groups of records and reading the log back.

#![allow(dead_code, reason = "each test file uses a different subset")]

use ledger_durability::storage::{FaultyStorage, Storage, StorageFile};
use ledger_durability::wal::{
    LogPosition, Operation, RecordFields, RecordHeader, RecoveryEnd, WalConfig, WalError, WalWriter, encode,
};
use std::convert::Infallible;

/// One record as a reader sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seen {
    pub op: u64,
    pub checksum: u32,
    pub operation: Operation,
    pub clock_ns: u64,
    pub body: Vec<u8>,
}

/// A group ready for `write_group`, and the records it holds.
#[derive(Clone, Debug)]
pub struct Group {
    pub bytes: Vec<u8>,
    pub first_op: u64,
    pub last_op: u64,
    pub last_checksum: u32,
    pub records: Vec<Seen>,
}

/// Builds a group continuing at `next_op` after `prev_checksum`; `event_counts[i]` events in
/// record i (0 makes a pulse). Bodies are filled from `seed` so every record differs.
pub fn make_group(next_op: u64, prev_checksum: u32, event_counts: &[u32], seed: u64) -> Group {
    let mut bytes = Vec::new();
    let mut records = Vec::new();
    let mut prev = prev_checksum;
    for (i, &count) in event_counts.iter().enumerate() {
        let op = next_op + i as u64;
        let operation = match count {
            0 => Operation::Pulse,
            _ if op.is_multiple_of(2) => Operation::CreateAccounts,
            _ => Operation::CreateTransfers,
        };
        let mut body = vec![0_u8; count as usize * 128];
        let mut x = seed ^ op.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        for b in &mut body {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            *b = x.to_be_bytes()[0];
        }
        let fields = RecordFields {
            operation,
            op,
            clock_ns: 1_000_000 + op,
            timestamp_first: op * 10,
            timestamp_last: op * 10 + u64::from(count),
            prev_checksum: prev,
        };
        prev = encode(&mut bytes, &fields, &body);
        records.push(Seen { op, checksum: prev, operation, clock_ns: fields.clock_ns, body });
    }
    Group {
        bytes,
        first_op: next_op,
        last_op: next_op + event_counts.len() as u64 - 1,
        last_checksum: prev,
        records,
    }
}

/// Makes `sizes.len()` consecutive groups starting at op 1.
pub fn make_groups(sizes: &[Vec<u32>], seed: u64) -> Vec<Group> {
    let mut groups = Vec::new();
    let (mut op, mut prev) = (1, 0);
    for counts in sizes {
        let group = make_group(op, prev, counts, seed);
        op = group.last_op + 1;
        prev = group.last_checksum;
        groups.push(group);
    }
    groups
}

pub fn write(writer: &mut WalWriter<impl Storage>, group: &Group) -> Result<(), WalError> {
    writer.write_group(&group.bytes, group.first_op, group.last_op, group.last_checksum)
}

/// Recovers and returns every replayed record.
pub fn recover_all<S: Storage>(storage: &S, from: LogPosition) -> Result<(RecoveryEnd, Vec<Seen>), WalError> {
    let mut seen = Vec::new();
    let end = ledger_durability::wal::recover(storage, from, |h: &RecordHeader, body: &[u8]| {
        seen.push(Seen {
            op: h.op,
            checksum: h.checksum,
            operation: h.operation,
            clock_ns: h.clock_ns,
            body: body.to_vec(),
        });
        Ok::<(), Infallible>(())
    })?;
    Ok((end, seen))
}

/// A small-segment configuration so that tests roll segments often.
pub fn small_segments() -> WalConfig {
    WalConfig { segment_size: 4096 }
}

/// Writes all groups to a fresh `FaultyStorage`, all acknowledged.
pub fn written(groups: &[Group]) -> FaultyStorage {
    let storage = FaultyStorage::new();
    let mut writer = WalWriter::create(storage.clone(), small_segments()).expect("create");
    for group in groups {
        write(&mut writer, group).expect("write_group");
    }
    storage
}

/// Overwrites bytes of a file directly (test setup of damaged logs).
pub fn poke(storage: &impl Storage, name: &str, offset: u64, bytes: &[u8]) {
    let mut file = storage.open(name).expect("open");
    file.write_at(offset, bytes).expect("write");
    file.sync().expect("sync");
}

pub fn all_records(groups: &[Group]) -> Vec<Seen> {
    groups.iter().flat_map(|g| g.records.clone()).collect()
}
