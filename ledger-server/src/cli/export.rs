//! `ledger export journal` and `ledger export trial-balance`: the finance exports
//! (`docs/exports.md`) from a running server's HTTP API, written to stdout or `--output FILE`
//! as they arrive (never held whole in memory).
//!
//! The HTTP client is `ureq` (blocking, plain HTTP/1.1, no TLS): one GET, then the body copied
//! to the output in `COPY_BUFFER_BYTES` pieces. With `--output`, the export is written to
//! `FILE.partial` and renamed to `FILE` only once the whole answer has arrived and is synced, so
//! `FILE` is never a cut-short export; a failed export removes the partial file.
//!
//! Exit status: 0 when the whole export was written (or stdout was closed early, as in
//! `ledger export journal | head`); 1 when the output or the token file failed, or the server
//! refused the token; 2 for bad arguments (clap's own checks, `--from-op` after `--to-op`, or
//! the server's 400); 3 when the server could not be reached, failed, or cut the answer short.

use super::post::EXIT_SERVER_UNREACHABLE;
use crate::export::{ExportFormat, OpRange};
use crate::serve::config::HTTP_DEFAULT;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// Exit status for arguments the command or the server refused (clap uses it too).
pub const EXIT_BAD_ARGUMENTS: u8 = 2;
/// Bytes copied from the answer to the output per read.
pub const COPY_BUFFER_BYTES: usize = 64 * 1024;
/// Giving up on connecting to the server.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Giving up on the answer's head: the server reads one page before answering.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(120);

#[derive(clap::Args, Debug)]
pub struct ExportArgs {
    #[command(subcommand)]
    pub what: ExportCommand,
}

#[derive(clap::Subcommand, Debug)]
pub enum ExportCommand {
    /// One row per journal line of the entries created by WAL ops FROM..=TO, in commit order.
    Journal(JournalArgs),
    /// One row per account code of a ledger (every ledger of the chart without --ledger).
    TrialBalance(TrialBalanceArgs),
}

#[derive(clap::Args, Debug)]
pub struct JournalArgs {
    /// The first WAL op to export (inclusive; default: the first).
    #[arg(long, value_name = "OP")]
    pub from_op: Option<u64>,
    /// The last WAL op to export (inclusive; default: the newest durable).
    #[arg(long, value_name = "OP")]
    pub to_op: Option<u64>,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(clap::Args, Debug)]
pub struct TrialBalanceArgs {
    /// The ledger (default: every ledger of the chart of accounts).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub ledger: Option<u32>,
    /// A ledger timestamp in nanoseconds (default: everything durable now).
    #[arg(long, value_name = "TIMESTAMP")]
    pub at: Option<u64>,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// What both exports take: where from, in which format, to where.
#[derive(clap::Args, Debug)]
pub struct OutputArgs {
    /// csv or jsonl.
    #[arg(long, default_value = "csv", value_parser = ExportFormat::parse)]
    pub format: ExportFormat,
    /// The server's HTTP address (`host:port` or `http://host:port`).
    #[arg(long, value_name = "URL", default_value = HTTP_DEFAULT)]
    pub http: String,
    /// Write the export to this file instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// A file holding the server's auth token.
    #[arg(long)]
    pub token_file: Option<PathBuf>,
}

/// Why an export failed: the exit status and a message for stderr.
#[derive(Debug, PartialEq, Eq)]
struct Failure {
    status: u8,
    message: String,
}

impl Failure {
    fn bad_arguments(message: impl Into<String>) -> Self {
        Self { status: EXIT_BAD_ARGUMENTS, message: message.into() }
    }

    fn local(message: impl Into<String>) -> Self {
        Self { status: 1, message: message.into() }
    }

    fn server(message: impl Into<String>) -> Self {
        Self { status: EXIT_SERVER_UNREACHABLE, message: message.into() }
    }
}

pub fn run(args: &ExportArgs) -> ExitCode {
    match export(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("ledger export: {}", failure.message);
            ExitCode::from(failure.status)
        }
    }
}

