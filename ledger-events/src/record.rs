//! `EventNote`: what the ledger records of a posted event beside its transfers. The transfers
//! carry the amounts, accounts, business date and body hash; the note carries the rest of the
//! fact as it was posted (event id and type, subjects, components, metadata, the reversed event)
//! and the chart version whose templates made the entry. The server hands the encoded note to
//! the writer with the event's chain (`ledger_core::writer::EntryNotes`); the WAL and
//! `journal.log` keep it exactly as durable as the chain. Readers (journal views, change feed,
//! exports) decode it.
//!
//! Byte layout (little-endian; `str` = u16 byte length + UTF-8 bytes):
//!
//! ```text
//! offset  size  field            type
//!      0     1  format           u8    NOTE_FORMAT (1)
//!      1     1  side             u8    0 entry, 1 reversal
//!      2     4  chart_version    u32   the chart's `version` when the entry was planned
//!      6     4  ledger           u32
//!     10     4  business_date    u32   YYYYMMDD
//!     14     …  event_id         str
//!      …     …  event_type       str   "reversal" for a reversal
//!      …     …  reverses         str   empty for an entry
//!      …     1  subject count    u8,   then that many (key str, value str)
//!      …     1  component count  u8,   then that many (name str, decimal amount str)
//!      …     …  metadata         u32 length + canonical JSON object text (keys sorted)
//! ```

use crate::business_date::BusinessDate;
use crate::event::{REVERSAL_EVENT_TYPE, WireEvent, WireEventRef};
use crate::posting::EntrySide;

pub const NOTE_FORMAT: u8 = 1;
/// The largest note an event may make (its ids, subjects, components and metadata): an event
/// that would need more is refused as `event_too_large`, so that a batch's notes always fit a
/// WAL record.
pub const EVENT_NOTE_BYTES_MAX: usize = 16 * 1024;

/// A posted event as the ledger recorded it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventNote {
    pub side: EntrySide,
    pub chart_version: u32,
    pub ledger: u32,
    pub business_date: BusinessDate,
    pub event_id: String,
    /// The template's event type; `reversal` for a reversal.
    pub event_type: String,
    /// For a reversal: the event id it reverses.
    pub reverses: Option<String>,
    pub subjects: Vec<(String, String)>,
    /// Component → the amount as posted (a decimal string in major units).
    pub components: Vec<(String, String)>,
    /// The metadata object as canonical JSON text (`{}` when none).
    pub metadata: String,
}

/// Why bytes are not an event note (damage, or a note of a newer format).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    #[error("unknown note format {0}")]
    UnknownFormat(u8),
    #[error("note cut short")]
    Truncated,
    #[error("note field is not UTF-8")]
    NotUtf8,
    #[error("invalid side or business date")]
    InvalidField,
    #[error("bytes after the note")]
    Trailing,
}

impl EventNote {
    /// The note of `event`, planned with a chart of `chart_version`.
    #[must_use]
    pub fn of(event: &WireEvent, chart_version: u32) -> Self {
        match event {
            WireEvent::Entry(e) => Self {
                side: EntrySide::Original,
                chart_version,
                ledger: e.ledger,
                business_date: e.business_date,
                event_id: e.event_id.clone(),
                event_type: e.event_type.clone(),
                reverses: None,
                subjects: e.subjects.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
                components: e.components.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
                metadata: serde_json::to_string(&e.metadata).unwrap_or_else(|_| "{}".to_owned()),
            },
            WireEvent::Reversal(r) => Self {
                side: EntrySide::Reversal,
                chart_version,
                ledger: r.ledger,
                business_date: r.business_date,
                event_id: r.event_id.clone(),
                event_type: REVERSAL_EVENT_TYPE.to_owned(),
                reverses: Some(r.reverses.clone()),
                subjects: Vec::new(),
                components: Vec::new(),
                metadata: serde_json::to_string(&r.metadata).unwrap_or_else(|_| "{}".to_owned()),
            },
        }
    }

