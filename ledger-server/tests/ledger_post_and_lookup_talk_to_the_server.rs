//! The command-line clients against the real server: `ledger post` answers every input line
//! in order (results, or an error for a malformed line without stopping), `ledger lookup`
//! prints the record, and both fail clearly when no server listens.

mod common;

use common::{LEDGER, Server};
use std::io::Write;
use std::process::{Command, Stdio};

fn run(args: &[&str], stdin: &str) -> (i32, String, String) {
    let mut child = Command::new(LEDGER)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ledger runs");
    // A client that cannot reach the server exits without reading its input: a broken pipe
    // here is part of the behaviour under test, not a failure of the test.
    if let Err(e) = child.stdin.take().expect("stdin").write_all(stdin.as_bytes()) {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "write stdin: {e}");
    }
    let output = child.wait_with_output().expect("ledger finishes");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn ledger_post_and_lookup_talk_to_the_server() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path(), &[]);
    let addr = server.binary.to_string();
    let quickstart =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/quickstart.jsonl"))
            .expect("the quickstart file");
    let input = format!("{quickstart}{{\"type\":\"transfer\",\"id\":\"x\"}}\n");
    let (code, stdout, stderr) = run(&["post", "--addr", &addr], &input);
    assert_eq!(code, 0, "stderr: {stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    let inputs = quickstart.lines().filter(|l| !l.trim().is_empty()).count();
    assert_eq!(lines.len(), inputs + 1, "one answer per line:\n{stdout}");
    assert!(lines.iter().any(|l| l.contains("\"exceeds_debits\"")), "the refused transfer:\n{stdout}");
    assert_eq!(lines.iter().filter(|l| l.contains("\"result\":\"ok\"")).count(), inputs - 1);
    let last = lines.last().expect("a last line");
    // Lines are numbered as in the input, blank lines included.
    let line_number = quickstart.lines().count() + 1;
    assert!(last.starts_with(&format!("{{\"line\":{line_number},")) && last.contains("error"), "{last}");

    // Posting again is idempotent: every created id answers `exists`.
    let (code, stdout, _) = run(&["post", "--addr", &addr], &quickstart);
    assert_eq!(code, 0);
    assert!(
        stdout
            .lines()
            .filter(|l| !l.contains("exceeds_debits")
                && !l.contains("id_already_failed")
                && !l.contains("linked_event_failed"))
            .all(|l| l.contains("\"exists\"")),
        "{stdout}"
    );

    let (code, stdout, _) = run(&["lookup", "--addr", &addr, "--account", "2001"], "");
    assert_eq!(code, 0);
    let account: serde_json::Value = serde_json::from_str(stdout.trim()).expect("JSON");
    assert_eq!(account["id"], "2001");
    assert_eq!(account["ledger"], 156);
    let (code, stdout, _) = run(&["lookup", "--addr", &addr, "--transfer", "424242"], "");
    assert_eq!(code, 1);
    assert_eq!(stdout.trim(), "{\"error\":\"transfer_not_found\"}");

    drop(server);
    let (code, _, stderr) = run(&["post", "--addr", &addr], &quickstart);
    assert_ne!(code, 0, "no server: non-zero exit");
    assert!(stderr.contains(&addr), "the message names the address: {stderr}");
}
