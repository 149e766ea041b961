//! Splitting a caller's events into requests of at most `BATCH_EVENTS_MAX` events (and, for
//! `post_events`, at most `BODY_MAX` bytes).
//!
//! A linked chain (events with the `linked` flag, up to and including the first event without it)
//! is applied atomically by the engine only if the whole chain is in one request, so a split may
//! fall only between chains. A chain that is still open at the end of the caller's slice stays at
//! the end of the last request, where the engine answers it with `linked_event_chain_open`, as it
//! would have without the split.

use crate::error::ClientError;
use std::ops::Range;

/// Splits `events` into consecutive ranges of at most `batch_events_max` events, never inside a
/// linked chain. `is_linked(e)` says whether event `e` continues into the next one.
///
/// Greedy: each range takes as many whole chains as fit, so a call of `n` unlinked events makes
/// `ceil(n / batch_events_max)` requests. An empty slice gives no ranges.
///
/// # Errors
/// `ChainTooLong` when one chain alone has more than `batch_events_max` events.
pub(crate) fn split_at_chain_boundaries<T>(
    events: &[T],
    batch_events_max: usize,
    is_linked: impl Fn(&T) -> bool,
) -> Result<Vec<Range<usize>>, ClientError> {
    assert!(batch_events_max > 0, "a request must be able to hold one event");
    let mut ranges = Vec::with_capacity(events.len().div_ceil(batch_events_max));
    let mut batch_start = 0;
    let mut chain_start = 0;
    for (index, event) in events.iter().enumerate() {
        let chain_closes = !is_linked(event) || index + 1 == events.len();
        if !chain_closes {
            continue;
        }
        let chain_end = index + 1;
        let chain_len = chain_end - chain_start;
        if chain_len > batch_events_max {
            return Err(ClientError::ChainTooLong {
                start: chain_start,
                len: chain_len,
                max: batch_events_max,
            });
        }
        if chain_end - batch_start > batch_events_max {
            ranges.push(batch_start..chain_start);
            batch_start = chain_start;
        }
        chain_start = chain_end;
    }
    if batch_start < events.len() {
        ranges.push(batch_start..events.len());
    }
    Ok(ranges)
}

