//! The body of a `post_events` request: events of varying size, each behind its length.
//!
//! ```text
//! post_events body: event_count entries back to back, exactly filling body_len
//! entry
//! offset  size  field
//!      0     4  len   u32  bytes of the event, at most EVENT_JSON_MAX (65,536)
//!      4   len  event      one JSON object, UTF-8 (docs/events.md), the "type":"event" key included
//! ```
//!
//! The codec carries the events as bytes and never parses them: the server does, and answers a
//! malformed event per event (`invalid_json`, ...), not by refusing the frame.

use crate::error::FrameError;
use crate::header::{BODY_MAX, Header};
use crate::operation::{EVENT_JSON_MAX, EVENT_LENGTH_SIZE, Operation};

const ENTRY_LEN_OFFSET: usize = 0;
const ENTRY_EVENT_OFFSET: usize = ENTRY_LEN_OFFSET + EVENT_LENGTH_SIZE;
const _: () = assert!(ENTRY_EVENT_OFFSET == 4);
// The longest event fits in a body, so every event can be sent.
const _: () = assert!(ENTRY_EVENT_OFFSET + EVENT_JSON_MAX <= BODY_MAX);

/// Bytes of the encoded body.
pub(crate) fn body_len(events: &[Vec<u8>]) -> usize {
    events.iter().map(|event| ENTRY_EVENT_OFFSET + event.len()).sum()
}

/// Whether the server would accept these events: each at most `EVENT_JSON_MAX` bytes and all of
/// them within `BODY_MAX`. (The event count is checked with the other operations'.)
pub(crate) fn check_limits(events: &[Vec<u8>]) -> Result<(), FrameError> {
    if let Some((index, event)) = events.iter().enumerate().find(|(_, e)| e.len() > EVENT_JSON_MAX) {
        return Err(FrameError::EventTooLong {
            index: u32::try_from(index).unwrap_or(u32::MAX),
            len: event.len(),
            max: EVENT_JSON_MAX,
        });
    }
    let body_len = body_len(events);
    if body_len > BODY_MAX {
        return Err(FrameError::BodyTooLarge {
            operation: Operation::PostEvents,
            body_len,
            body_max: BODY_MAX,
        });
    }
    Ok(())
}

/// Appends the entries.
///
/// # Panics
/// If an event is 4 GiB or longer, which no frame can carry anyway (see `encode_request`).
pub(crate) fn append(out: &mut Vec<u8>, events: &[Vec<u8>]) {
    for event in events {
        let len = u32::try_from(event.len()).expect("an event is smaller than a 4 GiB frame body");
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(event);
    }
}

/// Reads `header.event_count` entries that must exactly fill `body`. The caller checked the body
/// slice length, the event count limit and the body checksum, so the lengths read here are the
/// ones the client sent; a wrong one is the client's bug.
pub(crate) fn decode(header: &Header, body: &[u8]) -> Result<Vec<Vec<u8>>, FrameError> {
    let size_mismatch = || FrameError::BodySizeMismatch {
        operation: Operation::PostEvents,
        event_count: header.event_count,
        body_len: header.body_len,
    };
    // Bounded: the caller checked `event_count <= BATCH_EVENTS_MAX`.
    let mut events = Vec::with_capacity(header.event_count as usize);
    let mut rest = body;
    for index in 0..header.event_count {
        let (len, after_len) = rest.split_first_chunk::<EVENT_LENGTH_SIZE>().ok_or_else(size_mismatch)?;
        let len = u32::from_le_bytes(*len) as usize;
        if len > EVENT_JSON_MAX {
            return Err(FrameError::EventTooLong { index, len, max: EVENT_JSON_MAX });
        }
        let (event, after_event) = after_len.split_at_checked(len).ok_or_else(size_mismatch)?;
        events.push(event.to_vec());
        rest = after_event;
    }
    if !rest.is_empty() {
        return Err(size_mismatch());
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::{FrameKind, PROTOCOL_VERSION};

    fn header(event_count: u32, body: &[u8]) -> Header {
        Header {
            version: PROTOCOL_VERSION,
            kind: FrameKind::Request,
            operation: Operation::PostEvents.code(),
            request_id: 1,
            body_len: u32::try_from(body.len()).expect("small"),
            event_count,
            status: 0,
            body_checksum: crc32c::crc32c(body),
        }
    }

    fn entry(event: &[u8]) -> Vec<u8> {
        let len = u32::try_from(event.len()).expect("small");
        [&len.to_le_bytes()[..], event].concat()
    }

    #[test]
    fn entries_are_a_length_then_the_bytes() {
        let events = vec![b"{}".to_vec(), Vec::new(), b"{\"a\":1}".to_vec()];
        let mut body = Vec::new();
        append(&mut body, &events);
        assert_eq!(body, [entry(b"{}"), entry(b""), entry(b"{\"a\":1}")].concat());
        assert_eq!(body.len(), body_len(&events));
        assert_eq!(&body[..6], &[2, 0, 0, 0, b'{', b'}']);
        assert_eq!(decode(&header(3, &body), &body), Ok(events));
    }

    #[test]
    fn entries_must_fill_the_body_exactly() {
        let body = [entry(b"{}"), entry(b"[]")].concat();
        let mismatch = |event_count| FrameError::BodySizeMismatch {
            operation: Operation::PostEvents,
            event_count,
            body_len: 12,
        };
        // Bytes left over, a length prefix past the end, and no entry at all.
        assert_eq!(decode(&header(1, &body), &body), Err(mismatch(1)));
        assert_eq!(decode(&header(3, &body), &body), Err(mismatch(3)));
        assert_eq!(decode(&header(0, &body), &body), Err(mismatch(0)));
        // A length that runs past the end, and a truncated length prefix.
        let mut long = body.clone();
        long[6] = 3;
        assert_eq!(decode(&header(2, &long), &long), Err(mismatch(2)));
        let short = &body[..8];
        assert!(matches!(decode(&header(2, short), short), Err(FrameError::BodySizeMismatch { .. })));
        assert_eq!(decode(&header(0, &[]), &[]), Ok(Vec::new()), "an empty batch is allowed");
    }

    #[test]
    fn an_event_past_the_maximum_is_refused_even_when_the_body_holds_it() {
        let at_max = vec![b' '; EVENT_JSON_MAX];
        let over = vec![b' '; EVENT_JSON_MAX + 1];
        let body = entry(&at_max);
        assert_eq!(decode(&header(1, &body), &body), Ok(vec![at_max.clone()]));
        let body = [entry(b"{}"), entry(&over)].concat();
        let error = decode(&header(2, &body), &body).expect_err("too long");
        assert_eq!(
            error,
            FrameError::EventTooLong { index: 1, len: EVENT_JSON_MAX + 1, max: EVENT_JSON_MAX }
        );
        assert_eq!(check_limits(&[b"{}".to_vec(), over]), Err(error));
        assert_eq!(check_limits(&[at_max]), Ok(()));
    }

    #[test]
    fn events_beyond_body_max_fail_the_limits() {
        // 16 maximal events need 16 × 65,540 bytes, more than a body.
        let events = vec![vec![b' '; EVENT_JSON_MAX]; 16];
        assert_eq!(
            check_limits(&events),
            Err(FrameError::BodyTooLarge {
                operation: Operation::PostEvents,
                body_len: 16 * (EVENT_JSON_MAX + 4),
                body_max: BODY_MAX
            })
        );
        assert_eq!(check_limits(&events[..15]), Ok(()));
    }
}