    /// Appends the encoded note to `out`; `false` (and `out` unchanged) if it would be larger
    /// than `EVENT_NOTE_BYTES_MAX` or a field is longer than its length prefix allows.
    pub fn encode(&self, out: &mut Vec<u8>) -> bool {
        let subjects = self.subjects.iter().map(|(k, v)| (k.as_str(), v.as_str()));
        let components = self.components.iter().map(|(k, v)| (k.as_str(), v.as_str()));
        let head = NoteHead {
            side: self.side,
            chart_version: self.chart_version,
            ledger: self.ledger,
            business_date: self.business_date,
            event_id: &self.event_id,
            event_type: &self.event_type,
            reverses: self.reverses.as_deref().unwrap_or(""),
        };
        encode_parts(out, &head, subjects, components, &self.metadata)
    }
    /// Decodes a whole note.
    pub fn decode(bytes: &[u8]) -> Result<Self, NoteError> {
        let mut r = Reader { bytes, at: 0 };
        let format = r.u8()?;
        if format != NOTE_FORMAT {
            return Err(NoteError::UnknownFormat(format));
        }
        let side = match r.u8()? {
            0 => EntrySide::Original,
            1 => EntrySide::Reversal,
            _ => return Err(NoteError::InvalidField),
        };
        let chart_version = r.u32()?;
        let ledger = r.u32()?;
        let business_date =
            BusinessDate::from_yyyymmdd(u64::from(r.u32()?)).ok_or(NoteError::InvalidField)?;
        let event_id = r.str()?;
        let event_type = r.str()?;
        let reverses = Some(r.str()?).filter(|s| !s.is_empty());
        let mut pairs = [Vec::new(), Vec::new()];
        for list in &mut pairs {
            let count = r.u8()?;
            for _ in 0..count {
                list.push((r.str()?, r.str()?));
            }
        }
        let [subjects, components] = pairs;
        let metadata_len = r.u32()? as usize;
        let metadata = r.text(metadata_len)?;
        if r.at != bytes.len() {
            return Err(NoteError::Trailing);
        }
        Ok(Self {
            side,
            chart_version,
            ledger,
            business_date,
            event_id,
            event_type,
            reverses,
            subjects,
            components,
            metadata,
        })
    }

    /// The subject value of `key`, if the event named it.
    #[must_use]
    pub fn subject(&self, key: &str) -> Option<&str> {
        self.subjects.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

/// Appends the note of `event` (parsed borrowing its line, the server's path), planned with a
/// chart of `chart_version`, to `out` without building an `EventNote` first; `false` as for
/// `EventNote::encode`.
pub fn encode_event_ref(event: &WireEventRef<'_>, chart_version: u32, out: &mut Vec<u8>) -> bool {
    let metadata_json = |metadata: &std::collections::BTreeMap<String, serde_json::Value>| {
        if metadata.is_empty() {
            std::borrow::Cow::Borrowed("{}")
        } else {
            std::borrow::Cow::Owned(serde_json::to_string(metadata).unwrap_or_else(|_| "{}".to_owned()))
        }
    };
    match event {
        WireEventRef::Entry(e) => {
            let head = NoteHead {
                side: EntrySide::Original,
                chart_version,
                ledger: e.ledger,
                business_date: e.business_date,
                event_id: &e.event_id,
                event_type: &e.event_type,
                reverses: "",
            };
            encode_parts(out, &head, e.subjects(), e.components(), &metadata_json(&e.metadata))
        }
        WireEventRef::Reversal(r) => {
            let head = NoteHead {
                side: EntrySide::Reversal,
                chart_version,
                ledger: r.ledger,
                business_date: r.business_date,
                event_id: &r.event_id,
                event_type: REVERSAL_EVENT_TYPE,
                reverses: &r.reverses,
            };
            encode_parts(out, &head, std::iter::empty(), std::iter::empty(), &metadata_json(&r.metadata))
        }
    }
}

/// The fixed fields of a note, borrowed.
struct NoteHead<'a> {
    side: EntrySide,
    chart_version: u32,
    ledger: u32,
    business_date: BusinessDate,
    event_id: &'a str,
    event_type: &'a str,
    reverses: &'a str,
}

fn encode_parts<'a>(
    out: &mut Vec<u8>,
    head: &NoteHead<'_>,
    subjects: impl ExactSizeIterator<Item = (&'a str, &'a str)>,
    components: impl ExactSizeIterator<Item = (&'a str, &'a str)>,
    metadata: &str,
) -> bool {
    let start = out.len();
    out.push(NOTE_FORMAT);
    out.push(match head.side {
        EntrySide::Original => 0,
        EntrySide::Reversal => 1,
    });
    out.extend_from_slice(&head.chart_version.to_le_bytes());
    out.extend_from_slice(&head.ledger.to_le_bytes());
    out.extend_from_slice(&u32::try_from(head.business_date.as_yyyymmdd()).unwrap_or(0).to_le_bytes());
    let mut ok = put_str(out, head.event_id) && put_str(out, head.event_type) && put_str(out, head.reverses);
    ok = ok && put_pairs(out, subjects) && put_pairs(out, components);
    match u32::try_from(metadata.len()) {
        Ok(len) => out.extend_from_slice(&len.to_le_bytes()),
        Err(_) => ok = false,
    }
    out.extend_from_slice(metadata.as_bytes());
    if !ok || out.len() - start > EVENT_NOTE_BYTES_MAX {
        out.truncate(start);
        return false;
    }
    true
}

