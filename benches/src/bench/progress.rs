//! What `ledger-bench` shows while a phase runs: a progress bar (indicatif) when stdout is a
//! terminal, drawn there and cleared before the summary; a plain line on stderr every few
//! seconds when stdout is redirected (a log keeps a trace without bar redraws, and the redirected
//! stdout stays the summary alone); nothing with `--quiet`.
//!
//! The load's workers only bump an atomic counter; a ticker task reads it and draws, so the
//! display never sits on the load's path.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};
use std::fmt::Write as _;
use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How often the bar is redrawn.
const BAR_TICK: Duration = Duration::from_millis(100);
/// How often a plain progress line is printed.
const LINE_TICK: Duration = Duration::from_secs(2);
const BAR_TEMPLATE: &str = "  {prefix} [{elapsed_precise}] {wide_bar} {human_pos}/{human_len} ({percent}%, {rate} so far, eta {eta}) {msg}";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressMode {
    /// An indicatif bar on stdout.
    Bar,
    /// A line on stderr every `LINE_TICK`.
    Lines,
    Off,
}

impl ProgressMode {
    /// A bar when stdout is a terminal, lines when it is not, nothing when quiet.
    #[must_use]
    pub fn choose(quiet: bool, stdout_is_terminal: bool) -> Self {
        match (quiet, stdout_is_terminal) {
            (true, _) => Self::Off,
            (false, true) => Self::Bar,
            (false, false) => Self::Lines,
        }
    }

    /// `choose` for this process's stdout.
    #[must_use]
    pub fn detect(quiet: bool) -> Self {
        Self::choose(quiet, std::io::stdout().is_terminal())
    }
}

/// The display of one phase; `finish` or dropping it stops it.
#[derive(Debug)]
pub struct Progress {
    ticker: Option<tokio::task::JoinHandle<()>>,
    bar: Option<ProgressBar>,
}

impl Progress {
    /// Starts showing `done` out of `total` `unit`s (e.g. "transfers"); `reads`, if given, is
    /// shown beside it. Must be called inside the tokio runtime.
    #[must_use]
    pub fn start(
        mode: ProgressMode,
        label: &str,
        unit: &'static str,
        total: u64,
        done: Arc<AtomicU64>,
        reads: Option<Arc<AtomicU64>>,
    ) -> Self {
        match mode {
            ProgressMode::Off => Self { ticker: None, bar: None },
            ProgressMode::Bar => {
                let style = ProgressStyle::with_template(BAR_TEMPLATE)
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .with_key("rate", |state: &ProgressState, out: &mut dyn std::fmt::Write| {
                        let _ = write!(out, "{:.0}/s", rate(state.pos(), state.elapsed()));
                    })
                    .progress_chars("=> ");
                // On stdout: the bar is there exactly when stdout is a terminal.
                let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stdout())
                    .with_style(style)
                    .with_prefix(format!("{label} ({unit})"));
                let shown = bar.clone();
                let ticker = tokio::spawn(async move {
                    loop {
                        shown.set_position(done.load(Ordering::Relaxed));
                        if let Some(reads) = &reads {
                            shown.set_message(format!("{} reads", reads.load(Ordering::Relaxed)));
                        }
                        tokio::time::sleep(BAR_TICK).await;
                    }
                });
                Self { ticker: Some(ticker), bar: Some(bar) }
            }
            ProgressMode::Lines => {
                let label = label.to_owned();
                let started = Instant::now();
                let ticker = tokio::spawn(async move {
                    loop {
                        tokio::time::sleep(LINE_TICK).await;
                        let reads = reads.as_ref().map(|r| r.load(Ordering::Relaxed));
                        eprintln!(
                            "{}",
                            line(&label, unit, done.load(Ordering::Relaxed), total, started.elapsed(), reads)
                        );
                    }
                });
                Self { ticker: Some(ticker), bar: None }
            }
        }
    }

    /// Stops the display and clears the bar (the summary follows on stdout).
    pub fn finish(self) {
        drop(self);
    }
}

impl Drop for Progress {
    /// Also on an error path: the ticker must not outlive its phase.
    fn drop(&mut self) {
        if let Some(ticker) = self.ticker.take() {
            ticker.abort();
        }
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

/// Units per second since the start.
fn rate(done: u64, elapsed: Duration) -> f64 {
    done as f64 / elapsed.as_secs_f64().max(f64::EPSILON)
}

/// A plain progress line.
#[must_use]
pub fn line(label: &str, unit: &str, done: u64, total: u64, elapsed: Duration, reads: Option<u64>) -> String {
    let mut line = format!(
        "  {label}: {done} / {total} {unit} ({:.0}%), {:.0}/s so far",
        done as f64 * 100.0 / total.max(1) as f64,
        rate(done, elapsed)
    );
    if let Some(reads) = reads {
        let _ = write!(line, ", {reads} reads");
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_shows_only_on_a_terminal_and_never_when_quiet() {
        assert_eq!(ProgressMode::choose(false, true), ProgressMode::Bar);
        assert_eq!(ProgressMode::choose(false, false), ProgressMode::Lines);
        assert_eq!(ProgressMode::choose(true, true), ProgressMode::Off);
        assert_eq!(ProgressMode::choose(true, false), ProgressMode::Off);
    }

    #[test]
    fn a_progress_line_gives_count_share_and_rate() {
        let text = line("load", "transfers", 250_000, 1_000_000, Duration::from_secs(2), Some(42));
        assert_eq!(text, "  load: 250000 / 1000000 transfers (25%), 125000/s so far, 42 reads");
        let text = line("accounts", "accounts", 0, 0, Duration::ZERO, None);
        assert_eq!(text, "  accounts: 0 / 0 accounts (0%), 0/s so far");
    }
}
