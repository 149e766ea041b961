//! The HTTP read API: accounts, transfers, an account's transfer and balance history, journal
//! views of standard ledger events and their change feed (long-poll and Server-Sent Events,
//! `feed.rs`), the trial balance, the finance exports (streamed CSV or JSON lines,
//! `exports.rs`), health, Prometheus metrics and the OpenAPI document (`docs/http.md`).
//!
//! Every handler is a thin translation: parse the path and query, call `LedgerService`, shape
//! the answer with `crate::json`. Reads are answered by the writer between batches or by the
//! history index thread; no handler holds a lock across an await, so a slow client never
//! delays the writer.
//!
//! The routes are listed once, in `Endpoint::ALL`: the router and the OpenAPI document are both
//! built from that list (with exhaustive matches), so neither can serve or describe a route the
//! other does not know.

pub mod auth;
pub mod cursor;
pub mod error;
pub mod exports;
pub mod feed;
mod health;
mod history;
pub(crate) mod journal;
pub mod openapi;
mod params;
mod records;
#[cfg(test)]
mod tests;
pub mod trial_balance;

use crate::service::LedgerService;
use axum::Router;
use axum::routing::{MethodRouter, get};
use error::{ApiError, ErrorCode};
use metrics_exporter_prometheus::PrometheusHandle;
use std::sync::Arc;

/// What the router needs.
#[derive(Clone, Debug)]
pub struct HttpState {
    pub service: LedgerService,
    /// With a token, every route but `/healthz` needs `Authorization: Bearer <token>`.
    pub token: Option<Arc<str>>,
    /// The recorder's handle, for `/metrics`; without one, `/metrics` answers 404.
    pub metrics: Option<PrometheusHandle>,
}

/// One route of the API. `ALL` is the single list the router and the OpenAPI document share.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    Health,
    HealthV1,
    Metrics,
    OpenApi,
    Account,
    Transfer,
    AccountTransfers,
    AccountBalances,
    Event,
    Journal,
    JournalStream,
    TrialBalance,
    ExportJournal,
    ExportTrialBalance,
}

impl Endpoint {
    pub const ALL: [Self; 14] = [
        Self::Health,
        Self::HealthV1,
        Self::Metrics,
        Self::OpenApi,
        Self::Account,
        Self::Transfer,
        Self::AccountTransfers,
        Self::AccountBalances,
        Self::Event,
        Self::Journal,
        Self::JournalStream,
        Self::TrialBalance,
        Self::ExportJournal,
        Self::ExportTrialBalance,
    ];

    /// The path, in axum's (and OpenAPI's) `{param}` syntax. Every route is a `GET`.
    #[must_use]
    pub const fn path(self) -> &'static str {
        match self {
            Self::Health => "/healthz",
            Self::HealthV1 => "/v1/healthz",
            Self::Metrics => "/metrics",
            Self::OpenApi => "/openapi.json",
            Self::Account => "/v1/accounts/{id}",
            Self::Transfer => "/v1/transfers/{id}",
            Self::AccountTransfers => "/v1/accounts/{id}/transfers",
            Self::AccountBalances => "/v1/accounts/{id}/balances",
            Self::Event => "/v1/events/{event_id}",
            Self::Journal => "/v1/journal",
            Self::JournalStream => "/v1/journal/stream",
            Self::TrialBalance => "/v1/ledgers/{id}/trial-balance",
            Self::ExportJournal => "/v1/exports/journal",
            Self::ExportTrialBalance => "/v1/exports/trial-balance",
        }
    }

    /// Whether a configured token is required. Only the bare `/healthz` is open, for load
    /// balancers and orchestrators that cannot hold a secret.
    #[must_use]
    pub const fn requires_auth(self) -> bool {
        !matches!(self, Self::Health)
    }

    fn method_router(self) -> MethodRouter<HttpState> {
        match self {
            Self::Health | Self::HealthV1 => get(health::health),
            Self::Metrics => get(health::metrics),
            Self::OpenApi => get(openapi::serve),
            Self::Account => get(records::account),
            Self::Transfer => get(records::transfer),
            Self::AccountTransfers => get(history::account_transfers),
            Self::AccountBalances => get(history::account_balances),
            Self::Event => get(journal::event),
            Self::Journal => get(journal::journal),
            Self::JournalStream => get(feed::stream),
            Self::TrialBalance => get(trial_balance::trial_balance),
            Self::ExportJournal => get(exports::journal),
            Self::ExportTrialBalance => get(exports::trial_balance),
        }
    }
}

/// The API's router. Unknown paths answer 404 `route_not_found` and other methods 405
/// `method_not_allowed`, both without asking for the token.
pub fn router(state: HttpState) -> Router {
    let mut open = Router::new();
    let mut guarded = Router::new();
    for endpoint in Endpoint::ALL {
        if endpoint.requires_auth() {
            guarded = guarded.route(endpoint.path(), endpoint.method_router());
        } else {
            open = open.route(endpoint.path(), endpoint.method_router());
        }
    }
    if let Some(token) = &state.token {
        let auth = Arc::new(auth::BearerAuth::new(Arc::clone(token)));
        guarded = guarded.route_layer(axum::middleware::from_fn_with_state(auth, auth::require_bearer));
    }
    open.merge(guarded)
        .fallback(route_not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

async fn route_not_found() -> ApiError {
    ApiError::bare(ErrorCode::RouteNotFound)
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(ErrorCode::MethodNotAllowed, "the HTTP API is read-only: every route is GET")
}
