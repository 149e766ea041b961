//! `ledger-bench plots`: sweeps of one parameter each, every point a fresh server, and the
//! figures drawn from them (throughput vs batch size, latency vs offered load, throughput vs
//! account count).
//!
//! Short by default (1M transfers per closed-loop point, 3 s per offered-load point, one run per
//! point: about two minutes in all on the 2-core machine); `--transfer-count`, `--point-seconds`
//! and `--repeat` make them longer and steadier. Every other flag of a single run sets the base
//! the sweeps vary (e.g. `--in-flight 1`, `--id-order random`); the swept parameter wins.

use super::machine::Machine;
use super::parameters::{Overrides, Parameters, ParametersError};
use super::plot::{Axis, Figure, Scale, Series};
use super::progress::ProgressMode;
use super::report::{Percentiles, Report};
use super::run::{RunError, Target, run_ledger};
use std::path::PathBuf;

/// Transfers per closed-loop point unless `--transfer-count` is given.
pub const POINT_TRANSFERS_DEFAULT: u64 = 1_000_000;
pub const POINT_SECONDS_DEFAULT: u64 = 3;
pub const POINT_SECONDS_MAX: u64 = 600;
/// Points per sweep, and runs per point: bounds, so that a typo cannot start a day-long sweep.
pub const SWEEP_POINTS_MAX: usize = 32;
pub const REPEAT_MAX: u32 = 20;
pub const BATCH_COUNTS_DEFAULT: [usize; 6] = [128, 512, 1_024, 2_048, 4_096, 8_189];
pub const RATES_DEFAULT: [u64; 6] = [250_000, 500_000, 1_000_000, 1_500_000, 2_000_000, 2_500_000];
pub const ACCOUNT_COUNTS_DEFAULT: [u64; 3] = [10_000, 100_000, 1_000_000];

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SweepKind {
    /// Closed loop, `--transfer-batch-count` over `--batch-counts`.
    BatchSize,
    /// Open loop, `--rate` over `--rates`, `--point-seconds` of load each.
    OfferedLoad,
    /// Closed loop, `--account-count` over `--account-counts`.
    AccountCount,
}

impl SweepKind {
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::BatchSize => "batch-size",
            Self::OfferedLoad => "offered-load",
            Self::AccountCount => "account-count",
        }
    }
}

/// The flags of `ledger-bench plots`.
#[derive(Debug, Clone, clap::Args)]
pub struct PlotsArgs {
    /// The `ledger` binary; every point starts it on a fresh temporary data directory.
    #[arg(long)]
    pub server_bin: PathBuf,
    /// Where the SVGs and `sweeps.json` go (created if missing).
    #[arg(long, default_value = "docs/plots")]
    pub out: PathBuf,
    /// The sweeps to run, comma-separated.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [SweepKind::BatchSize, SweepKind::OfferedLoad, SweepKind::AccountCount])]
    pub sweeps: Vec<SweepKind>,
    /// Transfers per request of the batch-size sweep, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = BATCH_COUNTS_DEFAULT)]
    pub batch_counts: Vec<usize>,
    /// Offered loads (transfers/s) of the offered-load sweep, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = RATES_DEFAULT)]
    pub rates: Vec<u64>,
    /// Account counts of the account-count sweep, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = ACCOUNT_COUNTS_DEFAULT)]
    pub account_counts: Vec<u64>,
    /// Seconds of load per offered-load point (its transfer count is rate x seconds).
    #[arg(long, default_value_t = POINT_SECONDS_DEFAULT)]
    pub point_seconds: u64,
    /// Runs per point; the plots show the median, `sweeps.json` every run.
    #[arg(long, default_value_t = 1)]
    pub repeat: u32,
    /// No progress display.
    #[arg(long)]
    pub quiet: bool,
    /// The base of every point (the swept parameter wins). Here --transfer-count defaults to
    /// 1000000 per closed-loop point and --query-count to 0.
    #[command(flatten)]
    pub overrides: Overrides,
}

