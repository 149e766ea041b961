//! A log line budget: at most `per_second` lines a second, and the next line that passes
//! reports how many were suppressed. A client that floods bad frames cannot flood the log.

use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct RateLimitedLog {
    per_second: u32,
    window: Mutex<Window>,
}

#[derive(Debug)]
struct Window {
    started: Instant,
    emitted: u32,
    suppressed: u64,
}

impl RateLimitedLog {
    #[must_use]
    pub fn new(per_second: u32) -> Self {
        Self { per_second, window: Mutex::new(Window { started: Instant::now(), emitted: 0, suppressed: 0 }) }
    }

    /// Calls `emit(suppressed_since_last_line)` if the budget allows, else counts the line.
    /// Only refusals come here (never the posting path), so a short lock is fine.
    pub fn warn(&self, emit: impl FnOnce(u64)) {
        let suppressed = {
            let Ok(mut window) = self.window.lock() else { return };
            if window.started.elapsed() >= Duration::from_secs(1) {
                window.started = Instant::now();
                window.emitted = 0;
            }
            if window.emitted >= self.per_second {
                window.suppressed += 1;
                return;
            }
            window.emitted += 1;
            std::mem::take(&mut window.suppressed)
        };
        emit(suppressed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_beyond_the_budget_are_counted_not_emitted() {
        let log = RateLimitedLog::new(2);
        let mut emitted = Vec::new();
        for _ in 0..5 {
            log.warn(|suppressed| emitted.push(suppressed));
        }
        assert_eq!(emitted, vec![0, 0]);
        let mut window = log.window.lock().expect("lock");
        assert_eq!(window.suppressed, 3);
        window.started -= Duration::from_secs(2);
        drop(window);
        log.warn(|suppressed| emitted.push(suppressed));
        assert_eq!(emitted, vec![0, 0, 3]);
    }
}
