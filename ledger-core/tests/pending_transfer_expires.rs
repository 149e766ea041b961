//! Pending transfers with a timeout expire at `timestamp + timeout × 10^9`: at both ends of every
//! batch (and in pulses) the engine releases each live pending transfer whose deadline is at or
//! before the current timestamp, in (deadline, id) order, and reports its id. A post or void whose
//! own timestamp is at or past the deadline gets `pending_transfer_expired`.

mod common;

use common::{
    Balances, NS_PER_SECOND, T0, account_with_flags, accounts_ok, apply, balances, create_transfers, fails,
    ledger_with_accounts, pending, pending_with_timeout, post, pulse, transfer, transfers_ok, void,
};
use ledger_core::{AMOUNT_MAX, AccountFlags, CreateTransferResult as R, Events, Ledger, TransferState};

const PENDING_ID: u128 = 100;
/// The pending transfer is created at `T0` with a timeout of 1 s.
const DEADLINE: u64 = T0 + NS_PER_SECOND;
const TIMESTAMP_LIMIT: u64 = 1 << 63;

/// Accounts 1 to 4 (3 and 4 for unrelated transfers); a pending transfer of 100 from 1 to 2, created at exactly `T0`, timeout 1 s.
fn book() -> Ledger {
    let mut ledger = ledger_with_accounts(&[1, 2, 3, 4]);
    assert_eq!(create_transfers(&mut ledger, T0, &[pending_with_timeout(PENDING_ID, 1, 2, 100, 1)]), vec![]);
    assert_eq!(ledger.lookup_transfer(PENDING_ID).map(|t| t.timestamp), Some(T0));
    ledger
}

fn assert_reserved(ledger: &Ledger, amount: u128) {
    assert_eq!(balances(ledger, 1), Balances { debits_pending: amount, ..Balances::ZERO });
    assert_eq!(balances(ledger, 2), Balances { credits_pending: amount, ..Balances::ZERO });
}

#[test]
fn a_pending_transfer_is_live_until_its_deadline() {
    let mut ledger = book();
    assert_eq!(pulse(&mut ledger, DEADLINE - 1), Vec::<u128>::new());
    assert_eq!(ledger.transfer_state(PENDING_ID), Some(TransferState::Pending));
    assert_reserved(&ledger, 100);
}

#[test]
fn a_pulse_at_the_deadline_expires_it_and_releases_the_amount() {
    let mut ledger = book();
    assert_eq!(pulse(&mut ledger, DEADLINE), vec![PENDING_ID]);
    assert_eq!(ledger.transfer_state(PENDING_ID), Some(TransferState::Expired));
    assert_reserved(&ledger, 0);
    assert_eq!(ledger.pending_count(), 0);
}

#[test]
fn expiry_creates_no_transfer_record() {
    let mut ledger = book();
    let count = ledger.transfer_count();
    pulse(&mut ledger, DEADLINE);
    assert_eq!(ledger.transfer_count(), count);
    assert_eq!(ledger.lookup_transfer(PENDING_ID).map(|t| t.amount), Some(100), "the pending record stays");
}

#[test]
fn an_expired_id_is_reported_once() {
    let mut ledger = book();
    assert_eq!(pulse(&mut ledger, DEADLINE), vec![PENDING_ID]);
    assert_eq!(pulse(&mut ledger, DEADLINE + NS_PER_SECOND), Vec::<u128>::new());
}

#[test]
fn a_transfer_batch_after_the_deadline_expires_it_and_reports_the_id() {
    let mut ledger = book();
    let results = apply(&mut ledger, DEADLINE + 5, Events::CreateTransfers(&[transfer(101, 3, 4, 1)]));
    assert_eq!(results.expired, vec![PENDING_ID]);
    assert_eq!(results.transfers, vec![]);
    assert_eq!(ledger.transfer_state(PENDING_ID), Some(TransferState::Expired));
}

#[test]
fn an_account_batch_after_the_deadline_expires_it_too() {
    let mut ledger = book();
    let results = apply(&mut ledger, DEADLINE, Events::CreateAccounts(&[common::account(9)]));
    assert_eq!(results.expired, vec![PENDING_ID]);
    assert_reserved(&ledger, 0);
}

