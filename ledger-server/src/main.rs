//! The `ledger` binary.
//!
//! Today it carries one command, `demo`, which drives the engine in-process through a small
//! consumer-credit story and prints what the books show. The network server (`serve`), `post`,
//! `lookup` and `verify` arrive with the durability and server issues; they are not listed here
//! until they work.

mod demo;

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
    }
}
