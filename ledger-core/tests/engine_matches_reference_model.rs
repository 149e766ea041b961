//! Model-based property test: the engine (`Ledger`) and the naive reference model
//! (`ledger_core::reference_model`, written from `docs/result-codes.md` alone) must give the same
//! answer to every batch and hold the same state after it.
//!
//! Random runs use a small id space (accounts 1..=8, transfers 1..=64, plus 0, 2^128 − 1 and a
//! few never-created neighbours) so that ids collide often: duplicates, resubmissions, burnt ids,
//! posts and voids of pending transfers that exist. Events start from a valid template (the
//! per-run plan of the eight accounts, a recent pending transfer for a post/void) and get at most
//! one deliberate defect, so that most of them reach the deep rules (balances, overflow,
//! two-phase, closing, expiry) while every validation code still occurs. Amounts come from a small
//! set that includes 0 and values near `u128::MAX`; the clock steps back, stalls and jumps seconds
//! ahead so that timeouts fire, and now and then leaps to the end of time.
//!
//! After every batch: identical results (failed indices and codes, expired ids, timestamp or
//! batch error), identical lookups and states of every id in the id space, identical balance
//! histories (`get_account_balances` for a few filters per account: the whole history, the
//! balance as of a time, and one filter that varies sides, fields, range, order and limit from
//! batch to batch; about one account in five has the `history` flag), the engine's
//! `check_invariants`, and per ledger total debits = total credits in the model. After the run:
//! replaying the same batches into a fresh `Ledger` gives the same `state_hash`, and so does a
//! snapshot of the final state loaded back (with the same balance histories).
//!
//! Cases default to `DEFAULT_CASES`; `PROPTEST_CASES=5000 cargo test ...` runs more.

use std::collections::BTreeMap;

use ledger_core::OwnedEvents as Batch;
use ledger_core::ledger::SnapshotPosition;
use ledger_core::limits::{NANOS_PER_SECOND, TIMESTAMP_MAX};
use ledger_core::reference_model::{ReferenceLedger, ReferenceResults};
use ledger_core::transfer_store::MemoryTransferStore;
use ledger_core::{
    AMOUNT_MAX, Account, AccountFilter, AccountFilterFlags, AccountFlags, BatchError, BatchResults,
    CreateAccountResult, CreateTransferResult, Ledger, LedgerConfig, Transfer, TransferFlags,
};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{TestCaseError, TestRunner};

/// Enough to reach every rule many times in a few seconds on a 2-core CI machine (test profile).
const DEFAULT_CASES: u32 = 256;
/// Runs sampled (model only) by `generators_reach_every_result_code`.
const COVERAGE_CASES: u32 = 512;

/// Accounts are 1..=ACCOUNTS (and 0, `u128::MAX`, ACCOUNTS + 1 as defects).
const ACCOUNTS: usize = 8;
const ACCOUNT_ID_MAX: u128 = ACCOUNTS as u128;
const TRANSFER_ID_MAX: u128 = 64;
/// The wall clock at the start of every run: far from zero so that steps back stay positive.
const WALL_CLOCK_START_NS: u64 = 1_000 * NANOS_PER_SECOND;

fn proptest_config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(DEFAULT_CASES);
    // No regression files: a failure prints the minimal case, which becomes a named test.
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

// ---------------------------------------------------------------------------------------------
// What is generated
// ---------------------------------------------------------------------------------------------

/// The fields every event for one account id carries unless a defect changes them, so that a
/// resubmission is `exists` and transfers find their accounts in the ledger they expect.
#[derive(Clone, Copy, Debug)]
struct AccountPlan {
    ledger: u32,
    code: u16,
    flags: AccountFlags,
    user_data_128: u128,
}

/// One deliberate defect of an account event.
#[derive(Clone, Copy, Debug)]
enum AccountDefect {
    Timestamp,
    Reserved,
    ReservedFlag(u32),
    IdZero,
    IdMax,
    ToggleFlag(AccountFlags),
    UserData128,
    UserData64,
    UserData32,
    OtherLedger,
    OtherCode,
    BothBalanceLimits,
    /// A non-zero opening balance: which of the four, and how much.
    Balance(usize, u128),
    LedgerZero,
    CodeZero,
}

#[derive(Clone, Copy, Debug)]
struct AccountEvent {
    /// Index into the plan: the id is `index + 1`.
    index: usize,
    linked: bool,
    defect: Option<AccountDefect>,
}

/// Which id a new transfer gets.
#[derive(Clone, Copy, Debug)]
enum TransferId {
    /// The next id of a counter that wraps around the id space.
    Fresh,
    /// Any id of the space, used or not.
    Any(u128),
}

#[derive(Clone, Copy, Debug)]
enum TransferKind {
    SinglePhase,
    Pending {
        timeout: u32,
    },
    Post,
    Void,
    /// Raw flag bits 0..=7, all combinations.
    AnyFlags(u8),
}

