//! Linked chains: events with `flags.linked` form a chain with the next event, and the chain is
//! applied all or nothing. A failure rolls back everything the chain did (balances, accounts,
//! pending state, ids); the failing member keeps its code and every other member gets
//! `linked_event_failed`. A chain still open at the end of the batch fails with
//! `linked_event_chain_open` on its last event.

mod common;

use common::{
    Balances, T0, account, account_with_flags, accounts_ok, balances, create_accounts, create_transfers,
    fails, is_closed, ledger_with_accounts, linked, linked_account, pending, pending_with_timeout, post,
    pulse, transfer, transfers_ok, void, with_flags,
};
use ledger_core::{
    AMOUNT_MAX, AccountFlags, CreateAccountResult as A, CreateTransferResult as R, Ledger, TransferFlags,
    TransferState,
};

/// A transfer that always fails, for a reason that does not depend on state (and burns nothing).
fn invalid(id: u128) -> ledger_core::Transfer {
    transfer(id, 1, 1, 1)
}

fn book() -> Ledger {
    ledger_with_accounts(&[1, 2, 3])
}

fn assert_untouched(ledger: &Ledger) {
    for id in [1, 2, 3] {
        assert_eq!(balances(ledger, id), Balances::ZERO, "account {id}");
    }
}

#[test]
fn a_chain_whose_members_all_succeed_is_applied() {
    let mut ledger = book();
    assert_eq!(
        create_transfers(&mut ledger, 0, &[linked(transfer(100, 1, 2, 10)), transfer(101, 2, 3, 4)]),
        vec![]
    );
    assert_eq!(balances(&ledger, 2), Balances { debits_posted: 4, credits_posted: 10, ..Balances::ZERO });
}

#[test]
fn a_failing_last_member_fails_the_whole_chain() {
    let mut ledger = book();
    let batch = [linked(transfer(100, 1, 2, 10)), invalid(101)];
    assert_eq!(
        create_transfers(&mut ledger, 0, &batch),
        vec![fails(0, R::LinkedEventFailed), fails(1, R::AccountsMustBeDifferent)]
    );
    assert_untouched(&ledger);
    assert_eq!(ledger.lookup_transfer(100), None);
    assert_eq!(ledger.transfer_count(), 0);
}

#[test]
fn a_failing_first_member_fails_the_whole_chain() {
    let mut ledger = book();
    let batch = [linked(invalid(100)), transfer(101, 1, 2, 10)];
    assert_eq!(
        create_transfers(&mut ledger, 0, &batch),
        vec![fails(0, R::AccountsMustBeDifferent), fails(1, R::LinkedEventFailed)]
    );
    assert_untouched(&ledger);
}

#[test]
fn members_after_the_failure_get_linked_event_failed() {
    let mut ledger = book();
    let batch = [linked(transfer(100, 1, 2, 10)), linked(invalid(101)), transfer(102, 2, 3, 5)];
    assert_eq!(
        create_transfers(&mut ledger, 0, &batch),
        vec![
            fails(0, R::LinkedEventFailed),
            fails(1, R::AccountsMustBeDifferent),
            fails(2, R::LinkedEventFailed)
        ]
    );
    assert_untouched(&ledger);
}

#[test]
fn a_failure_rolls_back_every_earlier_member() {
    let mut ledger = book();
    let batch = [
        linked(transfer(100, 1, 2, 10)),
        linked(transfer(101, 2, 3, 7)),
        linked(pending(102, 3, 1, 2)),
        invalid(103),
    ];
    let failures = create_transfers(&mut ledger, 0, &batch);
    assert_eq!(failures.len(), 4);
    assert_untouched(&ledger);
    assert_eq!(ledger.pending_count(), 0);
}

#[test]
fn a_rolled_back_pending_transfer_never_existed() {
    let mut ledger = book();
    let batch = [linked(pending(100, 1, 2, 10)), invalid(101)];
    assert_eq!(create_transfers(&mut ledger, 0, &batch).len(), 2);
    assert_eq!(ledger.transfer_state(100), None);
    assert_eq!(ledger.pending_count(), 0);
    assert_eq!(
        create_transfers(&mut ledger, 0, &[post(102, 100, AMOUNT_MAX)]),
        vec![fails(0, R::PendingTransferNotFound)]
    );
}

#[test]
fn a_rolled_back_pending_transfer_with_a_timeout_never_expires() {
    let mut ledger = book();
    let batch = [linked(pending_with_timeout(100, 1, 2, 10, 1)), invalid(101)];
    assert_eq!(create_transfers(&mut ledger, T0, &batch).len(), 2);
    assert_eq!(pulse(&mut ledger, T0 + 10 * common::NS_PER_SECOND), Vec::<u128>::new());
    assert_untouched(&ledger);
}

