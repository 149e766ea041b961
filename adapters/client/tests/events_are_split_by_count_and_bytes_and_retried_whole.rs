//! `post_events` sends any number of JSON events in requests of at most `BATCH_EVENTS_MAX`
//! events and `BODY_MAX` bytes, never splitting an event, re-bases the raw outcome codes to the
//! caller's indexes, and resends the same bytes after a dropped connection.

mod support;

use ledger_client::{BATCH_EVENTS_MAX, ClientError, EVENT_JSON_MAX, EventCode};
use ledger_protocol::{BODY_MAX, HEADER_SIZE, Reply, Request};
use std::time::Duration;
use support::{FakeServer, config, connect};

fn event(n: usize, padding: usize) -> Vec<u8> {
    format!(r#"{{"type":"event","event_id":"E{n}","pad":"{}"}}"#, "x".repeat(padding)).into_bytes()
}

fn events_of(request: &Request) -> &[Vec<u8>] {
    match request {
        Request::PostEvents(events) => events,
        other => panic!("expected post_events, got {:?}", other.operation()),
    }
}

#[tokio::test]
async fn large_calls_are_split_by_bytes_and_codes_come_back_rebased() {
    let server = FakeServer::bind().await;
    let (client, mut connection) = connect(&server, config(&server.addr)).await;

    // 40 events of about 60 KiB: about 17 fit in a body, far fewer than BATCH_EVENTS_MAX.
    let events: Vec<Vec<u8>> = (0..40).map(|n| event(n, 60_000 + n)).collect();
    let call = tokio::spawn({
        let client = client.clone();
        let events = events.clone();
        async move { client.post_events(&events).await }
    });

    let mut received: Vec<Vec<u8>> = Vec::new();
    let mut starts = Vec::new();
    while received.len() < events.len() {
        let request = connection.read_request().await.expect("a request");
        assert!(request.frame.len() - HEADER_SIZE <= BODY_MAX, "{} bytes", request.frame.len());
        let batch = events_of(&request.request);
        assert!(!batch.is_empty(), "no empty requests");
        starts.push(received.len());
        received.extend(batch.iter().cloned());
        // Each request answers its own event 1 `exists` and its last one with a code this
        // build does not know.
        let last = u32::try_from(batch.len() - 1).expect("small");
        let codes = vec![EventCode { index: 1, code: 1 }, EventCode { index: last, code: 77_777 }];
        connection.reply(&request, &Reply::PostEvents(codes)).await;
    }
    assert_eq!(received, events, "every event sent once, whole and in order");
    assert_eq!(starts, vec![0, 17, 34], "each request holds as many events as fit in BODY_MAX");

    let codes = call.await.expect("task ran").expect("answered");
    let mut expected = Vec::new();
    for (n, start) in starts.iter().enumerate() {
        let end = starts.get(n + 1).copied().unwrap_or(events.len());
        expected.push(EventCode { index: u32::try_from(start + 1).expect("small"), code: 1 });
        expected.push(EventCode { index: u32::try_from(end - 1).expect("small"), code: 77_777 });
    }
    assert_eq!(codes, expected, "codes re-based to the caller's indexes, unknown codes passed through");
}

#[tokio::test]
async fn many_small_events_are_split_by_count() {
    let server = FakeServer::bind().await;
    let (client, mut connection) = connect(&server, config(&server.addr)).await;
    let events: Vec<Vec<u8>> = (0..BATCH_EVENTS_MAX + 5).map(|n| event(n, 0)).collect();
    let call = tokio::spawn({
        let client = client.clone();
        let events = events.clone();
        async move { client.post_events(&events).await }
    });
    let requests = connection.read_requests(2).await;
    assert_eq!(events_of(&requests[0].request).len(), BATCH_EVENTS_MAX);
    assert_eq!(events_of(&requests[1].request), &events[BATCH_EVENTS_MAX..]);
    for request in &requests {
        connection.reply_empty(request).await;
    }
    assert!(call.await.expect("task ran").expect("answered").is_empty(), "every event posted");
}

#[tokio::test]
async fn a_dropped_post_is_resent_with_the_same_bytes() {
    let server = FakeServer::bind().await;
    let (client, mut connection) = connect(&server, config(&server.addr)).await;
    let events = vec![event(1, 3), event(2, 0)];
    let call = tokio::spawn({
        let client = client.clone();
        let events = events.clone();
        async move { client.post_events(&events).await }
    });
    let first = connection.read_request().await.expect("the request arrives");
    drop(connection);

    let mut connection = server.accept().await;
    let again = connection.read_request().await.expect("the request is resent");
    assert_eq!(again.frame, first.frame, "the retry resends the same bytes");
    // The first attempt had posted event 0: it answers `exists`.
    let codes = vec![EventCode { index: 0, code: 1 }];
    connection.reply(&again, &Reply::PostEvents(codes.clone())).await;
    assert_eq!(call.await.expect("task ran").expect("answered after the retry"), codes);
}

#[tokio::test]
async fn an_event_longer_than_the_maximum_fails_the_call_before_anything_is_sent() {
    let server = FakeServer::bind().await;
    let (client, mut connection) = connect(&server, config(&server.addr)).await;
    let events = vec![event(1, 0), vec![b' '; EVENT_JSON_MAX + 1]];
    let error = client.post_events(&events).await.expect_err("the server would refuse the request");
    match error {
        ClientError::EventTooLong { index, len, max } => {
            assert_eq!((index, len, max), (1, EVENT_JSON_MAX + 1, EVENT_JSON_MAX));
        }
        other => panic!("expected EventTooLong, got {other:?}"),
    }
    assert!(client.post_events(&[]).await.expect("nothing to do").is_empty());
    let sent = tokio::time::timeout(Duration::from_millis(200), connection.read_request()).await;
    assert!(!matches!(sent, Ok(Some(_))), "nothing was sent: {sent:?}");
}
