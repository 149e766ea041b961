//! A deliberately naive reference implementation of `docs/result-codes.md`.
//!
//! Property tests and fuzz targets apply the same batches to the engine (`Ledger`) and to this
//! model and demand identical answers and identical state. The model was written from the spec
//! alone, without reading the engine's rule code, so that a misreading of the spec in one of them
//! shows up as a disagreement instead of being copied into both.
//!
//! Everything here chooses obviousness over speed:
//! - accounts and transfers live in `BTreeMap`s, plus `Vec`s of ids in creation order;
//! - a linked chain clones the whole books before it starts and restores the clone if any member
//!   fails (no undo log to get wrong);
//! - expiry scans every transfer for due pending ones and sorts them by (deadline, id);
//! - balance history is one `Vec` of rows for all accounts, and `get_account_balances` scans all
//!   of it;
//! - each rule is one `if` in the order of the spec's tables, so the code reads like the tables.
//!
//! Nothing in here is fast enough for production; it is never built into the server.

use std::collections::{BTreeMap, BTreeSet};

use crate::account::{Account, AccountFlags};
use crate::ledger::{BatchError, BatchResults, Events, TransferState};
use crate::limits::{BATCH_EVENTS_MAX, LedgerConfig, NANOS_PER_SECOND, TIMESTAMP_MAX};
use crate::query::{AccountBalance, AccountFilter, AccountFilterFlags};
use crate::result::{CreateAccountResult, CreateTransferResult, EventResult};
use crate::transfer::{AMOUNT_MAX, Transfer, TransferFlags};

/// The account flag bits the spec defines; every other bit is `reserved_flag` (bit 4 included:
/// TigerBeetle's `imported` is not supported).
const ACCOUNT_FLAGS_DEFINED: u16 = AccountFlags::LINKED.0
    | AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS.0
    | AccountFlags::CREDITS_MUST_NOT_EXCEED_DEBITS.0
    | AccountFlags::HISTORY.0
    | AccountFlags::CLOSED.0;

/// The transfer flag bits the spec defines (bits 0 to 7); bit 8 (`imported`) and up are reserved.
const TRANSFER_FLAGS_DEFINED: u16 = TransferFlags::LINKED.0
    | TransferFlags::PENDING.0
    | TransferFlags::POST_PENDING_TRANSFER.0
    | TransferFlags::VOID_PENDING_TRANSFER.0
    | TransferFlags::BALANCING_DEBIT.0
    | TransferFlags::BALANCING_CREDIT.0
    | TransferFlags::CLOSING_DEBIT.0
    | TransferFlags::CLOSING_CREDIT.0;

/// The answer to one batch, shaped like the engine's `BatchResults` so the two compare directly.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReferenceResults {
    /// Failed account events, in index order.
    pub accounts: Vec<EventResult<CreateAccountResult>>,
    /// Failed transfer events, in index order.
    pub transfers: Vec<EventResult<CreateTransferResult>>,
    /// Pending transfers expired by this batch, in (deadline, id) order, start of batch first.
    pub expired: Vec<u128>,
    /// Timestamp of the batch's last event (the clock, for an empty batch).
    pub timestamp: u64,
}

impl From<&BatchResults> for ReferenceResults {
    fn from(results: &BatchResults) -> Self {
        Self {
            accounts: results.accounts.clone(),
            transfers: results.transfers.clone(),
            expired: results.expired.clone(),
            timestamp: results.timestamp,
        }
    }
}

/// A transfer record and what became of it since.
#[derive(Clone, Debug, PartialEq, Eq)]
struct StoredTransfer {
    record: Transfer,
    state: TransferState,
}

/// Everything a linked chain may change, so that one clone captures it. The clock is not in
/// here: a rolled-back chain still consumed its timestamps.
#[derive(Clone, Debug, Default)]
struct Books {
    accounts: BTreeMap<u128, Account>,
    account_ids_in_creation_order: Vec<u128>,
    transfers: BTreeMap<u128, StoredTransfer>,
    transfer_ids_in_creation_order: Vec<u128>,
    /// Ids of transfers that failed for a transient reason.
    burnt_transfer_ids: BTreeSet<u128>,
    /// Balance rows of accounts with the `history` flag, all accounts mixed, in the order they
    /// were recorded.
    balance_history: Vec<BalanceRow>,
}

/// An account's balances right after one of its transfers or expiries, and what a filter
/// looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct BalanceRow {
    account_id: u128,
    /// The account was the transfer's debit account (else its credit account).
    debited: bool,
    user_data_128: u128,
    user_data_64: u64,
    user_data_32: u32,
    code: u16,
    balance: AccountBalance,
}

/// The reference ledger. Same inputs as `Ledger::apply`, same answers, no cleverness.
#[derive(Clone, Debug)]
pub struct ReferenceLedger {
    config: LedgerConfig,
    books: Books,
    /// The last timestamp assigned.
    clock: u64,
}

impl ReferenceLedger {
    #[must_use]
    pub fn new(config: LedgerConfig) -> Self {
        Self { config, books: Books::default(), clock: 0 }
    }

    /// Applies one batch: the clock rule, expiry before the first event, the events with their
    /// linked chains, expiry after the last event.
    pub fn apply(&mut self, now_ns: u64, events: Events<'_>) -> Result<ReferenceResults, BatchError> {
        let count = events.len();
        if count > BATCH_EVENTS_MAX {
            return Err(BatchError::TooManyEvents { events: count, max: BATCH_EVENTS_MAX });
        }
        let count_u64 = count as u64;
        // The batch's last timestamp is max(now, previous last + n); it must stay below 2^63.
        let last = now_ns.max(self.clock.saturating_add(count_u64));
        if last >= TIMESTAMP_MAX {
            return Err(BatchError::ClockExhausted { clock: self.clock, events: count, max: TIMESTAMP_MAX });
        }
        // Event i gets `last - n + 1 + i`. An empty batch has no first event: both expiry passes
        // run at `last`.
        let first = last + 1 - count_u64;
        let mut results = ReferenceResults::default();

        self.expire_due(if count == 0 { last } else { first }, &mut results.expired);
        match events {
            Events::CreateAccounts(accounts) => {
                results.accounts =
                    self.run_chains(accounts, first, account_is_linked, create_account, |_, _, _| {});
            }
            Events::CreateTransfers(transfers) => {
                results.transfers =
                    self.run_chains(transfers, first, transfer_is_linked, create_transfer, burn_if_transient);
            }
            Events::Pulse => {}
        }
        self.expire_due(last, &mut results.expired);

        self.clock = last;
        results.timestamp = last;
        Ok(results)
    }

