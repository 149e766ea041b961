//! Replies: the server's answer to one request, with the request's id and operation.
//!
//! Bodies of `ok` replies (all records little-endian, layouts in `docs/protocol.md`):
//!
//! ```text
//! operation                                   body
//! hello                                       empty
//! create_accounts, create_transfers           one 8-byte entry per failed event, in request
//!                                             order: index u32, result u32 (a result code)
//! lookup_accounts, query_accounts             found accounts × 128 (lookups: in request order,
//!                                             ids not found are left out)
//! lookup_transfers, get_account_transfers,    transfers × 128
//! query_transfers
//! get_account_balances                        AccountBalance × 128
//! post_events                                 one 8-byte entry per event not `ok`, in request
//!                                             order: index u32, code u32 (an event outcome
//!                                             code, docs/events.md; not checked here)
//! read_journal                                the page: one JSON object in UTF-8, event_count =
//!                                             its bytes (journal_read.rs; not parsed here)
//! ```
//!
//! A reply with any other status has an empty body. `event_count` is the number of records.

use ledger_core::query::{ACCOUNT_BALANCE_SIZE, AccountBalance};
use ledger_core::result::{CreateAccountResult, CreateTransferResult, EventResult};
use ledger_core::{ACCOUNT_SIZE, Account, BATCH_EVENTS_MAX, TRANSFER_SIZE, Transfer};

use crate::error::FrameError;
use crate::frame::{
    FrameFields, append_frame, append_records, check_body, check_body_checksum, check_body_len,
    decode_records,
};
use crate::header::{FrameKind, Header, PROTOCOL_VERSION};
use crate::operation::{EVENT_RESULT_SIZE, Operation};
use crate::status::Status;

/// An `ok` reply, decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    Hello,
    /// The failed events only; an empty list means every account was created (or existed).
    CreateAccounts(Vec<EventResult<CreateAccountResult>>),
    /// The failed events only; an empty list means every transfer was applied.
    CreateTransfers(Vec<EventResult<CreateTransferResult>>),
    /// `lookup_accounts` and `query_accounts`.
    Accounts(Vec<Account>),
    /// `lookup_transfers`, `get_account_transfers` and `query_transfers`.
    Transfers(Vec<Transfer>),
    /// `get_account_balances`.
    Balances(Vec<AccountBalance>),
    /// The events whose outcome is not `ok` (code 0); an empty list means every event was posted.
    PostEvents(Vec<EventCode>),
    /// `read_journal`: the bytes of the page's JSON (`GET /v1/journal`'s document), unparsed.
    Journal(Vec<u8>),
}

/// The outcome of one event of a `post_events` request, as its raw code. The codec checks only
/// the order and range of the indexes; the codes' meanings belong to `ledger-events`
/// (`EventOutcome::from_code`), so that a newer server's codes still reach the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EventCode {
    /// The event's position in the request, from 0.
    pub index: u32,
    /// Its outcome code (`docs/events.md`); never 0 from this server, which leaves `ok` out.
    pub code: u32,
}

impl Reply {
    /// Whether this reply answers `operation`.
    #[must_use]
    pub fn answers(&self, operation: Operation) -> bool {
        match self {
            Self::Hello => operation == Operation::Hello,
            Self::CreateAccounts(_) => operation == Operation::CreateAccounts,
            Self::CreateTransfers(_) => operation == Operation::CreateTransfers,
            Self::Accounts(_) => matches!(operation, Operation::LookupAccounts | Operation::QueryAccounts),
            Self::Transfers(_) => matches!(
                operation,
                Operation::LookupTransfers | Operation::GetAccountTransfers | Operation::QueryTransfers
            ),
            Self::Balances(_) => operation == Operation::GetAccountBalances,
            Self::PostEvents(_) => operation == Operation::PostEvents,
            Self::Journal(_) => operation == Operation::ReadJournal,
        }
    }

    /// Records in the body: the header's `event_count`.
    #[must_use]
    pub fn event_count(&self) -> usize {
        match self {
            Self::Hello => 0,
            Self::CreateAccounts(results) => results.len(),
            Self::CreateTransfers(results) => results.len(),
            Self::Accounts(accounts) => accounts.len(),
            Self::Transfers(transfers) => transfers.len(),
            Self::Balances(balances) => balances.len(),
            Self::PostEvents(codes) => codes.len(),
            Self::Journal(page) => page.len(),
        }
    }