/// What a post/void puts in the fields it may leave zero.
#[derive(Clone, Copy, Debug)]
enum ResolveFill {
    Zero,
    /// The pending transfer's own values (and its amount).
    SameAsPending,
    /// Values of some other account, ledger and code.
    Other,
}

/// One deliberate defect of a transfer event.
#[derive(Clone, Copy, Debug)]
enum TransferDefect {
    Timestamp,
    ReservedFlag(u32),
    IdZero,
    IdMax,
    DebitZero,
    DebitMax,
    CreditZero,
    CreditMax,
    SameAccounts,
    UnknownDebit,
    UnknownCredit,
    PendingId(u128),
    PendingIdMax,
    PendingIdSelf,
    Timeout(u32),
    ToggleFlag(TransferFlags),
    LedgerZero,
    CodeZero,
    OtherLedger,
    Amount(u128),
}

#[derive(Clone, Copy, Debug)]
struct NewTransfer {
    id: TransferId,
    kind: TransferKind,
    debit: usize,
    /// Picks the credit account among the others, in the debit account's ledger if `same_ledger`
    /// and there is one.
    credit_offset: usize,
    same_ledger: bool,
    amount: u128,
    balancing: (bool, bool),
    closing: (bool, bool),
    linked: bool,
    /// For a post/void: the `n`-th most recent pending transfer submitted.
    pending_back: usize,
    fill: ResolveFill,
    user_data: (u128, u64, u32),
    defect: Option<TransferDefect>,
}

/// A field a resubmission changes.
#[derive(Clone, Copy, Debug)]
enum FieldChange {
    Nothing,
    Flags,
    PendingId,
    Timeout,
    Debit,
    Credit,
    Amount,
    AmountMax,
    AmountZero,
    UserData128,
    UserData64,
    UserData32,
    Ledger,
    Code,
}

#[derive(Clone, Copy, Debug)]
enum TransferEvent {
    New(NewTransfer),
    /// The `back`-th most recent transfer event submitted, again, maybe with one field changed.
    Resubmit {
        back: usize,
        change: FieldChange,
    },
}

/// How the writer's clock reading moves before a batch.
#[derive(Clone, Copy, Debug)]
enum ClockMove {
    /// A few nanoseconds forward (or none): timestamps come from the previous batch's.
    Tick(u64),
    /// The wall clock steps back.
    StepBack(u64),
    /// Whole seconds forward, so that timeouts fire.
    Jump(u64),
    /// One absurd reading (the wall clock itself does not move).
    Glitch(u64),
    /// The wall clock moves to a few seconds before 2^63 ns, where timeouts overflow.
    NearEndOfTime(u64),
}

#[derive(Clone, Debug)]
enum Step {
    Accounts(ClockMove, Vec<AccountEvent>),
    Transfers(ClockMove, Vec<TransferEvent>),
    Pulse(ClockMove),
}

#[derive(Clone, Debug)]
struct Case {
    config: LedgerConfig,
    plan: [AccountPlan; ACCOUNTS],
    /// The first batch: each planned account once, in order (defects and links still possible).
    setup: Vec<AccountEvent>,
    steps: Vec<Step>,
}

// ---------------------------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------------------------

/// True with the given probability in percent.
fn chance(percent: u8) -> impl Strategy<Value = bool> {
    (0..100_u8).prop_map(move |roll| roll < percent)
}

/// `Some` of the inner strategy one time in `one_in`.
fn sometimes<T: std::fmt::Debug + Clone + 'static>(
    one_in: u32,
    inner: impl Strategy<Value = T> + 'static,
) -> impl Strategy<Value = Option<T>> {
    prop_oneof![one_in - 1 => Just(None), 1 => inner.prop_map(Some)]
}

fn amount() -> impl Strategy<Value = u128> {
    prop_oneof![
        3 => Just(0),
        10 => 1..=3_u128,
        6 => 4..=100_u128,
        2 => Just(AMOUNT_MAX),
        2 => Just(u128::MAX - 1),
        1 => u128::MAX - 5..=u128::MAX,
        1 => Just(u128::MAX / 2),
        1 => Just(u128::MAX / 2 + 1),
    ]
}

fn account_plan() -> impl Strategy<Value = AccountPlan> {
    (
        prop_oneof![8 => Just(1_u32), 2 => Just(2), 1 => Just(3)],
        1..=2_u16,
        prop_oneof![
            12 => Just(AccountFlags::NONE),
            2 => Just(AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS),
            2 => Just(AccountFlags::CREDITS_MUST_NOT_EXCEED_DEBITS),
        ],
        chance(20),
        chance(3),
        0..=1_u128,
    )
        .prop_map(|(ledger, code, limit, history, closed, user_data_128)| {
            let mut flags = limit;
            if history {
                flags = flags | AccountFlags::HISTORY;
            }
            if closed {
                flags = flags | AccountFlags::CLOSED;
            }
            AccountPlan { ledger, code, flags, user_data_128 }
        })
}

