//! A connection that drops while a request is in flight: the client reconnects and resends the
//! very same frame (same event ids, same request id), so the retry is idempotent.

mod support;

use ledger_client::{ClientError, CreateTransferResult, EventResult};
use ledger_protocol::Reply;
use std::time::Duration;
use support::{FakeServer, config, connect, transfer};

#[tokio::test]
async fn a_dropped_connection_is_retried_with_the_same_bytes() {
    let server = FakeServer::bind().await;
    let (client, mut connection) = connect(&server, config(&server.addr)).await;

    let call = tokio::spawn({
        let client = client.clone();
        async move { client.create_transfers(&[transfer(10, false), transfer(11, false)]).await }
    });
    let first = connection.read_request().await.expect("the request arrives");
    assert_eq!(first.transfer_ids(), vec![10, 11]);
    drop(connection); // mid-request: the reply is never sent

    let mut connection = server.accept().await;
    let again = connection.read_request().await.expect("the request is resent");
    assert_eq!(again.frame, first.frame, "the retry resends the same bytes");

    // The first attempt had applied transfer 11 (say): the engine answers it `exists`.
    let results = vec![EventResult { index: 1, result: CreateTransferResult::Exists }];
    connection.reply(&again, &Reply::CreateTransfers(results.clone())).await;
    assert_eq!(call.await.expect("task ran").expect("answered after the retry"), results);

    // The new connection serves later calls.
    let next = tokio::spawn(async move { client.lookup_accounts(&[1]).await });
    let request = connection.read_request().await.expect("a later call uses the new connection");
    connection.reply_empty(&request).await;
    assert!(next.await.expect("task ran").expect("answered").is_empty());
}

#[tokio::test]
async fn without_reconnect_a_dropped_connection_fails_the_call() {
    let server = FakeServer::bind().await;
    let mut config = config(&server.addr);
    config.reconnect = false;
    let (client, mut connection) = connect(&server, config).await;

    let call = tokio::spawn(async move { client.create_transfers(&[transfer(10, false)]).await });
    connection.read_request().await.expect("the request arrives");
    drop(connection);

    let error = tokio::time::timeout(Duration::from_secs(5), call)
        .await
        .expect("fails at once")
        .expect("task ran")
        .expect_err("no retry");
    assert!(matches!(error, ClientError::Io(_)), "{error:?}");
    assert!(error.outcome_unknown(), "the request may have been applied");
    assert!(error.to_string().contains("closed the connection"), "{error}");
}