    /// The reply to an operation that found nothing, or to an empty batch.
    #[must_use]
    pub fn empty(operation: Operation) -> Self {
        match operation {
            Operation::Hello => Self::Hello,
            Operation::CreateAccounts => Self::CreateAccounts(Vec::new()),
            Operation::CreateTransfers => Self::CreateTransfers(Vec::new()),
            Operation::LookupAccounts | Operation::QueryAccounts => Self::Accounts(Vec::new()),
            Operation::LookupTransfers | Operation::GetAccountTransfers | Operation::QueryTransfers => {
                Self::Transfers(Vec::new())
            }
            Operation::GetAccountBalances => Self::Balances(Vec::new()),
            Operation::PostEvents => Self::PostEvents(Vec::new()),
            Operation::ReadJournal => Self::Journal(Vec::new()),
        }
    }
}

/// Appends an `ok` reply frame to `out`.
///
/// # Panics
/// If `reply` does not answer `operation` or holds more records than `reply_events_max` (a batch;
/// `BODY_MAX` bytes of a journal page): both are bugs of the server, never something a client
/// sent, and a mismatched reply would be decoded by the client as the wrong records.
pub fn encode_reply(request_id: u64, operation: Operation, reply: &Reply, out: &mut Vec<u8>) {
    assert!(reply.answers(operation), "a {reply:?} reply does not answer {operation}");
    let event_count = reply.event_count();
    let events_max = operation.reply_events_max();
    assert!(
        event_count <= events_max,
        "a {operation} reply holds at most {events_max} records, not {event_count}"
    );
    let fields = FrameFields {
        kind: FrameKind::Reply,
        operation: operation.code(),
        request_id,
        event_count,
        status: Status::Ok.code(),
    };
    append_frame(out, &fields, event_count * operation.reply_event_size(), |out| match reply {
        Reply::Hello => {}
        Reply::CreateAccounts(results) => {
            for result in results {
                append_event_result(out, result.index, result.result.code());
            }
        }
        Reply::CreateTransfers(results) => {
            for result in results {
                append_event_result(out, result.index, result.result.code());
            }
        }
        Reply::Accounts(accounts) => append_records(out, accounts, Account::write_bytes),
        Reply::Transfers(transfers) => append_records(out, transfers, Transfer::write_bytes),
        Reply::Balances(balances) => {
            for balance in balances {
                out.extend_from_slice(&balance.to_bytes());
            }
        }
        Reply::PostEvents(codes) => {
            for code in codes {
                append_event_result(out, code.index, code.code);
            }
        }
        Reply::Journal(page) => out.extend_from_slice(page),
    });
}

/// Appends a reply frame with `status` and an empty body. `operation` is the request's raw byte,
/// echoed even when the server does not know it. With `Status::Ok` this is the empty reply.
pub fn encode_error_reply(request_id: u64, operation: u8, status: Status, out: &mut Vec<u8>) {
    let fields =
        FrameFields { kind: FrameKind::Reply, operation, request_id, event_count: 0, status: status.code() };
    append_frame(out, &fields, 0, |_| {});
}

