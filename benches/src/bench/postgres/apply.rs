//! The application-side half of the baseline's transaction: given the batch's accounts, read and
//! row-locked in this transaction, decide in batch order which transfers are accepted, with the
//! ledger's checks and limits, and compute the new balances to write back.
//!
//! This is where most teams put this logic (in the service, between a `SELECT ... FOR UPDATE`
//! and the `UPDATE`), and it keeps the checks identical to `ledger-core`'s single-phase path:
//! the same result codes in the same precedence, `debits_must_not_exceed_credits` and
//! `credits_must_not_exceed_debits`, overflow checks, and linked chains that fail as a whole.
//! Pure: no I/O, so it is unit-tested here.

use ledger_core::{AccountFlags, CreateTransferResult as R, Transfer, TransferFlags};
use std::collections::{HashMap, HashSet};

/// One account row as read under `FOR UPDATE` (and as written back).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LockedAccount {
    pub ledger: u32,
    pub flags: AccountFlags,
    pub debits_pending: u128,
    pub debits_posted: u128,
    pub credits_pending: u128,
    pub credits_posted: u128,
}

/// The batch's locked accounts by id.
pub type LockedAccounts = HashMap<u128, LockedAccount>;

/// The checks that need neither the transfers table nor a balance: they decide which transfers
/// are inserted at all (`None`: a candidate), in the ledger's precedence order. The baseline
/// implements single-phase transfers only, so any flag but `linked` is refused as reserved.
#[must_use]
pub fn precheck(transfers: &[Transfer], accounts: &LockedAccounts) -> Vec<Option<R>> {
    transfers.iter().map(|t| precheck_one(t, accounts)).collect()
}

fn precheck_one(t: &Transfer, accounts: &LockedAccounts) -> Option<R> {
    let refused = if t.timestamp != 0 {
        R::TimestampMustBeZero
    } else if t.flags.0 & !TransferFlags::LINKED.0 != 0 {
        R::ReservedFlag
    } else if t.id == 0 {
        R::IdMustNotBeZero
    } else if t.id == u128::MAX {
        R::IdMustNotBeIntMax
    } else if t.debit_account_id == 0 {
        R::DebitAccountIdMustNotBeZero
    } else if t.debit_account_id == u128::MAX {
        R::DebitAccountIdMustNotBeIntMax
    } else if t.credit_account_id == 0 {
        R::CreditAccountIdMustNotBeZero
    } else if t.credit_account_id == u128::MAX {
        R::CreditAccountIdMustNotBeIntMax
    } else if t.debit_account_id == t.credit_account_id {
        R::AccountsMustBeDifferent
    } else if t.pending_id != 0 {
        R::PendingIdMustBeZero
    } else if t.timeout != 0 {
        R::TimeoutReservedForPendingTransfer
    } else if t.ledger == 0 {
        R::LedgerMustNotBeZero
    } else if t.code == 0 {
        R::CodeMustNotBeZero
    } else {
        let Some(debit) = accounts.get(&t.debit_account_id) else {
            return Some(R::DebitAccountNotFound);
        };
        let Some(credit) = accounts.get(&t.credit_account_id) else {
            return Some(R::CreditAccountNotFound);
        };
        if debit.ledger != credit.ledger {
            R::AccountsMustHaveTheSameLedger
        } else if t.ledger != debit.ledger {
            R::TransferMustHaveTheSameLedgerAsAccounts
        } else if debit.flags.contains(AccountFlags::CLOSED) {
            R::DebitAccountAlreadyClosed
        } else if credit.flags.contains(AccountFlags::CLOSED) {
            R::CreditAccountAlreadyClosed
        } else {
            return None;
        }
    };
    Some(refused)
}

/// What the transaction does after the insert: which results to report, which inserted rows to
/// delete again (refused by a limit or by their chain), and which accounts to write back.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchOutcome {
    /// Refused transfers: (index in the batch, result), ascending, as the ledger replies.
    pub refused: Vec<(usize, R)>,
    /// Transfers accepted and kept.
    pub accepted: usize,
    /// Ids inserted by this transaction but not accepted: the transaction deletes them.
    pub inserted_not_accepted: Vec<u128>,
    /// Accounts whose balances changed, ascending by id, with their new balances.
    pub balances: Vec<(u128, LockedAccount)>,
}

