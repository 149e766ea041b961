//! Random requests and replies decode to what was encoded, and random frames with good checksums
//! never panic the decoders: whatever they accept re-encodes to the same bytes.

use ledger_core::query::{AccountBalance, AccountFilter, AccountFilterFlags, QueryFilter, QueryFilterFlags};
use ledger_core::result::{CreateAccountResult, CreateTransferResult, EventResult};
use ledger_core::{Account, AccountFlags, BATCH_EVENTS_MAX, Transfer, TransferFlags};
use ledger_protocol::{
    EventCode, FrameKind, HEADER_SIZE, Header, JournalRead, Operation, PROTOCOL_VERSION, Reply, Request,
    Status, decode_reply, decode_request, encode_error_reply, encode_reply, encode_request,
};
use proptest::prelude::*;

const RECORDS_MAX: usize = 6;

fn account() -> impl Strategy<Value = Account> {
    (
        (any::<u128>(), any::<u128>(), any::<u128>(), any::<u128>(), any::<u128>(), any::<u128>()),
        (any::<u64>(), any::<u32>(), any::<u32>(), any::<u32>(), any::<u16>(), any::<u16>(), any::<u64>()),
    )
        .prop_map(|(big, small)| Account {
            id: big.0,
            debits_pending: big.1,
            debits_posted: big.2,
            credits_pending: big.3,
            credits_posted: big.4,
            user_data_128: big.5,
            user_data_64: small.0,
            user_data_32: small.1,
            reserved: small.2,
            ledger: small.3,
            code: small.4,
            flags: AccountFlags(small.5),
            timestamp: small.6,
        })
}

fn transfer() -> impl Strategy<Value = Transfer> {
    (
        (any::<u128>(), any::<u128>(), any::<u128>(), any::<u128>(), any::<u128>(), any::<u128>()),
        (any::<u64>(), any::<u32>(), any::<u32>(), any::<u32>(), any::<u16>(), any::<u16>(), any::<u64>()),
    )
        .prop_map(|(big, small)| Transfer {
            id: big.0,
            debit_account_id: big.1,
            credit_account_id: big.2,
            amount: big.3,
            pending_id: big.4,
            user_data_128: big.5,
            user_data_64: small.0,
            user_data_32: small.1,
            timeout: small.2,
            ledger: small.3,
            code: small.4,
            flags: TransferFlags(small.5),
            timestamp: small.6,
        })
}

fn account_filter() -> impl Strategy<Value = AccountFilter> {
    (
        (any::<u128>(), any::<u128>(), any::<u64>(), any::<u32>(), any::<u16>()),
        (any::<[u8; 58]>(), any::<u64>(), any::<u64>(), any::<u32>(), any::<u32>()),
    )
        .prop_map(|(a, b)| AccountFilter {
            account_id: a.0,
            user_data_128: a.1,
            user_data_64: a.2,
            user_data_32: a.3,
            code: a.4,
            reserved: b.0,
            timestamp_min: b.1,
            timestamp_max: b.2,
            limit: b.3,
            flags: AccountFilterFlags(b.4),
        })
}

fn query_filter() -> impl Strategy<Value = QueryFilter> {
    (
        (any::<u128>(), any::<u64>(), any::<u32>(), any::<u32>(), any::<u16>()),
        (any::<[u8; 6]>(), any::<u64>(), any::<u64>(), any::<u32>(), any::<u32>()),
    )
        .prop_map(|(a, b)| QueryFilter {
            user_data_128: a.0,
            user_data_64: a.1,
            user_data_32: a.2,
            ledger: a.3,
            code: a.4,
            reserved: b.0,
            timestamp_min: b.1,
            timestamp_max: b.2,
            limit: b.3,
            flags: QueryFilterFlags(b.4),
        })
}

fn balance() -> impl Strategy<Value = AccountBalance> {
    (any::<u128>(), any::<u128>(), any::<u128>(), any::<u128>(), any::<u64>()).prop_map(|b| AccountBalance {
        debits_pending: b.0,
        debits_posted: b.1,
        credits_pending: b.2,
        credits_posted: b.3,
        timestamp: b.4,
    })
}

