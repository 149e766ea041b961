//! Simulated clients: each keeps a few batches in flight, and resends every batch it has no
//! answer for after its connection drops (a crash of the server, or a network fault), with the
//! same ids. It also resends a batch now and then while the first copy is still in flight (a
//! timeout retry), so the server sees duplicates, and the network delivers requests in any order.
//!
//! The client is also the first check of idempotency: `Acknowledgements` records what every
//! answer said about every event, refuses an event that is answered `ok` twice (applied twice),
//! and checks after every start-up that each event answered `ok` or `exists` is still there.

use crate::rng::SimRng;
use crate::workload::Workload;
use ledger_core::result::{CreateAccountResult, CreateTransferResult, EventResult};
use ledger_core::{Account, AccountFlags, Ledger, OwnedEvents, Transfer, TransferFlags};
use std::collections::BTreeMap;
use std::rc::Rc;

/// A request on its way to the server: one attempt at one client batch.
#[derive(Clone, Debug)]
pub struct Request {
    pub client: usize,
    pub batch: u64,
    /// The client's connection it was sent on; the answer goes back on it or nowhere.
    pub connection: u64,
    pub events: Rc<OwnedEvents>,
}

/// The server's answer to one request.
#[derive(Clone, Debug)]
pub enum Answer {
    Accounts(Vec<EventResult<CreateAccountResult>>),
    Transfers(Vec<EventResult<CreateTransferResult>>),
    /// Refused before it was applied (the disk is full): try again later.
    Unavailable,
}

#[derive(Clone, Debug)]
pub struct Reply {
    pub client: usize,
    pub batch: u64,
    pub connection: u64,
    /// The request's events, so that every answer (duplicates too) can be checked.
    pub events: Rc<OwnedEvents>,
    pub answer: Answer,
}

#[derive(Debug)]
struct Outstanding {
    events: Rc<OwnedEvents>,
    /// No copy is in flight on the current connection: send (again).
    needs_send: bool,
}

#[derive(Debug)]
pub struct Client {
    id: usize,
    connection: u64,
    next_batch: u64,
    next_transfer_seq: u64,
    pipeline_max: usize,
    outstanding: BTreeMap<u64, Outstanding>,
}

/// What a client sent: a first attempt, a resend after a lost connection, or a duplicate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sent {
    New,
    Retry,
    Duplicate,
}

impl Client {
    #[must_use]
    pub fn new(id: usize, pipeline_max: usize) -> Self {
        Self {
            id,
            connection: 0,
            next_batch: 0,
            next_transfer_seq: 0,
            pipeline_max,
            outstanding: BTreeMap::new(),
        }
    }

    /// The client's next request, if it has one to send.
    pub fn next_request(
        &mut self,
        rng: &mut SimRng,
        workload: &mut Workload,
        duplicate_per_mille: u32,
    ) -> Option<(Request, Sent)> {
        let unsent: Vec<u64> =
            self.outstanding.iter().filter(|(_, o)| o.needs_send).map(|(b, _)| *b).collect();
        let (batch, sent) = if !unsent.is_empty() {
            // Resends go out in any order.
            (unsent[rng.index(unsent.len())], Sent::Retry)
        } else if self.outstanding.len() < self.pipeline_max {
            let batch = self.next_batch;
            self.next_batch += 1;
            let events = Rc::new(workload.next_batch(rng, self.id, &mut self.next_transfer_seq));
            self.outstanding.insert(batch, Outstanding { events, needs_send: true });
            (batch, Sent::New)
        } else if !self.outstanding.is_empty() && rng.chance(duplicate_per_mille) {
            let batches: Vec<u64> = self.outstanding.keys().copied().collect();
            (batches[rng.index(batches.len())], Sent::Duplicate)
        } else {
            return None;
        };
        let outstanding = self.outstanding.get_mut(&batch)?;
        outstanding.needs_send = false;
        let request = Request {
            client: self.id,
            batch,
            connection: self.connection,
            events: Rc::clone(&outstanding.events),
        };
        Some((request, sent))
    }

    /// The connection dropped: answers still on their way are lost, everything unanswered is
    /// resent on the next connection.
    pub fn disconnect(&mut self) {
        self.connection += 1;
        for outstanding in self.outstanding.values_mut() {
            outstanding.needs_send = true;
        }
    }

    #[must_use]
    pub fn connection(&self) -> u64 {
        self.connection
    }

    #[must_use]
    pub fn outstanding(&self) -> usize {
        self.outstanding.len()
    }