    #[must_use]
    pub fn lookup_account(&self, id: u128) -> Option<Account> {
        self.books.accounts.get(&id).copied()
    }

    /// The stored transfer; `None` for unknown and burnt ids.
    #[must_use]
    pub fn lookup_transfer(&self, id: u128) -> Option<Transfer> {
        self.books.transfers.get(&id).map(|stored| stored.record)
    }

    /// What became of a transfer id (`Failed` for a burnt id).
    #[must_use]
    pub fn transfer_state(&self, id: u128) -> Option<TransferState> {
        if let Some(stored) = self.books.transfers.get(&id) {
            return Some(stored.state);
        }
        self.books.burnt_transfer_ids.contains(&id).then_some(TransferState::Failed)
    }

    /// Accounts in creation order.
    pub fn accounts(&self) -> impl Iterator<Item = &Account> {
        self.books.account_ids_in_creation_order.iter().filter_map(|id| self.books.accounts.get(id))
    }

    /// Transfer records in creation order.
    pub fn transfers(&self) -> impl Iterator<Item = &Transfer> {
        self.books
            .transfer_ids_in_creation_order
            .iter()
            .filter_map(|id| self.books.transfers.get(id).map(|stored| &stored.record))
    }

    /// Burnt transfer ids, in id order.
    pub fn burnt_transfer_ids(&self) -> impl Iterator<Item = u128> + '_ {
        self.books.burnt_transfer_ids.iter().copied()
    }

    /// The last timestamp assigned.
    #[must_use]
    pub fn clock(&self) -> u64 {
        self.clock
    }

    #[must_use]
    pub fn account_count(&self) -> usize {
        self.books.accounts.len()
    }

    #[must_use]
    pub fn transfer_count(&self) -> usize {
        self.books.transfers.len()
    }

    /// Pending transfers still holding their reservation.
    #[must_use]
    pub fn pending_count(&self) -> usize {
        self.books.transfers.values().filter(|stored| stored.state == TransferState::Pending).count()
    }

    /// The earliest deadline of a live pending transfer.
    #[must_use]
    pub fn next_expiry(&self) -> Option<u64> {
        self.books
            .transfers
            .values()
            .filter(|stored| stored.state == TransferState::Pending)
            .filter_map(|stored| deadline(&stored.record))
            .min()
    }

    /// The balance history of `filter.account_id` as `docs/protocol.md` and TigerBeetle define
    /// `get_account_balances`: nothing for an invalid filter, an unknown account or one without
    /// the `history` flag; else the rows of the account's transfers (and expiries) on the sides
    /// the filter names, with matching non-zero fields, in the inclusive timestamp range, oldest
    /// first (newest first if reversed), at most `limit` and `BATCH_EVENTS_MAX`.
    #[must_use]
    pub fn get_account_balances(&self, filter: &AccountFilter) -> Vec<AccountBalance> {
        let debits = filter.flags.0 & AccountFilterFlags::DEBITS.0 != 0;
        let credits = filter.flags.0 & AccountFilterFlags::CREDITS.0 != 0;
        let reversed = filter.flags.0 & AccountFilterFlags::REVERSED.0 != 0;
        let known =
            AccountFilterFlags::DEBITS.0 | AccountFilterFlags::CREDITS.0 | AccountFilterFlags::REVERSED.0;
        let valid = filter.account_id != 0
            && filter.account_id != u128::MAX
            && filter.reserved.iter().all(|b| *b == 0)
            && filter.flags.0 & !known == 0
            && (debits || credits)
            && filter.limit != 0
            && (filter.timestamp_min == 0
                || filter.timestamp_max == 0
                || filter.timestamp_min <= filter.timestamp_max);
        if !valid {
            return Vec::new();
        }
        let Some(account) = self.books.accounts.get(&filter.account_id) else { return Vec::new() };
        if !account.flags.contains(AccountFlags::HISTORY) {
            return Vec::new();
        }
        let wanted = |value: u128, filter_value: u128| filter_value == 0 || value == filter_value;
        let mut rows: Vec<AccountBalance> = self
            .books
            .balance_history
            .iter()
            .filter(|row| row.account_id == filter.account_id)
            .filter(|row| if row.debited { debits } else { credits })
            .filter(|row| wanted(row.user_data_128, filter.user_data_128))
            .filter(|row| wanted(u128::from(row.user_data_64), u128::from(filter.user_data_64)))
            .filter(|row| wanted(u128::from(row.user_data_32), u128::from(filter.user_data_32)))
            .filter(|row| wanted(u128::from(row.code), u128::from(filter.code)))
            .filter(|row| filter.timestamp_min == 0 || row.balance.timestamp >= filter.timestamp_min)
            .filter(|row| filter.timestamp_max == 0 || row.balance.timestamp <= filter.timestamp_max)
            .map(|row| row.balance)
            .collect();
        if reversed {
            rows.reverse();
        }
        rows.truncate(usize::try_from(filter.limit).unwrap_or(usize::MAX).min(BATCH_EVENTS_MAX));
        rows
    }

    /// Balance rows recorded for all accounts together.
    #[must_use]
    pub fn balance_row_count(&self) -> usize {
        self.books.balance_history.len()
    }

    /// Runs the events of a batch chain by chain. A chain is a run of `linked` events plus the
    /// first event after them without the flag; a lone unlinked event is a chain of one.
    fn run_chains<E, R: ChainCodes>(
        &mut self,
        events: &[E],
        first_timestamp: u64,
        is_linked: fn(&E) -> bool,
        create: fn(&mut Books, &LedgerConfig, &E, u64) -> R,
        after_failure: fn(&mut Books, &E, R),
    ) -> Vec<EventResult<R>> {
        let mut codes = vec![R::OK; events.len()];
        let mut start = 0;
        while start < events.len() {
            let mut end = start;
            while end + 1 < events.len() && is_linked(&events[end]) {
                end += 1;
            }
            // Only the batch's last event can end a chain with `linked` still set.
            let open = is_linked(&events[end]);

            let snapshot = self.books.clone();
            let mut failure = None;
            for (index, event) in events.iter().enumerate().take(end + 1).skip(start) {
                let code = if open && index == end {
                    R::LINKED_EVENT_CHAIN_OPEN
                } else {
                    create(&mut self.books, &self.config, event, first_timestamp + index as u64)
                };
                if code != R::OK {
                    failure = Some((index, code));
                    break;
                }
            }
            if let Some((failed_index, code)) = failure {
                self.books = snapshot;
                codes[start..=end].fill(R::LINKED_EVENT_FAILED);
                codes[failed_index] = code;
                // As in TigerBeetle, a chain left open at the end of the batch reports that on
                // its last event even when an earlier member failed first.
                if open {
                    codes[end] = R::LINKED_EVENT_CHAIN_OPEN;
                }
                // After the rollback, so that what the failure records (a burnt id) stays.
                after_failure(&mut self.books, &events[failed_index], code);
            }
            start = end + 1;
        }
        (0_u32..)
            .zip(codes)
            .filter(|(_, code)| *code != R::OK)
            .map(|(index, result)| EventResult { index, result })
            .collect()
    }

    /// Expires every live pending transfer whose deadline is at or before `timestamp`, in
    /// (deadline, id) order, releasing it like a void.
    fn expire_due(&mut self, timestamp: u64, expired: &mut Vec<u128>) {
        let mut due: Vec<(u64, u128)> = self
            .books
            .transfers
            .values()
            .filter(|stored| stored.state == TransferState::Pending)
            .filter_map(|stored| deadline(&stored.record).map(|at| (at, stored.record.id)))
            .filter(|(at, _)| *at <= timestamp)
            .collect();
        due.sort_unstable();
        for (_, id) in due {
            let Some(stored) = self.books.transfers.get_mut(&id) else { continue };
            stored.state = TransferState::Expired;
            let pending = stored.record;
            release_pending(&mut self.books, &pending);
            // Expiry has no timestamp of its own: its rows carry the pass's.
            record_balances(&mut self.books, &pending, timestamp);
            expired.push(id);
        }
    }
}