#[test]
fn a_rolled_back_post_leaves_the_pending_transfer_pending() {
    let mut ledger = book();
    transfers_ok(&mut ledger, &[pending(50, 1, 2, 10)]);
    let batch = [linked(post(100, 50, AMOUNT_MAX)), invalid(101)];
    assert_eq!(create_transfers(&mut ledger, 0, &batch).len(), 2);
    assert_eq!(ledger.transfer_state(50), Some(TransferState::Pending));
    assert_eq!(balances(&ledger, 1), Balances { debits_pending: 10, ..Balances::ZERO });
    assert_eq!(create_transfers(&mut ledger, 0, &[post(102, 50, 4)]), vec![]);
    assert_eq!(balances(&ledger, 1), Balances { debits_posted: 4, ..Balances::ZERO });
}

#[test]
fn a_rolled_back_void_leaves_the_pending_transfer_pending() {
    let mut ledger = book();
    transfers_ok(&mut ledger, &[pending(50, 1, 2, 10)]);
    let batch = [linked(void(100, 50)), invalid(101)];
    assert_eq!(create_transfers(&mut ledger, 0, &batch).len(), 2);
    assert_eq!(ledger.transfer_state(50), Some(TransferState::Pending));
    assert_eq!(balances(&ledger, 2), Balances { credits_pending: 10, ..Balances::ZERO });
}

#[test]
fn a_rolled_back_closing_transfer_leaves_the_account_open() {
    let mut ledger = book();
    let closing = with_flags(pending(100, 1, 2, 0), TransferFlags::CLOSING_DEBIT);
    assert_eq!(create_transfers(&mut ledger, 0, &[linked(closing), invalid(101)]).len(), 2);
    assert!(!is_closed(&ledger, 1));
    assert_eq!(create_transfers(&mut ledger, 0, &[transfer(102, 1, 2, 1)]), vec![]);
}

#[test]
fn the_ids_of_a_rolled_back_chain_are_free_again() {
    let mut ledger = book();
    assert_eq!(create_transfers(&mut ledger, 0, &[linked(transfer(100, 1, 2, 10)), invalid(101)]).len(), 2);
    assert_eq!(
        create_transfers(&mut ledger, 0, &[transfer(100, 2, 3, 99)]),
        vec![],
        "not exists_with_different_*"
    );
    assert_eq!(ledger.lookup_transfer(100).map(|t| t.amount), Some(99));
}

#[test]
fn later_members_see_the_balances_earlier_members_left() {
    let mut ledger = book();
    accounts_ok(&mut ledger, &[account_with_flags(4, AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS)]);
    let batch = [linked(transfer(100, 1, 4, 100)), transfer(101, 4, 2, 100)];
    assert_eq!(create_transfers(&mut ledger, 0, &batch), vec![]);
    assert_eq!(balances(&ledger, 4), Balances { debits_posted: 100, credits_posted: 100, ..Balances::ZERO });
}

#[test]
fn a_later_member_can_post_a_pending_transfer_of_its_chain() {
    let mut ledger = book();
    assert_eq!(
        create_transfers(&mut ledger, 0, &[linked(pending(100, 1, 2, 10)), post(101, 100, 6)]),
        vec![]
    );
    assert_eq!(balances(&ledger, 1), Balances { debits_posted: 6, ..Balances::ZERO });
}

#[test]
fn a_duplicate_id_inside_a_chain_fails_the_chain() {
    let mut ledger = book();
    let batch = [linked(transfer(100, 1, 2, 10)), linked(transfer(100, 1, 2, 10)), transfer(102, 2, 3, 1)];
    assert_eq!(
        create_transfers(&mut ledger, 0, &batch),
        vec![fails(0, R::LinkedEventFailed), fails(1, R::Exists), fails(2, R::LinkedEventFailed)]
    );
    assert_untouched(&ledger);
    assert_eq!(ledger.lookup_transfer(100), None);
}

#[test]
fn a_lone_linked_event_at_the_end_of_the_batch_is_an_open_chain() {
    let mut ledger = book();
    assert_eq!(
        create_transfers(&mut ledger, 0, &[linked(transfer(100, 1, 2, 10))]),
        vec![fails(0, R::LinkedEventChainOpen)]
    );
    assert_untouched(&ledger);
}

#[test]
fn an_open_chain_fails_every_member() {
    let mut ledger = book();
    let batch = [linked(transfer(100, 1, 2, 10)), linked(transfer(101, 2, 3, 10))];
    assert_eq!(
        create_transfers(&mut ledger, 0, &batch),
        vec![fails(0, R::LinkedEventFailed), fails(1, R::LinkedEventChainOpen)]
    );
    assert_untouched(&ledger);
}

