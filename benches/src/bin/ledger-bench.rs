//! `ledger-bench`: load generator for `ledger serve` with `tigerbeetle benchmark`'s flags, so the
//! two can be run side by side (`--account-count`, `--transfer-count`, `--transfer-batch-count`,
//! `--id-order`, ...), plus named scenarios (`--scenario`), open loop (`--rate`), pipelining
//! (`--in-flight`), reads while writing (`--reads`), a JSON report (`--json`) and the sweeps
//! behind the capacity plots (`ledger-bench plots`). `ledger-bench --help` lists every flag;
//! `docs/capacity.md` has the commands and figures.
//!
//! With `--server-bin target/release/ledger` the server is started on a fresh temporary data
//! directory and ephemeral ports, and its CPU time, RSS, fsyncs and WAL size are measured; with
//! `--addr` a running server is used (accounts 1..=N created if missing, transfer ids from a
//! random base so runs do not collide). The run itself is `bench::run`.
//!
//! `--baseline postgres` (built with the `postgres` feature) then runs the same parameters and
//! the same generated transfers against PostgreSQL (`bench::postgres`, server from
//! `scripts/postgres start`) and prints the ratio; without `--server-bin`/`--addr` it runs
//! PostgreSQL alone.

use clap::Parser;
use ledger_benches::bench::parameters::{Baseline, Cli, Command, Parameters};
use ledger_benches::bench::plot;
use ledger_benches::bench::progress::ProgressMode;
use ledger_benches::bench::report::Report;
use ledger_benches::bench::run::{Target, run_ledger};
use ledger_benches::bench::sweep::{self, PlotsArgs};
use std::error::Error;
use std::process::ExitCode;

type BoxError = Box<dyn Error + Send + Sync>;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // On Ctrl-C or SIGTERM the run is dropped, and with it any `SpawnedServer`, whose drop stops
    // the server and removes its temporary data directory: no server outlives the bench.
    let result = tokio::select! {
        result = run(cli) => result,
        signal = stop_signal() => Err(format!("stopped by {signal}").into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("ledger-bench: {error}");
            ExitCode::FAILURE
        }
    }
}

/// The first of SIGINT and SIGTERM (never, if they cannot be watched).
async fn stop_signal() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut terminate) = signal(SignalKind::terminate()) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => "SIGINT",
        _ = terminate.recv() => "SIGTERM",
    }
}

async fn run(cli: Cli) -> Result<(), BoxError> {
    if let Some(Command::Plots(args)) = &cli.command {
        return plots(args).await;
    }
    let parameters = Parameters::resolve(cli.scenario, &cli.overrides)?;
    let scenario = cli.scenario.map(|s| s.name());
    println!("ledger-bench: scenario {}", scenario.unwrap_or("(none)"));
    println!("  {}", parameters.flags());
    let progress = ProgressMode::detect(cli.quiet);

    // Refuse what the baseline cannot run before spending minutes on the ledger run.
    #[cfg(feature = "postgres")]
    if cli.baseline == Some(Baseline::Postgres) {
        ledger_benches::bench::postgres::baseline::check_supported(&parameters)?;
    }
    let target = match (&cli.server_bin, &cli.addr) {
        (Some(bin), _) => Some(Target::Spawn { bin: bin.clone() }),
        (None, Some(addr)) => Some(Target::Running { addr: addr.clone(), http_addr: cli.http_addr.clone() }),
        (None, None) if cli.baseline.is_some() => None,
        (None, None) => {
            return Err(
                "give --server-bin PATH (start a server), --addr HOST:PORT or --baseline postgres".into()
            );
        }
    };
    let ledger = match &target {
        Some(target) => Some(run_ledger(target, &parameters, scenario, progress).await?),
        None => None,
    };
    if let Some(report) = &ledger {
        print!("{}", report.summary());
    }
    let baseline = match cli.baseline {
        Some(Baseline::Postgres) => Some(run_postgres(&cli, &parameters, scenario, progress).await?),
        None => None,
    };
    if let Some(report) = &baseline {
        println!("postgres baseline ({}):", report.server);
        print!("{}", report.summary());
    }
    let ratio = ledger
        .as_ref()
        .zip(baseline.as_ref())
        .map(|(ledger, baseline)| ledger.transfers_per_second / baseline.transfers_per_second);
    if let Some(ratio) = ratio {
        println!("ratio: ledger / postgres = {ratio:.1}x (transfers/s, same parameters)");
    }
    if let Some(path) = &cli.json {
        let json = match (&ledger, &baseline) {
            (Some(ledger), Some(baseline)) => serde_json::to_string_pretty(&serde_json::json!({
                "ledger": ledger,
                "postgres": baseline,
                "ratio_transfers_per_second": ratio,
            }))?,
            (Some(report), None) | (None, Some(report)) => serde_json::to_string_pretty(report)?,
            (None, None) => return Ok(()),
        };
        std::fs::write(path, json + "\n")?;
        println!("report: {}", path.display());
    }
    Ok(())
}

