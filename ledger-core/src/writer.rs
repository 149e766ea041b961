//! The single writer: one OS thread owns the `Ledger`; everyone else sends it requests through
//! a bounded queue and waits for the reply.
//!
//! Bounded, so that a flood of clients meets back-pressure (a full queue blocks `submit`, or
//! fails `try_submit`) instead of unbounded memory. The thread wakes up on its own when the
//! earliest pending transfer is due, so timeouts fire even when no client writes.

use crate::account::Account;
use crate::clock::Clock;
use crate::ledger::{BatchError, BatchResults, Events, Ledger};
use crate::query::{AccountBalance, AccountFilter, QueryFilter};
use crate::result::{CreateAccountResult, CreateTransferResult, EventResult};
use crate::transfer::Transfer;
use crate::transfer_store::{MemoryTransferStore, TransferStore};
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError, bounded};
use std::thread::JoinHandle;
use std::time::Duration;

/// Requests waiting for the writer. A request is a whole batch (up to `BATCH_EVENTS_MAX`
/// events), so 1024 requests hold up to ~1 GiB of events in the worst case.
pub const WRITER_QUEUE_DEPTH: usize = 1024;

/// The longest the writer sleeps without work before checking pending timeouts again.
const IDLE_WAKE_MAX: Duration = Duration::from_secs(1);

#[derive(Debug)]
pub enum Command {
    CreateAccounts(Vec<Account>),
    CreateTransfers(Vec<Transfer>),
    /// `CreateTransfers` whose batch carries notes about runs of its transfers (the journal
    /// entries of standard ledger events). The engine ignores the notes; a durable writer
    /// records the notes of the runs that were created with the batch (`EntryNotes`).
    CreateTransfersNoted {
        transfers: Vec<Transfer>,
        notes: EntryNotes,
    },
    LookupAccounts(Vec<u128>),
    LookupTransfers(Vec<u128>),
    /// The balance history of an account with the `history` flag.
    GetAccountBalances(AccountFilter),
    QueryAccounts(QueryFilter),
    StateHash,
}

/// Opaque notes about runs of a batch's transfers, each kept only if its whole run was created.
///
/// A note names a run of consecutive transfers of the batch (`first`, `count`; typically one
/// linked chain) and carries bytes that only the layer above understands (an event's body, its
/// template version). The engine never reads them. A durable writer writes the notes of the
/// runs in which every transfer was created into the batch's WAL record, so they are exactly as
/// durable, and as atomic, as the transfers they describe.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EntryNotes {
    /// The runs, in batch order, not overlapping.
    pub runs: Vec<NoteRun>,
    /// The runs' payloads back to back, in run order.
    pub bytes: Vec<u8>,
}

/// One note: a run of a batch's transfers and the length of its payload in `EntryNotes::bytes`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NoteRun {
    /// Index of the run's first transfer in the batch.
    pub first: u32,
    /// Transfers in the run (at least 1).
    pub count: u32,
    /// Payload bytes.
    pub len: u32,
}

impl EntryNotes {
    /// Appends a note for the run `first..first + count`; runs must come in batch order.
    pub fn push(&mut self, first: u32, count: u32, payload: &[u8]) {
        debug_assert!(count > 0, "a note names at least one transfer");
        debug_assert!(
            self.runs.last().is_none_or(|last| last.first + last.count <= first),
            "runs in batch order, not overlapping"
        );
        self.runs.push(NoteRun { first, count, len: u32::try_from(payload.len()).unwrap_or(u32::MAX) });
        self.bytes.extend_from_slice(payload);
    }

    /// Appends `other`'s notes, its runs moved by `offset` transfers (a batch merged behind
    /// this one's transfers).
    pub fn append_shifted(&mut self, other: &Self, offset: u32) {
        self.runs.extend(other.runs.iter().map(|run| NoteRun { first: run.first + offset, ..*run }));
        self.bytes.extend_from_slice(&other.bytes);
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    /// Each note's run and payload, in order.
    pub fn iter(&self) -> impl Iterator<Item = (NoteRun, &[u8])> + '_ {
        let mut offset = 0_usize;
        self.runs.iter().map(move |run| {
            let end = (offset + run.len as usize).min(self.bytes.len());
            let payload = &self.bytes[offset.min(end)..end];
            offset = end;
            (*run, payload)
        })
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum Reply {
    /// Failed events of a create batch, by index; timestamp of its last event.
    CreateAccounts {
        results: Vec<EventResult<CreateAccountResult>>,
        timestamp: u64,
    },
    CreateTransfers {
        results: Vec<EventResult<CreateTransferResult>>,
        timestamp: u64,
    },
    Accounts(Vec<Account>),
    Transfers(Vec<Transfer>),
    Balances(Vec<AccountBalance>),
    StateHash([u8; 32]),
    /// The batch was refused as a whole; nothing changed.
    Rejected(BatchError),
    /// The write was refused for now, with nothing changed (for example: the disk is full); the
    /// same request may succeed later.
    Unavailable(String),
    /// The writer hit an unrecoverable storage error after applying the batch and has stopped;
    /// the batch must be treated as not durable.
    Fatal(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WriterError {
    #[error("the writer queue is full ({WRITER_QUEUE_DEPTH} requests)")]
    QueueFull,
    #[error("the writer has stopped")]
    Stopped,
}

/// Where a reply goes: a channel for threads that wait, or a callback for everyone else (an
/// async server hands the reply to its runtime; a batcher splits a merged reply). A callback
/// runs on the writer's or the WAL thread, so it must be quick and must not block.
pub enum ReplyTo {
    Channel(Sender<Reply>),
    Callback(Box<dyn FnOnce(Reply) + Send>),
}

impl ReplyTo {
    /// Delivers the reply. A requester that gave up waiting loses only its answer.
    pub fn send(self, reply: Reply) {
        match self {
            Self::Channel(sender) => {
                let _ = sender.send(reply);
            }
            Self::Callback(callback) => callback(reply),
        }
    }
}

impl std::fmt::Debug for ReplyTo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Channel(_) => "ReplyTo::Channel",
            Self::Callback(_) => "ReplyTo::Callback",
        })
    }
}

