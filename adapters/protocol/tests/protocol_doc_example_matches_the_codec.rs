//! The worked example in `docs/protocol.md` is what the codec produces, byte for byte: a client
//! written from the document alone talks to this server.
//!
//! Each example is a hex dump between `<!-- hex-example: NAME -->` and `<!-- /hex-example -->`;
//! every dump line is `offset | bytes | comment`, lines without a hexadecimal offset are ignored.
//! On a mismatch the test prints the dump the codec gives, ready to paste into the document.

use ledger_core::result::{CreateTransferResult, EventResult};
use ledger_core::{Transfer, TransferFlags};
use ledger_protocol::{
    EventCode, FrameKind, HEADER_SIZE, Header, JournalRead, Operation, Reply, Request, Status, decode_reply,
    decode_request, encode_reply, encode_request,
};

const DOC: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/protocol.md"));

/// The example's request id and transfer, as the document describes them in prose.
const REQUEST_ID: u64 = 7;

fn example_transfer() -> Transfer {
    Transfer {
        id: 1001,
        debit_account_id: 1,
        credit_account_id: 2,
        amount: 100_000,
        ledger: 156,
        code: 1,
        flags: TransferFlags::NONE,
        ..Transfer::default()
    }
}

fn example_request() -> Request {
    Request::CreateTransfers(vec![example_transfer()])
}

fn example_reply() -> Reply {
    Reply::CreateTransfers(vec![EventResult { index: 0, result: CreateTransferResult::ExceedsCredits }])
}

/// The bytes of the dump named `name`, checking that each line's offset is where it starts.
fn doc_example(name: &str) -> Vec<u8> {
    let begin = format!("<!-- hex-example: {name} -->");
    let start = DOC.find(&begin).unwrap_or_else(|| panic!("docs/protocol.md has no {begin}")) + begin.len();
    let len = DOC[start..].find("<!-- /hex-example -->").expect("the example is closed");
    let mut bytes = Vec::new();
    for line in DOC[start..start + len].lines() {
        let mut columns = line.split('|');
        let (Some(offset), Some(hex)) = (columns.next(), columns.next()) else { continue };
        let Ok(offset) = usize::from_str_radix(offset.trim(), 16) else { continue };
        assert_eq!(offset, bytes.len(), "{name}: line {line:?} starts at the wrong offset");
        for pair in hex.split_whitespace() {
            bytes.push(u8::from_str_radix(pair, 16).unwrap_or_else(|_| panic!("{name}: bad hex {pair:?}")));
        }
    }
    assert!(!bytes.is_empty(), "{name}: no hex lines");
    bytes
}

/// (size, comment) of each dump line: the header field by field, then the body's records.
fn layout(frame: &[u8], body_fields: &[(usize, String)]) -> Vec<(usize, String)> {
    let header = Header::decode(frame.first_chunk().expect("a header")).expect("a valid header");
    let kind = match header.kind {
        FrameKind::Request => "request",
        FrameKind::Reply => "reply",
    };
    let operation = Operation::from_u8(header.operation).map_or("unknown", Operation::name);
    let status = match header.kind {
        FrameKind::Request => "always 0 in a request",
        FrameKind::Reply => Status::from_code(header.status).map_or("unknown", Status::name),
    };
    let mut lines = vec![
        (4, "magic \"LDGR\"".to_string()),
        (4, "header_checksum = CRC32C of bytes 0x08..0x40".to_string()),
        (4, "body_checksum = CRC32C of the body".to_string()),
        (2, format!("version = {}", header.version)),
        (1, format!("kind = {} ({kind})", header.kind.code())),
        (1, format!("operation = {} ({operation})", header.operation)),
        (8, format!("request_id = {}", header.request_id)),
        (4, format!("body_len = {}", header.body_len)),
        (4, format!("event_count = {}", header.event_count)),
        (2, format!("status = {} ({status})", header.status)),
        (14, "reserved: 30 zero bytes, to 0x40".to_string()),
        (16, String::new()),
    ];
    lines.extend_from_slice(body_fields);
    lines
}

