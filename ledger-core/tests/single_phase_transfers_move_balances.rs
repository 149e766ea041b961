//! A single-phase transfer moves its amount at once: `debits_posted` of the debit account and
//! `credits_posted` of the credit account grow by exactly the amount, and nothing else changes.

mod common;

use common::{
    Balances, LEDGER, OTHER_LEDGER, account, accounts_ok, balances, create_transfers, fails,
    ledger_with_accounts, outcome, stored_transfer, transfer, transfers_ok,
};
use ledger_core::{AMOUNT_MAX, Account, CreateTransferResult as R, Transfer, TransferState};

#[test]
fn the_amount_moves_from_debits_posted_to_credits_posted() {
    let mut ledger = ledger_with_accounts(&[1, 2]);
    transfers_ok(&mut ledger, &[transfer(100, 1, 2, 250)]);
    assert_eq!(balances(&ledger, 1), Balances { debits_posted: 250, ..Balances::ZERO });
    assert_eq!(balances(&ledger, 2), Balances { credits_posted: 250, ..Balances::ZERO });
}

#[test]
fn transfers_accumulate_on_both_sides() {
    let mut ledger = ledger_with_accounts(&[1, 2, 3]);
    transfers_ok(&mut ledger, &[transfer(100, 1, 2, 10), transfer(101, 2, 3, 4), transfer(102, 3, 1, 1)]);
    assert_eq!(balances(&ledger, 1), Balances { debits_posted: 10, credits_posted: 1, ..Balances::ZERO });
    assert_eq!(balances(&ledger, 2), Balances { debits_posted: 4, credits_posted: 10, ..Balances::ZERO });
    assert_eq!(balances(&ledger, 3), Balances { debits_posted: 1, credits_posted: 4, ..Balances::ZERO });
}

#[test]
fn the_transfer_is_stored_as_submitted_with_its_timestamp() {
    let mut ledger = ledger_with_accounts(&[1, 2]);
    let event = Transfer { user_data_128: 7, user_data_64: 8, user_data_32: 9, ..transfer(100, 1, 2, 250) };
    let now = 1_000_000;
    assert_eq!(create_transfers(&mut ledger, now, &[event]), vec![]);
    assert_eq!(stored_transfer(&ledger, 100), Transfer { timestamp: now, ..event });
    assert_eq!(ledger.transfer_state(100), Some(TransferState::Committed));
    assert_eq!(ledger.transfer_count(), 1);
}

#[test]
fn a_zero_amount_is_accepted_and_moves_nothing() {
    let mut ledger = ledger_with_accounts(&[1, 2]);
    assert_eq!(outcome(&mut ledger, transfer(100, 1, 2, 0)), None);
    assert_eq!(balances(&ledger, 1), Balances::ZERO);
    assert_eq!(balances(&ledger, 2), Balances::ZERO);
    assert_eq!(stored_transfer(&ledger, 100).amount, 0);
}

#[test]
fn amount_max_is_an_ordinary_amount_on_a_single_phase_transfer() {
    let mut ledger = ledger_with_accounts(&[1, 2]);
    transfers_ok(&mut ledger, &[transfer(100, 1, 2, AMOUNT_MAX)]);
    assert_eq!(balances(&ledger, 1), Balances { debits_posted: u128::MAX, ..Balances::ZERO });
    assert_eq!(balances(&ledger, 2), Balances { credits_posted: u128::MAX, ..Balances::ZERO });
}

#[test]
fn transfers_book_on_any_ledger_whose_accounts_share_it() {
    let mut ledger = ledger_with_accounts(&[1]);
    accounts_ok(
        &mut ledger,
        &[Account { ledger: OTHER_LEDGER, ..account(2) }, Account { ledger: OTHER_LEDGER, ..account(3) }],
    );
    transfers_ok(&mut ledger, &[Transfer { ledger: OTHER_LEDGER, ..transfer(100, 2, 3, 5) }]);
    assert_eq!(balances(&ledger, 2), Balances { debits_posted: 5, ..Balances::ZERO });
    assert_eq!(balances(&ledger, 3), Balances { credits_posted: 5, ..Balances::ZERO });
    assert_eq!(balances(&ledger, 1), Balances::ZERO);
}

#[test]
fn a_rejected_transfer_moves_nothing_and_stores_nothing() {
    let mut ledger = ledger_with_accounts(&[1, 2]);
    let event = Transfer { ledger: LEDGER + 1, ..transfer(100, 1, 2, 250) };
    assert_eq!(outcome(&mut ledger, event), Some(R::TransferMustHaveTheSameLedgerAsAccounts));
    assert_eq!(balances(&ledger, 1), Balances::ZERO);
    assert_eq!(balances(&ledger, 2), Balances::ZERO);
    assert_eq!(ledger.lookup_transfer(100), None);
    assert_eq!(ledger.transfer_count(), 0);
}

#[test]
fn a_rejected_event_does_not_stop_the_rest_of_the_batch() {
    let mut ledger = ledger_with_accounts(&[1, 2]);
    let batch = [transfer(100, 1, 2, 1), transfer(101, 1, 1, 2), transfer(102, 2, 1, 3)];
    assert_eq!(create_transfers(&mut ledger, 0, &batch), vec![fails(1, R::AccountsMustBeDifferent)]);
    assert_eq!(balances(&ledger, 1), Balances { debits_posted: 1, credits_posted: 3, ..Balances::ZERO });
    assert_eq!(balances(&ledger, 2), Balances { debits_posted: 3, credits_posted: 1, ..Balances::ZERO });
}

#[test]
fn lookup_transfers_skips_unknown_ids() {
    let mut ledger = ledger_with_accounts(&[1, 2]);
    transfers_ok(&mut ledger, &[transfer(100, 1, 2, 1), transfer(101, 2, 1, 2)]);
    let mut found = Vec::new();
    ledger.lookup_transfers(&[101, 555, 100], &mut found);
    let ids: Vec<u128> = found.iter().map(|t| t.id).collect();
    assert_eq!(ids, vec![101, 100]);
}

#[test]
fn lookup_accounts_skips_unknown_ids() {
    let ledger = ledger_with_accounts(&[1, 2]);
    let mut found = Vec::new();
    ledger.lookup_accounts(&[2, 9, 1], &mut found);
    let ids: Vec<u128> = found.iter().map(|a| a.id).collect();
    assert_eq!(ids, vec![2, 1]);
}