fn account_defect() -> impl Strategy<Value = AccountDefect> {
    use AccountDefect as D;
    prop_oneof![
        Just(D::Timestamp),
        Just(D::Reserved),
        prop_oneof![Just(4_u32), 6..16_u32].prop_map(D::ReservedFlag),
        Just(D::IdZero),
        Just(D::IdMax),
        prop_oneof![
            Just(AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS),
            Just(AccountFlags::CREDITS_MUST_NOT_EXCEED_DEBITS),
            Just(AccountFlags::HISTORY),
            Just(AccountFlags::CLOSED),
        ]
        .prop_map(D::ToggleFlag),
        Just(D::UserData128),
        Just(D::UserData64),
        Just(D::UserData32),
        Just(D::OtherLedger),
        Just(D::OtherCode),
        Just(D::BothBalanceLimits),
        (0..4_usize, amount()).prop_map(|(which, value)| D::Balance(which, value.max(1))),
        Just(D::LedgerZero),
        Just(D::CodeZero),
    ]
}

fn account_event() -> impl Strategy<Value = AccountEvent> {
    (0..ACCOUNTS, chance(12), sometimes(4, account_defect()))
        .prop_map(|(index, linked, defect)| AccountEvent { index, linked, defect })
}

fn transfer_defect() -> impl Strategy<Value = TransferDefect> {
    use TransferDefect as D;
    prop_oneof![
        Just(D::Timestamp),
        (8..16_u32).prop_map(D::ReservedFlag),
        Just(D::IdZero),
        Just(D::IdMax),
        Just(D::DebitZero),
        Just(D::DebitMax),
        Just(D::CreditZero),
        Just(D::CreditMax),
        Just(D::SameAccounts),
        Just(D::UnknownDebit),
        Just(D::UnknownCredit),
        (1..=TRANSFER_ID_MAX).prop_map(D::PendingId),
        Just(D::PendingIdMax),
        Just(D::PendingIdSelf),
        prop_oneof![1..=3_u32, Just(u32::MAX)].prop_map(D::Timeout),
        (0..8_u32).prop_map(|bit| D::ToggleFlag(TransferFlags(1 << bit))),
        Just(D::LedgerZero),
        Just(D::CodeZero),
        Just(D::OtherLedger),
        amount().prop_map(D::Amount),
    ]
}

fn transfer_kind() -> impl Strategy<Value = TransferKind> {
    prop_oneof![
        35 => Just(TransferKind::SinglePhase),
        30 => prop_oneof![2 => Just(0_u32), 6 => 1..=3_u32, 1 => Just(u32::MAX)]
            .prop_map(|timeout| TransferKind::Pending { timeout }),
        15 => Just(TransferKind::Post),
        10 => Just(TransferKind::Void),
        3 => any::<u8>().prop_map(TransferKind::AnyFlags),
    ]
}

fn new_transfer() -> impl Strategy<Value = NewTransfer> {
    (
        prop_oneof![9 => Just(TransferId::Fresh), 1 => (1..=TRANSFER_ID_MAX).prop_map(TransferId::Any)],
        transfer_kind(),
        (0..ACCOUNTS, 0..ACCOUNTS - 1, chance(90)),
        // A post/void's amount: all, nothing, a part, or anything.
        (amount(), prop_oneof![4 => Just(AMOUNT_MAX), 3 => Just(0_u128), 4 => 1..=10_u128, 2 => amount()]),
        (chance(8), chance(8), chance(4), chance(4), chance(8)),
        (0..6_usize, prop_oneof![6 => Just(ResolveFill::Zero), 3 => Just(ResolveFill::SameAsPending), 1 => Just(ResolveFill::Other)]),
        (0..=2_u128, 0..=2_u64, 0..=2_u32),
        sometimes(7, transfer_defect()),
    )
        .prop_map(
            |(
                id,
                kind,
                (debit, credit_offset, same_ledger),
                (amount, resolve_amount),
                (balancing_debit, balancing_credit, closing_debit, closing_credit, linked),
                (pending_back, fill),
                user_data,
                defect,
            )| {
                let amount = if matches!(kind, TransferKind::Post | TransferKind::Void) { resolve_amount } else { amount };
                NewTransfer {
                    id,
                    kind,
                    debit,
                    credit_offset,
                    same_ledger,
                    amount,
                    balancing: (balancing_debit, balancing_credit),
                    closing: (closing_debit, closing_credit),
                    linked,
                    pending_back,
                    fill,
                    user_data,
                    defect,
                }
            },
        )
}

fn field_change() -> impl Strategy<Value = FieldChange> {
    use FieldChange as C;
    prop_oneof![
        12 => Just(C::Nothing),
        1 => Just(C::Flags),
        1 => Just(C::PendingId),
        1 => Just(C::Timeout),
        1 => Just(C::Debit),
        1 => Just(C::Credit),
        1 => Just(C::Amount),
        1 => Just(C::AmountMax),
        1 => Just(C::AmountZero),
        1 => Just(C::UserData128),
        1 => Just(C::UserData64),
        1 => Just(C::UserData32),
        1 => Just(C::Ledger),
        1 => Just(C::Code),
    ]
}

