//! Bearer-token authentication: with a token configured, every route but `/healthz` needs
//! `Authorization: Bearer <token>`.
//!
//! The comparison takes the same time wherever the first differing byte is, so response
//! timing does not reveal a prefix of the token. Refusals are logged, but at most one line per
//! `REFUSAL_LOG_INTERVAL` (with the count of refusals since the last line), so that a client
//! hammering with a wrong token cannot flood the log.

use super::error::{ApiError, ErrorCode};
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// At most one refusal warning per this interval.
pub const REFUSAL_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// The token and the refusal log's limiter, shared by every request.
#[derive(Debug)]
pub struct BearerAuth {
    token: Arc<str>,
    refusals: RefusalLog,
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
        Self { token, refusals: RefusalLog::new(REFUSAL_LOG_INTERVAL) }
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
            if let Some(suppressed) = auth.refusals.admit(Instant::now()) {
                tracing::warn!(
                    path = request.uri().path(),
                    reason = refusal.reason(),
                    suppressed_since_last_warning = suppressed,
                    "http request refused: unauthorized"
                );
            }
            let mut response = ApiError::bare(ErrorCode::Unauthorized).into_response();
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, axum::http::HeaderValue::from_static("Bearer"));
            response
        }
    }
}

/// Whether `a == b`, in a time that depends only on the lengths: every byte is compared and
/// the differences are accumulated without branching on them.
#[must_use]
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let len = a.len().max(b.len());
    let mut difference = u8::from(a.len() != b.len());
    for i in 0..len {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        difference |= x ^ y;
    }
    std::hint::black_box(difference) == 0
}

/// Lets one log line through per interval and counts the ones held back.
#[derive(Debug)]
struct RefusalLog {
    epoch: Instant,
    interval_ms: u64,
    /// Milliseconds after `epoch` before which no line is written; 0 before the first line.
    next_line_at_ms: AtomicU64,
    suppressed: AtomicU64,
}

impl RefusalLog {
    fn new(interval: Duration) -> Self {
        Self {
            epoch: Instant::now(),
            interval_ms: u64::try_from(interval.as_millis()).unwrap_or(u64::MAX),
            next_line_at_ms: AtomicU64::new(0),
            suppressed: AtomicU64::new(0),
        }
    }

    /// `Some(refusals held back since the last line)` if a line may be written at `now`.
    fn admit(&self, now: Instant) -> Option<u64> {
        let now_ms = u64::try_from(now.saturating_duration_since(self.epoch).as_millis()).unwrap_or(u64::MAX);
        let next = self.next_line_at_ms.load(Ordering::Relaxed);
        let due = now_ms >= next
            && self
                .next_line_at_ms
                .compare_exchange(
                    next,
                    now_ms.saturating_add(self.interval_ms),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_ok();
        if due {
            Some(self.suppressed.swap(0, Ordering::Relaxed))
        } else {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
            None
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

    #[test]
    fn the_refusal_log_writes_one_line_per_interval_and_counts_the_rest() {
        let log = RefusalLog::new(Duration::from_secs(10));
        let start = log.epoch;
        assert_eq!(log.admit(start), Some(0));
        assert_eq!(log.admit(start + Duration::from_secs(1)), None);
        assert_eq!(log.admit(start + Duration::from_secs(9)), None);
        assert_eq!(log.admit(start + Duration::from_secs(10)), Some(2));
        assert_eq!(log.admit(start + Duration::from_secs(11)), None);
        assert_eq!(log.admit(start + Duration::from_secs(25)), Some(1));
    }
}
