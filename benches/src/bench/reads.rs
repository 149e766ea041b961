//! Reads while the write load runs (the `mixed-read-write` and `history-during-writes`
//! scenarios): account lookups over HTTP, or an account's newest transfers over the binary
//! protocol or HTTP, from their own connections, in an open loop at a target rate.
//!
//! Read *k* is due at *k* / rate after the start, whichever connection takes it; its latency is
//! measured from that time, so a read stuck behind a batch delays the next ones and the delay
//! shows as latency (no coordinated omission). A connection carries one read at a time, so
//! `connections` bounds the reads in flight; when all are busy the schedule slips and the
//! achieved rate falls below the target (both are reported).

use super::distribution::SamplerError;
use super::http::{HttpConnection, HttpError};
use super::parameters::Parameters;
use crate::XorShift;
use hdrhistogram::Histogram;
use ledger_client::{AccountFilter, Client, ClientConfig, ClientError};
use ledger_core::AccountFilterFlags;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Reads per second when `--read-rate` is not given.
pub const READ_RATE_DEFAULT: u64 = 1_000;
/// Connections of the read load when `--read-connections` is not given. A read waits behind the
/// write batches queued before it (~50 ms in a closed-loop run here), so 1,000 reads/s need ~50
/// in flight; with fewer the schedule slips and the latency measures the slip.
pub const READ_CONNECTIONS_DEFAULT: usize = 64;
/// Bound on `--read-connections`.
pub const READ_CONNECTIONS_MAX: usize = 256;
/// Transfers per history page when `--read-limit` is not given (the HTTP API's default page).
pub const READ_LIMIT_DEFAULT: u32 = 100;
/// A read waiting longer than this fails the run (the server is stuck, not slow).
pub const READ_TIMEOUT: Duration = Duration::from_secs(60);
/// Latency histogram bounds in microseconds: 1 µs to 10 minutes, 3 significant digits.
const LATENCY_MICROS_MAX: u64 = 600_000_000;

/// What each read asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReadKind {
    /// `GET /v1/accounts/{id}`: the account with its balances (answered by the writer between
    /// two batches).
    AccountHttp,
    /// `get_account_transfers` over the binary protocol: the account's newest `--read-limit`
    /// transfers (answered by the history index).
    TransfersBinary,
    /// `GET /v1/accounts/{id}/transfers?limit=N&order=desc`: the same page over HTTP.
    TransfersHttp,
}

impl ReadKind {
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::AccountHttp => "account-http",
            Self::TransfersBinary => "transfers-binary",
            Self::TransfersHttp => "transfers-http",
        }
    }

    #[must_use]
    pub fn needs_http(self) -> bool {
        matches!(self, Self::AccountHttp | Self::TransfersHttp)
    }

    /// Whether a read returns a page of transfers (whose mean size is reported).
    #[must_use]
    pub fn returns_transfers(self) -> bool {
        matches!(self, Self::TransfersBinary | Self::TransfersHttp)
    }

    /// The HTTP path of a read of `account` (`None` for the binary protocol).
    #[must_use]
    pub fn http_path(self, account: u128, limit: u32) -> Option<String> {
        match self {
            Self::AccountHttp => Some(format!("/v1/accounts/{account}")),
            Self::TransfersHttp => Some(format!("/v1/accounts/{account}/transfers?limit={limit}&order=desc")),
            Self::TransfersBinary => None,
        }
    }
}

/// The read load of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct ReadParameters {
    pub kind: ReadKind,
    /// Target reads per second (open loop).
    pub rate: u64,
    pub connections: usize,
    /// Transfers per page for the history reads.
    pub limit: u32,
}

