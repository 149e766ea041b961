//! `/healthz` reports the durable op and the history index's position; `/metrics` renders the
//! recorder's metrics, with the index lag refreshed at scrape time.

use super::{Fixture, account, get, get_ok, transfer, u64_field};
use axum::http::{StatusCode, header};
use ledger_core::AccountFlags;
use metrics_exporter_prometheus::PrometheusHandle;
use std::sync::OnceLock;

/// The process-wide recorder: installed once for all tests in this binary.
fn installed_recorder() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| crate::serve::metrics::install().expect("no other recorder is installed")).clone()
}

#[tokio::test]
async fn health_reports_the_durable_op_and_the_index_position() {
    let fixture = Fixture::open();
    fixture.create_accounts(vec![account(1, AccountFlags::NONE), account(2, AccountFlags::NONE)]).await;
    fixture.create_transfers(vec![transfer(1, 1, 2, 5), transfer(2, 1, 2, 6)]).await;
    // A history read passes the index, so afterwards the index has ingested both transfers.
    get_ok(&fixture.router(), "/v1/accounts/1/transfers").await;

    for path in ["/healthz", "/v1/healthz"] {
        let body = get_ok(&fixture.router(), path).await;
        assert_eq!(body["status"], "ok");
        let durable_op = u64_field(&body, "durable_op");
        assert!(durable_op >= 2, "two batches are durable: {body}");
        assert_eq!(durable_op, fixture.service().durable_op());
        let index = &body["index"];
        assert!(u64_field(index, "transfers") >= 2, "{body}");
        assert!(u64_field(index, "op") <= durable_op, "the index never runs ahead of durability");
        // Nothing was written since the index caught up, so it has nothing left to ingest.
        assert_eq!(u64_field(index, "lag_transfers"), 0, "{body}");
    }
}

#[tokio::test]
async fn metrics_render_the_recorders_text_with_the_index_gauge() {
    let fixture = Fixture::open();
    let handle = installed_recorder();
    fixture.create_accounts(vec![account(1, AccountFlags::NONE), account(2, AccountFlags::NONE)]).await;
    fixture.create_transfers(vec![transfer(1, 1, 2, 5)]).await;

    let answer = get(&fixture.router_with(None, Some(handle)), "/metrics").await;
    assert_eq!(answer.status, StatusCode::OK);
    let content_type = answer.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
    let text = answer.text();
    for metric in ["ledger_index_lag_transfers", "ledger_durable_op", "ledger_batch_events"] {
        assert!(text.contains(metric), "`{metric}` is in:\n{text}");
    }

    let disabled = get(&fixture.router(), "/metrics").await;
    assert_eq!(disabled.status, StatusCode::NOT_FOUND);
    assert_eq!(disabled.error(), "metrics_not_enabled");
}
