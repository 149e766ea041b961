//! A log line budget shared by the binary protocol and HTTP: at most one line per interval,
//! and the next line that passes reports how many were held back. A client that floods bad
//! frames or wrong tokens cannot flood the log. Lock-free: refusals may come from every
//! network thread at once.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct RateLimitedLog {
    epoch: Instant,
    interval_ms: u64,
    /// Milliseconds after `epoch` before which no line is written; 0 before the first line.
    next_line_at_ms: AtomicU64,
    suppressed: AtomicU64,
}

impl RateLimitedLog {
    /// One line per `interval` at most.
    #[must_use]
    pub fn new(interval: Duration) -> Self {
        Self {
            epoch: Instant::now(),
            interval_ms: u64::try_from(interval.as_millis()).unwrap_or(u64::MAX),
            next_line_at_ms: AtomicU64::new(0),
            suppressed: AtomicU64::new(0),
        }
    }

    /// Calls `emit(lines held back since the last one)` if a line may be written now, else
    /// counts this one.
    pub fn warn(&self, emit: impl FnOnce(u64)) {
        if let Some(suppressed) = self.admit(Instant::now()) {
            emit(suppressed);
        }
    }

    /// `Some(lines held back since the last line)` if a line may be written at `now`.
    pub fn admit(&self, now: Instant) -> Option<u64> {
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
    fn one_line_per_interval_and_the_rest_are_counted() {
        let log = RateLimitedLog::new(Duration::from_secs(10));
        let start = log.epoch;
        assert_eq!(log.admit(start), Some(0));
        assert_eq!(log.admit(start + Duration::from_secs(1)), None);
        assert_eq!(log.admit(start + Duration::from_secs(9)), None);
        assert_eq!(log.admit(start + Duration::from_secs(10)), Some(2));
        assert_eq!(log.admit(start + Duration::from_secs(11)), None);
        assert_eq!(log.admit(start + Duration::from_secs(25)), Some(1));
    }
}