/// Splits events of `sizes[i]` encoded bytes each into consecutive ranges of at most
/// `batch_events_max` events and `body_max` bytes; an event is never split. Greedy, so each
/// range is as long as the limits allow. An empty slice gives no ranges.
///
/// # Errors
/// `EventTooLong` when one event alone is larger than `event_max` bytes (its encoded size minus
/// `overhead`, the length prefix): the server would refuse the whole request for it.
pub(crate) fn split_by_size(
    sizes: &[usize],
    overhead: usize,
    event_max: usize,
    batch_events_max: usize,
    body_max: usize,
) -> Result<Vec<Range<usize>>, ClientError> {
    assert!(batch_events_max > 0, "a request must be able to hold one event");
    assert!(overhead + event_max <= body_max, "a request must be able to hold the largest event");
    let mut ranges = Vec::new();
    let mut batch_start = 0;
    let mut batch_bytes = 0;
    for (index, &size) in sizes.iter().enumerate() {
        if size > overhead + event_max {
            return Err(ClientError::EventTooLong { index, len: size - overhead, max: event_max });
        }
        if index - batch_start == batch_events_max || batch_bytes + size > body_max {
            ranges.push(batch_start..index);
            batch_start = index;
            batch_bytes = 0;
        }
        batch_bytes += size;
    }
    if batch_start < sizes.len() {
        ranges.push(batch_start..sizes.len());
    }
    Ok(ranges)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sized_events_fill_requests_to_the_count_or_the_bytes() {
        // Limits: 3 events, 10 bytes; event 2 would make 11 bytes, event 5 a fourth event.
        let sizes = [4, 3, 4, 1, 1, 1, 5];
        let ranges = split_by_size(&sizes, 0, 10, 3, 10).expect("all fit");
        assert_eq!(ranges, vec![0..2, 2..5, 5..7]);
        assert_eq!(split_by_size(&[10, 10], 0, 10, 3, 10).expect("fit alone"), vec![0..1, 1..2]);
        assert_eq!(split_by_size(&[], 0, 10, 3, 10).expect("empty"), Vec::<Range<usize>>::new());
    }

    #[test]
    fn a_sized_event_past_the_maximum_is_refused_with_its_position() {
        match split_by_size(&[5, 12, 14], 4, 9, 3, 20) {
            Err(ClientError::EventTooLong { index, len, max }) => assert_eq!((index, len, max), (2, 10, 9)),
            other => panic!("expected EventTooLong, got {other:?}"),
        }
    }

    #[test]
    fn sized_ranges_cover_every_event_once_within_both_limits() {
        let sizes: Vec<usize> = (0..2_000).map(|i| 4 + (i * 37) % 300).collect();
        let (events_max, body_max) = (50, 4_096);
        let ranges = split_by_size(&sizes, 4, 300, events_max, body_max).expect("all fit");
        let mut next = 0;
        for range in &ranges {
            assert_eq!(range.start, next, "ranges are contiguous");
            assert!(!range.is_empty() && range.len() <= events_max, "{range:?}");
            let bytes: usize = sizes[range.clone()].iter().sum();
            assert!(bytes <= body_max, "{range:?}: {bytes} bytes");
            // Greedy: the next event would not have fitted.
            if let Some(&following) = sizes.get(range.end) {
                assert!(range.len() == events_max || bytes + following > body_max, "{range:?} stopped early");
            }
            next = range.end;
        }
        assert_eq!(next, sizes.len(), "every event is in a request");
    }

    /// `true` = linked.
    fn split(linked: &[bool], max: usize) -> Result<Vec<Range<usize>>, ClientError> {
        split_at_chain_boundaries(linked, max, |l| *l)
    }

    #[test]
    fn an_empty_call_makes_no_requests() {
        assert_eq!(split(&[], 3).expect("empty splits"), Vec::<Range<usize>>::new());
    }

    #[test]
    fn unlinked_events_fill_requests_to_the_limit() {
        let ranges = split(&[false; 7], 3).expect("no chains");
        assert_eq!(ranges, vec![0..3, 3..6, 6..7]);
    }

    #[test]
    fn a_chain_that_would_cross_the_limit_moves_to_the_next_request() {
        // Events 2..5 are one chain (2, 3, 4 linked; 5 closes it).
        let linked = [false, false, true, true, true, false, false];
        let ranges = split(&linked, 4).expect("chain fits");
        assert_eq!(ranges, vec![0..2, 2..6, 6..7]);
    }

    #[test]
    fn a_chain_exactly_as_long_as_the_limit_fits() {
        let linked = [true, true, false, false];
        assert_eq!(split(&linked, 3).expect("fits"), vec![0..3, 3..4]);
    }

    #[test]
    fn a_chain_longer_than_the_limit_is_refused_with_its_position() {
        let linked = [false, true, true, true, false];
        match split(&linked, 3) {
            Err(ClientError::ChainTooLong { start, len, max }) => assert_eq!((start, len, max), (1, 4, 3)),
            other => panic!("expected ChainTooLong, got {other:?}"),
        }
    }

    #[test]
    fn an_open_chain_at_the_end_stays_last_and_whole() {
        // The last two events are linked and never closed: the engine will answer
        // `linked_event_chain_open`, so they must stay together at the end.
        let linked = [false, false, false, true, true];
        assert_eq!(split(&linked, 3).expect("open chain fits"), vec![0..3, 3..5]);
    }

    #[test]
    fn an_open_chain_longer_than_the_limit_is_refused() {
        assert!(matches!(split(&[true; 4], 3), Err(ClientError::ChainTooLong { start: 0, len: 4, max: 3 })));
    }

    #[test]
    fn ranges_cover_every_event_once_in_order() {
        // A deterministic mix of chain lengths, checked against the invariants rather than a
        // hand-written answer: contiguous, complete, bounded, and never cutting a chain.
        let mut linked = Vec::new();
        for i in 0..500_usize {
            let chain_len = 1 + (i * 7) % 5;
            linked.extend(std::iter::repeat_n(true, chain_len - 1));
            linked.push(false);
        }
        let max = 9;
        let ranges = split(&linked, max).expect("chains are at most 5 long");
        let mut next = 0;
        for range in &ranges {
            assert_eq!(range.start, next, "ranges are contiguous");
            assert!(!range.is_empty() && range.len() <= max, "{range:?} is within the limit");
            assert!(!linked[range.end - 1], "a request never ends inside a chain");
            next = range.end;
        }
        assert_eq!(next, linked.len(), "every event is in a request");
    }
}
