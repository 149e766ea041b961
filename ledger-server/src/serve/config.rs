//! `ledger serve` settings: command-line flags over an optional TOML file over defaults.
//!
//! ```toml
//! # ledger.toml: every key optional
//! data_dir = "./data"
//! addr = "127.0.0.1:3001"          # binary protocol
//! http = "127.0.0.1:3000"          # HTTP read API
//! token_file = "/etc/ledger/token" # required unless both addresses are loopback
//! snapshot_every_ops = 4096        # online snapshot interval in WAL records; 0 turns it off
//! accounts_initial_capacity = 1048576
//! transfers_initial_capacity = 16777216
//! in_flight_events = 262048        # admission budget across connections
//! shutdown_grace_seconds = 30
//! max_connections = 4096           # binary-protocol connections; more are closed at once
//! chart = "/etc/ledger/chart.toml" # chart of accounts and entry templates (default: shipped)
//! ```

use ledger_core::LedgerConfig;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(clap::Args, Debug, Default)]
pub struct ServeArgs {
    /// The data directory (created on first start).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Address of the binary protocol.
    #[arg(long)]
    pub addr: Option<SocketAddr>,
    /// Address of the HTTP read API.
    #[arg(long)]
    pub http: Option<SocketAddr>,
    /// A TOML file with any of these settings; flags given here win.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// A file holding the auth token clients must present. Required when an address is not
    /// loopback.
    #[arg(long)]
    pub token_file: Option<PathBuf>,
    /// Online snapshot interval in WAL records (0: off).
    #[arg(long)]
    pub snapshot_every_ops: Option<u64>,
    /// Open binary-protocol connections allowed; a connection beyond it is closed at once.
    #[arg(long)]
    pub max_connections: Option<usize>,
    /// The chart of accounts and entry templates for standard ledger events (TOML; default:
    /// the shipped chart, `ledger-events/default.toml`).
    #[arg(long)]
    pub chart: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    data_dir: Option<PathBuf>,
    addr: Option<SocketAddr>,
    http: Option<SocketAddr>,
    token_file: Option<PathBuf>,
    snapshot_every_ops: Option<u64>,
    accounts_initial_capacity: Option<usize>,
    transfers_initial_capacity: Option<usize>,
    in_flight_events: Option<u32>,
    shutdown_grace_seconds: Option<u64>,
    max_connections: Option<usize>,
    chart: Option<PathBuf>,
}

/// The resolved settings.
#[derive(Clone, Debug)]
pub struct Settings {
    pub data_dir: PathBuf,
    pub addr: SocketAddr,
    pub http: SocketAddr,
    pub token_file: Option<PathBuf>,
    pub snapshot_every_ops: Option<u64>,
    pub ledger: LedgerConfig,
    pub in_flight_events: u32,
    pub shutdown_grace: Duration,
    pub max_connections: usize,
    pub chart: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config file {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("config file {path}: {source}")]
    Parse { path: String, source: Box<toml::de::Error> },
    #[error(
        "refusing to listen on {addr} without an auth token: pass --token-file (or set token_file), \
         or bind to a loopback address"
    )]
    TokenRequired { addr: SocketAddr },
    #[error("token file {path}: {reason}")]
    Token { path: String, reason: String },
}

pub const DATA_DIR_DEFAULT: &str = "./data";
pub const ADDR_DEFAULT: &str = "127.0.0.1:3001";
pub const HTTP_DEFAULT: &str = "127.0.0.1:3000";
/// Longest accepted token: it travels in one `hello` frame.
pub const TOKEN_MAX: usize = 256;

impl Settings {
    pub fn resolve(args: &ServeArgs) -> Result<Self, ConfigError> {
        let file = match &args.config {
            Some(path) => read_file(path)?,
            None => FileSettings::default(),
        };
        let defaults = LedgerConfig::default();
        let snapshot_every_ops = args
            .snapshot_every_ops
            .or(file.snapshot_every_ops)
            .or(ledger_durability::data_dir::DataDirConfig::default().snapshot_every_ops);
        let settings = Self {
            data_dir: args.data_dir.clone().or(file.data_dir).unwrap_or_else(|| DATA_DIR_DEFAULT.into()),
            addr: args.addr.or(file.addr).unwrap_or_else(|| parse_default(ADDR_DEFAULT)),
            http: args.http.or(file.http).unwrap_or_else(|| parse_default(HTTP_DEFAULT)),
            token_file: args.token_file.clone().or(file.token_file),
            snapshot_every_ops: snapshot_every_ops.filter(|&n| n > 0),
            ledger: LedgerConfig {
                accounts_initial_capacity: file
                    .accounts_initial_capacity
                    .unwrap_or(defaults.accounts_initial_capacity),
                transfers_initial_capacity: file
                    .transfers_initial_capacity
                    .unwrap_or(defaults.transfers_initial_capacity),
                ..defaults
            },
            in_flight_events: file.in_flight_events.unwrap_or(crate::service::IN_FLIGHT_EVENTS_DEFAULT),
            shutdown_grace: Duration::from_secs(file.shutdown_grace_seconds.unwrap_or(30)),
            chart: args.chart.clone().or(file.chart),
            max_connections: args
                .max_connections
                .or(file.max_connections)
                .unwrap_or(crate::serve::binary::MAX_CONNECTIONS_DEFAULT),
        };
        if settings.token_file.is_none() {
            for addr in [settings.addr, settings.http] {
                if !addr.ip().is_loopback() {
                    return Err(ConfigError::TokenRequired { addr });
                }
            }
        }
        Ok(settings)
    }

