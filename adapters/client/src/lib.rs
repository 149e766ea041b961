//! `ledger-client`: the async Rust client for the ledger's binary protocol (`docs/protocol.md`).
//!
//! ```no_run
//! # async fn example() -> Result<(), ledger_client::ClientError> {
//! use ledger_client::{Client, ClientConfig};
//! use ledger_core::{Account, AccountFlags};
//!
//! let client = Client::connect(ClientConfig::new("127.0.0.1:3001")).await?;
//! let cash = Account { id: 1, ledger: 156, code: 1001, ..Account::default() };
//! let receivable = Account {
//!     id: 2,
//!     ledger: 156,
//!     code: 1201,
//!     flags: AccountFlags::CREDITS_MUST_NOT_EXCEED_DEBITS,
//!     ..Account::default()
//! };
//! let failed = client.create_accounts(&[cash, receivable]).await?;
//! assert!(failed.is_empty(), "every account was created");
//! # Ok(())
//! # }
//! ```
//!
//! # Shape
//! - One TCP connection per `Client`, shared by all clones and tasks. A writer task writes
//!   request frames in order; a reader task matches replies to requests by `request_id`, in
//!   whatever order the server answers. At most `max_in_flight` requests are in flight at once;
//!   callers beyond that wait for a slot.
//! - **Batching.** `create_*`, `lookup_*` and `post_events` take any number of events. The client splits them
//!   into requests of at most `BATCH_EVENTS_MAX`, only between linked chains (a chain longer than
//!   a request is refused with `ChainTooLong` before anything is sent), sends them pipelined in
//!   order, and returns the results re-based to the caller's indexes, in order. As in the
//!   protocol, a create returns only the events that failed. `post_events` splits by count and by
//!   bytes (`BODY_MAX`), never inside an event, and returns the raw outcome codes of the events
//!   that were not `ok`.
//! - **Order.** The requests of one call are written in order on one connection, and the server
//!   applies one connection's requests in the order it reads them. A retry resends the
//!   unanswered requests in their original order. One exception: if the server refuses a request
//!   with `overloaded` while a later one of the same call was already in flight, the later one
//!   may be applied first. A chain is never split, so each chain stays atomic; events that
//!   depend on each other across chains (create a pending transfer, then post it) belong in one
//!   chain or in separate calls.
//!
//! # Retries, and what `exists` means after one
//! When the connection drops, or the server answers `unavailable`, `overloaded` or
//! `shutting_down`, the client reconnects with exponential backoff and resends the *same bytes*
//! (same event ids, same request id) until the request has been unanswered for
//! `request_timeout`; then the call fails with `GaveUp` (or `Timeout` if the server was
//! reachable but silent). `server_failed`, `unauthorized` and other statuses are not retried.
//!
//! A request whose connection dropped may or may not have been applied. Resending it is safe
//! because the ledger accepts an id once, forever:
//! - **`exists`** after a retry means the event is in the ledger *with exactly these fields*:
//!   usually the earlier attempt applied it and only its reply was lost. Treat it as `ok`. (It
//!   cannot tell "applied by the earlier attempt" from "applied by some earlier call with the
//!   same id and fields"; both mean the ledger holds this event once.)
//! - **A linked chain** applied by the earlier attempt answers `exists` on its *first* member and
//!   `linked_event_failed` on all the others: inside a chain the engine counts `exists` as a
//!   failing member and stops there, as TigerBeetle does. Chains are atomic, so that answer
//!   means the whole chain is in the ledger. (`exists` on a later member with
//!   `linked_event_failed` on the first means the opposite: the first member was new, and
//!   nothing of the chain was applied.)
//! - **`id_already_failed`** (transfers) after a retry means the earlier attempt failed for a
//!   transient reason (`exceeds_credits`, `debit_account_not_found`, ...) and burnt the id; the
//!   original code was in the lost reply. The transfer was *not* applied; resubmit it under a
//!   new id if it should still happen.
//! - Any other code is what the event itself earned.
//!
//! If the call fails with `Timeout`, `GaveUp`, `Io` or `Closed` (`ClientError::outcome_unknown`),
//! call again with the same events: the answers above say what had been applied.
//!
//! # The change feed
//! `read_journal(after, limit, wait)` reads one page of posted journal entries after a cursor,
//! waiting on the server for new ones; `JournalFollower` keeps the cursor and yields entries one
//! by one, in commit order, each exactly once:
//!
//! ```no_run
//! # async fn example(client: ledger_client::Client, stored_cursor: u64) -> Result<(), ledger_client::ClientError> {
//! use ledger_client::JournalFollower;
//!
//! let mut follower = JournalFollower::new(client, stored_cursor);
//! loop {
//!     let entry = follower.next().await?;
//!     // Apply `entry.json`, then store `entry.cursor` with the result: a follower built with
//!     // it after a restart resumes right after this entry.
//! #   let _ = entry;
//! }
//! # }
//! ```

mod batching;
mod client;
mod config;
mod connection;
mod error;
mod journal;

pub use client::Client;
pub use config::{Backoff, ClientConfig, MAX_IN_FLIGHT_DEFAULT, MAX_IN_FLIGHT_LIMIT};
pub use error::ClientError;
pub use journal::{FOLLOW_LIMIT_DEFAULT, FOLLOW_WAIT_DEFAULT, JournalEntry, JournalFollower, JournalPage};
pub use ledger_core::{
    Account, AccountBalance, AccountFilter, AccountFlags, BATCH_EVENTS_MAX, CreateAccountResult,
    CreateTransferResult, EventResult, QueryFilter, Transfer, TransferFlags,
};
pub use ledger_protocol::{EVENT_JSON_MAX, EventCode, READ_JOURNAL_WAIT_MS_MAX, Status};