/// Applies the batch in order against `accounts`. `prechecked` comes from `precheck`;
/// `inserted` holds the ids the `INSERT ... ON CONFLICT DO NOTHING RETURNING id` inserted (a
/// candidate not in it already existed: `exists`). A linked chain (transfers flagged `linked`
/// up to the first one that is not) is applied entirely or not at all.
#[must_use]
pub fn apply(
    transfers: &[Transfer],
    prechecked: &[Option<R>],
    inserted: &HashSet<u128>,
    accounts: &mut LockedAccounts,
) -> BatchOutcome {
    debug_assert_eq!(transfers.len(), prechecked.len());
    let mut outcome = BatchOutcome::default();
    let inserted_here = inserted_by_this_transaction(transfers, prechecked, inserted);
    let mut changed: HashSet<u128> = HashSet::new();
    let mut chain_start = 0;
    // Balances before each change of the open chain, to undo it if it fails.
    let mut undo: Vec<(u128, LockedAccount)> = Vec::new();
    let mut chain_failed: Option<(usize, R)> = None;
    for (index, t) in transfers.iter().enumerate() {
        let linked = t.flags.contains(TransferFlags::LINKED);
        if chain_failed.is_none() {
            let result = match prechecked.get(index).copied().flatten() {
                Some(refused) => refused,
                None if !inserted_here[index] => R::Exists,
                None => move_money(t, accounts, &mut undo),
            };
            if result != R::Ok {
                chain_failed = Some((index, result));
            }
        }
        let chain_open_at_end = linked && index + 1 == transfers.len();
        if chain_open_at_end && chain_failed.is_none() {
            chain_failed = Some((index, R::LinkedEventChainOpen));
        }
        if !linked || chain_open_at_end {
            let members = chain_start..=index;
            match chain_failed {
                None => {
                    outcome.accepted += members.count();
                    changed.extend(undo.iter().map(|(id, _)| *id));
                }
                Some((failed_index, failed_result)) => {
                    for (id, before) in undo.iter().rev() {
                        accounts.insert(*id, *before);
                    }
                    for member in members {
                        let result =
                            if member == failed_index { failed_result } else { R::LinkedEventFailed };
                        outcome.refused.push((member, result));
                        if inserted_here[member] {
                            outcome.inserted_not_accepted.push(transfers[member].id);
                        }
                    }
                }
            }
            undo.clear();
            chain_start = index + 1;
            chain_failed = None;
        }
    }
    let mut balances: Vec<(u128, LockedAccount)> =
        changed.into_iter().filter_map(|id| accounts.get(&id).map(|a| (id, *a))).collect();
    balances.sort_unstable_by_key(|(id, _)| *id);
    outcome.balances = balances;
    outcome
}

/// Which transfers' rows this transaction inserted: candidates whose id the INSERT returned,
/// and of a duplicate id inside the batch only the first (the INSERT keeps one row). Only these
/// may be deleted again; any other id belongs to an earlier transfer.
fn inserted_by_this_transaction(
    transfers: &[Transfer],
    prechecked: &[Option<R>],
    inserted: &HashSet<u128>,
) -> Vec<bool> {
    let mut seen: HashSet<u128> = HashSet::with_capacity(transfers.len());
    transfers
        .iter()
        .enumerate()
        .map(|(index, t)| {
            prechecked.get(index).is_some_and(Option::is_none)
                && inserted.contains(&t.id)
                && seen.insert(t.id)
        })
        .collect()
}

