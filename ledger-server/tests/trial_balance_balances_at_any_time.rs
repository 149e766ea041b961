//! `GET /v1/ledgers/{id}/trial-balance` against the real server: transfers posted with
//! `ledger post` (single-phase, a partially posted and a voided two-phase transfer, an account
//! code the chart lacks, then the standard events story), the trial balance checked by hand at
//! several times, always balanced, and the same after a restart (the index is rebuilt and
//! learns the account codes again).

mod common;

use common::{Server, http_get};
use serde_json::{Value, json};

/// Bank (1002, asset), funder payable (2202, liability), loan receivable (1122, asset), and a
/// code the chart does not have.
const ACCOUNTS: &str = r#"{"type":"account","id":"1","ledger":156,"code":1002}
{"type":"account","id":"2","ledger":156,"code":2202}
{"type":"account","id":"3","ledger":156,"code":1122}
{"type":"account","id":"4","ledger":156,"code":9999}
"#;
/// One request each, so each is its own batch with its own timestamps.
const DEPOSIT: &str = r#"{"type":"transfer","id":"11","debit_account_id":"1","credit_account_id":"2","amount":"100000","ledger":156,"code":1}"#;
const HOLDS: &str = r#"{"type":"transfer","id":"12","debit_account_id":"3","credit_account_id":"1","amount":"30000","ledger":156,"code":2,"flags":["pending"]}
{"type":"transfer","id":"13","debit_account_id":"3","credit_account_id":"1","amount":"4000","ledger":156,"code":2,"flags":["pending"]}"#;
const RESOLVE: &str = r#"{"type":"transfer","id":"14","pending_id":"12","amount":"25000","flags":["post_pending_transfer"]}
{"type":"transfer","id":"15","pending_id":"13","flags":["void_pending_transfer"]}"#;
const ODD: &str = r#"{"type":"transfer","id":"16","debit_account_id":"4","credit_account_id":"1","amount":"75","ledger":156,"code":3}"#;

fn post(server: &Server, input: &str) {
    let output = common::ledger_post(server.binary, input);
    for line in output.lines() {
        let result: Value = serde_json::from_str(line).expect("a JSON line");
        assert!(
            result["result"] == "ok"
                || result["result"] == "exceeds_debits"
                || result["result"] == "already_reversed",
            "{line}"
        );
    }
}

fn get(server: &Server, path: &str) -> Value {
    let (status, body) = http_get(server.http, path, None);
    assert_eq!(status, 200, "GET {path}: {body}");
    serde_json::from_str(&body).expect("a JSON body")
}

fn timestamp(server: &Server, transfer: u32) -> u64 {
    let transfer = get(server, &format!("/v1/transfers/{transfer}"));
    transfer["timestamp"].as_str().expect("a timestamp").parse().expect("a u64")
}

fn trial_balance(server: &Server, at: Option<u64>) -> Value {
    match at {
        Some(at) => get(server, &format!("/v1/ledgers/156/trial-balance?at={at}")),
        None => get(server, "/v1/ledgers/156/trial-balance"),
    }
}

/// A decimal at scale 2 as fen, signed.
fn fen(text: &Value) -> i128 {
    let text = text.as_str().expect("an amount string");
    let (negative, digits) = text.strip_prefix('-').map_or((false, text), |d| (true, d));
    let (whole, fraction) = digits.split_once('.').expect("two decimals");
    assert_eq!(fraction.len(), 2, "{text}");
    let value: i128 = format!("{whole}{fraction}").parse().expect("digits");
    if negative { -value } else { value }
}

/// Rows of the given codes: (code, debits, credits, balance), in fen.
fn rows(balance: &Value) -> Vec<(u64, i128, i128, i128)> {
    balance["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            (r["code"].as_u64().expect("a code"), fen(&r["debits"]), fen(&r["credits"]), fen(&r["balance"]))
        })
        .collect()
}

