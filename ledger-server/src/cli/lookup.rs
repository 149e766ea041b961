//! `ledger lookup`: one account or transfer as JSON, in the HTTP API's shape (`json.rs`).
//!
//! Prints the record as one JSON object and exits 0, or prints `{"error":"account_not_found"}`
//! (`transfer_not_found`) and exits 1. Exits 3 with a message on stderr when the server could not
//! be reached or did not answer, and 1 when the token file cannot be read.

use super::post::EXIT_SERVER_UNREACHABLE;
use crate::json::{account_json, transfer_json};
use ledger_client::Client;
use serde_json::{Value, json};
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("record").required(true).args(["account", "transfer"])))]
pub struct LookupArgs {
    /// The id of the account to show (a base-10 integer).
    #[arg(long, value_parser = parse_id)]
    pub account: Option<u128>,
    /// The id of the transfer to show (a base-10 integer).
    #[arg(long, value_parser = parse_id)]
    pub transfer: Option<u128>,
    /// The server's binary-protocol address.
    #[arg(long, default_value = "127.0.0.1:3001")]
    pub addr: String,
    /// A file holding the server's auth token.
    #[arg(long)]
    pub token_file: Option<std::path::PathBuf>,
}

/// What to look up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    Account(u128),
    Transfer(u128),
}

pub fn run(args: &LookupArgs) -> ExitCode {
    // clap's group makes exactly one of the two present.
    let target = match (args.account, args.transfer) {
        (Some(id), _) => Target::Account(id),
        (None, Some(id)) => Target::Transfer(id),
        (None, None) => {
            eprintln!("ledger lookup: give --account ID or --transfer ID");
            return ExitCode::FAILURE;
        }
    };
    let config = match super::client_config(&args.addr, args.token_file.as_deref()) {
        Ok(config) => config,
        Err(message) => {
            eprintln!("ledger lookup: {message}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match super::runtime() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("ledger lookup: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let found = runtime.block_on(async {
        let client = Client::connect(config).await?;
        match target {
            Target::Account(id) => Ok(client.lookup_accounts(&[id]).await?.first().map(account_json)),
            Target::Transfer(id) => Ok(client.lookup_transfers(&[id]).await?.first().map(transfer_json)),
        }
    });
    match found {
        Ok(record) => {
            let (value, code) = answer(target, record);
            println!("{value}");
            code
        }
        Err(e) => {
            let e: ledger_client::ClientError = e;
            eprintln!("ledger lookup: {e}");
            ExitCode::from(EXIT_SERVER_UNREACHABLE)
        }
    }
}

/// The JSON to print and the exit status, for a record that was found or not.
fn answer(target: Target, record: Option<Value>) -> (Value, ExitCode) {
    match (record, target) {
        (Some(record), _) => (record, ExitCode::SUCCESS),
        (None, Target::Account(_)) => (json!({"error": "account_not_found"}), ExitCode::FAILURE),
        (None, Target::Transfer(_)) => (json!({"error": "transfer_not_found"}), ExitCode::FAILURE),
    }
}

/// An id on the command line: base-10 digits only, as in `ledger post` input.
fn parse_id(text: &str) -> Result<u128, String> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{text:?} is not a base-10 integer"));
    }
    text.parse().map_err(|_| format!("{text} is larger than {}", u128::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser, Debug)]
    struct Command {
        #[command(flatten)]
        args: LookupArgs,
    }

    fn parse(argv: &[&str]) -> Result<LookupArgs, clap::Error> {
        Command::try_parse_from(std::iter::once("lookup").chain(argv.iter().copied())).map(|c| c.args)
    }

    #[test]
    fn exactly_one_of_account_and_transfer_is_required() {
        let args = parse(&["--account", "340282366920938463463374607431768211455"]).expect("account");
        assert_eq!((args.account, args.transfer), (Some(u128::MAX), None));
        assert_eq!(args.addr, "127.0.0.1:3001");
        assert_eq!(parse(&["--transfer", "10", "--addr", "h:1"]).expect("transfer").transfer, Some(10));
        assert!(parse(&[]).is_err(), "neither");
        assert!(parse(&["--account", "1", "--transfer", "2"]).is_err(), "both");
    }

    #[test]
    fn ids_are_base_10_integers() {
        for bad in ["", "-1", "+1", "0x10", "1e3", "340282366920938463463374607431768211456"] {
            assert!(parse_id(bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse_id("007"), Ok(7));
    }

    #[test]
    fn a_missing_record_answers_not_found_with_status_1() {
        let (value, code) = answer(Target::Account(5), None);
        assert_eq!(value.to_string(), r#"{"error":"account_not_found"}"#);
        assert_eq!(code, ExitCode::FAILURE);
        let (value, _) = answer(Target::Transfer(5), None);
        assert_eq!(value.to_string(), r#"{"error":"transfer_not_found"}"#);
        let record = json!({"id": "5"});
        assert_eq!(answer(Target::Transfer(5), Some(record.clone())), (record, ExitCode::SUCCESS));
    }
}
