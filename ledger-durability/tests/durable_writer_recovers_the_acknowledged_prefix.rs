//! Property, end to end through `DurableWriter`: whatever the fault (a crash at any storage
//! operation, a failed sync) and however unsynced bytes fare (each `TornWrites` mode), the ledger
//! recovered after the crash equals a reference ledger that applied exactly the first k submitted
//! batches, for some k at least the number of acknowledged batches, and its invariants hold.
//! So nothing acknowledged is lost, and no batch is half-applied: each is all or nothing.
//!
//! The workload (accounts, single-phase, pending, post and void transfers, linked chains, events
//! that fail) is submitted in windows of pipelined batches, so that group commit puts several
//! batches in one group. A `ManualClock` holds one reading per window and moves only between
//! windows, once every reply of the window has arrived; so each batch's clock reading is known,
//! and the reference applies each batch with the reading the writer gave it. Pending timeouts
//! are whole seconds and the clock moves by nanoseconds, so no deadline passes and the writer
//! never adds a pulse of its own: record i of the log is batch i.

use ledger_core::clock::ManualClock;
use ledger_core::writer::{Command, Reply};
use ledger_core::{Account, AccountFlags, BatchResults, Events, Ledger, Transfer, TransferFlags};
use ledger_durability::durable_writer::DurableWriter;
use ledger_durability::storage::{FaultyStorage, TornWrites};
use ledger_durability::wal::{RecoveryEnd, WalConfig};
use proptest::prelude::*;

/// Accounts created by the first batch; one more is created by a later batch, so transfers to
/// it fail or succeed depending on where they fall.
const ACCOUNTS: u128 = 5;
const LATE_ACCOUNT: u128 = ACCOUNTS + 1;
const LEDGER: u32 = 1;
const CLOCK_START_NS: u64 = 1_000_000_000_000;
/// Largest step of the clock between windows: far below the shortest timeout (1 s).
const CLOCK_STEP_NS_MAX: u64 = 10_000;
const BATCH_EVENTS_MAX: usize = 8;
const TRANSFER_BATCHES_MAX: usize = 14;
const WINDOW_BATCHES_MAX: usize = 4;
/// Tiny segments, so that groups roll to new segments and faults hit segment creation too.
const WAL_CONFIG: WalConfig = WalConfig { segment_size: 4096 };

#[derive(Clone, Debug)]
enum Batch {
    Accounts(Vec<Account>),
    Transfers(Vec<Transfer>),
}

impl Batch {
    fn events(&self) -> Events<'_> {
        match self {
            Self::Accounts(accounts) => Events::CreateAccounts(accounts),
            Self::Transfers(transfers) => Events::CreateTransfers(transfers),
        }
    }

    fn command(&self) -> Command {
        match self {
            Self::Accounts(accounts) => Command::CreateAccounts(accounts.clone()),
            Self::Transfers(transfers) => Command::CreateTransfers(transfers.clone()),
        }
    }
}

/// The batches in submission order, in windows that share one clock reading each.
#[derive(Clone, Debug)]
struct Workload {
    batches: Vec<Batch>,
    /// `(first batch, clock reading)` of each window; a window ends where the next begins.
    windows: Vec<(usize, u64)>,
}

impl Workload {
    fn clock_of(&self, batch: usize) -> u64 {
        let window = self.windows.partition_point(|&(first, _)| first <= batch) - 1;
        self.windows[window].1
    }

    fn window_batches(&self, window: usize) -> std::ops::Range<usize> {
        let start = self.windows[window].0;
        let end = self.windows.get(window + 1).map_or(self.batches.len(), |&(first, _)| first);
        start..end
    }
}

/// One transfer event before ids are assigned.
#[derive(Clone, Copy, Debug)]
struct TransferSpec {
    /// 0-3 single-phase, 4-5 pending, 6 post, 7 void.
    kind: u8,
    debit: u128,
    credit: u128,
    amount: u128,
    linked: bool,
    timeout_s: u32,
    /// Which earlier pending transfer a post or void names.
    pick: usize,
}

fn transfer_spec() -> impl Strategy<Value = TransferSpec> {
    (
        0..8_u8,
        1..=LATE_ACCOUNT,
        1..=LATE_ACCOUNT,
        1..200_u128,
        prop::bool::weighted(0.3),
        0..3_u32,
        any::<usize>(),
    )
        .prop_map(|(kind, debit, credit, amount, linked, timeout_s, pick)| TransferSpec {
            kind,
            debit,
            credit,
            amount,
            linked,
            timeout_s,
            pick,
        })
}

