//! Error answers: a status and a JSON body `{"error": "snake_case_code", "detail": "..."}`.
//!
//! The codes are stable and documented (`docs/http.md`, `ErrorCode::ALL` feeds the OpenAPI
//! document); `detail` is for people and may change.

use crate::service::ServiceError;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// How long a client should wait before retrying a 503, in seconds. The causes (a full queue,
/// a disk that refused a write) clear within a batch or two, or need an operator.
pub const RETRY_AFTER_SECONDS: u32 = 1;

/// Every error code the API answers with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidId,
    InvalidQuery,
    InvalidLimit,
    InvalidRange,
    InvalidCursor,
    CursorMismatch,
    ConflictingParameters,
    Rejected,
    Unauthorized,
    AccountNotFound,
    TransferNotFound,
    RouteNotFound,
    MetricsNotEnabled,
    MethodNotAllowed,
    AccountHasNoHistory,
    Failed,
    Unavailable,
    Overloaded,
    ShuttingDown,
}

impl ErrorCode {
    pub const ALL: [Self; 19] = [
        Self::InvalidId,
        Self::InvalidQuery,
        Self::InvalidLimit,
        Self::InvalidRange,
        Self::InvalidCursor,
        Self::CursorMismatch,
        Self::ConflictingParameters,
        Self::Rejected,
        Self::Unauthorized,
        Self::AccountNotFound,
        Self::TransferNotFound,
        Self::RouteNotFound,
        Self::MetricsNotEnabled,
        Self::MethodNotAllowed,
        Self::AccountHasNoHistory,
        Self::Failed,
        Self::Unavailable,
        Self::Overloaded,
        Self::ShuttingDown,
    ];

    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::InvalidId => "invalid_id",
            Self::InvalidQuery => "invalid_query",
            Self::InvalidLimit => "invalid_limit",
            Self::InvalidRange => "invalid_range",
            Self::InvalidCursor => "invalid_cursor",
            Self::CursorMismatch => "cursor_mismatch",
            Self::ConflictingParameters => "conflicting_parameters",
            Self::Rejected => "rejected",
            Self::Unauthorized => "unauthorized",
            Self::AccountNotFound => "account_not_found",
            Self::TransferNotFound => "transfer_not_found",
            Self::RouteNotFound => "route_not_found",
            Self::MetricsNotEnabled => "metrics_not_enabled",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::AccountHasNoHistory => "account_has_no_history",
            Self::Failed => "failed",
            Self::Unavailable => "unavailable",
            Self::Overloaded => "overloaded",
            Self::ShuttingDown => "shutting_down",
        }
    }

    #[must_use]
    pub const fn status(self) -> StatusCode {
        match self {
            Self::InvalidId
            | Self::InvalidQuery
            | Self::InvalidLimit
            | Self::InvalidRange
            | Self::InvalidCursor
            | Self::CursorMismatch
            | Self::ConflictingParameters
            | Self::Rejected => StatusCode::BAD_REQUEST,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::AccountNotFound
            | Self::TransferNotFound
            | Self::RouteNotFound
            | Self::MetricsNotEnabled => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::AccountHasNoHistory => StatusCode::CONFLICT,
            Self::Failed => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Unavailable | Self::Overloaded | Self::ShuttingDown => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

/// An error answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    pub code: ErrorCode,
    pub detail: Option<String>,
}

impl ApiError {
    #[must_use]
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self { code, detail: Some(detail.into()) }
    }

    #[must_use]
    pub const fn bare(code: ErrorCode) -> Self {
        Self { code, detail: None }
    }
}

impl From<ServiceError> for ApiError {
    fn from(error: ServiceError) -> Self {
        let code = match &error {
            ServiceError::Unavailable(_) => ErrorCode::Unavailable,
            ServiceError::Overloaded => ErrorCode::Overloaded,
            ServiceError::ShuttingDown => ErrorCode::ShuttingDown,
            ServiceError::Failed(_) => ErrorCode::Failed,
            ServiceError::Rejected(_) => ErrorCode::Rejected,
        };
        Self::new(code, error.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.code.status();
        if status.is_server_error() {
            tracing::error!(code = self.code.name(), detail = self.detail.as_deref(), "http read failed");
        }
        let body = match &self.detail {
            Some(detail) => json!({ "error": self.code.name(), "detail": detail }),
            None => json!({ "error": self.code.name() }),
        };
        let mut response = (status, axum::Json(body)).into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_a_distinct_snake_case_name() {
        let mut names: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.name()).collect();
        assert!(names.iter().all(|n| n.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')));
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ErrorCode::ALL.len());
    }

    #[test]
    fn service_errors_map_to_503_with_retry_after_or_500() {
        for (error, status, retry) in [
            (ServiceError::Overloaded, StatusCode::SERVICE_UNAVAILABLE, true),
            (ServiceError::ShuttingDown, StatusCode::SERVICE_UNAVAILABLE, true),
            (ServiceError::Unavailable("disk full".into()), StatusCode::SERVICE_UNAVAILABLE, true),
            (ServiceError::Failed("wal".into()), StatusCode::INTERNAL_SERVER_ERROR, false),
        ] {
            let response = ApiError::from(error).into_response();
            assert_eq!(response.status(), status);
            assert_eq!(response.headers().contains_key(header::RETRY_AFTER), retry);
        }
    }
}