/// The three codes the chain logic needs from either result type.
trait ChainCodes: Copy + PartialEq {
    const OK: Self;
    const LINKED_EVENT_FAILED: Self;
    const LINKED_EVENT_CHAIN_OPEN: Self;
}

impl ChainCodes for CreateAccountResult {
    const OK: Self = Self::Ok;
    const LINKED_EVENT_FAILED: Self = Self::LinkedEventFailed;
    const LINKED_EVENT_CHAIN_OPEN: Self = Self::LinkedEventChainOpen;
}

impl ChainCodes for CreateTransferResult {
    const OK: Self = Self::Ok;
    const LINKED_EVENT_FAILED: Self = Self::LinkedEventFailed;
    const LINKED_EVENT_CHAIN_OPEN: Self = Self::LinkedEventChainOpen;
}

fn account_is_linked(account: &Account) -> bool {
    account.flags.contains(AccountFlags::LINKED)
}

fn transfer_is_linked(transfer: &Transfer) -> bool {
    transfer.flags.contains(TransferFlags::LINKED)
}

/// The transient codes of the spec (marked *Transient*): they depend on state that may change.
fn is_transient(code: CreateTransferResult) -> bool {
    use CreateTransferResult as R;
    matches!(
        code,
        R::DebitAccountNotFound
            | R::CreditAccountNotFound
            | R::PendingTransferNotFound
            | R::DebitAccountAlreadyClosed
            | R::CreditAccountAlreadyClosed
            | R::ExceedsCredits
            | R::ExceedsDebits
    )
}

fn burn_if_transient(books: &mut Books, transfer: &Transfer, code: CreateTransferResult) {
    if is_transient(code) {
        books.burnt_transfer_ids.insert(transfer.id);
    }
}

/// When a pending transfer with a timeout expires: `timestamp + timeout × 10^9`.
fn deadline(transfer: &Transfer) -> Option<u64> {
    if !transfer.flags.contains(TransferFlags::PENDING) || transfer.timeout == 0 {
        return None;
    }
    let at = u128::from(transfer.timestamp) + u128::from(transfer.timeout) * u128::from(NANOS_PER_SECOND);
    // `overflows_timeout` keeps every stored deadline below 2^63.
    u64::try_from(at).ok()
}

/// Releases what a pending transfer holds and reopens the accounts it closed (void and expiry).
fn release_pending(books: &mut Books, pending: &Transfer) {
    if let Some(debit) = books.accounts.get_mut(&pending.debit_account_id) {
        debit.debits_pending -= pending.amount;
        if pending.flags.contains(TransferFlags::CLOSING_DEBIT) {
            debit.flags = debit.flags.without(AccountFlags::CLOSED);
        }
    }
    if let Some(credit) = books.accounts.get_mut(&pending.credit_account_id) {
        credit.credits_pending -= pending.amount;
        if pending.flags.contains(TransferFlags::CLOSING_CREDIT) {
            credit.flags = credit.flags.without(AccountFlags::CLOSED);
        }
    }
}

fn is_closed(account: &Account) -> bool {
    account.flags.contains(AccountFlags::CLOSED)
}

/// `a + b + c`, or `None` if it does not fit a `u128`.
fn sum3(a: u128, b: u128, c: u128) -> Option<u128> {
    a.checked_add(b)?.checked_add(c)
}

// ---------------------------------------------------------------------------------------------
// create_accounts
// ---------------------------------------------------------------------------------------------