fn workload() -> impl Strategy<Value = Workload> {
    (
        prop::collection::vec(any::<bool>(), ACCOUNTS as usize),
        prop::collection::vec(
            prop::collection::vec(transfer_spec(), 1..=BATCH_EVENTS_MAX),
            1..=TRANSFER_BATCHES_MAX,
        ),
        any::<prop::sample::Index>(),
        prop::collection::vec((1..=WINDOW_BATCHES_MAX, 0..=CLOCK_STEP_NS_MAX), TRANSFER_BATCHES_MAX + 2),
    )
        .prop_map(|(limited, specs, late_at, windows)| build(&limited, &specs, late_at, &windows))
}

fn build(
    limited: &[bool],
    specs: &[Vec<TransferSpec>],
    late_at: prop::sample::Index,
    windows: &[(usize, u64)],
) -> Workload {
    let account = |id: u128, flags| Account { id, ledger: LEDGER, code: 1, flags, ..Account::default() };
    let first = (1..=ACCOUNTS)
        .zip(limited)
        .map(|(id, &limited)| {
            // Limited accounts make some transfers fail on balance, which depends on order.
            let flags =
                if limited { AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS } else { AccountFlags::NONE };
            account(id, flags)
        })
        .collect();
    let mut batches = vec![Batch::Accounts(first)];
    let mut next_id = 1_u128;
    let mut pending_ids: Vec<u128> = Vec::new();
    for events in specs {
        let transfers = events
            .iter()
            .map(|spec| {
                let id = next_id;
                next_id += 1;
                let flags = if spec.linked { TransferFlags::LINKED } else { TransferFlags::NONE };
                let plain = Transfer {
                    id,
                    debit_account_id: spec.debit,
                    credit_account_id: spec.credit,
                    amount: spec.amount,
                    ledger: LEDGER,
                    code: 1,
                    flags,
                    ..Transfer::default()
                };
                let pending_id = if pending_ids.is_empty() {
                    u128::from(u32::MAX)
                } else {
                    pending_ids[spec.pick % pending_ids.len()]
                };
                let resolve = |flag: TransferFlags| Transfer {
                    id,
                    pending_id,
                    // 0 posts or voids the whole amount; a smaller amount posts part of it.
                    amount: if spec.amount % 2 == 0 { 0 } else { spec.amount },
                    flags: flags | flag,
                    ..Transfer::default()
                };
                match spec.kind {
                    0..=3 => plain,
                    4 | 5 => {
                        pending_ids.push(id);
                        Transfer { flags: flags | TransferFlags::PENDING, timeout: spec.timeout_s, ..plain }
                    }
                    6 => resolve(TransferFlags::POST_PENDING_TRANSFER),
                    _ => resolve(TransferFlags::VOID_PENDING_TRANSFER),
                }
            })
            .collect();
        batches.push(Batch::Transfers(transfers));
    }
    let late = 1 + late_at.index(batches.len());
    batches.insert(late, Batch::Accounts(vec![account(LATE_ACCOUNT, AccountFlags::NONE)]));

    let mut window_starts = Vec::new();
    let (mut first, mut clock) = (0, CLOCK_START_NS);
    for &(size, step) in windows {
        if first >= batches.len() {
            break;
        }
        window_starts.push((first, clock));
        first += size;
        clock += step;
    }
    Workload { batches, windows: window_starts }
}

/// `hashes[k]`: the state hash of a plain ledger that applied the first k batches with the
/// clock readings the durable writer gave them.
fn reference_hashes(workload: &Workload) -> Vec<[u8; 32]> {
    let mut ledger = Ledger::default();
    let mut results = BatchResults::default();
    let mut hashes = vec![ledger.state_hash()];
    for (i, batch) in workload.batches.iter().enumerate() {
        ledger.apply(workload.clock_of(i), batch.events(), &mut results).expect("a small batch is accepted");
        hashes.push(ledger.state_hash());
    }
    hashes
}

#[derive(Clone, Copy, Debug)]
enum Fault {
    /// The n-th mutating storage call crashes the machine, n as a fraction of a fault-free run's.
    Crash(f64),
    /// The n-th sync fails (then the machine crashes), n as a fraction of a fault-free run's.
    FailSync(f64),
}

fn fault() -> impl Strategy<Value = Fault> {
    prop_oneof![3 => (0.0..1.0_f64).prop_map(Fault::Crash), 1 => (0.0..1.0_f64).prop_map(Fault::FailSync)]
}

fn torn_writes() -> impl Strategy<Value = TornWrites> {
    prop_oneof![
        1 => Just(TornWrites::Lost),
        1 => Just(TornWrites::Kept),
        2 => any::<u64>().prop_map(|seed| TornWrites::Prefix { seed }),
        2 => any::<u64>().prop_map(|seed| TornWrites::Sectors { seed }),
    ]
}

/// What a run left behind.
struct Run {
    /// Batches answered with a durable `CreateAccounts`/`CreateTransfers` reply, in order.
    acknowledged: usize,
    storage: FaultyStorage,
}

