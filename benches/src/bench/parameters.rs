//! `ledger-bench`'s parameters: TigerBeetle's `tigerbeetle benchmark` flags (same names, same
//! defaults) plus ours, and the named scenarios that preset them.
//!
//! Resolution: an explicit flag wins over the scenario, which wins over the defaults; the
//! resolved set is printed before the run and stored in the JSON report.

use super::distribution::{AccountDistribution, AccountSampler, SamplerError};
use super::ids::IdOrder;
use super::reads::{
    READ_CONNECTIONS_DEFAULT, READ_CONNECTIONS_MAX, READ_LIMIT_DEFAULT, READ_RATE_DEFAULT, ReadKind,
    ReadParameters,
};
use super::sweep::PlotsArgs;
use ledger_core::BATCH_EVENTS_MAX;
use std::path::PathBuf;

/// TigerBeetle's defaults.
pub const ACCOUNT_COUNT_DEFAULT: u64 = 10_000;
pub const TRANSFER_COUNT_DEFAULT: u64 = 10_000_000;
pub const TRANSFER_HOT_PERCENT_DEFAULT: u64 = 100;
pub const QUERY_COUNT_DEFAULT: u64 = 100;
/// Ours: requests each connection keeps in flight. TigerBeetle's client has one; eight match
/// `server-load`'s 2 connections x 4 and let group commit merge requests. `--in-flight 1` is the
/// exact TigerBeetle equivalent.
pub const IN_FLIGHT_DEFAULT: usize = 8;
/// Fixed so that two runs apply the same transfers (TigerBeetle draws a random seed).
pub const SEED_DEFAULT: u64 = 42;
/// Bounds, so that a typo cannot open thousands of connections or tasks.
pub const CLIENTS_MAX: usize = 64;
pub const IN_FLIGHT_MAX: usize = ledger_client::MAX_IN_FLIGHT_LIMIT;
/// Longest linked chain a scenario may ask for (chains must fit in one request).
pub const CHAIN_LENGTH_MAX: usize = 1024;

/// Where `scripts/postgres start` puts its server.
pub const POSTGRES_URL_DEFAULT: &str = "postgresql://postgres@127.0.0.1:5433/ledger_bench";

/// The systems `ledger-bench --baseline` compares the ledger with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Baseline {
    /// A double-entry schema in PostgreSQL (`bench::postgres`).
    Postgres,
}

/// Named workloads; each presets some parameters (see `Scenario::preset`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scenario {
    /// TigerBeetle's default benchmark: 10k accounts, uniform, sequential ids.
    #[value(name = "uniform-10k")]
    Uniform10k,
    /// Uniform over 1M accounts (the account table leaves the CPU caches).
    #[value(name = "uniform-1m")]
    Uniform1m,
    /// Uniform over 10M accounts.
    #[value(name = "uniform-10m")]
    Uniform10m,
    /// 10k accounts, random transfer ids (the hard case for the id index).
    RandomIds,
    /// 10k accounts, zipfian (theta 0.99).
    Zipfian,
    /// 90% of transfers on 10 hot accounts out of 10k.
    Hot,
    /// Pending transfers, then posts/voids of them (three posts to one void).
    TwoPhase,
    /// Linked chains of 4 transfers.
    #[value(name = "linked-4")]
    Linked4,
    /// Account lookups over HTTP (`GET /v1/accounts/{id}`, 1,000/s) while writing; the writes
    /// run once without and once with the reads.
    MixedReadWrite,
    /// The newest 100 transfers of an account over the binary protocol (`get_account_transfers`,
    /// 1,000/s) while writing; the writes run once without and once with the reads.
    HistoryDuringWrites,
}