fn transfer_fields() -> Vec<(usize, String)> {
    let t = example_transfer();
    vec![
        (16, format!("transfer.id = {}", t.id)),
        (16, format!("transfer.debit_account_id = {}", t.debit_account_id)),
        (16, format!("transfer.credit_account_id = {}", t.credit_account_id)),
        (16, format!("transfer.amount = {} (1,000.00 in fen)", t.amount)),
        (16, "transfer.pending_id = 0".to_string()),
        (16, "transfer.user_data_128 = 0".to_string()),
        (8, "transfer.user_data_64 = 0".to_string()),
        (4, "transfer.user_data_32 = 0".to_string()),
        (4, "transfer.timeout = 0".to_string()),
        (4, format!("transfer.ledger = {}", t.ledger)),
        (2, format!("transfer.code = {}", t.code)),
        (2, "transfer.flags = 0".to_string()),
        (8, "transfer.timestamp = 0 (assigned by the server)".to_string()),
    ]
}

fn dump(bytes: &[u8], lines: &[(usize, String)]) -> String {
    let mut out = String::new();
    let mut offset = 0;
    for (size, comment) in lines {
        let hex: Vec<String> = bytes[offset..offset + size].iter().map(|b| format!("{b:02x}")).collect();
        out.push_str(&format!("{offset:04x} | {:<47} | {comment}\n", hex.join(" ")));
        offset += size;
    }
    assert_eq!(offset, bytes.len(), "the layout covers the frame");
    out
}

fn assert_matches_doc(name: &str, encoded: &[u8], lines: &[(usize, String)]) {
    let documented = doc_example(name);
    assert!(
        documented == encoded,
        "docs/protocol.md example {name} differs from the codec; the codec gives:\n{}",
        dump(encoded, lines)
    );
}

#[test]
fn the_documented_request_is_what_the_codec_encodes() {
    let mut encoded = Vec::new();
    encode_request(REQUEST_ID, &example_request(), &mut encoded);
    assert_matches_doc("create_transfers request", &encoded, &layout(&encoded, &transfer_fields()));

    let documented = doc_example("create_transfers request");
    let (header, body) = documented.split_first_chunk::<HEADER_SIZE>().expect("a header");
    let header = Header::decode(header).expect("the documented header is valid");
    assert_eq!(header.operation, Operation::CreateTransfers.code());
    assert_eq!(decode_request(&header, body), Ok(example_request()));
}

#[test]
fn the_documented_reply_is_what_the_codec_encodes() {
    let mut encoded = Vec::new();
    encode_reply(REQUEST_ID, Operation::CreateTransfers, &example_reply(), &mut encoded);
    let body = [(4, "index = 0".to_string()), (4, "result = 58 (exceeds_credits)".to_string())];
    assert_matches_doc("create_transfers reply", &encoded, &layout(&encoded, &body));

    let documented = doc_example("create_transfers reply");
    let (header, body) = documented.split_first_chunk::<HEADER_SIZE>().expect("a header");
    let header = Header::decode(header).expect("the documented header is valid");
    assert_eq!(header.request_id, REQUEST_ID);
    assert_eq!(decode_reply(&header, body), Ok(Ok(example_reply())));
}

/// The `post_events` example: a reversal of event E1 whose original was already reversed.
const EVENT_REQUEST_ID: u64 = 8;
const EXAMPLE_EVENT: &str = r#"{"type":"event","event_id":"E9","event_type":"reversal","reverses":"E1","ledger":156,"business_date":"2024-01-05"}"#;
/// `already_reversed` (`ledger_events::EventOutcome::AlreadyReversed`).
const ALREADY_REVERSED: u32 = 3;

fn example_event_request() -> Request {
    Request::PostEvents(vec![EXAMPLE_EVENT.as_bytes().to_vec()])
}

fn example_event_reply() -> Reply {
    Reply::PostEvents(vec![EventCode { index: 0, code: ALREADY_REVERSED }])
}

