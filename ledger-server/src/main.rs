//! The `ledger` binary.
//!
//! Commands: `demo` drives the engine in-process through a small consumer-credit story and
//! prints what the books show; `verify` checks a data directory's WAL offline. The network
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
        Command::Verify { data_dir } => match verify::run(&data_dir, &mut std::io::stdout().lock()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("ledger verify: {}: {e}", data_dir.display());
                ExitCode::FAILURE
            }
        },
    }
}