fn request() -> impl Strategy<Value = Request> {
    let records = 0..=RECORDS_MAX;
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..=256).prop_map(|token| Request::Hello { token }),
        prop::collection::vec(account(), records.clone()).prop_map(Request::CreateAccounts),
        prop::collection::vec(transfer(), records.clone()).prop_map(Request::CreateTransfers),
        prop::collection::vec(any::<u128>(), records.clone()).prop_map(Request::LookupAccounts),
        prop::collection::vec(any::<u128>(), records.clone()).prop_map(Request::LookupTransfers),
        account_filter().prop_map(Request::GetAccountTransfers),
        account_filter().prop_map(Request::GetAccountBalances),
        query_filter().prop_map(Request::QueryAccounts),
        query_filter().prop_map(Request::QueryTransfers),
        // Any bytes: the codec carries events unparsed.
        prop::collection::vec(prop::collection::vec(any::<u8>(), 0..=40), records)
            .prop_map(Request::PostEvents),
        (any::<u64>(), any::<u32>(), any::<u32>())
            .prop_map(|(after, limit, wait_ms)| Request::ReadJournal(JournalRead { after, limit, wait_ms })),
    ]
}

/// Failed events: distinct indexes in increasing order, each with any known code.
fn event_results<R: Copy + std::fmt::Debug + 'static>(
    codes: &'static [R],
) -> impl Strategy<Value = Vec<EventResult<R>>> {
    prop::collection::btree_map(any::<u32>(), prop::sample::select(codes), 0..=RECORDS_MAX).prop_map(
        |results| results.into_iter().map(|(index, result)| EventResult { index, result }).collect(),
    )
}

/// Events not `ok`: distinct indexes within a batch, in increasing order, with any raw code.
fn event_codes() -> impl Strategy<Value = Vec<EventCode>> {
    let index_max = u32::try_from(BATCH_EVENTS_MAX).expect("a batch index fits u32");
    prop::collection::btree_map(0..index_max, any::<u32>(), 0..=RECORDS_MAX)
        .prop_map(|codes| codes.into_iter().map(|(index, code)| EventCode { index, code }).collect())
}

fn reply() -> impl Strategy<Value = (Operation, Reply)> {
    let records = 0..=RECORDS_MAX;
    prop_oneof![
        Just((Operation::Hello, Reply::Hello)),
        event_results(CreateAccountResult::ALL)
            .prop_map(|r| (Operation::CreateAccounts, Reply::CreateAccounts(r))),
        event_results(CreateTransferResult::ALL)
            .prop_map(|r| (Operation::CreateTransfers, Reply::CreateTransfers(r))),
        (
            prop::sample::select(&[Operation::LookupAccounts, Operation::QueryAccounts][..]),
            prop::collection::vec(account(), records.clone())
        )
            .prop_map(|(operation, accounts)| (operation, Reply::Accounts(accounts))),
        (
            prop::sample::select(
                &[Operation::LookupTransfers, Operation::GetAccountTransfers, Operation::QueryTransfers][..]
            ),
            prop::collection::vec(transfer(), records.clone())
        )
            .prop_map(|(operation, transfers)| (operation, Reply::Transfers(transfers))),
        prop::collection::vec(balance(), records)
            .prop_map(|balances| (Operation::GetAccountBalances, Reply::Balances(balances))),
        event_codes().prop_map(|codes| (Operation::PostEvents, Reply::PostEvents(codes))),
        // Any bytes: the codec carries the page unparsed.
        prop::collection::vec(any::<u8>(), 0..=200)
            .prop_map(|page| (Operation::ReadJournal, Reply::Journal(page))),
    ]
}

fn split(frame: &[u8]) -> (Header, &[u8]) {
    let (header, body) = frame.split_first_chunk::<HEADER_SIZE>().expect("a whole header");
    (Header::decode(header).expect("a valid header"), body)
}

/// `event_count` well-formed `post_events` entries cut from `bytes`.
fn post_events_body(event_count: u32, bytes: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    let mut rest = bytes;
    for _ in 0..event_count {
        let (event, after) =
            rest.split_at(rest.len().min(usize::from(rest.first().copied().unwrap_or(0) % 64)));
        body.extend_from_slice(&u32::try_from(event.len()).expect("short").to_le_bytes());
        body.extend_from_slice(event);
        rest = after;
    }
    body
}