/// One queued command and where its reply goes.
pub struct Request {
    pub command: Command,
    pub reply: ReplyTo,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request").field("command", &self.command).finish_non_exhaustive()
    }
}

/// The client side of a writer's bounded request queue, shared by the in-memory `Writer` and
/// the durable writer: submitting, back-pressure and the error when the writer is gone.
#[derive(Debug)]
pub struct RequestQueue {
    sender: Option<Sender<Request>>,
}

impl RequestQueue {
    /// A queue of `depth` requests and the receiving end for the writer thread.
    #[must_use]
    pub fn bounded(depth: usize) -> (Self, Receiver<Request>) {
        let (sender, receiver) = bounded(depth);
        (Self { sender: Some(sender) }, receiver)
    }

    /// Queues a command, waiting while the queue is full; the reply arrives on the receiver.
    pub fn submit(&self, command: Command) -> Result<Receiver<Reply>, WriterError> {
        let (reply, receiver) = bounded(1);
        self.submit_to(command, ReplyTo::Channel(reply))?;
        Ok(receiver)
    }

    /// Queues a command without waiting; `QueueFull` tells the caller to shed load.
    pub fn try_submit(&self, command: Command) -> Result<Receiver<Reply>, WriterError> {
        let (reply, receiver) = bounded(1);
        self.try_submit_to(command, ReplyTo::Channel(reply))?;
        Ok(receiver)
    }

    /// Queues a command whose reply goes to `reply`, waiting while the queue is full.
    pub fn submit_to(&self, command: Command, reply: ReplyTo) -> Result<(), WriterError> {
        let sender = self.sender.as_ref().ok_or(WriterError::Stopped)?;
        sender.send(Request { command, reply }).map_err(|_| WriterError::Stopped)
    }

    /// Queues a command whose reply goes to `reply`, without waiting.
    pub fn try_submit_to(&self, command: Command, reply: ReplyTo) -> Result<(), WriterError> {
        let sender = self.sender.as_ref().ok_or(WriterError::Stopped)?;
        sender.try_send(Request { command, reply }).map_err(|e| match e {
            TrySendError::Full(_) => WriterError::QueueFull,
            TrySendError::Disconnected(_) => WriterError::Stopped,
        })
    }

    /// Submits and waits for the reply.
    pub fn call(&self, command: Command) -> Result<Reply, WriterError> {
        self.submit(command)?.recv().map_err(|_| WriterError::Stopped)
    }

    /// Stops accepting requests: the writer sees the queue close once it has drained it.
    pub fn close(&mut self) {
        self.sender = None;
    }
}

/// Handle to the writer thread. Dropping the handle stops the thread after the queued work.
#[derive(Debug)]
pub struct Writer<S: TransferStore + Send + 'static = MemoryTransferStore> {
    queue: RequestQueue,
    thread: Option<JoinHandle<Ledger<S>>>,
}

impl<S: TransferStore + Send + 'static> Writer<S> {
    /// Starts the writer thread with `ledger` as its state.
    pub fn spawn(ledger: Ledger<S>, clock: impl Clock) -> std::io::Result<Self> {
        let (queue, receiver) = RequestQueue::bounded(WRITER_QUEUE_DEPTH);
        let thread = std::thread::Builder::new()
            .name("ledger-writer".into())
            .spawn(move || run(ledger, clock, &receiver))?;
        Ok(Self { queue, thread: Some(thread) })
    }

    /// Queues a command, waiting while the queue is full; the reply arrives on the receiver.
    pub fn submit(&self, command: Command) -> Result<Receiver<Reply>, WriterError> {
        self.queue.submit(command)
    }

    /// Queues a command without waiting; `QueueFull` tells the caller to shed load.
    pub fn try_submit(&self, command: Command) -> Result<Receiver<Reply>, WriterError> {
        self.queue.try_submit(command)
    }

    /// Submits and waits for the reply.
    pub fn call(&self, command: Command) -> Result<Reply, WriterError> {
        self.queue.call(command)
    }

    /// Stops accepting requests, lets the writer finish what is queued, and returns the state.
    pub fn shutdown(mut self) -> Option<Ledger<S>> {
        self.queue.close();
        self.thread.take().and_then(|t| t.join().ok())
    }
}

