//! Requests: what a client asks, encoded behind a request header.
//!
//! Bodies (all records little-endian, layouts in `docs/protocol.md`):
//!
//! ```text
//! operation              body                        event_count
//! hello                  token bytes                 token length, at most TOKEN_MAX (256)
//! create_accounts        N × 128  Account            N <= BATCH_EVENTS_MAX (8189), may be 0
//! create_transfers       N × 128  Transfer           N <= BATCH_EVENTS_MAX, may be 0
//! lookup_accounts        N × 16   id (u128)          N <= BATCH_EVENTS_MAX, may be 0
//! lookup_transfers       N × 16   id (u128)          N <= BATCH_EVENTS_MAX, may be 0
//! get_account_transfers  1 × 128  AccountFilter      exactly 1
//! get_account_balances   1 × 128  AccountFilter      exactly 1
//! query_accounts         1 × 64   QueryFilter        exactly 1
//! query_transfers        1 × 64   QueryFilter        exactly 1
//! post_events            N × (u32 len, len bytes     N <= BATCH_EVENTS_MAX, may be 0
//!                        of JSON), see event_entries
//! read_journal           1 × 16   JournalRead        exactly 1
//! ```

use ledger_core::query::{ACCOUNT_FILTER_SIZE, AccountFilter, QUERY_FILTER_SIZE, QueryFilter};
use ledger_core::{ACCOUNT_SIZE, Account, TRANSFER_SIZE, Transfer};

use crate::error::FrameError;
use crate::event_entries;
use crate::frame::{
    FrameFields, append_frame, append_records, check_body, check_body_checksum, check_body_len,
    decode_records,
};
use crate::header::{FrameKind, Header, PROTOCOL_VERSION};
use crate::journal_read::JournalRead;
use crate::operation::{ID_SIZE, JOURNAL_READ_SIZE, Operation};

/// A request, decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    Hello {
        token: Vec<u8>,
    },
    CreateAccounts(Vec<Account>),
    CreateTransfers(Vec<Transfer>),
    LookupAccounts(Vec<u128>),
    LookupTransfers(Vec<u128>),
    GetAccountTransfers(AccountFilter),
    GetAccountBalances(AccountFilter),
    QueryAccounts(QueryFilter),
    QueryTransfers(QueryFilter),
    /// Standard ledger events, each the bytes of one JSON object (`docs/events.md`), unparsed.
    PostEvents(Vec<Vec<u8>>),
    /// One page of the change feed after a cursor.
    ReadJournal(JournalRead),
}

impl Request {
    #[must_use]
    pub fn operation(&self) -> Operation {
        match self {
            Self::Hello { .. } => Operation::Hello,
            Self::CreateAccounts(_) => Operation::CreateAccounts,
            Self::CreateTransfers(_) => Operation::CreateTransfers,
            Self::LookupAccounts(_) => Operation::LookupAccounts,
            Self::LookupTransfers(_) => Operation::LookupTransfers,
            Self::GetAccountTransfers(_) => Operation::GetAccountTransfers,
            Self::GetAccountBalances(_) => Operation::GetAccountBalances,
            Self::QueryAccounts(_) => Operation::QueryAccounts,
            Self::QueryTransfers(_) => Operation::QueryTransfers,
            Self::PostEvents(_) => Operation::PostEvents,
            Self::ReadJournal(_) => Operation::ReadJournal,
        }
    }

    /// Records in the body: the header's `event_count` (token bytes for `hello`).
    #[must_use]
    pub fn event_count(&self) -> usize {
        match self {
            Self::Hello { token } => token.len(),
            Self::CreateAccounts(accounts) => accounts.len(),
            Self::CreateTransfers(transfers) => transfers.len(),
            Self::LookupAccounts(ids) | Self::LookupTransfers(ids) => ids.len(),
            Self::PostEvents(events) => events.len(),
            Self::GetAccountTransfers(_)
            | Self::GetAccountBalances(_)
            | Self::QueryAccounts(_)
            | Self::QueryTransfers(_)
            | Self::ReadJournal(_) => 1,
        }
    }

    /// Bytes of the encoded body.
    #[must_use]
    pub fn body_len(&self) -> usize {
        if let Self::PostEvents(events) = self {
            return event_entries::body_len(events);
        }
        let event_size = self
            .operation()
            .request_event_size()
            .expect("every operation but post_events has fixed-size records");
        self.event_count() * event_size
    }