/// The balance checks and the move itself, in `ledger-core`'s order for a single-phase
/// transfer; records the accounts' previous balances in `undo`.
fn move_money(t: &Transfer, accounts: &mut LockedAccounts, undo: &mut Vec<(u128, LockedAccount)>) -> R {
    let (Some(debit), Some(credit)) =
        (accounts.get(&t.debit_account_id).copied(), accounts.get(&t.credit_account_id).copied())
    else {
        // `precheck` found both; a caller passing other accounts gets the ledger's answer.
        return R::DebitAccountNotFound;
    };
    let amount = t.amount;
    let Some(debits_posted) = debit.debits_posted.checked_add(amount) else {
        return R::OverflowsDebitsPosted;
    };
    let Some(credits_posted) = credit.credits_posted.checked_add(amount) else {
        return R::OverflowsCreditsPosted;
    };
    let Some(debits_after) = debit.debits_pending.checked_add(debits_posted) else {
        return R::OverflowsDebits;
    };
    let Some(credits_after) = credit.credits_pending.checked_add(credits_posted) else {
        return R::OverflowsCredits;
    };
    if debit.flags.contains(AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS)
        && debits_after > debit.credits_posted
    {
        return R::ExceedsCredits;
    }
    if credit.flags.contains(AccountFlags::CREDITS_MUST_NOT_EXCEED_DEBITS)
        && credits_after > credit.debits_posted
    {
        return R::ExceedsDebits;
    }
    undo.push((t.debit_account_id, debit));
    undo.push((t.credit_account_id, credit));
    accounts.insert(t.debit_account_id, LockedAccount { debits_posted, ..debit });
    accounts.insert(t.credit_account_id, LockedAccount { credits_posted, ..credit });
    R::Ok
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEDGER: u32 = 156;

    fn accounts(list: &[(u128, AccountFlags, u128, u128)]) -> LockedAccounts {
        list.iter()
            .map(|&(id, flags, debits_posted, credits_posted)| {
                (
                    id,
                    LockedAccount {
                        ledger: LEDGER,
                        flags,
                        debits_posted,
                        credits_posted,
                        ..LockedAccount::default()
                    },
                )
            })
            .collect()
    }

    fn transfer(id: u128, debit: u128, credit: u128, amount: u128) -> Transfer {
        Transfer {
            id,
            debit_account_id: debit,
            credit_account_id: credit,
            amount,
            ledger: LEDGER,
            code: 1,
            ..Transfer::default()
        }
    }

    fn run(transfers: &[Transfer], accounts: &mut LockedAccounts) -> BatchOutcome {
        let prechecked = precheck(transfers, accounts);
        let inserted: HashSet<u128> =
            transfers.iter().zip(&prechecked).filter(|(_, p)| p.is_none()).map(|(t, _)| t.id).collect();
        apply(transfers, &prechecked, &inserted, accounts)
    }

    #[test]
    fn accepted_transfers_move_money_and_report_the_new_balances() {
        let mut accounts = accounts(&[(1, AccountFlags::NONE, 0, 0), (2, AccountFlags::NONE, 0, 0)]);
        let outcome = run(&[transfer(10, 1, 2, 30), transfer(11, 2, 1, 5)], &mut accounts);
        assert_eq!(outcome.accepted, 2);
        assert!(outcome.refused.is_empty() && outcome.inserted_not_accepted.is_empty());
        let ids: Vec<u128> = outcome.balances.iter().map(|(id, _)| *id).collect();
        assert_eq!(ids, vec![1, 2]);
        assert_eq!((outcome.balances[0].1.debits_posted, outcome.balances[0].1.credits_posted), (30, 5));
        assert_eq!((outcome.balances[1].1.debits_posted, outcome.balances[1].1.credits_posted), (5, 30));
    }

    #[test]
    fn debits_must_not_exceed_credits_refuses_the_transfer_that_would_exceed() {
        // Account 1 holds 50 of credits; the second debit of 30 would take it to 60.
        let mut accounts = accounts(&[
            (1, AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS, 0, 50),
            (2, AccountFlags::NONE, 0, 0),
        ]);
        let outcome =
            run(&[transfer(10, 1, 2, 30), transfer(11, 1, 2, 30), transfer(12, 1, 2, 20)], &mut accounts);
        assert_eq!(outcome.refused, vec![(1, R::ExceedsCredits)]);
        assert_eq!(outcome.inserted_not_accepted, vec![11]);
        assert_eq!(outcome.accepted, 2);
        assert_eq!(accounts[&1].debits_posted, 50);
    }

    #[test]
    fn credits_must_not_exceed_debits_refuses_the_transfer_that_would_exceed() {
        let mut accounts = accounts(&[
            (1, AccountFlags::NONE, 0, 0),
            (2, AccountFlags::CREDITS_MUST_NOT_EXCEED_DEBITS, 10, 0),
        ]);
        let outcome = run(&[transfer(10, 1, 2, 11), transfer(11, 1, 2, 10)], &mut accounts);
        assert_eq!(outcome.refused, vec![(0, R::ExceedsDebits)]);
        assert_eq!(accounts[&2].credits_posted, 10);
    }

    #[test]
    fn a_failed_link_undoes_its_whole_chain() {
        let mut accounts = accounts(&[
            (1, AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS, 0, 40),
            (2, AccountFlags::NONE, 0, 0),
        ]);
        let linked = |t: Transfer| Transfer { flags: TransferFlags::LINKED, ..t };
        let batch = [linked(transfer(10, 1, 2, 30)), transfer(11, 1, 2, 30), transfer(12, 1, 2, 40)];
        let outcome = run(&batch, &mut accounts);
        assert_eq!(outcome.refused, vec![(0, R::LinkedEventFailed), (1, R::ExceedsCredits)]);
        assert_eq!(outcome.inserted_not_accepted, vec![10, 11]);
        assert_eq!(outcome.accepted, 1);
        // The chain's 30 was given back, so the last transfer's 40 fits exactly.
        assert_eq!(accounts[&1].debits_posted, 40);
    }

    #[test]
    fn a_chain_open_at_the_end_of_the_batch_fails() {
        let mut accounts = accounts(&[(1, AccountFlags::NONE, 0, 0), (2, AccountFlags::NONE, 0, 0)]);
        let batch = [Transfer { flags: TransferFlags::LINKED, ..transfer(10, 1, 2, 1) }];
        let outcome = run(&batch, &mut accounts);
        assert_eq!(outcome.refused, vec![(0, R::LinkedEventChainOpen)]);
        assert_eq!(accounts[&1].debits_posted, 0);
    }

    #[test]
    fn existing_ids_are_reported_and_not_applied_twice() {
        let mut accounts = accounts(&[(1, AccountFlags::NONE, 0, 0), (2, AccountFlags::NONE, 0, 0)]);
        let batch = [transfer(10, 1, 2, 7), transfer(11, 1, 2, 7), transfer(10, 1, 2, 7)];
        let prechecked = precheck(&batch, &accounts);
        // 11 was already in the table (a retry); 10 appears twice in the batch.
        let inserted: HashSet<u128> = [10].into_iter().collect();
        let outcome = apply(&batch, &prechecked, &inserted, &mut accounts);
        assert_eq!(outcome.refused, vec![(1, R::Exists), (2, R::Exists)]);
        assert!(outcome.inserted_not_accepted.is_empty());
        assert_eq!(accounts[&1].debits_posted, 7);
    }

    #[test]
    fn only_rows_this_transaction_inserted_are_deleted() {
        // Transfer 10 was stored by an earlier batch; here it comes back with a missing account
        // inside a chain that fails: its stored row must stay, the chain's new row must go.
        let mut accounts = accounts(&[(1, AccountFlags::NONE, 0, 0), (2, AccountFlags::NONE, 0, 0)]);
        let batch =
            [Transfer { flags: TransferFlags::LINKED, ..transfer(11, 1, 2, 5) }, transfer(10, 1, 3, 5)];
        let outcome = run(&batch, &mut accounts);
        assert_eq!(outcome.refused, vec![(0, R::LinkedEventFailed), (1, R::CreditAccountNotFound)]);
        assert_eq!(outcome.inserted_not_accepted, vec![11]);
        assert!(outcome.balances.is_empty());
        assert_eq!(accounts[&1].debits_posted, 0);
    }

    #[test]
    fn precheck_refuses_in_the_ledgers_order() {
        let accounts = accounts(&[(1, AccountFlags::NONE, 0, 0), (2, AccountFlags::NONE, 0, 0)]);
        let pending = Transfer { flags: TransferFlags::PENDING, ..transfer(10, 1, 2, 1) };
        let checks = precheck(
            &[
                transfer(0, 1, 2, 1),
                transfer(10, 1, 1, 1),
                transfer(10, 1, 3, 1),
                pending,
                transfer(10, 1, 2, 1),
            ],
            &accounts,
        );
        assert_eq!(
            checks,
            vec![
                Some(R::IdMustNotBeZero),
                Some(R::AccountsMustBeDifferent),
                Some(R::CreditAccountNotFound),
                Some(R::ReservedFlag),
                None
            ]
        );
    }

    #[test]
    fn overflow_is_refused_before_the_limits() {
        let mut accounts =
            accounts(&[(1, AccountFlags::NONE, u128::MAX - 1, 0), (2, AccountFlags::NONE, 0, 0)]);
        let outcome = run(&[transfer(10, 1, 2, 2)], &mut accounts);
        assert_eq!(outcome.refused, vec![(0, R::OverflowsDebitsPosted)]);
    }
}
