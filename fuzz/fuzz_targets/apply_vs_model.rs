//! Small batches from fuzzer bytes, applied to the engine (`Ledger`) and to the naive reference
//! model (`ReferenceLedger`): identical results, identical state over the whole id space, the
//! engine's invariants after every batch, and the same state hash when the run is replayed.
//!
//! Ids are folded into a small space (accounts 1..=8, transfers 1..=32, plus 0 and 2^128 − 1) so
//! that events collide; flags are mostly limited to the defined bits so that the fuzzer spends
//! its time past `reserved_flag`.

#![no_main]

use arbitrary::Arbitrary;
use ledger_core::OwnedEvents as Batch;
use ledger_core::limits::NANOS_PER_SECOND;
use ledger_core::reference_model::{ReferenceLedger, ReferenceResults};
use ledger_core::{
    AMOUNT_MAX, Account, AccountFlags, BatchResults, Ledger, LedgerConfig, Transfer, TransferFlags,
};
use libfuzzer_sys::fuzz_target;

const ACCOUNT_ID_MAX: u128 = 8;
const TRANSFER_ID_MAX: u128 = 32;
const BATCHES_MAX: usize = 16;
const BATCH_EVENTS_MAX: usize = 16;
const WALL_CLOCK_START_NS: u64 = 1_000 * NANOS_PER_SECOND;

#[derive(Arbitrary, Debug)]
struct Input {
    /// Capacity limits: small values are used as they are, the rest mean "no practical limit".
    accounts_max: u8,
    transfers_max: u8,
    batches: Vec<FuzzBatch>,
}

