//! Errors of the WAL. Corruption variants name the segment file, the byte offset of the record in
//! it and the op that was expected there, so that an operator can find the damage.
//!
//! `WalError` is `Clone` (I/O errors are shared behind `Arc`) because a failed writer hands out
//! the same fatal error to every later call.

use super::record::HeaderError;
use std::sync::Arc;

#[derive(Clone, Debug, thiserror::Error)]
pub enum WalError {
    // Operating errors.
    #[error("I/O error while trying to {action}{}: {source}", in_segment(.segment.as_deref()))]
    Io { action: &'static str, segment: Option<String>, source: Arc<std::io::Error> },
    #[error("out of space: cannot preallocate {bytes} bytes for WAL segment {segment}: {source}")]
    OutOfSpace { segment: String, bytes: u64, source: Arc<std::io::Error> },
    #[error("the WAL directory already holds segments; use recovery and `resume`, not `create`")]
    NotEmpty,
    #[error("invalid WAL configuration: {reason}")]
    InvalidConfig { reason: String },
    #[error("invalid group for the WAL writer: {reason}")]
    InvalidGroup { reason: String },
    #[error("replaying op {op} failed: {source}")]
    Replay { op: u64, source: Arc<dyn std::error::Error + Send + Sync> },

    // Corruption: fatal, never skipped.
    #[error("WAL file {name:?} is not a segment name (20 digits of the first op, then .wal)")]
    BadSegmentName { name: String },
    #[error("invalid record header in segment {segment} at offset {offset} (expected op {op}): {source}")]
    BadHeader { segment: String, offset: u64, op: u64, source: HeaderError },
    #[error(
        "body checksum mismatch in segment {segment} at offset {offset}, op {op}: header says \
         {expected:#010x}, body has {found:#010x}"
    )]
    ChecksumMismatch { segment: String, offset: u64, op: u64, expected: u32, found: u32 },
    #[error(
        "short record in segment {segment} at offset {offset} (expected op {op}): needs {needed} bytes, \
         the file ends at {file_len}"
    )]
    ShortRecord { segment: String, offset: u64, op: u64, needed: u64, file_len: u64 },
    #[error(
        "op out of sequence in segment {segment} at offset {offset}: expected op {expected}, found {found}"
    )]
    OpOutOfSequence { segment: String, offset: u64, expected: u64, found: u64 },
    #[error(
        "hash chain broken in segment {segment} at offset {offset}, op {op}: prev_checksum is {found:#010x}, \
         the previous record's checksum is {expected:#010x}"
    )]
    ChainBroken { segment: String, offset: u64, op: u64, expected: u32, found: u32 },
    #[error("segment {segment} is named for op {named_op} but the log continues at op {expected_op}")]
    SegmentMisnamed { segment: String, named_op: u64, expected_op: u64 },
    #[error("segment {segment} holds no records but is not the last segment")]
    EmptySegment { segment: String },
    #[error(
        "non-zero bytes in segment {segment} at offset {offset} after its last record (op {op}); only the \
         last segment may have a torn tail"
    )]
    GarbageAfterEnd { segment: String, offset: u64, op: u64 },
    #[error(
        "valid record header for op {found_op} in segment {segment} at offset {found_offset}, more than the \
         group window past the invalid record at offset {offset} (expected op {op}): damage in the middle \
         of the log, not a torn tail"
    )]
    RecordAfterTornTail { segment: String, offset: u64, op: u64, found_offset: u64, found_op: u64 },
    #[error("the WAL starts at op {first_op} (segment {segment}), after op {needed_op} that recovery needs")]
    LogStartsTooLate { segment: String, first_op: u64, needed_op: u64 },
    #[error("the WAL ends at op {last_op} but recovery starts from op {from_op}")]
    LogEndsTooEarly { last_op: u64, from_op: u64 },
    #[error(
        "the record checksum at op {op} is {found:#010x} in the WAL but {expected:#010x} in the recovery \
         starting point (snapshot)"
    )]
    AnchorMismatch { op: u64, expected: u32, found: u32 },
}

fn in_segment(segment: Option<&str>) -> String {
    segment.map(|s| format!(" (segment {s})")).unwrap_or_default()
}

impl WalError {
    pub(crate) fn io(action: &'static str, segment: Option<&str>, source: std::io::Error) -> Self {
        Self::Io { action, segment: segment.map(str::to_owned), source: Arc::new(source) }
    }

    /// True for damage found in the files (as opposed to I/O failures and API misuse).
    #[must_use]
    pub fn is_corruption(&self) -> bool {
        !matches!(
            self,
            Self::Io { .. }
                | Self::OutOfSpace { .. }
                | Self::NotEmpty
                | Self::InvalidConfig { .. }
                | Self::InvalidGroup { .. }
                | Self::Replay { .. }
        )
    }
}
