//! How a `Client` connects, how much it keeps in flight, and how patiently it retries.

use std::time::Duration;

/// The default number of requests a client keeps in flight on its connection.
pub const MAX_IN_FLIGHT_DEFAULT: usize = 64;
/// The upper bound on `max_in_flight`: every in-flight request holds its encoded frame (up to a
/// full batch, ~1 MiB) until it is answered, so the bound is also the client's memory bound.
pub const MAX_IN_FLIGHT_LIMIT: usize = 1024;

/// Configuration of a `Client`. `ClientConfig::new(addr)` gives sensible values for the rest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientConfig {
    /// The server's binary-protocol address, `host:port`.
    pub addr: String,
    /// The server's auth token. When set, every new connection starts with a `hello` carrying it.
    pub token: Option<Vec<u8>>,
    /// Requests in flight on the connection at once, across all tasks sharing the client
    /// (1..=`MAX_IN_FLIGHT_LIMIT`). Callers beyond it wait for a slot.
    pub max_in_flight: usize,
    /// How long one request may go unanswered, counted from when it is first sent and including
    /// every retry. A call that the client splits into several requests gives each its own clock.
    pub request_timeout: Duration,
    /// How long one connection attempt (TCP connect plus `hello`) may take.
    pub connect_timeout: Duration,
    /// Whether a lost connection, or an `unavailable`/`overloaded`/`shutting_down` answer, is
    /// retried (reconnecting if needed) until `request_timeout`. Off: the call fails at once.
    pub reconnect: bool,
    /// The pause between retries.
    pub backoff: Backoff,
}

impl ClientConfig {
    /// A configuration for the server at `addr` with the default limits: 64 requests in flight,
    /// 30 s per request, 5 s per connection attempt, reconnect on, backoff from 10 ms to 1 s.
    #[must_use]
    pub fn new(addr: impl Into<String>) -> Self {
        Self {
            addr: addr.into(),
            token: None,
            max_in_flight: MAX_IN_FLIGHT_DEFAULT,
            request_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
            reconnect: true,
            backoff: Backoff::default(),
        }
    }

    /// The same configuration with an auth token.
    #[must_use]
    pub fn with_token(mut self, token: impl Into<Vec<u8>>) -> Self {
        self.token = Some(token.into());
        self
    }
}

impl Default for ClientConfig {
    /// The server's default binary-protocol address, `127.0.0.1:3001`.
    fn default() -> Self {
        Self::new("127.0.0.1:3001")
    }
}

/// Exponential backoff between retries: `initial`, then doubling, never more than `max`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    pub initial: Duration,
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self { initial: Duration::from_millis(10), max: Duration::from_secs(1) }
    }
}

impl Backoff {
    /// The pause before retry number `attempt` (0-based).
    #[must_use]
    pub fn delay(&self, attempt: u32) -> Duration {
        // 2^20 times any sensible initial delay is far beyond any sensible max; capping the
        // exponent keeps the multiplication from overflowing.
        let factor = 1_u32 << attempt.min(20);
        self.initial.saturating_mul(factor).min(self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_max() {
        let backoff = Backoff { initial: Duration::from_millis(10), max: Duration::from_millis(50) };
        let delays: Vec<u128> = (0..5).map(|a| backoff.delay(a).as_millis()).collect();
        assert_eq!(delays, vec![10, 20, 40, 50, 50]);
        assert_eq!(backoff.delay(u32::MAX), Duration::from_millis(50), "no overflow on long outages");
    }

    #[test]
    fn defaults_point_at_the_local_server() {
        let config = ClientConfig::default();
        assert_eq!(config.addr, "127.0.0.1:3001");
        assert!(config.reconnect && config.token.is_none());
        assert!((1..=MAX_IN_FLIGHT_LIMIT).contains(&config.max_in_flight));
    }
}
