//! Why a frame with a good header is refused, and the status the server answers it with.

use crate::header::FrameKind;
use crate::operation::Operation;
use crate::status::Status;

/// Why a frame whose header decoded is refused. `decode_request` and `decode_reply` check in the
/// order listed (the reply-only variants come last).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("expected a {expected:?} frame, got a {found:?}")]
    InvalidKind { expected: FrameKind, found: FrameKind },
    #[error("unsupported protocol version {found}")]
    UnsupportedVersion { found: u16 },
    #[error("unknown operation {found}")]
    UnknownOperation { found: u8 },
    /// Requests carry status 0; the field is reserved in that direction.
    #[error("a request carries status {found} (must be 0)")]
    StatusInRequest { found: u16 },
    /// The caller passed a body slice that is not `body_len` bytes long.
    #[error("body is {received} bytes, the header says {body_len}")]
    BodyLengthMismatch { body_len: u32, received: usize },
    #[error("{operation}: {event_count} events, at most {events_max} allowed")]
    TooManyEvents { operation: Operation, event_count: u32, events_max: usize },
    /// For `post_events`: the entries do not exactly fill the body (a length prefix or an event
    /// runs past its end, or bytes are left after the last event).
    #[error("{operation}: body_len {body_len} does not fit event_count {event_count}")]
    BodySizeMismatch { operation: Operation, event_count: u32, body_len: u32 },
    /// A `post_events` event longer than `EVENT_JSON_MAX`. Checked after the body checksum (the
    /// length is read from the body); answered `body_size_mismatch`.
    #[error("post_events: event {index} is {len} bytes, at most {max} allowed")]
    EventTooLong { index: u32, len: usize, max: usize },
    /// Only from `Request::check_limits`: the encoded body would be larger than `BODY_MAX`, which
    /// the server refuses from the header alone (and then closes the connection).
    #[error("{operation}: the body would be {body_len} bytes, at most {body_max} allowed")]
    BodyTooLarge { operation: Operation, body_len: usize, body_max: usize },
    #[error("body checksum mismatch: header says {expected:#010x}, body has {found:#010x}")]
    BodyChecksumMismatch { expected: u32, found: u32 },
    /// A reply with a status this build does not know (a newer server).
    #[error("unknown reply status {found}")]
    UnknownStatus { found: u16 },
    #[error("a {status} reply carries a body ({body_len} bytes, {event_count} events)")]
    ErrorReplyWithBody { status: Status, body_len: u32, event_count: u32 },
    /// A result code this build does not know (a newer server).
    #[error("{operation}: unknown result code {code} for event {index}")]
    UnknownResultCode { operation: Operation, index: u32, code: u32 },
    /// Failed events are listed in request order, each once.
    #[error("result for event {index} follows the result for event {previous}")]
    ResultsOutOfOrder { index: u32, previous: u32 },
    /// A `post_events` result for an event that no request can hold (`index >= events_max`).
    #[error("result for event {index}, past the largest batch of {events_max} events")]
    ResultIndexOutOfRange { index: u32, events_max: usize },
}

impl FrameError {
    /// The status the server answers a refused request with. Errors only a reply can have map to
    /// the status of the nearest fault in a request (an unknown code means the peer speaks a
    /// newer protocol; a malformed result list means a malformed body); the server never sends
    /// those.
    #[must_use]
    pub const fn status(&self) -> Status {
        match self {
            Self::InvalidKind { .. } => Status::InvalidKind,
            Self::UnsupportedVersion { .. } | Self::UnknownStatus { .. } | Self::UnknownResultCode { .. } => {
                Status::UnsupportedVersion
            }
            Self::UnknownOperation { .. } => Status::UnknownOperation,
            Self::StatusInRequest { .. } => Status::ReservedBytesSet,
            Self::BodyLengthMismatch { .. }
            | Self::BodySizeMismatch { .. }
            | Self::EventTooLong { .. }
            | Self::ErrorReplyWithBody { .. }
            | Self::ResultsOutOfOrder { .. }
            | Self::ResultIndexOutOfRange { .. } => Status::BodySizeMismatch,
            Self::BodyTooLarge { .. } => Status::FrameTooLarge,
            Self::TooManyEvents { .. } => Status::TooManyEvents,
            Self::BodyChecksumMismatch { .. } => Status::BodyChecksumMismatch,
        }
    }
}