    /// Reads the token file, if any: its content without a trailing newline; not empty.
    pub fn token(&self) -> Result<Option<Vec<u8>>, ConfigError> {
        let Some(path) = &self.token_file else { return Ok(None) };
        let fail = |reason: String| ConfigError::Token { path: path.display().to_string(), reason };
        let mut token = std::fs::read(path).map_err(|e| fail(e.to_string()))?;
        while token.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
            token.pop();
        }
        if token.is_empty() {
            return Err(fail("the token is empty".into()));
        }
        if token.len() > TOKEN_MAX {
            return Err(fail(format!("the token is longer than {TOKEN_MAX} bytes")));
        }
        // HTTP carries it in a header: printable ASCII only, no spaces.
        if !token.iter().all(|b| b.is_ascii_graphic()) {
            return Err(fail("the token must be printable ASCII without spaces".into()));
        }
        Ok(Some(token))
    }
}

fn parse_default(addr: &str) -> SocketAddr {
    addr.parse().unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
}

fn read_file(path: &Path) -> Result<FileSettings, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| ConfigError::Read { path: path.display().to_string(), source })?;
    toml::from_str(&text)
        .map_err(|source| ConfigError::Parse { path: path.display().to_string(), source: Box::new(source) })
}

/// Whether `presented` equals `expected`, in a time that depends only on the lengths: every
/// byte is compared and the differences are accumulated without branching on them, so
/// response timing does not reveal a prefix of the token. Shared by the binary protocol's
/// `hello` and HTTP's bearer check.
#[must_use]
pub fn tokens_match(expected: &[u8], presented: &[u8]) -> bool {
    let len = expected.len().max(presented.len());
    let mut difference = u8::from(expected.len() != presented.len());
    for i in 0..len {
        let x = expected.get(i).copied().unwrap_or(0);
        let y = presented.get(i).copied().unwrap_or(0);
        difference |= x ^ y;
    }
    std::hint::black_box(difference) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_need_no_setup() {
        let settings = Settings::resolve(&ServeArgs::default()).expect("defaults resolve");
        assert_eq!(settings.data_dir, PathBuf::from(DATA_DIR_DEFAULT));
        assert_eq!(settings.addr.to_string(), ADDR_DEFAULT);
        assert_eq!(settings.http.to_string(), HTTP_DEFAULT);
        assert!(settings.token_file.is_none());
    }

    #[test]
    fn a_public_address_without_a_token_is_refused() {
        let args = ServeArgs { addr: Some("0.0.0.0:3001".parse().expect("addr")), ..ServeArgs::default() };
        assert!(matches!(Settings::resolve(&args), Err(ConfigError::TokenRequired { .. })));
        let args = ServeArgs {
            http: Some("0.0.0.0:3000".parse().expect("addr")),
            token_file: Some("/nonexistent".into()),
            ..ServeArgs::default()
        };
        assert!(Settings::resolve(&args).is_ok());
    }

    #[test]
    fn flags_win_over_the_file_and_unknown_keys_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("ledger.toml");
        std::fs::write(
            &path,
            "data_dir = \"/from-file\"\naddr = \"127.0.0.1:4001\"\nsnapshot_every_ops = 0\n",
        )
        .expect("write");
        let args = ServeArgs {
            config: Some(path.clone()),
            data_dir: Some("/from-flag".into()),
            ..ServeArgs::default()
        };
        let settings = Settings::resolve(&args).expect("resolves");
        assert_eq!(settings.data_dir, PathBuf::from("/from-flag"));
        assert_eq!(settings.addr.to_string(), "127.0.0.1:4001");
        assert_eq!(settings.snapshot_every_ops, None);
        assert_eq!(settings.max_connections, crate::serve::binary::MAX_CONNECTIONS_DEFAULT);

        std::fs::write(&path, "max_connections = 10\n").expect("write");
        let from_file = ServeArgs { config: Some(path.clone()), ..ServeArgs::default() };
        assert_eq!(Settings::resolve(&from_file).expect("resolves").max_connections, 10);
        let flag = ServeArgs { max_connections: Some(3), ..from_file };
        assert_eq!(Settings::resolve(&flag).expect("resolves").max_connections, 3);

        std::fs::write(&path, "data_dri = \"/typo\"\n").expect("write");
        let error = Settings::resolve(&ServeArgs { config: Some(path), ..ServeArgs::default() })
            .expect_err("typo refused");
        assert!(error.to_string().contains("data_dri"), "{error}");
    }

    #[test]
    fn tokens_are_read_without_the_newline_and_compared_exactly() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("token");
        std::fs::write(&path, "s3cret\n").expect("write");
        let settings = Settings {
            token_file: Some(path.clone()),
            ..Settings::resolve(&ServeArgs::default()).expect("d")
        };
        assert_eq!(settings.token().expect("reads"), Some(b"s3cret".to_vec()));
        assert!(tokens_match(b"s3cret", b"s3cret"));
        assert!(!tokens_match(b"s3cret", b"s3cres"));
        assert!(!tokens_match(b"s3cret", b"s3cre"));
        std::fs::write(&path, "\n").expect("write");
        assert!(settings.token().is_err());
    }
}