fn transfer_event() -> impl Strategy<Value = TransferEvent> {
    prop_oneof![
        9 => new_transfer().prop_map(TransferEvent::New),
        1 => (0..8_usize, field_change()).prop_map(|(back, change)| TransferEvent::Resubmit { back, change }),
    ]
}

fn clock_move() -> impl Strategy<Value = ClockMove> {
    prop_oneof![
        80 => (0..2_000_u64).prop_map(ClockMove::Tick),
        15 => (1..3 * NANOS_PER_SECOND).prop_map(ClockMove::StepBack),
        30 => (1..=6_u64).prop_map(ClockMove::Jump),
        2 => prop_oneof![Just(0), Just(u64::MAX), Just(TIMESTAMP_MAX)].prop_map(ClockMove::Glitch),
        1 => (1..=5_u64).prop_map(ClockMove::NearEndOfTime),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        2 => (clock_move(), prop::collection::vec(account_event(), 0..=4)).prop_map(|(c, a)| Step::Accounts(c, a)),
        11 => (clock_move(), prop::collection::vec(transfer_event(), 0..=8)).prop_map(|(c, t)| Step::Transfers(c, t)),
        1 => clock_move().prop_map(Step::Pulse),
    ]
}

fn ledger_config() -> impl Strategy<Value = LedgerConfig> {
    (prop_oneof![12 => Just(1_000_u64), 1 => 0..=7_u64], prop_oneof![12 => Just(10_000_u64), 1 => 0..=24_u64])
        .prop_map(|(accounts_max, transfers_max)| LedgerConfig {
            accounts_max,
            transfers_max,
            ..LedgerConfig::default()
        })
}

fn case() -> impl Strategy<Value = Case> {
    (
        ledger_config(),
        prop::array::uniform8(account_plan()),
        prop::collection::vec((chance(5), sometimes(16, account_defect())), ACCOUNTS),
        prop::collection::vec(step(), 1..=30),
    )
        .prop_map(|(config, plan, setup, steps)| {
            let setup = setup
                .into_iter()
                .enumerate()
                .map(|(index, (linked, defect))| AccountEvent { index, linked, defect })
                .collect();
            Case { config, plan, setup, steps }
        })
}

// ---------------------------------------------------------------------------------------------
// From generated steps to batches
// ---------------------------------------------------------------------------------------------

/// Turns generated steps into concrete batches: moves the simulated wall clock, fills events
/// from the plan, resolves references to earlier transfers.
#[derive(Debug)]
struct Builder {
    plan: [AccountPlan; ACCOUNTS],
    wall_clock_ns: u64,
    next_fresh_id: u128,
    /// Every transfer event submitted, as submitted, oldest first.
    submitted: Vec<Transfer>,
    /// Pending transfers a post/void may name: those the model stored (whatever became of
    /// them since) and the pending events earlier in the batch being built, oldest first.
    pending_candidates: Vec<Transfer>,
}

fn nth_most_recent<T: Copy>(items: &[T], back: usize) -> Option<T> {
    items.len().checked_sub(1 + back).map(|position| items[position]).or_else(|| items.first().copied())
}

impl Builder {
    fn new(plan: [AccountPlan; ACCOUNTS]) -> Self {
        Self {
            plan,
            wall_clock_ns: WALL_CLOCK_START_NS,
            next_fresh_id: 1,
            submitted: Vec::new(),
            pending_candidates: Vec::new(),
        }
    }

    fn read_clock(&mut self, clock_move: ClockMove) -> u64 {
        match clock_move {
            ClockMove::Tick(ns) => self.wall_clock_ns = self.wall_clock_ns.saturating_add(ns),
            ClockMove::StepBack(ns) => self.wall_clock_ns = self.wall_clock_ns.saturating_sub(ns),
            ClockMove::Jump(seconds) => {
                self.wall_clock_ns = self.wall_clock_ns.saturating_add(seconds * NANOS_PER_SECOND);
            }
            ClockMove::Glitch(reading) => return reading,
            ClockMove::NearEndOfTime(seconds) => {
                self.wall_clock_ns = TIMESTAMP_MAX - seconds * NANOS_PER_SECOND
            }
        }
        self.wall_clock_ns
    }

