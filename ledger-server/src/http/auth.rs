//! Bearer-token authentication: with a token configured, every route but `/healthz` needs
//! `Authorization: Bearer <token>`.
//!
//! The comparison takes the same time wherever the first differing byte is, so response
//! timing does not reveal a prefix of the token. Refusals are logged, but at most one line per
//! `REFUSAL_LOG_INTERVAL` (with the count of refusals since the last line), so that a client
//! hammering with a wrong token cannot flood the log.

use super::error::{ApiError, ErrorCode};
use crate::serve::config::tokens_match as constant_time_eq;
use crate::serve::ratelimit::RateLimitedLog;
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use std::time::Duration;

/// At most one refusal warning per this interval.
pub const REFUSAL_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// The token and the refusal log's limiter, shared by every request.
#[derive(Debug)]
pub struct BearerAuth {
    token: Arc<str>,
    refusals: RateLimitedLog,
}

/// Why a request was refused (logged, never sent: the client learns only `unauthorized`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    MissingHeader,
    NotBearer,
    WrongToken,
}

impl Refusal {
    const fn reason(self) -> &'static str {
        match self {
            Self::MissingHeader => "no Authorization header",
            Self::NotBearer => "Authorization is not a Bearer token",
            Self::WrongToken => "wrong token",
        }
    }
}

impl BearerAuth {
    #[must_use]
    pub fn new(token: Arc<str>) -> Self {
        Self { token, refusals: RateLimitedLog::new(REFUSAL_LOG_INTERVAL) }
    }

    /// Checks an `Authorization` header value.
    ///
    /// # Errors
    /// `Refusal` when the header is missing, not a Bearer credential, or holds another token.
    pub fn check(&self, authorization: Option<&[u8]>) -> Result<(), Refusal> {
        let value = authorization.ok_or(Refusal::MissingHeader)?;
        // RFC 9110: the scheme is case-insensitive; one space separates it from the token.
        let scheme = value.get(..7).ok_or(Refusal::NotBearer)?;
        if !scheme.eq_ignore_ascii_case(b"bearer ") {
            return Err(Refusal::NotBearer);
        }
        let presented = &value[7..];
        // An empty token never matches, so a misconfigured empty token locks everyone out
        // instead of letting everyone in.
        if !presented.is_empty() && constant_time_eq(presented, self.token.as_bytes()) {
            Ok(())
        } else {
            Err(Refusal::WrongToken)
        }
    }
}

/// The middleware: passes authorised requests on, answers the rest with 401.
pub async fn require_bearer(State(auth): State<Arc<BearerAuth>>, request: Request, next: Next) -> Response {
    let header = request.headers().get(header::AUTHORIZATION).map(axum::http::HeaderValue::as_bytes);
    match auth.check(header) {
        Ok(()) => next.run(request).await,
        Err(refusal) => {
            auth.refusals.warn(|suppressed| {
                tracing::warn!(
                    path = request.uri().path(),
                    reason = refusal.reason(),
                    suppressed_since_last_warning = suppressed,
                    "http request refused: unauthorized"
                );
            });
            let mut response = ApiError::bare(ErrorCode::Unauthorized).into_response();
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, axum::http::HeaderValue::from_static("Bearer"));
            response
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_bytes_and_only_equal_bytes_compare_equal() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(constant_time_eq(b"", b""));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret2"));
        assert!(!constant_time_eq(b"secret\0", b"secret"));
        assert!(!constant_time_eq(b"", b"x"));
    }

    #[test]
    fn only_a_bearer_header_with_the_token_passes() {
        let auth = BearerAuth::new(Arc::from("s3cret"));
        assert_eq!(auth.check(Some(b"Bearer s3cret")), Ok(()));
        assert_eq!(auth.check(Some(b"bearer s3cret")), Ok(()));
        assert_eq!(auth.check(None), Err(Refusal::MissingHeader));
        assert_eq!(auth.check(Some(b"Basic s3cret")), Err(Refusal::NotBearer));
        assert_eq!(auth.check(Some(b"Bear")), Err(Refusal::NotBearer));
        assert_eq!(auth.check(Some(b"Bearer s3cre")), Err(Refusal::WrongToken));
        assert_eq!(auth.check(Some(b"Bearer  s3cret")), Err(Refusal::WrongToken));
        assert_eq!(auth.check(Some(b"Bearer ")), Err(Refusal::WrongToken));
        let empty = BearerAuth::new(Arc::from(""));
        assert_eq!(empty.check(Some(b"Bearer ")), Err(Refusal::WrongToken));
    }
}
