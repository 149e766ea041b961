//! `overloaded`, `unavailable` and `shutting_down` mean "not now": the same frame is resent after
//! a backoff. `server_failed` means "not ever": the call fails at once.

mod support;

use ledger_client::{ClientError, Status};
use ledger_protocol::Reply;
use std::time::Duration;
use support::{FakeServer, config, connect, transfer};

#[tokio::test]
async fn overloaded_and_unavailable_are_resent_on_the_same_connection() {
    let server = FakeServer::bind().await;
    let (client, mut connection) = connect(&server, config(&server.addr)).await;
    let call = tokio::spawn(async move { client.create_transfers(&[transfer(1, false)]).await });

    let first = connection.read_request().await.expect("request");
    connection.refuse(&first, Status::Overloaded).await;
    let second = connection.read_request().await.expect("resent after overloaded");
    assert_eq!(second.frame, first.frame);
    connection.refuse(&second, Status::Unavailable).await;
    let third = connection.read_request().await.expect("resent after unavailable");
    assert_eq!(third.frame, first.frame);
    connection.reply(&third, &Reply::CreateTransfers(Vec::new())).await;

    assert!(call.await.expect("task ran").expect("answered").is_empty());
}

#[tokio::test]
async fn shutting_down_is_resent_on_a_new_connection() {
    let server = FakeServer::bind().await;
    let (client, mut connection) = connect(&server, config(&server.addr)).await;
    let call = tokio::spawn(async move { client.lookup_transfers(&[7]).await });

    let first = connection.read_request().await.expect("request");
    connection.refuse(&first, Status::ShuttingDown).await;
    drop(connection);

    let mut connection = server.accept().await;
    let again = connection.read_request().await.expect("resent to the next server");
    assert_eq!(again.frame, first.frame);
    connection.reply_empty(&again).await;
    assert!(call.await.expect("task ran").expect("answered").is_empty());
}

#[tokio::test]
async fn server_failed_is_not_retried() {
    let server = FakeServer::bind().await;
    let (client, mut connection) = connect(&server, config(&server.addr)).await;
    let call = tokio::spawn(async move { client.create_transfers(&[transfer(1, false)]).await });

    let first = connection.read_request().await.expect("request");
    connection.refuse(&first, Status::ServerFailed).await;
    let error = call.await.expect("task ran").expect_err("server_failed is final");
    assert!(matches!(error, ClientError::Status(Status::ServerFailed)), "{error:?}");
    assert_eq!(error.to_string(), "the server answered server_failed");

    let resent = tokio::time::timeout(Duration::from_millis(200), connection.read_request()).await;
    assert!(!matches!(resent, Ok(Some(_))), "nothing was resent: {resent:?}");
}

#[tokio::test]
async fn a_server_that_stays_overloaded_is_given_up_on_with_the_reason() {
    let server = FakeServer::bind().await;
    let mut config = config(&server.addr);
    config.request_timeout = Duration::from_millis(300);
    let (client, mut connection) = connect(&server, config).await;
    let call = tokio::spawn(async move { client.lookup_accounts(&[1]).await });

    let refuser = tokio::spawn(async move {
        let mut refused = 0_u32;
        while let Some(request) = connection.read_request().await {
            connection.refuse(&request, Status::Overloaded).await;
            refused += 1;
        }
        refused
    });
    let error = call.await.expect("task ran").expect_err("gives up");
    match &error {
        ClientError::GaveUp { attempts, last_error, .. } => {
            assert!(*attempts >= 2, "retried before giving up ({attempts})");
            assert_eq!(last_error, "the server answered overloaded");
        }
        other => panic!("expected GaveUp, got {other:?}"),
    }
    assert!(error.outcome_unknown());
    refuser.abort();
}