#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error("--{flag} needs between 1 and {SWEEP_POINTS_MAX} points, got {got}")]
    Points { flag: &'static str, got: usize },
    #[error("--repeat must be between 1 and {REPEAT_MAX}, got {0}")]
    Repeat(u32),
    #[error("--point-seconds must be between 1 and {POINT_SECONDS_MAX}, got {0}")]
    PointSeconds(u64),
    #[error(
        "{0} is not a sweep base: the plots are of writes alone, closed loop but for the offered-load sweep"
    )]
    NotABase(&'static str),
    #[error("the {sweep} point {x}: {source}")]
    Point { sweep: &'static str, x: u64, source: ParametersError },
}

/// One sweep's points: the swept value and the parameters of its run.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepPlan {
    pub kind: SweepKind,
    pub points: Vec<(u64, Parameters)>,
}

impl PlotsArgs {
    /// Every sweep's points, validated before anything runs.
    ///
    /// # Errors
    /// A list empty or too long, a bound exceeded, a flag that cannot be a base, or a point whose
    /// parameters are out of bounds (e.g. a hot set larger than a swept account count).
    pub fn plans(&self) -> Result<Vec<SweepPlan>, SweepError> {
        if !(1..=REPEAT_MAX).contains(&self.repeat) {
            return Err(SweepError::Repeat(self.repeat));
        }
        if !(1..=POINT_SECONDS_MAX).contains(&self.point_seconds) {
            return Err(SweepError::PointSeconds(self.point_seconds));
        }
        if self.overrides.rate.is_some() {
            return Err(SweepError::NotABase("--rate"));
        }
        if self.overrides.reads.is_some() {
            return Err(SweepError::NotABase("--reads"));
        }
        let defaults = Overrides {
            transfer_count: Some(POINT_TRANSFERS_DEFAULT),
            query_count: Some(0),
            ..Overrides::default()
        };
        let base = self.overrides.over(&defaults);
        let mut plans = Vec::with_capacity(self.sweeps.len());
        for &kind in &self.sweeps {
            let (flag, values): (&'static str, Vec<u64>) = match kind {
                SweepKind::BatchSize => {
                    ("batch-counts", self.batch_counts.iter().map(|&b| b as u64).collect())
                }
                SweepKind::OfferedLoad => ("rates", self.rates.clone()),
                SweepKind::AccountCount => ("account-counts", self.account_counts.clone()),
            };
            if !(1..=SWEEP_POINTS_MAX).contains(&values.len()) {
                return Err(SweepError::Points { flag, got: values.len() });
            }
            let mut points = Vec::with_capacity(values.len());
            for x in values {
                let point = match kind {
                    SweepKind::BatchSize => Overrides {
                        transfer_batch_count: Some(usize::try_from(x).unwrap_or(usize::MAX)),
                        ..base.clone()
                    },
                    SweepKind::OfferedLoad => Overrides {
                        rate: Some(x),
                        transfer_count: Some(x.saturating_mul(self.point_seconds)),
                        ..base.clone()
                    },
                    SweepKind::AccountCount => Overrides { account_count: Some(x), ..base.clone() },
                };
                let parameters = Parameters::resolve(None, &point).map_err(|source| SweepError::Point {
                    sweep: kind.name(),
                    x,
                    source,
                })?;
                points.push((x, parameters));
            }
            plans.push(SweepPlan { kind, points });
        }
        Ok(plans)
    }
}

/// The runs of one point.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SweepPoint {
    pub sweep: SweepKind,
    /// The swept value (transfers per request, offered transfers/s, or accounts).
    pub x: u64,
    pub runs: Vec<Report>,
}

impl SweepPoint {
    #[must_use]
    pub fn transfers_per_second_median(&self) -> f64 {
        median(self.runs.iter().map(|r| r.transfers_per_second).collect())
    }

    /// The median over the runs of one batch-latency percentile (ms).
    #[must_use]
    pub fn batch_latency_median(&self, percentile: fn(&Percentiles) -> f64) -> f64 {
        median(self.runs.iter().map(|r| percentile(&r.batch_latency_ms)).collect())
    }
}

/// The median (the mean of the middle two for an even count; 0 for none).
#[must_use]
pub fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    match n {
        0 => 0.0,
        _ if n % 2 == 1 => values[n / 2],
        _ => f64::midpoint(values[n / 2 - 1], values[n / 2]),
    }
}

