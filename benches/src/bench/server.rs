//! A `ledger serve` started by the bench on a temporary data directory and ephemeral ports, and
//! what can be measured about a server from outside: its fsync count (`/metrics`) and, once
//! stopped, its WAL.

use ledger_durability::storage::FileStorage;
use ledger_durability::wal::verify;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Prefix of the line `ledger serve` prints once both listeners are bound.
const LISTENING_PREFIX: &str = "ledger listening binary=";
/// How long a `/metrics` scrape may take before the figure is given up.
const METRICS_TIMEOUT: Duration = Duration::from_secs(5);
/// Room in the pre-sized transfer index over the transfers of the run (posts, voids, retries).
const TRANSFERS_CAPACITY_HEADROOM_DIVISOR: u64 = 4;

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot prepare the data directory {path}: {source}")]
    DataDir { path: PathBuf, source: std::io::Error },
    #[error("cannot start {bin}: {source}")]
    Start { bin: PathBuf, source: std::io::Error },
    #[error("the server exited before reporting its addresses")]
    NoAddress,
    #[error("cannot stop the server: {0}")]
    Stop(std::io::Error),
    #[error("cannot read the WAL of {path}: {reason}")]
    Wal { path: PathBuf, reason: String },
}

/// A running server started by the bench; stopped and its directory removed on drop.
#[derive(Debug)]
pub struct SpawnedServer {
    child: Option<Child>,
    dir: PathBuf,
    pub binary_addr: String,
    pub http_addr: String,
}

/// The data directory's WAL after a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct WalFigures {
    /// Sum of the `wal/` files' sizes (segments are preallocated, so this rounds up to them).
    pub dir_bytes: u64,
    /// Bytes of valid records (headers included).
    pub record_bytes: u64,
    pub records: u64,
}