    /// Takes an answer; false if it arrived on a connection that is gone (nobody reads it).
    /// An answer with results settles its batch (a later duplicate's answer is still read, and
    /// checked, but changes nothing); `Unavailable` puts the batch back in the send queue.
    pub fn receive(&mut self, reply: &Reply) -> bool {
        if reply.connection != self.connection {
            return false;
        }
        match reply.answer {
            Answer::Unavailable => {
                if let Some(outstanding) = self.outstanding.get_mut(&reply.batch) {
                    outstanding.needs_send = true;
                }
            }
            Answer::Accounts(_) | Answer::Transfers(_) => {
                self.outstanding.remove(&reply.batch);
            }
        }
        true
    }
}

/// What the clients were told about each event id.
#[derive(Clone, Debug)]
enum Acked {
    Account(Account),
    Transfer(Transfer),
}

#[derive(Clone, Debug)]
struct AckedEvent {
    /// The event that was answered `ok` or `exists`.
    event: Acked,
    created: bool,
}

/// Every event some client was told exists (`ok` or `exists`), by id.
#[derive(Debug, Default)]
pub struct Acknowledgements {
    accounts: BTreeMap<u128, AckedEvent>,
    transfers: BTreeMap<u128, AckedEvent>,
    /// Events answered `ok` (created by the request answered).
    pub created: u64,
    /// Events answered `exists` (a retry or duplicate found them).
    pub existed: u64,
}

impl Acknowledgements {
    /// Records one answer to `events`. Errors name an event answered in a way that proves it was
    /// applied twice or lost.
    pub fn record(&mut self, events: &OwnedEvents, answer: &Answer) -> Result<(), String> {
        match (events, answer) {
            (OwnedEvents::CreateAccounts(accounts), Answer::Accounts(results)) => {
                let linked: Vec<bool> =
                    accounts.iter().map(|a| a.flags.contains(AccountFlags::LINKED)).collect();
                for (index, account) in accounts.iter().enumerate() {
                    let result = result_at(results, index).unwrap_or(CreateAccountResult::Ok);
                    let created = match result {
                        CreateAccountResult::Ok => true,
                        CreateAccountResult::Exists if !in_chain(&linked, index) => false,
                        _ => continue,
                    };
                    self.note(account.id, Acked::Account(*account), created, "account")?;
                }
                Ok(())
            }
            (OwnedEvents::CreateTransfers(transfers), Answer::Transfers(results)) => {
                let linked: Vec<bool> =
                    transfers.iter().map(|t| t.flags.contains(TransferFlags::LINKED)).collect();
                for (index, transfer) in transfers.iter().enumerate() {
                    let result = result_at(results, index).unwrap_or(CreateTransferResult::Ok);
                    let created = match result {
                        CreateTransferResult::Ok => true,
                        CreateTransferResult::Exists if !in_chain(&linked, index) => false,
                        _ => continue,
                    };
                    self.note(transfer.id, Acked::Transfer(*transfer), created, "transfer")?;
                }
                Ok(())
            }
            (_, Answer::Unavailable) => Ok(()),
            (events, answer) => Err(format!("answer {answer:?} does not fit the request {events:?}")),
        }
    }

    fn note(&mut self, id: u128, event: Acked, created: bool, what: &str) -> Result<(), String> {
        let map = match event {
            Acked::Account(_) => &mut self.accounts,
            Acked::Transfer(_) => &mut self.transfers,
        };
        if created {
            self.created += 1;
        } else {
            self.existed += 1;
        }
        match map.get_mut(&id) {
            None => {
                map.insert(id, AckedEvent { event, created });
                Ok(())
            }
            Some(earlier) if created && earlier.created => {
                Err(format!("{what} {id} was answered `ok` twice: it was applied twice"))
            }
            Some(earlier) => {
                // Answers arrive in any order: a duplicate's `exists` may come before the `ok`.
                if created {
                    *earlier = AckedEvent { event, created };
                }
                Ok(())
            }
        }
    }

