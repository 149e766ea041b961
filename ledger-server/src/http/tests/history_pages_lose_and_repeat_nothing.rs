//! `GET /v1/accounts/{id}/transfers`: paging by cursor while transfers keep arriving returns
//! every transfer exactly once, in timestamp order; cursors are bound to their listing; the
//! parameters are validated.

use super::{Fixture, account, get, get_ok, transfer, u64_field, u128_field};
use axum::http::StatusCode;
use ledger_core::AccountFlags;
use serde_json::Value;

const PAYER: u128 = 1;
const PAYEE: u128 = 2;
const BYSTANDER: u128 = 3;

async fn fixture_with_transfers(count: u128) -> Fixture {
    let fixture = Fixture::open();
    fixture
        .create_accounts(vec![
            account(PAYER, AccountFlags::NONE),
            account(PAYEE, AccountFlags::NONE),
            account(BYSTANDER, AccountFlags::NONE),
        ])
        .await;
    // One batch of PAYER's transfers, interleaved with transfers PAYER has no part in.
    let mut transfers = Vec::new();
    for id in 1..=count {
        transfers.push(transfer(id, PAYER, PAYEE, id));
        transfers.push(transfer(1_000_000 + id, PAYEE, BYSTANDER, 1));
    }
    fixture.create_transfers(transfers).await;
    fixture
}

/// The ids and timestamps of a page's transfers.
fn items(page: &Value) -> Vec<(u128, u64)> {
    page["transfers"]
        .as_array()
        .expect("`transfers` is an array")
        .iter()
        .map(|t| (u128_field(t, "id"), u64_field(t, "timestamp")))
        .collect()
}

fn next_cursor(page: &Value) -> Option<String> {
    page["next_cursor"].as_str().map(str::to_owned)
}

#[tokio::test]
async fn ascending_pages_with_writes_between_them_return_every_transfer_once() {
    let fixture = fixture_with_transfers(25).await;
    let router = fixture.router();
    let mut seen = Vec::new();
    let mut next_id = 26;
    let mut uri = format!("/v1/accounts/{PAYER}/transfers?limit=10");
    let mut pages = 0;
    loop {
        let page = get_ok(&router, &uri).await;
        pages += 1;
        assert!(pages < 20, "the listing ends");
        let current_to = &page["current_to"];
        assert!(u64_field(current_to, "op") > 0 && u64_field(current_to, "transfers") > 0);
        seen.extend(items(&page));
        let Some(cursor) = next_cursor(&page) else { break };
        assert_eq!(items(&page).len(), 10, "only a full page has a next cursor");
        // New transfers between pages: they are newer than everything seen, so they belong at
        // the end of an ascending listing.
        let mut batch = Vec::new();
        for _ in 0..3 {
            batch.push(transfer(next_id, PAYER, PAYEE, 1));
            next_id += 1;
        }
        fixture.create_transfers(batch).await;
        uri = format!("/v1/accounts/{PAYER}/transfers?limit=10&cursor={cursor}");
    }
    let ids: Vec<u128> = seen.iter().map(|(id, _)| *id).collect();
    let expected: Vec<u128> = (1..next_id).collect();
    assert_eq!(ids, expected, "every transfer of the account once, oldest first");
    assert!(seen.windows(2).all(|w| w[0].1 < w[1].1), "timestamps strictly increase");
}

#[tokio::test]
async fn descending_pages_ignore_newer_writes_and_repeat_nothing() {
    let fixture = fixture_with_transfers(23).await;
    let router = fixture.router();
    let mut seen = Vec::new();
    let mut uri = format!("/v1/accounts/{PAYER}/transfers?limit=5&order=desc");
    for newer_id in 24..44 {
        let page = get_ok(&router, &uri).await;
        seen.extend(items(&page));
        let Some(cursor) = next_cursor(&page) else { break };
        fixture.create_transfers(vec![transfer(newer_id, PAYER, PAYEE, 1)]).await;
        // The cursor alone continues the listing: `order=desc` comes from it.
        uri = format!("/v1/accounts/{PAYER}/transfers?limit=5&cursor={cursor}");
    }
    let ids: Vec<u128> = seen.iter().map(|(id, _)| *id).collect();
    let expected: Vec<u128> = (1..=23).rev().collect();
    assert_eq!(ids, expected, "the transfers that existed at the first page, newest first");
}