impl Scenario {
    /// The parameters this scenario sets (the rest stay at their defaults).
    #[must_use]
    pub fn preset(self) -> Overrides {
        let none = Overrides::default();
        match self {
            Self::Uniform10k => none,
            Self::Uniform1m => Overrides { account_count: Some(1_000_000), ..none },
            Self::Uniform10m => Overrides { account_count: Some(10_000_000), ..none },
            Self::RandomIds => Overrides { id_order: Some(IdOrder::Random), ..none },
            Self::Zipfian => Overrides { account_distribution: Some(AccountDistribution::Zipfian), ..none },
            Self::Hot => Overrides { account_count_hot: Some(10), transfer_hot_percent: Some(90), ..none },
            Self::TwoPhase => Overrides { transfer_pending: true, ..none },
            Self::Linked4 => Overrides { transfer_chain_length: Some(4), ..none },
            Self::MixedReadWrite => Overrides { reads: Some(ReadKind::AccountHttp), ..none },
            Self::HistoryDuringWrites => Overrides { reads: Some(ReadKind::TransfersBinary), ..none },
        }
    }

    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Uniform10k => "uniform-10k",
            Self::Uniform1m => "uniform-1m",
            Self::Uniform10m => "uniform-10m",
            Self::RandomIds => "random-ids",
            Self::Zipfian => "zipfian",
            Self::Hot => "hot",
            Self::TwoPhase => "two-phase",
            Self::Linked4 => "linked-4",
            Self::MixedReadWrite => "mixed-read-write",
            Self::HistoryDuringWrites => "history-during-writes",
        }
    }
}

/// Parameters a scenario or the command line may set; `None`/`false` leaves the lower layer's.
#[derive(Debug, Clone, Default, PartialEq, Eq, clap::Args)]
pub struct Overrides {
    /// Accounts created before the load (ids 1..=N). [default: 10000]
    #[arg(long)]
    pub account_count: Option<u64>,
    /// Accounts in the hot set (the first N ids); 0 for none. [default: 0]
    #[arg(long)]
    pub account_count_hot: Option<u64>,
    /// How accounts are drawn within the chosen range. [default: uniform]
    #[arg(long, value_enum)]
    pub account_distribution: Option<AccountDistribution>,
    /// Transfers to create. [default: 10000000]
    #[arg(long)]
    pub transfer_count: Option<u64>,
    /// Percentage of transfers on the hot accounts (with --account-count-hot). [default: 100]
    #[arg(long)]
    pub transfer_hot_percent: Option<u64>,
    /// Pending transfers, then posts/voids of them.
    #[arg(long)]
    pub transfer_pending: bool,
    /// Linked chains of N transfers (ours; 1 = no chains). [default: 1]
    #[arg(long)]
    pub transfer_chain_length: Option<usize>,
    /// Transfers per request. [default: 8189]
    #[arg(long)]
    pub transfer_batch_count: Option<usize>,
    /// Connections to the server. [default: 1]
    #[arg(long)]
    pub clients: Option<usize>,
    /// Requests each connection keeps in flight (ours). [default: 8]
    #[arg(long)]
    pub in_flight: Option<usize>,
    /// Transfer id order. [default: sequential]
    #[arg(long, value_enum)]
    pub id_order: Option<IdOrder>,
    /// get_account_transfers queries after the load. [default: 100]
    #[arg(long)]
    pub query_count: Option<u64>,
    /// Seed of the workload generator. [default: 42]
    #[arg(long)]
    pub seed: Option<u64>,
    /// Open loop at this many transfers/s (latency from the scheduled send time); closed loop
    /// (as fast as replies come) without it.
    #[arg(long)]
    pub rate: Option<u64>,
    /// Reads from their own connections while the load runs (the write load then runs twice,
    /// without and with them, on a fresh server each with --server-bin).
    #[arg(long, value_enum)]
    pub reads: Option<ReadKind>,
    /// Target reads per second of --reads (open loop). [default: 1000]
    #[arg(long)]
    pub read_rate: Option<u64>,
    /// Connections of --reads, each with one read in flight. [default: 4]
    #[arg(long)]
    pub read_connections: Option<usize>,
    /// Transfers per page of the history --reads. [default: 100]
    #[arg(long)]
    pub read_limit: Option<u32>,
}

