//! Entry notes on disk: the notes section of a `create_transfers` WAL record (after the
//! events, `docs/formats.md`) and of a `journal.log` record (`journal_log.rs`).
//!
//! A note describes a run of the batch's transfers (one standard ledger event's linked chain)
//! with bytes only the layer above reads (`ledger_core::writer::EntryNotes`). Only the notes of
//! runs that were created are written: a batch's failed chain leaves no note.
//!
//! Byte layout of one note (little-endian), notes back to back without padding:
//!
//! ```text
//! offset  size  field    type
//!      0     4  first    u32   index of the run's first transfer in the batch
//!      4     4  count    u32   transfers in the run (>= 1)
//!      8     4  len      u32   payload bytes
//!     12   len  payload
//! ```
//!
//! Runs are in batch order and do not overlap, and lie inside the batch's `event_count`
//! transfers; a decoder checks all of it before handing out a payload.

use ledger_core::EventResult;
use ledger_core::writer::EntryNotes;

pub const NOTE_FIRST_OFFSET: usize = 0;
pub const NOTE_COUNT_OFFSET: usize = 4;
pub const NOTE_LEN_OFFSET: usize = 8;
pub const NOTE_HEAD_SIZE: usize = 12;
const _: () = assert!(NOTE_LEN_OFFSET + 4 == NOTE_HEAD_SIZE);

/// One decoded note.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Note<'a> {
    /// Index of the run's first transfer in its batch.
    pub first: u32,
    /// Transfers in the run.
    pub count: u32,
    pub payload: &'a [u8],
}

/// Why a notes section is malformed (a writer bug or damage the checksums did not catch).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NotesError {
    #[error("notes section cut short at byte {offset}")]
    Truncated { offset: usize },
    #[error(
        "note at byte {offset}: run {first}+{count} is empty, out of order or beyond the batch of {event_count}"
    )]
    BadRun { offset: usize, first: u32, count: u32, event_count: u32 },
}

/// Appends the notes whose runs hold no failed transfer to `out`; returns the bytes appended.
/// `failed` are a batch's failed events in index order (as `apply` reports them).
pub fn encode_created<R>(out: &mut Vec<u8>, notes: &EntryNotes, failed: &[EventResult<R>]) -> usize {
    let start = out.len();
    let mut failed = failed.iter().map(|r| r.index).peekable();
    for (run, payload) in notes.iter() {
        let end = run.first + run.count;
        while failed.next_if(|&index| index < run.first).is_some() {}
        if failed.peek().is_some_and(|&index| index < end) {
            continue;
        }
        out.extend_from_slice(&run.first.to_le_bytes());
        out.extend_from_slice(&run.count.to_le_bytes());
        out.extend_from_slice(&u32::try_from(payload.len()).unwrap_or(u32::MAX).to_le_bytes());
        out.extend_from_slice(payload);
    }
    out.len() - start
}

/// The notes of a section, validated against a batch of `event_count` transfers.
pub fn decode(section: &[u8], event_count: u32) -> Result<Vec<Note<'_>>, NotesError> {
    let mut notes = Vec::new();
    let mut offset = 0_usize;
    let mut next_free = 0_u64;
    while offset < section.len() {
        let Some(head) = section.get(offset..offset + NOTE_HEAD_SIZE) else {
            return Err(NotesError::Truncated { offset });
        };
        let first = read_u32(head, NOTE_FIRST_OFFSET);
        let count = read_u32(head, NOTE_COUNT_OFFSET);
        let len = read_u32(head, NOTE_LEN_OFFSET) as usize;
        let end = u64::from(first) + u64::from(count);
        if count == 0 || u64::from(first) < next_free || end > u64::from(event_count) {
            return Err(NotesError::BadRun { offset, first, count, event_count });
        }
        let payload_start = offset + NOTE_HEAD_SIZE;
        let Some(payload) = section.get(payload_start..payload_start.saturating_add(len)) else {
            return Err(NotesError::Truncated { offset });
        };
        notes.push(Note { first, count, payload });
        next_free = end;
        offset = payload_start + len;
    }
    Ok(notes)
}

fn read_u32(bytes: &[u8], offset: usize) -> u32 {
    let mut x = [0_u8; 4];
    x.copy_from_slice(&bytes[offset..offset + 4]);
    u32::from_le_bytes(x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ledger_core::CreateTransferResult;

    fn notes() -> EntryNotes {
        let mut notes = EntryNotes::default();
        notes.push(0, 3, b"event A");
        notes.push(3, 1, b"");
        notes.push(5, 2, b"event C");
        notes
    }

    fn failed(index: u32) -> EventResult<CreateTransferResult> {
        EventResult { index, result: CreateTransferResult::LinkedEventFailed }
    }

    #[test]
    fn only_runs_without_a_failed_transfer_are_written() {
        let mut out = Vec::new();
        let written = encode_created::<CreateTransferResult>(&mut out, &notes(), &[]);
        assert_eq!(written, out.len());
        let all = decode(&out, 7).expect("valid");
        assert_eq!(all.len(), 3);
        assert_eq!((all[0].first, all[0].count, all[0].payload), (0, 3, &b"event A"[..]));
        assert_eq!((all[1].first, all[1].count, all[1].payload), (3, 1, &b""[..]));

        // A failure inside run A and one outside every run (index 4).
        let mut out = Vec::new();
        encode_created(&mut out, &notes(), &[failed(1), failed(2), failed(4)]);
        let kept = decode(&out, 7).expect("valid");
        let firsts: Vec<u32> = kept.iter().map(|n| n.first).collect();
        assert_eq!(firsts, [3, 5]);
        // The last transfer of the last run failed.
        let mut out = Vec::new();
        encode_created(&mut out, &notes(), &[failed(6)]);
        assert_eq!(decode(&out, 7).expect("valid").len(), 2);
    }

    #[test]
    fn malformed_sections_are_refused() {
        let mut out = Vec::new();
        encode_created::<CreateTransferResult>(&mut out, &notes(), &[]);
        assert!(matches!(decode(&out, 6), Err(NotesError::BadRun { first: 5, .. })), "beyond the batch");
        for cut in [1, NOTE_HEAD_SIZE + 2, out.len() - 1] {
            assert!(matches!(decode(&out[..cut], 7), Err(NotesError::Truncated { .. })), "cut at {cut}");
        }
        let mut overlapping = EntryNotes::default();
        overlapping.runs.push(ledger_core::writer::NoteRun { first: 2, count: 2, len: 0 });
        overlapping.runs.push(ledger_core::writer::NoteRun { first: 3, count: 1, len: 0 });
        let mut out = Vec::new();
        encode_created::<CreateTransferResult>(&mut out, &overlapping, &[]);
        assert!(matches!(decode(&out, 7), Err(NotesError::BadRun { first: 3, .. })));
        let mut empty_run = Vec::new();
        empty_run.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert!(matches!(decode(&empty_run, 7), Err(NotesError::BadRun { count: 0, .. })));
        assert_eq!(decode(&[], 0), Ok(Vec::new()));
    }
}
