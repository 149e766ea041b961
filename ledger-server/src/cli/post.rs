//! `ledger post`: JSON lines on stdin, posted through the binary protocol, one JSON result line
//! per input line on stdout, in input order.
//!
//! Batching is explicit, so that linked chains do what the input says:
//! - consecutive lines of one type go into one request, up to `BATCH_EVENTS_MAX` events (and,
//!   for `{"type":"event",...}` lines, up to `BODY_MAX` bytes of events);
//! - an empty line, a line of the other type, and a malformed line each end the current request.
//!   (A malformed line must end it: dropping it from the middle of a chain would join the
//!   events around it into one chain the author never wrote. Ending the request there leaves
//!   the chain open, and the ledger refuses it whole with `linked_event_chain_open`.)
//! - a request that reaches `BATCH_EVENTS_MAX` inside a chain goes out without that chain, which
//!   starts the next request; a chain longer than a request is refused line by line, unsent.
//!
//! Requests go out one at a time, each after the previous one is answered, so a later line
//! always sees the effects of an earlier one (a pending transfer, then its post).
//!
//! Output: `{"id":"10","result":"ok"}` (result names as in `docs/result-codes.md`; for events
//! `{"id":"E1","result":"ok"}` with the names of `ledger_events::EventOutcome`, or
//! `unknown_result_<code>` for a code this build does not know) for each posted line,
//! `{"line":N,"error":"..."}` (N 1-based) for each line that was not posted; empty lines print
//! nothing. Exit status: 0 when every line was answered, 1 when the input, output or
//! token file failed, 3 when the server could not be reached or did not answer (the message on
//! stderr names the lines left unanswered).

use super::post_line::{LineError, LineKind, PostLine, parse_line};
use ledger_client::{
    Account, BATCH_EVENTS_MAX, Client, ClientError, CreateAccountResult, CreateTransferResult,
    EVENT_JSON_MAX, EventCode, EventResult, Transfer,
};
use ledger_events::EventOutcome;
use ledger_protocol::{BODY_MAX, EVENT_LENGTH_SIZE};
use std::borrow::Cow;
use std::io::{BufRead, Read, Write};
use std::process::ExitCode;

/// A line longer than this is refused without being parsed: a record with every field at its
/// widest is under 1 KiB, so this only stops runaway input (e.g. a file without newlines).
pub const LINE_BYTES_MAX: usize = 64 * 1024;
// Any event line that is read fits in one `post_events` event.
const _: () = assert!(LINE_BYTES_MAX <= EVENT_JSON_MAX);

/// Exit status when the server could not be reached or did not answer.
pub const EXIT_SERVER_UNREACHABLE: u8 = 3;

#[derive(clap::Args, Debug)]
pub struct PostArgs {
    /// The server's binary-protocol address.
    #[arg(long, default_value = "127.0.0.1:3001")]
    pub addr: String,
    /// A file holding the server's auth token.
    #[arg(long)]
    pub token_file: Option<std::path::PathBuf>,
}