/// Runs every plan's points `repeat` times, each on a fresh server.
///
/// # Errors
/// A run fails (the sweep stops there).
pub async fn run_sweeps(
    args: &PlotsArgs,
    plans: &[SweepPlan],
    progress: ProgressMode,
) -> Result<Vec<SweepPoint>, RunError> {
    let target = Target::Spawn { bin: args.server_bin.clone() };
    let mut points = Vec::new();
    for plan in plans {
        for (index, (x, parameters)) in plan.points.iter().enumerate() {
            let mut runs = Vec::new();
            for run in 1..=args.repeat {
                println!(
                    "sweep {}: point {} of {} (x = {x}), run {run} of {}",
                    plan.kind.name(),
                    index + 1,
                    plan.points.len(),
                    args.repeat
                );
                println!("  {}", parameters.flags());
                let report = run_ledger(&target, parameters, None, progress).await?;
                println!(
                    "  {:.0} tx/s, batch p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms",
                    report.transfers_per_second,
                    report.batch_latency_ms.p50,
                    report.batch_latency_ms.p99,
                    report.batch_latency_ms.p999
                );
                runs.push(report);
            }
            points.push(SweepPoint { sweep: plan.kind, x: *x, runs });
        }
    }
    Ok(points)
}

/// The SVG file name and figure of each sweep that has points.
#[must_use]
pub fn figures(points: &[SweepPoint], repeat: u32) -> Vec<(&'static str, Figure)> {
    let machine = points.iter().flat_map(|p| p.runs.first()).map(|r| &r.machine).next();
    let commit = points.iter().flat_map(|p| p.runs.first()).find_map(|r| r.commit.as_deref());
    let caption = |detail: String| caption(machine, commit, repeat, &detail);
    let of = |kind: SweepKind| points.iter().filter(move |p| p.sweep == kind);
    let base = |kind: SweepKind| of(kind).flat_map(|p| p.runs.first()).map(|r| &r.parameters).next();
    let mut figures = Vec::new();

    if let Some(base) = base(SweepKind::BatchSize) {
        let throughput =
            of(SweepKind::BatchSize).map(|p| (p.x as f64, p.transfers_per_second_median())).collect();
        figures.push((
            "throughput-vs-batch-size.svg",
            Figure {
                title: "Durable write throughput vs batch size (closed loop)".into(),
                caption: caption(format!(
                    "{} transfers over {} accounts per point, {} x {} in flight",
                    base.transfer_count, base.account_count, base.clients, base.in_flight
                )),
                x: Axis { label: "transfers per request".into(), scale: Scale::Log },
                y: Axis { label: "transfers/s accepted".into(), scale: Scale::Linear },
                series: vec![Series { label: "transfers/s".into(), points: throughput }],
            },
        ));
    }

    if let Some(base) = base(SweepKind::OfferedLoad) {
        let latency = |name: &str, percentile: fn(&Percentiles) -> f64| Series {
            label: format!("batch latency {name}"),
            points: of(SweepKind::OfferedLoad)
                .map(|p| (p.x as f64, p.batch_latency_median(percentile)))
                .collect(),
        };
        figures.push((
            "latency-vs-offered-load.svg",
            Figure {
                title: "Batch latency vs offered load (open loop, from the scheduled send)".into(),
                caption: caption(format!(
                    "batches of {}, {} accounts, {} x {} in flight",
                    base.transfer_batch_count, base.account_count, base.clients, base.in_flight
                )),
                x: Axis { label: "offered load (transfers/s)".into(), scale: Scale::Linear },
                y: Axis { label: "latency (ms, log scale)".into(), scale: Scale::Log },
                series: vec![
                    latency("p50", |p| p.p50),
                    latency("p99", |p| p.p99),
                    latency("p99.9", |p| p.p999),
                ],
            },
        ));
    }

    if let Some(base) = base(SweepKind::AccountCount) {
        let throughput =
            of(SweepKind::AccountCount).map(|p| (p.x as f64, p.transfers_per_second_median())).collect();
        figures.push((
            "throughput-vs-account-count.svg",
            Figure {
                title: "Durable write throughput vs account count (closed loop, uniform)".into(),
                caption: caption(format!(
                    "{} transfers per point, batches of {}, {} x {} in flight",
                    base.transfer_count, base.transfer_batch_count, base.clients, base.in_flight
                )),
                x: Axis { label: "accounts".into(), scale: Scale::Log },
                y: Axis { label: "transfers/s accepted".into(), scale: Scale::Linear },
                series: vec![Series { label: "transfers/s".into(), points: throughput }],
            },
        ));
    }
    figures
}