proptest! {
    #[test]
    fn requests_round_trip(request_id in any::<u64>(), request in request()) {
        let mut frame = Vec::new();
        encode_request(request_id, &request, &mut frame);
        let (header, body) = split(&frame);
        prop_assert_eq!(header.request_id, request_id);
        prop_assert_eq!(header.frame_len(), frame.len());
        prop_assert_eq!(decode_request(&header, body), Ok(request));
    }

    #[test]
    fn replies_round_trip(request_id in any::<u64>(), (operation, reply) in reply()) {
        let mut frame = Vec::new();
        encode_reply(request_id, operation, &reply, &mut frame);
        let (header, body) = split(&frame);
        prop_assert_eq!(header.request_id, request_id);
        prop_assert_eq!(header.operation, operation.code());
        prop_assert_eq!(decode_reply(&header, body), Ok(Ok(reply)));
    }

    #[test]
    fn error_replies_round_trip(request_id in any::<u64>(), operation in any::<u8>(), status in prop::sample::select(Status::ALL)) {
        let mut frame = Vec::new();
        encode_error_reply(request_id, operation, status, &mut frame);
        let (header, body) = split(&frame);
        let decoded = decode_reply(&header, body);
        if status == Status::Ok {
            // The empty reply, for the operations this build knows.
            let expected = Operation::from_u8(operation).map(|op| Ok(Reply::empty(op)));
            prop_assert_eq!(decoded.ok(), expected);
        } else {
            prop_assert_eq!(decoded, Ok(Err(status)));
        }
    }

    /// Any header fields with any body and a correct checksum (mostly): never a panic, and an
    /// accepted frame is exactly what encoding the decoded value gives back. Sizes and bytes are
    /// biased towards what the decoders accept, so that the accepting paths are exercised too.
    #[test]
    fn random_frames_never_panic_and_accepted_ones_are_canonical(
        kind in prop::sample::select(&[FrameKind::Request, FrameKind::Reply][..]),
        version in prop_oneof![4 => Just(PROTOCOL_VERSION), 1 => any::<u16>()],
        operation in prop_oneof![4 => 0_u8..=10, 1 => any::<u8>()],
        request_id in any::<u64>(),
        event_count in prop_oneof![4 => 0_u32..=3, 1 => any::<u32>()],
        status in prop_oneof![4 => Just(0_u16), 1 => 0_u16..=16],
        fitting_body in prop::bool::weighted(0.8),
        good_checksum in prop::bool::weighted(0.9),
        bytes in prop::collection::vec(prop_oneof![Just(0_u8), any::<u8>()], 0..=520),
    ) {
        // A body that fits the header's event count and operation, or some other length.
        let event_size = Operation::from_u8(operation).map_or(Some(1), |op| match kind {
            FrameKind::Request => op.request_event_size(),
            FrameKind::Reply => Some(op.reply_event_size()),
        });
        let body = match event_size {
            Some(event_size) => {
                let fitting = (event_count as usize).saturating_mul(event_size);
                let body_len = if fitting_body && fitting <= bytes.len() { fitting } else { bytes.len() / 3 };
                bytes[..body_len].to_vec()
            }
            // post_events: `event_count` length-prefixed slices of the bytes, or the bytes as they are.
            None if fitting_body && event_count <= 3 => post_events_body(event_count, &bytes),
            None => bytes.clone(),
        };
        let body = body.as_slice();
        let body_checksum = if good_checksum { crc32c::crc32c(body) } else { crc32c::crc32c(body) ^ 1 };
        let header = Header {
            version,
            kind,
            operation,
            request_id,
            body_len: u32::try_from(body.len()).expect("small"),
            event_count,
            status,
            body_checksum,
        };
        let frame = [header.encode().as_slice(), body].concat();
        match kind {
            FrameKind::Request => {
                if let Ok(request) = decode_request(&header, body) {
                    let mut again = Vec::new();
                    encode_request(request_id, &request, &mut again);
                    prop_assert_eq!(again, frame);
                }
            }
            FrameKind::Reply => match decode_reply(&header, body) {
                Ok(Ok(reply)) => {
                    let operation = Operation::from_u8(operation).expect("decoded");
                    let mut again = Vec::new();
                    encode_reply(request_id, operation, &reply, &mut again);
                    // Balances drop their reserved bytes on decode; everything else is canonical.
                    if operation != Operation::GetAccountBalances {
                        prop_assert_eq!(&again, &frame);
                    }
                    let (header, body) = split(&again);
                    prop_assert_eq!(decode_reply(&header, body), Ok(Ok(reply)));
                }
                Ok(Err(status)) => {
                    let mut again = Vec::new();
                    encode_error_reply(request_id, operation, status, &mut again);
                    prop_assert_eq!(again, frame);
                }
                Err(_) => {}
            },
        }
    }
}
