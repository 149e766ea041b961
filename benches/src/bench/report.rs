//! The result of a run: a human summary in TigerBeetle's shape and the JSON report.

use super::machine::Machine;
use super::parameters::Parameters;
use super::reads::{ReadKind, ReadLoad};
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

    pub fn line(&self) -> String {
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

/// The reads of a run with `--reads`, and what they cost the writes.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ReadFigures {
    pub kind: ReadKind,
    pub reads: u64,
    /// Reads answered with an error status (expected zero: every account read exists).
    pub reads_failed: u64,
    /// Reads answered per second while the writes ran (below the target when the reads fell
    /// behind their schedule).
    pub reads_per_second: f64,
    /// From each read's scheduled time to its answer.
    pub latency_ms: Percentiles,
    /// Transfers per history page (history reads only).
    pub transfers_per_read_mean: Option<f64>,
    /// The same write load alone, just before (a fresh server with --server-bin).
    pub transfers_per_second_without_reads: f64,
    pub batch_latency_without_reads_ms: Percentiles,
    /// How much write throughput the reads took, in percent of the rate without them
    /// (negative: the run with reads was faster, i.e. noise).
    pub write_throughput_cost_percent: f64,
}

impl ReadFigures {
    /// The figures of `reads`, against the writes without reads.
    #[must_use]
    pub fn new(
        kind: ReadKind,
        reads: &ReadLoad,
        transfers_per_second_with_reads: f64,
        without_reads: &Report,
    ) -> Self {
        Self {
            kind,
            reads: reads.reads,
            reads_failed: reads.failed,
            reads_per_second: reads.reads as f64 / reads.seconds.max(f64::EPSILON),
            latency_ms: Percentiles::from_micros(&reads.latency),
            transfers_per_read_mean: kind
                .returns_transfers()
                .then(|| reads.transfers_returned as f64 / reads.reads.max(1) as f64),
            transfers_per_second_without_reads: without_reads.transfers_per_second,
            batch_latency_without_reads_ms: without_reads.batch_latency_ms,
            write_throughput_cost_percent: cost_percent(
                without_reads.transfers_per_second,
                transfers_per_second_with_reads,
            ),
        }
    }
}

/// The share of `without` lost in `with`, in percent.
#[must_use]
pub fn cost_percent(without: f64, with: f64) -> f64 {
    if without > 0.0 { (1.0 - with / without) * 100.0 } else { 0.0 }
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
    /// With `--reads`: the reads during the load and their cost to the writes.
    pub reads: Option<ReadFigures>,
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
        if let Some(reads) = &self.reads {
            out.push_str(&reads.summary(self.transfers_per_second, self.parameters.reads.map(|r| r.rate)));
        }
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

impl ReadFigures {
    /// The lines of the human summary about the reads.
    #[must_use]
    pub fn summary(&self, transfers_per_second_with_reads: f64, rate_target: Option<u64>) -> String {
        let mut out = String::new();
        let target = rate_target.map(|rate| format!(", target {rate}/s")).unwrap_or_default();
        let _ = writeln!(
            out,
            "reads during the load ({}): {} reads ({} failed), {:.0}/s{target}",
            self.kind.name(),
            self.reads,
            self.reads_failed,
            self.reads_per_second
        );
        let _ = writeln!(out, "read latency: {}", self.latency_ms.line());
        if let Some(mean) = self.transfers_per_read_mean {
            let _ = writeln!(out, "  {mean:.1} transfers per read on average");
        }
        let _ = writeln!(
            out,
            "writes without reads: {:.0} tx/s, batch p50 {:.2} ms, p99 {:.2} ms; with reads: {:.0} tx/s \
             (the reads cost {:.1}% of the write throughput)",
            self.transfers_per_second_without_reads,
            self.batch_latency_without_reads_ms.p50,
            self.batch_latency_without_reads_ms.p99,
            transfers_per_second_with_reads,
            self.write_throughput_cost_percent
        );
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

    #[test]
    fn the_cost_of_reads_is_the_share_of_write_throughput_lost() {
        assert!((cost_percent(1_000_000.0, 900_000.0) - 10.0).abs() < 1e-9);
        assert!((cost_percent(1_000_000.0, 1_050_000.0) + 5.0).abs() < 1e-9);
        assert!(cost_percent(0.0, 5.0).abs() < f64::EPSILON);
    }

    #[test]
    fn the_read_summary_names_kind_rate_latency_and_cost() {
        let latency =
            Percentiles { count: 9_990, p1: 0.1, p50: 2.0, p90: 4.0, p99: 9.5, p999: 20.0, p100: 31.0 };
        let figures = ReadFigures {
            kind: ReadKind::TransfersBinary,
            reads: 9_990,
            reads_failed: 0,
            reads_per_second: 999.0,
            latency_ms: latency,
            transfers_per_read_mean: Some(100.0),
            transfers_per_second_without_reads: 1_000_000.0,
            batch_latency_without_reads_ms: Percentiles { p50: 40.0, p99: 80.0, ..latency },
            write_throughput_cost_percent: 12.5,
        };
        let text = figures.summary(875_000.0, Some(1_000));
        assert_eq!(
            text,
            "reads during the load (transfers-binary): 9990 reads (0 failed), 999/s, target 1000/s\n\
             read latency: p1 0.10 ms, p50 2.00 ms, p90 4.00 ms, p99 9.50 ms, p99.9 20.00 ms, p100 31.00 ms\n\
             \x20 100.0 transfers per read on average\n\
             writes without reads: 1000000 tx/s, batch p50 40.00 ms, p99 80.00 ms; with reads: 875000 tx/s \
             (the reads cost 12.5% of the write throughput)\n"
        );
    }
}