    /// The batch for `step`; `model` holds the state before it (to find pending transfers).
    fn build(&mut self, step: &Step, model: &ReferenceLedger) -> (u64, Batch) {
        let (now, batch) = match step {
            Step::Accounts(clock_move, events) => {
                let now = self.read_clock(*clock_move);
                (now, Batch::CreateAccounts(events.iter().map(|e| self.account(e)).collect()))
            }
            Step::Pulse(clock_move) => (self.read_clock(*clock_move), Batch::Pulse),
            Step::Transfers(clock_move, events) => {
                let now = self.read_clock(*clock_move);
                self.pending_candidates =
                    model.transfers().filter(|t| t.flags.contains(TransferFlags::PENDING)).copied().collect();
                let mut transfers = Vec::with_capacity(events.len());
                for event in events {
                    let transfer = match event {
                        TransferEvent::New(new) => self.new_transfer(new),
                        TransferEvent::Resubmit { back, change } => self.resubmit(*back, *change),
                    };
                    // Later events of the same batch may name this one.
                    self.submitted.push(transfer);
                    if transfer.flags.contains(TransferFlags::PENDING) {
                        self.pending_candidates.push(transfer);
                    }
                    transfers.push(transfer);
                }
                (now, Batch::CreateTransfers(transfers))
            }
        };
        if let Batch::CreateTransfers(transfers) = &batch
            && let Some(last) = transfers.last()
            && let Some(recorded) = self.submitted.last_mut()
        {
            *recorded = *last;
        }
        (now, batch)
    }

    fn account(&self, event: &AccountEvent) -> Account {
        use AccountDefect as D;
        let plan = self.plan[event.index];
        let mut a = Account {
            id: event.index as u128 + 1,
            user_data_128: plan.user_data_128,
            ledger: plan.ledger,
            code: plan.code,
            flags: plan.flags,
            ..Account::default()
        };
        if event.linked {
            a.flags = a.flags | AccountFlags::LINKED;
        }
        match event.defect {
            None => {}
            Some(D::Timestamp) => a.timestamp = 1,
            Some(D::Reserved) => a.reserved = 1,
            Some(D::ReservedFlag(bit)) => a.flags.0 |= 1 << bit,
            Some(D::IdZero) => a.id = 0,
            Some(D::IdMax) => a.id = u128::MAX,
            Some(D::ToggleFlag(flag)) => a.flags.0 ^= flag.0,
            Some(D::UserData128) => a.user_data_128 += 1,
            Some(D::UserData64) => a.user_data_64 = 1,
            Some(D::UserData32) => a.user_data_32 = 1,
            Some(D::OtherLedger) => a.ledger = a.ledger % 3 + 1,
            Some(D::OtherCode) => a.code += 1,
            Some(D::BothBalanceLimits) => {
                a.flags = a.flags
                    | AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS
                    | AccountFlags::CREDITS_MUST_NOT_EXCEED_DEBITS;
            }
            Some(D::Balance(0, value)) => a.debits_pending = value,
            Some(D::Balance(1, value)) => a.debits_posted = value,
            Some(D::Balance(2, value)) => a.credits_pending = value,
            Some(D::Balance(_, value)) => a.credits_posted = value,
            Some(D::LedgerZero) => a.ledger = 0,
            Some(D::CodeZero) => a.code = 0,
        }
        a
    }

    fn fresh_id(&mut self) -> u128 {
        let id = self.next_fresh_id;
        self.next_fresh_id = if id == TRANSFER_ID_MAX { 1 } else { id + 1 };
        id
    }

