//! `ledger export` against the real server: the exports of a known history (the README's two
//! examples, `examples/quickstart.jsonl` then `examples/events.jsonl`, posted one request at a
//! time so that op numbers are always the same) equal the checked-in files under
//! `tests/fixtures/exports/`, byte for byte; a re-run gives the same bytes, and so does a
//! closed op range after more has been posted. The journal lines add up to the trial balance.
//!
//! To regenerate the expected files after a deliberate change of the export format, run
//! `UPDATE_EXPECTED=1 cargo test -p ledger-server --test exports_match_the_expected_files`,
//! then read the diff: every changed line must be explained by the change.

mod common;

use common::{LEDGER, Server, http_get};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixture_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/exports").join(name)
}

fn example(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `ledger post` with `input`; every line must be answered.
fn post(server: &Server, input: &str) -> String {
    common::ledger_post(server.binary, input)
}

/// `ledger export ARGS --http <server>`.
fn run_export(server: &Server, args: &[&str]) -> Output {
    Command::new(LEDGER)
        .arg("export")
        .args(args)
        .args(["--http", &server.http.to_string()])
        .output()
        .expect("ledger export runs")
}

/// `ledger export ARGS` that must succeed: its stdout.
fn export(server: &Server, args: &[&str]) -> Vec<u8> {
    let output = run_export(server, args);
    assert!(output.status.success(), "ledger export {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    output.stdout
}

/// Compares with the expected file (or writes it, with `UPDATE_EXPECTED`).
fn expect_file(name: &str, actual: &[u8]) {
    let path = fixture_path(name);
    if std::env::var_os("UPDATE_EXPECTED").is_some() {
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("create the fixtures directory");
        std::fs::write(&path, actual).expect("write the expected file");
        return;
    }
    let expected = std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (UPDATE_EXPECTED=1 writes it)", path.display()));
    if expected != actual {
        let expected = String::from_utf8_lossy(&expected);
        let actual = String::from_utf8_lossy(actual);
        let line = expected.lines().zip(actual.lines()).position(|(e, a)| e != a);
        let shown = line.map_or_else(
            || format!("{} lines expected, {} exported", expected.lines().count(), actual.lines().count()),
            |i| {
                format!(
                    "line {}:\n  expected {}\n  exported {}",
                    i + 1,
                    expected.lines().nth(i).unwrap_or(""),
                    actual.lines().nth(i).unwrap_or("")
                )
            },
        );
        panic!("{name} differs from {}: {shown}", path.display());
    }
}

/// A decimal at scale 2 ("1000.00") in minor units.
fn cents(text: &str) -> i128 {
    let (units, fraction) = text.split_once('.').unwrap_or_else(|| panic!("{text:?} has scale 2"));
    assert_eq!(fraction.len(), 2, "{text:?} has scale 2");
    format!("{units}{fraction}").parse().unwrap_or_else(|e| panic!("{text:?}: {e}"))
}

fn records(csv_text: &[u8]) -> (csv::StringRecord, Vec<csv::StringRecord>) {
    let mut reader = csv::Reader::from_reader(csv_text);
    let headers = reader.headers().expect("a header line").clone();
    (headers, reader.records().map(|r| r.expect("a CSV record")).collect())
}

/// Double entry, checked from the exports alone: each transfer's debit line equals its credit
/// line, and the lines that move posted balances (`posted`, `post_pending`) add up, per account
/// code, to the trial balance's debits and credits.
fn check_the_books(journal_csv: &[u8], trial_balance_csv: &[u8]) {
    let (headers, lines) = records(journal_csv);
    let at = |name: &str| headers.iter().position(|h| h == name).unwrap_or_else(|| panic!("column {name}"));
    let (transfer, phase, code, debit, credit) =
        (at("transfer_id"), at("phase"), at("account_code"), at("debit"), at("credit"));
    assert_eq!(lines.len() % 2, 0, "two lines per transfer");
    for pair in lines.chunks(2) {
        assert_eq!(pair[0][transfer], pair[1][transfer], "a transfer's lines are adjacent");
        assert_eq!((&pair[0][at("line")], &pair[1][at("line")]), ("debit", "credit"));
        assert_eq!(cents(&pair[0][debit]), cents(&pair[1][credit]), "transfer {}", &pair[0][transfer]);
        assert_eq!((cents(&pair[0][credit]), cents(&pair[1][debit])), (0, 0));
    }
    let mut by_code: BTreeMap<u16, (i128, i128)> = BTreeMap::new();
    for line in lines.iter().filter(|l| matches!(&l[phase], "posted" | "post_pending")) {
        let totals = by_code.entry(line[code].parse().expect("a code")).or_default();
        totals.0 += cents(&line[debit]);
        totals.1 += cents(&line[credit]);
    }
    let (headers, rows) = records(trial_balance_csv);
    let at = |name: &str| headers.iter().position(|h| h == name).unwrap_or_else(|| panic!("column {name}"));
    let from_trial_balance: BTreeMap<u16, (i128, i128)> = rows
        .iter()
        .map(|row| {
            (
                row[at("code")].parse().expect("a code"),
                (cents(&row[at("debits")]), cents(&row[at("credits")])),
            )
        })
        .collect();
    assert_eq!(by_code, from_trial_balance);
    let total_debits: i128 = by_code.values().map(|t| t.0).sum();
    let total_credits: i128 = by_code.values().map(|t| t.1).sum();
    assert_eq!(total_debits, total_credits);
}

/// The newest durable op, from `/v1/healthz`.
fn durable_op(server: &Server) -> u64 {
    let (status, body) = http_get(server.http, "/v1/healthz", None);
    assert_eq!(status, 200, "{body}");
    let health: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    health["durable_op"].as_str().expect("a string").parse().expect("a u64")
}

#[test]
fn exports_match_the_expected_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(&dir.path().join("data"), &[]);
    let answers = post(&server, &example("quickstart.jsonl")) + &post(&server, &example("events.jsonl"));
    assert_eq!(answers.lines().count(), 21, "{answers}");

    let journal_csv = export(&server, &["journal"]);
    let journal_jsonl = export(&server, &["journal", "--format", "jsonl"]);
    let trial_balance_csv = export(&server, &["trial-balance", "--ledger", "156", "--format", "csv"]);
    expect_file("journal.csv", &journal_csv);
    expect_file("journal.jsonl", &journal_jsonl);
    expect_file("trial-balance.csv", &trial_balance_csv);
    check_the_books(&journal_csv, &trial_balance_csv);

    // The same rows in both formats.
    let (headers, lines) = records(&journal_csv);
    let objects: Vec<serde_json::Value> = String::from_utf8(journal_jsonl.clone())
        .expect("UTF-8")
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect();
    assert_eq!(objects.len(), lines.len());
    for (object, line) in objects.iter().zip(&lines) {
        let keys: Vec<&str> = object.as_object().expect("an object").keys().map(String::as_str).collect();
        assert_eq!(keys, headers.iter().collect::<Vec<_>>(), "the same keys in the same order");
        for (key, text) in headers.iter().zip(line) {
            let value = match &object[key] {
                serde_json::Value::Null => String::new(),
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            assert_eq!(value, text, "{key} of {object}");
        }
    }

    // Re-runs give the same bytes.
    assert_eq!(export(&server, &["journal"]), journal_csv);
    assert_eq!(export(&server, &["journal", "--format", "jsonl"]), journal_jsonl);
    assert_eq!(export(&server, &["trial-balance", "--ledger", "156"]), trial_balance_csv);

    // More postings leave a closed range as it was; the open one grows by their lines.
    let last_op = durable_op(&server).to_string();
    let accrual = r#"{"type":"event","event_id":"ACCR-2","event_type":"interest.accrued","ledger":156,"subjects":{"loan_note":"L1"},"components":{"interest":"3.50"},"business_date":"2024-03-01","metadata":{}}"#;
    assert_eq!(post(&server, accrual).trim(), r#"{"id":"ACCR-2","result":"ok"}"#);
    assert_eq!(export(&server, &["journal", "--from-op", "0", "--to-op", &last_op]), journal_csv);
    let grown = export(&server, &["journal"]);
    assert!(grown.starts_with(&journal_csv));
    let added = String::from_utf8(grown[journal_csv.len()..].to_vec()).expect("UTF-8");
    assert_eq!(added.lines().count(), 2, "{added}");
    assert!(added.lines().all(|line| line.contains(",ACCR-2,interest.accrued,") && line.contains(",3.50,")));

    // `--output` writes the same bytes to a file.
    let file = dir.path().join("journal.csv");
    let output =
        run_export(&server, &["journal", "--to-op", &last_op, "--output", file.to_str().expect("UTF-8")]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(output.stdout.is_empty());
    assert_eq!(std::fs::read(&file).expect("the file"), journal_csv);
}

#[test]
fn bad_arguments_and_unreachable_servers_have_their_own_exit_status() {
    let dir = tempfile::tempdir().expect("tempdir");
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "open-sesame\n").expect("token");
    let token_flag = token_file.to_str().expect("UTF-8 path");
    let server = Server::start(&dir.path().join("data"), &["--token-file", token_flag]);

    for args in [
        &["journal", "--from-op", "5", "--to-op", "4"][..],
        &["journal", "--format", "xml"],
        &["trial-balance", "--ledger", "0"],
        &["trial-balance", "--at", "yesterday"],
    ] {
        let output = run_export(&server, args);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
        assert!(output.stdout.is_empty(), "{args:?}");
    }

    // The server wants its token: 1 without it, the export with it.
    let refused = run_export(&server, &["journal"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("401: unauthorized"));
    let header = export(&server, &["journal", "--token-file", token_flag]);
    assert!(String::from_utf8(header).expect("UTF-8").starts_with("op,entry_kind,event_id,"));

    // Nobody listening: 3.
    let gone = server.http;
    drop(server);
    let output = Command::new(LEDGER)
        .args(["export", "trial-balance", "--http", &gone.to_string()])
        .output()
        .expect("ledger export runs");
    assert_eq!(output.status.code(), Some(3), "{}", String::from_utf8_lossy(&output.stderr));
}
