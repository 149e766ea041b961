//! `GET /v1/accounts/{id}` and `GET /v1/transfers/{id}`: every field, wide integers as
//! strings, flags by name; 404 for unknown ids, 400 for ids that are not ids; JSON errors for
//! unknown routes and other methods.

use super::{Fixture, LEDGER, account, get, get_ok, pending, send, transfer};
use axum::http::StatusCode;
use ledger_core::AccountFlags;
use serde_json::json;

#[tokio::test]
async fn an_account_is_served_with_every_field() {
    let fixture = Fixture::open();
    let big = u128::MAX - 1;
    let mut holder = account(big, AccountFlags::HISTORY | AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS);
    holder.user_data_128 = u128::from(u64::MAX) + 1;
    holder.user_data_64 = u64::MAX;
    holder.user_data_32 = 7;
    fixture.create_accounts(vec![holder, account(2, AccountFlags::NONE)]).await;
    fixture.create_transfers(vec![transfer(10, 2, big, 500)]).await;

    let router = fixture.router();
    let body = get_ok(&router, &format!("/v1/accounts/{big}")).await;
    let timestamp = body["timestamp"].as_str().expect("timestamp is a string").to_owned();
    assert!(timestamp.parse::<u64>().expect("decimal") > 0);
    assert_eq!(
        body,
        json!({
            "id": big.to_string(),
            "ledger": LEDGER,
            "code": 1,
            "flags": ["debits_must_not_exceed_credits", "history"],
            "debits_pending": "0",
            "debits_posted": "0",
            "credits_pending": "0",
            "credits_posted": "500",
            "user_data_128": "18446744073709551616",
            "user_data_64": "18446744073709551615",
            "user_data_32": 7,
            "timestamp": timestamp,
        })
    );
}

#[tokio::test]
async fn a_transfer_is_served_with_every_field() {
    let fixture = Fixture::open();
    fixture.create_accounts(vec![account(1, AccountFlags::NONE), account(2, AccountFlags::NONE)]).await;
    let mut reservation = pending(77, 1, 2, 12_345);
    reservation.timeout = 3600;
    reservation.user_data_64 = 9;
    fixture.create_transfers(vec![reservation]).await;
    let stored = fixture.stored_transfer(77).await;

    let body = get_ok(&fixture.router(), "/v1/transfers/77").await;
    assert_eq!(
        body,
        json!({
            "id": "77",
            "debit_account_id": "1",
            "credit_account_id": "2",
            "amount": "12345",
            "pending_id": "0",
            "user_data_128": "0",
            "user_data_64": "9",
            "user_data_32": 0,
            "timeout": 3600,
            "ledger": LEDGER,
            "code": 1,
            "flags": ["pending"],
            "timestamp": stored.timestamp.to_string(),
        })
    );
}

#[tokio::test]
async fn unknown_ids_are_404_and_malformed_ids_are_400() {
    let fixture = Fixture::open();
    fixture.create_accounts(vec![account(1, AccountFlags::NONE)]).await;
    let router = fixture.router();

    let missing = get(&router, "/v1/accounts/2").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.json(), json!({ "error": "account_not_found" }));
    let missing = get(&router, "/v1/transfers/1").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.json(), json!({ "error": "transfer_not_found" }));

    for bad in [
        "abc",
        "-1",
        "0",
        "340282366920938463463374607431768211455",
        "340282366920938463463374607431768211456",
        "1.0",
        "%20",
    ] {
        for route in ["accounts", "transfers"] {
            let answer = get(&router, &format!("/v1/{route}/{bad}")).await;
            assert_eq!(answer.status, StatusCode::BAD_REQUEST, "/v1/{route}/{bad}");
            assert_eq!(answer.error(), "invalid_id", "/v1/{route}/{bad}");
            assert!(answer.json()["detail"].is_string(), "an invalid id says why");
        }
    }
}

#[tokio::test]
async fn unknown_routes_and_other_methods_answer_json() {
    let fixture = Fixture::open();
    let router = fixture.router();
    for path in ["/", "/v1", "/v1/accounts", "/v1/accounts/1/nothing", "/v2/accounts/1"] {
        let answer = get(&router, path).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(answer.error(), "route_not_found", "{path}");
    }
    let answer = send(&router, "POST", "/v1/accounts/1", None).await;
    assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(answer.error(), "method_not_allowed");
    let head = send(&router, "HEAD", "/healthz", None).await;
    assert_eq!(head.status, StatusCode::OK);
}