    fn new_transfer(&mut self, new: &NewTransfer) -> Transfer {
        use TransferDefect as D;
        let id = match new.id {
            TransferId::Fresh => self.fresh_id(),
            TransferId::Any(id) => id,
        };
        let debit = new.debit;
        let same_ledger: Vec<usize> =
            (0..ACCOUNTS).filter(|&j| j != debit && self.plan[j].ledger == self.plan[debit].ledger).collect();
        let credit = if new.same_ledger && !same_ledger.is_empty() {
            same_ledger[new.credit_offset % same_ledger.len()]
        } else {
            (debit + 1 + new.credit_offset) % ACCOUNTS
        };
        let (ud128, ud64, ud32) = new.user_data;
        let mut t = Transfer {
            id,
            debit_account_id: debit as u128 + 1,
            credit_account_id: credit as u128 + 1,
            amount: new.amount,
            user_data_128: ud128,
            user_data_64: ud64,
            user_data_32: ud32,
            ledger: self.plan[debit].ledger,
            code: 1,
            ..Transfer::default()
        };
        let mut flags = TransferFlags::NONE;
        let pending = nth_most_recent(&self.pending_candidates, new.pending_back);
        match new.kind {
            TransferKind::SinglePhase | TransferKind::Pending { .. } => {
                if new.balancing.0 {
                    flags = flags | TransferFlags::BALANCING_DEBIT;
                }
                if new.balancing.1 {
                    flags = flags | TransferFlags::BALANCING_CREDIT;
                }
                if let TransferKind::Pending { timeout } = new.kind {
                    flags = flags | TransferFlags::PENDING;
                    t.timeout = timeout;
                    if new.closing.0 {
                        flags = flags | TransferFlags::CLOSING_DEBIT;
                    }
                    if new.closing.1 {
                        flags = flags | TransferFlags::CLOSING_CREDIT;
                    }
                }
            }
            TransferKind::Post | TransferKind::Void => {
                flags = if matches!(new.kind, TransferKind::Post) {
                    TransferFlags::POST_PENDING_TRANSFER
                } else {
                    TransferFlags::VOID_PENDING_TRANSFER
                };
                t.pending_id = pending.map_or(1, |p| p.id);
                match new.fill {
                    ResolveFill::Zero => {
                        t.debit_account_id = 0;
                        t.credit_account_id = 0;
                        t.ledger = 0;
                        t.code = 0;
                        (t.user_data_128, t.user_data_64, t.user_data_32) = (0, 0, 0);
                    }
                    ResolveFill::SameAsPending => {
                        if let Some(p) = pending {
                            t.debit_account_id = p.debit_account_id;
                            t.credit_account_id = p.credit_account_id;
                            t.ledger = p.ledger;
                            t.code = p.code;
                            t.amount = p.amount;
                        }
                    }
                    ResolveFill::Other => t.code = 2,
                }
            }
            TransferKind::AnyFlags(bits) => {
                flags = TransferFlags(u16::from(bits));
                t.pending_id = if flags.is_post_or_void() { pending.map_or(1, |p| p.id) } else { 0 };
                t.timeout = u32::from(bits % 3);
            }
        }
        if new.linked {
            flags = flags | TransferFlags::LINKED;
        }
        t.flags = flags;
        match new.defect {
            None => {}
            Some(D::Timestamp) => t.timestamp = 1,
            Some(D::ReservedFlag(bit)) => t.flags.0 |= 1 << bit,
            Some(D::IdZero) => t.id = 0,
            Some(D::IdMax) => t.id = u128::MAX,
            Some(D::DebitZero) => t.debit_account_id = 0,
            Some(D::DebitMax) => t.debit_account_id = u128::MAX,
            Some(D::CreditZero) => t.credit_account_id = 0,
            Some(D::CreditMax) => t.credit_account_id = u128::MAX,
            Some(D::SameAccounts) => t.credit_account_id = t.debit_account_id,
            Some(D::UnknownDebit) => t.debit_account_id = ACCOUNT_ID_MAX + 1,
            Some(D::UnknownCredit) => t.credit_account_id = ACCOUNT_ID_MAX + 1,
            Some(D::PendingId(id)) => t.pending_id = id,
            Some(D::PendingIdMax) => t.pending_id = u128::MAX,
            Some(D::PendingIdSelf) => t.pending_id = t.id,
            Some(D::Timeout(seconds)) => t.timeout = seconds,
            Some(D::ToggleFlag(flag)) => t.flags.0 ^= flag.0,
            Some(D::LedgerZero) => t.ledger = 0,
            Some(D::CodeZero) => t.code = 0,
            Some(D::OtherLedger) => t.ledger = t.ledger % 3 + 1,
            Some(D::Amount(amount)) => t.amount = amount,
        }
        t
    }

    fn resubmit(&mut self, back: usize, change: FieldChange) -> Transfer {
        use FieldChange as C;
        // Before any transfer was submitted there is nothing to resubmit: an id-zero event.
        let Some(mut t) = nth_most_recent(&self.submitted, back) else { return Transfer::default() };
        match change {
            C::Nothing => {}
            C::Flags => t.flags.0 ^= TransferFlags::BALANCING_CREDIT.0,
            C::PendingId => t.pending_id = t.pending_id % TRANSFER_ID_MAX + 1,
            C::Timeout => t.timeout = t.timeout.wrapping_add(1),
            C::Debit => t.debit_account_id = t.debit_account_id % ACCOUNT_ID_MAX + 1,
            C::Credit => t.credit_account_id = t.credit_account_id % ACCOUNT_ID_MAX + 1,
            C::Amount => t.amount = t.amount.wrapping_add(1),
            C::AmountMax => t.amount = AMOUNT_MAX,
            C::AmountZero => t.amount = 0,
            C::UserData128 => t.user_data_128 += 1,
            C::UserData64 => t.user_data_64 += 1,
            C::UserData32 => t.user_data_32 += 1,
            C::Ledger => t.ledger = t.ledger % 3 + 1,
            C::Code => t.code = t.code % 2 + 1,
        }
        t
    }
}

// ---------------------------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------------------------

/// Every id the generators can produce, plus neighbours that are never used.
fn account_ids() -> impl Iterator<Item = u128> {
    (0..=ACCOUNT_ID_MAX + 1).chain([u128::MAX])
}

fn transfer_ids() -> impl Iterator<Item = u128> {
    (0..=TRANSFER_ID_MAX + 1).chain([u128::MAX])
}

