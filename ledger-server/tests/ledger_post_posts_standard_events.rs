//! `ledger post` with `{"type":"event",...}` lines against the real server: the example story
//! (funding, disbursement, accrual, repayment, a refused over-repayment, a reversal and a
//! second reversal) is answered per event, and posting it again changes nothing.

mod common;

use common::Server;

fn post(addr: &str, input: &str) -> Vec<String> {
    let addr = addr.parse().expect("a socket address");
    common::ledger_post(addr, input).lines().map(str::to_owned).collect()
}

fn results(lines: &[String]) -> Vec<(String, String)> {
    lines
        .iter()
        .map(|line| {
            let value: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
            (
                value["id"].as_str().expect("id").to_owned(),
                value["result"].as_str().expect("result").to_owned(),
            )
        })
        .collect()
}

#[test]
fn ledger_post_posts_standard_events() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path(), &[]);
    let addr = server.binary.to_string();
    let story = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/events.jsonl"))
        .expect("the example");
    let expected = [
        ("FUND-1", "ok"),
        ("FUND-2", "ok"),
        ("FUND-3", "ok"),
        ("DISB-1", "ok"),
        ("ACCR-1", "ok"),
        ("REPAY-1", "ok"),
        ("REPAY-2", "exceeds_debits"),
        ("REV-1", "ok"),
        ("REV-2", "already_reversed"),
    ];
    let first = results(&post(&addr, &story));
    let want: Vec<(String, String)> =
        expected.iter().map(|(i, r)| ((*i).to_owned(), (*r).to_owned())).collect();
    assert_eq!(first, want);

    // Again: every posted event is `exists`, the refused one stays refused, the second
    // reversal is still refused.
    let again = results(&post(&addr, &story));
    let want_again: Vec<(String, String)> = expected
        .iter()
        .map(|(id, result)| {
            let result = match *result {
                "ok" => "exists",
                "exceeds_debits" => "id_already_failed",
                other => other,
            };
            ((*id).to_owned(), result.to_owned())
        })
        .collect();
    assert_eq!(again, want_again);

    // The receivable of loan note L1 reads 1,000.00 after the reversal of the 250.00 repayment.
    let id =
        ledger_events::account_id(156, 1122, Some(ledger_events::Subject { key: "loan_note", value: "L1" }));
    let (status, body) = common::http_get(server.http, &format!("/v1/accounts/{id}"), None);
    assert_eq!(status, 200, "{body}");
    let account: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    let debits: u128 = account["debits_posted"].as_str().expect("string").parse().expect("number");
    let credits: u128 = account["credits_posted"].as_str().expect("string").parse().expect("number");
    assert_eq!(debits - credits, 100_000, "{body}");
}