fn put_pairs<'a>(out: &mut Vec<u8>, pairs: impl ExactSizeIterator<Item = (&'a str, &'a str)>) -> bool {
    let Ok(count) = u8::try_from(pairs.len()) else { return false };
    out.push(count);
    pairs.into_iter().all(|(key, value)| put_str(out, key) && put_str(out, value))
}

fn put_str(out: &mut Vec<u8>, text: &str) -> bool {
    let Ok(len) = u16::try_from(text.len()) else { return false };
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(text.as_bytes());
    true
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], NoteError> {
        let slice = self.bytes.get(self.at..self.at.saturating_add(n)).ok_or(NoteError::Truncated)?;
        self.at += n;
        Ok(slice)
    }

    fn u8(&mut self) -> Result<u8, NoteError> {
        Ok(self.take(1)?[0])
    }

    fn u32(&mut self) -> Result<u32, NoteError> {
        let mut x = [0_u8; 4];
        x.copy_from_slice(self.take(4)?);
        Ok(u32::from_le_bytes(x))
    }

    fn text(&mut self, len: usize) -> Result<String, NoteError> {
        std::str::from_utf8(self.take(len)?).map(str::to_owned).map_err(|_| NoteError::NotUtf8)
    }

    fn str(&mut self) -> Result<String, NoteError> {
        let mut x = [0_u8; 2];
        x.copy_from_slice(self.take(2)?);
        self.text(usize::from(u16::from_le_bytes(x)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENTRY: &str = r#"{"type":"event","event_id":"E1","event_type":"repayment.settled","ledger":156,
        "subjects":{"loan_note":"L1","customer":"C1","funder":"F1","channel":"CH1"},
        "components":{"principal":"16.43","interest":"0.58"},"business_date":"2024-02-01",
        "metadata":{"order_no":"R-9","attempt":2}}"#;
    const REVERSAL: &str = r#"{"type":"event","event_id":"E9","event_type":"reversal","reverses":"E1",
        "ledger":156,"business_date":"2024-02-05"}"#;

    fn note(line: &str) -> EventNote {
        EventNote::of(&WireEvent::from_json(line).expect("valid event"), 3)
    }

    #[test]
    fn notes_round_trip() {
        for line in [ENTRY, REVERSAL] {
            let note = note(line);
            let mut out = vec![0xEE];
            assert!(note.encode(&mut out));
            assert_eq!(EventNote::decode(&out[1..]), Ok(note.clone()));
            let mut borrowed = vec![0xEE];
            assert!(encode_event_ref(&WireEventRef::parse(line).expect("valid"), 3, &mut borrowed));
            assert_eq!(borrowed, out, "the borrowed encoder writes the same bytes");
        }
        let entry = note(ENTRY);
        assert_eq!(entry.subject("funder"), Some("F1"));
        assert_eq!(entry.metadata, r#"{"attempt":2,"order_no":"R-9"}"#);
        assert_eq!(
            (entry.side, entry.chart_version, entry.reverses.as_deref()),
            (EntrySide::Original, 3, None)
        );
        let reversal = note(REVERSAL);
        assert_eq!((reversal.event_type.as_str(), reversal.reverses.as_deref()), ("reversal", Some("E1")));
        assert_eq!(reversal.metadata, "{}");
    }

    #[test]
    fn damaged_notes_are_refused_never_misread() {
        let mut out = Vec::new();
        assert!(note(ENTRY).encode(&mut out));
        for cut in 0..out.len() {
            assert!(EventNote::decode(&out[..cut]).is_err(), "cut at {cut}");
        }
        let mut longer = out.clone();
        longer.push(0);
        assert_eq!(EventNote::decode(&longer), Err(NoteError::Trailing));
        let mut newer = out.clone();
        newer[0] = 2;
        assert_eq!(EventNote::decode(&newer), Err(NoteError::UnknownFormat(2)));
    }

    #[test]
    fn an_oversized_note_is_not_written() {
        let mut big = note(ENTRY);
        big.metadata = format!(r#"{{"blob":"{}"}}"#, "x".repeat(EVENT_NOTE_BYTES_MAX));
        let mut out = vec![1, 2, 3];
        assert!(!big.encode(&mut out));
        assert_eq!(out, [1, 2, 3]);
    }
}
