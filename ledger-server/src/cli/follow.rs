//! `ledger follow`: the change feed on stdout, one journal entry per line (JSON lines), in
//! commit order, each exactly once, following new entries as they are posted.
//!
//! Each line is the entry as `GET /v1/journal` shows it (`docs/http.md`); its `last_timestamp`
//! is its cursor. `--after` the cursor of the last line a consumer processed resumes right
//! after it. Reads go through `ledger-client`'s `JournalFollower` on the binary protocol
//! (`read_journal`, waiting on the server, not polling).
//!
//! It follows forever: a lost server is retried (a message on stderr each time) until it is
//! back. `--until-idle MS` instead stops, with status 0, once no entry has come for MS
//! milliseconds: for scripts and tests. Exit status: 0 on `--until-idle` or when stdout is
//! closed (`ledger follow | head`); 1 when the token file or stdout fails; 3 when the server
//! cannot be reached at start, refuses the connection, answers something malformed, or (with
//! `--until-idle`) fails on the way.

use super::post::EXIT_SERVER_UNREACHABLE;
use ledger_client::{Client, ClientError, FOLLOW_LIMIT_DEFAULT, JournalFollower};
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

/// The pause before following again after the client gave up on an unreachable server.
const RETRY_PAUSE: Duration = Duration::from_secs(1);

#[derive(clap::Args, Debug)]
pub struct FollowArgs {
    /// Start after this cursor: the `last_timestamp` of the last entry already processed (0:
    /// from the first entry).
    #[arg(long, default_value_t = 0)]
    pub after: u64,
    /// Stop once no entry has come for this many milliseconds (default: follow forever).
    #[arg(long, value_name = "MS")]
    pub until_idle: Option<u64>,
    /// Transfers per read (whole entries; the server caps it).
    #[arg(long, default_value_t = FOLLOW_LIMIT_DEFAULT)]
    pub limit: u32,
    /// The server's binary-protocol address.
    #[arg(long, default_value = "127.0.0.1:3001")]
    pub addr: String,
    /// A file holding the server's auth token.
    #[arg(long)]
    pub token_file: Option<std::path::PathBuf>,
}

/// Why following stopped.
#[derive(Debug)]
enum Stop {
    /// `--until-idle` passed with nothing new.
    Idle,
    Output(std::io::Error),
    Server(ClientError),
}

pub fn run(args: &FollowArgs) -> ExitCode {
    let config = match super::client_config(&args.addr, args.token_file.as_deref()) {
        Ok(config) => config,
        Err(message) => {
            eprintln!("ledger follow: {message}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match super::runtime() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("ledger follow: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let stop = runtime.block_on(async {
        let client = Client::connect(config).await.map_err(Stop::Server)?;
        let follower = JournalFollower::new(client, args.after).with_limit(args.limit);
        let idle = args.until_idle.map(Duration::from_millis);
        follow(follower, idle, &mut std::io::BufWriter::new(std::io::stdout().lock())).await
    });
    match stop {
        Ok(()) | Err(Stop::Idle) => ExitCode::SUCCESS,
        Err(Stop::Output(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(Stop::Output(e)) => {
            eprintln!("ledger follow: cannot write: {e}");
            ExitCode::FAILURE
        }
        Err(Stop::Server(e)) => {
            eprintln!("ledger follow: {e}");
            ExitCode::from(EXIT_SERVER_UNREACHABLE)
        }
    }
}

/// Prints entries until `idle` passes with none (never, without it), flushing whenever the
/// follower is about to wait.
async fn follow(
    mut follower: JournalFollower,
    idle: Option<Duration>,
    out: &mut impl Write,
) -> Result<(), Stop> {
    loop {
        if follower.buffered() == 0 {
            out.flush().map_err(Stop::Output)?;
        }
        let next = match idle {
            Some(idle) => follower.next_within(idle).await,
            None => follower.next().await.map(Some),
        };
        match next {
            Ok(Some(entry)) => writeln!(out, "{}", entry.json).map_err(Stop::Output)?,
            Ok(None) => {
                out.flush().map_err(Stop::Output)?;
                return Err(Stop::Idle);
            }
            // Following forever outlasts outages: the follower kept its cursor.
            Err(e) if idle.is_none() && e.outcome_unknown() => {
                eprintln!(
                    "ledger follow: {e}; following again from {} in {RETRY_PAUSE:?}",
                    follower.cursor()
                );
                tokio::time::sleep(RETRY_PAUSE).await;
            }
            Err(e) => return Err(Stop::Server(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser, Debug)]
    struct Command {
        #[command(flatten)]
        args: FollowArgs,
    }

    fn parse(argv: &[&str]) -> Result<FollowArgs, clap::Error> {
        Command::try_parse_from(std::iter::once("follow").chain(argv.iter().copied())).map(|c| c.args)
    }

    #[test]
    fn defaults_follow_from_the_start_forever() {
        let args = parse(&[]).expect("no arguments needed");
        assert_eq!((args.after, args.until_idle, args.limit), (0, None, FOLLOW_LIMIT_DEFAULT));
        assert_eq!(args.addr, "127.0.0.1:3001");
        let args = parse(&["--after", "18446744073709551615", "--until-idle", "500", "--addr", "h:1"])
            .expect("all given");
        assert_eq!((args.after, args.until_idle, args.addr.as_str()), (u64::MAX, Some(500), "h:1"));
        assert!(parse(&["--after", "-1"]).is_err());
        assert!(parse(&["--until-idle", "soon"]).is_err());
    }
}
