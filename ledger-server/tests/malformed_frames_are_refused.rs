//! Every kind of malformed frame is refused the documented way (an error status with the
//! request id, or a closed connection when the header cannot be trusted), changes nothing,
//! and neither crashes the server nor stalls other clients.

mod common;

use common::{RawConnection, Server, frame};
use ledger_core::{Account, Transfer};
use ledger_protocol::header::{HEADER_CHECKSUM_OFFSET, HEADER_RESERVED_OFFSET, checksum};
use ledger_protocol::{FrameKind, Header, Operation, PROTOCOL_VERSION, Reply, Request, Status};

/// A create_accounts frame for account `id`, whose header is then changed by `edit`.
fn edited(id: u128, edit: impl FnOnce(&mut Header, &mut Vec<u8>)) -> Vec<u8> {
    let account = Account { id, ledger: 1, code: 1, ..Account::default() };
    let mut body = account.to_bytes().to_vec();
    let mut header = Header {
        version: PROTOCOL_VERSION,
        kind: FrameKind::Request,
        operation: Operation::CreateAccounts as u8,
        request_id: 77,
        body_len: 128,
        event_count: 1,
        status: 0,
        body_checksum: checksum(&body),
    };
    edit(&mut header, &mut body);
    let mut out = header.encode().to_vec();
    out.extend_from_slice(&body);
    out
}

/// Sends `bytes` on a fresh connection and returns the connection.
fn send_raw(server: &Server, bytes: &[u8]) -> RawConnection {
    let mut connection = RawConnection::connect(server.binary);
    connection.send(bytes);
    connection
}

fn expect_status(connection: &mut RawConnection, status: Status) {
    let (header, reply) = connection.receive().expect("an error answer");
    assert_eq!(header.request_id, 77, "the answer carries the request id");
    assert_eq!(reply.expect_err("an error status"), status);
}

/// The connection still works: a lookup is answered.
fn still_usable(connection: &mut RawConnection) {
    connection.send(&frame(5, &Request::LookupAccounts(vec![1])));
    let (header, reply) = connection.receive().expect("the connection is still open");
    assert_eq!(header.request_id, 5);
    assert!(matches!(reply, Ok(Reply::Accounts(_))));
}

#[test]
fn malformed_frames_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path(), &[]);

    // A slow client holding half a frame must not stall anybody.
    let mut half = RawConnection::connect(server.binary);
    half.send(&frame(1, &Request::LookupAccounts(vec![1]))[..40]);

    // Untrustworthy headers: closed without an answer.
    let mut bad_magic = edited(1001, |_, _| {});
    bad_magic[0] = b'X';
    assert!(send_raw(&server, &bad_magic).is_closed(), "bad magic closes");
    let mut bad_checksum = edited(1002, |_, _| {});
    bad_checksum[HEADER_CHECKSUM_OFFSET] ^= 1;
    assert!(send_raw(&server, &bad_checksum).is_closed(), "bad header checksum closes");

    // Answered, then closed.
    let mut c = send_raw(&server, &edited(1003, |h, _| h.version = PROTOCOL_VERSION + 1));
    expect_status(&mut c, Status::UnsupportedVersion);
    assert!(c.is_closed());
    let mut c = send_raw(&server, &edited(1004, |h, _| h.kind = FrameKind::Reply));
    expect_status(&mut c, Status::InvalidKind);
    assert!(c.is_closed());
    let mut c = send_raw(&server, &edited(1005, |h, _| h.body_len = u32::MAX)[..64]);
    expect_status(&mut c, Status::FrameTooLarge);
    assert!(c.is_closed());

    // Answered, and the connection stays usable.
    let mut c = send_raw(&server, &edited(1006, |h, _| h.body_checksum ^= 1));
    expect_status(&mut c, Status::BodyChecksumMismatch);
    still_usable(&mut c);
    let mut c = send_raw(&server, &edited(1007, |h, _| h.operation = 200));
    expect_status(&mut c, Status::UnknownOperation);
    still_usable(&mut c);
    let mut c = send_raw(&server, &edited(1008, |h, _| h.event_count = 2));
    expect_status(&mut c, Status::BodySizeMismatch);
    still_usable(&mut c);
    let mut reserved = edited(1009, |_, _| {});
    reserved[HEADER_RESERVED_OFFSET] = 1;
    let fixed = checksum(&reserved[8..64]);
    reserved[HEADER_CHECKSUM_OFFSET..HEADER_CHECKSUM_OFFSET + 4].copy_from_slice(&fixed.to_le_bytes());
    let mut c = send_raw(&server, &reserved);
    expect_status(&mut c, Status::ReservedBytesSet);
    still_usable(&mut c);
    // 8,190 ids: within the byte limit, over the event limit.
    let too_many: Vec<u128> = (1..=8190).collect();
    let mut c = send_raw(&server, &{
        let mut f = frame(77, &Request::LookupAccounts(too_many.clone()));
        // `encode_request` writes what it is given; the server is the one that counts.
        f.truncate(64 + too_many.len() * 16);
        f
    });
    expect_status(&mut c, Status::TooManyEvents);
    still_usable(&mut c);

    // A frame cut short by a disconnect is simply dropped.
    let truncated = frame(9, &Request::CreateTransfers(vec![Transfer { id: 1, ..Transfer::default() }]));
    drop(send_raw(&server, &truncated[..100]));

    // Nothing changed: none of the accounts in the refused frames exists, and a well-behaved
    // client is served while the half-sent frame is still pending.
    let mut good = RawConnection::connect(server.binary);
    good.send(&frame(3, &Request::LookupAccounts((1001..=1009).collect())));
    let (_, reply) = good.receive().expect("served");
    assert_eq!(reply, Ok(Reply::Accounts(Vec::new())), "refused frames changed nothing");
    good.send(&frame(
        4,
        &Request::CreateAccounts(vec![Account { id: 1, ledger: 1, code: 1, ..Account::default() }]),
    ));
    let (_, reply) = good.receive().expect("served");
    assert_eq!(reply, Ok(Reply::CreateAccounts(Vec::new())));

    // The half frame completes late and is answered normally.
    half.send(&frame(1, &Request::LookupAccounts(vec![1]))[40..]);
    let (header, reply) = half.receive().expect("the slow client is answered");
    assert_eq!(header.request_id, 1);
    assert!(matches!(reply, Ok(Reply::Accounts(accounts)) if accounts.len() == 1));

    let (status, log) = server.terminate();
    assert!(status.success(), "the server exits cleanly after all that; log:\n{log}");
    assert!(log.contains("rejected frame"), "refusals are logged:\n{log}");
    assert!(!log.contains("panicked"), "no panic:\n{log}");
}
