//! `GET /healthz`, `GET /v1/healthz` and `GET /metrics`.

use super::HttpState;
use super::error::{ApiError, ErrorCode};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// The Prometheus text exposition format's content type.
const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Liveness plus where durability and the history index stand. Reads three counters; never
/// waits on the writer, so it answers even while the writer is busy or stuck.
pub async fn health(State(state): State<HttpState>) -> Json<Value> {
    let durable_op = state.service.durable_op();
    let position = state.service.index_position();
    let announced = state.service.index_announced();
    Json(json!({
        "status": "ok",
        "durable_op": durable_op.to_string(),
        "index": {
            "op": position.op.to_string(),
            "transfers": position.transfers.to_string(),
            "lag_transfers": announced.transfers.saturating_sub(position.transfers).to_string(),
        },
    }))
}

/// The Prometheus text of every metric. The index gauges are refreshed from the service at
/// scrape time, so they are current even when nothing is being written.
pub async fn metrics(State(state): State<HttpState>) -> Result<Response, ApiError> {
    let Some(handle) = &state.metrics else {
        return Err(ApiError::new(
            ErrorCode::MetricsNotEnabled,
            "the server runs without a metrics recorder",
        ));
    };
    let position = state.service.index_position();
    let announced = state.service.index_announced();
    // Gauges are f64 by Prometheus' data model; counts below 2^53 are exact.
    let lag = announced.transfers.saturating_sub(position.transfers) as f64;
    metrics::gauge!(crate::serve::metrics::INDEX_LAG).set(lag);
    // Without an exporter task, histogram buckets are drained only by upkeep; doing it per
    // scrape keeps their memory bounded by the scrape interval.
    handle.run_upkeep();
    let mut response = handle.render().into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(PROMETHEUS_TEXT));
    Ok(response)
}
