//! A frame larger than the protocol allows is refused before its body is read: the header alone
//! says so (`frame_too_large`, then the server closes), and a body within bounds with too many
//! records is `too_many_events` (the connection stays open).

use ledger_core::BATCH_EVENTS_MAX;
use ledger_protocol::{
    BODY_MAX, EVENT_JSON_MAX, FRAME_MAX, FrameError, FrameKind, HEADER_SIZE, Header, HeaderError, Operation,
    PROTOCOL_VERSION, Request, Status, decode_request, encode_request,
};

fn header(operation: Operation, body_len: u32, event_count: u32) -> Header {
    Header {
        version: PROTOCOL_VERSION,
        kind: FrameKind::Request,
        operation: operation.code(),
        request_id: 31,
        body_len,
        event_count,
        status: 0,
        body_checksum: 0,
    }
}

#[test]
fn a_body_beyond_body_max_is_frame_too_large_and_closes_the_connection() {
    assert_eq!(FRAME_MAX, 1_048_256);
    let body_max = u32::try_from(BODY_MAX).expect("fits");
    for body_len in [body_max + 1, body_max + 128, u32::MAX] {
        let bytes = header(Operation::CreateTransfers, body_len, 8190).encode();
        let error = Header::decode(&bytes).expect_err("too large");
        assert_eq!(error, HeaderError::TooLarge { body_len });
        let status = error.status().expect("a reply is sent");
        assert_eq!(status, Status::FrameTooLarge);
        assert!(status.closes_connection(), "the body cannot be skipped");
        // The reply goes to the request that caused it.
        let identity = Header::identify(&bytes).expect("the header itself is intact");
        assert_eq!((identity.request_id, identity.operation), (31, Operation::CreateTransfers.code()));
    }
    let at_max = header(Operation::CreateTransfers, body_max, 8189);
    assert_eq!(Header::decode(&at_max.encode()), Ok(at_max));
}

#[test]
fn more_records_than_a_batch_are_too_many_events_and_keep_the_connection() {
    // 8190 accounts or transfers do not fit in a frame at all (the case above); 8190 ids do.
    let ids = vec![1_u128; BATCH_EVENTS_MAX + 1];
    let events = vec![b"{}".to_vec(); BATCH_EVENTS_MAX + 1];
    for request in
        [Request::LookupAccounts(ids.clone()), Request::LookupTransfers(ids), Request::PostEvents(events)]
    {
        let mut frame = Vec::new();
        encode_request(5, &request, &mut frame);
        let (header, body) = frame.split_first_chunk::<HEADER_SIZE>().expect("a header");
        let header = Header::decode(header).expect("fits BODY_MAX");
        let error = decode_request(&header, body).expect_err("too many");
        assert!(matches!(error, FrameError::TooManyEvents { event_count: 8190, events_max: 8189, .. }));
        assert_eq!(error.status(), Status::TooManyEvents);
        assert!(!error.status().closes_connection());
    }
}

#[test]
fn a_token_beyond_token_max_is_too_many_events() {
    let request = Request::Hello { token: vec![7; 257] };
    let mut frame = Vec::new();
    encode_request(5, &request, &mut frame);
    let (header, body) = frame.split_first_chunk::<HEADER_SIZE>().expect("a header");
    let error = decode_request(&Header::decode(header).expect("small"), body).expect_err("too long");
    assert_eq!(error.status(), Status::TooManyEvents);
    assert_eq!(request.check_limits(), Err(error));
}

#[test]
fn an_event_beyond_event_json_max_is_body_size_mismatch_and_keeps_the_connection() {
    let at_max = Request::PostEvents(vec![b"{}".to_vec(), vec![b' '; EVENT_JSON_MAX]]);
    let over = Request::PostEvents(vec![b"{}".to_vec(), vec![b' '; EVENT_JSON_MAX + 1]]);
    for (request, accepted) in [(at_max, true), (over, false)] {
        let mut frame = Vec::new();
        encode_request(5, &request, &mut frame);
        let (header, body) = frame.split_first_chunk::<HEADER_SIZE>().expect("a header");
        let decoded = decode_request(&Header::decode(header).expect("fits BODY_MAX"), body);
        if accepted {
            assert_eq!(decoded, Ok(request));
            continue;
        }
        let error = decoded.expect_err("too long");
        assert_eq!(
            error,
            FrameError::EventTooLong { index: 1, len: EVENT_JSON_MAX + 1, max: EVENT_JSON_MAX }
        );
        assert_eq!(error.status(), Status::BodySizeMismatch);
        assert!(!error.status().closes_connection());
        assert_eq!(request.check_limits(), Err(error), "a client finds out before sending");
    }
}

#[test]
fn events_that_fit_one_by_one_but_not_together_fail_the_limits_before_sending() {
    // 16 events of the largest size need more than BODY_MAX: the server would refuse the frame
    // from its header (frame_too_large, and close), so a client must split them.
    let request = Request::PostEvents(vec![vec![b' '; EVENT_JSON_MAX]; 16]);
    let error = request.check_limits().expect_err("too large together");
    assert!(matches!(error, FrameError::BodyTooLarge { body_len, .. } if body_len > BODY_MAX), "{error:?}");
    assert_eq!(error.status(), Status::FrameTooLarge);
}
