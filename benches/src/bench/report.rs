//! The result of a run: a human summary in TigerBeetle's shape and the JSON report.

use super::machine::Machine;
use super::parameters::Parameters;
use super::server::WalFigures;
use hdrhistogram::Histogram;
use std::fmt::Write as _;

/// Latency percentiles in milliseconds, from a histogram of microseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct Percentiles {
    pub count: u64,
    pub p1: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub p100: f64,
}

impl Percentiles {
    #[must_use]
    pub fn from_micros(histogram: &Histogram<u64>) -> Self {
        let ms = |q: f64| histogram.value_at_quantile(q) as f64 / 1_000.0;
        Self {
            count: histogram.len(),
            p1: ms(0.01),
            p50: ms(0.50),
            p90: ms(0.90),
            p99: ms(0.99),
            p999: ms(0.999),
            p100: histogram.max() as f64 / 1_000.0,
        }
    }

    fn line(&self) -> String {
        format!(
            "p1 {:.2} ms, p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, p100 {:.2} ms",
            self.p1, self.p50, self.p90, self.p99, self.p999, self.p100
        )
    }
}

/// The spawned server's figures (absent with `--addr`, except the fsyncs if `--http-addr`).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct ServerFigures {
    /// Server CPU seconds (user + system) during the load phase only.
    pub cpu_seconds_load: Option<f64>,
    /// Transfers accepted per server CPU second: the events/s one core sustains.
    pub transfers_per_cpu_second: Option<f64>,
    pub rss_before_load_bytes: Option<u64>,
    pub rss_after_load_bytes: Option<u64>,
    pub rss_peak_bytes: Option<u64>,
    pub fsyncs_load: Option<u64>,
    pub fsyncs_per_second: Option<f64>,
    pub wal: Option<WalFigures>,
    /// Size of `wal/` after the run over the transfers (rounded up by segment preallocation).
    pub wal_dir_bytes_per_transfer: Option<f64>,
    /// Valid WAL record bytes over all events written (accounts and transfers).
    pub wal_record_bytes_per_event: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Report {
    pub tool: &'static str,
    pub machine: Machine,
    pub commit: Option<String>,
    pub scenario: Option<&'static str>,
    pub parameters: Parameters,
    /// `--server-bin PATH` or `--addr HOST:PORT`.
    pub server: String,
    pub transfers_sent: u64,
    /// Transfers the server answered with an error result (the load's own bug if not zero).
    pub transfers_failed: u64,
    pub load_seconds: f64,
    /// Transfers accepted (sent minus failed) per second of load.
    pub transfers_per_second: f64,
    /// Per request of `transfer_batch_count` transfers, until its durable reply; in open loop
    /// from its scheduled send time.
    pub batch_latency_ms: Percentiles,
    pub query_latency_ms: Percentiles,
    pub query_transfers_mean: f64,
    pub server_figures: ServerFigures,
}

impl Report {
    /// The human summary.
    #[must_use]
    pub fn summary(&self) -> String {
        let mut out = String::new();
        let accepted = self.transfers_sent - self.transfers_failed;
        let _ = writeln!(out, "load accepted = {:.0} tx/s", self.transfers_per_second);
        let _ = writeln!(
            out,
            "  {accepted} of {} transfers in {:.2} s ({} failed)",
            self.transfers_sent, self.load_seconds, self.transfers_failed
        );
        let _ = writeln!(out, "batch latency: {}", self.batch_latency_ms.line());
        if self.query_latency_ms.count > 0 {
            let _ = writeln!(
                out,
                "query latency: {} ({} queries, {:.0} transfers each on average)",
                self.query_latency_ms.line(),
                self.query_latency_ms.count,
                self.query_transfers_mean
            );
        }
        let s = &self.server_figures;
        if let (Some(cpu), Some(per_cpu)) = (s.cpu_seconds_load, s.transfers_per_cpu_second) {
            let _ = writeln!(
                out,
                "server cpu: {cpu:.2} s during the load, {per_cpu:.0} transfers per cpu second"
            );
        }
        if let (Some(before), Some(after), Some(peak)) =
            (s.rss_before_load_bytes, s.rss_after_load_bytes, s.rss_peak_bytes)
        {
            let _ = writeln!(
                out,
                "server rss: {} MiB before the load, {} MiB after, {} MiB peak",
                before >> 20,
                after >> 20,
                peak >> 20
            );
        }
        if let (Some(fsyncs), Some(rate)) = (s.fsyncs_load, s.fsyncs_per_second) {
            let _ = writeln!(out, "fsyncs: {fsyncs} during the load ({rate:.0}/s)");
        }
        if let (Some(wal), Some(dir), Some(record)) =
            (s.wal, s.wal_dir_bytes_per_transfer, s.wal_record_bytes_per_event)
        {
            let _ = writeln!(
                out,
                "wal: {} MiB on disk ({dir:.1} B per transfer), {} records of {} MiB ({record:.1} B per event)",
                wal.dir_bytes >> 20,
                wal.records,
                wal.record_bytes >> 20
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_milliseconds_of_the_recorded_micros() {
        let mut histogram = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("histogram");
        for micros in 1..=1_000_u64 {
            histogram.record(micros * 100).expect("in bounds");
        }
        let p = Percentiles::from_micros(&histogram);
        assert_eq!(p.count, 1_000);
        assert!((p.p50 - 50.0).abs() < 0.1, "p50 {}", p.p50);
        assert!((p.p1 - 1.0).abs() < 0.01, "p1 {}", p.p1);
        assert!((p.p100 - 100.0).abs() < 0.1, "p100 {}", p.p100);
        assert!(p.p1 <= p.p50 && p.p50 <= p.p90 && p.p90 <= p.p99 && p.p99 <= p.p999 && p.p999 <= p.p100);
    }
}