/// `ledger-bench plots`: the sweeps, then `sweeps.json` and one SVG per sweep in `--out`.
async fn plots(args: &PlotsArgs) -> Result<(), BoxError> {
    let plans = args.plans()?;
    let runs: usize = plans.iter().map(|p| p.points.len()).sum::<usize>() * args.repeat as usize;
    println!("ledger-bench plots: {} sweeps, {runs} runs, writing to {}", plans.len(), args.out.display());
    std::fs::create_dir_all(&args.out)?;
    let points = sweep::run_sweeps(args, &plans, ProgressMode::detect(args.quiet)).await?;
    let json = args.out.join("sweeps.json");
    std::fs::write(&json, serde_json::to_string_pretty(&points)? + "\n")?;
    println!("runs: {}", json.display());
    for (name, figure) in sweep::figures(&points, args.repeat) {
        let path = args.out.join(name);
        std::fs::write(&path, plot::render_svg(&figure)?)?;
        println!("plot: {}", path.display());
    }
    Ok(())
}

/// The PostgreSQL baseline on the same parameters and the same generated transfers.
#[cfg(feature = "postgres")]
async fn run_postgres(
    cli: &Cli,
    parameters: &Parameters,
    scenario: Option<&'static str>,
    progress: ProgressMode,
) -> Result<Report, BoxError> {
    use ledger_benches::bench::machine::{Machine, commit};
    use ledger_benches::bench::postgres;
    use ledger_benches::bench::report::{Percentiles, ServerFigures};
    use ledger_benches::bench::run::generate;
    use std::time::Instant;

    postgres::baseline::check_supported(parameters)?;
    let url = &cli.postgres_url;
    let client = postgres::connect(url).await?;
    let started = Instant::now();
    postgres::prepare(&client, parameters.account_count, cli.postgres_foreign_keys).await?;
    println!(
        "  postgres: {} accounts created in {:.2} s",
        parameters.account_count,
        started.elapsed().as_secs_f64()
    );
    let shares = generate(parameters, parameters.clients * parameters.in_flight, false)?;
    let load = postgres::run_load(url, parameters, shares, progress).await?;
    let accepted = load.sent - load.failed;
    postgres::verify(&client, accepted).await?;
    if load.retries > 0 {
        eprintln!("ledger-bench: postgres: {} batches retried after a deadlock", load.retries);
    }
    let (query_latency, query_transfers_mean) = postgres::run_queries(&client, parameters).await?;
    Ok(Report {
        tool: "ledger-bench",
        machine: Machine::read(),
        commit: std::env::current_dir().ok().and_then(|dir| commit(&dir)),
        scenario,
        parameters: parameters.clone(),
        server: format!(
            "--baseline postgres --postgres-url {url}{}",
            if cli.postgres_foreign_keys { " --postgres-foreign-keys" } else { "" }
        ),
        transfers_sent: load.sent,
        transfers_failed: load.failed,
        load_seconds: load.seconds,
        transfers_per_second: accepted as f64 / load.seconds,
        batch_latency_ms: Percentiles::from_micros(&load.latency),
        query_latency_ms: Percentiles::from_micros(&query_latency),
        query_transfers_mean,
        server_figures: ServerFigures::default(),
        reads: None,
    })
}

#[cfg(not(feature = "postgres"))]
async fn run_postgres(
    _: &Cli,
    _: &Parameters,
    _: Option<&'static str>,
    _: ProgressMode,
) -> Result<Report, BoxError> {
    Err("this ledger-bench was built without the PostgreSQL baseline: \
         cargo build --release -p ledger-benches --features postgres --bin ledger-bench"
        .into())
}