    /// Every acknowledged event is in `ledger`, as it was submitted.
    pub fn check_present(&self, ledger: &Ledger) -> Result<(), String> {
        for (id, acked) in &self.accounts {
            let Acked::Account(sent) = &acked.event else { continue };
            let Some(found) = ledger.lookup_account(*id) else {
                return Err(format!("acknowledged account {id} is missing"));
            };
            // A closing transfer may have closed it since.
            let flags = AccountFlags(found.flags.0 & !AccountFlags::CLOSED.0);
            if (found.ledger, found.code, flags, found.user_data_64)
                != (sent.ledger, sent.code, sent.flags, sent.user_data_64)
            {
                return Err(format!("acknowledged account {id} differs: sent {sent:?}, found {found:?}"));
            }
        }
        for (id, acked) in &self.transfers {
            let Acked::Transfer(sent) = &acked.event else { continue };
            let Some(found) = ledger.lookup_transfer(*id) else {
                return Err(format!(
                    "acknowledged transfer {id} ({}) is missing",
                    if acked.created { "answered ok" } else { "answered exists" }
                ));
            };
            let same = found.flags == sent.flags
                && found.pending_id == sent.pending_id
                && (sent.flags.is_post_or_void()
                    || (
                        found.debit_account_id,
                        found.credit_account_id,
                        found.ledger,
                        found.code,
                        found.timeout,
                    ) == (
                        sent.debit_account_id,
                        sent.credit_account_id,
                        sent.ledger,
                        sent.code,
                        sent.timeout,
                    ))
                && (sent.flags.is_post_or_void() || sent.flags.is_balancing() || found.amount == sent.amount);
            if !same {
                return Err(format!("acknowledged transfer {id} differs: sent {sent:?}, found {found:?}"));
            }
        }
        Ok(())
    }

    #[must_use]
    pub fn events(&self) -> usize {
        self.accounts.len() + self.transfers.len()
    }
}

/// Whether event `index` belongs to a linked chain. `exists` inside a chain says the id existed
/// when the event ran, perhaps created by an earlier member of the same chain, which the failed
/// chain then rolled back (as TigerBeetle does): it proves nothing about the state after the batch.
fn in_chain(linked: &[bool], index: usize) -> bool {
    linked[index] || (index > 0 && linked[index - 1])
}

fn result_at<R: Copy>(results: &[EventResult<R>], index: usize) -> Option<R> {
    results.iter().find(|r| usize::try_from(r.index).ok() == Some(index)).map(|r| r.result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ledger_core::TransferFlags;

    fn transfer(id: u128, flags: TransferFlags) -> Transfer {
        Transfer {
            id,
            debit_account_id: 1,
            credit_account_id: 2,
            amount: 5,
            ledger: 1,
            code: 1,
            flags,
            ..Transfer::default()
        }
    }

    fn exists(index: u32) -> EventResult<CreateTransferResult> {
        EventResult { index, result: CreateTransferResult::Exists }
    }

    #[test]
    fn an_event_answered_ok_twice_was_applied_twice() {
        let mut acks = Acknowledgements::default();
        let events = OwnedEvents::CreateTransfers(vec![transfer(7, TransferFlags::NONE)]);
        acks.record(&events, &Answer::Transfers(Vec::new())).expect("first ok");
        acks.record(&events, &Answer::Transfers(vec![exists(0)])).expect("a duplicate finds it");
        let error = acks.record(&events, &Answer::Transfers(Vec::new())).expect_err("second ok");
        assert!(error.contains("applied twice"), "{error}");
    }

    #[test]
    fn an_acknowledged_transfer_must_be_in_the_ledger_but_exists_inside_a_chain_proves_nothing() {
        let mut acks = Acknowledgements::default();
        let chain = OwnedEvents::CreateTransfers(vec![
            transfer(8, TransferFlags::LINKED),
            transfer(9, TransferFlags::NONE),
        ]);
        let failed = EventResult { index: 0, result: CreateTransferResult::LinkedEventFailed };
        acks.record(&chain, &Answer::Transfers(vec![failed, exists(1)])).expect("recorded");
        let ledger = Ledger::default();
        acks.check_present(&ledger).expect("exists inside a chain is no claim");
        let single = OwnedEvents::CreateTransfers(vec![transfer(10, TransferFlags::NONE)]);
        acks.record(&single, &Answer::Transfers(vec![exists(0)])).expect("recorded");
        let error = acks.check_present(&ledger).expect_err("missing");
        assert!(error.contains("acknowledged transfer 10"), "{error}");
    }

    #[test]
    fn a_dropped_connection_resends_everything_unanswered_and_stale_answers_are_not_read() {
        let mut rng = SimRng::new(5);
        let mut workload = Workload::new(&mut rng);
        let mut client = Client::new(0, 2);
        let (first, sent) = client.next_request(&mut rng, &mut workload, 0).expect("a new batch");
        assert_eq!(sent, Sent::New);
        client.disconnect();
        let (again, sent) = client.next_request(&mut rng, &mut workload, 0).expect("the resend");
        assert_eq!((sent, again.batch, again.connection), (Sent::Retry, first.batch, first.connection + 1));
        assert_eq!(again.events, first.events, "a resend carries the same events");
        let stale = Reply {
            client: 0,
            batch: first.batch,
            connection: first.connection,
            events: Rc::clone(&first.events),
            answer: Answer::Unavailable,
        };
        assert!(!client.receive(&stale), "the old connection is gone");
        assert_eq!(client.outstanding(), 1);
    }
}