fn create_account(
    books: &mut Books,
    config: &LedgerConfig,
    a: &Account,
    timestamp: u64,
) -> CreateAccountResult {
    use CreateAccountResult as R;
    if a.timestamp != 0 {
        return R::TimestampMustBeZero;
    }
    if a.reserved != 0 {
        return R::ReservedField;
    }
    if a.flags.0 & !ACCOUNT_FLAGS_DEFINED != 0 {
        return R::ReservedFlag;
    }
    if a.id == 0 {
        return R::IdMustNotBeZero;
    }
    if a.id == u128::MAX {
        return R::IdMustNotBeIntMax;
    }
    if let Some(existing) = books.accounts.get(&a.id) {
        return compare_with_existing_account(a, existing);
    }
    if a.flags.contains(AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS)
        && a.flags.contains(AccountFlags::CREDITS_MUST_NOT_EXCEED_DEBITS)
    {
        return R::FlagsAreMutuallyExclusive;
    }
    if a.debits_pending != 0 {
        return R::DebitsPendingMustBeZero;
    }
    if a.debits_posted != 0 {
        return R::DebitsPostedMustBeZero;
    }
    if a.credits_pending != 0 {
        return R::CreditsPendingMustBeZero;
    }
    if a.credits_posted != 0 {
        return R::CreditsPostedMustBeZero;
    }
    if a.ledger == 0 {
        return R::LedgerMustNotBeZero;
    }
    if a.code == 0 {
        return R::CodeMustNotBeZero;
    }
    if books.accounts.len() as u64 >= config.accounts_max {
        return R::AccountsCapacityReached;
    }
    books.accounts.insert(a.id, Account { timestamp, ..*a });
    books.account_ids_in_creation_order.push(a.id);
    R::Ok
}

fn compare_with_existing_account(a: &Account, e: &Account) -> CreateAccountResult {
    use CreateAccountResult as R;
    // `closed` is state, not part of the submitted account.
    if a.flags.without(AccountFlags::CLOSED) != e.flags.without(AccountFlags::CLOSED) {
        return R::ExistsWithDifferentFlags;
    }
    if a.user_data_128 != e.user_data_128 {
        return R::ExistsWithDifferentUserData128;
    }
    if a.user_data_64 != e.user_data_64 {
        return R::ExistsWithDifferentUserData64;
    }
    if a.user_data_32 != e.user_data_32 {
        return R::ExistsWithDifferentUserData32;
    }
    if a.ledger != e.ledger {
        return R::ExistsWithDifferentLedger;
    }
    if a.code != e.code {
        return R::ExistsWithDifferentCode;
    }
    R::Exists
}

// ---------------------------------------------------------------------------------------------
// create_transfers
// ---------------------------------------------------------------------------------------------

fn create_transfer(
    books: &mut Books,
    config: &LedgerConfig,
    t: &Transfer,
    timestamp: u64,
) -> CreateTransferResult {
    use CreateTransferResult as R;
    if t.timestamp != 0 {
        return R::TimestampMustBeZero;
    }
    if t.flags.0 & !TRANSFER_FLAGS_DEFINED != 0 {
        return R::ReservedFlag;
    }
    if t.id == 0 {
        return R::IdMustNotBeZero;
    }
    if t.id == u128::MAX {
        return R::IdMustNotBeIntMax;
    }
    if let Some(existing) = books.transfers.get(&t.id) {
        return compare_with_existing_transfer(t, &existing.record);
    }
    if books.burnt_transfer_ids.contains(&t.id) {
        return R::IdAlreadyFailed;
    }
    let post = t.flags.contains(TransferFlags::POST_PENDING_TRANSFER);
    let void = t.flags.contains(TransferFlags::VOID_PENDING_TRANSFER);
    if post || void {
        post_or_void_pending_transfer(books, config, t, timestamp)
    } else {
        single_phase_or_pending_transfer(books, config, t, timestamp)
    }
}

/// Codes 7 to 18: a resubmission compared field by field with what was stored.
fn compare_with_existing_transfer(t: &Transfer, e: &Transfer) -> CreateTransferResult {
    use CreateTransferResult as R;
    let f = t.flags;
    let post = f.contains(TransferFlags::POST_PENDING_TRANSFER);
    let void = f.contains(TransferFlags::VOID_PENDING_TRANSFER);
    // For a post/void, zero fields mean "as the pending transfer" and are not compared.
    let inherits = |requested: u128| (post || void) && requested == 0;

    if t.flags != e.flags {
        return R::ExistsWithDifferentFlags;
    }
    if t.pending_id != e.pending_id {
        return R::ExistsWithDifferentPendingId;
    }
    if t.timeout != e.timeout {
        return R::ExistsWithDifferentTimeout;
    }
    if !inherits(t.debit_account_id) && t.debit_account_id != e.debit_account_id {
        return R::ExistsWithDifferentDebitAccountId;
    }
    if !inherits(t.credit_account_id) && t.credit_account_id != e.credit_account_id {
        return R::ExistsWithDifferentCreditAccountId;
    }
    let amount_matches = if post {
        t.amount == AMOUNT_MAX || t.amount == e.amount
    } else if void {
        t.amount == 0 || t.amount == AMOUNT_MAX || t.amount == e.amount
    } else if f.contains(TransferFlags::BALANCING_DEBIT) || f.contains(TransferFlags::BALANCING_CREDIT) {
        e.amount <= t.amount
    } else {
        t.amount == e.amount
    };
    if !amount_matches {
        return R::ExistsWithDifferentAmount;
    }
    if !inherits(t.user_data_128) && t.user_data_128 != e.user_data_128 {
        return R::ExistsWithDifferentUserData128;
    }
    if !inherits(u128::from(t.user_data_64)) && t.user_data_64 != e.user_data_64 {
        return R::ExistsWithDifferentUserData64;
    }
    if !inherits(u128::from(t.user_data_32)) && t.user_data_32 != e.user_data_32 {
        return R::ExistsWithDifferentUserData32;
    }
    if !inherits(u128::from(t.ledger)) && t.ledger != e.ledger {
        return R::ExistsWithDifferentLedger;
    }
    if !inherits(u128::from(t.code)) && t.code != e.code {
        return R::ExistsWithDifferentCode;
    }
    R::Exists
}

