//! A call with more events than a request holds is split into requests of at most
//! `BATCH_EVENTS_MAX`, never inside a linked chain, sent in order, and its results come back
//! re-based to the caller's indexes.

mod support;

use ledger_client::{
    BATCH_EVENTS_MAX, ClientError, CreateTransferResult, EventResult, Transfer, TransferFlags,
};
use ledger_protocol::{Reply, Request};
use std::time::Duration;
use support::{FakeServer, config, connect, transfer};

#[tokio::test]
async fn large_calls_are_split_between_linked_chains() {
    let server = FakeServer::bind().await;
    let (client, mut connection) = connect(&server, config(&server.addr)).await;

    // 2.5 requests' worth of transfers, with a chain of 5 every 97 events, and one chain of 5
    // that straddles the first request boundary.
    let count = BATCH_EVENTS_MAX * 5 / 2;
    let straddling = BATCH_EVENTS_MAX - 2..BATCH_EVENTS_MAX + 2;
    let linked = |i: usize| (92..96).contains(&(i % 97)) || straddling.contains(&i);
    let transfers: Vec<Transfer> = (0..count).map(|i| transfer(i as u128 + 1, linked(i))).collect();
    let expected_ids: Vec<u128> = transfers.iter().map(|t| t.id).collect();
    let call = tokio::spawn({
        let client = client.clone();
        let transfers = transfers.clone();
        async move { client.create_transfers(&transfers).await }
    });

    let mut received_ids = Vec::new();
    let mut starts = Vec::new();
    while received_ids.len() < count {
        let request = connection.read_request().await.expect("a request");
        let Request::CreateTransfers(batch) = &request.request else {
            panic!("expected create_transfers, got {:?}", request.operation());
        };
        assert!(batch.len() <= BATCH_EVENTS_MAX, "{} events in one request", batch.len());
        assert!(
            !batch.last().expect("no empty requests").flags.contains(TransferFlags::LINKED),
            "a request never ends inside a chain"
        );
        starts.push(received_ids.len());
        received_ids.extend(batch.iter().map(|t| t.id));
        // Each request fails its own event 0 and its last event.
        let last = u32::try_from(batch.len() - 1).expect("batch fits u32");
        let results = vec![
            EventResult { index: 0, result: CreateTransferResult::ExceedsCredits },
            EventResult { index: last, result: CreateTransferResult::Exists },
        ];
        connection.reply(&request, &Reply::CreateTransfers(results)).await;
    }
    assert_eq!(received_ids, expected_ids, "every event sent once, in order");
    assert_eq!(starts.len(), 3, "2.5 requests' worth takes three requests");
    assert_eq!(starts[1], BATCH_EVENTS_MAX - 2, "the first request gave up room to keep the chain whole");

    let results = call.await.expect("task ran").expect("answered");
    let mut expected = Vec::new();
    for (n, start) in starts.iter().enumerate() {
        let end = starts.get(n + 1).copied().unwrap_or(count);
        expected.push((u32::try_from(*start).expect("fits"), CreateTransferResult::ExceedsCredits));
        expected.push((u32::try_from(end - 1).expect("fits"), CreateTransferResult::Exists));
    }
    let got: Vec<(u32, CreateTransferResult)> = results.iter().map(|r| (r.index, r.result)).collect();
    assert_eq!(got, expected, "results are re-based to the caller's indexes, in order");
}

#[tokio::test]
async fn a_chain_longer_than_a_request_is_refused_before_anything_is_sent() {
    let server = FakeServer::bind().await;
    let (client, mut connection) = connect(&server, config(&server.addr)).await;
    let mut transfers: Vec<Transfer> = vec![transfer(1, false)];
    transfers.extend((0..=BATCH_EVENTS_MAX).map(|i| transfer(i as u128 + 2, i < BATCH_EVENTS_MAX)));

    let error = client.create_transfers(&transfers).await.expect_err("the chain cannot be split");
    match error {
        ClientError::ChainTooLong { start, len, max } => {
            assert_eq!((start, len, max), (1, BATCH_EVENTS_MAX + 1, BATCH_EVENTS_MAX));
        }
        other => panic!("expected ChainTooLong, got {other:?}"),
    }
    let sent = tokio::time::timeout(Duration::from_millis(200), connection.read_request()).await;
    assert!(!matches!(sent, Ok(Some(_))), "nothing was sent: {sent:?}");
}

#[tokio::test]
async fn an_empty_call_sends_nothing() {
    let server = FakeServer::bind().await;
    let (client, mut connection) = connect(&server, config(&server.addr)).await;
    assert!(client.create_transfers(&[]).await.expect("nothing to do").is_empty());
    assert!(client.lookup_accounts(&[]).await.expect("nothing to do").is_empty());
    let sent = tokio::time::timeout(Duration::from_millis(100), connection.read_request()).await;
    assert!(!matches!(sent, Ok(Some(_))), "nothing was sent: {sent:?}");
}