pub fn run(args: &PostArgs) -> ExitCode {
    let config = match super::client_config(&args.addr, args.token_file.as_deref()) {
        Ok(config) => config,
        Err(message) => {
            eprintln!("ledger post: {message}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match super::runtime() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("ledger post: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let client = match runtime.block_on(Client::connect(config)) {
        Ok(client) => client,
        Err(e) => {
            eprintln!("ledger post: {e}");
            return ExitCode::from(EXIT_SERVER_UNREACHABLE);
        }
    };
    let mut poster = ClientPoster { runtime, client };
    let output = std::io::BufWriter::new(std::io::stdout().lock());
    match post_lines(std::io::stdin().lock(), output, &mut poster) {
        Ok(_) => ExitCode::SUCCESS,
        Err(e @ PostError::Request { .. }) => {
            eprintln!("ledger post: {e}");
            ExitCode::from(EXIT_SERVER_UNREACHABLE)
        }
        Err(e) => {
            eprintln!("ledger post: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Where requests go: the client, or a fake in tests.
pub trait Poster {
    /// # Errors
    /// When the request was not answered.
    fn create_accounts(
        &mut self,
        accounts: &[Account],
    ) -> Result<Vec<EventResult<CreateAccountResult>>, ClientError>;
    /// # Errors
    /// When the request was not answered.
    fn create_transfers(
        &mut self,
        transfers: &[Transfer],
    ) -> Result<Vec<EventResult<CreateTransferResult>>, ClientError>;
    /// Posts events (each the bytes of one JSON object); answers the raw codes of those not `ok`.
    ///
    /// # Errors
    /// When the request was not answered.
    fn post_events(&mut self, events: &[Vec<u8>]) -> Result<Vec<EventCode>, ClientError>;
}

/// Posts through the client, waiting for each answer on a single-threaded runtime.
#[derive(Debug)]
struct ClientPoster {
    runtime: tokio::runtime::Runtime,
    client: Client,
}

impl Poster for ClientPoster {
    fn create_accounts(
        &mut self,
        accounts: &[Account],
    ) -> Result<Vec<EventResult<CreateAccountResult>>, ClientError> {
        self.runtime.block_on(self.client.create_accounts(accounts))
    }

    fn create_transfers(
        &mut self,
        transfers: &[Transfer],
    ) -> Result<Vec<EventResult<CreateTransferResult>>, ClientError> {
        self.runtime.block_on(self.client.create_transfers(transfers))
    }

    fn post_events(&mut self, events: &[Vec<u8>]) -> Result<Vec<EventCode>, ClientError> {
        self.runtime.block_on(self.client.post_events(events))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PostError {
    #[error("reading stdin: {0}")]
    Input(#[source] std::io::Error),
    #[error("writing stdout: {0}")]
    Output(#[source] std::io::Error),
    /// Lines `first_line..=last_line` were sent (or about to be) and got no answer; nothing
    /// after them was read. They may have been applied: post them again (ids make it safe).
    #[error("lines {first_line}..={last_line} were not answered (nothing after them was posted): {error}")]
    Request { first_line: usize, last_line: usize, error: ClientError },
}

/// What a run did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PostSummary {
    pub requests: usize,
    /// Lines answered `ok` (or another result code) by the server.
    pub posted: usize,
    /// Lines answered with `{"line":N,"error":...}` without being sent.
    pub refused: usize,
}

/// Reads lines from `input`, posts them through `poster` and writes one result line per
/// non-empty input line to `output`, in input order.
///
/// # Errors
/// `Input`/`Output` when reading or writing fails; `Request` when a request got no answer, after
/// which nothing more is read.
pub fn post_lines(
    mut input: impl BufRead,
    mut output: impl Write,
    poster: &mut impl Poster,
) -> Result<PostSummary, PostError> {
    let mut summary = PostSummary::default();
    let mut request: Vec<(usize, PostLine)> = Vec::new();
    // Bytes of the events in `request` as the protocol carries them (0 for other kinds).
    let mut request_event_bytes = 0;
    // The kind of an over-long chain whose remaining lines are being refused.
    let mut refusing_chain_of: Option<LineKind> = None;
    let mut buffer = Vec::new();
    for number in 1.. {
        buffer.clear();
        let line = match read_line(&mut input, &mut buffer).map_err(PostError::Input)? {
            ReadLine::End => break,
            ReadLine::Line => std::str::from_utf8(&buffer)
                .map_err(|_| LineError("the line is not UTF-8".to_owned()))
                .and_then(|text| {
                    let text = text.trim();
                    if text.is_empty() { Ok(None) } else { parse_line(text).map(Some) }
                }),
            ReadLine::TooLong => Err(LineError(format!("the line is longer than {LINE_BYTES_MAX} bytes"))),
        };
        let line = match line {
            Ok(Some(line)) => line,
            Ok(None) => {
                send(&mut request, poster, &mut output, &mut summary)?;
                refusing_chain_of = None;
                continue;
            }
            Err(LineError(message)) => {
                send(&mut request, poster, &mut output, &mut summary)?;
                refusing_chain_of = None;
                write_refusal(&mut output, number, &message, &mut summary)?;
                continue;
            }
        };
        if let Some(kind) = refusing_chain_of {
            if kind == line.kind() {
                write_refusal(&mut output, number, &chain_too_long(), &mut summary)?;
                if !line.is_linked() {
                    refusing_chain_of = None;
                }
                continue;
            }
            refusing_chain_of = None;
        }
        if request.first().is_some_and(|(_, first)| first.kind() != line.kind()) {
            send(&mut request, poster, &mut output, &mut summary)?;
        }
        if request.is_empty() {
            request_event_bytes = 0;
        }
        let line_event_bytes = event_bytes(&line);
        if request_event_bytes + line_event_bytes > BODY_MAX {
            // Events are never linked, so the request ends between two whole events.
            send(&mut request, poster, &mut output, &mut summary)?;
            request_event_bytes = 0;
        }
        if request.len() == BATCH_EVENTS_MAX {
            // A full request still here ends inside a chain (it would have gone out otherwise).
            // Send the whole chains before it; the open chain starts the next request.
            let chain_start = request.iter().rposition(|(_, l)| !l.is_linked()).map_or(0, |i| i + 1);
            if chain_start == 0 {
                // The chain fills a whole request and goes on: no request can hold it.
                for (number, _) in std::mem::take(&mut request) {
                    write_refusal(&mut output, number, &chain_too_long(), &mut summary)?;
                }
                write_refusal(&mut output, number, &chain_too_long(), &mut summary)?;
                if line.is_linked() {
                    refusing_chain_of = Some(line.kind());
                }
                continue;
            }
            let open_chain = request.split_off(chain_start);
            send(&mut request, poster, &mut output, &mut summary)?;
            request = open_chain;
        }
        let closes_full_request = request.len() + 1 == BATCH_EVENTS_MAX && !line.is_linked();
        request_event_bytes += line_event_bytes;
        request.push((number, line));
        if closes_full_request {
            send(&mut request, poster, &mut output, &mut summary)?;
        }
    }
    send(&mut request, poster, &mut output, &mut summary)?;
    output.flush().map_err(PostError::Output)?;
    Ok(summary)
}

/// Bytes a line takes in a `post_events` body (its length prefix and its text); 0 for records,
/// whose requests are bounded by their count alone.
fn event_bytes(line: &PostLine) -> usize {
    match line {
        PostLine::Event(event) => EVENT_LENGTH_SIZE + event.json.len(),
        PostLine::Account(_) | PostLine::Transfer(_) => 0,
    }
}

/// The JSON result name of an event outcome code.
fn event_result_name(code: u32) -> Cow<'static, str> {
    EventOutcome::from_code(code)
        .map_or_else(|| Cow::Owned(format!("unknown_result_{code}")), |outcome| Cow::Borrowed(outcome.name()))
}

fn chain_too_long() -> String {
    format!(
        "part of a linked chain longer than {BATCH_EVENTS_MAX} events, which no request can hold; not posted"
    )
}

enum ReadLine {
    End,
    Line,
    TooLong,
}

/// Reads one line (without its `\n`) into `buffer`, at most `LINE_BYTES_MAX` bytes of it; the
/// rest of a longer line is read and dropped.
fn read_line(input: &mut impl BufRead, buffer: &mut Vec<u8>) -> std::io::Result<ReadLine> {
    let limit = u64::try_from(LINE_BYTES_MAX + 1).unwrap_or(u64::MAX);
    let read = input.by_ref().take(limit).read_until(b'\n', buffer)?;
    if read == 0 {
        return Ok(ReadLine::End);
    }
    if buffer.last() == Some(&b'\n') {
        buffer.pop();
        return Ok(ReadLine::Line);
    }
    if buffer.len() <= LINE_BYTES_MAX {
        return Ok(ReadLine::Line); // the last line, without a newline
    }
    // Skip to the end of the over-long line, a bounded chunk at a time.
    loop {
        let (consumed, done) = {
            let available = input.fill_buf()?;
            match available.iter().position(|&b| b == b'\n') {
                Some(newline) => (newline + 1, true),
                None => (available.len(), available.is_empty()),
            }
        };
        input.consume(consumed);
        if done {
            return Ok(ReadLine::TooLong);
        }
    }
}

fn write_refusal(
    output: &mut impl Write,
    number: usize,
    message: &str,
    summary: &mut PostSummary,
) -> Result<(), PostError> {
    summary.refused += 1;
    // Written by hand so that the keys keep the documented order.
    let message = serde_json::Value::from(message);
    writeln!(output, r#"{{"line":{number},"error":{message}}}"#).map_err(PostError::Output)
}

/// Sends the lines collected in `request` (all of one kind) as one request, writes their
/// results in order, and empties `request`.
fn send(
    request: &mut Vec<(usize, PostLine)>,
    poster: &mut impl Poster,
    output: &mut impl Write,
    summary: &mut PostSummary,
) -> Result<(), PostError> {
    let Some((first_line, first)) = request.first() else {
        return Ok(());
    };
    let first_line = *first_line;
    let last_line = request.last().map_or(first_line, |(n, _)| *n);
    let unanswered = |error| PostError::Request { first_line, last_line, error };
    // One name per event: "ok" unless the reply lists it.
    let mut names: Vec<Cow<'static, str>> =
        vec![Cow::Borrowed(CreateTransferResult::Ok.name()); request.len()];
    let mut record_failures = |failures: Vec<(u32, Cow<'static, str>)>| {
        for (index, name) in failures {
            // The client checked every index against the request's size.
            if let Some(slot) = usize::try_from(index).ok().and_then(|i| names.get_mut(i)) {
                *slot = name;
            }
        }
    };
    match first.kind() {
        LineKind::Account => {
            let accounts: Vec<Account> = request
                .iter()
                .filter_map(|(_, l)| match l {
                    PostLine::Account(account) => Some(*account),
                    PostLine::Transfer(_) | PostLine::Event(_) => None,
                })
                .collect();
            let results = poster.create_accounts(&accounts).map_err(unanswered)?;
            record_failures(results.into_iter().map(|r| (r.index, Cow::Borrowed(r.result.name()))).collect());
        }
        LineKind::Transfer => {
            let transfers: Vec<Transfer> = request
                .iter()
                .filter_map(|(_, l)| match l {
                    PostLine::Transfer(transfer) => Some(*transfer),
                    PostLine::Account(_) | PostLine::Event(_) => None,
                })
                .collect();
            let results = poster.create_transfers(&transfers).map_err(unanswered)?;
            record_failures(results.into_iter().map(|r| (r.index, Cow::Borrowed(r.result.name()))).collect());
        }
        LineKind::Event => {
            let events: Vec<Vec<u8>> = request
                .iter()
                .filter_map(|(_, l)| match l {
                    PostLine::Event(event) => Some(event.json.as_bytes().to_vec()),
                    PostLine::Account(_) | PostLine::Transfer(_) => None,
                })
                .collect();
            let codes = poster.post_events(&events).map_err(unanswered)?;
            record_failures(codes.into_iter().map(|c| (c.index, event_result_name(c.code))).collect());
        }
    }
    summary.requests += 1;
    for ((_, line), name) in request.iter().zip(names) {
        summary.posted += 1;
        // The id through serde_json: an event id may hold quotes or backslashes.
        let id = serde_json::Value::from(line.id());
        writeln!(output, r#"{{"id":{id},"result":"{name}"}}"#).map_err(PostError::Output)?;
    }
    // Each answered request is visible at once, so a slow stream shows progress.
    output.flush().map_err(PostError::Output)?;
    request.clear();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ledger_client::{AccountFlags, TransferFlags};

    /// Records every request and answers from a script: the failures to report per event id.
    #[derive(Default)]
    struct FakeLedger {
        requests: Vec<Vec<u128>>,
        transfer_failures: Vec<(u128, CreateTransferResult)>,
        account_failures: Vec<(u128, CreateAccountResult)>,
        /// Event requests, as the bytes of each event.
        event_requests: Vec<Vec<Vec<u8>>>,
        /// (event_id, code) for the events not `ok`.
        event_codes: Vec<(&'static str, u32)>,
        unreachable: bool,
    }

    impl FakeLedger {
        fn answer<R: Copy>(ids: &[u128], failures: &[(u128, R)]) -> Vec<EventResult<R>> {
            ids.iter()
                .enumerate()
                .filter_map(|(index, id)| {
                    let (_, result) = failures.iter().find(|(f, _)| f == id)?;
                    Some(EventResult {
                        index: u32::try_from(index).expect("small test batch"),
                        result: *result,
                    })
                })
                .collect()
        }

        fn unreachable_error() -> ClientError {
            ClientError::Io(std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused"))
        }
    }

    impl Poster for FakeLedger {
        fn create_accounts(
            &mut self,
            accounts: &[Account],
        ) -> Result<Vec<EventResult<CreateAccountResult>>, ClientError> {
            if self.unreachable {
                return Err(Self::unreachable_error());
            }
            let ids: Vec<u128> = accounts.iter().map(|a| a.id).collect();
            let answer = Self::answer(&ids, &self.account_failures);
            self.requests.push(ids);
            Ok(answer)
        }

        fn create_transfers(
            &mut self,
            transfers: &[Transfer],
        ) -> Result<Vec<EventResult<CreateTransferResult>>, ClientError> {
            if self.unreachable {
                return Err(Self::unreachable_error());
            }
            let ids: Vec<u128> = transfers.iter().map(|t| t.id).collect();
            let answer = Self::answer(&ids, &self.transfer_failures);
            self.requests.push(ids);
            Ok(answer)
        }

        fn post_events(&mut self, events: &[Vec<u8>]) -> Result<Vec<EventCode>, ClientError> {
            if self.unreachable {
                return Err(Self::unreachable_error());
            }
            let mut codes = Vec::new();
            for (index, event) in events.iter().enumerate() {
                let value: serde_json::Value = serde_json::from_slice(event).expect("the CLI sends JSON");
                let id = value["event_id"].as_str().expect("the CLI checked the event_id");
                if let Some((_, code)) = self.event_codes.iter().find(|(e, _)| *e == id) {
                    codes.push(EventCode { index: u32::try_from(index).expect("small"), code: *code });
                }
            }
            self.event_requests.push(events.to_vec());
            Ok(codes)
        }
    }

    fn post(input: &str, ledger: &mut FakeLedger) -> (Result<PostSummary, PostError>, Vec<String>) {
        let mut output = Vec::new();
        let result = post_lines(input.as_bytes(), &mut output, ledger);
        let text = String::from_utf8(output).expect("output is UTF-8");
        (result, text.lines().map(str::to_owned).collect())
    }

    fn account_line(id: u128) -> String {
        format!(r#"{{"type":"account","id":"{id}","ledger":156,"code":1}}"#)
    }

    fn transfer_line(id: u128, linked: bool) -> String {
        let flags = if linked { r#"["linked"]"# } else { "[]" };
        format!(
            r#"{{"type":"transfer","id":"{id}","debit_account_id":"1","credit_account_id":"2","amount":"5","ledger":156,"code":1,"flags":{flags}}}"#
        )
    }

    #[test]
    fn each_line_gets_its_result_in_order() {
        let mut ledger = FakeLedger {
            transfer_failures: vec![(11, CreateTransferResult::ExceedsCredits)],
            account_failures: vec![(2, CreateAccountResult::Exists)],
            ..FakeLedger::default()
        };
        let input =
            [account_line(1), account_line(2), transfer_line(10, false), transfer_line(11, false)].join("\n");
        let (result, lines) = post(&input, &mut ledger);
        assert_eq!(
            lines,
            [
                r#"{"id":"1","result":"ok"}"#,
                r#"{"id":"2","result":"exists"}"#,
                r#"{"id":"10","result":"ok"}"#,
                r#"{"id":"11","result":"exceeds_credits"}"#,
            ]
        );
        assert_eq!(ledger.requests, vec![vec![1, 2], vec![10, 11]], "one request per run of one type");
        assert_eq!(result.expect("answered"), PostSummary { requests: 2, posted: 4, refused: 0 });
    }

    #[test]
    fn an_empty_line_ends_the_request_and_prints_nothing() {
        let mut ledger = FakeLedger::default();
        let input = format!("{}\n\n   \n{}\n", transfer_line(1, false), transfer_line(2, false));
        let (result, lines) = post(&input, &mut ledger);
        assert_eq!(ledger.requests, vec![vec![1], vec![2]]);
        assert_eq!(lines.len(), 2);
        assert!(result.is_ok());
    }

    #[test]
    fn a_malformed_line_is_reported_in_place_and_ends_the_request() {
        let mut ledger = FakeLedger::default();
        let input = [
            transfer_line(1, true),
            r#"{"type":"transfer","id":"x"}"#.to_owned(),
            transfer_line(2, false),
            "{oops".to_owned(),
            r#"{"type":"loan","id":"3"}"#.to_owned(),
            transfer_line(4, false),
        ]
        .join("\n");
        let (result, lines) = post(&input, &mut ledger);
        assert_eq!(lines.len(), 6, "one output line per input line: {lines:?}");
        assert_eq!(lines[0], r#"{"id":"1","result":"ok"}"#);
        assert!(lines[1].starts_with(r#"{"line":2,"error":"`id` must be a base-10 integer"#), "{}", lines[1]);
        assert_eq!(lines[2], r#"{"id":"2","result":"ok"}"#);
        assert!(lines[3].starts_with(r#"{"line":4,"error":""#), "{}", lines[3]);
        assert!(
            lines[4].contains(r#""line":5"#) && lines[4].contains("unknown variant `loan`"),
            "{}",
            lines[4]
        );
        assert_eq!(lines[5], r#"{"id":"4","result":"ok"}"#);
        // The linked transfer 1 was not chained to transfer 2 across the bad line.
        assert_eq!(ledger.requests, vec![vec![1], vec![2], vec![4]]);
        assert_eq!(result.expect("answered"), PostSummary { requests: 3, posted: 3, refused: 3 });
    }

    #[test]
    fn refusals_are_valid_json_with_the_line_number() {
        let mut ledger = FakeLedger::default();
        let (_, lines) = post("\n{\"type\":\"account\",\"id\":\"1\",\"flags\":[\"a\\\"b\"]}", &mut ledger);
        let value: serde_json::Value = serde_json::from_str(&lines[0]).expect("a refusal is JSON");
        assert_eq!(value["line"], 2);
        assert_eq!(value["error"], r#"`flags`: unknown flag "a\"b""#);
    }

    #[test]
    fn a_full_request_goes_out_and_the_next_starts() {
        let mut ledger = FakeLedger::default();
        let input: Vec<String> =
            (1..=BATCH_EVENTS_MAX as u128 + 1).map(|id| transfer_line(id, false)).collect();
        let (result, lines) = post(&input.join("\n"), &mut ledger);
        assert_eq!(ledger.requests.len(), 2);
        assert_eq!(ledger.requests[0].len(), BATCH_EVENTS_MAX);
        assert_eq!(ledger.requests[1], vec![BATCH_EVENTS_MAX as u128 + 1]);
        assert_eq!(lines.len(), BATCH_EVENTS_MAX + 1);
        assert!(result.is_ok());
    }

    #[test]
    fn a_chain_crossing_the_request_limit_moves_whole_to_the_next_request() {
        let mut ledger = FakeLedger::default();
        // BATCH_EVENTS_MAX - 2 single transfers, then a chain of 4.
        let singles = BATCH_EVENTS_MAX as u128 - 2;
        let mut input: Vec<String> = (1..=singles).map(|id| transfer_line(id, false)).collect();
        for id in singles + 1..=singles + 4 {
            input.push(transfer_line(id, id != singles + 4));
        }
        let (result, lines) = post(&input.join("\n"), &mut ledger);
        assert_eq!(ledger.requests.len(), 2);
        assert_eq!(ledger.requests[0].len(), BATCH_EVENTS_MAX - 2, "the chain did not fit");
        assert_eq!(
            ledger.requests[1],
            (singles + 1..=singles + 4).collect::<Vec<_>>(),
            "the chain stays whole"
        );
        assert_eq!(lines.len(), input.len());
        assert!(result.is_ok());
    }

    #[test]
    fn a_chain_longer_than_a_request_is_refused_unsent() {
        let mut ledger = FakeLedger::default();
        let chain_len = BATCH_EVENTS_MAX as u128 + 2;
        let mut input: Vec<String> = (1..=chain_len).map(|id| transfer_line(id, id != chain_len)).collect();
        input.push(transfer_line(chain_len + 1, false));
        let (result, lines) = post(&input.join("\n"), &mut ledger);
        assert_eq!(ledger.requests, vec![vec![chain_len + 1]], "only the event after the chain is sent");
        assert_eq!(lines.len(), input.len());
        assert!(
            lines[..lines.len() - 1].iter().all(|l| l.contains("longer than")),
            "every chain line is refused"
        );
        assert!(
            lines[0].starts_with(r#"{"line":1,"#)
                && lines[lines.len() - 2].contains(&format!(r#""line":{chain_len}"#))
        );
        assert_eq!(result.expect("answered").refused, BATCH_EVENTS_MAX + 2);
    }

    #[test]
    fn an_unanswered_request_stops_the_run_and_names_its_lines() {
        let mut ledger = FakeLedger { unreachable: true, ..FakeLedger::default() };
        let input = format!("{}\n{}\n\n{}", account_line(1), account_line(2), account_line(3));
        let (result, lines) = post(&input, &mut ledger);
        assert!(lines.is_empty());
        match result {
            Err(PostError::Request { first_line: 1, last_line: 2, .. }) => {}
            other => panic!("expected lines 1..=2 unanswered, got {other:?}"),
        }
    }

    #[test]
    fn overlong_and_non_utf8_lines_are_refused_and_the_rest_goes_on() {
        let mut ledger = FakeLedger::default();
        let mut input = b"\xff\xfe\n".to_vec();
        input.extend(std::iter::repeat_n(b'x', LINE_BYTES_MAX + 10));
        input.push(b'\n');
        input.extend(account_line(1).as_bytes());
        let mut output = Vec::new();
        let summary = post_lines(&input[..], &mut output, &mut ledger).expect("answered");
        let lines: Vec<&str> = std::str::from_utf8(&output).expect("UTF-8").lines().collect();
        assert_eq!(lines[0], r#"{"line":1,"error":"the line is not UTF-8"}"#);
        assert!(lines[1].starts_with(r#"{"line":2,"error":"the line is longer than"#));
        assert_eq!(lines[2], r#"{"id":"1","result":"ok"}"#);
        assert_eq!(summary, PostSummary { requests: 1, posted: 1, refused: 2 });
    }

    #[test]
    fn records_reach_the_poster_with_their_fields() {
        struct Capture(Vec<Transfer>, Vec<Account>);
        impl Poster for Capture {
            fn create_accounts(
                &mut self,
                accounts: &[Account],
            ) -> Result<Vec<EventResult<CreateAccountResult>>, ClientError> {
                self.1.extend_from_slice(accounts);
                Ok(Vec::new())
            }
            fn create_transfers(
                &mut self,
                transfers: &[Transfer],
            ) -> Result<Vec<EventResult<CreateTransferResult>>, ClientError> {
                self.0.extend_from_slice(transfers);
                Ok(Vec::new())
            }
            fn post_events(&mut self, _: &[Vec<u8>]) -> Result<Vec<EventCode>, ClientError> {
                unreachable!("no event lines in this test")
            }
        }
        let input = r#"{"type":"account","id":"1","ledger":156,"code":100,"flags":["debits_must_not_exceed_credits"]}
{"type":"transfer","id":"10","debit_account_id":"1","credit_account_id":"2","amount":"500","ledger":1,"code":1,"flags":["pending"],"timeout":60,"pending_id":"0"}"#;
        let mut capture = Capture(Vec::new(), Vec::new());
        post_lines(input.as_bytes(), std::io::sink(), &mut capture).expect("answered");
        assert_eq!(capture.1[0].flags, AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS);
        assert_eq!((capture.1[0].ledger, capture.1[0].code), (156, 100));
        let t = capture.0[0];
        assert_eq!((t.id, t.debit_account_id, t.credit_account_id, t.amount), (10, 1, 2, 500));
        assert_eq!((t.flags, t.timeout), (TransferFlags::PENDING, 60));
    }

    fn event_line(id: &str) -> String {
        format!(
            r#"{{"type":"event","event_id":"{id}","event_type":"loan.disbursed","ledger":156,"subjects":{{"loan_note":"L1"}},"components":{{"principal":"100.00"}},"business_date":"2024-01-01"}}"#
        )
    }

    #[test]
    fn event_lines_are_sent_as_written_and_answered_by_outcome_name() {
        let mut ledger = FakeLedger {
            event_codes: vec![("E2", 1), ("E3", 1059), ("E4", 111), ("E5", 4242)],
            ..FakeLedger::default()
        };
        let reversal = r#"{"type":"event","event_id":"E6","event_type":"reversal","reverses":"E1","ledger":156,"business_date":"2024-01-05"}"#;
        let mut input: Vec<String> = ["E1", "E2", "E3", "E4", "E5"].iter().map(|id| event_line(id)).collect();
        // Surrounding whitespace is not part of the event.
        input.push(format!("  {reversal}\t"));
        let (result, lines) = post(&input.join("\n"), &mut ledger);
        assert_eq!(
            lines,
            [
                r#"{"id":"E1","result":"ok"}"#,
                r#"{"id":"E2","result":"exists"}"#,
                r#"{"id":"E3","result":"exceeds_debits"}"#,
                r#"{"id":"E4","result":"unknown_event_type"}"#,
                r#"{"id":"E5","result":"unknown_result_4242"}"#,
                r#"{"id":"E6","result":"ok"}"#,
            ]
        );
        assert_eq!(ledger.event_requests.len(), 1, "consecutive event lines share a request");
        let sent: Vec<String> =
            ledger.event_requests[0].iter().map(|e| String::from_utf8(e.clone()).expect("UTF-8")).collect();
        input[5] = reversal.to_owned();
        assert_eq!(sent, input, "each event is the line's bytes");
        assert_eq!(result.expect("answered"), PostSummary { requests: 1, posted: 6, refused: 0 });
    }

    #[test]
    fn event_ids_are_printed_as_json_strings() {
        let mut ledger = FakeLedger { event_codes: vec![("E\"7\\", 1)], ..FakeLedger::default() };
        let (_, lines) = post(r#"{"type":"event","event_id":"E\"7\\"}"#, &mut ledger);
        let value: serde_json::Value = serde_json::from_str(&lines[0]).expect("a result is JSON");
        assert_eq!((value["id"].as_str(), value["result"].as_str()), (Some("E\"7\\"), Some("exists")));
    }

    #[test]
    fn event_lines_end_at_a_type_change_an_empty_line_or_a_malformed_line() {
        let mut ledger = FakeLedger::default();
        let input = [
            event_line("E1"),
            event_line("E2"),
            transfer_line(10, false),
            event_line("E3"),
            String::new(),
            event_line("E4"),
            r#"{"type":"event","event_type":"loan.disbursed"}"#.to_owned(),
            r#"{"type":"event","event_id":5}"#.to_owned(),
            "{not json".to_owned(),
            event_line("E5"),
        ]
        .join("\n");
        let (result, lines) = post(&input, &mut ledger);
        let ids = |request: &Vec<Vec<u8>>| -> Vec<String> {
            request
                .iter()
                .map(|e| {
                    let value: serde_json::Value = serde_json::from_slice(e).expect("JSON");
                    value["event_id"].as_str().expect("an id").to_owned()
                })
                .collect()
        };
        let event_requests: Vec<Vec<String>> = ledger.event_requests.iter().map(ids).collect();
        assert_eq!(event_requests, [vec!["E1", "E2"], vec!["E3"], vec!["E4"], vec!["E5"]]);
        assert_eq!(ledger.requests, vec![vec![10]]);
        // The empty line 5 prints nothing.
        assert_eq!(lines.len(), 9);
        assert_eq!(lines[5], r#"{"line":7,"error":"missing field `event_id`"}"#);
        assert_eq!(lines[6], r#"{"line":8,"error":"`event_id` must be a string, got 5"}"#);
        assert!(lines[7].starts_with(r#"{"line":9,"error":"#), "{}", lines[7]);
        assert_eq!(lines[8], r#"{"id":"E5","result":"ok"}"#);
        assert_eq!(result.expect("answered"), PostSummary { requests: 5, posted: 6, refused: 3 });
    }

    #[test]
    fn event_requests_end_before_body_max_bytes() {
        // Lines of about 60 KiB: 17 fit in one body (17 × 60,104 bytes), the 18th does not.
        let padding = "x".repeat(60_000);
        let line =
            |n: usize| format!(r#"{{"type":"event","event_id":"E{n:03}","metadata":{{"pad":"{padding}"}}}}"#);
        let input: Vec<String> = (0..20).map(line).collect();
        let mut ledger = FakeLedger::default();
        let (result, lines) = post(&input.join("\n"), &mut ledger);
        let sizes: Vec<usize> = ledger.event_requests.iter().map(Vec::len).collect();
        assert_eq!(sizes, [17, 3]);
        for request in &ledger.event_requests {
            let bytes: usize = request.iter().map(|e| EVENT_LENGTH_SIZE + e.len()).sum();
            assert!(bytes <= BODY_MAX, "{bytes} bytes in one request");
        }
        assert_eq!(lines.len(), 20);
        assert!(result.is_ok());
    }

    #[test]
    fn every_event_outcome_code_prints_its_name() {
        assert_eq!(event_result_name(0), "ok");
        assert_eq!(event_result_name(3), "already_reversed");
        assert_eq!(event_result_name(100), "invalid_json");
        assert_eq!(event_result_name(1059), "exceeds_debits");
        assert_eq!(event_result_name(7), "unknown_result_7");
        assert_eq!(event_result_name(u32::MAX), format!("unknown_result_{}", u32::MAX));
    }

    const QUICKSTART: &str = include_str!("../../../examples/quickstart.jsonl");

    #[test]
    fn every_quickstart_line_parses() {
        for (number, line) in QUICKSTART.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let parsed = parse_line(line);
            assert!(parsed.is_ok(), "examples/quickstart.jsonl line {}: {parsed:?}", number + 1);
        }
    }

    /// Applies requests to a real in-memory engine, one second apart.
    struct Engine {
        ledger: ledger_core::Ledger,
        now_ns: u64,
    }

    impl Poster for Engine {
        fn create_accounts(
            &mut self,
            accounts: &[Account],
        ) -> Result<Vec<EventResult<CreateAccountResult>>, ClientError> {
            self.now_ns += 1_000_000_000;
            Ok(self.ledger.create_accounts(self.now_ns, accounts).expect("the engine takes the batch"))
        }
        fn create_transfers(
            &mut self,
            transfers: &[Transfer],
        ) -> Result<Vec<EventResult<CreateTransferResult>>, ClientError> {
            self.now_ns += 1_000_000_000;
            Ok(self.ledger.create_transfers(self.now_ns, transfers).expect("the engine takes the batch"))
        }
        fn post_events(&mut self, _: &[Vec<u8>]) -> Result<Vec<EventCode>, ClientError> {
            unreachable!("the quickstart has no event lines")
        }
    }

    #[test]
    fn the_quickstart_tells_its_story_through_the_engine() {
        let mut engine = Engine { ledger: ledger_core::Ledger::default(), now_ns: 1_764_000_000_000_000_000 };
        let mut output = Vec::new();
        let summary = post_lines(QUICKSTART.as_bytes(), &mut output, &mut engine).expect("answered");
        let output = String::from_utf8(output).expect("UTF-8");
        let results: Vec<&str> = output.lines().collect();
        let mut expected: Vec<String> =
            ["1001", "1002", "2001", "2002", "3001", "9001", "9002", "9003", "9004", "9005", "9006"]
                .iter()
                .map(|id| format!(r#"{{"id":"{id}","result":"ok"}}"#))
                .collect();
        // The over-repayment: 5,000.00 against 4,780.00 outstanding, refused by the receivable's
        // credits_must_not_exceed_debits.
        expected.push(r#"{"id":"9007","result":"exceeds_debits"}"#.to_owned());
        assert_eq!(results, expected);
        assert_eq!(summary, PostSummary { requests: 6, posted: 12, refused: 0 });

        let receivable = engine.ledger.lookup_account(2001).expect("the loan receivable exists");
        assert_eq!((receivable.debits_posted, receivable.credits_posted), (500_000, 22_000));
        let fee_income = engine.ledger.lookup_account(3001).expect("the fee income account exists");
        assert_eq!((fee_income.credits_pending, fee_income.credits_posted), (0, 8_000), "the fee was posted");
        let cash = engine.ledger.lookup_account(1001).expect("the funder's cash exists");
        assert_eq!(cash.debits_posted - cash.credits_posted, 1_000_000 - 500_000 + 22_000 + 8_000);
    }
}
