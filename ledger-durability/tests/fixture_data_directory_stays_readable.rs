//! The committed v1 data directory (`tests/fixtures/v1/`) stays readable: recovering it into a
//! fresh ledger replays every record and gives exactly the state hash recorded in its
//! `expected.txt`. A change to the WAL format or to the engine that breaks old data fails here.
//!
//! The fixture is written by the `#[ignore]`d `generate_the_v1_fixture` below, run by hand:
//!
//! ```text
//! cargo test -p ledger-durability --test fixture_data_directory_stays_readable -- --ignored
//! ```
//!
//! Regenerate only for a deliberate new fixture (then the literal messages in
//! `corrupt_fixtures_fail_with_exact_messages.rs` change too); a new format gets `v2/` beside `v1/`.

mod fixture_v1;

use fixture_v1::{Expected, FIXTURE_SEGMENT_SIZE, ScratchDir, fixture_dir, hex};
use ledger_core::clock::ManualClock;
use ledger_core::writer::{Command, Reply};
use ledger_core::{AMOUNT_MAX, Account, AccountFlags, Ledger, Transfer, TransferFlags, TransferState};
use ledger_durability::durable_writer::DurableWriter;
use ledger_durability::storage::FileStorage;
use ledger_durability::wal::{WalConfig, verify};
use std::time::Duration;

const LEDGER: u32 = 1;
/// The generator's clock: a fixed wall-clock-like start, moved by hand.
const CLOCK_START_NS: u64 = 1_750_000_000_000_000_000;
const CLOCK_STEP_NS: u64 = 1_000_000;
const NANOS_PER_SECOND: u64 = 1_000_000_000;

fn wal_config() -> WalConfig {
    WalConfig { segment_size: FIXTURE_SEGMENT_SIZE }
}

fn account(id: u128, flags: AccountFlags) -> Account {
    Account { id, ledger: LEDGER, code: 10, flags, ..Account::default() }
}

fn transfer(id: u128, debit: u128, credit: u128, amount: u128) -> Transfer {
    Transfer {
        id,
        debit_account_id: debit,
        credit_account_id: credit,
        amount,
        ledger: LEDGER,
        code: 20,
        ..Transfer::default()
    }
}

fn with_flags(t: Transfer, flags: TransferFlags) -> Transfer {
    Transfer { flags, ..t }
}

fn post_or_void(id: u128, pending_id: u128, amount: u128, flags: TransferFlags) -> Transfer {
    Transfer { id, pending_id, amount, flags, ..Transfer::default() }
}

/// One step of the fixture's history.
enum Step {
    Accounts(Vec<Account>),
    Transfers(Vec<Transfer>),
    /// Move the clock past the deadline of pending transfer 2003 and wait for the writer's pulse.
    PulseExpiringPending,
}

/// Every kind of record and event the v1 format holds.
fn history() -> Vec<Step> {
    let linked = TransferFlags::LINKED;
    let mut steps = vec![
        Step::Accounts((1..=4).map(|id| account(id, AccountFlags::NONE)).collect()),
        // A linked pair of accounts; account 6 may not go below zero.
        Step::Accounts(vec![
            account(5, AccountFlags::LINKED),
            account(6, AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS),
        ]),
        // Single-phase transfers; 1004 fails (account 6 has no credits yet), burning its id.
        Step::Transfers(vec![
            transfer(1001, 1, 2, 100),
            transfer(1002, 2, 3, 50),
            transfer(1003, 3, 4, 25),
            transfer(1004, 6, 1, 10),
            transfer(1005, 1, 6, 500),
        ]),
        // Pending transfers: no timeout (posted later), no timeout (voided later), 1 s (expires).
        Step::Transfers(vec![
            with_flags(transfer(2001, 1, 2, 300), TransferFlags::PENDING),
            with_flags(transfer(2002, 3, 4, 70), TransferFlags::PENDING),
            Transfer { timeout: 1, ..with_flags(transfer(2003, 5, 6, 40), TransferFlags::PENDING) },
        ]),
        Step::Transfers(vec![post_or_void(3001, 2001, 200, TransferFlags::POST_PENDING_TRANSFER)]),
        Step::Transfers(vec![post_or_void(3002, 2002, 0, TransferFlags::VOID_PENDING_TRANSFER)]),
        Step::PulseExpiringPending,
        // A linked chain that commits, then one that fails as a whole (4102 exceeds account 6's
        // credits: a transient failure that burns its id), then a single transfer.
        Step::Transfers(vec![
            with_flags(transfer(4001, 1, 3, 10), linked),
            with_flags(transfer(4002, 3, 5, 10), linked),
            transfer(4003, 5, 1, 10),
        ]),
        Step::Transfers(vec![
            with_flags(transfer(4101, 2, 4, 5), linked),
            with_flags(transfer(4102, 6, 4, 100_000), linked),
            transfer(4103, 1, 2, 1),
        ]),
        // Posting the expired pending transfer fails.
        Step::Transfers(vec![post_or_void(3003, 2003, AMOUNT_MAX, TransferFlags::POST_PENDING_TRANSFER)]),
    ];
    // Plain transfers to fill the later segments.
    for batch in 0..8_u128 {
        steps.push(Step::Transfers(
            (0..6_u128)
                .map(|i| {
                    let n = batch * 6 + i;
                    transfer(5000 + n, n % 5 + 1, (n + 2) % 5 + 1, n + 1)
                })
                .collect(),
        ));
    }
    steps
}