#[tokio::test]
async fn side_and_time_range_filter_the_listing() {
    let fixture = fixture_with_transfers(6).await;
    let router = fixture.router();
    let all = items(&get_ok(&router, &format!("/v1/accounts/{PAYEE}/transfers")).await);
    assert_eq!(all.len(), 12, "PAYEE is credited 6 times and debited 6 times");
    let credits = items(&get_ok(&router, &format!("/v1/accounts/{PAYEE}/transfers?side=credits")).await);
    assert_eq!(credits.iter().map(|(id, _)| *id).collect::<Vec<_>>(), (1..=6).collect::<Vec<_>>());
    let debits = items(&get_ok(&router, &format!("/v1/accounts/{PAYEE}/transfers?side=debits")).await);
    assert_eq!(
        debits.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
        (1_000_001..=1_000_006).collect::<Vec<_>>()
    );

    let payer = items(&get_ok(&router, &format!("/v1/accounts/{PAYER}/transfers")).await);
    let (from, to) = (payer[1].1, payer[3].1);
    let ranged =
        items(&get_ok(&router, &format!("/v1/accounts/{PAYER}/transfers?from={from}&to={to}")).await);
    assert_eq!(ranged, payer[1..=3].to_vec(), "from and to are inclusive");

    // A range that ends mid-listing also bounds the following pages.
    let first = get_ok(&router, &format!("/v1/accounts/{PAYER}/transfers?to={to}&limit=2")).await;
    assert_eq!(items(&first), payer[0..2].to_vec());
    let cursor = next_cursor(&first).expect("a full page");
    let second = get_ok(&router, &format!("/v1/accounts/{PAYER}/transfers?cursor={cursor}&limit=2")).await;
    assert_eq!(items(&second), payer[2..4].to_vec());
    let cursor = next_cursor(&second).expect("a full page");
    let third = get_ok(&router, &format!("/v1/accounts/{PAYER}/transfers?cursor={cursor}")).await;
    assert!(items(&third).is_empty());
    assert!(third["next_cursor"].is_null());
}

#[tokio::test]
async fn cursors_are_bound_to_their_listing_and_parameters_are_checked() {
    let fixture = fixture_with_transfers(3).await;
    let router = fixture.router();
    let page = get_ok(&router, &format!("/v1/accounts/{PAYER}/transfers?limit=1&side=debits")).await;
    let cursor = next_cursor(&page).expect("a full page");

    let continued =
        get_ok(&router, &format!("/v1/accounts/{PAYER}/transfers?limit=1&side=debits&cursor={cursor}")).await;
    assert_eq!(items(&continued).first().map(|(id, _)| *id), Some(2));

    for (uri, code) in [
        (format!("/v1/accounts/{PAYER}/transfers?side=both&cursor={cursor}"), "cursor_mismatch"),
        (format!("/v1/accounts/{PAYER}/transfers?order=desc&cursor={cursor}"), "cursor_mismatch"),
        (format!("/v1/accounts/{PAYER}/transfers?from=5&cursor={cursor}"), "cursor_mismatch"),
        (format!("/v1/accounts/{PAYEE}/transfers?cursor={cursor}"), "cursor_mismatch"),
        // Parameters are checked before the account's `history` flag, so this is not a 409.
        (format!("/v1/accounts/{PAYER}/balances?cursor={cursor}"), "cursor_mismatch"),
        (format!("/v1/accounts/{PAYER}/transfers?cursor={}", &cursor[..40]), "invalid_cursor"),
        (format!("/v1/accounts/{PAYER}/transfers?cursor={}0", &cursor[..cursor.len() - 1]), "invalid_cursor"),
        (format!("/v1/accounts/{PAYER}/transfers?limit=0"), "invalid_limit"),
        (format!("/v1/accounts/{PAYER}/transfers?limit=8190"), "invalid_limit"),
        (format!("/v1/accounts/{PAYER}/transfers?from=9&to=8"), "invalid_range"),
        (format!("/v1/accounts/{PAYER}/transfers?limt=10"), "invalid_query"),
        (format!("/v1/accounts/{PAYER}/transfers?order=up"), "invalid_query"),
        (format!("/v1/accounts/{PAYER}/transfers?from=-1"), "invalid_query"),
        ("/v1/accounts/0/transfers".to_owned(), "invalid_id"),
    ] {
        let answer = get(&router, &uri).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{uri}");
        assert_eq!(answer.error(), code, "{uri}");
    }
    let full = get_ok(&router, &format!("/v1/accounts/{PAYER}/transfers?limit=8189")).await;
    assert_eq!(items(&full).len(), 3);
    assert!(full["next_cursor"].is_null());

    let unknown = get(&router, "/v1/accounts/99/transfers").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.error(), "account_not_found");
}