#[test]
fn expiry_before_the_first_event_frees_room_for_the_batch() {
    let mut ledger = ledger_with_accounts(&[1, 2]);
    accounts_ok(&mut ledger, &[account_with_flags(3, AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS)]);
    transfers_ok(&mut ledger, &[transfer(10, 1, 3, 100)]);
    assert_eq!(create_transfers(&mut ledger, T0, &[pending_with_timeout(PENDING_ID, 3, 2, 100, 1)]), vec![]);
    let results = apply(&mut ledger, DEADLINE, Events::CreateTransfers(&[transfer(101, 3, 2, 100)]));
    assert_eq!(results.expired, vec![PENDING_ID]);
    assert_eq!(results.transfers, vec![], "the expired reservation no longer counts against the limit");
    assert_eq!(balances(&ledger, 3), Balances { debits_posted: 100, credits_posted: 100, ..Balances::ZERO });
}

#[test]
fn expired_ids_are_reported_in_deadline_then_id_order() {
    let mut ledger = ledger_with_accounts(&[1, 2]);
    // Each batch holds one event, so each transfer's timestamp is the clock reading.
    let creations = [
        (T0, pending_with_timeout(20, 1, 2, 1, 2)), // deadline T0 + 2 s
        (T0 + NS_PER_SECOND, pending_with_timeout(10, 1, 2, 1, 1)), // deadline T0 + 2 s
        (T0 + NS_PER_SECOND + 1, pending_with_timeout(5, 1, 2, 1, 2)), // deadline T0 + 3 s + 1
        (T0 + NS_PER_SECOND + 2, pending_with_timeout(7, 1, 2, 1, 1)), // deadline T0 + 2 s + 2
    ];
    for (now, event) in creations {
        assert_eq!(create_transfers(&mut ledger, now, &[event]), vec![]);
    }
    assert_eq!(pulse(&mut ledger, T0 + 4 * NS_PER_SECOND), vec![10, 20, 7, 5]);
}

#[test]
fn a_pulse_expires_only_what_is_due() {
    let mut ledger = ledger_with_accounts(&[1, 2]);
    assert_eq!(
        create_transfers(
            &mut ledger,
            T0,
            &[pending_with_timeout(10, 1, 2, 5, 1), pending_with_timeout(11, 1, 2, 7, 10)]
        ),
        vec![]
    );
    assert_eq!(pulse(&mut ledger, T0 + 2 * NS_PER_SECOND), vec![10]);
    assert_eq!(balances(&ledger, 1), Balances { debits_pending: 7, ..Balances::ZERO });
    assert_eq!(ledger.transfer_state(11), Some(TransferState::Pending));
}

#[test]
fn a_post_after_expiry_is_rejected() {
    let mut ledger = book();
    pulse(&mut ledger, DEADLINE);
    let failures = create_transfers(&mut ledger, DEADLINE + 1, &[post(101, PENDING_ID, AMOUNT_MAX)]);
    assert_eq!(failures, vec![fails(0, R::PendingTransferExpired)]);
    assert_reserved(&ledger, 0);
}

#[test]
fn a_void_after_expiry_is_rejected() {
    let mut ledger = book();
    pulse(&mut ledger, DEADLINE);
    let failures = create_transfers(&mut ledger, DEADLINE + 1, &[void(101, PENDING_ID)]);
    assert_eq!(failures, vec![fails(0, R::PendingTransferExpired)]);
}

#[test]
fn a_post_one_nanosecond_before_the_deadline_succeeds() {
    let mut ledger = book();
    // Two events at `DEADLINE`: timestamps DEADLINE - 1 and DEADLINE.
    let batch = [post(101, PENDING_ID, AMOUNT_MAX), transfer(102, 3, 4, 1)];
    let results = apply(&mut ledger, DEADLINE, Events::CreateTransfers(&batch));
    assert_eq!(results.transfers, vec![]);
    assert_eq!(results.expired, Vec::<u128>::new());
    assert_eq!(ledger.lookup_transfer(101).map(|t| t.timestamp), Some(DEADLINE - 1));
    assert_eq!(ledger.transfer_state(PENDING_ID), Some(TransferState::Posted));
}