#[test]
fn the_last_event_of_an_open_chain_gets_chain_open_even_after_an_earlier_failure() {
    let mut ledger = book();
    let batch = [linked(invalid(100)), linked(transfer(101, 2, 3, 10))];
    assert_eq!(
        create_transfers(&mut ledger, 0, &batch),
        vec![fails(0, R::AccountsMustBeDifferent), fails(1, R::LinkedEventChainOpen)]
    );
}

#[test]
fn an_open_chain_does_not_undo_the_events_before_it() {
    let mut ledger = book();
    let batch = [transfer(100, 1, 2, 10), linked(transfer(101, 2, 3, 10))];
    assert_eq!(create_transfers(&mut ledger, 0, &batch), vec![fails(1, R::LinkedEventChainOpen)]);
    assert_eq!(balances(&ledger, 1), Balances { debits_posted: 10, ..Balances::ZERO });
    assert_eq!(balances(&ledger, 3), Balances::ZERO);
}

#[test]
fn several_chains_in_one_batch_are_each_applied() {
    let mut ledger = book();
    let batch = [
        linked(transfer(100, 1, 2, 1)),
        transfer(101, 1, 3, 2),
        linked(transfer(102, 2, 3, 4)),
        transfer(103, 3, 1, 8),
    ];
    assert_eq!(create_transfers(&mut ledger, 0, &batch), vec![]);
    assert_eq!(balances(&ledger, 1), Balances { debits_posted: 3, credits_posted: 8, ..Balances::ZERO });
}

#[test]
fn a_failed_chain_does_not_affect_the_next_chain() {
    let mut ledger = book();
    let batch = [
        linked(transfer(100, 1, 2, 1)),
        invalid(101),
        linked(transfer(102, 2, 3, 4)),
        transfer(103, 3, 1, 8),
    ];
    assert_eq!(
        create_transfers(&mut ledger, 0, &batch),
        vec![fails(0, R::LinkedEventFailed), fails(1, R::AccountsMustBeDifferent)]
    );
    assert_eq!(balances(&ledger, 1), Balances { credits_posted: 8, ..Balances::ZERO });
    assert_eq!(balances(&ledger, 3), Balances { debits_posted: 8, credits_posted: 4, ..Balances::ZERO });
}

#[test]
fn a_failed_chain_does_not_affect_the_next_single_event() {
    let mut ledger = book();
    let batch = [linked(transfer(100, 1, 2, 1)), invalid(101), transfer(102, 2, 3, 4)];
    assert_eq!(create_transfers(&mut ledger, 0, &batch).len(), 2);
    assert_eq!(balances(&ledger, 3), Balances { credits_posted: 4, ..Balances::ZERO });
}

#[test]
fn a_failed_chain_does_not_undo_the_events_before_it() {
    let mut ledger = book();
    let batch = [transfer(100, 1, 2, 1), linked(transfer(101, 2, 3, 4)), invalid(102)];
    assert_eq!(
        create_transfers(&mut ledger, 0, &batch),
        vec![fails(1, R::LinkedEventFailed), fails(2, R::AccountsMustBeDifferent)]
    );
    assert_eq!(balances(&ledger, 2), Balances { credits_posted: 1, ..Balances::ZERO });
}

#[test]
fn a_failed_chain_leaves_the_same_state_as_two_rejected_events() {
    let mut chained = book();
    let mut rejected = book();
    assert_eq!(create_transfers(&mut chained, 0, &[linked(transfer(100, 1, 2, 10)), invalid(101)]).len(), 2);
    assert_eq!(create_transfers(&mut rejected, 0, &[invalid(100), invalid(101)]).len(), 2);
    assert_eq!(chained.state_hash(), rejected.state_hash());
}

#[test]
fn a_linked_account_chain_is_created_as_a_whole() {
    let mut ledger = Ledger::default();
    assert_eq!(create_accounts(&mut ledger, 0, &[linked_account(account(1)), account(2)]), vec![]);
    assert_eq!(ledger.account_count(), 2);
}

#[test]
fn a_failing_account_rolls_back_its_chain() {
    let mut ledger = Ledger::default();
    let batch = [linked_account(account(1)), account(0)];
    assert_eq!(
        create_accounts(&mut ledger, 0, &batch),
        vec![fails(0, A::LinkedEventFailed), fails(1, A::IdMustNotBeZero)]
    );
    assert_eq!(ledger.lookup_account(1), None);
    assert_eq!(ledger.account_count(), 0);
}

