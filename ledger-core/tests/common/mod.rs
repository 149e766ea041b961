//! Builders and checks shared by the behaviour tests.
//!
//! Every helper that applies a batch also checks the ledger's whole-state invariants afterwards,
//! so each behaviour test proves along the way that the books still balance.

#![allow(dead_code, reason = "each behaviour test uses a different subset of the shared helpers")]

use ledger_core::{
    Account, AccountFlags, BatchError, BatchResults, CreateAccountResult, CreateTransferResult, EventResult,
    Events, Ledger, Transfer, TransferFlags,
};

/// The ledger (asset) most tests book in.
pub const LEDGER: u32 = 700;
/// A second ledger, for the "same ledger" rules.
pub const OTHER_LEDGER: u32 = 800;
/// The chart-of-accounts code and transfer code most tests use.
pub const CODE: u16 = 10;
pub const NS_PER_SECOND: u64 = 1_000_000_000;
/// A clock reading far from zero, so that deadlines and timestamps are easy to tell apart.
pub const T0: u64 = 1_000 * NS_PER_SECOND;

pub type AccountFailure = EventResult<CreateAccountResult>;
pub type TransferFailure = EventResult<CreateTransferResult>;

/// A plain account on `LEDGER` with `CODE`.
#[must_use]
pub fn account(id: u128) -> Account {
    Account { id, ledger: LEDGER, code: CODE, ..Account::default() }
}

#[must_use]
pub fn account_with_flags(id: u128, flags: AccountFlags) -> Account {
    Account { flags, ..account(id) }
}

/// A single-phase transfer on `LEDGER` with `CODE`.
#[must_use]
pub fn transfer(id: u128, debit_account_id: u128, credit_account_id: u128, amount: u128) -> Transfer {
    Transfer {
        id,
        debit_account_id,
        credit_account_id,
        amount,
        ledger: LEDGER,
        code: CODE,
        ..Transfer::default()
    }
}

/// A pending transfer that never times out.
#[must_use]
pub fn pending(id: u128, debit_account_id: u128, credit_account_id: u128, amount: u128) -> Transfer {
    Transfer { flags: TransferFlags::PENDING, ..transfer(id, debit_account_id, credit_account_id, amount) }
}

#[must_use]
pub fn pending_with_timeout(
    id: u128,
    debit_account_id: u128,
    credit_account_id: u128,
    amount: u128,
    timeout_seconds: u32,
) -> Transfer {
    Transfer { timeout: timeout_seconds, ..pending(id, debit_account_id, credit_account_id, amount) }
}

/// A post naming only the pending transfer and the amount; every optional field left zero.
#[must_use]
pub fn post(id: u128, pending_id: u128, amount: u128) -> Transfer {
    Transfer { id, pending_id, amount, flags: TransferFlags::POST_PENDING_TRANSFER, ..Transfer::default() }
}

/// A void naming only the pending transfer (amount 0 = release all of it).
#[must_use]
pub fn void(id: u128, pending_id: u128) -> Transfer {
    Transfer { id, pending_id, flags: TransferFlags::VOID_PENDING_TRANSFER, ..Transfer::default() }
}

/// The same transfer with `flags` added.
#[must_use]
pub fn with_flags(transfer: Transfer, flags: TransferFlags) -> Transfer {
    Transfer { flags: transfer.flags | flags, ..transfer }
}

/// The same transfer, linked to the next event of its batch.
#[must_use]
pub fn linked(transfer: Transfer) -> Transfer {
    with_flags(transfer, TransferFlags::LINKED)
}

#[must_use]
pub fn linked_account(account: Account) -> Account {
    Account { flags: account.flags | AccountFlags::LINKED, ..account }
}

#[must_use]
pub fn fails<R>(index: u32, result: R) -> EventResult<R> {
    EventResult { index, result }
}

