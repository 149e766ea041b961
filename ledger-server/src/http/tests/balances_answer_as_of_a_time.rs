//! `GET /v1/accounts/{id}/balances`: the balance as of a time T is the newest history row at or
//! before T (zero with a null timestamp before the first); the balance history pages like the
//! transfers; accounts without the `history` flag answer 409.

use super::{Fixture, account, get, get_ok, pending, transfer, u64_field};
use axum::http::StatusCode;
use ledger_core::AccountFlags;
use serde_json::{Value, json};

const TRACKED: u128 = 1;
const PLAIN: u128 = 2;

/// TRACKED is debited 100, credited 30, then debited 7 pending; returns the three timestamps.
async fn fixture_with_history() -> (Fixture, [u64; 3]) {
    let fixture = Fixture::open();
    fixture
        .create_accounts(vec![account(TRACKED, AccountFlags::HISTORY), account(PLAIN, AccountFlags::NONE)])
        .await;
    // Separate batches, so the rows do not depend on how one batch is applied.
    fixture.create_transfers(vec![transfer(11, TRACKED, PLAIN, 100)]).await;
    fixture.create_transfers(vec![transfer(12, PLAIN, TRACKED, 30)]).await;
    fixture.create_transfers(vec![pending(13, TRACKED, PLAIN, 7)]).await;
    let mut timestamps = [0; 3];
    for (slot, id) in timestamps.iter_mut().zip([11, 12, 13]) {
        *slot = fixture.stored_transfer(id).await.timestamp;
    }
    (fixture, timestamps)
}

fn balance(debits_pending: u128, debits_posted: u128, credits_posted: u128, timestamp: u64) -> Value {
    json!({
        "debits_pending": debits_pending.to_string(),
        "debits_posted": debits_posted.to_string(),
        "credits_pending": "0",
        "credits_posted": credits_posted.to_string(),
        "timestamp": timestamp.to_string(),
    })
}

#[tokio::test]
async fn the_balance_at_a_time_is_the_newest_row_at_or_before_it() {
    let (fixture, [t1, t2, t3]) = fixture_with_history().await;
    let router = fixture.router();
    let at = |t: u64| format!("/v1/accounts/{TRACKED}/balances?at={t}");

    assert_eq!(get_ok(&router, &at(t1)).await, balance(0, 100, 0, t1));
    assert_eq!(get_ok(&router, &at(t2 - 1)).await, balance(0, 100, 0, t1), "between rows: the older one");
    assert_eq!(get_ok(&router, &at(t2)).await, balance(0, 100, 30, t2));
    assert_eq!(get_ok(&router, &at(t3)).await, balance(7, 100, 30, t3));
    assert_eq!(get_ok(&router, &at(u64::MAX)).await, balance(7, 100, 30, t3));

    let zero = json!({
        "debits_pending": "0",
        "debits_posted": "0",
        "credits_pending": "0",
        "credits_posted": "0",
        "timestamp": null,
    });
    assert_eq!(get_ok(&router, &at(t1 - 1)).await, zero, "before the first transfer");
    assert_eq!(get_ok(&router, &at(0)).await, zero, "0 is before everything, not unbounded");
}

#[tokio::test]
async fn the_balance_history_pages_by_cursor() {
    let (fixture, [t1, t2, t3]) = fixture_with_history().await;
    let router = fixture.router();

    let first = get_ok(&router, &format!("/v1/accounts/{TRACKED}/balances?limit=2")).await;
    assert_eq!(first["balances"], json!([balance(0, 100, 0, t1), balance(0, 100, 30, t2)]));
    let cursor = first["next_cursor"].as_str().expect("a full page has a cursor");
    let second = get_ok(&router, &format!("/v1/accounts/{TRACKED}/balances?limit=2&cursor={cursor}")).await;
    assert_eq!(second, json!({ "balances": [balance(7, 100, 30, t3)], "next_cursor": null }));

    let newest_first =
        get_ok(&router, &format!("/v1/accounts/{TRACKED}/balances?order=desc&from={t2}")).await;
    let timestamps: Vec<u64> = newest_first["balances"]
        .as_array()
        .expect("`balances` is an array")
        .iter()
        .map(|b| u64_field(b, "timestamp"))
        .collect();
    assert_eq!(timestamps, vec![t3, t2]);

    // A balances cursor does not continue the transfers listing.
    let transfers = get(&router, &format!("/v1/accounts/{TRACKED}/transfers?cursor={cursor}")).await;
    assert_eq!(transfers.status, StatusCode::BAD_REQUEST);
    assert_eq!(transfers.error(), "cursor_mismatch");
}

#[tokio::test]
async fn accounts_without_history_and_bad_parameters_are_refused() {
    let (fixture, [t1, ..]) = fixture_with_history().await;
    let router = fixture.router();
    for uri in [format!("/v1/accounts/{PLAIN}/balances"), format!("/v1/accounts/{PLAIN}/balances?at={t1}")] {
        let answer = get(&router, &uri).await;
        assert_eq!(answer.status, StatusCode::CONFLICT, "{uri}");
        assert_eq!(answer.error(), "account_has_no_history", "{uri}");
    }
    let unknown = get(&router, "/v1/accounts/404/balances?at=1").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.error(), "account_not_found");
    for (query, code) in [
        ("at=5&limit=2", "conflicting_parameters"),
        ("at=5&order=desc", "conflicting_parameters"),
        ("at=5&from=1", "conflicting_parameters"),
        ("at=x", "invalid_query"),
        ("side=debits", "invalid_query"),
        ("limit=9000", "invalid_limit"),
        ("from=3&to=2", "invalid_range"),
        ("cursor=00", "invalid_cursor"),
    ] {
        let answer = get(&router, &format!("/v1/accounts/{TRACKED}/balances?{query}")).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(answer.error(), code, "{query}");
    }
}