fn assert_same_state(ledger: &Ledger, model: &ReferenceLedger, context: &str) -> Result<(), TestCaseError> {
    prop_assert_eq!(ledger.clock(), model.clock(), "clock after {}", context);
    for id in account_ids() {
        prop_assert_eq!(
            ledger.lookup_account(id),
            model.lookup_account(id),
            "account {} after {}",
            id,
            context
        );
    }
    for id in transfer_ids() {
        prop_assert_eq!(
            ledger.lookup_transfer(id),
            model.lookup_transfer(id),
            "transfer {} after {}",
            id,
            context
        );
        prop_assert_eq!(
            ledger.transfer_state(id),
            model.transfer_state(id),
            "state of transfer {} after {}",
            id,
            context
        );
    }
    let engine_accounts: Vec<Account> = ledger.accounts().copied().collect();
    let model_accounts: Vec<Account> = model.accounts().copied().collect();
    prop_assert_eq!(engine_accounts, model_accounts, "accounts in creation order after {}", context);
    prop_assert_eq!(
        ledger.transfer_count(),
        model.transfer_count() as u64,
        "transfer count after {}",
        context
    );
    prop_assert_eq!(ledger.pending_count(), model.pending_count(), "pending count after {}", context);
    prop_assert_eq!(ledger.next_expiry(), model.next_expiry(), "next expiry after {}", context);
    Ok(())
}

/// The filters compared after batch `number` for account `id`: its whole history, its balance
/// as of the middle of the run so far, and one filter whose sides, fields, range, order and limit
/// change with the batch number (now and then an invalid one, which must match nothing).
fn balance_filters(number: usize, id: u128, clock: u64) -> [AccountFilter; 3] {
    let start = WALL_CLOCK_START_NS;
    let span = clock.saturating_sub(start);
    let at = |fraction: u64| start + span / 4 * fraction;
    let both = AccountFilterFlags::DEBITS.union(AccountFilterFlags::CREDITS);
    let whole = AccountFilter::all_of(id, u32::MAX);
    let as_of_middle = AccountFilter {
        timestamp_max: at(2).max(1),
        limit: 1,
        flags: both.union(AccountFilterFlags::REVERSED),
        ..whole
    };
    let n = number + usize::try_from(id % 64).unwrap_or(0);
    let pick = |choices: &[u64], shift: usize| choices[(n >> shift) % choices.len()];
    let sides = [AccountFilterFlags::DEBITS, AccountFilterFlags::CREDITS, both][n % 3];
    let (timestamp_min, timestamp_max) =
        [(0, 0), (at(1), at(3)), (at(2), 0), (0, at(2)), (at(3), at(1))][(n >> 1) % 5];
    let varied = AccountFilter {
        user_data_128: u128::from(pick(&[0, 0, 1, 2], 2)),
        user_data_64: pick(&[0, 0, 0, 1, 2], 3),
        user_data_32: u32::try_from(pick(&[0, 0, 0, 2], 4)).unwrap_or(0),
        code: u16::try_from(pick(&[0, 1, 2], 5)).unwrap_or(0),
        timestamp_min,
        timestamp_max,
        limit: u32::try_from(pick(&[1, 2, 5, u64::from(u32::MAX)], 1)).unwrap_or(1),
        flags: if n.is_multiple_of(2) { sides } else { sides.union(AccountFilterFlags::REVERSED) },
        ..whole
    };
    [whole, as_of_middle, varied]
}

fn assert_same_balances(
    ledger: &Ledger,
    model: &ReferenceLedger,
    number: usize,
    context: &str,
) -> Result<(), TestCaseError> {
    let mut engine = Vec::new();
    for id in account_ids() {
        for filter in balance_filters(number, id, model.clock()) {
            engine.clear();
            ledger.get_account_balances(&filter, &mut engine);
            prop_assert_eq!(
                &engine,
                &model.get_account_balances(&filter),
                "balances of account {} for {:?} after {}",
                id,
                filter,
                context
            );
        }
    }
    Ok(())
}

/// A sum that cannot overflow: (carries, low 128 bits).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct WideSum(u32, u128);

impl WideSum {
    fn add(self, value: u128) -> Self {
        let (low, carried) = self.1.overflowing_add(value);
        Self(self.0 + u32::from(carried), low)
    }
}

/// Per ledger, total debits equal total credits, pending and posted separately (in the model:
/// the engine checks its own in `check_invariants`, and lookups already proved them equal).
fn assert_model_books_balance(model: &ReferenceLedger, context: &str) -> Result<(), TestCaseError> {
    let mut totals: BTreeMap<u32, [WideSum; 4]> = BTreeMap::new();
    for account in model.accounts() {
        let [debits_pending, debits_posted, credits_pending, credits_posted] =
            totals.entry(account.ledger).or_default();
        *debits_pending = debits_pending.add(account.debits_pending);
        *debits_posted = debits_posted.add(account.debits_posted);
        *credits_pending = credits_pending.add(account.credits_pending);
        *credits_posted = credits_posted.add(account.credits_posted);
    }
    for (ledger, [debits_pending, debits_posted, credits_pending, credits_posted]) in totals {
        prop_assert_eq!(
            debits_pending,
            credits_pending,
            "ledger {} pending totals after {}",
            ledger,
            context
        );
        prop_assert_eq!(debits_posted, credits_posted, "ledger {} posted totals after {}", ledger, context);
    }
    Ok(())
}