    /// Whether the server would accept the request's size: at most `BATCH_EVENTS_MAX` records
    /// (`TOKEN_MAX` bytes for a token); for `post_events` also each event at most
    /// `EVENT_JSON_MAX` bytes and the body at most `BODY_MAX`. `encode_request` encodes larger
    /// requests faithfully, and the server refuses them; a client checks here first to fail
    /// without a round trip.
    pub fn check_limits(&self) -> Result<(), FrameError> {
        let operation = self.operation();
        let events_max = operation.request_events_max();
        let event_count = self.event_count();
        if event_count > events_max {
            return Err(FrameError::TooManyEvents {
                operation,
                event_count: u32::try_from(event_count).unwrap_or(u32::MAX),
                events_max,
            });
        }
        if let Self::PostEvents(events) = self {
            event_entries::check_limits(events)?;
        }
        Ok(())
    }
}

/// Appends a request frame (header and body) to `out`.
///
/// # Panics
/// Only if the body exceeds 4 GiB (33 million records, or a 4 GiB event), which no valid request
/// approaches; see `Request::check_limits`.
pub fn encode_request(request_id: u64, request: &Request, out: &mut Vec<u8>) {
    let fields = FrameFields {
        kind: FrameKind::Request,
        operation: request.operation().code(),
        request_id,
        event_count: request.event_count(),
        status: 0,
    };
    append_frame(out, &fields, request.body_len(), |out| match request {
        Request::Hello { token } => out.extend_from_slice(token),
        Request::CreateAccounts(accounts) => append_records(out, accounts, Account::write_bytes),
        Request::CreateTransfers(transfers) => append_records(out, transfers, Transfer::write_bytes),
        Request::LookupAccounts(ids) | Request::LookupTransfers(ids) => {
            for id in ids {
                out.extend_from_slice(&id.to_le_bytes());
            }
        }
        Request::GetAccountTransfers(filter) | Request::GetAccountBalances(filter) => {
            out.extend_from_slice(&filter.to_bytes());
        }
        Request::ReadJournal(read) => out.extend_from_slice(&read.to_bytes()),
        Request::QueryAccounts(filter) | Request::QueryTransfers(filter) => {
            out.extend_from_slice(&filter.to_bytes());
        }
        Request::PostEvents(events) => event_entries::append(out, events),
    });
}

/// Decodes a request body after checking, in order: the frame is a request, its version, its
/// operation, a zero status, the body slice length, the event count limit, the body size against
/// the event count, the body checksum. Records are not validated semantically: that is the
/// engine's job, which answers with result codes.
///
/// `post_events` bodies are checked in another order: the body slice length, the event count
/// limit, the body checksum, and only then the entries (each at most `EVENT_JSON_MAX`, together
/// filling the body), because their lengths are read from the body, not the header.
pub fn decode_request(header: &Header, body: &[u8]) -> Result<Request, FrameError> {
    if header.kind != FrameKind::Request {
        return Err(FrameError::InvalidKind { expected: FrameKind::Request, found: header.kind });
    }
    if header.version != PROTOCOL_VERSION {
        return Err(FrameError::UnsupportedVersion { found: header.version });
    }
    let operation = Operation::from_u8(header.operation)
        .ok_or(FrameError::UnknownOperation { found: header.operation })?;
    if header.status != 0 {
        return Err(FrameError::StatusInRequest { found: header.status });
    }
    let Some(event_size) = operation.request_event_size() else {
        return decode_post_events(header, body);
    };
    check_body(
        header,
        body,
        operation,
        event_size,
        operation.request_events_max(),
        operation.is_single_record(),
    )?;
    Ok(match operation {
        Operation::Hello => Request::Hello { token: body.to_vec() },
        Operation::CreateAccounts => {
            Request::CreateAccounts(decode_records::<ACCOUNT_SIZE, _>(body, Account::from_bytes))
        }
        Operation::CreateTransfers => {
            Request::CreateTransfers(decode_records::<TRANSFER_SIZE, _>(body, Transfer::from_bytes))
        }
        Operation::LookupAccounts => Request::LookupAccounts(decode_ids(body)),
        Operation::LookupTransfers => Request::LookupTransfers(decode_ids(body)),
        Operation::GetAccountTransfers => {
            Request::GetAccountTransfers(decode_account_filter(body, operation)?)
        }
        Operation::GetAccountBalances => Request::GetAccountBalances(decode_account_filter(body, operation)?),
        Operation::QueryAccounts => Request::QueryAccounts(decode_query_filter(body, operation)?),
        Operation::QueryTransfers => Request::QueryTransfers(decode_query_filter(body, operation)?),
        Operation::ReadJournal => Request::ReadJournal(decode_journal_read(body, operation)?),
        // Its body has no fixed event size: decoded above.
        Operation::PostEvents => return decode_post_events(header, body),
    })
}