/// Submits the workload window by window; after the first batch that is not acknowledged,
/// submits nothing more. `arm` sets the fault once the writer is open.
fn run(workload: &Workload, storage: &FaultyStorage, arm: impl FnOnce(&FaultyStorage)) -> Run {
    let clock = ManualClock::new(CLOCK_START_NS);
    let (writer, end) =
        DurableWriter::open(storage.clone(), WAL_CONFIG, Ledger::default(), clock.clone()).expect("open");
    assert_eq!(end.records_replayed, 0);
    arm(storage);
    let mut acknowledged = 0;
    let mut stopped = false;
    for window in 0..workload.windows.len() {
        if stopped {
            break;
        }
        clock.set(workload.windows[window].1);
        let receivers: Vec<_> =
            workload.window_batches(window).map(|i| writer.submit(workload.batches[i].command())).collect();
        for receiver in receivers {
            let reply = receiver.map_err(|e| e.to_string()).and_then(|r| r.recv().map_err(|e| e.to_string()));
            match reply {
                Ok(Reply::CreateAccounts { .. } | Reply::CreateTransfers { .. }) => {
                    assert!(!stopped, "batch {acknowledged} acknowledged after an earlier batch failed");
                    acknowledged += 1;
                }
                Ok(Reply::Fatal(_)) => stopped = true,
                other => panic!("unexpected reply {other:?}"),
            }
        }
    }
    drop(writer);
    Run { acknowledged, storage: storage.crash() }
}

fn faulty_storage(torn: TornWrites, sector_bytes: usize) -> FaultyStorage {
    let storage = FaultyStorage::new();
    storage.set_torn_writes(torn);
    storage.set_sector_size(sector_bytes);
    storage
}

/// Reopens a crashed image into a fresh ledger, as start-up does, and stops the writer again.
fn recover(storage: FaultyStorage) -> (Ledger, RecoveryEnd) {
    // Clock 0: nothing is due, so the reopened writer adds no pulse of its own.
    let (writer, end) = DurableWriter::open(storage, WAL_CONFIG, Ledger::default(), ManualClock::new(0))
        .expect("recovery after a crash never fails");
    (writer.shutdown().expect("clean shutdown"), end)
}

#[expect(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_precision_loss,
    reason = "a fraction of a small count"
)]
fn fraction_of(count: u64, fraction: f64) -> u64 {
    1 + (count as f64 * fraction) as u64
}

/// One case: a fault-free run to aim the fault, the faulted run, and the check of its recovery.
fn check(
    workload: &Workload,
    fault: Fault,
    torn: TornWrites,
    sector_bytes: usize,
) -> Result<(), TestCaseError> {
    let reference = reference_hashes(workload);
    let submitted = workload.batches.len();

    // Fault-free: every batch is acknowledged and recovered, which also proves that the
    // reference reproduces the writer's clock readings.
    let dry = faulty_storage(torn, sector_bytes);
    let clean = run(workload, &dry, |_| {});
    prop_assert_eq!(clean.acknowledged, submitted);
    let (dry_operations, dry_syncs) = (dry.operations(), dry.syncs());
    let (ledger, _) = recover(clean.storage);
    prop_assert_eq!(ledger.state_hash(), reference[submitted], "a fault-free run recovers every batch");

    let faulted = run(workload, &faulty_storage(torn, sector_bytes), |s| match fault {
        Fault::Crash(at) => s.crash_at_operation(fraction_of(dry_operations, at)),
        Fault::FailSync(at) => s.fail_sync_at(fraction_of(dry_syncs, at)),
    });
    let (recovered, end) = recover(faulted.storage);
    recovered.check_invariants().map_err(|e| TestCaseError::fail(e.to_string()))?;
    let hash = recovered.state_hash();
    // Every batch changes the clock, so no two prefixes have the same hash.
    let Some(k) = reference.iter().position(|h| *h == hash) else {
        return Err(TestCaseError::fail(format!(
            "the recovered state ({} records) is no prefix of the {submitted} batches",
            end.records_replayed
        )));
    };
    prop_assert!(
        k >= faulted.acknowledged,
        "lost acknowledged batches: recovered {} of {} acknowledged",
        k,
        faulted.acknowledged
    );
    prop_assert_eq!(k as u64, end.records_replayed, "one record per batch");
    Ok(())
}

proptest! {
    // Each case starts four writers (eight threads) and writes ~10 groups twice: 96 cases take
    // about a second in a debug build.
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn durable_writer_recovers_the_acknowledged_prefix(
        workload in workload(),
        fault in fault(),
        torn in torn_writes(),
        sector_bytes in prop::sample::select(vec![64_usize, 512]),
    ) {
        check(&workload, fault, torn, sector_bytes)?;
    }
}