#[test]
fn a_lone_linked_account_at_the_end_of_the_batch_is_an_open_chain() {
    let mut ledger = Ledger::default();
    let batch = [account(1), linked_account(account(2))];
    assert_eq!(create_accounts(&mut ledger, 0, &batch), vec![fails(1, A::LinkedEventChainOpen)]);
    assert_eq!(ledger.account_count(), 1);
}

#[test]
fn a_later_account_in_a_chain_sees_the_earlier_one() {
    let mut ledger = Ledger::default();
    let batch = [linked_account(account(1)), linked_account(account(1)), account(2)];
    assert_eq!(
        create_accounts(&mut ledger, 0, &batch),
        vec![fails(0, A::LinkedEventFailed), fails(1, A::Exists), fails(2, A::LinkedEventFailed)]
    );
    assert_eq!(ledger.account_count(), 0);
}

#[test]
fn a_rolled_back_void_of_a_closing_transfer_keeps_the_account_closed() {
    let mut ledger = book();
    transfers_ok(&mut ledger, &[with_flags(pending(50, 1, 2, 0), TransferFlags::CLOSING_DEBIT)]);
    assert_eq!(create_transfers(&mut ledger, 0, &[linked(void(100, 50)), invalid(101)]).len(), 2);
    assert!(is_closed(&ledger, 1));
    assert_eq!(ledger.transfer_state(50), Some(TransferState::Pending));
}

#[test]
fn a_later_member_sees_an_account_an_earlier_member_closed() {
    let mut ledger = book();
    let closing = with_flags(pending(100, 1, 2, 0), TransferFlags::CLOSING_DEBIT);
    assert_eq!(
        create_transfers(&mut ledger, 0, &[linked(closing), transfer(101, 1, 3, 5)]),
        vec![fails(0, R::LinkedEventFailed), fails(1, R::DebitAccountAlreadyClosed)]
    );
    assert!(!is_closed(&ledger, 1));
}

#[test]
fn an_id_freed_by_a_rollback_is_free_again_later_in_the_same_batch() {
    let mut ledger = book();
    let batch = [linked(transfer(100, 1, 2, 10)), invalid(101), transfer(100, 2, 3, 7)];
    assert_eq!(
        create_transfers(&mut ledger, 0, &batch),
        vec![fails(0, R::LinkedEventFailed), fails(1, R::AccountsMustBeDifferent)]
    );
    assert_eq!(ledger.lookup_transfer(100).map(|t| t.amount), Some(7));
}

#[test]
fn a_rolled_back_void_leaves_the_pending_transfer_to_expire_once_on_time() {
    let mut ledger = book();
    assert_eq!(create_transfers(&mut ledger, T0, &[pending_with_timeout(50, 1, 2, 10, 1)]), vec![]);
    assert_eq!(create_transfers(&mut ledger, T0 + 1, &[linked(void(100, 50)), invalid(101)]).len(), 2);
    assert_eq!(pulse(&mut ledger, T0 + common::NS_PER_SECOND - 1), Vec::<u128>::new());
    assert_eq!(pulse(&mut ledger, T0 + common::NS_PER_SECOND), vec![50]);
    assert_eq!(pulse(&mut ledger, T0 + 2 * common::NS_PER_SECOND), Vec::<u128>::new());
    assert_untouched(&ledger);
}

#[test]
fn a_rolled_back_timeout_does_not_expire_a_later_transfer_with_the_same_id() {
    let mut ledger = book();
    let batch = [linked(pending_with_timeout(50, 1, 2, 10, 1)), invalid(101)];
    assert_eq!(create_transfers(&mut ledger, T0, &batch).len(), 2);
    // The id is free again; this pending transfer never times out.
    assert_eq!(create_transfers(&mut ledger, T0 + 1, &[pending(50, 1, 2, 10)]), vec![]);
    assert_eq!(pulse(&mut ledger, T0 + 2 * common::NS_PER_SECOND), Vec::<u128>::new());
    assert_eq!(ledger.transfer_state(50), Some(TransferState::Pending));
    assert_eq!(balances(&ledger, 1), Balances { debits_pending: 10, ..Balances::ZERO });
}

#[test]
fn a_rolled_back_timeout_does_not_shorten_a_later_timeout_with_the_same_id() {
    let mut ledger = book();
    let batch = [linked(pending_with_timeout(50, 1, 2, 10, 1)), invalid(101)];
    assert_eq!(create_transfers(&mut ledger, T0, &batch).len(), 2);
    assert_eq!(create_transfers(&mut ledger, T0 + 1, &[pending_with_timeout(50, 1, 2, 10, 5)]), vec![]);
    assert_eq!(pulse(&mut ledger, T0 + 2 * common::NS_PER_SECOND), Vec::<u128>::new());
    assert_eq!(pulse(&mut ledger, T0 + 1 + 5 * common::NS_PER_SECOND), vec![50]);
}