fn decode_post_events(header: &Header, body: &[u8]) -> Result<Request, FrameError> {
    let operation = Operation::PostEvents;
    check_body_len(header, body)?;
    let events_max = operation.request_events_max();
    if header.event_count as usize > events_max {
        return Err(FrameError::TooManyEvents { operation, event_count: header.event_count, events_max });
    }
    check_body_checksum(header, body)?;
    event_entries::decode(header, body).map(Request::PostEvents)
}

fn decode_ids(body: &[u8]) -> Vec<u128> {
    decode_records::<ID_SIZE, _>(body, |bytes| u128::from_le_bytes(*bytes))
}

fn decode_account_filter(body: &[u8], operation: Operation) -> Result<AccountFilter, FrameError> {
    // `check_body` admitted exactly one record, so the error arm is never taken; it exists so that
    // a future change to the checks cannot turn into a panic.
    let bytes = body.first_chunk::<ACCOUNT_FILTER_SIZE>().ok_or_else(|| filter_missing(operation, body))?;
    Ok(AccountFilter::from_bytes(bytes))
}

fn decode_query_filter(body: &[u8], operation: Operation) -> Result<QueryFilter, FrameError> {
    let bytes = body.first_chunk::<QUERY_FILTER_SIZE>().ok_or_else(|| filter_missing(operation, body))?;
    Ok(QueryFilter::from_bytes(bytes))
}

fn decode_journal_read(body: &[u8], operation: Operation) -> Result<JournalRead, FrameError> {
    let bytes = body.first_chunk::<JOURNAL_READ_SIZE>().ok_or_else(|| filter_missing(operation, body))?;
    Ok(JournalRead::from_bytes(bytes))
}

