//! `JournalFollower` against a fake server: entries come out one by one in order, each read
//! starts at the cursor of the last entry returned, a dropped connection is retried with the
//! same read, a waiting read may outlast `request_timeout`, and a page whose cursors go
//! backwards is refused without moving the cursor.

mod support;

use ledger_client::{ClientError, JournalFollower};
use ledger_protocol::{JournalRead, Reply, Request};
use std::time::Duration;
use support::{FakeServer, Received, config, connect};

fn page(after: u64, cursors: &[u64]) -> Reply {
    let entries: Vec<String> = cursors
        .iter()
        .map(|c| {
            format!(r#"{{"kind":"transfer","transfers":[],"first_timestamp":"{c}","last_timestamp":"{c}"}}"#)
        })
        .collect();
    let next_after = cursors.last().copied().unwrap_or(after);
    Reply::Journal(
        format!(
            r#"{{"entries":[{}],"next_after":"{next_after}","current_to":{{"op":"1","transfers":"9"}}}}"#,
            entries.join(",")
        )
        .into_bytes(),
    )
}

fn read_of(received: &Received) -> JournalRead {
    match received.request {
        Request::ReadJournal(read) => read,
        ref other => panic!("expected read_journal, got {other:?}"),
    }
}

#[tokio::test]
async fn a_follower_yields_each_entry_once_across_a_dropped_connection() {
    let server = FakeServer::bind().await;
    let (client, mut connection) = connect(&server, config(&server.addr)).await;
    let follower = JournalFollower::new(client, 100).with_limit(50).with_wait(Duration::from_millis(800));

    let task = tokio::spawn(async move {
        let mut follower = follower;
        let mut seen = Vec::new();
        for _ in 0..4 {
            let entry = follower.next().await.expect("an entry");
            assert_eq!(entry.json["last_timestamp"], entry.cursor.to_string());
            seen.push(entry.cursor);
            assert_eq!(follower.cursor(), entry.cursor, "the cursor is the last entry returned");
        }
        seen
    });

    let first = connection.read_request().await.expect("the first read");
    assert_eq!(read_of(&first), JournalRead { after: 100, limit: 50, wait_ms: 800 });
    connection.reply(&first, &page(100, &[101, 105])).await;

    // Both entries are returned before the next read, which starts after the second.
    let second = connection.read_request().await.expect("the second read");
    assert_eq!(read_of(&second).after, 105);
    drop(connection); // the reply is lost

    let mut connection = server.accept().await;
    let again = connection.read_request().await.expect("the read is resent");
    assert_eq!(again.frame, second.frame, "the same read, byte for byte");
    // Nothing new yet: an empty page, then the follower reads again from the same cursor.
    connection.reply(&again, &page(105, &[])).await;
    let third = connection.read_request().await.expect("read again");
    assert_eq!(read_of(&third).after, 105);
    connection.reply(&third, &page(105, &[110, 111])).await;

    let seen = tokio::time::timeout(Duration::from_secs(10), task).await.expect("done").expect("ran");
    assert_eq!(seen, [101, 105, 110, 111]);
}

#[tokio::test]
async fn a_waiting_read_may_outlast_the_request_timeout() {
    let server = FakeServer::bind().await;
    let mut config = config(&server.addr);
    config.request_timeout = Duration::from_millis(300);
    let (client, mut connection) = connect(&server, config).await;

    let read = tokio::spawn(async move { client.read_journal(7, 10, Duration::from_millis(1500)).await });
    let request = connection.read_request().await.expect("the read");
    assert_eq!(read_of(&request), JournalRead { after: 7, limit: 10, wait_ms: 1500 });
    // The server waits 1 s (more than request_timeout, less than it plus the wait).
    tokio::time::sleep(Duration::from_millis(1000)).await;
    connection.reply(&request, &page(7, &[8])).await;
    let page = read.await.expect("ran").expect("answered in time");
    assert_eq!((page.next_after, page.entries.len()), (8, 1));
}

#[tokio::test]
async fn a_page_whose_cursors_go_backwards_is_refused_and_the_cursor_stays() {
    let server = FakeServer::bind().await;
    let (client, mut connection) = connect(&server, config(&server.addr)).await;
    let mut follower = JournalFollower::new(client, 50);

    let read = tokio::spawn(async move {
        let error = follower.next_within(Duration::from_secs(5)).await.expect_err("refused");
        (follower, error)
    });
    let request = connection.read_request().await.expect("the read");
    connection.reply(&request, &page(50, &[40])).await;
    let (mut follower, error) = read.await.expect("ran");
    assert!(matches!(error, ClientError::MalformedJournal(_)), "{error:?}");
    assert_eq!(follower.cursor(), 50);

    // With nothing new, `next_within` gives up after its idle time: one read that waits for it.
    let idle = tokio::spawn(async move { follower.next_within(Duration::from_millis(200)).await });
    let request = connection.read_request().await.expect("the read");
    let read = read_of(&request);
    assert_eq!((read.after, read.limit), (50, 1024));
    assert!((150..=200).contains(&read.wait_ms), "waits the idle time: {read:?}");
    tokio::time::sleep(Duration::from_millis(u64::from(read.wait_ms))).await;
    connection.reply(&request, &page(50, &[])).await;
    assert!(idle.await.expect("ran").expect("no error").is_none());
}