#[test]
fn a_post_stamped_at_the_deadline_is_expired_though_released_at_the_end_of_the_batch() {
    let mut ledger = book();
    // Two events at `DEADLINE`: the first (DEADLINE - 1) finds the transfer live, the post
    // (DEADLINE) is at its deadline.
    let batch = [transfer(101, 3, 4, 1), post(102, PENDING_ID, AMOUNT_MAX)];
    let results = apply(&mut ledger, DEADLINE, Events::CreateTransfers(&batch));
    assert_eq!(results.transfers, vec![fails(1, R::PendingTransferExpired)]);
    assert_eq!(results.expired, vec![PENDING_ID]);
    assert_eq!(ledger.transfer_state(PENDING_ID), Some(TransferState::Expired));
    assert_reserved(&ledger, 0);
}

#[test]
fn a_void_stamped_past_the_deadline_in_a_batch_that_started_before_it_is_expired() {
    let mut ledger = book();
    // Three events ending at DEADLINE + 1: timestamps DEADLINE - 1, DEADLINE, DEADLINE + 1.
    let batch = [transfer(101, 3, 4, 1), transfer(102, 3, 4, 1), void(103, PENDING_ID)];
    let results = apply(&mut ledger, DEADLINE + 1, Events::CreateTransfers(&batch));
    assert_eq!(results.transfers, vec![fails(2, R::PendingTransferExpired)]);
    assert_eq!(results.expired, vec![PENDING_ID]);
}

#[test]
fn a_posted_transfer_never_expires() {
    let mut ledger = book();
    transfers_ok(&mut ledger, &[post(101, PENDING_ID, 60)]);
    assert_eq!(pulse(&mut ledger, DEADLINE + NS_PER_SECOND), Vec::<u128>::new());
    assert_eq!(ledger.transfer_state(PENDING_ID), Some(TransferState::Posted));
    assert_eq!(balances(&ledger, 1), Balances { debits_posted: 60, ..Balances::ZERO });
}

#[test]
fn a_voided_transfer_never_expires() {
    let mut ledger = book();
    transfers_ok(&mut ledger, &[void(101, PENDING_ID)]);
    assert_eq!(pulse(&mut ledger, DEADLINE + NS_PER_SECOND), Vec::<u128>::new());
    assert_eq!(ledger.transfer_state(PENDING_ID), Some(TransferState::Voided));
}

#[test]
fn a_posted_transfer_past_its_deadline_is_already_posted_not_expired() {
    let mut ledger = book();
    transfers_ok(&mut ledger, &[post(101, PENDING_ID, 60)]);
    let failures = create_transfers(&mut ledger, DEADLINE + NS_PER_SECOND, &[post(102, PENDING_ID, 40)]);
    assert_eq!(failures, vec![fails(0, R::PendingTransferAlreadyPosted)]);
}

#[test]
fn a_timeout_of_zero_never_expires() {
    let mut ledger = ledger_with_accounts(&[1, 2]);
    assert_eq!(create_transfers(&mut ledger, T0, &[pending(PENDING_ID, 1, 2, 100)]), vec![]);
    assert_eq!(pulse(&mut ledger, 1 << 62), Vec::<u128>::new());
    assert_eq!(ledger.transfer_state(PENDING_ID), Some(TransferState::Pending));
    assert_eq!(ledger.next_expiry(), None);
}

#[test]
fn next_expiry_is_the_earliest_live_deadline() {
    let mut ledger = book();
    assert_eq!(create_transfers(&mut ledger, T0 + 10, &[pending_with_timeout(101, 1, 2, 1, 5)]), vec![]);
    assert_eq!(ledger.next_expiry(), Some(DEADLINE));
    pulse(&mut ledger, DEADLINE);
    assert_eq!(ledger.next_expiry(), Some(T0 + 10 + 5 * NS_PER_SECOND));
}

