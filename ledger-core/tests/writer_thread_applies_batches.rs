//! The writer thread owns a `Ledger`, applies submitted batches with its clock's reading, answers
//! lookups, expires pending transfers on its own when idle, and hands the ledger back on shutdown.

mod common;

use common::{Balances, NS_PER_SECOND, T0, account, pending_with_timeout, transfer};
use ledger_core::clock::ManualClock;
use ledger_core::writer::{Command, Reply, Writer};
use ledger_core::{BATCH_EVENTS_MAX, BatchError, CreateTransferResult as R, Ledger, TransferState};
use std::time::Duration;

/// How often and how long a test polls for the writer's idle pulse: at most 5 s in all.
const POLL_INTERVAL: Duration = Duration::from_millis(10);
const POLL_ATTEMPTS_MAX: u32 = 500;

fn spawn(clock: &ManualClock) -> Writer {
    Writer::spawn(Ledger::default(), clock.clone()).expect("spawn the writer thread")
}

fn call(writer: &Writer, command: Command) -> Reply {
    writer.call(command).expect("the writer is running")
}

fn create_accounts(writer: &Writer, ids: &[u128]) -> Reply {
    call(writer, Command::CreateAccounts(ids.iter().map(|id| account(*id)).collect()))
}

fn lookup_balances(writer: &Writer, id: u128) -> Balances {
    match call(writer, Command::LookupAccounts(vec![id])) {
        Reply::Accounts(accounts) => {
            let a = accounts.first().expect("the account exists");
            Balances {
                debits_pending: a.debits_pending,
                debits_posted: a.debits_posted,
                credits_pending: a.credits_pending,
                credits_posted: a.credits_posted,
            }
        }
        other => panic!("unexpected reply {other:?}"),
    }
}

#[test]
fn an_account_batch_is_applied_with_the_clock_reading() {
    let clock = ManualClock::new(T0);
    let writer = spawn(&clock);
    assert_eq!(create_accounts(&writer, &[1, 2]), Reply::CreateAccounts { results: vec![], timestamp: T0 });
}

#[test]
fn a_transfer_batch_answers_its_failures_by_index() {
    let clock = ManualClock::new(T0);
    let writer = spawn(&clock);
    create_accounts(&writer, &[1, 2]);
    clock.advance(100);
    let reply = call(&writer, Command::CreateTransfers(vec![transfer(100, 1, 2, 5), transfer(101, 1, 1, 5)]));
    assert_eq!(
        reply,
        Reply::CreateTransfers {
            results: vec![common::fails(1, R::AccountsMustBeDifferent)],
            timestamp: T0 + 100
        }
    );
}

#[test]
fn lookups_see_the_applied_batches() {
    let clock = ManualClock::new(T0);
    let writer = spawn(&clock);
    create_accounts(&writer, &[1, 2]);
    call(&writer, Command::CreateTransfers(vec![transfer(100, 1, 2, 5)]));
    assert_eq!(lookup_balances(&writer, 2), Balances { credits_posted: 5, ..Balances::ZERO });
    match call(&writer, Command::LookupTransfers(vec![100, 999])) {
        Reply::Transfers(transfers) => {
            assert_eq!(transfers.iter().map(|t| (t.id, t.amount)).collect::<Vec<_>>(), vec![(100, 5)]);
        }
        other => panic!("unexpected reply {other:?}"),
    }
}

#[test]
fn timestamps_increase_when_the_clock_steps_back() {
    let clock = ManualClock::new(T0);
    let writer = spawn(&clock);
    create_accounts(&writer, &[1]);
    clock.set(T0 - 1_000);
    assert_eq!(create_accounts(&writer, &[2]), Reply::CreateAccounts { results: vec![], timestamp: T0 + 1 });
}

#[test]
fn an_oversized_batch_is_rejected() {
    let clock = ManualClock::new(T0);
    let writer = spawn(&clock);
    let batch = (1..).take(BATCH_EVENTS_MAX + 1).map(account).collect();
    assert_eq!(
        call(&writer, Command::CreateAccounts(batch)),
        Reply::Rejected(BatchError::TooManyEvents { events: BATCH_EVENTS_MAX + 1, max: BATCH_EVENTS_MAX })
    );
}

#[test]
fn the_state_hash_reply_matches_the_ledger_handed_back() {
    let clock = ManualClock::new(T0);
    let writer = spawn(&clock);
    create_accounts(&writer, &[1, 2]);
    let reply = call(&writer, Command::StateHash);
    let ledger = writer.shutdown().expect("the writer hands its ledger back");
    assert_eq!(reply, Reply::StateHash(ledger.state_hash()));
}

#[test]
fn an_idle_writer_expires_a_pending_transfer_when_the_clock_passes_its_deadline() {
    let clock = ManualClock::new(T0);
    let writer = spawn(&clock);
    create_accounts(&writer, &[1, 2]);
    let reply = call(&writer, Command::CreateTransfers(vec![pending_with_timeout(100, 1, 2, 10, 1)]));
    assert!(matches!(reply, Reply::CreateTransfers { ref results, .. } if results.is_empty()), "{reply:?}");
    assert_eq!(lookup_balances(&writer, 1), Balances { debits_pending: 10, ..Balances::ZERO });

    clock.advance(2 * NS_PER_SECOND);
    let mut released = false;
    for _ in 0..POLL_ATTEMPTS_MAX {
        if lookup_balances(&writer, 1) == Balances::ZERO {
            released = true;
            break;
        }
        std::thread::sleep(POLL_INTERVAL);
    }
    assert!(released, "the writer pulsed and released the reservation");
    let ledger = writer.shutdown().expect("the writer hands its ledger back");
    assert_eq!(ledger.transfer_state(100), Some(TransferState::Expired));
}

#[test]
fn an_idle_writer_does_not_expire_before_the_deadline() {
    let clock = ManualClock::new(T0);
    let writer = spawn(&clock);
    create_accounts(&writer, &[1, 2]);
    call(&writer, Command::CreateTransfers(vec![pending_with_timeout(100, 1, 2, 10, 1)]));
    clock.advance(NS_PER_SECOND - 1);
    std::thread::sleep(POLL_INTERVAL);
    assert_eq!(lookup_balances(&writer, 1), Balances { debits_pending: 10, ..Balances::ZERO });
}

#[test]
fn try_submit_queues_a_command_and_delivers_its_reply() {
    let clock = ManualClock::new(T0);
    let writer = spawn(&clock);
    let receiver = writer.try_submit(Command::CreateAccounts(vec![account(1)])).expect("the queue has room");
    assert_eq!(
        receiver.recv_timeout(Duration::from_secs(5)).expect("a reply"),
        Reply::CreateAccounts { results: vec![], timestamp: T0 }
    );
}

#[test]
fn shutdown_finishes_the_queued_batches_and_returns_the_ledger() {
    let clock = ManualClock::new(T0);
    let writer = spawn(&clock);
    let receivers: Vec<_> = (1..=3_u128)
        .map(|id| writer.submit(Command::CreateAccounts(vec![account(id)])).expect("the writer is running"))
        .collect();
    let ledger = writer.shutdown().expect("the writer hands its ledger back");
    assert_eq!(ledger.account_count(), 3);
    for receiver in receivers {
        assert!(matches!(receiver.recv(), Ok(Reply::CreateAccounts { .. })));
    }
}
