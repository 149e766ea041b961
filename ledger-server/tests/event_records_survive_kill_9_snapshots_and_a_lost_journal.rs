//! What the ledger records of each standard ledger event (subjects, components, metadata, chart
//! version; `journal.log`) survives like the entry itself: through `kill -9` with online
//! snapshots every few ops, and through the loss of `journal.log` (rebuilt from the WAL). Every
//! acknowledged event shows its record in `GET /v1/events/{id}` and appears exactly once, with
//! its record, in `GET /v1/journal`.

mod common;

use common::{Server, http_get};
use serde_json::Value;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;

const BATCHES: u32 = 12;
const PER_BATCH: u32 = 5;

/// Funds arriving for funder `F{n % 3}`: one transfer each, with metadata naming the event.
fn fund_arrival(round: u32, n: u32) -> Vec<u8> {
    format!(
        r#"{{"type":"event","event_id":"R{round}-FUND-{n}","event_type":"fund.arrived","ledger":156,"subjects":{{"funder":"F{}","fund_account":"FA1"}},"components":{{"principal":"{}.{:02}"}},"business_date":"2024-03-{:02}","metadata":{{"batch":{},"order_no":"ORD-{round}-{n}"}}}}"#,
        n % 3,
        100 + n,
        n % 100,
        1 + n % 28,
        n / PER_BATCH,
    )
    .into_bytes()
}

fn reversal(round: u32, n: u32) -> Vec<u8> {
    format!(
        r#"{{"type":"event","event_id":"R{round}-REV-{n}","event_type":"reversal","reverses":"R{round}-FUND-{n}","ledger":156,"business_date":"2024-04-01","metadata":{{"reason":"duplicate"}}}}"#
    )
    .into_bytes()
}

/// Posts `BATCHES` batches of fund arrivals and reverses every seventh; returns what was
/// acknowledged: event id → reversed by.
async fn post_round(server: &Server, round: u32) -> BTreeMap<String, Option<String>> {
    let client = server.client().await;
    let mut posted = BTreeMap::new();
    for batch in 0..BATCHES {
        let numbers: Vec<u32> = (batch * PER_BATCH..(batch + 1) * PER_BATCH).collect();
        let events: Vec<Vec<u8>> = numbers.iter().map(|&n| fund_arrival(round, n)).collect();
        let failed = client.post_events(&events).await.expect("posted");
        assert!(failed.is_empty(), "{failed:?}");
        for &n in &numbers {
            posted.insert(format!("R{round}-FUND-{n}"), None);
        }
        let reversals: Vec<u32> = numbers.iter().copied().filter(|n| n % 7 == 3).collect();
        let events: Vec<Vec<u8>> = reversals.iter().map(|&n| reversal(round, n)).collect();
        let failed = client.post_events(&events).await.expect("reversed");
        assert!(failed.is_empty(), "{failed:?}");
        for n in reversals {
            posted.insert(format!("R{round}-FUND-{n}"), Some(format!("R{round}-REV-{n}")));
        }
    }
    posted
}

fn get_json(http: SocketAddr, path: &str) -> Value {
    let (status, body) = http_get(http, path, None);
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).expect("JSON")
}

/// Every acknowledged event shows its record, and its reversal's.
fn check_event_views(http: SocketAddr, posted: &BTreeMap<String, Option<String>>) {
    for (id, reversed_by) in posted {
        let view = get_json(http, &format!("/v1/events/{id}"));
        let n: u32 = id.rsplit('-').next().and_then(|n| n.parse().ok()).expect("numbered");
        assert_eq!(view["subjects"]["funder"], format!("F{}", n % 3), "{view}");
        assert_eq!(view["components"]["principal"], format!("{}.{:02}", 100 + n, n % 100), "{view}");
        assert_eq!(
            view["metadata"]["order_no"].as_str(),
            id.strip_prefix('R').map(|rest| format!("ORD-{}", rest.replace("-FUND-", "-"))).as_deref(),
            "{view}"
        );
        assert_eq!(view["chart_version"], 1, "{view}");
        match reversed_by {
            Some(reversal) => {
                assert_eq!(view["status"], "reversed", "{view}");
                assert_eq!(view["reversal"]["event_id"], reversal.as_str(), "{view}");
                assert_eq!(view["reversal"]["metadata"]["reason"], "duplicate", "{view}");
            }
            None => assert_eq!(view["status"], "posted", "{view}"),
        }
    }
}

/// The event ids of every entry of the journal, in commit order.
fn journal_event_ids(http: SocketAddr) -> Vec<String> {
    let mut ids = Vec::new();
    let mut after = "0".to_owned();
    loop {
        let page = get_json(http, &format!("/v1/journal?after={after}&limit=1000"));
        let entries = page["entries"].as_array().cloned().unwrap_or_default();
        if entries.is_empty() {
            return ids;
        }
        for entry in entries {
            let id =
                entry["event_id"].as_str().unwrap_or_else(|| panic!("an entry without its record: {entry}"));
            ids.push(id.to_owned());
        }
        after = page["next_after"].as_str().expect("cursor").to_owned();
    }
}

fn check_journal(http: SocketAddr, posted: &BTreeMap<String, Option<String>>) {
    let mut expected: Vec<String> = posted
        .iter()
        .flat_map(|(id, reversal)| std::iter::once(id.clone()).chain(reversal.clone()))
        .collect();
    let mut seen = journal_event_ids(http);
    seen.sort();
    expected.sort();
    assert_eq!(seen, expected, "every acknowledged event and reversal exactly once");
}

fn journal_file(dir: &Path) -> std::path::PathBuf {
    dir.join("journal.log")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_survive_kill_9_with_online_snapshots() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut posted = BTreeMap::new();
    for round in 0..3 {
        let server = Server::start(dir.path(), &["--snapshot-every-ops", "3"]);
        posted.extend(post_round(&server, round).await);
        check_event_views(server.http, &posted);
        server.kill_9();
    }
    let server = Server::start(dir.path(), &["--snapshot-every-ops", "3"]);
    check_event_views(server.http, &posted);
    check_journal(server.http, &posted);
    let snapshots = std::fs::read_dir(dir.path().join("snapshots")).expect("snapshots").count();
    assert!(snapshots > 0, "online snapshots were taken");
    let (status, log) = server.terminate();
    assert!(status.success(), "{log}");
    assert!(!log.contains("journal.log was missing"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_journal_is_rebuilt_from_the_wal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path(), &["--snapshot-every-ops", "0"]);
    let posted = post_round(&server, 0).await;
    server.kill_9();
    std::fs::remove_file(journal_file(dir.path())).expect("journal.log exists");
    let server = Server::start(dir.path(), &["--snapshot-every-ops", "0"]);
    check_event_views(server.http, &posted);
    check_journal(server.http, &posted);
    server.kill_9();

    // A torn, unsynced tail is cut and rebuilt as well.
    let len = std::fs::metadata(journal_file(dir.path())).expect("journal").len();
    let file = std::fs::OpenOptions::new().write(true).open(journal_file(dir.path())).expect("open");
    file.set_len(len - 13).expect("tear the tail");
    drop(file);
    let server = Server::start(dir.path(), &["--snapshot-every-ops", "0"]);
    check_journal(server.http, &posted);
    let (status, log) = server.terminate();
    assert!(status.success(), "{log}");
}
