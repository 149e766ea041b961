//! Behaviour tests of the HTTP API, in-process: a `RunningLedger` on a temporary data
//! directory, records created through `LedgerService`, requests sent to the router with
//! `tower::ServiceExt::oneshot`. One module per behaviour.
//!
//! They live beside the code rather than in `ledger-server/tests/` because the package is a
//! binary only: an integration test cannot reach the router or the service.
//! `ledger-server/tests/http_served_by_ledger_serve.rs` covers the real server end to end.

mod an_event_shows_its_entry_accounts_and_reversal;
mod auth_guards_every_route_but_healthz;
mod balance_rows_sharing_a_timestamp_page_exactly;
mod balances_answer_as_of_a_time;
mod health_and_metrics_report_progress;
mod history_pages_lose_and_repeat_nothing;
mod journal_pages_walk_every_entry_once;
mod openapi_describes_exactly_the_served_routes;
mod records_are_served_as_json;
mod schema;
mod standard_events;

use super::{HttpState, router};
use crate::service::{LedgerService, RunningLedger, ServiceConfig};
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use http_body_util::BodyExt;
use ledger_core::{Account, AccountFlags, Transfer, TransferFlags};
use metrics_exporter_prometheus::PrometheusHandle;
use serde_json::Value;
use std::sync::Arc;
use tower::ServiceExt;

pub const LEDGER: u32 = 156;
pub const CODE: u16 = 1;

/// A ledger on a temporary directory, removed after the ledger has stopped (fields drop in
/// declaration order).
pub struct Fixture {
    ledger: RunningLedger,
    _dir: tempfile::TempDir,
}

impl Fixture {
    pub fn open() -> Self {
        let dir = tempfile::tempdir().expect("create a temporary data directory");
        let ledger = RunningLedger::open(ServiceConfig::in_dir(dir.path())).expect("open the ledger");
        Self { ledger, _dir: dir }
    }

    pub fn service(&self) -> &LedgerService {
        &self.ledger.service
    }

    /// The router without a token or metrics.
    pub fn router(&self) -> Router {
        self.router_with(None, None)
    }

    pub fn router_with(&self, token: Option<&str>, metrics: Option<PrometheusHandle>) -> Router {
        router(HttpState { service: self.ledger.service.clone(), token: token.map(Arc::from), metrics })
    }

    pub async fn create_accounts(&self, accounts: Vec<Account>) {
        let failed = self.service().create_accounts(accounts).await.expect("the service answers");
        assert!(failed.is_empty(), "every account is created: {failed:?}");
    }

    pub async fn create_transfers(&self, transfers: Vec<Transfer>) {
        let failed = self.service().create_transfers(transfers).await.expect("the service answers");
        assert!(failed.is_empty(), "every transfer is created: {failed:?}");
    }

    /// The transfer as stored (with the timestamp the writer gave it).
    pub async fn stored_transfer(&self, id: u128) -> Transfer {
        let found = self.service().lookup_transfers(vec![id]).await.expect("the service answers");
        *found.first().expect("the transfer exists")
    }
}

pub fn account(id: u128, flags: AccountFlags) -> Account {
    Account { id, ledger: LEDGER, code: CODE, flags, ..Account::default() }
}

pub fn transfer(id: u128, debit_account_id: u128, credit_account_id: u128, amount: u128) -> Transfer {
    Transfer {
        id,
        debit_account_id,
        credit_account_id,
        amount,
        ledger: LEDGER,
        code: CODE,
        ..Transfer::default()
    }
}

pub fn pending(id: u128, debit_account_id: u128, credit_account_id: u128, amount: u128) -> Transfer {
    Transfer { flags: TransferFlags::PENDING, ..transfer(id, debit_account_id, credit_account_id, amount) }
}

/// One answer: status, headers and body bytes.
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("the body is JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn text(&self) -> String {
        String::from_utf8(self.body.clone()).expect("the body is UTF-8")
    }

    /// The `error` code of an error answer.
    pub fn error(&self) -> String {
        self.json()["error"].as_str().expect("an error answer has an `error` string").to_owned()
    }
}

pub async fn send(router: &Router, method: &str, uri: &str, authorization: Option<&str>) -> Answer {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(value) = authorization {
        request = request.header(header::AUTHORIZATION, value);
    }
    let request = request.body(Body::empty()).expect("a well-formed request");
    let response = router.clone().oneshot(request).await.expect("the router is infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.expect("read the body").to_bytes().to_vec();
    Answer { status, headers, body }
}

pub async fn get(router: &Router, uri: &str) -> Answer {
    send(router, "GET", uri, None).await
}

/// GETs `uri`, expects 200 and returns the JSON body.
pub async fn get_ok(router: &Router, uri: &str) -> Value {
    let answer = get(router, uri).await;
    assert_eq!(answer.status, StatusCode::OK, "GET {uri}: {}", String::from_utf8_lossy(&answer.body));
    answer.json()
}

/// A decimal-string field as a number.
pub fn u128_field(value: &Value, field: &str) -> u128 {
    value[field]
        .as_str()
        .unwrap_or_else(|| panic!("`{field}` is a string in {value}"))
        .parse()
        .unwrap_or_else(|e| panic!("`{field}` is a decimal u128 in {value}: {e}"))
}

pub fn u64_field(value: &Value, field: &str) -> u64 {
    value[field]
        .as_str()
        .unwrap_or_else(|| panic!("`{field}` is a string in {value}"))
        .parse()
        .unwrap_or_else(|e| panic!("`{field}` is a decimal u64 in {value}: {e}"))
}