/// What holds at every time: rows by code, each balance `debits - credits` on one side or the
/// other (the side is the chart's: the rows checked by hand pin it), the totals equal and the
/// sums of the rows.
fn check_balanced(balance: &Value) {
    let rows = rows(balance);
    assert!(rows.windows(2).all(|w| w[0].0 < w[1].0), "one row per code, by code: {balance}");
    for (code, debits, credits, signed) in &rows {
        assert_eq!(signed.abs(), (debits - credits).abs(), "code {code}: {balance}");
    }
    let debits: i128 = rows.iter().map(|r| r.1).sum();
    let credits: i128 = rows.iter().map(|r| r.2).sum();
    assert_eq!(fen(&balance["total_debits"]), debits);
    assert_eq!(fen(&balance["total_credits"]), credits);
    assert_eq!(debits, credits, "double entry: {balance}");
}

#[test]
fn trial_balance_balances_at_any_time() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path(), &[]);
    let empty = trial_balance(&server, None);
    assert_eq!((empty["rows"].clone(), empty["at"].clone()), (json!([]), json!("0")));

    for request in [ACCOUNTS, DEPOSIT, HOLDS, RESOLVE, ODD] {
        post(&server, request);
    }
    let [deposit, hold, post_time, odd] = [11, 12, 14, 16].map(|id| timestamp(&server, id));
    let story = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/events.jsonl"))
        .expect("the example events");
    post(&server, &story);

    // By hand: (code, debits, credits, balance) in fen.
    let expected = [
        (deposit, vec![(1002, 100_000, 0, 100_000), (2202, 0, 100_000, 100_000)]),
        (hold, vec![(1002, 100_000, 0, 100_000), (2202, 0, 100_000, 100_000)]),
        (post_time - 1, vec![(1002, 100_000, 0, 100_000), (2202, 0, 100_000, 100_000)]),
        (
            post_time,
            vec![(1002, 100_000, 25_000, 75_000), (1122, 25_000, 0, 25_000), (2202, 0, 100_000, 100_000)],
        ),
        (
            odd,
            vec![
                (1002, 100_000, 25_075, 74_925),
                (1122, 25_000, 0, 25_000),
                (2202, 0, 100_000, 100_000),
                (9999, 75, 0, 75),
            ],
        ),
    ];
    let mut answers = Vec::new();
    for (at, rows_by_hand) in &expected {
        let balance = trial_balance(&server, Some(*at));
        assert_eq!(balance["at"], at.to_string());
        assert_eq!(balance["ledger"], 156);
        assert_eq!(rows(&balance), *rows_by_hand, "at {at}: {balance}");
        check_balanced(&balance);
        answers.push(balance);
    }
    let unknown = &answers[4]["rows"][3];
    assert_eq!((unknown["name"].clone(), unknown["class"].clone()), (Value::Null, Value::Null));
    assert_eq!(answers[0]["rows"][0]["class"], "asset");
    assert_eq!(trial_balance(&server, Some(deposit - 1))["rows"], json!([]), "before the first transfer");

    // Now: the events story added more codes; everything still balances, and a time beyond the
    // durable point answers for it.
    let now = trial_balance(&server, None);
    check_balanced(&now);
    assert!(rows(&now).len() > 4, "the story's codes are there: {now}");
    let newest: u64 = now["at"].as_str().expect("at").parse().expect("a u64");
    assert!(newest > odd);
    assert_eq!(trial_balance(&server, Some(u64::MAX)), now);
    let (status, body) = http_get(server.http, "/v1/ledgers/156/trial-balance?at=yesterday", None);
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("invalid_query"), "{body}");

    // A restart: the same answers, at every time.
    let (status, log) = server.terminate();
    assert!(status.success(), "clean shutdown: {log}");
    let server = Server::start(dir.path(), &[]);
    assert_eq!(trial_balance(&server, None)["rows"], now["rows"]);
    assert_eq!(trial_balance(&server, None)["at"], now["at"]);
    for ((at, _), before) in expected.iter().zip(&answers) {
        let after = trial_balance(&server, Some(*at));
        assert_eq!(after["rows"], before["rows"], "at {at} after the restart");
        assert_eq!(after["total_debits"], before["total_debits"]);
    }

    // New transfers after the restart count from their time on.
    post(
        &server,
        r#"{"type":"transfer","id":"17","debit_account_id":"3","credit_account_id":"2","amount":"1","ledger":156,"code":4}"#,
    );
    let later = trial_balance(&server, None);
    check_balanced(&later);
    assert_eq!(fen(&later["total_debits"]), fen(&now["total_debits"]) + 1);
    assert_eq!(trial_balance(&server, Some(newest))["rows"], now["rows"], "the past does not change");
}
