//! With a token configured, every connection (the first and each reconnect) starts with a
//! `hello` carrying it, answered before any request is sent; a refused token fails the connect.

mod support;

use ledger_client::{Client, ClientError, Status};
use ledger_protocol::{Reply, Request};
use support::{FakeConnection, FakeServer, config};

async fn expect_hello(connection: &mut FakeConnection, token: &[u8]) {
    let hello = connection.read_request().await.expect("hello comes first");
    assert_eq!(hello.request, Request::Hello { token: token.to_vec() });
    connection.reply(&hello, &Reply::Hello).await;
}

#[tokio::test]
async fn hello_carries_the_token_on_every_connection() {
    let server = FakeServer::bind().await;
    let config = config(&server.addr).with_token(b"s3cret".to_vec());
    let connecting = tokio::spawn(Client::connect(config));
    let mut connection = server.accept().await;
    expect_hello(&mut connection, b"s3cret").await;
    let client = connecting.await.expect("task ran").expect("authenticated");

    drop(connection);
    let call = tokio::spawn(async move { client.lookup_accounts(&[1]).await });
    let mut connection = server.accept().await;
    expect_hello(&mut connection, b"s3cret").await;
    let request = connection.read_request().await.expect("the request follows the hello");
    assert!(matches!(request.request, Request::LookupAccounts(_)));
    connection.reply_empty(&request).await;
    assert!(call.await.expect("task ran").expect("answered").is_empty());
}

#[tokio::test]
async fn a_refused_token_fails_the_connect() {
    let server = FakeServer::bind().await;
    let config = config(&server.addr).with_token(b"wrong".to_vec());
    let connecting = tokio::spawn(Client::connect(config));
    let mut connection = server.accept().await;
    let hello = connection.read_request().await.expect("hello");
    connection.refuse(&hello, Status::Unauthorized).await;
    drop(connection);
    let error = connecting.await.expect("task ran").expect_err("unauthorized");
    assert!(matches!(error, ClientError::Status(Status::Unauthorized)), "{error:?}");
}

#[tokio::test]
async fn a_token_longer_than_the_protocol_allows_is_refused_locally() {
    let config = config("127.0.0.1:1").with_token(vec![b'x'; ledger_protocol::TOKEN_MAX + 1]);
    let error = Client::connect(config).await.expect_err("too long");
    assert!(matches!(error, ClientError::TokenTooLong { .. }), "{error:?}");
}