fn single_phase_or_pending_transfer(
    books: &mut Books,
    config: &LedgerConfig,
    t: &Transfer,
    timestamp: u64,
) -> CreateTransferResult {
    use CreateTransferResult as R;
    let f = t.flags;
    let pending = f.contains(TransferFlags::PENDING);
    let balancing_debit = f.contains(TransferFlags::BALANCING_DEBIT);
    let balancing_credit = f.contains(TransferFlags::BALANCING_CREDIT);
    let closing_debit = f.contains(TransferFlags::CLOSING_DEBIT);
    let closing_credit = f.contains(TransferFlags::CLOSING_CREDIT);

    if t.debit_account_id == 0 {
        return R::DebitAccountIdMustNotBeZero;
    }
    if t.debit_account_id == u128::MAX {
        return R::DebitAccountIdMustNotBeIntMax;
    }
    if t.credit_account_id == 0 {
        return R::CreditAccountIdMustNotBeZero;
    }
    if t.credit_account_id == u128::MAX {
        return R::CreditAccountIdMustNotBeIntMax;
    }
    if t.debit_account_id == t.credit_account_id {
        return R::AccountsMustBeDifferent;
    }
    if t.pending_id != 0 {
        return R::PendingIdMustBeZero;
    }
    if t.timeout != 0 && !pending {
        return R::TimeoutReservedForPendingTransfer;
    }
    if (closing_debit || closing_credit) && !pending {
        return R::ClosingTransferMustBePending;
    }
    if t.ledger == 0 {
        return R::LedgerMustNotBeZero;
    }
    if t.code == 0 {
        return R::CodeMustNotBeZero;
    }
    let Some(dr) = books.accounts.get(&t.debit_account_id).copied() else {
        return R::DebitAccountNotFound;
    };
    let Some(cr) = books.accounts.get(&t.credit_account_id).copied() else {
        return R::CreditAccountNotFound;
    };
    if dr.ledger != cr.ledger {
        return R::AccountsMustHaveTheSameLedger;
    }
    if t.ledger != dr.ledger {
        return R::TransferMustHaveTheSameLedgerAsAccounts;
    }
    if is_closed(&dr) {
        return R::DebitAccountAlreadyClosed;
    }
    if is_closed(&cr) {
        return R::CreditAccountAlreadyClosed;
    }

    // Balancing clamps the amount to the room the account has left (at least 0).
    let mut amount = t.amount;
    if balancing_debit {
        let room = dr.credits_posted.saturating_sub(dr.debits_posted.saturating_add(dr.debits_pending));
        amount = amount.min(room);
    }
    if balancing_credit {
        let room = cr.debits_posted.saturating_sub(cr.credits_posted.saturating_add(cr.credits_pending));
        amount = amount.min(room);
    }

    if pending {
        if dr.debits_pending.checked_add(amount).is_none() {
            return R::OverflowsDebitsPending;
        }
        if cr.credits_pending.checked_add(amount).is_none() {
            return R::OverflowsCreditsPending;
        }
    } else {
        if dr.debits_posted.checked_add(amount).is_none() {
            return R::OverflowsDebitsPosted;
        }
        if cr.credits_posted.checked_add(amount).is_none() {
            return R::OverflowsCreditsPosted;
        }
    }
    let Some(dr_debits_after) = sum3(dr.debits_pending, dr.debits_posted, amount) else {
        return R::OverflowsDebits;
    };
    let Some(cr_credits_after) = sum3(cr.credits_pending, cr.credits_posted, amount) else {
        return R::OverflowsCredits;
    };
    let timeout_ns = u128::from(t.timeout) * u128::from(NANOS_PER_SECOND);
    if u128::from(timestamp) + timeout_ns >= u128::from(TIMESTAMP_MAX) {
        return R::OverflowsTimeout;
    }
    // Both sums fit: the overflow checks above passed.
    let dr_debits_before = dr_debits_after - amount;
    let cr_credits_before = cr_credits_after - amount;
    if (dr.flags.contains(AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS)
        && dr_debits_after > dr.credits_posted)
        || (balancing_debit && dr_debits_before >= dr.credits_posted)
    {
        return R::ExceedsCredits;
    }
    if (cr.flags.contains(AccountFlags::CREDITS_MUST_NOT_EXCEED_DEBITS)
        && cr_credits_after > cr.debits_posted)
        || (balancing_credit && cr_credits_before >= cr.debits_posted)
    {
        return R::ExceedsDebits;
    }
    if books.transfers.len() as u64 >= config.transfers_max {
        return R::TransfersCapacityReached;
    }

    let mut new_dr = dr;
    let mut new_cr = cr;
    if pending {
        new_dr.debits_pending += amount;
        new_cr.credits_pending += amount;
        if closing_debit {
            new_dr.flags = new_dr.flags | AccountFlags::CLOSED;
        }
        if closing_credit {
            new_cr.flags = new_cr.flags | AccountFlags::CLOSED;
        }
    } else {
        new_dr.debits_posted += amount;
        new_cr.credits_posted += amount;
    }
    books.accounts.insert(new_dr.id, new_dr);
    books.accounts.insert(new_cr.id, new_cr);
    let state = if pending { TransferState::Pending } else { TransferState::Committed };
    store_transfer(books, Transfer { amount, timestamp, ..*t }, state);
    R::Ok
}