fn filter_missing(operation: Operation, body: &[u8]) -> FrameError {
    FrameError::BodySizeMismatch {
        operation,
        event_count: 1,
        body_len: u32::try_from(body.len()).unwrap_or(u32::MAX),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::{BODY_MAX, HEADER_SIZE};
    use crate::status::Status;
    use ledger_core::query::AccountFilterFlags;
    use ledger_core::{BATCH_EVENTS_MAX, TransferFlags};

    fn transfer(id: u128) -> Transfer {
        Transfer {
            id,
            debit_account_id: 1,
            credit_account_id: 2,
            amount: 100_000,
            ledger: 156,
            code: 1,
            flags: TransferFlags::LINKED,
            user_data_128: u128::MAX - id,
            ..Transfer::default()
        }
    }

    fn account(id: u128) -> Account {
        Account { id, ledger: 156, code: 1001, user_data_64: 7, ..Account::default() }
    }

    fn every_request() -> Vec<Request> {
        vec![
            Request::Hello { token: b"secret".to_vec() },
            Request::Hello { token: Vec::new() },
            Request::CreateAccounts(vec![account(1), account(2)]),
            Request::CreateAccounts(Vec::new()),
            Request::CreateTransfers(vec![transfer(10), transfer(11), transfer(12)]),
            Request::LookupAccounts(vec![1, u128::MAX, 0x0102_0304]),
            Request::LookupTransfers(vec![10]),
            Request::GetAccountTransfers(AccountFilter::all_of(1, 100)),
            Request::GetAccountBalances(AccountFilter {
                flags: AccountFilterFlags::CREDITS.union(AccountFilterFlags::REVERSED),
                timestamp_min: 5,
                ..AccountFilter::all_of(2, 10)
            }),
            Request::QueryAccounts(QueryFilter { ledger: 156, limit: 10, ..QueryFilter::default() }),
            Request::QueryTransfers(QueryFilter { code: 1, limit: 8189, ..QueryFilter::default() }),
            Request::PostEvents(vec![
                br#"{"type":"event","event_id":"E9","event_type":"reversal","reverses":"E1"}"#.to_vec(),
                Vec::new(),
                "{\"event_id\":\"借\"}".as_bytes().to_vec(),
            ]),
            Request::PostEvents(Vec::new()),
            Request::ReadJournal(JournalRead {
                after: 1_764_072_000_000_000_100,
                limit: 100,
                wait_ms: 30_000,
            }),
            Request::ReadJournal(JournalRead::default()),
        ]
    }

    /// Splits one encoded frame into its decoded header and body.
    fn split(frame: &[u8]) -> (Header, &[u8]) {
        let (header, body) = frame.split_first_chunk::<HEADER_SIZE>().expect("a whole header");
        (Header::decode(header).expect("a valid header"), body)
    }

    fn encode(request: &Request) -> Vec<u8> {
        let mut out = Vec::new();
        encode_request(42, request, &mut out);
        out
    }

    #[test]
    fn every_operation_round_trips() {
        for request in every_request() {
            let frame = encode(&request);
            let (header, body) = split(&frame);
            assert_eq!(header.kind, FrameKind::Request);
            assert_eq!(header.operation, request.operation().code());
            assert_eq!(header.request_id, 42);
            assert_eq!(header.status, 0);
            assert_eq!(header.event_count as usize, request.event_count());
            assert_eq!(body.len(), request.body_len());
            assert_eq!(decode_request(&header, body), Ok(request.clone()), "{}", request.operation());
        }
    }

    #[test]
    fn requests_append_to_what_is_already_in_the_buffer() {
        let mut out = b"previous".to_vec();
        encode_request(1, &Request::LookupAccounts(vec![5]), &mut out);
        encode_request(2, &Request::LookupTransfers(vec![6, 7]), &mut out);
        assert_eq!(&out[..8], b"previous");
        let (first, body) = split(&out[8..]);
        assert_eq!(decode_request(&first, &body[..16]), Ok(Request::LookupAccounts(vec![5])));
        let (second, body) = split(&out[8 + first.frame_len()..]);
        assert_eq!(second.request_id, 2);
        assert_eq!(decode_request(&second, body), Ok(Request::LookupTransfers(vec![6, 7])));
    }

    #[test]
    fn a_full_batch_fills_the_largest_body() {
        let transfers: Vec<Transfer> = (1..=BATCH_EVENTS_MAX as u128).map(transfer).collect();
        let request = Request::CreateTransfers(transfers);
        assert_eq!(request.check_limits(), Ok(()));
        let frame = encode(&request);
        assert_eq!(frame.len(), HEADER_SIZE + BODY_MAX);
        let (header, body) = split(&frame);
        assert_eq!(decode_request(&header, body), Ok(request));
    }

    /// Re-encodes a header after a test changed a field, with a body checksum that matches.
    fn with_header(frame: &[u8], edit: impl FnOnce(&mut Header)) -> (Header, Vec<u8>) {
        let (mut header, body) = split(frame);
        edit(&mut header);
        (header, body.to_vec())
    }

    fn refusal(header: &Header, body: &[u8]) -> (FrameError, Status) {
        let error = decode_request(header, body).expect_err("refused");
        (error, error.status())
    }

    #[test]
    fn a_reply_sent_to_the_server_is_invalid_kind() {
        let frame = encode(&Request::LookupAccounts(vec![1]));
        let (header, body) = with_header(&frame, |h| h.kind = FrameKind::Reply);
        let (error, status) = refusal(&header, &body);
        assert_eq!(error, FrameError::InvalidKind { expected: FrameKind::Request, found: FrameKind::Reply });
        assert_eq!(status, Status::InvalidKind);
        assert!(status.closes_connection());
    }

    #[test]
    fn another_version_is_unsupported_version() {
        let frame = encode(&Request::LookupAccounts(vec![1]));
        let (header, body) = with_header(&frame, |h| h.version = 2);
        let (error, status) = refusal(&header, &body);
        assert_eq!(error, FrameError::UnsupportedVersion { found: 2 });
        assert_eq!(status, Status::UnsupportedVersion);
    }

    #[test]
    fn an_unknown_operation_is_unknown_operation() {
        let frame = encode(&Request::LookupAccounts(vec![1]));
        for operation in [11_u8, 200] {
            let (header, body) = with_header(&frame, |h| h.operation = operation);
            let (error, status) = refusal(&header, &body);
            assert_eq!(error, FrameError::UnknownOperation { found: operation });
            assert_eq!(status, Status::UnknownOperation);
        }
    }

    #[test]
    fn a_status_in_a_request_is_reserved_bytes_set() {
        let frame = encode(&Request::LookupAccounts(vec![1]));
        let (header, body) = with_header(&frame, |h| h.status = 3);
        let (error, status) = refusal(&header, &body);
        assert_eq!(error, FrameError::StatusInRequest { found: 3 });
        assert_eq!(status, Status::ReservedBytesSet);
    }

    #[test]
    fn a_body_slice_of_the_wrong_length_is_body_size_mismatch() {
        let frame = encode(&Request::LookupAccounts(vec![1, 2]));
        let (header, body) = split(&frame);
        let (error, status) = refusal(&header, &body[..31]);
        assert_eq!(error, FrameError::BodyLengthMismatch { body_len: 32, received: 31 });
        assert_eq!(status, Status::BodySizeMismatch);
    }

    #[test]
    fn a_corrupted_body_is_body_checksum_mismatch() {
        let frame = encode(&Request::CreateTransfers(vec![transfer(1)]));
        let (header, body) = split(&frame);
        let mut body = body.to_vec();
        body[48] ^= 0x01; // the amount: 100_000 becomes 100_001
        let (error, status) = refusal(&header, &body);
        assert!(
            matches!(error, FrameError::BodyChecksumMismatch { expected, .. } if expected == header.body_checksum)
        );
        assert_eq!(status, Status::BodyChecksumMismatch);
        assert!(!status.closes_connection());
    }

    #[test]
    fn a_body_that_does_not_fit_the_event_count_is_body_size_mismatch() {
        let frame = encode(&Request::LookupAccounts(vec![1, 2]));
        for event_count in [0, 1, 3] {
            let (header, body) = with_header(&frame, |h| h.event_count = event_count);
            let (error, status) = refusal(&header, &body);
            assert_eq!(
                error,
                FrameError::BodySizeMismatch {
                    operation: Operation::LookupAccounts,
                    event_count,
                    body_len: 32
                }
            );
            assert_eq!(status, Status::BodySizeMismatch);
        }
    }

    #[test]
    fn a_query_without_exactly_one_filter_is_body_size_mismatch() {
        let filter = QueryFilter { limit: 1, ..QueryFilter::default() };
        let mut two = Vec::new();
        two.extend_from_slice(&filter.to_bytes());
        two.extend_from_slice(&filter.to_bytes());
        for (event_count, body) in [(0_u32, Vec::new()), (2, two), (u32::MAX, filter.to_bytes().to_vec())] {
            let header = Header {
                version: PROTOCOL_VERSION,
                kind: FrameKind::Request,
                operation: Operation::QueryTransfers.code(),
                request_id: 1,
                body_len: u32::try_from(body.len()).expect("small"),
                event_count,
                status: 0,
                body_checksum: crc32c::crc32c(&body),
            };
            let (error, status) = refusal(&header, &body);
            assert!(matches!(error, FrameError::BodySizeMismatch { event_count: c, .. } if c == event_count));
            assert_eq!(status, Status::BodySizeMismatch);
        }
    }

    #[test]
    fn more_than_a_batch_is_too_many_events() {
        let ids: Vec<u128> = (1..=BATCH_EVENTS_MAX as u128 + 1).collect();
        let request = Request::LookupTransfers(ids);
        let expected = FrameError::TooManyEvents {
            operation: Operation::LookupTransfers,
            event_count: 8190,
            events_max: BATCH_EVENTS_MAX,
        };
        assert_eq!(request.check_limits(), Err(expected));
        // Encoded anyway (the body still fits BODY_MAX): the server refuses it.
        let frame = encode(&request);
        let (header, body) = split(&frame);
        let (error, status) = refusal(&header, body);
        assert_eq!(error, expected);
        assert_eq!(status, Status::TooManyEvents);
    }

    #[test]
    fn a_token_longer_than_token_max_is_too_many_events() {
        let at_max = Request::Hello { token: vec![b'x'; 256] };
        assert_eq!(at_max.check_limits(), Ok(()));
        let frame = encode(&at_max);
        let (header, body) = split(&frame);
        assert_eq!(decode_request(&header, body), Ok(at_max));

        let over = Request::Hello { token: vec![b'x'; 257] };
        let frame = encode(&over);
        let (header, body) = split(&frame);
        let (error, status) = refusal(&header, body);
        assert_eq!(
            error,
            FrameError::TooManyEvents { operation: Operation::Hello, event_count: 257, events_max: 256 }
        );
        assert_eq!(status, Status::TooManyEvents);
    }

    #[test]
    fn a_corrupted_post_events_body_is_a_checksum_mismatch_not_a_size_mismatch() {
        // The entry lengths are read from the body, so the checksum is checked before them: a
        // damaged length is damage in transit, not a client's bug.
        let frame = encode(&Request::PostEvents(vec![b"{}".to_vec(), b"{}".to_vec()]));
        let (header, body) = split(&frame);
        let mut body = body.to_vec();
        body[0] = 200;
        let (error, status) = refusal(&header, &body);
        assert!(matches!(error, FrameError::BodyChecksumMismatch { .. }), "{error:?}");
        assert_eq!(status, Status::BodyChecksumMismatch);
    }

    #[test]
    fn post_events_entries_that_do_not_fill_the_body_are_body_size_mismatch() {
        let frame = encode(&Request::PostEvents(vec![b"{}".to_vec(), b"{}".to_vec()]));
        for event_count in [1, 3] {
            let (header, body) = with_header(&frame, |h| h.event_count = event_count);
            let (error, status) = refusal(&header, &body);
            assert_eq!(
                error,
                FrameError::BodySizeMismatch { operation: Operation::PostEvents, event_count, body_len: 12 }
            );
            assert_eq!(status, Status::BodySizeMismatch);
        }
    }

    #[test]
    fn post_events_limits_are_the_batch_and_the_event_size() {
        let over = Request::PostEvents(vec![b"{}".to_vec(); BATCH_EVENTS_MAX + 1]);
        let expected = FrameError::TooManyEvents {
            operation: Operation::PostEvents,
            event_count: 8190,
            events_max: BATCH_EVENTS_MAX,
        };
        assert_eq!(over.check_limits(), Err(expected));
        let frame = encode(&over);
        let (header, body) = split(&frame);
        assert_eq!(refusal(&header, body), (expected, Status::TooManyEvents));

        let too_long = Request::PostEvents(vec![vec![b' '; crate::EVENT_JSON_MAX + 1]]);
        let frame = encode(&too_long);
        let (header, body) = split(&frame);
        let (error, status) = refusal(&header, body);
        assert_eq!(error, FrameError::EventTooLong { index: 0, len: 65_537, max: 65_536 });
        assert_eq!((status, too_long.check_limits()), (Status::BodySizeMismatch, Err(error)));

        let full = Request::PostEvents(vec![b"{}".to_vec(); BATCH_EVENTS_MAX]);
        assert_eq!(full.check_limits(), Ok(()));
        assert_eq!(full.body_len(), BATCH_EVENTS_MAX * 6);
    }

    #[test]
    fn records_are_passed_through_without_semantic_checks() {
        // Reserved bits, zero ids and set timestamps are the engine's to refuse with result codes.
        let odd = Transfer { id: 0, timestamp: 9, flags: TransferFlags(0xffff), ..Transfer::default() };
        let request = Request::CreateTransfers(vec![odd]);
        let frame = encode(&request);
        let (header, body) = split(&frame);
        assert_eq!(decode_request(&header, body), Ok(request));
        // Events are not parsed: not JSON, not UTF-8, empty, all are the server's to answer.
        let request = Request::PostEvents(vec![b"not json".to_vec(), vec![0xff, 0xfe], Vec::new()]);
        let frame = encode(&request);
        let (header, body) = split(&frame);
        assert_eq!(decode_request(&header, body), Ok(request));
    }
}