impl Overrides {
    /// `self` over `lower`.
    #[must_use]
    pub fn over(&self, lower: &Self) -> Self {
        Self {
            account_count: self.account_count.or(lower.account_count),
            account_count_hot: self.account_count_hot.or(lower.account_count_hot),
            account_distribution: self.account_distribution.or(lower.account_distribution),
            transfer_count: self.transfer_count.or(lower.transfer_count),
            transfer_hot_percent: self.transfer_hot_percent.or(lower.transfer_hot_percent),
            transfer_pending: self.transfer_pending || lower.transfer_pending,
            transfer_chain_length: self.transfer_chain_length.or(lower.transfer_chain_length),
            transfer_batch_count: self.transfer_batch_count.or(lower.transfer_batch_count),
            clients: self.clients.or(lower.clients),
            in_flight: self.in_flight.or(lower.in_flight),
            id_order: self.id_order.or(lower.id_order),
            query_count: self.query_count.or(lower.query_count),
            seed: self.seed.or(lower.seed),
            rate: self.rate.or(lower.rate),
            reads: self.reads.or(lower.reads),
            read_rate: self.read_rate.or(lower.read_rate),
            read_connections: self.read_connections.or(lower.read_connections),
            read_limit: self.read_limit.or(lower.read_limit),
        }
    }
}

