//! `GET /v1/journal`: posted journal entries in commit order. Walking it page by page with
//! `after=next_after` returns every entry exactly once, whole, even with events posted between
//! the pages; transfers created directly are entries of their own.

use super::schema::conforms;
use super::standard_events::{disbursement_story, post_ok, repayment, reversal};
use super::{Fixture, account, get, get_ok, transfer};
use crate::http::openapi::document;
use axum::Router;
use axum::http::StatusCode;
use ledger_core::AccountFlags;
use ledger_events::posting::{EntrySide, entry_transfer_id};
use serde_json::{Value, json};

/// The raw transfers' accounts (code 1: not in the chart).
const RAW_DEBIT: u128 = 1;
const RAW_CREDIT: u128 = 2;

fn fits_the_schema(page: &Value) {
    let doc = document();
    let schema = json!({ "$ref": "#/components/schemas/JournalPage" });
    if let Err(e) = conforms(&doc, &schema, page) {
        panic!("the journal page does not fit its schema: {e}");
    }
}

fn entries(page: &Value) -> Vec<Value> {
    page["entries"].as_array().expect("`entries` is an array").clone()
}

fn transfer_count(entry: &Value) -> usize {
    entry["transfers"].as_array().map_or(0, Vec::len)
}

fn next_after(page: &Value) -> u64 {
    page["next_after"].as_str().and_then(|t| t.parse().ok()).expect("`next_after` is a u64 string")
}

/// Every entry from the start, in pages of at most 8189 transfers.
async fn whole_journal(router: &Router) -> Vec<Value> {
    let mut all = Vec::new();
    let mut after = 0;
    loop {
        let page = get_ok(router, &format!("/v1/journal?after={after}&limit=8189")).await;
        let found = entries(&page);
        if found.is_empty() {
            return all;
        }
        after = next_after(&page);
        all.extend(found);
    }
}

#[tokio::test]
async fn the_journal_lists_events_reversals_and_raw_transfers_in_commit_order() {
    let fixture = Fixture::open();
    let router = fixture.router();
    let empty = get_ok(&router, "/v1/journal").await;
    fits_the_schema(&empty);
    assert_eq!((entries(&empty).len(), next_after(&empty)), (0, 0));

    fixture
        .create_accounts(vec![
            account(RAW_DEBIT, AccountFlags::NONE),
            account(RAW_CREDIT, AccountFlags::NONE),
        ])
        .await;
    post_ok(&fixture, disbursement_story()).await;
    fixture.create_transfers(vec![transfer(77, RAW_DEBIT, RAW_CREDIT, 10)]).await;
    post_ok(&fixture, vec![repayment("REPAY-1", "16.43")]).await;
    post_ok(&fixture, vec![reversal("REV-1", "REPAY-1")]).await;

    let page = get_ok(&router, "/v1/journal").await;
    fits_the_schema(&page);
    let found = entries(&page);
    let shape: Vec<(&str, Option<&str>, usize)> = found
        .iter()
        .map(|e| (e["kind"].as_str().unwrap_or("?"), e["event_type"].as_str(), transfer_count(e)))
        .collect();
    assert_eq!(
        shape,
        [
            ("event", Some("fund.arrived"), 1),
            ("event", Some("fund.external_transaction_recorded"), 1),
            ("event", Some("fund.reserved"), 1),
            ("event", Some("loan.disbursed"), 3),
            ("transfer", None, 1),
            ("event", Some("repayment.settled"), 3),
            ("reversal", Some("repayment.settled"), 3),
        ]
    );
    // An event's entry is its chain, in order.
    let disbursement: Vec<&Value> = found[3]["transfers"].as_array().expect("transfers").iter().collect();
    for (i, posting) in disbursement.iter().enumerate() {
        let index = u32::try_from(i).expect("small");
        assert_eq!(
            posting["transfer_id"],
            entry_transfer_id(EntrySide::Original, "DISB-1", index).to_string()
        );
        assert_eq!(posting["amount"], "1000.00");
    }
    assert_eq!(found[3]["business_date"], "2024-01-01");
    assert_eq!(found[6]["business_date"], "2024-01-05");
    assert_eq!(found[6]["transfers"][0]["amount"], "16.43");
    assert_eq!(found[3]["first_timestamp"], disbursement[0]["timestamp"]);
    assert_eq!(found[3]["last_timestamp"], disbursement[2]["timestamp"]);

    // What the ledger recorded of each event (journal.log): its id, subjects and components as
    // posted, the chart version; a reversal names what it reverses. Every entry has its op, and
    // ops never go backwards.
    assert_eq!(found[3]["event_id"], "DISB-1");
    assert_eq!(
        found[3]["subjects"],
        json!({ "channel": "CH1", "customer": "C1", "funder": "F1", "loan_note": "L1" })
    );
    assert_eq!(found[3]["components"], json!({ "principal": "1000.00" }));
    assert_eq!(found[3]["chart_version"], 1);
    assert_eq!(found[3]["metadata"], json!({}));
    assert_eq!(
        (found[5]["event_id"].as_str(), found[5]["components"]["principal"].as_str()),
        (Some("REPAY-1"), Some("16.43"))
    );
    assert_eq!(
        (found[6]["event_id"].as_str(), found[6]["reverses"].as_str()),
        (Some("REV-1"), Some("REPAY-1"))
    );
    assert!(found[6].get("subjects").is_none(), "a reversal has no subjects of its own: {}", found[6]);
    let ops: Vec<u64> =
        found.iter().map(|e| e["op"].as_str().and_then(|op| op.parse().ok()).expect("an op")).collect();
    assert!(ops.windows(2).all(|w| w[0] <= w[1]), "{ops:?}");
    assert!(ops.windows(2).any(|w| w[0] < w[1]), "{ops:?}");

    // `from_op` starts at an op's first entry: the raw transfer's op starts with it.
    let from_raw = get_ok(&router, &format!("/v1/journal?from_op={}", ops[4])).await;
    fits_the_schema(&from_raw);
    assert_eq!(entries(&from_raw)[0], found[4]);
    assert_eq!(entries(&from_raw).len(), 3);
    // From op 1 (accounts only): everything; beyond the last op: nothing, and the cursor is
    // the newest transfer, so a poller resumes there.
    assert_eq!(entries(&get_ok(&router, "/v1/journal?from_op=1").await), found);
    let beyond_ops = get_ok(&router, &format!("/v1/journal?from_op={}", ops[6] + 1)).await;
    assert_eq!((entries(&beyond_ops).len(), next_after(&beyond_ops)), (0, next_after(&page)));

    // A raw transfer: its own entry, no event type or date; its accounts' code is not in the
    // chart (no name); the amount is at ledger 156's scale.
    let raw = &found[4];
    assert!(raw.get("event_type").is_none() && raw.get("business_date").is_none(), "{raw}");
    assert_eq!(
        raw["transfers"][0],
        json!({
            "transfer_id": "77",
            "debit": { "account_id": "1", "code": 1, "name": null },
            "credit": { "account_id": "2", "code": 1, "name": null },
            "amount": "0.10",
            "timestamp": fixture.stored_transfer(77).await.timestamp.to_string(),
        })
    );
    assert_eq!(page["next_after"], found[6]["last_timestamp"]);
    assert!(page["current_to"]["op"].is_string() && page["current_to"]["transfers"] == "13", "{page}");

    // Nothing after the end; nothing after u64::MAX.
    let after_end = get_ok(&router, &format!("/v1/journal?after={}", next_after(&page))).await;
    assert_eq!((entries(&after_end).len(), next_after(&after_end)), (0, next_after(&page)));
    let beyond = get_ok(&router, &format!("/v1/journal?after={}", u64::MAX)).await;
    assert_eq!((entries(&beyond).len(), next_after(&beyond)), (0, u64::MAX));
}

