//! With a token, every route but `/healthz` needs `Authorization: Bearer <token>`; without
//! one, nothing is checked.

use super::standard_events::{disbursement_story, post_ok};
use super::{Fixture, account, send, transfer};
use crate::http::Endpoint;
use axum::http::{StatusCode, header};
use ledger_core::AccountFlags;
use serde_json::json;

const TOKEN: &str = "correct horse battery staple";

/// A concrete URI for each route (account 1, transfer 1 and event DISB-1 exist where it matters).
fn uri_of(endpoint: Endpoint) -> String {
    endpoint.path().replace("{id}", "1").replace("{event_id}", "DISB-1")
}

#[tokio::test]
async fn with_a_token_only_healthz_is_open() {
    let fixture = Fixture::open();
    fixture.create_accounts(vec![account(1, AccountFlags::HISTORY), account(2, AccountFlags::NONE)]).await;
    fixture.create_transfers(vec![transfer(1, 1, 2, 10)]).await;
    post_ok(&fixture, disbursement_story()).await;
    let router = fixture.router_with(Some(TOKEN), None);
    let bearer = format!("Bearer {TOKEN}");
    // The journal stream ends once the feeds are closed, so its whole answer can be read.
    fixture.service().close_feeds();

    for endpoint in Endpoint::ALL {
        let uri = uri_of(endpoint);
        let anonymous = send(&router, "GET", &uri, None).await;
        if endpoint.requires_auth() {
            assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED, "{uri}");
            assert_eq!(anonymous.json(), json!({ "error": "unauthorized" }), "{uri}");
            assert_eq!(
                anonymous.headers.get(header::WWW_AUTHENTICATE).map(|v| v.as_bytes()),
                Some(&b"Bearer"[..])
            );
            for wrong in ["Bearer wrong", "Basic Y29ycmVjdA==", "Bearer", TOKEN, &format!("Bearer {TOKEN}x")]
            {
                let refused = send(&router, "GET", &uri, Some(wrong)).await;
                assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{uri} with {wrong}");
            }
        } else {
            assert_eq!(anonymous.status, StatusCode::OK, "{uri}");
        }
        let authorised = send(&router, "GET", &uri, Some(&bearer)).await;
        assert_ne!(authorised.status, StatusCode::UNAUTHORIZED, "{uri} with the token");
        assert!(authorised.status.is_success() || uri == "/metrics", "{uri}: {}", authorised.status);
    }
    let lowercase = send(&router, "GET", "/v1/accounts/1", Some(&format!("bearer {TOKEN}"))).await;
    assert_eq!(lowercase.status, StatusCode::OK, "the scheme is case-insensitive");

    // Unknown routes do not reveal whether they would need the token.
    let unknown = send(&router, "GET", "/v1/nothing", None).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn without_a_token_nothing_is_checked() {
    let fixture = Fixture::open();
    fixture.create_accounts(vec![account(1, AccountFlags::HISTORY)]).await;
    let router = fixture.router();
    // The journal stream ends once the feeds are closed, so its whole answer can be read.
    fixture.service().close_feeds();
    for endpoint in Endpoint::ALL {
        let uri = uri_of(endpoint);
        let answer = send(&router, "GET", &uri, Some("Bearer anything")).await;
        assert_ne!(answer.status, StatusCode::UNAUTHORIZED, "{uri}");
        let answer = send(&router, "GET", &uri, None).await;
        assert_ne!(answer.status, StatusCode::UNAUTHORIZED, "{uri}");
    }
}