/// The event's length, then its JSON 16 bytes a line, each line's text as the comment.
fn event_fields() -> Vec<(usize, String)> {
    let mut fields = vec![(4, format!("len = {}", EXAMPLE_EVENT.len()))];
    for chunk in EXAMPLE_EVENT.as_bytes().chunks(16) {
        fields.push((chunk.len(), std::str::from_utf8(chunk).expect("ASCII").to_owned()));
    }
    fields
}

#[test]
fn the_documented_post_events_request_is_what_the_codec_encodes() {
    let mut encoded = Vec::new();
    encode_request(EVENT_REQUEST_ID, &example_event_request(), &mut encoded);
    assert_matches_doc("post_events request", &encoded, &layout(&encoded, &event_fields()));

    let documented = doc_example("post_events request");
    let (header, body) = documented.split_first_chunk::<HEADER_SIZE>().expect("a header");
    let header = Header::decode(header).expect("the documented header is valid");
    assert_eq!(header.operation, Operation::PostEvents.code());
    assert_eq!(decode_request(&header, body), Ok(example_event_request()));
}

#[test]
fn the_documented_post_events_reply_is_what_the_codec_encodes() {
    let mut encoded = Vec::new();
    encode_reply(EVENT_REQUEST_ID, Operation::PostEvents, &example_event_reply(), &mut encoded);
    let body = [(4, "index = 0".to_string()), (4, "code = 3 (already_reversed)".to_string())];
    assert_matches_doc("post_events reply", &encoded, &layout(&encoded, &body));

    let documented = doc_example("post_events reply");
    let (header, body) = documented.split_first_chunk::<HEADER_SIZE>().expect("a header");
    let header = Header::decode(header).expect("the documented header is valid");
    assert_eq!(decode_reply(&header, body), Ok(Ok(example_event_reply())));
}

/// The `read_journal` example: a follower at cursor 1764072000000000103 asks for up to 100
/// transfers, waiting up to 5 s; nothing new came, so the page is empty.
const JOURNAL_REQUEST_ID: u64 = 9;
const EXAMPLE_PAGE: &str =
    r#"{"entries":[],"next_after":"1764072000000000103","current_to":{"op":"1042","transfers":"8380000"}}"#;

fn example_journal_request() -> Request {
    Request::ReadJournal(JournalRead { after: 1_764_072_000_000_000_103, limit: 100, wait_ms: 5_000 })
}

#[test]
fn the_documented_read_journal_request_is_what_the_codec_encodes() {
    let mut encoded = Vec::new();
    encode_request(JOURNAL_REQUEST_ID, &example_journal_request(), &mut encoded);
    let body = [
        (8, "after = 1764072000000000103".to_string()),
        (4, "limit = 100".to_string()),
        (4, "wait_ms = 5000".to_string()),
    ];
    assert_matches_doc("read_journal request", &encoded, &layout(&encoded, &body));

    let documented = doc_example("read_journal request");
    let (header, body) = documented.split_first_chunk::<HEADER_SIZE>().expect("a header");
    let header = Header::decode(header).expect("the documented header is valid");
    assert_eq!(header.operation, Operation::ReadJournal.code());
    assert_eq!(decode_request(&header, body), Ok(example_journal_request()));
}

#[test]
fn the_documented_read_journal_reply_is_what_the_codec_encodes() {
    let reply = Reply::Journal(EXAMPLE_PAGE.as_bytes().to_vec());
    let mut encoded = Vec::new();
    encode_reply(JOURNAL_REQUEST_ID, Operation::ReadJournal, &reply, &mut encoded);
    let body: Vec<(usize, String)> = EXAMPLE_PAGE
        .as_bytes()
        .chunks(16)
        .map(|chunk| (chunk.len(), std::str::from_utf8(chunk).expect("ASCII").to_owned()))
        .collect();
    assert_matches_doc("read_journal reply", &encoded, &layout(&encoded, &body));

    let documented = doc_example("read_journal reply");
    let (header, body) = documented.split_first_chunk::<HEADER_SIZE>().expect("a header");
    let header = Header::decode(header).expect("the documented header is valid");
    assert_eq!(decode_reply(&header, body), Ok(Ok(reply)));
}