impl<S: TransferStore + Send + 'static> Drop for Writer<S> {
    fn drop(&mut self) {
        self.queue.close();
        if let Some(thread) = self.thread.take() {
            // A panicked writer has already reported itself; nothing more to do while dropping.
            let _ = thread.join();
        }
    }
}

fn run<S: TransferStore>(
    mut ledger: Ledger<S>,
    mut clock: impl Clock,
    receiver: &Receiver<Request>,
) -> Ledger<S> {
    let mut results = BatchResults::with_capacity(crate::limits::BATCH_EVENTS_MAX);
    loop {
        let wait = match ledger.next_expiry() {
            Some(deadline) => {
                let now = clock.now_ns();
                Duration::from_nanos(deadline.saturating_sub(now)).min(IDLE_WAKE_MAX)
            }
            None => IDLE_WAKE_MAX,
        };
        let request = match receiver.recv_timeout(wait) {
            Ok(request) => request,
            Err(RecvTimeoutError::Timeout) => {
                if ledger.next_expiry().is_some_and(|d| d <= clock.now_ns()) {
                    // A pulse only expires and cannot be refused: it has no events.
                    let _ = ledger.apply(clock.now_ns(), Events::Pulse, &mut results);
                }
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => return ledger,
        };
        let mut reply = execute(&mut ledger, &mut clock, request.command, &mut results);
        let fatal = match ledger.flush_transfer_store() {
            Ok(()) => None,
            Err(e) => Some(format!("writing transfer records failed: {e}")),
        };
        if let Some(message) = &fatal {
            reply = Reply::Fatal(message.clone());
        }
        // The requester may have given up waiting; its loss, the batch is applied either way.
        request.reply.send(reply);
        if fatal.is_some() {
            // Stop: nothing after a failed write can be trusted. Queued requests see `Stopped`.
            return ledger;
        }
    }
}

fn execute<S: TransferStore>(
    ledger: &mut Ledger<S>,
    clock: &mut impl Clock,
    command: Command,
    results: &mut BatchResults,
) -> Reply {
    match command {
        Command::CreateAccounts(accounts) => {
            match ledger.apply(clock.now_ns(), Events::CreateAccounts(&accounts), results) {
                Ok(()) => {
                    Reply::CreateAccounts { results: results.accounts.clone(), timestamp: results.timestamp }
                }
                Err(e) => Reply::Rejected(e),
            }
        }
        Command::CreateTransfers(transfers) | Command::CreateTransfersNoted { transfers, .. } => match ledger
            .apply(clock.now_ns(), Events::CreateTransfers(&transfers), results)
        {
            Ok(()) => {
                Reply::CreateTransfers { results: results.transfers.clone(), timestamp: results.timestamp }
            }
            Err(e) => Reply::Rejected(e),
        },
        read => match execute_read(ledger, &read) {
            Some(reply) => reply,
            None => unreachable!("create commands are handled above"),
        },
    }
}

/// Answers a read command from the writer's state; `None` for the create commands. Shared by
/// the in-memory and the durable writer. Every read is bounded (`BATCH_EVENTS_MAX` ids, or a
/// filter's limit), so serving it between batches keeps the writer's pauses short.
pub fn execute_read<S: TransferStore>(ledger: &Ledger<S>, command: &Command) -> Option<Reply> {
    Some(match command {
        Command::CreateAccounts(_) | Command::CreateTransfers(_) | Command::CreateTransfersNoted { .. } => {
            return None;
        }
        Command::LookupAccounts(ids) => {
            let mut out = Vec::with_capacity(ids.len());
            ledger.lookup_accounts(ids, &mut out);
            Reply::Accounts(out)
        }
        Command::LookupTransfers(ids) => {
            let mut out = Vec::with_capacity(ids.len());
            ledger.lookup_transfers(ids, &mut out);
            Reply::Transfers(out)
        }
        Command::GetAccountBalances(filter) => {
            let mut out = Vec::new();
            ledger.get_account_balances(filter, &mut out);
            Reply::Balances(out)
        }
        Command::QueryAccounts(filter) => {
            let mut out = Vec::new();
            ledger.query_accounts(filter, &mut out);
            Reply::Accounts(out)
        }
        Command::StateHash => Reply::StateHash(ledger.state_hash()),
    })
}