#[derive(Arbitrary, Debug)]
enum FuzzBatch {
    Accounts(ClockMove, Vec<FuzzAccount>),
    Transfers(ClockMove, Vec<FuzzTransfer>),
    Pulse(ClockMove),
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum ClockMove {
    Tick(u16),
    StepBack(u32),
    JumpSeconds(u8),
    /// One raw reading; the simulated wall clock does not move.
    Reading(u64),
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Amount {
    Small(u8),
    Max,
    BelowMax(u8),
    Half,
    Raw(u128),
}

#[derive(Arbitrary, Debug, Clone, Copy)]
struct FuzzAccount {
    id: u8,
    ledger: u8,
    code: u8,
    flags: u16,
    user_data: u8,
    balance: Option<(u8, Amount)>,
    reserved: bool,
    timestamp: bool,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
struct FuzzTransfer {
    id: u8,
    debit: u8,
    credit: u8,
    amount: Amount,
    pending_id: u8,
    user_data: u8,
    timeout: u8,
    ledger: u8,
    code: u8,
    flags: u16,
    timestamp: bool,
}

/// 0 and `u128::MAX` for two byte values, otherwise an id of `1..=max`.
fn small_id(byte: u8, max: u128) -> u128 {
    match byte {
        255 => u128::MAX,
        254 => 0,
        b => u128::from(b) % max + 1,
    }
}

fn amount(a: Amount) -> u128 {
    match a {
        Amount::Small(v) => u128::from(v % 16),
        Amount::Max => AMOUNT_MAX,
        Amount::BelowMax(v) => u128::MAX - u128::from(v % 4) - 1,
        Amount::Half => u128::MAX / 2 + 1,
        Amount::Raw(v) => v,
    }
}

/// Mostly the defined bits only (`defined_mask`); with the top bit set, all sixteen as given.
fn flags(raw: u16, defined_mask: u16) -> u16 {
    if raw & 0x8000 == 0 { raw & defined_mask } else { raw }
}

fn account(a: &FuzzAccount) -> Account {
    let mut account = Account {
        id: small_id(a.id, ACCOUNT_ID_MAX),
        user_data_128: u128::from(a.user_data & 1),
        user_data_64: u64::from((a.user_data >> 1) & 1),
        user_data_32: u32::from((a.user_data >> 2) & 1),
        reserved: u32::from(a.reserved),
        ledger: u32::from(a.ledger % 4),
        code: u16::from(a.code % 3),
        flags: AccountFlags(flags(a.flags, 0x3f)),
        timestamp: u64::from(a.timestamp),
        ..Account::default()
    };
    match a.balance {
        Some((0, value)) => account.debits_pending = amount(value),
        Some((1, value)) => account.debits_posted = amount(value),
        Some((2, value)) => account.credits_pending = amount(value),
        Some((3, value)) => account.credits_posted = amount(value),
        _ => {}
    }
    account
}

fn transfer(t: &FuzzTransfer) -> Transfer {
    Transfer {
        id: small_id(t.id, TRANSFER_ID_MAX),
        debit_account_id: if t.debit < 128 { small_id(t.debit, ACCOUNT_ID_MAX) } else { 0 },
        credit_account_id: if t.credit < 128 { small_id(t.credit, ACCOUNT_ID_MAX) } else { 0 },
        amount: amount(t.amount),
        pending_id: if t.pending_id < 128 { 0 } else { small_id(t.pending_id, TRANSFER_ID_MAX) },
        user_data_128: u128::from(t.user_data & 1),
        user_data_64: u64::from((t.user_data >> 1) & 1),
        user_data_32: u32::from((t.user_data >> 2) & 1),
        timeout: if t.timeout == 255 { u32::MAX } else { u32::from(t.timeout % 5) },
        ledger: u32::from(t.ledger % 4),
        code: u16::from(t.code % 3),
        flags: TransferFlags(flags(t.flags, 0x1ff)),
        timestamp: u64::from(t.timestamp),
    }
}

fn capacity(byte: u8) -> u64 {
    if byte < 32 { u64::from(byte) } else { 1_000_000 }
}

fn assert_same_state(ledger: &Ledger, model: &ReferenceLedger) {
    assert_eq!(ledger.clock(), model.clock());
    for id in (0..=ACCOUNT_ID_MAX + 1).chain([u128::MAX]) {
        assert_eq!(ledger.lookup_account(id), model.lookup_account(id), "account {id}");
    }
    for id in (0..=TRANSFER_ID_MAX + 1).chain([u128::MAX]) {
        assert_eq!(ledger.lookup_transfer(id), model.lookup_transfer(id), "transfer {id}");
        assert_eq!(ledger.transfer_state(id), model.transfer_state(id), "state of transfer {id}");
    }
    assert!(ledger.accounts().eq(model.accounts()), "accounts in creation order");
    assert_eq!(ledger.pending_count(), model.pending_count());
    assert_eq!(ledger.next_expiry(), model.next_expiry());
    if let Err(violation) = ledger.check_invariants() {
        panic!("{violation}");
    }
}

fuzz_target!(|input: Input| {
    let config = LedgerConfig {
        accounts_max: capacity(input.accounts_max),
        transfers_max: capacity(input.transfers_max),
        ..LedgerConfig::default()
    };
    let mut ledger = Ledger::new(config);
    let mut model = ReferenceLedger::new(config);
    let mut results = BatchResults::default();
    let mut wall_clock_ns = WALL_CLOCK_START_NS;
    let mut applied = Vec::new();

    for fuzz_batch in input.batches.iter().take(BATCHES_MAX) {
        let clock_move = match fuzz_batch {
            FuzzBatch::Accounts(c, _) | FuzzBatch::Transfers(c, _) | FuzzBatch::Pulse(c) => *c,
        };
        let now = match clock_move {
            ClockMove::Tick(ns) => {
                wall_clock_ns = wall_clock_ns.saturating_add(u64::from(ns));
                wall_clock_ns
            }
            ClockMove::StepBack(ns) => {
                wall_clock_ns = wall_clock_ns.saturating_sub(u64::from(ns) * 4);
                wall_clock_ns
            }
            ClockMove::JumpSeconds(seconds) => {
                wall_clock_ns = wall_clock_ns.saturating_add(u64::from(seconds % 8) * NANOS_PER_SECOND);
                wall_clock_ns
            }
            ClockMove::Reading(raw) => raw,
        };
        let batch = match fuzz_batch {
            FuzzBatch::Accounts(_, a) => {
                Batch::CreateAccounts(a.iter().take(BATCH_EVENTS_MAX).map(account).collect())
            }
            FuzzBatch::Transfers(_, t) => {
                Batch::CreateTransfers(t.iter().take(BATCH_EVENTS_MAX).map(transfer).collect())
            }
            FuzzBatch::Pulse(_) => Batch::Pulse,
        };

        let engine =
            ledger.apply(now, batch.events(), &mut results).map(|()| ReferenceResults::from(&results));
        let expected = model.apply(now, batch.events());
        assert_eq!(engine, expected, "results at {now} ns");
        assert_same_state(&ledger, &model);
        applied.push((now, batch));
    }

    let mut replayed = Ledger::new(config);
    for (now, batch) in &applied {
        let _refused = replayed.apply(*now, batch.events(), &mut results);
    }
    assert_eq!(replayed.state_hash(), ledger.state_hash(), "state hash after replay");
});