fn post_or_void_pending_transfer(
    books: &mut Books,
    config: &LedgerConfig,
    t: &Transfer,
    timestamp: u64,
) -> CreateTransferResult {
    use CreateTransferResult as R;
    let f = t.flags;
    let post = f.contains(TransferFlags::POST_PENDING_TRANSFER);
    let void = f.contains(TransferFlags::VOID_PENDING_TRANSFER);

    if (post && void)
        || f.contains(TransferFlags::PENDING)
        || f.contains(TransferFlags::BALANCING_DEBIT)
        || f.contains(TransferFlags::BALANCING_CREDIT)
        || f.contains(TransferFlags::CLOSING_DEBIT)
        || f.contains(TransferFlags::CLOSING_CREDIT)
    {
        return R::FlagsAreMutuallyExclusive;
    }
    if t.pending_id == 0 {
        return R::PendingIdMustNotBeZero;
    }
    if t.pending_id == u128::MAX {
        return R::PendingIdMustNotBeIntMax;
    }
    if t.pending_id == t.id {
        return R::PendingIdMustBeDifferent;
    }
    if t.timeout != 0 {
        return R::TimeoutReservedForPendingTransfer;
    }
    // A burnt id has no record, so it is "not found" too.
    let Some(found) = books.transfers.get(&t.pending_id).cloned() else {
        return R::PendingTransferNotFound;
    };
    let p = found.record;
    if !p.flags.contains(TransferFlags::PENDING) {
        return R::PendingTransferNotPending;
    }
    if t.debit_account_id != 0 && t.debit_account_id != p.debit_account_id {
        return R::PendingTransferHasDifferentDebitAccountId;
    }
    if t.credit_account_id != 0 && t.credit_account_id != p.credit_account_id {
        return R::PendingTransferHasDifferentCreditAccountId;
    }
    if t.ledger != 0 && t.ledger != p.ledger {
        return R::PendingTransferHasDifferentLedger;
    }
    if t.code != 0 && t.code != p.code {
        return R::PendingTransferHasDifferentCode;
    }
    if post && t.amount != AMOUNT_MAX && t.amount > p.amount {
        return R::ExceedsPendingTransferAmount;
    }
    if void && t.amount != 0 && t.amount != AMOUNT_MAX && t.amount != p.amount {
        return R::PendingTransferHasDifferentAmount;
    }
    match found.state {
        TransferState::Posted => return R::PendingTransferAlreadyPosted,
        TransferState::Voided => return R::PendingTransferAlreadyVoided,
        TransferState::Expired => return R::PendingTransferExpired,
        TransferState::Pending => {
            // Due at this event's timestamp counts as expired, even before the release that
            // happens at the end of the batch.
            if deadline(&p).is_some_and(|at| at <= timestamp) {
                return R::PendingTransferExpired;
            }
        }
        TransferState::Committed | TransferState::Failed => {
            // A record with the `pending` flag is only ever stored as pending; anything else
            // is a bug of this model.
            unreachable!("pending transfer {} stored in state {:?}", p.id, found.state);
        }
    }
    // The pending transfer's accounts exist: accounts are never removed.
    let (Some(dr), Some(cr)) =
        (books.accounts.get(&p.debit_account_id).copied(), books.accounts.get(&p.credit_account_id).copied())
    else {
        unreachable!("pending transfer {} names accounts that do not exist", p.id);
    };
    // Closed by a *different* pending transfer; the one being resolved may have closed them.
    if is_closed(&dr) && !p.flags.contains(TransferFlags::CLOSING_DEBIT) {
        return R::DebitAccountAlreadyClosed;
    }
    if is_closed(&cr) && !p.flags.contains(TransferFlags::CLOSING_CREDIT) {
        return R::CreditAccountAlreadyClosed;
    }
    // The amount the stored record carries: what was posted, or for a void what was released.
    let amount = if post && t.amount != AMOUNT_MAX { t.amount } else { p.amount };
    if post {
        if dr.debits_posted.checked_add(amount).is_none() {
            return R::OverflowsDebitsPosted;
        }
        if cr.credits_posted.checked_add(amount).is_none() {
            return R::OverflowsCreditsPosted;
        }
    }
    if books.transfers.len() as u64 >= config.transfers_max {
        return R::TransfersCapacityReached;
    }

    if post {
        // The reservation goes; the posted part lands in `*_posted`; closed accounts stay closed.
        let mut new_dr = dr;
        let mut new_cr = cr;
        new_dr.debits_pending -= p.amount;
        new_cr.credits_pending -= p.amount;
        new_dr.debits_posted += amount;
        new_cr.credits_posted += amount;
        books.accounts.insert(new_dr.id, new_dr);
        books.accounts.insert(new_cr.id, new_cr);
    } else {
        release_pending(books, &p);
    }
    if let Some(stored) = books.transfers.get_mut(&p.id) {
        stored.state = if post { TransferState::Posted } else { TransferState::Voided };
    }
    let record = Transfer {
        id: t.id,
        debit_account_id: p.debit_account_id,
        credit_account_id: p.credit_account_id,
        amount,
        pending_id: t.pending_id,
        user_data_128: if t.user_data_128 == 0 { p.user_data_128 } else { t.user_data_128 },
        user_data_64: if t.user_data_64 == 0 { p.user_data_64 } else { t.user_data_64 },
        user_data_32: if t.user_data_32 == 0 { p.user_data_32 } else { t.user_data_32 },
        timeout: 0,
        ledger: p.ledger,
        code: p.code,
        flags: t.flags,
        timestamp,
    };
    store_transfer(books, record, TransferState::Committed);
    R::Ok
}

/// Stores an accepted transfer, after its accounts were updated, and records their balances.
fn store_transfer(books: &mut Books, record: Transfer, state: TransferState) {
    books.transfer_ids_in_creation_order.push(record.id);
    books.transfers.insert(record.id, StoredTransfer { record, state });
    record_balances(books, &record, record.timestamp);
}