impl ReadParameters {
    /// Read *k*'s due time after the start.
    #[must_use]
    pub fn due(&self, k: u64) -> Duration {
        Duration::from_secs_f64(k as f64 / self.rate.max(1) as f64)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("the {kind} reads need the server's HTTP address (--http-addr with --addr)")]
    NoHttpAddress { kind: &'static str },
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error("a {kind} read took longer than {READ_TIMEOUT:?}")]
    Timeout { kind: &'static str },
    #[error("a read task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    #[error("latency histogram: {0}")]
    Histogram(String),
    #[error(transparent)]
    Accounts(#[from] SamplerError),
}

/// What the read load did.
#[derive(Debug)]
pub struct ReadLoad {
    pub reads: u64,
    /// Reads answered with an error status (HTTP other than 200).
    pub failed: u64,
    /// Transfers returned over all reads (history reads only).
    pub transfers_returned: u64,
    pub seconds: f64,
    /// Microseconds from each read's due time to its answer.
    pub latency: Histogram<u64>,
}

impl ReadLoad {
    fn empty() -> Result<Self, ReadError> {
        let latency = Histogram::new_with_bounds(1, LATENCY_MICROS_MAX, 3)
            .map_err(|e| ReadError::Histogram(e.to_string()))?;
        Ok(Self { reads: 0, failed: 0, transfers_returned: 0, seconds: 0.0, latency })
    }
}

/// One read connection.
enum Connection {
    Http(HttpConnection),
    Binary(Client),
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Http(_) => "Connection::Http",
            Self::Binary(_) => "Connection::Binary",
        })
    }
}

/// What one read returned: whether it succeeded and how many transfers it carried.
#[derive(Debug, Clone, Copy)]
struct Answer {
    ok: bool,
    transfers: u64,
}

impl Connection {
    async fn read(&mut self, reads: &ReadParameters, account: u128) -> Result<Answer, ReadError> {
        match self {
            Self::Binary(client) => {
                let filter = AccountFilter {
                    account_id: account,
                    limit: reads.limit,
                    flags: AccountFilterFlags::DEBITS
                        .union(AccountFilterFlags::CREDITS)
                        .union(AccountFilterFlags::REVERSED),
                    ..AccountFilter::default()
                };
                let transfers = client.get_account_transfers(filter).await?;
                Ok(Answer { ok: true, transfers: transfers.len() as u64 })
            }
            Self::Http(connection) => {
                let path = reads.kind.http_path(account, reads.limit).unwrap_or_default();
                let response = connection.get(&path).await?;
                let ok = response.status == 200;
                let transfers =
                    if ok && reads.kind.returns_transfers() { page_length(&response.body) } else { 0 };
                Ok(Answer { ok, transfers })
            }
        }
    }
}

/// The number of transfers in an account-transfers page (0 if it is not one).
#[must_use]
pub fn page_length(body: &[u8]) -> u64 {
    #[derive(serde::Deserialize)]
    struct Page {
        transfers: Vec<serde::de::IgnoredAny>,
    }
    serde_json::from_slice::<Page>(body).map_or(0, |page| page.transfers.len() as u64)
}

/// The read load while it runs.
#[derive(Debug)]
pub struct Readers {
    /// Each connection's own tally (its `seconds` unset).
    tasks: tokio::task::JoinSet<Result<ReadLoad, ReadError>>,
    stop: tokio::sync::watch::Sender<bool>,
    started: Instant,
    done: Arc<AtomicU64>,
}