/// Decodes a reply: `Ok(Ok(reply))` for status `ok`, `Ok(Err(status))` for any other known status,
/// `Err` for a frame this side cannot trust or understand. Checked in order: the frame is a reply,
/// its version, the body slice length; then for an error status that the status is known and the
/// body empty; for `ok`: the operation, the event count limit, the body size, the body checksum,
/// and (for `create_*`) known result codes with strictly increasing indexes, (for
/// `post_events`) strictly increasing indexes below `BATCH_EVENTS_MAX`.
pub fn decode_reply(header: &Header, body: &[u8]) -> Result<Result<Reply, Status>, FrameError> {
    if header.kind != FrameKind::Reply {
        return Err(FrameError::InvalidKind { expected: FrameKind::Reply, found: header.kind });
    }
    if header.version != PROTOCOL_VERSION {
        return Err(FrameError::UnsupportedVersion { found: header.version });
    }
    check_body_len(header, body)?;
    if header.status != Status::Ok.code() {
        // Checked before the operation: a server answers `unknown_operation` with the byte the
        // client sent, which this side may not know either.
        let status =
            Status::from_code(header.status).ok_or(FrameError::UnknownStatus { found: header.status })?;
        if header.body_len != 0 || header.event_count != 0 {
            return Err(FrameError::ErrorReplyWithBody {
                status,
                body_len: header.body_len,
                event_count: header.event_count,
            });
        }
        check_body_checksum(header, body)?;
        return Ok(Err(status));
    }
    let operation = Operation::from_u8(header.operation)
        .ok_or(FrameError::UnknownOperation { found: header.operation })?;
    check_body(header, body, operation, operation.reply_event_size(), operation.reply_events_max(), false)?;
    Ok(Ok(match operation {
        Operation::Hello => Reply::Hello,
        Operation::CreateAccounts => {
            Reply::CreateAccounts(decode_event_results(body, operation, CreateAccountResult::from_code)?)
        }
        Operation::CreateTransfers => {
            Reply::CreateTransfers(decode_event_results(body, operation, CreateTransferResult::from_code)?)
        }
        Operation::LookupAccounts | Operation::QueryAccounts => {
            Reply::Accounts(decode_records::<ACCOUNT_SIZE, _>(body, Account::from_bytes))
        }
        Operation::LookupTransfers | Operation::GetAccountTransfers | Operation::QueryTransfers => {
            Reply::Transfers(decode_records::<TRANSFER_SIZE, _>(body, Transfer::from_bytes))
        }
        Operation::GetAccountBalances => {
            Reply::Balances(decode_records::<ACCOUNT_BALANCE_SIZE, _>(body, AccountBalance::from_bytes))
        }
        Operation::PostEvents => Reply::PostEvents(decode_event_codes(body)?),
        Operation::ReadJournal => Reply::Journal(body.to_vec()),
    }))
}

/// ```text
/// event result, 8 bytes
/// offset  size  field
///      0     4  index   u32  the event's position in the request, from 0
///      4     4  result  u32  its result code (docs/result-codes.md)
/// ```
const EVENT_RESULT_INDEX_OFFSET: usize = 0;
const EVENT_RESULT_RESULT_OFFSET: usize = 4;
const _: () = assert!(EVENT_RESULT_RESULT_OFFSET + 4 == EVENT_RESULT_SIZE);

fn append_event_result(out: &mut Vec<u8>, index: u32, code: u32) {
    out.extend_from_slice(&index.to_le_bytes());
    out.extend_from_slice(&code.to_le_bytes());
}

fn decode_event_results<R>(
    body: &[u8],
    operation: Operation,
    from_code: fn(u32) -> Option<R>,
) -> Result<Vec<EventResult<R>>, FrameError> {
    let (entries, rest) = body.as_chunks::<EVENT_RESULT_SIZE>();
    debug_assert!(rest.is_empty(), "check_body admits whole entries only");
    let mut results = Vec::with_capacity(entries.len());
    let mut previous: Option<u32> = None;
    for entry in entries {
        let (index, code) = split_event_result(entry);
        if let Some(previous) = previous.filter(|&previous| index <= previous) {
            return Err(FrameError::ResultsOutOfOrder { index, previous });
        }
        let result = from_code(code).ok_or(FrameError::UnknownResultCode { operation, index, code })?;
        results.push(EventResult { index, result });
        previous = Some(index);
    }
    Ok(results)
}

/// The entries of a `post_events` reply: any code, indexes strictly increasing and within a batch.
fn decode_event_codes(body: &[u8]) -> Result<Vec<EventCode>, FrameError> {
    let (entries, rest) = body.as_chunks::<EVENT_RESULT_SIZE>();
    debug_assert!(rest.is_empty(), "check_body admits whole entries only");
    let mut codes = Vec::with_capacity(entries.len());
    let mut previous: Option<u32> = None;
    for entry in entries {
        let (index, code) = split_event_result(entry);
        if let Some(previous) = previous.filter(|&previous| index <= previous) {
            return Err(FrameError::ResultsOutOfOrder { index, previous });
        }
        if index as usize >= BATCH_EVENTS_MAX {
            return Err(FrameError::ResultIndexOutOfRange { index, events_max: BATCH_EVENTS_MAX });
        }
        codes.push(EventCode { index, code });
        previous = Some(index);
    }
    Ok(codes)
}