/// Appends a row for each account of `transfer` that has the `history` flag, with the balances
/// it holds now.
fn record_balances(books: &mut Books, transfer: &Transfer, timestamp: u64) {
    for (account_id, debited) in [(transfer.debit_account_id, true), (transfer.credit_account_id, false)] {
        let Some(account) = books.accounts.get(&account_id) else { continue };
        if !account.flags.contains(AccountFlags::HISTORY) {
            continue;
        }
        let balance = AccountBalance {
            debits_pending: account.debits_pending,
            debits_posted: account.debits_posted,
            credits_pending: account.credits_pending,
            credits_posted: account.credits_posted,
            timestamp,
        };
        books.balance_history.push(BalanceRow {
            account_id,
            debited,
            user_data_128: transfer.user_data_128,
            user_data_64: transfer.user_data_64,
            user_data_32: transfer.user_data_32,
            code: transfer.code,
            balance,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use CreateTransferResult as T;

    const SECOND: u64 = NANOS_PER_SECOND;

    fn account(id: u128, flags: AccountFlags) -> Account {
        Account { id, ledger: 1, code: 10, flags, ..Account::default() }
    }

    fn transfer(id: u128, debit: u128, credit: u128, amount: u128) -> Transfer {
        Transfer {
            id,
            debit_account_id: debit,
            credit_account_id: credit,
            amount,
            ledger: 1,
            code: 1,
            ..Transfer::default()
        }
    }

    fn with_flags(t: Transfer, flags: TransferFlags) -> Transfer {
        Transfer { flags, ..t }
    }

    fn post(id: u128, pending_id: u128, amount: u128) -> Transfer {
        Transfer {
            id,
            pending_id,
            amount,
            flags: TransferFlags::POST_PENDING_TRANSFER,
            ..Transfer::default()
        }
    }

    fn void(id: u128, pending_id: u128, amount: u128) -> Transfer {
        Transfer { flags: TransferFlags::VOID_PENDING_TRANSFER, ..post(id, pending_id, amount) }
    }

    /// A model with accounts 1, 2 (plain) and 3 (debits must not exceed credits), ledger 1.
    fn books() -> ReferenceLedger {
        let mut model = ReferenceLedger::new(LedgerConfig::default());
        let accounts = [
            account(1, AccountFlags::NONE),
            account(2, AccountFlags::NONE),
            account(3, AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS),
        ];
        let results = model.apply(1_000, Events::CreateAccounts(&accounts)).expect("batch accepted");
        assert_eq!(results, ReferenceResults { timestamp: 1_000, ..ReferenceResults::default() });
        model
    }

    fn transfers(
        model: &mut ReferenceLedger,
        now: u64,
        events: &[Transfer],
    ) -> Vec<(u32, CreateTransferResult)> {
        let results = model.apply(now, Events::CreateTransfers(events)).expect("batch accepted");
        results.transfers.iter().map(|r| (r.index, r.result)).collect()
    }

    #[test]
    fn timestamps_increase_when_the_clock_steps_back() {
        let mut model = books();
        let results = model.apply(10, Events::CreateTransfers(&[transfer(1, 1, 2, 5), transfer(2, 1, 2, 5)]));
        let results = results.expect("batch accepted");
        assert_eq!(results.timestamp, 1_002);
        assert_eq!(model.lookup_transfer(1).map(|t| t.timestamp), Some(1_001));
        let results = model.apply(5, Events::Pulse).expect("batch accepted");
        assert_eq!(results.timestamp, 1_002, "an empty batch consumes no timestamp");
    }

    #[test]
    fn batch_past_the_end_of_time_is_refused_whole() {
        let mut model = books();
        let error = model.apply(TIMESTAMP_MAX, Events::Pulse);
        assert_eq!(error, Err(BatchError::ClockExhausted { clock: 1_000, events: 0, max: TIMESTAMP_MAX }));
        assert_eq!(model.clock(), 1_000);
    }

    #[test]
    fn failed_chain_rolls_back_and_burns_only_the_failing_id() {
        let mut model = books();
        let linked = |t| with_flags(t, TransferFlags::LINKED);
        let events = [linked(transfer(1, 1, 2, 5)), linked(transfer(2, 3, 2, 5)), transfer(3, 1, 2, 5)];
        assert_eq!(
            transfers(&mut model, 0, &events),
            vec![(0, T::LinkedEventFailed), (1, T::ExceedsCredits), (2, T::LinkedEventFailed)]
        );
        assert_eq!(model.lookup_account(1).map(|a| a.debits_posted), Some(0));
        assert_eq!(model.transfer_state(1), None);
        assert_eq!(model.transfer_state(2), Some(TransferState::Failed));
        assert_eq!(transfers(&mut model, 0, &[transfer(2, 1, 2, 5)]), vec![(0, T::IdAlreadyFailed)]);
    }

    #[test]
    fn open_chain_reports_chain_open_on_its_last_event_even_after_a_failure() {
        let mut model = books();
        let linked = |t| with_flags(t, TransferFlags::LINKED);
        let events = [linked(transfer(1, 1, 1, 5)), linked(transfer(2, 1, 2, 5))];
        assert_eq!(
            transfers(&mut model, 0, &events),
            vec![(0, T::AccountsMustBeDifferent), (1, T::LinkedEventChainOpen)]
        );
    }

    #[test]
    fn post_with_amount_max_posts_everything_and_void_releases() {
        let mut model = books();
        let pending = |id| with_flags(transfer(id, 1, 2, 7), TransferFlags::PENDING);
        assert_eq!(transfers(&mut model, 0, &[pending(1), pending(2)]), vec![]);
        assert_eq!(model.lookup_account(1).map(|a| a.debits_pending), Some(14));
        let events = [post(3, 1, AMOUNT_MAX), void(4, 2, 6), void(5, 2, AMOUNT_MAX), post(6, 1, 1)];
        assert_eq!(
            transfers(&mut model, 0, &events),
            vec![(1, T::PendingTransferHasDifferentAmount), (3, T::PendingTransferAlreadyPosted)]
        );
        let debit = model.lookup_account(1).expect("account 1 exists");
        assert_eq!((debit.debits_pending, debit.debits_posted), (0, 7));
        let stored = model.lookup_transfer(5).expect("void stored");
        assert_eq!((stored.amount, stored.debit_account_id, stored.ledger), (7, 1, 1));
        assert_eq!(model.transfer_state(2), Some(TransferState::Voided));
    }

    #[test]
    fn balancing_debit_clamps_to_the_room_left() {
        let mut model = books();
        assert_eq!(transfers(&mut model, 0, &[transfer(1, 2, 3, 10)]), vec![]);
        let balancing = with_flags(transfer(2, 3, 1, AMOUNT_MAX), TransferFlags::BALANCING_DEBIT);
        assert_eq!(transfers(&mut model, 0, &[balancing]), vec![]);
        assert_eq!(model.lookup_transfer(2).map(|t| t.amount), Some(10));
        let again = with_flags(transfer(3, 3, 1, 1), TransferFlags::BALANCING_DEBIT);
        assert_eq!(transfers(&mut model, 0, &[again]), vec![(0, T::ExceedsCredits)]);
        assert_eq!(transfers(&mut model, 0, &[balancing]), vec![(0, T::Exists)], "clamped amount <= cap");
    }

    #[test]
    fn expiry_runs_in_deadline_order_and_reopens_closed_accounts() {
        let mut model = books();
        let pending = |id, timeout, flags| Transfer {
            timeout,
            ..with_flags(transfer(id, 1, 2, 1), TransferFlags::PENDING | flags)
        };
        let events = [pending(9, 2, TransferFlags::NONE), pending(8, 3, TransferFlags::CLOSING_CREDIT)];
        assert_eq!(transfers(&mut model, 0, &events), vec![]);
        assert_eq!(model.lookup_account(2).map(|a| is_closed(&a)), Some(true));
        assert_eq!(
            transfers(&mut model, 0, &[transfer(10, 1, 2, 1)]),
            vec![(0, T::CreditAccountAlreadyClosed)]
        );
        // The post is due at its own timestamp: refused, although the release of transfer 8
        // happens only after the batch's last event. Transfer 9 was due before the first event.
        let due = 1_002 + 3 * SECOND;
        let results =
            model.apply(due, Events::CreateTransfers(&[transfer(12, 1, 3, 1), post(11, 8, AMOUNT_MAX)]));
        let results = results.expect("batch accepted");
        assert_eq!(results.transfers, vec![EventResult { index: 1, result: T::PendingTransferExpired }]);
        assert_eq!(results.expired, vec![9, 8]);
        assert_eq!(model.lookup_account(2).map(|a| (a.credits_pending, is_closed(&a))), Some((0, false)));
        assert_eq!(model.transfer_state(8), Some(TransferState::Expired));
        assert_eq!(model.next_expiry(), None);
    }

    #[test]
    fn closed_account_refuses_post_of_another_pending_transfer() {
        let mut model = books();
        let events = [
            with_flags(transfer(1, 1, 2, 3), TransferFlags::PENDING),
            with_flags(transfer(2, 1, 2, 3), TransferFlags::PENDING | TransferFlags::CLOSING_DEBIT),
            post(3, 1, AMOUNT_MAX),
            post(4, 2, 1),
        ];
        assert_eq!(transfers(&mut model, 0, &events), vec![(2, T::DebitAccountAlreadyClosed)]);
        assert_eq!(model.lookup_account(1).map(|a| is_closed(&a)), Some(true), "posting keeps it closed");
    }

    #[test]
    fn post_void_idempotency_ignores_inherited_fields() {
        let mut model = books();
        let pending =
            Transfer { user_data_64: 5, ..with_flags(transfer(1, 1, 2, 9), TransferFlags::PENDING) };
        assert_eq!(transfers(&mut model, 0, &[pending, post(2, 1, 4)]), vec![]);
        let stored = model.lookup_transfer(2).expect("post stored");
        assert_eq!((stored.user_data_64, stored.amount), (5, 4));
        let retries =
            [post(2, 1, AMOUNT_MAX), post(2, 1, 4), post(2, 1, 3), Transfer { ledger: 2, ..post(2, 1, 4) }];
        assert_eq!(
            transfers(&mut model, 0, &retries),
            vec![
                (0, T::Exists),
                (1, T::Exists),
                (2, T::ExistsWithDifferentAmount),
                (3, T::ExistsWithDifferentLedger)
            ]
        );
    }

    #[test]
    fn account_resubmission_ignores_closed_and_balances() {
        let mut model = books();
        let again =
            Account { flags: AccountFlags::CLOSED, debits_posted: 4, ..account(1, AccountFlags::NONE) };
        let results = model.apply(0, Events::CreateAccounts(&[again])).expect("batch accepted");
        assert_eq!(results.accounts, vec![EventResult { index: 0, result: CreateAccountResult::Exists }]);
    }

    #[test]
    fn balance_history_follows_transfers_and_expiry_and_forgets_failed_chains() {
        let mut model = ReferenceLedger::new(LedgerConfig::default());
        let accounts = [account(1, AccountFlags::HISTORY), account(2, AccountFlags::NONE)];
        assert_eq!(model.apply(1_000, Events::CreateAccounts(&accounts)).expect("batch").accounts, vec![]);
        let pending = Transfer { timeout: 1, ..with_flags(transfer(2, 1, 2, 4), TransferFlags::PENDING) };
        assert_eq!(transfers(&mut model, 0, &[transfer(1, 2, 1, 9), pending]), vec![]);
        let failing = [with_flags(transfer(3, 1, 2, 1), TransferFlags::LINKED), transfer(4, 1, 9, 1)];
        assert_eq!(
            transfers(&mut model, 0, &failing),
            vec![(0, T::LinkedEventFailed), (1, T::CreditAccountNotFound)]
        );
        assert_eq!(model.apply(5 * SECOND, Events::Pulse).expect("batch").expired, vec![2]);
        let rows = model.get_account_balances(&AccountFilter::all_of(1, 10));
        let summary: Vec<_> =
            rows.iter().map(|r| (r.debits_pending, r.credits_posted, r.timestamp)).collect();
        assert_eq!(summary, vec![(0, 9, 1_001), (4, 9, 1_002), (0, 9, 5 * SECOND)]);
        let debits_only = AccountFilter { flags: AccountFilterFlags::DEBITS, ..AccountFilter::all_of(1, 10) };
        assert_eq!(model.get_account_balances(&debits_only).len(), 2);
        assert_eq!(model.get_account_balances(&AccountFilter::all_of(2, 10)), vec![], "no history flag");
        assert_eq!(model.balance_row_count(), 3);
    }

    #[test]
    fn capacity_limits_are_results() {
        let config = LedgerConfig { accounts_max: 1, transfers_max: 0, ..LedgerConfig::default() };
        let mut model = ReferenceLedger::new(config);
        let accounts = [account(1, AccountFlags::NONE), account(2, AccountFlags::NONE)];
        let results = model.apply(0, Events::CreateAccounts(&accounts)).expect("batch accepted");
        assert_eq!(
            results.accounts,
            vec![EventResult { index: 1, result: CreateAccountResult::AccountsCapacityReached }]
        );
    }
}