impl Readers {
    /// Opens `reads.connections` connections, then starts reading.
    ///
    /// # Errors
    /// A connection cannot be opened, or an HTTP read has no HTTP address.
    pub async fn start(
        reads: ReadParameters,
        parameters: &Parameters,
        binary_addr: &str,
        http_addr: Option<&str>,
    ) -> Result<Self, ReadError> {
        let mut connections = Vec::with_capacity(reads.connections);
        for _ in 0..reads.connections {
            let connection = if reads.kind.needs_http() {
                let addr = http_addr.ok_or(ReadError::NoHttpAddress { kind: reads.kind.name() })?;
                Connection::Http(HttpConnection::connect(addr).await?)
            } else {
                let mut config = ClientConfig::new(binary_addr.to_owned());
                config.max_in_flight = 1;
                config.request_timeout = READ_TIMEOUT;
                Connection::Binary(Client::connect(config).await?)
            };
            connections.push(connection);
        }
        let sampler = parameters.sampler()?;
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let next = Arc::new(AtomicU64::new(0));
        let done = Arc::new(AtomicU64::new(0));
        let started = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for (index, mut connection) in (0_u64..).zip(connections) {
            let (next, done, mut stopped) = (Arc::clone(&next), Arc::clone(&done), stopped.clone());
            // Each connection its own stream of accounts, all drawn like the write load's.
            let mut rng =
                XorShift::new(parameters.seed.wrapping_add(2).wrapping_add(index.wrapping_mul(7_919)));
            let mut tally = ReadLoad::empty()?;
            tasks.spawn(async move {
                loop {
                    let due = started + reads.due(next.fetch_add(1, Ordering::Relaxed));
                    tokio::select! {
                        biased;
                        _ = stopped.changed() => break,
                        () = tokio::time::sleep_until(due.into()) => {}
                    }
                    if *stopped.borrow() {
                        break;
                    }
                    let account = sampler.account(&mut rng);
                    let answer = tokio::time::timeout(READ_TIMEOUT, connection.read(&reads, account))
                        .await
                        .map_err(|_| ReadError::Timeout { kind: reads.kind.name() })??;
                    let micros = u64::try_from(due.elapsed().as_micros()).unwrap_or(u64::MAX);
                    tally.latency.saturating_record(micros.max(1));
                    tally.reads += 1;
                    tally.failed += u64::from(!answer.ok);
                    tally.transfers_returned += answer.transfers;
                    done.fetch_add(1, Ordering::Relaxed);
                }
                if let Connection::Binary(client) = &connection {
                    client.close().await;
                }
                Ok(tally)
            });
        }
        Ok(Self { tasks, stop, started, done })
    }

    /// Reads answered so far (for the progress display).
    #[must_use]
    pub fn done(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.done)
    }

    /// Stops issuing reads, waits for those in flight and sums up.
    ///
    /// # Errors
    /// A read failed with an I/O or protocol error, or timed out.
    pub async fn stop(mut self) -> Result<ReadLoad, ReadError> {
        let seconds = self.started.elapsed().as_secs_f64();
        // Receivers gone (every task ended on an error) is fine: the join below reports it.
        let _ = self.stop.send(true);
        let mut load = ReadLoad { seconds, ..ReadLoad::empty()? };
        while let Some(joined) = self.tasks.join_next().await {
            let tally = joined??;
            load.reads += tally.reads;
            load.failed += tally.failed;
            load.transfers_returned += tally.transfers_returned;
            load.latency.add(&tally.latency).map_err(|e| ReadError::Histogram(e.to_string()))?;
        }
        Ok(load)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_due_evenly_at_the_target_rate() {
        let reads = ReadParameters { kind: ReadKind::AccountHttp, rate: 1_000, connections: 4, limit: 100 };
        assert_eq!(reads.due(0), Duration::ZERO);
        assert_eq!(reads.due(1), Duration::from_millis(1));
        assert_eq!(reads.due(2_500), Duration::from_millis(2_500));
    }

    #[test]
    fn http_reads_ask_the_documented_routes() {
        assert_eq!(ReadKind::AccountHttp.http_path(42, 100).as_deref(), Some("/v1/accounts/42"));
        assert_eq!(
            ReadKind::TransfersHttp.http_path(42, 7).as_deref(),
            Some("/v1/accounts/42/transfers?limit=7&order=desc")
        );
        assert_eq!(ReadKind::TransfersBinary.http_path(42, 7), None);
        assert!(ReadKind::AccountHttp.needs_http() && !ReadKind::TransfersBinary.needs_http());
    }

    #[test]
    fn a_page_is_measured_by_its_transfers() {
        let page =
            br#"{"transfers":[{"id":"1"},{"id":"2"},{"id":"3"}],"next_cursor":null,"current_to":{"op":"9"}}"#;
        assert_eq!(page_length(page), 3);
        assert_eq!(page_length(br#"{"error":"account_not_found"}"#), 0);
    }
}