#[tokio::test]
async fn pages_of_any_size_walk_every_entry_once_whole_while_events_are_posted() {
    let fixture = Fixture::open();
    fixture
        .create_accounts(vec![
            account(RAW_DEBIT, AccountFlags::NONE),
            account(RAW_CREDIT, AccountFlags::NONE),
        ])
        .await;
    post_ok(&fixture, disbursement_story()).await;
    post_ok(&fixture, vec![repayment("REPAY-0", "1.00")]).await;
    let router = fixture.router();
    let mut raw_id = 1000;

    for limit in 1..=7_u32 {
        let mut walked: Vec<Value> = Vec::new();
        let mut after = 0;
        let mut page_number = 0;
        loop {
            let page = get_ok(&router, &format!("/v1/journal?after={after}&limit={limit}")).await;
            fits_the_schema(&page);
            let found = entries(&page);
            if found.is_empty() {
                assert_eq!(next_after(&page), after, "an empty page stays where it was");
                break;
            }
            let transfers: usize = found.iter().map(transfer_count).sum();
            let limit_usize = usize::try_from(limit).expect("small");
            assert!(
                transfers <= limit_usize || found.len() == 1,
                "limit {limit}: a page exceeds its limit only with one entry too long for it: {found:?}"
            );
            assert_eq!(page["next_after"], found[found.len() - 1]["last_timestamp"]);
            after = next_after(&page);
            walked.extend(found);
            // Between the first pages: an event, a raw transfer and a reversal.
            page_number += 1;
            if page_number <= 3 {
                let id = format!("REPAY-{limit}-{page_number}");
                post_ok(&fixture, vec![repayment(&id, "0.01")]).await;
                raw_id += 1;
                fixture.create_transfers(vec![transfer(raw_id, RAW_DEBIT, RAW_CREDIT, 1)]).await;
                post_ok(&fixture, vec![reversal(&format!("REV-{limit}-{page_number}"), &id)]).await;
            }
        }
        // Exactly the journal as one read sees it now: nothing lost, repeated or split.
        let whole = whole_journal(&router).await;
        assert_eq!(walked.len(), whole.len(), "limit {limit}");
        assert_eq!(walked, whole, "limit {limit}");
        let timestamps: Vec<u64> = whole
            .iter()
            .flat_map(|e| e["transfers"].as_array().cloned().unwrap_or_default())
            .map(|t| t["timestamp"].as_str().and_then(|s| s.parse().ok()).expect("a u64 timestamp"))
            .collect();
        assert!(timestamps.windows(2).all(|w| w[0] < w[1]), "commit order");
    }
    // 5 entries at first, then 3 after each of the first three pages of each of 7 walks.
    assert_eq!(whole_journal(&router).await.len(), 5 + 7 * 3 * 3);
}

#[tokio::test]
async fn bad_journal_parameters_are_refused() {
    let fixture = Fixture::open();
    let router = fixture.router();
    for (uri, code) in [
        ("/v1/journal?limit=0", "invalid_limit"),
        ("/v1/journal?limit=8190", "invalid_limit"),
        ("/v1/journal?after=-1", "invalid_query"),
        ("/v1/journal?after=x", "invalid_query"),
        ("/v1/journal?op=3", "invalid_query"),
        ("/v1/journal?from_op=3&after=1", "invalid_query"),
        ("/v1/journal?from_op=x", "invalid_query"),
    ] {
        let answer = get(&router, uri).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{uri}");
        assert_eq!(answer.error(), code, "{uri}");
    }
}