impl SpawnedServer {
    /// Starts `bin serve` with its indexes pre-sized for the run.
    ///
    /// # Errors
    /// The directory cannot be made, the binary not started, or it exits before listening.
    pub fn start(bin: &Path, accounts: u64, transfers: u64) -> Result<Self, ServerError> {
        let dir = std::env::temp_dir().join(format!("ledger-bench-{}", std::process::id()));
        let data_dir_error = |source| ServerError::DataDir { path: dir.clone(), source };
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(data_dir_error)?;
        let config = dir.join("ledger.toml");
        let transfers_capacity = transfers.saturating_add(transfers / TRANSFERS_CAPACITY_HEADROOM_DIVISOR);
        std::fs::write(
            &config,
            format!(
                "accounts_initial_capacity = {accounts}\ntransfers_initial_capacity = {transfers_capacity}\n"
            ),
        )
        .map_err(data_dir_error)?;
        let mut child = Command::new(bin)
            .arg("serve")
            .arg("--data-dir")
            .arg(dir.join("data"))
            .arg("--config")
            .arg(&config)
            .args(["--addr", "127.0.0.1:0", "--http", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|source| ServerError::Start { bin: bin.to_owned(), source })?;
        let mut server = Self { child: None, dir, binary_addr: String::new(), http_addr: String::new() };
        let Some(stdout) = child.stdout.take() else {
            server.child = Some(child);
            return Err(ServerError::NoAddress);
        };
        server.child = Some(child);
        let mut lines = BufReader::new(stdout).lines();
        let (binary, http) = loop {
            let Some(Ok(line)) = lines.next() else { return Err(ServerError::NoAddress) };
            if let Some(addresses) = parse_listening(&line) {
                break addresses;
            }
        };
        server.binary_addr = binary;
        server.http_addr = http;
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Ok(server)
    }

    #[must_use]
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Stops the server (SIGTERM, then waits), measures its WAL and removes the directory.
    ///
    /// # Errors
    /// The server cannot be stopped or its WAL not read.
    pub fn stop(mut self) -> Result<WalFigures, ServerError> {
        self.terminate()?;
        let data_dir = self.dir.join("data");
        let figures = wal_figures(&data_dir);
        let _ = std::fs::remove_dir_all(&self.dir);
        figures
    }

    fn terminate(&mut self) -> Result<(), ServerError> {
        if let Some(mut child) = self.child.take() {
            // `kill` the command: the workspace denies unsafe code, so no libc::kill.
            Command::new("kill")
                .arg("-TERM")
                .arg(child.id().to_string())
                .status()
                .map_err(ServerError::Stop)?;
            child.wait().map_err(ServerError::Stop)?;
        }
        Ok(())
    }
}

impl Drop for SpawnedServer {
    fn drop(&mut self) {
        let _ = self.terminate();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `(binary, http)` from the server's listening line.
fn parse_listening(line: &str) -> Option<(String, String)> {
    let rest = line.strip_prefix(LISTENING_PREFIX)?;
    let mut words = rest.split_whitespace();
    let binary = words.next()?.to_owned();
    let http = words.find_map(|w| w.strip_prefix("http="))?.to_owned();
    Some((binary, http))
}

fn wal_figures(data_dir: &Path) -> Result<WalFigures, ServerError> {
    let wal_error = |reason: String| ServerError::Wal { path: data_dir.to_owned(), reason };
    let mut dir_bytes = 0;
    for entry in std::fs::read_dir(data_dir.join("wal")).map_err(|e| wal_error(e.to_string()))? {
        let metadata = entry.and_then(|e| e.metadata()).map_err(|e| wal_error(e.to_string()))?;
        dir_bytes += metadata.len();
    }
    let storage = FileStorage::open(data_dir).map_err(|e| wal_error(e.to_string()))?;
    let report = verify(&storage).map_err(|e| wal_error(e.to_string()))?;
    Ok(WalFigures { dir_bytes, record_bytes: report.record_bytes, records: report.records })
}

/// The server's count of WAL fsyncs (`ledger_fsync_seconds_count` on `/metrics`), if readable.
#[must_use]
pub fn fsync_count(http_addr: &str) -> Option<u64> {
    let mut stream = std::net::TcpStream::connect(http_addr).ok()?;
    stream.set_read_timeout(Some(METRICS_TIMEOUT)).ok()?;
    stream.set_write_timeout(Some(METRICS_TIMEOUT)).ok()?;
    write!(stream, "GET /metrics HTTP/1.1\r\nHost: {http_addr}\r\nConnection: close\r\n\r\n").ok()?;
    let mut body = String::new();
    stream.read_to_string(&mut body).ok()?;
    metric_value(&body, "ledger_fsync_seconds_count")
}

/// An unlabelled sample's value from Prometheus text; `Some(0)` before the first fsync, when the
/// histogram is not exported yet.
fn metric_value(text: &str, name: &str) -> Option<u64> {
    if !text.starts_with("HTTP/1.1 200") {
        return None;
    }
    let value = text.lines().find_map(|line| line.strip_prefix(name)?.strip_prefix(' '));
    match value {
        Some(value) => value.trim().parse::<u64>().ok(),
        None => Some(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_listening_line_gives_both_addresses() {
        let line = "ledger listening binary=127.0.0.1:40001 http=127.0.0.1:40002";
        assert_eq!(parse_listening(line), Some(("127.0.0.1:40001".into(), "127.0.0.1:40002".into())));
        assert_eq!(parse_listening("ledger starting"), None);
    }

    #[test]
    fn the_fsync_count_is_read_from_prometheus_text() {
        let body = "HTTP/1.1 200 OK\r\n\r\nledger_fsync_seconds_sum 0.5\nledger_fsync_seconds_count 157\n";
        assert_eq!(metric_value(body, "ledger_fsync_seconds_count"), Some(157));
        assert_eq!(metric_value("HTTP/1.1 200 OK\r\n\r\n", "ledger_fsync_seconds_count"), Some(0));
        assert_eq!(metric_value("HTTP/1.1 404 Not Found\r\n\r\n", "ledger_fsync_seconds_count"), None);
    }
}