/// Applies any batch, expecting the engine to accept it as a whole, and checks the invariants.
pub fn apply(ledger: &mut Ledger, now_ns: u64, events: Events<'_>) -> BatchResults {
    let mut results = BatchResults::default();
    ledger.apply(now_ns, events, &mut results).expect("the batch is within every batch-level limit");
    ledger.check_invariants().expect("the books balance after every batch");
    results
}

/// Applies any batch and returns the batch-level error if the engine refuses it.
pub fn try_apply(ledger: &mut Ledger, now_ns: u64, events: Events<'_>) -> Result<BatchResults, BatchError> {
    let mut results = BatchResults::default();
    ledger.apply(now_ns, events, &mut results)?;
    ledger.check_invariants().expect("the books balance after every batch");
    Ok(results)
}

pub fn create_accounts(ledger: &mut Ledger, now_ns: u64, accounts: &[Account]) -> Vec<AccountFailure> {
    apply(ledger, now_ns, Events::CreateAccounts(accounts)).accounts
}

pub fn create_transfers(ledger: &mut Ledger, now_ns: u64, transfers: &[Transfer]) -> Vec<TransferFailure> {
    apply(ledger, now_ns, Events::CreateTransfers(transfers)).transfers
}

/// Sends an empty pulse batch and returns the ids it expired.
pub fn pulse(ledger: &mut Ledger, now_ns: u64) -> Vec<u128> {
    apply(ledger, now_ns, Events::Pulse).expired
}

/// Creates transfers that must all succeed (clock reading 0: timestamps just count events).
pub fn transfers_ok(ledger: &mut Ledger, transfers: &[Transfer]) {
    assert_eq!(create_transfers(ledger, 0, transfers), vec![], "every transfer of the setup succeeds");
}

/// Creates accounts that must all succeed.
pub fn accounts_ok(ledger: &mut Ledger, accounts: &[Account]) {
    assert_eq!(create_accounts(ledger, 0, accounts), vec![], "every account of the setup succeeds");
}

/// A ledger holding plain accounts with these ids.
#[must_use]
pub fn ledger_with_accounts(ids: &[u128]) -> Ledger {
    let mut ledger = Ledger::default();
    let accounts: Vec<Account> = ids.iter().map(|id| account(*id)).collect();
    accounts_ok(&mut ledger, &accounts);
    ledger
}

/// One transfer's outcome: `None` for success, else its code.
pub fn outcome(ledger: &mut Ledger, transfer: Transfer) -> Option<CreateTransferResult> {
    let failures = create_transfers(ledger, 0, &[transfer]);
    assert!(failures.len() <= 1, "one event gives at most one result");
    failures.first().map(|f| f.result)
}

/// One account's outcome: `None` for success, else its code.
pub fn account_outcome(ledger: &mut Ledger, account: Account) -> Option<CreateAccountResult> {
    let failures = create_accounts(ledger, 0, &[account]);
    assert!(failures.len() <= 1, "one event gives at most one result");
    failures.first().map(|f| f.result)
}

/// The four balances of an account, for whole-value comparisons.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Balances {
    pub debits_pending: u128,
    pub debits_posted: u128,
    pub credits_pending: u128,
    pub credits_posted: u128,
}

impl Balances {
    pub const ZERO: Self =
        Self { debits_pending: 0, debits_posted: 0, credits_pending: 0, credits_posted: 0 };
}

#[must_use]
pub fn balances(ledger: &Ledger, id: u128) -> Balances {
    let account = ledger.lookup_account(id).expect("the account exists");
    Balances {
        debits_pending: account.debits_pending,
        debits_posted: account.debits_posted,
        credits_pending: account.credits_pending,
        credits_posted: account.credits_posted,
    }
}

#[must_use]
pub fn stored_transfer(ledger: &Ledger, id: u128) -> Transfer {
    ledger.lookup_transfer(id).expect("the transfer was stored")
}

#[must_use]
pub fn is_closed(ledger: &Ledger, id: u128) -> bool {
    ledger.lookup_account(id).expect("the account exists").flags.contains(AccountFlags::CLOSED)
}
