//! The `ledger` binary.
//!
//! Commands: `serve` (the default) runs the server: the binary protocol for posting and the
//! HTTP read API, over a data directory (`./data` unless told otherwise); `post`, `lookup` and
//! `follow` (the change feed) are its command-line clients; `export` writes finance exports (the
//! journal, a trial balance) from its HTTP API; `demo` drives the engine in-process through a small
//! consumer-credit story; `verify` checks a data directory offline; `snapshot` compacts one
//! offline.

mod demo;
mod verify;

use ledger_server::{cli, serve};

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(name = "ledger", version, about = "A high-throughput double-entry ledger")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the ledger server (the default when no command is given): binary protocol on
    /// --addr, HTTP read API on --http, data in --data-dir.
    Serve(serve::config::ServeArgs),
    /// Post JSON lines from stdin (accounts, transfers) and print one JSON result per line.
    Post(cli::post::PostArgs),
    /// Look up one account or transfer and print it as JSON.
    Lookup(cli::lookup::LookupArgs),
    /// Print journal entries from a cursor as JSON lines, following new ones as they are posted.
    Follow(cli::follow::FollowArgs),
    /// Finance exports over HTTP as CSV or JSON lines: the journal lines of a range of ops, or a
    /// trial balance (docs/exports.md).
    Export(cli::export::ExportArgs),
    /// Run a disbursement, repayment and credit-line story through the engine, in memory, and
    /// print the books.
    Demo,
    /// Offline compaction: replay the WAL after the newest snapshot, write a new snapshot, and
    /// retire the WAL segments that the kept snapshots cover. Refuses while the directory is in use.
    Snapshot {
        /// The data directory.
        #[arg(long, default_value = "./data")]
        data_dir: std::path::PathBuf,
    },
    /// Check a data directory offline: every WAL record's checksums, the op sequence and the
    /// hash chain. Exits non-zero with the segment, offset and op of any damage.
    Verify {
        /// The data directory (holds `wal/`).
        #[arg(long, default_value = "./data")]
        data_dir: std::path::PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command.unwrap_or_else(|| Command::Serve(serve::config::ServeArgs::default())) {
        Command::Serve(args) => serve::run(&args),
        Command::Post(args) => cli::post::run(&args),
        Command::Lookup(args) => cli::lookup::run(&args),
        Command::Follow(args) => cli::follow::run(&args),
        Command::Export(args) => cli::export::run(&args),
        Command::Demo => match demo::run(&mut std::io::stdout().lock()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("ledger demo failed: {e}");
                ExitCode::FAILURE
            }
        },
        Command::Snapshot { data_dir } => {
            match ledger_durability::data_dir::compact(
                &data_dir,
                ledger_durability::data_dir::DataDirConfig::default(),
            ) {
                Ok(report) => {
                    match &report.written {
                        Some(file) => println!(
                            "snapshot {} written after replaying {} records; {} WAL segment(s) retired",
                            file.path.display(),
                            report.records_replayed,
                            report.segments_retired
                        ),
                        None => println!("nothing to do: the newest snapshot already covers the whole log"),
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("ledger snapshot: {}: {e}", data_dir.display());
                    ExitCode::FAILURE
                }
            }
        }
        Command::Verify { data_dir } => match verify::run(&data_dir, &mut std::io::stdout().lock()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("ledger verify: {}: {e}", data_dir.display());
                ExitCode::FAILURE
            }
        },
    }
}
