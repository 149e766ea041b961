//! The `ledger` binary.
//!
//! Commands: `demo` drives the engine in-process through a small consumer-credit story and
//! prints what the books show; `verify` checks a data directory (WAL and snapshots) offline;
//! `snapshot` compacts one offline. The network
//! server (`serve`), `post` and `lookup` arrive with the server issue; they are not listed here
//! until they work.

mod demo;
mod verify;

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
    /// Run a disbursement, repayment and credit-line story through the engine and print the books
    /// (the default when no command is given).
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
    match cli.command.unwrap_or(Command::Demo) {
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
