//! After refusing a frame whose status does not close the connection, the server skips its body
//! and reads the next frame from the right offset: every such refusal leaves `body_len` trusted
//! and bounded. This is the read loop of a server, run over a byte stream.

use ledger_core::Transfer;
use ledger_protocol::{
    FrameKind, HEADER_SIZE, Header, Operation, PROTOCOL_VERSION, Request, Status, decode_request,
    encode_request,
};

/// What the server does with each frame of `stream`: the request, or the status it answers.
/// Stops at the first status that closes the connection, as the server does.
fn serve(stream: &[u8]) -> Vec<(u64, Result<Request, Option<Status>>)> {
    let mut outcomes = Vec::new();
    let mut rest = stream;
    while let Some((header_bytes, after_header)) = rest.split_first_chunk::<HEADER_SIZE>() {
        let header = match Header::decode(header_bytes) {
            Ok(header) => header,
            Err(error) => {
                let identity = Header::identify(header_bytes);
                let status = error.status();
                outcomes.push((identity.map_or(0, |i| i.request_id), Err(status)));
                match (status, identity) {
                    (Some(status), Some(identity)) if !status.closes_connection() => {
                        rest = &after_header[identity.body_len as usize..];
                        continue;
                    }
                    _ => return outcomes,
                }
            }
        };
        let (body, next) = after_header.split_at(header.body_len as usize);
        let outcome = decode_request(&header, body).map_err(|error| Some(error.status()));
        let closes = matches!(outcome, Err(Some(status)) if status.closes_connection());
        outcomes.push((header.request_id, outcome));
        if closes {
            return outcomes;
        }
        rest = next;
    }
    outcomes
}

fn frame(request_id: u64, request: &Request) -> Vec<u8> {
    let mut out = Vec::new();
    encode_request(request_id, request, &mut out);
    out
}

fn reseal(frame: &mut [u8]) {
    let checksum = crc32c::crc32c(&frame[8..HEADER_SIZE]);
    frame[4..8].copy_from_slice(&checksum.to_le_bytes());
}

#[test]
fn refused_frames_are_skipped_and_the_next_frame_is_read() {
    let transfers = Request::CreateTransfers(vec![Transfer { id: 1, amount: 5, ..Transfer::default() }; 2]);
    let lookup = Request::LookupAccounts(vec![1, 2, 3]);

    let mut reserved_set = frame(2, &transfers);
    reserved_set[HEADER_SIZE - 1] = 1;
    reseal(&mut reserved_set);

    let mut bad_body = frame(3, &transfers);
    bad_body[HEADER_SIZE + 50] ^= 0xff;

    let mut unknown_operation = frame(4, &lookup);
    unknown_operation[15] = 200;
    reseal(&mut unknown_operation);

    let mut wrong_count = frame(5, &lookup);
    wrong_count[28] = 2; // event_count 2 for a 48-byte lookup body
    reseal(&mut wrong_count);

    let stream =
        [frame(1, &lookup), reserved_set, bad_body, unknown_operation, wrong_count, frame(6, &transfers)]
            .concat();
    let outcomes = serve(&stream);
    assert_eq!(
        outcomes,
        [
            (1, Ok(lookup)),
            (2, Err(Some(Status::ReservedBytesSet))),
            (3, Err(Some(Status::BodyChecksumMismatch))),
            (4, Err(Some(Status::UnknownOperation))),
            (5, Err(Some(Status::BodySizeMismatch))),
            (6, Ok(transfers)),
        ]
    );
}

#[test]
fn the_stream_ends_at_a_status_that_closes_the_connection() {
    let lookup = Request::LookupTransfers(vec![1]);
    let reply_kind = Header {
        version: PROTOCOL_VERSION,
        kind: FrameKind::Reply,
        operation: Operation::LookupTransfers.code(),
        request_id: 2,
        body_len: 0,
        event_count: 0,
        status: 0,
        body_checksum: 0,
    };
    let mut damaged_magic = frame(2, &lookup);
    damaged_magic[0] = b'X';
    for (second, expected) in
        [(reply_kind.encode().to_vec(), (2, Err(Some(Status::InvalidKind)))), (damaged_magic, (0, Err(None)))]
    {
        let stream = [frame(1, &lookup), second, frame(3, &lookup)].concat();
        assert_eq!(serve(&stream), [(1, Ok(lookup.clone())), expected]);
    }
}