fn export(args: &ExportArgs) -> Result<(), Failure> {
    let (path, output) = request_path(&args.what)?;
    let base = base_url(&output.http)?;
    let token = output.token_file.as_deref().map(bearer_token).transpose()?;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_connect(Some(CONNECT_TIMEOUT))
        .timeout_recv_response(Some(RESPONSE_TIMEOUT))
        .build()
        .into();
    let mut request = agent.get(format!("{base}{path}"));
    if let Some(token) = &token {
        request = request.header("Authorization", format!("Bearer {token}"));
    }
    let mut response = request.call().map_err(|e| Failure::server(format!("GET {base}{path}: {e}")))?;
    let status = response.status().as_u16();
    if status != 200 {
        let body = response.body_mut().read_to_string().unwrap_or_default();
        return Err(refusal(status, &body));
    }
    let mut body = response.into_body().into_reader();
    match output.output.as_deref() {
        None => match copy(&mut body, &mut std::io::BufWriter::new(std::io::stdout().lock())) {
            Err(Copy::Output(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            other => other.map_err(|e| e.failure("stdout")),
        },
        Some(path) => write_file(path, &mut body),
    }
}

/// The route and query of the export, and its output arguments.
fn request_path(what: &ExportCommand) -> Result<(String, &OutputArgs), Failure> {
    match what {
        ExportCommand::Journal(args) => {
            let range = OpRange::new(args.from_op, args.to_op).map_err(Failure::bad_arguments)?;
            let mut path =
                format!("/v1/exports/journal?format={}&from_op={}", args.output.format, range.from_op);
            if let Some(to_op) = range.to_op {
                path.push_str(&format!("&to_op={to_op}"));
            }
            Ok((path, &args.output))
        }
        ExportCommand::TrialBalance(args) => {
            let mut path = format!("/v1/exports/trial-balance?format={}", args.output.format);
            if let Some(ledger) = args.ledger {
                path.push_str(&format!("&ledger={ledger}"));
            }
            if let Some(at) = args.at {
                path.push_str(&format!("&at={at}"));
            }
            Ok((path, &args.output))
        }
    }
}

/// `host:port` or `http://host:port[/]` as `http://host:port`. There is no TLS client.
fn base_url(http: &str) -> Result<String, Failure> {
    let (scheme, authority) = http.split_once("://").unwrap_or(("http", http));
    if scheme == "https" {
        return Err(Failure::bad_arguments(format!(
            "--http {http}: only plain http is supported (the server serves plain HTTP)"
        )));
    }
    let authority = authority.trim_end_matches('/');
    if scheme != "http" || authority.is_empty() || authority.contains('/') {
        return Err(Failure::bad_arguments(format!(
            "--http {http:?}: expected host:port or http://host:port"
        )));
    }
    Ok(format!("http://{authority}"))
}

/// The token file's token as a bearer credential: printable ASCII without spaces.
fn bearer_token(path: &Path) -> Result<String, Failure> {
    let token = super::read_token_file(path).map_err(Failure::local)?;
    if !token.iter().all(u8::is_ascii_graphic) {
        return Err(Failure::local(format!(
            "the token in {} is not printable ASCII without spaces, so HTTP cannot carry it",
            path.display()
        )));
    }
    String::from_utf8(token)
        .map_err(|_| Failure::local(format!("the token in {} is not ASCII", path.display())))
}

/// A non-200 answer as a failure: its error code and detail, and the exit status it means.
fn refusal(status: u16, body: &str) -> Failure {
    let json: Option<serde_json::Value> = serde_json::from_str(body).ok();
    let field = |name: &str| json.as_ref().and_then(|j| j[name].as_str().map(str::to_owned));
    let what = match (field("error"), field("detail")) {
        (Some(code), Some(detail)) => format!("{code}: {detail}"),
        (Some(code), None) => code,
        _ => body.trim().chars().take(200).collect(),
    };
    let message = format!("the server answered {status}: {what}");
    match status {
        400 => Failure::bad_arguments(message),
        401 | 403 => Failure::local(message),
        _ => Failure::server(message),
    }
}

/// Which side of a copy failed.
#[derive(Debug)]
enum Copy {
    Input(std::io::Error),
    Output(std::io::Error),
}

impl Copy {
    fn failure(self, output: &str) -> Failure {
        match self {
            Self::Input(e) => Failure::server(format!("the export was cut short: {e}")),
            Self::Output(e) => Failure::local(format!("cannot write {output}: {e}")),
        }
    }
}

/// Copies `body` to `out` as it arrives, then flushes.
fn copy(body: &mut impl Read, out: &mut impl Write) -> Result<(), Copy> {
    let mut buffer = vec![0_u8; COPY_BUFFER_BYTES];
    loop {
        let read = match body.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => read,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Copy::Input(e)),
        };
        out.write_all(&buffer[..read]).map_err(Copy::Output)?;
    }
    out.flush().map_err(Copy::Output)
}

/// `FILE.partial` beside `FILE`.
fn partial_path(path: &Path) -> PathBuf {
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    PathBuf::from(partial)
}

/// Writes the body to `FILE.partial`, syncs it, and renames it to `FILE`; removes the partial
/// file when anything fails.
fn write_file(path: &Path, body: &mut impl Read) -> Result<(), Failure> {
    let partial = partial_path(path);
    let result = write_partial(&partial, body).and_then(|()| {
        std::fs::rename(&partial, path).map_err(|e| {
            Failure::local(format!("cannot rename {} to {}: {e}", partial.display(), path.display()))
        })
    });
    if result.is_err() {
        // Best effort: the partial file is of no use, and its name says so anyway.
        let _ = std::fs::remove_file(&partial);
    }
    result
}

