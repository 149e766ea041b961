//! Why a client call failed.
//!
//! Per-event outcomes (`exceeds_credits`, `exists`, ...) are not errors: they come back as
//! `EventResult`s. A `ClientError` means the call as a whole has no answer, or a wrong one.

use ledger_protocol::{FrameError, Status};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The first connection could not be made (`Client::connect` does not retry).
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    /// The connection failed while the request was in flight and `reconnect` is off.
    #[error("connection to the server failed: {0}")]
    Io(#[source] std::io::Error),
    /// The server's reply could not be decoded.
    #[error("malformed reply: {0}")]
    Protocol(#[from] FrameError),
    /// The byte stream from the server stopped making sense (bad header, oversized frame); the
    /// connection was dropped. Not retried: the same server would do the same again.
    #[error("malformed frame from the server: {0}")]
    Framing(String),
    /// The server refused the request with a status that a retry would not change
    /// (`server_failed`, `unauthorized`, ...), or with a retryable one while `reconnect` is off.
    #[error("the server answered {}", .0.name())]
    Status(Status),
    /// A `read_journal` page that is not the JSON the protocol describes, or whose cursors do
    /// not move forward from the request's (`docs/protocol.md`, "read_journal").
    #[error("malformed journal page: {0}")]
    MalformedJournal(String),
    /// The server answered with a reply of another operation.
    #[error("the server answered {operation} with a reply of another kind")]
    UnexpectedReply { operation: &'static str },
    /// A create reply named an event index outside the request.
    #[error("the server named event {index} in a request of {events} events")]
    ResultIndexOutOfRange { index: u32, events: usize },
    /// No reply within `request_timeout` of the request's first send, while the server was
    /// reachable. The request may or may not have been applied: retry it (with the same ids).
    #[error("no reply within {0:?}")]
    Timeout(Duration),
    /// The server stayed unreachable (or kept answering `unavailable`/`overloaded`/
    /// `shutting_down`) until `request_timeout` ran out. Requests sent before the outage may
    /// have been applied: retry them (with the same ids).
    #[error("gave up on {addr} after {attempts} attempts over {waited:?}; last: {last_error}")]
    GaveUp { addr: String, attempts: u32, waited: Duration, last_error: String },
    /// One linked chain has more events than a request may hold, so it cannot be applied
    /// atomically. Nothing of the call was sent.
    #[error("the linked chain at event {start} has {len} events; a request holds at most {max}")]
    ChainTooLong { start: usize, len: usize, max: usize },
    /// One `post_events` event is longer than the protocol allows (`EVENT_JSON_MAX`). Nothing of
    /// the call was sent.
    #[error("event {index} has {len} bytes; an event has at most {max}")]
    EventTooLong { index: usize, len: usize, max: usize },
    /// The auth token is longer than the protocol allows.
    #[error("the auth token has {len} bytes; at most {max} are allowed")]
    TokenTooLong { len: usize, max: usize },
    /// The configuration is unusable (e.g. `max_in_flight` out of range).
    #[error("invalid client configuration: {0}")]
    Config(&'static str),
    /// `Client::close` was called.
    #[error("the client is closed")]
    Closed,
}

impl ClientError {
    /// Whether the call may have had an effect on the server that the caller did not see, so
    /// that it should be retried with the same ids before anything that depends on it.
    #[must_use]
    pub fn outcome_unknown(&self) -> bool {
        matches!(self, Self::Io(_) | Self::Timeout(_) | Self::GaveUp { .. } | Self::Closed)
    }
}
