//! Segment files: names, listing, and the size a new segment is preallocated to.
//!
//! A segment is named after the op of its first record, zero-padded to 20 digits (the width of
//! `u64::MAX`) so that lexical order is op order: `00000000000000000001.wal`. It is preallocated
//! to `WalConfig::segment_size` bytes of zeros; records fill it from offset 0 and the zeros after
//! the last record mark its end.

use super::error::WalError;
use super::record::RECORD_BYTES_MAX;
use crate::storage::Storage;

pub const SEGMENT_SUFFIX: &str = ".wal";
pub const SEGMENT_NAME_DIGITS: usize = 20;
const _: () = assert!(u64::MAX.ilog10() as usize + 1 == SEGMENT_NAME_DIGITS);

/// Default preallocated segment size: 64 MiB.
pub const SEGMENT_SIZE_DEFAULT: u64 = 64 * 1024 * 1024;
/// A segment holds at least one largest record; smaller sizes are only useful in tests, which
/// may go down to `SEGMENT_SIZE_MIN`.
pub const SEGMENT_SIZE_MIN: u64 = 4096;
const _: () = assert!(SEGMENT_SIZE_DEFAULT >= RECORD_BYTES_MAX);

/// The name of the segment whose first record has op `first_op`.
#[must_use]
pub fn segment_name(first_op: u64) -> String {
    format!("{first_op:0width$}{SEGMENT_SUFFIX}", width = SEGMENT_NAME_DIGITS)
}

/// The first op of a segment name; `None` if the name is not exactly 20 digits plus `.wal`.
#[must_use]
pub fn parse_segment_name(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(SEGMENT_SUFFIX)?;
    if digits.len() != SEGMENT_NAME_DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let op = digits.parse::<u64>().ok()?;
    (op > 0).then_some(op)
}

/// One segment file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SegmentInfo {
    pub name: String,
    pub first_op: u64,
}

/// The segments of a WAL directory in op order. Files not ending in `.wal` are ignored (the
/// directory may hold temporary files of tools); a `.wal` file with any other name is an error,
/// so that a mistyped or foreign segment is never silently skipped.
pub fn list_segments<S: Storage>(storage: &S) -> Result<Vec<SegmentInfo>, WalError> {
    let names = storage.list().map_err(|e| WalError::io("list the WAL directory", None, e))?;
    let mut segments = Vec::new();
    for name in names {
        if !name.ends_with(SEGMENT_SUFFIX) {
            continue;
        }
        let Some(first_op) = parse_segment_name(&name) else {
            return Err(WalError::BadSegmentName { name });
        };
        segments.push(SegmentInfo { name, first_op });
    }
    segments.sort_by_key(|s| s.first_op);
    Ok(segments)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_sort_in_op_order_and_parse_back() {
        let ops = [1_u64, 9, 10, 99, 100, 12_345, u64::MAX];
        let names: Vec<String> = ops.iter().map(|&op| segment_name(op)).collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
        assert_eq!(names[0], "00000000000000000001.wal");
        for (op, name) in ops.iter().zip(&names) {
            assert_eq!(parse_segment_name(name), Some(*op));
        }
    }

    #[test]
    fn malformed_names_do_not_parse() {
        for name in [
            "1.wal",
            "0000000000000000001.wal",
            "00000000000000000000.wal",
            "+0000000000000000001.wal",
            "00000000000000000001.wa",
            "99999999999999999999.wal",
        ] {
            assert_eq!(parse_segment_name(name), None, "{name}");
        }
    }
}
