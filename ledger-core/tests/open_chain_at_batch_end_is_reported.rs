//! A batch whose last event has `flags.linked` leaves its chain open: the whole chain fails and
//! the last event gets `linked_event_chain_open` (docs/result-codes.md, "Linked chains"), even
//! when an earlier member of the chain already failed by itself (TigerBeetle checks chain-open
//! before chain-broken).
//!
//! Regression: found by `engine_matches_reference_model`, where debug builds panicked on such a
//! batch and release builds answered `linked_event_failed` for the last event.

use ledger_core::{
    Account, AccountFlags, CreateAccountResult, CreateTransferResult, EventResult, Ledger, Transfer,
    TransferFlags,
};

const NOW_NS: u64 = 1_000_000_000_000;

fn account(id: u128, flags: AccountFlags) -> Account {
    Account { id, ledger: 1, code: 1, flags, ..Account::default() }
}

#[test]
fn lone_linked_last_account_gets_chain_open() {
    let mut ledger = Ledger::default();
    let results =
        ledger.create_accounts(NOW_NS, &[account(1, AccountFlags::LINKED)]).expect("batch accepted");
    assert_eq!(results, vec![EventResult { index: 0, result: CreateAccountResult::LinkedEventChainOpen }]);
    assert_eq!(ledger.lookup_account(1), None);
    assert_eq!(ledger.check_invariants(), Ok(()));
}

#[test]
fn open_chain_reports_chain_open_after_an_earlier_member_failed() {
    let mut ledger = Ledger::default();
    // Bit 4 (TigerBeetle's `imported`) is reserved: the first member fails by itself.
    let imported = AccountFlags(1 << 4);
    let batch = [account(1, AccountFlags::LINKED | imported), account(2, AccountFlags::LINKED)];
    let results = ledger.create_accounts(NOW_NS, &batch).expect("batch accepted");
    assert_eq!(
        results,
        vec![
            EventResult { index: 0, result: CreateAccountResult::ReservedFlag },
            EventResult { index: 1, result: CreateAccountResult::LinkedEventChainOpen },
        ]
    );
    assert_eq!(ledger.account_count(), 0);
}

#[test]
fn open_transfer_chain_reports_chain_open_after_an_earlier_member_failed() {
    let mut ledger = Ledger::default();
    let accounts = [account(1, AccountFlags::NONE), account(2, AccountFlags::NONE)];
    assert_eq!(ledger.create_accounts(NOW_NS, &accounts), Ok(vec![]));
    let transfer = |id, debit_account_id, credit_account_id| Transfer {
        id,
        debit_account_id,
        credit_account_id,
        amount: 5,
        ledger: 1,
        code: 1,
        flags: TransferFlags::LINKED,
        ..Transfer::default()
    };
    let batch = [transfer(1, 1, 2), transfer(2, 1, 1), transfer(3, 2, 1)];
    let results = ledger.create_transfers(NOW_NS + 1, &batch).expect("batch accepted");
    assert_eq!(
        results,
        vec![
            EventResult { index: 0, result: CreateTransferResult::LinkedEventFailed },
            EventResult { index: 1, result: CreateTransferResult::AccountsMustBeDifferent },
            EventResult { index: 2, result: CreateTransferResult::LinkedEventChainOpen },
        ]
    );
    assert_eq!(ledger.lookup_account(1).map(|a| a.debits_posted), Some(0));
    assert_eq!(ledger.check_invariants(), Ok(()));
}