#[test]
fn next_expiry_forgets_a_voided_pending_transfer() {
    let mut ledger = book();
    transfers_ok(&mut ledger, &[void(101, PENDING_ID)]);
    assert_eq!(ledger.next_expiry(), None);
}

#[test]
fn next_expiry_forgets_a_posted_pending_transfer() {
    let mut ledger = book();
    transfers_ok(&mut ledger, &[post(101, PENDING_ID, AMOUNT_MAX)]);
    assert_eq!(ledger.next_expiry(), None);
}

#[test]
fn a_pulse_behind_the_clock_does_not_expire_anything_new() {
    let mut ledger = book();
    // The clock reading steps back: the pulse's timestamp is the ledger's clock (T0), not 0.
    let results = apply(&mut ledger, 0, Events::Pulse);
    assert_eq!(results.expired, Vec::<u128>::new());
    assert_eq!(results.timestamp, T0);
}

#[test]
fn the_largest_timeout_is_accepted_when_the_deadline_fits() {
    let mut ledger = ledger_with_accounts(&[1, 2]);
    assert_eq!(
        create_transfers(&mut ledger, T0, &[pending_with_timeout(PENDING_ID, 1, 2, 1, u32::MAX)]),
        vec![]
    );
    assert_eq!(ledger.next_expiry(), Some(T0 + u64::from(u32::MAX) * NS_PER_SECOND));
}

#[test]
fn a_deadline_reaching_two_to_the_63_overflows_the_timeout() {
    let mut ledger = ledger_with_accounts(&[1, 2]);
    let now = TIMESTAMP_LIMIT - NS_PER_SECOND;
    let failures = create_transfers(&mut ledger, now, &[pending_with_timeout(PENDING_ID, 1, 2, 1, 1)]);
    assert_eq!(failures, vec![fails(0, R::OverflowsTimeout)]);
    assert_eq!(ledger.pending_count(), 0);
}

#[test]
fn a_deadline_just_below_two_to_the_63_is_accepted() {
    let mut ledger = ledger_with_accounts(&[1, 2]);
    let now = TIMESTAMP_LIMIT - NS_PER_SECOND - 1;
    assert_eq!(create_transfers(&mut ledger, now, &[pending_with_timeout(PENDING_ID, 1, 2, 1, 1)]), vec![]);
    assert_eq!(ledger.next_expiry(), Some(TIMESTAMP_LIMIT - 1));
}

#[test]
fn the_largest_timeout_overflows_late_in_the_clock() {
    let mut ledger = ledger_with_accounts(&[1, 2]);
    let now = TIMESTAMP_LIMIT - u64::from(u32::MAX) * NS_PER_SECOND;
    let failures = create_transfers(&mut ledger, now, &[pending_with_timeout(PENDING_ID, 1, 2, 1, u32::MAX)]);
    assert_eq!(failures, vec![fails(0, R::OverflowsTimeout)]);
}

#[test]
fn expiry_runs_across_batches_as_the_clock_passes_each_deadline() {
    let mut ledger = ledger_with_accounts(&[1, 2]);
    assert_eq!(
        create_transfers(
            &mut ledger,
            T0,
            &[pending_with_timeout(10, 1, 2, 5, 1), pending_with_timeout(11, 1, 2, 7, 3)]
        ),
        vec![]
    );
    let first = apply(&mut ledger, T0 + 2 * NS_PER_SECOND, Events::CreateTransfers(&[transfer(12, 2, 1, 1)]));
    assert_eq!(first.expired, vec![10]);
    // 11 was stamped T0 (the last of two events) and is due at T0 + 3 s.
    let second =
        apply(&mut ledger, T0 + 3 * NS_PER_SECOND - 1, Events::CreateTransfers(&[transfer(13, 2, 1, 1)]));
    assert_eq!(second.expired, Vec::<u128>::new());
    let third = apply(&mut ledger, T0 + 3 * NS_PER_SECOND, Events::Pulse);
    assert_eq!(third.expired, vec![11]);
}
