//! The write-ahead log: every committed batch, as a checksummed, hash-chained record, in
//! preallocated segment files (byte layout and rules in `docs/formats.md`, "WAL").
//!
//! - `record`: one record (header layout, encoder, validating decoder).
//! - `segment`: segment file names and listing.
//! - `writer`: appending groups of records with one write and one `fdatasync` each.
//! - `recovery`: reading the log back, the torn-tail rule, and `verify`.
//! - `error`: what can go wrong, with the segment, offset and op of any damage.

pub mod error;
pub mod record;
pub mod recovery;
pub mod segment;
pub mod writer;

pub use error::WalError;
pub use record::{
    HeaderError, Operation, RECORD_BYTES_MAX, RECORD_HEADER_SIZE, RECORD_NOTES_BYTES_MAX, RecordFields,
    RecordHeader, begin_record, encode, finish_record, record_len_of,
};
pub use recovery::{LogPosition, RecoveryEnd, TornTail, VerifyReport, recover, verify};
pub use segment::{SEGMENT_SIZE_DEFAULT, SegmentInfo, segment_name};
pub use writer::{GROUP_BYTES_MAX, WalConfig, WalWriter};
