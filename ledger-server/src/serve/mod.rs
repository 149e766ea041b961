//! `ledger serve`: opens the data directory, then serves the binary protocol and the HTTP read
//! API until SIGINT or SIGTERM.
//!
//! Shutdown, in order: stop accepting; connections stop reading new frames and answer what
//! they have in flight (answers go out only once durable); HTTP finishes its requests; then
//! the intake drains, the writer makes everything durable and closes the WAL, and the history
//! index stops. A second signal during the grace period exits at once (what was acknowledged
//! is durable either way; nothing unacknowledged is promised).

pub mod binary;
pub mod config;
pub mod metrics;
pub mod ratelimit;

use crate::service::{RunningLedger, ServiceConfig};
use binary::BinaryServer;
use config::{ServeArgs, Settings};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::Instant;
use tokio::sync::watch;

/// Runs the server; returns when it has shut down.
pub fn run(args: &ServeArgs) -> ExitCode {
    init_tracing();
    let settings = match Settings::resolve(args) {
        Ok(settings) => settings,
        Err(e) => {
            tracing::error!(error = %e, "cannot start");
            eprintln!("ledger serve: {e}");
            return ExitCode::FAILURE;
        }
    };
    match serve(&settings) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "stopped with an error");
            eprintln!("ledger serve: {e}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("LEDGER_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    use std::io::IsTerminal;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

#[derive(Debug, thiserror::Error)]
enum ServeFailure {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error(transparent)]
    Open(#[from] crate::service::ServeError),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: std::net::SocketAddr, source: std::io::Error },
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
}

fn serve(settings: &Settings) -> Result<(), ServeFailure> {
    let token = settings.token()?;
    let prometheus = metrics::install();
    let started = Instant::now();
    let running = RunningLedger::open(ServiceConfig {
        data_dir: settings.data_dir.clone(),
        ledger: settings.ledger,
        snapshot_every_ops: settings.snapshot_every_ops,
        in_flight_events: settings.in_flight_events,
        chart: settings.chart.clone(),
    })?;
    let startup = &running.startup;
    tracing::info!(
        data_dir = %settings.data_dir.display(),
        io = ?startup.io,
        snapshot_op = startup.snapshot_op,
        records_replayed = startup.recovery.records_replayed,
        next_op = startup.recovery.next_op,
        torn_tail = startup.recovery.torn_tail.as_ref().map(|t| format!("{t:?}")),
        skipped_snapshots = startup.skipped_snapshots.len(),
        elapsed_ms = started.elapsed().as_millis(),
        "recovered"
    );
    for skipped in &startup.skipped_snapshots {
        tracing::warn!(reason = %skipped, "skipped a snapshot that failed to load");
    }
    if let Some(op) = startup.journal.records_lost_through_op {
        tracing::warn!(
            through_op = op,
            moved_to = startup.journal.moved_aside.as_ref().map(|p| p.display().to_string()),
            "journal.log was missing or did not reach the snapshot: it starts again after the \
             snapshot; entries up to that op show without their event records"
        );
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("ledger-net")
        .enable_all()
        .build()
        .map_err(ServeFailure::Runtime)?;
    let service = running.service.clone();
    let outcome = runtime.block_on(async move {
        let binary = tokio::net::TcpListener::bind(settings.addr)
            .await
            .map_err(|source| ServeFailure::Bind { addr: settings.addr, source })?;
        let http = tokio::net::TcpListener::bind(settings.http)
            .await
            .map_err(|source| ServeFailure::Bind { addr: settings.http, source })?;
        let binary_addr = binary.local_addr().unwrap_or(settings.addr);
        let http_addr = http.local_addr().unwrap_or(settings.http);
        tracing::info!(binary = %binary_addr, http = %http_addr, auth = token.is_some(), "listening");
        // One machine-readable line on stdout, for scripts and tests that start on port 0.
        println!("ledger listening binary={binary_addr} http={http_addr}");

        let (stop, stopping) = watch::channel(false);
        let token: Option<Arc<[u8]>> = token.map(Arc::from);
        let server = BinaryServer {
            service: service.clone(),
            token: token.clone(),
            // At most ten refusal lines a second, as docs/operations.md says.
            rejections: Arc::new(ratelimit::RateLimitedLog::new(std::time::Duration::from_millis(100))),
            connections: Arc::new(AtomicUsize::new(0)),
            max_connections: settings.max_connections,
        };
        let binary_task = tokio::spawn(server.run(binary, stopping.clone()));
        let router = crate::http::router(crate::http::HttpState {
            service: service.clone(),
            token: token.as_ref().map(|t| Arc::from(String::from_utf8_lossy(t).as_ref())),
            metrics: prometheus,
        });
        let mut http_stopping = stopping.clone();
        let http_task = tokio::spawn(async move {
            let stopped = async move {
                let _ = http_stopping.wait_for(|s| *s).await;
            };
            axum::serve(http, router).with_graceful_shutdown(stopped).await
        });

        let signal = wait_for_signal().await;
        tracing::info!(signal, "shutting down: draining requests in flight");
        let _ = stop.send(true);
        // Change-feed waits (long-polls, streams, read_journal) answer now instead of holding
        // the drain for up to their wait.
        service.close_feeds();
        let drained = async {
            let _ = binary_task.await;
            let _ = http_task.await;
        };
        tokio::select! {
            () = drained => {}
            () = tokio::time::sleep(settings.shutdown_grace) => {
                tracing::warn!(grace = ?settings.shutdown_grace, "grace period over; closing connections");
            }
            signal = wait_for_signal() => tracing::warn!(signal, "second signal; closing connections"),
        }
        Ok::<(), ServeFailure>(())
    });
    // Dropping the runtime closes any connection still open; then the writer drains.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    let durable_op = running.service.durable_op();
    running.shutdown();
    tracing::info!(durable_op, "stopped; the WAL is closed");
    outcome
}

async fn wait_for_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut term) = signal(SignalKind::terminate()) else {
            let _ = tokio::signal::ctrl_c().await;
            return "SIGINT";
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => "SIGINT",
            _ = term.recv() => "SIGTERM",
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "SIGINT"
    }
}