fn run_case(case: &Case) -> Result<(), TestCaseError> {
    let mut ledger = Ledger::new(case.config);
    let mut model = ReferenceLedger::new(case.config);
    let mut builder = Builder::new(case.plan);
    let mut applied: Vec<(u64, Batch)> = Vec::with_capacity(case.steps.len() + 1);
    let mut results = BatchResults::default();

    let setup = Step::Accounts(ClockMove::Tick(0), case.setup.clone());
    for (number, step) in std::iter::once(&setup).chain(&case.steps).enumerate() {
        let (now, batch) = builder.build(step, &model);
        let context = format!("batch {number} at {now} ns: {batch:?}");
        let engine =
            ledger.apply(now, batch.events(), &mut results).map(|()| ReferenceResults::from(&results));
        let expected = model.apply(now, batch.events());
        prop_assert_eq!(engine, expected, "results of {}", context);
        assert_same_state(&ledger, &model, &context)?;
        assert_same_balances(&ledger, &model, number, &context)?;
        if let Err(violation) = ledger.check_invariants() {
            prop_assert!(false, "{} after {}", violation, context);
        }
        assert_model_books_balance(&model, &context)?;
        applied.push((now, batch));
    }

    // Replay: the same batches with the same clock readings give the same state, bit for bit.
    let mut replayed = Ledger::new(case.config);
    for (now, batch) in &applied {
        // Refused batches are refused again; the hash below is what must match.
        let _refused = replayed.apply(*now, batch.events(), &mut results);
    }
    prop_assert_eq!(replayed.state_hash(), ledger.state_hash(), "state hash after replay");

    // A snapshot of the final state loads back to the same state, balance histories included.
    let mut bytes = Vec::new();
    ledger.write_snapshot(SnapshotPosition::default(), &mut bytes).expect("write to memory");
    let (loaded, _) = Ledger::read_snapshot(case.config, MemoryTransferStore::new(), &mut &bytes[..])
        .map_err(|e| TestCaseError::fail(format!("snapshot does not load: {e}")))?;
    prop_assert_eq!(loaded.state_hash(), ledger.state_hash(), "state hash after a snapshot");
    assert_same_balances(&loaded, &model, case.steps.len(), "loading a snapshot")?;
    Ok(())
}

proptest! {
    #![proptest_config(proptest_config())]

    #[test]
    fn engine_matches_reference_model(case in case()) {
        run_case(&case)?;
    }
}

/// The comparison is only as good as the inputs: over a fixed-seed sample of runs (model only,
/// so it is quick), every result code must occur, and so must expiry and a refused batch.
#[test]
fn generators_reach_every_result_code() {
    let mut runner = TestRunner::deterministic();
    let strategy = case();
    let mut account_codes: BTreeMap<CreateAccountResult, u32> = BTreeMap::new();
    let mut transfer_codes: BTreeMap<CreateTransferResult, u32> = BTreeMap::new();
    let (mut events, mut accepted, mut expired, mut refused) = (0_usize, 0_usize, 0_usize, 0_usize);
    let mut balance_rows = 0_usize;
    for _ in 0..COVERAGE_CASES {
        let case = strategy.new_tree(&mut runner).expect("the strategy generates").current();
        let mut model = ReferenceLedger::new(case.config);
        let mut builder = Builder::new(case.plan);
        let setup = Step::Accounts(ClockMove::Tick(0), case.setup.clone());
        for step in std::iter::once(&setup).chain(&case.steps) {
            let (now, batch) = builder.build(step, &model);
            match model.apply(now, batch.events()) {
                Ok(results) => {
                    events += batch.events().len();
                    accepted += batch.events().len() - results.accounts.len() - results.transfers.len();
                    expired += results.expired.len();
                    for r in results.accounts {
                        *account_codes.entry(r.result).or_default() += 1;
                    }
                    for r in results.transfers {
                        *transfer_codes.entry(r.result).or_default() += 1;
                    }
                }
                Err(BatchError::ClockExhausted { .. }) => refused += 1,
                Err(error @ BatchError::TooManyEvents { .. }) => panic!("batches are small: {error}"),
            }
        }
        balance_rows += model.balance_row_count();
    }
    eprintln!(
        "{events} events, {accepted} accepted, {expired} expired, {refused} batches refused, \
         {balance_rows} balance rows"
    );
    eprintln!("account codes: {account_codes:?}");
    eprintln!("transfer codes: {transfer_codes:?}");

    for code in CreateAccountResult::ALL.iter().filter(|c| **c != CreateAccountResult::Ok) {
        assert!(account_codes.contains_key(code), "no account event got {code}");
    }
    for code in CreateTransferResult::ALL.iter().filter(|c| **c != CreateTransferResult::Ok) {
        assert!(transfer_codes.contains_key(code), "no transfer event got {code}");
    }
    assert!(accepted * 4 >= events, "too few events accepted: {accepted} of {events}");
    assert!(expired > 0, "no pending transfer expired");
    assert!(refused > 0, "no batch was refused");
    assert!(balance_rows * 10 >= accepted, "too few balance rows to compare: {balance_rows}");
}