/// The command line.
#[derive(Debug, clap::Parser)]
#[command(
    name = "ledger-bench",
    about = "Load generator for `ledger serve`, with `tigerbeetle benchmark`'s flags",
    long_about = None,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    /// `plots`: run the sweeps and write their SVG plots instead of one run.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// A named workload presetting some parameters; explicit flags still win.
    #[arg(long, value_enum)]
    pub scenario: Option<Scenario>,
    /// A running server's binary-protocol address (its accounts 1..=N are created if missing).
    #[arg(long, conflicts_with = "server_bin")]
    pub addr: Option<String>,
    /// The running server's HTTP address, to read its fsync count from /metrics (with --addr).
    #[arg(long, requires = "addr")]
    pub http_addr: Option<String>,
    /// Start this `ledger` binary on a temporary data directory and ephemeral ports, measure
    /// its CPU, RSS and WAL, and stop it afterwards.
    #[arg(long)]
    pub server_bin: Option<PathBuf>,
    /// Write the report as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Also run the same parameters against this baseline (after the ledger run, if a server is
    /// given) and print the ratio. Needs the `postgres` feature.
    #[arg(long, value_enum)]
    pub baseline: Option<Baseline>,
    /// The baseline server (`scripts/postgres start` prints it).
    #[arg(long, default_value = POSTGRES_URL_DEFAULT)]
    pub postgres_url: String,
    /// Give the baseline's transfers foreign keys to their accounts (redundant with its locked
    /// account read, and slower; off by default).
    #[arg(long)]
    pub postgres_foreign_keys: bool,
    /// No progress display (it is a bar on a terminal, a line every 2 s otherwise).
    #[arg(long)]
    pub quiet: bool,
    #[command(flatten)]
    pub overrides: Overrides,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Run the sweeps and write their SVG plots.
    ///
    /// Sweeps batch size, offered load and account count, each point on a fresh server, and
    /// writes `throughput-vs-batch-size.svg`, `latency-vs-offered-load.svg`,
    /// `throughput-vs-account-count.svg` and every run in `sweeps.json` to --out. The flags of a
    /// single run set the base of every point (the swept parameter wins); here --transfer-count
    /// defaults to 1000000 per closed-loop point and --query-count to 0.
    Plots(PlotsArgs),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParametersError {
    #[error("--transfer-batch-count must be between 1 and {BATCH_EVENTS_MAX}, got {0}")]
    BatchCount(usize),
    #[error("--clients must be between 1 and {CLIENTS_MAX}, got {0}")]
    Clients(usize),
    #[error("--in-flight must be between 1 and {IN_FLIGHT_MAX}, got {0}")]
    InFlight(usize),
    #[error("--transfer-chain-length must be between 1 and {max}, got {got}", max = CHAIN_LENGTH_MAX.min(BATCH_EVENTS_MAX))]
    ChainLength { got: usize },
    #[error("--transfer-pending and linked chains together are not supported")]
    PendingAndChains,
    #[error("--rate must be at least 1 transfer/s")]
    Rate,
    #[error("--read-rate must be at least 1 read/s")]
    ReadRate,
    #[error("--read-connections must be between 1 and {READ_CONNECTIONS_MAX}, got {0}")]
    ReadConnections(usize),
    #[error("--read-limit must be between 1 and {BATCH_EVENTS_MAX}, got {0}")]
    ReadLimit(u32),
    #[error("{0} needs --reads")]
    ReadsOnly(&'static str),
    #[error(transparent)]
    Accounts(#[from] SamplerError),
}

/// The resolved parameters of a run.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Parameters {
    pub account_count: u64,
    pub account_count_hot: u64,
    pub account_distribution: AccountDistribution,
    pub transfer_count: u64,
    pub transfer_hot_percent: u64,
    pub transfer_pending: bool,
    pub transfer_chain_length: usize,
    pub transfer_batch_count: usize,
    pub clients: usize,
    pub in_flight: usize,
    pub id_order: IdOrder,
    pub query_count: u64,
    pub seed: u64,
    pub rate: Option<u64>,
    /// Reads while writing (`None`: writes only).
    pub reads: Option<ReadParameters>,
}

impl Parameters {
    /// Flags over the scenario's preset over the defaults, validated.
    ///
    /// # Errors
    /// A parameter out of its bounds (see `ParametersError`).
    pub fn resolve(scenario: Option<Scenario>, flags: &Overrides) -> Result<Self, ParametersError> {
        let layered = flags.over(&scenario.map(Scenario::preset).unwrap_or_default());
        if layered.reads.is_none() {
            let stray = [
                (layered.read_rate.is_some(), "--read-rate"),
                (layered.read_connections.is_some(), "--read-connections"),
                (layered.read_limit.is_some(), "--read-limit"),
            ];
            if let Some((_, flag)) = stray.iter().find(|(given, _)| *given) {
                return Err(ParametersError::ReadsOnly(flag));
            }
        }
        let parameters = Self {
            account_count: layered.account_count.unwrap_or(ACCOUNT_COUNT_DEFAULT),
            account_count_hot: layered.account_count_hot.unwrap_or(0),
            account_distribution: layered.account_distribution.unwrap_or(AccountDistribution::Uniform),
            transfer_count: layered.transfer_count.unwrap_or(TRANSFER_COUNT_DEFAULT),
            transfer_hot_percent: layered.transfer_hot_percent.unwrap_or(TRANSFER_HOT_PERCENT_DEFAULT),
            transfer_pending: layered.transfer_pending,
            transfer_chain_length: layered.transfer_chain_length.unwrap_or(1),
            transfer_batch_count: layered.transfer_batch_count.unwrap_or(BATCH_EVENTS_MAX),
            clients: layered.clients.unwrap_or(1),
            in_flight: layered.in_flight.unwrap_or(IN_FLIGHT_DEFAULT),
            id_order: layered.id_order.unwrap_or_default(),
            query_count: layered.query_count.unwrap_or(QUERY_COUNT_DEFAULT),
            seed: layered.seed.unwrap_or(SEED_DEFAULT),
            rate: layered.rate,
            reads: layered.reads.map(|kind| ReadParameters {
                kind,
                rate: layered.read_rate.unwrap_or(READ_RATE_DEFAULT),
                connections: layered.read_connections.unwrap_or(READ_CONNECTIONS_DEFAULT),
                limit: layered.read_limit.unwrap_or(READ_LIMIT_DEFAULT),
            }),
        };
        parameters.validate()?;
        Ok(parameters)
    }

    fn validate(&self) -> Result<(), ParametersError> {
        if !(1..=BATCH_EVENTS_MAX).contains(&self.transfer_batch_count) {
            return Err(ParametersError::BatchCount(self.transfer_batch_count));
        }
        if !(1..=CLIENTS_MAX).contains(&self.clients) {
            return Err(ParametersError::Clients(self.clients));
        }
        if !(1..=IN_FLIGHT_MAX).contains(&self.in_flight) {
            return Err(ParametersError::InFlight(self.in_flight));
        }
        if !(1..=CHAIN_LENGTH_MAX.min(self.transfer_batch_count)).contains(&self.transfer_chain_length) {
            return Err(ParametersError::ChainLength { got: self.transfer_chain_length });
        }
        if self.transfer_pending && self.transfer_chain_length > 1 {
            return Err(ParametersError::PendingAndChains);
        }
        if self.rate == Some(0) {
            return Err(ParametersError::Rate);
        }
        if let Some(reads) = &self.reads {
            if reads.rate == 0 {
                return Err(ParametersError::ReadRate);
            }
            if !(1..=READ_CONNECTIONS_MAX).contains(&reads.connections) {
                return Err(ParametersError::ReadConnections(reads.connections));
            }
            if !(1..=BATCH_EVENTS_MAX).contains(&usize::try_from(reads.limit).unwrap_or(usize::MAX)) {
                return Err(ParametersError::ReadLimit(reads.limit));
            }
        }
        self.sampler()?;
        Ok(())
    }

    /// How the run draws accounts.
    ///
    /// # Errors
    /// Account counts or the hot percentage out of bounds.
    pub fn sampler(&self) -> Result<AccountSampler, SamplerError> {
        AccountSampler::new(
            self.account_count,
            self.account_distribution,
            self.account_count_hot,
            self.transfer_hot_percent,
        )
    }

    /// Requests the load sends (the last may be short).
    #[must_use]
    pub fn requests(&self) -> u64 {
        self.transfer_count.div_ceil(self.transfer_batch_count as u64)
    }

    /// The command-line flags that reproduce this set (printed with every run).
    #[must_use]
    pub fn flags(&self) -> String {
        let mut flags = format!(
            "--account-count {} --account-count-hot {} --account-distribution {} --transfer-count {} \
             --transfer-hot-percent {} --transfer-batch-count {} --clients {} --in-flight {} \
             --id-order {} --query-count {} --seed {}",
            self.account_count,
            self.account_count_hot,
            value_name(self.account_distribution),
            self.transfer_count,
            self.transfer_hot_percent,
            self.transfer_batch_count,
            self.clients,
            self.in_flight,
            value_name(self.id_order),
            self.query_count,
            self.seed,
        );
        if self.transfer_pending {
            flags.push_str(" --transfer-pending");
        }
        if self.transfer_chain_length > 1 {
            flags.push_str(&format!(" --transfer-chain-length {}", self.transfer_chain_length));
        }
        if let Some(rate) = self.rate {
            flags.push_str(&format!(" --rate {rate}"));
        }
        if let Some(reads) = &self.reads {
            flags.push_str(&format!(
                " --reads {} --read-rate {} --read-connections {} --read-limit {}",
                value_name(reads.kind),
                reads.rate,
                reads.connections,
                reads.limit
            ));
        }
        flags
    }
}

fn value_name(value: impl clap::ValueEnum) -> String {
    value.to_possible_value().map(|v| v.get_name().to_owned()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn parse(args: &[&str]) -> Parameters {
        let cli = Cli::try_parse_from(std::iter::once("ledger-bench").chain(args.iter().copied()))
            .expect("valid flags");
        Parameters::resolve(cli.scenario, &cli.overrides).expect("valid parameters")
    }

    #[test]
    fn defaults_are_tigerbeetles() {
        let p = parse(&[]);
        assert_eq!(
            (p.account_count, p.account_count_hot, p.transfer_count, p.transfer_hot_percent),
            (10_000, 0, 10_000_000, 100)
        );
        assert_eq!((p.transfer_batch_count, p.clients, p.query_count), (8_189, 1, 100));
        assert_eq!((p.account_distribution, p.id_order), (AccountDistribution::Uniform, IdOrder::Sequential));
        assert!(!p.transfer_pending);
    }

    #[test]
    fn a_flag_wins_over_the_scenario() {
        let p = parse(&["--scenario", "hot", "--transfer-hot-percent", "50", "--transfer-count", "1000"]);
        assert_eq!((p.account_count_hot, p.transfer_hot_percent, p.transfer_count), (10, 50, 1_000));
    }

    #[test]
    fn scenarios_set_what_their_names_say() {
        assert_eq!(parse(&["--scenario", "uniform-1m"]).account_count, 1_000_000);
        assert!(parse(&["--scenario", "two-phase"]).transfer_pending);
        assert_eq!(parse(&["--scenario", "linked-4"]).transfer_chain_length, 4);
        assert_eq!(parse(&["--scenario", "random-ids"]).id_order, IdOrder::Random);
        let mixed = parse(&["--scenario", "mixed-read-write"]).reads.expect("reads");
        assert_eq!(
            mixed,
            ReadParameters {
                kind: ReadKind::AccountHttp,
                rate: READ_RATE_DEFAULT,
                connections: READ_CONNECTIONS_DEFAULT,
                limit: READ_LIMIT_DEFAULT
            }
        );
        let history = parse(&["--scenario", "history-during-writes", "--read-rate", "250"]);
        assert_eq!(history.reads.map(|r| (r.kind, r.rate)), Some((ReadKind::TransfersBinary, 250)));
        assert_eq!(parse(&[]).reads, None);
    }

    #[test]
    fn printed_flags_reproduce_the_parameters() {
        let reproduced = |p: &Parameters| {
            let flags: Vec<String> = p.flags().split_whitespace().map(str::to_owned).collect();
            parse(&flags.iter().map(String::as_str).collect::<Vec<_>>())
        };
        let p = parse(&["--scenario", "two-phase", "--id-order", "random", "--rate", "5000"]);
        assert_eq!(reproduced(&p), p);
        let p = parse(&["--reads", "transfers-http", "--read-rate", "300", "--read-connections", "2"]);
        assert_eq!(reproduced(&p), p);
        assert!(
            p.flags().contains("--reads transfers-http --read-rate 300 --read-connections 2"),
            "{}",
            p.flags()
        );
    }

    #[test]
    fn out_of_bounds_parameters_are_refused() {
        let refuse = |args: &[&str]| {
            let cli = Cli::try_parse_from(std::iter::once("ledger-bench").chain(args.iter().copied()))
                .expect("parsable flags");
            Parameters::resolve(cli.scenario, &cli.overrides).expect_err("out of bounds")
        };
        assert_eq!(refuse(&["--transfer-batch-count", "8190"]), ParametersError::BatchCount(8_190));
        assert_eq!(refuse(&["--clients", "0"]), ParametersError::Clients(0));
        assert_eq!(
            refuse(&["--scenario", "linked-4", "--transfer-pending"]),
            ParametersError::PendingAndChains
        );
        assert!(matches!(refuse(&["--account-count-hot", "1"]), ParametersError::Accounts(_)));
        assert_eq!(refuse(&["--read-rate", "10"]), ParametersError::ReadsOnly("--read-rate"));
        assert_eq!(refuse(&["--reads", "account-http", "--read-rate", "0"]), ParametersError::ReadRate);
        assert_eq!(
            refuse(&["--scenario", "mixed-read-write", "--read-connections", "257"]),
            ParametersError::ReadConnections(257)
        );
        assert_eq!(
            refuse(&["--reads", "transfers-binary", "--read-limit", "8190"]),
            ParametersError::ReadLimit(8_190)
        );
    }
}
