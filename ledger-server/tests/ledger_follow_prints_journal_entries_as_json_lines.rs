//! `ledger follow` against the real server: one journal entry per line, in commit order,
//! following entries posted while it runs; `--after` a printed cursor resumes right after that
//! line; `--until-idle` ends it with status 0; an unreachable server is status 3.

mod common;

use common::{LEDGER, Server};
use serde_json::Value;
use std::process::{Command, Stdio};
use std::time::Duration;

fn event(id: &str) -> Vec<u8> {
    format!(
        r#"{{"type":"event","event_id":"{id}","event_type":"interest.accrued","ledger":156,"subjects":{{"loan_note":"L1"}},"components":{{"interest":"1.00","fee":"0.20"}},"business_date":"2026-01-05","metadata":{{}}}}"#
    )
    .into_bytes()
}

/// Runs `ledger follow` to its end; its status and stdout lines as JSON.
fn follow(server: &Server, extra: &[&str]) -> (std::process::ExitStatus, Vec<Value>) {
    let output = Command::new(LEDGER)
        .args(["follow", "--addr", &server.binary.to_string()])
        .args(extra)
        .stdin(Stdio::null())
        .output()
        .expect("ledger follow runs");
    let lines = String::from_utf8(output.stdout)
        .expect("UTF-8")
        .lines()
        .map(|line| serde_json::from_str(line).expect("each line is JSON"))
        .collect();
    (output.status, lines)
}

fn cursor(entry: &Value) -> u64 {
    entry["last_timestamp"].as_str().and_then(|t| t.parse().ok()).expect("a cursor")
}

#[tokio::test]
async fn ledger_follow_prints_journal_entries_as_json_lines() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path(), &[]);
    let client = server.client().await;
    let refused = client.post_events(&[event("A1"), event("A2"), event("A3")]).await.expect("posted");
    assert!(refused.is_empty());

    let (status, lines) = follow(&server, &["--until-idle", "300"]);
    assert!(status.success(), "{status}");
    assert_eq!(lines.len(), 3, "one line per entry: {lines:?}");
    assert!(
        lines.iter().all(|e| e["kind"] == "event" && e["transfers"].as_array().is_some_and(|t| t.len() == 2))
    );
    assert!(lines.windows(2).all(|w| cursor(&w[0]) < cursor(&w[1])), "commit order");

    // Resuming after the first line prints the other two.
    let after = cursor(&lines[0]).to_string();
    let (_, resumed) = follow(&server, &["--after", &after, "--until-idle", "300"]);
    assert_eq!(resumed, lines[1..]);

    // Entries posted while it follows are printed too.
    let last = cursor(&lines[2]).to_string();
    let running = std::thread::spawn({
        let addr = server.binary.to_string();
        move || {
            Command::new(LEDGER)
                .args(["follow", "--addr", &addr, "--after", &last, "--until-idle", "3000"])
                .output()
                .expect("ledger follow runs")
        }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(client.post_events(&[event("B1")]).await.expect("posted").is_empty());
    let output = running.join().expect("the follower thread");
    assert!(output.status.success());
    let printed: Vec<Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect();
    assert_eq!(printed.len(), 1, "{printed:?}");
    assert!(cursor(&printed[0]) > cursor(&lines[2]));

    drop(server);
    let unreachable = Command::new(LEDGER)
        .args(["follow", "--addr", "127.0.0.1:1", "--until-idle", "100"])
        .output()
        .expect("ledger follow runs");
    assert_eq!(unreachable.status.code(), Some(3), "{}", String::from_utf8_lossy(&unreachable.stderr));
}
