//! Prometheus metrics: the recorder (installed once per process by `ledger serve`) and the
//! few recording points. Recording goes through the `metrics` facade, so without an installed
//! recorder (tests, tools) it costs a no-op call. Nothing here runs per event: per request,
//! per merged batch, per durable group.

use ledger_durability::durable_writer::DurablePoint;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

pub const EVENTS_TOTAL: &str = "ledger_events_total";
pub const REQUESTS_TOTAL: &str = "ledger_requests_total";
pub const REQUEST_SECONDS: &str = "ledger_request_seconds";
pub const BATCH_EVENTS: &str = "ledger_batch_events";
pub const BATCH_REQUESTS: &str = "ledger_batch_requests";
pub const FSYNC_SECONDS: &str = "ledger_fsync_seconds";
pub const GROUP_RECORDS: &str = "ledger_wal_group_records";
pub const QUEUE_DEPTH: &str = "ledger_queue_depth";
pub const DURABLE_OP: &str = "ledger_durable_op";
pub const INDEX_LAG: &str = "ledger_index_lag_transfers";
pub const REJECTED_FRAMES_TOTAL: &str = "ledger_rejected_frames_total";
pub const CONNECTIONS: &str = "ledger_connections";

/// Installs the process-wide Prometheus recorder; `None` if one is installed already.
pub fn install() -> Option<PrometheusHandle> {
    let seconds = [0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0];
    let events = [1.0, 8.0, 64.0, 256.0, 1024.0, 4096.0, 8189.0];
    PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Full(FSYNC_SECONDS.into()), &seconds)
        .and_then(|b| b.set_buckets_for_metric(Matcher::Full(BATCH_EVENTS.into()), &events))
        .and_then(|b| b.set_buckets_for_metric(Matcher::Full(BATCH_REQUESTS.into()), &events))
        .and_then(|b| b.set_buckets_for_metric(Matcher::Full(GROUP_RECORDS.into()), &events))
        .ok()?
        .install_recorder()
        .ok()
}

/// On the WAL thread, after each durable group (and once at start).
pub fn record_durable(point: &DurablePoint) {
    if point.records > 0 {
        metrics::histogram!(FSYNC_SECONDS).record(point.sync_ns as f64 / 1e9);
        metrics::histogram!(GROUP_RECORDS).record(point.records as f64);
    }
    metrics::gauge!(DURABLE_OP).set(point.op as f64);
}

/// On the intake thread, per request taken.
pub fn record_queue_depth(depth: usize) {
    metrics::gauge!(QUEUE_DEPTH).set(depth as f64);
}

/// On the intake thread, per engine batch: its events and how many requests were merged.
pub fn record_batch(events: usize, requests: usize) {
    metrics::histogram!(BATCH_EVENTS).record(events as f64);
    metrics::histogram!(BATCH_REQUESTS).record(requests as f64);
}

/// Per answered request of the binary protocol: its outcome, its events, and how long the
/// server held it (from the frame read to the answer encoded, durability included).
pub fn record_request(operation: &'static str, status: &'static str, events: usize, seconds: f64) {
    metrics::counter!(REQUESTS_TOTAL, "operation" => operation, "status" => status).increment(1);
    metrics::counter!(EVENTS_TOTAL, "operation" => operation).increment(events as u64);
    metrics::histogram!(REQUEST_SECONDS, "operation" => operation).record(seconds);
}

pub fn record_rejected_frame(reason: &'static str) {
    metrics::counter!(REJECTED_FRAMES_TOTAL, "reason" => reason).increment(1);
}

pub fn record_connections(open: usize) {
    metrics::gauge!(CONNECTIONS).set(open as f64);
}