/// Two lines: where the figures were measured, and how.
fn caption(machine: Option<&Machine>, commit: Option<&str>, repeat: u32, detail: &str) -> Vec<String> {
    let cores = machine.and_then(|m| m.cores).map_or_else(|| "?".to_owned(), |c| c.to_string());
    let cpu = machine.and_then(|m| m.cpu_model.as_deref()).unwrap_or("unknown CPU");
    let commit = commit.map(|c| format!(", commit {}", c.get(..8).unwrap_or(c))).unwrap_or_default();
    let runs = if repeat > 1 { format!("median of {repeat} runs") } else { "one run".to_owned() };
    vec![
        format!(
            "ledger-bench plots{commit}: {cores} cores ({cpu}), server and load generator on the same cores"
        ),
        format!("durable (fdatasync before each reply); {detail}; {runs} per point"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Wrapper {
        #[command(flatten)]
        args: PlotsArgs,
    }

    fn args(flags: &[&str]) -> PlotsArgs {
        let argv =
            ["plots", "--server-bin", "target/release/ledger"].into_iter().chain(flags.iter().copied());
        Wrapper::try_parse_from(argv).expect("parsable").args
    }

    fn swept(plan: &SweepPlan) -> Vec<u64> {
        plan.points.iter().map(|(x, _)| *x).collect()
    }

    #[test]
    fn the_default_sweeps_are_short() {
        let plans = args(&[]).plans().expect("valid");
        let kinds: Vec<SweepKind> = plans.iter().map(|p| p.kind).collect();
        assert_eq!(kinds, [SweepKind::BatchSize, SweepKind::OfferedLoad, SweepKind::AccountCount]);
        assert_eq!(swept(&plans[0]), BATCH_COUNTS_DEFAULT.map(|b| b as u64));
        for (x, p) in &plans[0].points {
            assert_eq!(
                (p.transfer_batch_count as u64, p.transfer_count, p.query_count, p.rate),
                (*x, 1_000_000, 0, None)
            );
        }
        for (x, p) in &plans[1].points {
            assert_eq!((p.rate, p.transfer_count), (Some(*x), x * POINT_SECONDS_DEFAULT));
        }
        for (x, p) in &plans[2].points {
            assert_eq!((p.account_count, p.transfer_batch_count), (*x, 8_189));
        }
    }

    #[test]
    fn lists_and_base_flags_shape_the_points() {
        let plans = args(&[
            "--sweeps",
            "offered-load,batch-size",
            "--rates",
            "50000,150000",
            "--batch-counts",
            "100",
            "--point-seconds",
            "10",
            "--in-flight",
            "1",
            "--transfer-batch-count",
            "1000",
        ])
        .plans()
        .expect("valid");
        assert_eq!(plans.len(), 2);
        assert_eq!(swept(&plans[0]), [50_000, 150_000]);
        let (_, first) = &plans[0].points[0];
        assert_eq!((first.transfer_count, first.in_flight, first.transfer_batch_count), (500_000, 1, 1_000));
        let (_, batch) = &plans[1].points[0];
        assert_eq!(
            (batch.transfer_batch_count, batch.in_flight),
            (100, 1),
            "the swept value wins over the base"
        );
    }

    #[test]
    fn out_of_bounds_sweeps_are_refused_before_anything_runs() {
        let refused = |flags: &[&str]| args(flags).plans().expect_err("refused");
        assert!(matches!(refused(&["--repeat", "0"]), SweepError::Repeat(0)));
        assert!(matches!(refused(&["--point-seconds", "0"]), SweepError::PointSeconds(0)));
        assert!(matches!(refused(&["--rate", "1000"]), SweepError::NotABase("--rate")));
        assert!(matches!(refused(&["--reads", "account-http"]), SweepError::NotABase("--reads")));
        let many: Vec<String> = (1..=33).map(|b| (b * 100).to_string()).collect();
        assert!(matches!(
            refused(&["--batch-counts", &many.join(",")]),
            SweepError::Points { flag: "batch-counts", got: 33 }
        ));
        assert!(matches!(
            refused(&["--batch-counts", "9000"]),
            SweepError::Point { sweep: "batch-size", x: 9_000, .. }
        ));
        assert!(matches!(
            refused(&["--account-count-hot", "50", "--account-counts", "20"]),
            SweepError::Point { sweep: "account-count", x: 20, .. }
        ));
    }

    fn report(parameters: &Parameters, transfers_per_second: f64, p99: f64) -> Report {
        Report {
            tool: "ledger-bench",
            machine: Machine { cpu_model: Some("Test CPU".into()), cores: Some(2), ram_bytes: None },
            commit: Some("0123456789abcdef".into()),
            scenario: None,
            parameters: parameters.clone(),
            server: "--server-bin ledger".into(),
            transfers_sent: parameters.transfer_count,
            transfers_failed: 0,
            load_seconds: 1.0,
            transfers_per_second,
            batch_latency_ms: Percentiles {
                count: 10,
                p50: p99 / 2.0,
                p99,
                p999: p99 * 2.0,
                ..Percentiles::default()
            },
            query_latency_ms: Percentiles::default(),
            query_transfers_mean: 0.0,
            server_figures: crate::bench::report::ServerFigures::default(),
            reads: None,
        }
    }

    #[test]
    fn each_sweep_becomes_its_figure_of_medians() {
        let plans = args(&["--batch-counts", "512,8189", "--rates", "100000", "--account-counts", "10000"])
            .plans()
            .expect("valid");
        let points: Vec<SweepPoint> = plans
            .iter()
            .flat_map(|plan| plan.points.iter().map(move |(x, p)| (plan.kind, *x, p)))
            .map(|(sweep, x, p)| SweepPoint {
                sweep,
                x,
                runs: vec![
                    report(p, x as f64, 10.0),
                    report(p, x as f64 * 3.0, 30.0),
                    report(p, x as f64 * 2.0, 20.0),
                ],
            })
            .collect();
        let figures = figures(&points, 3);
        let names: Vec<&str> = figures.iter().map(|(name, _)| *name).collect();
        assert_eq!(
            names,
            [
                "throughput-vs-batch-size.svg",
                "latency-vs-offered-load.svg",
                "throughput-vs-account-count.svg"
            ]
        );
        let batch = &figures[0].1;
        assert_eq!(
            batch.series[0].points,
            vec![(512.0, 1_024.0), (8_189.0, 16_378.0)],
            "medians of the runs"
        );
        let latency = &figures[1].1;
        let medians: Vec<(f64, f64)> = latency.series.iter().map(|s| s.points[0]).collect();
        assert_eq!(medians, vec![(100_000.0, 10.0), (100_000.0, 20.0), (100_000.0, 40.0)], "p50, p99, p99.9");
        assert_eq!(latency.y.scale, Scale::Log);
        assert!(
            batch.caption[0].contains("2 cores (Test CPU)") && batch.caption[0].contains("commit 01234567")
        );
        assert!(batch.caption[1].contains("median of 3 runs"), "{:?}", batch.caption);
        assert!(
            super::figures(&points[..2], 1).iter().all(|(name, _)| *name == "throughput-vs-batch-size.svg")
        );
    }

    #[test]
    fn the_median_takes_the_middle() {
        assert!((median(vec![3.0, 1.0, 2.0]) - 2.0).abs() < f64::EPSILON);
        assert!((median(vec![4.0, 1.0, 2.0, 3.0]) - 2.5).abs() < f64::EPSILON);
        assert!(median(Vec::new()).abs() < f64::EPSILON);
    }
}