/// Writes the history through the real durable path (`DurableWriter` on `FileStorage`), one
/// batch per group, so every record and segment boundary is the same on every run.
#[test]
#[ignore = "writes the committed fixture tests/fixtures/v1/; run by hand only for a new fixture"]
fn generate_the_v1_fixture() {
    let dir = fixture_dir();
    let wal = dir.join("wal");
    if wal.exists() {
        std::fs::remove_dir_all(&wal).expect("remove the old wal/");
    }
    std::fs::create_dir_all(&dir).expect("create the fixture dir");
    let clock = ManualClock::new(CLOCK_START_NS);
    let storage = FileStorage::open(&dir).expect("open wal/");
    let (writer, end) =
        DurableWriter::open(storage, wal_config(), Ledger::default(), clock.clone()).expect("open");
    assert_eq!(end.records_replayed, 0, "the generator starts from an empty wal/");
    for step in history() {
        clock.advance(CLOCK_STEP_NS);
        match step {
            Step::Accounts(accounts) => {
                let reply = writer.call(Command::CreateAccounts(accounts)).expect("reply");
                assert!(matches!(reply, Reply::CreateAccounts { .. }), "{reply:?}");
            }
            Step::Transfers(transfers) => {
                let reply = writer.call(Command::CreateTransfers(transfers)).expect("reply");
                assert!(matches!(reply, Reply::CreateTransfers { .. }), "{reply:?}");
            }
            Step::PulseExpiringPending => {
                clock.advance(2 * NANOS_PER_SECOND);
                wait_for_expiry(&writer);
            }
        }
    }
    let ledger = writer.shutdown().expect("clean shutdown");
    ledger.check_invariants().expect("invariants");
    assert_eq!(ledger.transfer_state(2003), Some(TransferState::Expired));
    let records = u64::try_from(history().len()).expect("few steps");
    Expected { records, state_hash: hex(&ledger.state_hash()) }.write(&dir);
}

/// The writer pulses on its own once the deadline has passed; lookups leave it idle time.
fn wait_for_expiry(writer: &DurableWriter<ledger_core::transfer_store::MemoryTransferStore>) {
    const POLLS_MAX: u32 = 500;
    for _ in 0..POLLS_MAX {
        let Ok(Reply::Accounts(accounts)) = writer.call(Command::LookupAccounts(vec![5])) else {
            panic!("lookup")
        };
        if accounts[0].debits_pending == 0 {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("the writer did not pulse within {POLLS_MAX} polls");
}

#[test]
fn the_committed_fixture_recovers_to_its_recorded_state() {
    let expected = Expected::read(&fixture_dir());
    // Recovery may cut a torn tail, so it never runs on the committed files themselves.
    let scratch = ScratchDir::copy_of_fixture("readable");
    let storage = FileStorage::open(scratch.path()).expect("open wal/");
    // Clock 0: nothing can be due, so the reopened writer adds no pulse of its own.
    let (writer, end) =
        DurableWriter::open(storage, wal_config(), Ledger::default(), ManualClock::new(0)).expect("recover");
    assert_eq!(end.torn_tail, None, "the fixture ends cleanly");
    assert_eq!(end.records_checked, expected.records);
    assert_eq!(end.records_replayed, expected.records);
    assert_eq!(end.next_op, expected.records + 1);
    let ledger = writer.shutdown().expect("clean shutdown");
    assert_eq!(hex(&ledger.state_hash()), expected.state_hash);
    ledger.check_invariants().expect("invariants hold after replay");
    // Spot checks that name what the hash covers: each kind of record was replayed.
    assert_eq!(ledger.account_count(), 6);
    assert_eq!(ledger.transfer_state(2001), Some(TransferState::Posted));
    assert_eq!(ledger.transfer_state(2002), Some(TransferState::Voided));
    assert_eq!(ledger.transfer_state(2003), Some(TransferState::Expired));
    assert_eq!(ledger.transfer_state(4003), Some(TransferState::Committed));
    assert_eq!(ledger.transfer_state(4101), None, "rolled back with its chain");
    assert_eq!(ledger.transfer_state(4102), Some(TransferState::Failed), "a transient failure burns the id");
    assert_eq!(ledger.transfer_state(1004), Some(TransferState::Failed));
}

#[test]
fn verify_reads_the_committed_fixture_without_changing_it() {
    let expected = Expected::read(&fixture_dir());
    let scratch = ScratchDir::copy_of_fixture("verify");
    let report = verify(&FileStorage::open(scratch.path()).expect("open wal/")).expect("verify");
    assert_eq!(report.records, expected.records);
    assert_eq!(report.first_op, Some(1));
    assert_eq!(report.last_op, Some(expected.records));
    assert_eq!(report.torn_tail, None);
    assert!(report.segments.len() >= 3, "the corruption tests need a middle segment: {:?}", report.segments);
}
