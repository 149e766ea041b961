//! `max_in_flight` bounds the requests in flight across every task sharing the client: callers
//! beyond it wait until a reply frees a slot.

mod support;

use std::time::Duration;
use support::{FakeServer, config, connect};

#[tokio::test]
async fn requests_in_flight_are_bounded() {
    let server = FakeServer::bind().await;
    let mut config = config(&server.addr);
    config.max_in_flight = 4;
    let (client, mut connection) = connect(&server, config).await;

    let callers: Vec<_> = (1..=10_u128)
        .map(|id| {
            let client = client.clone();
            tokio::spawn(async move { client.lookup_transfers(&[id]).await })
        })
        .collect();

    let first = connection.read_requests(4).await;
    let fifth = tokio::time::timeout(Duration::from_millis(200), connection.read_request()).await;
    assert!(fifth.is_err(), "a fifth request waits while four are in flight");

    connection.reply_empty(&first[0]).await;
    let fifth = connection.read_request().await.expect("a freed slot lets the next one go");
    let mut answered = 1;
    for request in first[1..].iter().chain([&fifth]) {
        connection.reply_empty(request).await;
        answered += 1;
    }
    while answered < 10 {
        let request = connection.read_request().await.expect("the rest follow");
        connection.reply_empty(&request).await;
        answered += 1;
    }
    for caller in callers {
        assert!(caller.await.expect("task ran").expect("answered").is_empty());
    }
}