fn write_partial(partial: &Path, body: &mut impl Read) -> Result<(), Failure> {
    let shown = partial.display().to_string();
    let file =
        std::fs::File::create(partial).map_err(|e| Failure::local(format!("cannot create {shown}: {e}")))?;
    let mut out = std::io::BufWriter::new(file);
    copy(body, &mut out).map_err(|e| e.failure(&shown))?;
    let file =
        out.into_inner().map_err(|e| Failure::local(format!("cannot write {shown}: {}", e.error())))?;
    file.sync_all().map_err(|e| Failure::local(format!("cannot sync {shown}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser, Debug)]
    struct Command {
        #[command(flatten)]
        args: ExportArgs,
    }

    fn parse(argv: &[&str]) -> Result<ExportArgs, clap::Error> {
        Command::try_parse_from(std::iter::once("export").chain(argv.iter().copied())).map(|c| c.args)
    }

    fn path_of(argv: &[&str]) -> Result<String, Failure> {
        let args = parse(argv).expect("arguments parse");
        request_path(&args.what).map(|(path, _)| path)
    }

    #[test]
    fn the_arguments_become_the_routes_query() {
        assert_eq!(path_of(&["journal"]), Ok("/v1/exports/journal?format=csv&from_op=0".to_owned()));
        assert_eq!(
            path_of(&["journal", "--from-op", "3", "--to-op", "9", "--format", "jsonl"]),
            Ok("/v1/exports/journal?format=jsonl&from_op=3&to_op=9".to_owned())
        );
        assert_eq!(path_of(&["trial-balance"]), Ok("/v1/exports/trial-balance?format=csv".to_owned()));
        assert_eq!(
            path_of(&["trial-balance", "--ledger", "156", "--at", "17"]),
            Ok("/v1/exports/trial-balance?format=csv&ledger=156&at=17".to_owned())
        );
        let args = parse(&["journal"]).expect("defaults");
        let ExportCommand::Journal(journal) = &args.what else { panic!("journal") };
        assert_eq!(journal.output.http, HTTP_DEFAULT);
        assert_eq!(journal.output.output, None);
    }

    #[test]
    fn bad_arguments_are_refused_with_status_2() {
        for argv in [
            &["journal", "--format", "xml"][..],
            &["journal", "--from-op", "-1"],
            &["trial-balance", "--ledger", "0"],
            &["trial-balance", "--ledger", "4294967296"],
            &["trial-balance", "--at", "soon"],
            &["ledger"],
        ] {
            let error = parse(argv).expect_err("refused");
            assert_eq!(error.exit_code(), i32::from(EXIT_BAD_ARGUMENTS), "{argv:?}");
        }
        let backwards = path_of(&["journal", "--from-op", "5", "--to-op", "4"]).expect_err("backwards");
        assert_eq!(backwards.status, EXIT_BAD_ARGUMENTS);
        for http in ["https://h:1", "ftp://h:1", "http://", "", "h:1/v1"] {
            assert_eq!(base_url(http).map_err(|f| f.status), Err(EXIT_BAD_ARGUMENTS), "{http:?}");
        }
        assert_eq!(base_url("127.0.0.1:3000"), Ok("http://127.0.0.1:3000".to_owned()));
        assert_eq!(base_url("http://h:1/"), Ok("http://h:1".to_owned()));
    }

    #[test]
    fn refusals_name_the_code_and_map_to_an_exit_status() {
        let bad = refusal(
            400,
            r#"{"error":"invalid_range","detail":"from_op (5) must not be greater than to_op (4)"}"#,
        );
        assert_eq!(bad.status, EXIT_BAD_ARGUMENTS);
        assert!(bad.message.contains("400: invalid_range: from_op (5)"), "{}", bad.message);
        assert_eq!(refusal(401, r#"{"error":"unauthorized"}"#).status, 1);
        assert_eq!(refusal(503, r#"{"error":"overloaded"}"#).status, EXIT_SERVER_UNREACHABLE);
        assert!(refusal(502, "<html>bad gateway</html>").message.contains("bad gateway"));
    }

    /// A reader that fails after `good` bytes, like a connection cut mid-answer.
    struct CutShort {
        good: usize,
    }

    impl Read for CutShort {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.good == 0 {
                return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "connection closed"));
            }
            let n = self.good.min(buf.len());
            buf[..n].fill(b'x');
            self.good -= n;
            Ok(n)
        }
    }

    #[test]
    fn a_cut_short_answer_leaves_no_output_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("journal.csv");
        let failure = write_file(&path, &mut CutShort { good: 100_000 }).expect_err("cut short");
        assert_eq!(failure.status, EXIT_SERVER_UNREACHABLE);
        assert!(failure.message.contains("cut short"), "{}", failure.message);
        assert!(!path.exists(), "no file under the final name");
        assert!(!partial_path(&path).exists(), "the partial file is removed");

        write_file(&path, &mut &b"op,entry_kind\n"[..]).expect("a whole answer");
        assert_eq!(std::fs::read(&path).expect("written"), b"op,entry_kind\n");
        assert!(!partial_path(&path).exists(), "renamed into place");
    }
}
