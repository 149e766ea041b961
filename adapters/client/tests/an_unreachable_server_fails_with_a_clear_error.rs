//! When the server cannot be reached the client says so: at once on the first connect, and
//! after `request_timeout` of reconnecting once it had been connected. A server that accepts
//! but never answers ends in `Timeout`.

mod support;

use ledger_client::{Client, ClientError};
use std::time::{Duration, Instant};
use support::{FakeServer, config, connect};

/// An address where nothing listens: a port that was just bound and released.
async fn dead_address() -> String {
    let server = FakeServer::bind().await;
    server.addr.clone()
}

#[tokio::test]
async fn the_first_connect_fails_at_once_with_the_address() {
    let addr = dead_address().await;
    let error = Client::connect(config(&addr)).await.expect_err("nothing listens");
    assert!(matches!(error, ClientError::Connect { .. }), "{error:?}");
    assert!(error.to_string().starts_with(&format!("cannot connect to {addr}: ")), "{error}");
}

#[tokio::test]
async fn a_server_that_goes_away_is_given_up_on_after_the_timeout() {
    let server = FakeServer::bind().await;
    let mut config = config(&server.addr);
    config.request_timeout = Duration::from_millis(400);
    let (client, connection) = connect(&server, config).await;
    drop(connection);
    drop(server); // nothing listens any more

    let started = Instant::now();
    let error = client.lookup_accounts(&[1]).await.expect_err("unreachable");
    let waited = started.elapsed();
    match &error {
        ClientError::GaveUp { attempts, last_error, .. } => {
            assert!(*attempts >= 2, "reconnect was retried ({attempts})");
            assert!(last_error.starts_with("connect: "), "{last_error}");
        }
        other => panic!("expected GaveUp, got {other:?}"),
    }
    assert!(waited >= Duration::from_millis(300) && waited < Duration::from_secs(3), "{waited:?}");
    assert!(error.to_string().contains("gave up on 127.0.0.1:"), "{error}");
}

#[tokio::test]
async fn a_silent_server_times_out() {
    let server = FakeServer::bind().await;
    let mut config = config(&server.addr);
    config.request_timeout = Duration::from_millis(200);
    let (client, mut connection) = connect(&server, config).await;

    let call = tokio::spawn({
        let client = client.clone();
        async move { client.lookup_accounts(&[1]).await }
    });
    connection.read_request().await.expect("the request arrives and is never answered");
    let error = call.await.expect("task ran").expect_err("no answer");
    assert!(matches!(error, ClientError::Timeout(d) if d == Duration::from_millis(200)), "{error:?}");

    // A late reply to the abandoned request is ignored, and the connection still serves.
    let next = tokio::spawn(async move { client.lookup_accounts(&[2]).await });
    let request = connection.read_request().await.expect("the next request");
    connection.reply_empty(&request).await;
    assert!(next.await.expect("task ran").expect("answered").is_empty());
}

#[tokio::test]
async fn a_closed_client_refuses_calls() {
    let server = FakeServer::bind().await;
    let (client, _connection) = connect(&server, config(&server.addr)).await;
    client.close().await;
    let error = client.lookup_accounts(&[1]).await.expect_err("closed");
    assert!(matches!(error, ClientError::Closed), "{error:?}");
}