fn split_event_result(entry: &[u8; EVENT_RESULT_SIZE]) -> (u32, u32) {
    let (index, code) = entry.split_at(EVENT_RESULT_RESULT_OFFSET);
    let mut index_bytes = [0_u8; 4];
    index_bytes.copy_from_slice(&index[EVENT_RESULT_INDEX_OFFSET..]);
    let mut code_bytes = [0_u8; 4];
    code_bytes.copy_from_slice(code);
    (u32::from_le_bytes(index_bytes), u32::from_le_bytes(code_bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::HEADER_SIZE;
    use ledger_core::TransferFlags;

    fn split(frame: &[u8]) -> (Header, &[u8]) {
        let (header, body) = frame.split_first_chunk::<HEADER_SIZE>().expect("a whole header");
        (Header::decode(header).expect("a valid header"), body)
    }

    fn every_reply() -> Vec<(Operation, Reply)> {
        let account = Account {
            id: 5,
            ledger: 156,
            code: 1,
            credits_posted: 30_500,
            timestamp: 99,
            ..Account::default()
        };
        let transfer = Transfer {
            id: 9,
            debit_account_id: 5,
            credit_account_id: 6,
            amount: 1,
            flags: TransferFlags::PENDING,
            timeout: 60,
            timestamp: 100,
            ..Transfer::default()
        };
        let balance = AccountBalance {
            debits_posted: 7,
            credits_posted: u128::MAX,
            timestamp: 100,
            ..AccountBalance::default()
        };
        vec![
            (Operation::Hello, Reply::Hello),
            (
                Operation::CreateAccounts,
                Reply::CreateAccounts(vec![
                    EventResult { index: 0, result: CreateAccountResult::Exists },
                    EventResult { index: 3, result: CreateAccountResult::LedgerMustNotBeZero },
                ]),
            ),
            (Operation::CreateAccounts, Reply::CreateAccounts(Vec::new())),
            (
                Operation::CreateTransfers,
                Reply::CreateTransfers(vec![EventResult {
                    index: 8188,
                    result: CreateTransferResult::ExceedsCredits,
                }]),
            ),
            (Operation::LookupAccounts, Reply::Accounts(vec![account, account])),
            (Operation::QueryAccounts, Reply::Accounts(Vec::new())),
            (Operation::LookupTransfers, Reply::Transfers(vec![transfer])),
            (Operation::GetAccountTransfers, Reply::Transfers(vec![transfer, transfer, transfer])),
            (Operation::QueryTransfers, Reply::Transfers(vec![transfer])),
            (Operation::GetAccountBalances, Reply::Balances(vec![balance])),
            (
                Operation::PostEvents,
                Reply::PostEvents(vec![
                    EventCode { index: 0, code: 1 },
                    EventCode { index: 7, code: 1054 },
                    EventCode { index: 8188, code: u32::MAX },
                ]),
            ),
            (Operation::PostEvents, Reply::PostEvents(Vec::new())),
            (
                Operation::ReadJournal,
                Reply::Journal(
                    br#"{"entries":[],"next_after":"7","current_to":{"op":"1","transfers":"0"}}"#.to_vec(),
                ),
            ),
            // The codec does not parse the page: any bytes pass.
            (Operation::ReadJournal, Reply::Journal(vec![0xff, 0x00, b'{'])),
        ]
    }

    #[test]
    fn every_operation_round_trips() {
        for (operation, reply) in every_reply() {
            let mut frame = Vec::new();
            encode_reply(77, operation, &reply, &mut frame);
            let (header, body) = split(&frame);
            assert_eq!(header.kind, FrameKind::Reply);
            assert_eq!(header.operation, operation.code());
            assert_eq!(header.request_id, 77);
            assert_eq!(header.status, 0);
            assert_eq!(header.event_count as usize, reply.event_count());
            assert_eq!(body.len(), reply.event_count() * operation.reply_event_size());
            assert_eq!(decode_reply(&header, body), Ok(Ok(reply)), "{operation}");
        }
    }

    #[test]
    fn create_results_are_index_then_code() {
        let reply = Reply::CreateTransfers(vec![EventResult {
            index: 2,
            result: CreateTransferResult::ExceedsCredits,
        }]);
        let mut frame = Vec::new();
        encode_reply(1, Operation::CreateTransfers, &reply, &mut frame);
        assert_eq!(&frame[HEADER_SIZE..], &[2, 0, 0, 0, 58, 0, 0, 0]);
    }

    #[test]
    fn every_empty_reply_answers_its_operation() {
        for operation in Operation::ALL {
            let reply = Reply::empty(operation);
            assert!(reply.answers(operation));
            assert_eq!(reply.event_count(), 0);
            // And only its own family.
            let others = Operation::ALL.iter().filter(|&&other| reply.answers(other)).count();
            assert!((1..=3).contains(&others));
        }
    }

    #[test]
    fn a_journal_page_may_fill_a_body_but_no_more() {
        let full = Reply::Journal(vec![b' '; crate::header::BODY_MAX]);
        let mut frame = Vec::new();
        encode_reply(3, Operation::ReadJournal, &full, &mut frame);
        let (header, body) = split(&frame);
        assert_eq!(header.event_count as usize, crate::header::BODY_MAX);
        assert_eq!(decode_reply(&header, body), Ok(Ok(full)));
    }

    #[test]
    #[should_panic(expected = "at most 1048192 records")]
    fn a_journal_page_beyond_a_body_is_a_bug() {
        let over = Reply::Journal(vec![b' '; crate::header::BODY_MAX + 1]);
        encode_reply(3, Operation::ReadJournal, &over, &mut Vec::new());
    }

    #[test]
    #[should_panic(expected = "does not answer")]
    fn a_reply_for_another_operation_is_a_bug() {
        encode_reply(1, Operation::GetAccountBalances, &Reply::Transfers(Vec::new()), &mut Vec::new());
    }

    #[test]
    fn error_replies_carry_only_a_status_and_echo_the_raw_operation() {
        for &status in Status::ALL.iter().filter(|&&s| s != Status::Ok) {
            let mut frame = Vec::new();
            encode_error_reply(5, 9, status, &mut frame);
            assert_eq!(frame.len(), HEADER_SIZE);
            let (header, body) = split(&frame);
            assert_eq!((header.operation, header.request_id, header.status), (9, 5, status.code()));
            assert_eq!((header.body_len, header.event_count, header.body_checksum), (0, 0, 0));
            assert_eq!(decode_reply(&header, body), Ok(Err(status)));
        }
        let mut frame = Vec::new();
        encode_error_reply(5, Operation::CreateTransfers.code(), Status::Ok, &mut frame);
        let (header, body) = split(&frame);
        assert_eq!(decode_reply(&header, body), Ok(Ok(Reply::CreateTransfers(Vec::new()))));
    }

    fn reply_frame(operation: u8, status: u16, event_count: u32, body: &[u8]) -> Header {
        Header {
            version: PROTOCOL_VERSION,
            kind: FrameKind::Reply,
            operation,
            request_id: 3,
            body_len: u32::try_from(body.len()).expect("small"),
            event_count,
            status,
            body_checksum: crc32c::crc32c(body),
        }
    }

    #[test]
    fn a_request_is_not_a_reply() {
        let header = Header { kind: FrameKind::Request, ..reply_frame(1, 0, 0, &[]) };
        assert_eq!(
            decode_reply(&header, &[]),
            Err(FrameError::InvalidKind { expected: FrameKind::Reply, found: FrameKind::Request })
        );
    }

    #[test]
    fn unknown_statuses_and_error_bodies_are_refused() {
        let header = reply_frame(1, 15, 0, &[]);
        assert_eq!(decode_reply(&header, &[]), Err(FrameError::UnknownStatus { found: 15 }));
        let body = [0_u8; 8];
        let header = reply_frame(1, Status::Overloaded.code(), 1, &body);
        assert_eq!(
            decode_reply(&header, &body),
            Err(FrameError::ErrorReplyWithBody { status: Status::Overloaded, body_len: 8, event_count: 1 })
        );
        let header = Header { body_checksum: 1, ..reply_frame(1, Status::Overloaded.code(), 0, &[]) };
        assert!(matches!(decode_reply(&header, &[]), Err(FrameError::BodyChecksumMismatch { .. })));
    }

    #[test]
    fn unknown_result_codes_are_refused() {
        let mut body = Vec::new();
        append_event_result(&mut body, 4, 61);
        let header = reply_frame(Operation::CreateTransfers.code(), 0, 1, &body);
        assert_eq!(
            decode_reply(&header, &body),
            Err(FrameError::UnknownResultCode { operation: Operation::CreateTransfers, index: 4, code: 61 })
        );
        let mut body = Vec::new();
        append_event_result(&mut body, 4, 23);
        let header = reply_frame(Operation::CreateAccounts.code(), 0, 1, &body);
        assert_eq!(
            decode_reply(&header, &body),
            Err(FrameError::UnknownResultCode { operation: Operation::CreateAccounts, index: 4, code: 23 })
        );
    }

    #[test]
    fn results_out_of_request_order_are_refused() {
        for (first, second) in [(3, 3), (3, 2)] {
            let mut body = Vec::new();
            append_event_result(&mut body, first, 1);
            append_event_result(&mut body, second, 1);
            let header = reply_frame(Operation::CreateTransfers.code(), 0, 2, &body);
            assert_eq!(
                decode_reply(&header, &body),
                Err(FrameError::ResultsOutOfOrder { index: second, previous: first })
            );
        }
    }

    #[test]
    fn post_events_codes_are_raw_but_their_indexes_are_checked() {
        let mut body = Vec::new();
        append_event_result(&mut body, 2, 1054);
        append_event_result(&mut body, 3, 99_999);
        let mut frame = Vec::new();
        let reply =
            Reply::PostEvents(vec![EventCode { index: 2, code: 1054 }, EventCode { index: 3, code: 99_999 }]);
        encode_reply(1, Operation::PostEvents, &reply, &mut frame);
        assert_eq!(&frame[HEADER_SIZE..], body, "index then code, like create results");

        for (first, second) in [(3, 3), (3, 2)] {
            let mut body = Vec::new();
            append_event_result(&mut body, first, 1);
            append_event_result(&mut body, second, 1);
            let header = reply_frame(Operation::PostEvents.code(), 0, 2, &body);
            assert_eq!(
                decode_reply(&header, &body),
                Err(FrameError::ResultsOutOfOrder { index: second, previous: first })
            );
        }
        let mut body = Vec::new();
        append_event_result(&mut body, 8189, 1);
        let header = reply_frame(Operation::PostEvents.code(), 0, 1, &body);
        let error = decode_reply(&header, &body).expect_err("no request holds event 8189");
        assert_eq!(error, FrameError::ResultIndexOutOfRange { index: 8189, events_max: 8189 });
        assert_eq!(error.status(), Status::BodySizeMismatch);
    }

    #[test]
    fn reply_bodies_are_checked_like_request_bodies() {
        let body = [0_u8; 128];
        let header = reply_frame(Operation::LookupAccounts.code(), 0, 2, &body);
        assert!(matches!(decode_reply(&header, &body), Err(FrameError::BodySizeMismatch { .. })));
        let header = reply_frame(Operation::Hello.code(), 0, 1, &[]);
        assert!(matches!(decode_reply(&header, &[]), Err(FrameError::TooManyEvents { .. })));
        let header = reply_frame(Operation::Hello.code(), 0, 0, &[0]);
        assert!(matches!(decode_reply(&header, &[0]), Err(FrameError::BodySizeMismatch { .. })));
        let header = reply_frame(11, 0, 0, &[]);
        assert_eq!(decode_reply(&header, &[]), Err(FrameError::UnknownOperation { found: 11 }));
        let header = Header { version: 2, ..reply_frame(1, 0, 0, &[]) };
        assert_eq!(decode_reply(&header, &[]), Err(FrameError::UnsupportedVersion { found: 2 }));
        let header = reply_frame(Operation::LookupAccounts.code(), 0, 1, &body);
        assert!(matches!(decode_reply(&header, &body[..127]), Err(FrameError::BodyLengthMismatch { .. })));
        let mut corrupted = body;
        corrupted[5] = 1;
        assert!(matches!(decode_reply(&header, &corrupted), Err(FrameError::BodyChecksumMismatch { .. })));
    }
}
