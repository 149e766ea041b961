//! `ledger-protocol`: the binary wire protocol between clients and the ledger server
//! (`docs/protocol.md`). Pure encoding and decoding, no sockets and no runtime: the server and
//! the client own the I/O.
//!
//! Every frame is a 64-byte `Header` followed by a body of fixed-size records:
//!
//! - `header`: the frame header, its checksum and the frame limits.
//! - `operation`: what a request asks for, and its record sizes and counts.
//! - `status`: the status of a reply, and which statuses close the connection.
//! - `request`, `reply`: the bodies, `encode_*` and `decode_*`.
//! - `event_entries`: the length-prefixed JSON events of a `post_events` request.
//! - `journal_read`: the cursor, limit and wait of a `read_journal` request (the change feed).
//! - `error`: why a frame is refused, and the status that answers it.
//!
//! Reading a frame: read `HEADER_SIZE` bytes, `Header::decode` them (on error,
//! `HeaderError::status` says whether to answer, with `Header::identify` for the request id),
//! read `body_len` more bytes, then `decode_request` or `decode_reply`.

mod error;
mod event_entries;
mod frame;
pub mod header;
pub mod journal_read;
pub mod operation;
pub mod reply;
pub mod request;
pub mod status;

pub use error::FrameError;
pub use header::{
    BODY_MAX, FRAME_MAX, FrameKind, HEADER_SIZE, Header, HeaderError, HeaderIdentity, MAGIC,
    PROTOCOL_VERSION, checksum,
};
pub use journal_read::{JournalRead, READ_JOURNAL_WAIT_MS_MAX};
pub use operation::{EVENT_JSON_MAX, EVENT_LENGTH_SIZE, JOURNAL_READ_SIZE, Operation, TOKEN_MAX};
pub use reply::{EventCode, Reply, decode_reply, encode_error_reply, encode_reply};
pub use request::{Request, decode_request, encode_request};
pub use status::Status;
