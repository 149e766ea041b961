//! A client that disconnects with requests in flight (and half a frame sent): the server keeps
//! answering the other clients and keeps running, and each request the gone client sent is
//! either applied whole or not at all, in the order sent (the applied ones are a prefix).

mod common;

use common::{RawConnection, Server, frame};
use ledger_core::Account;
use ledger_protocol::{Reply, Request};
use std::io::Write;

const REQUESTS: u128 = 200;
const ACCOUNTS_PER_REQUEST: u128 = 20;

fn accounts_of(request: u128) -> Vec<Account> {
    (0..ACCOUNTS_PER_REQUEST)
        .map(|k| Account { id: request * 1000 + k, ledger: 1, code: 1, ..Account::default() })
        .collect()
}

#[test]
fn a_client_gone_with_requests_in_flight_leaves_no_half_request() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path(), &[]);
    let mut other = RawConnection::connect(server.binary);

    // The leaving client: many requests, the last frame cut in half, then gone without reading.
    let mut bytes = Vec::new();
    for request in 1..=REQUESTS {
        bytes.extend_from_slice(&frame(
            u64::try_from(request).expect("fits"),
            &Request::CreateAccounts(accounts_of(request)),
        ));
    }
    let last = frame(0, &Request::CreateAccounts(accounts_of(REQUESTS + 1)));
    bytes.extend_from_slice(&last[..last.len() / 2]);
    {
        let mut leaving = std::net::TcpStream::connect(server.binary).expect("connect");
        let _ = leaving.write_all(&bytes);
        // Another client is served while the leaving one's requests are in flight.
        other.send(&frame(1, &Request::LookupAccounts(vec![1000])));
        let (header, _) = other.receive().expect("served meanwhile");
        assert_eq!(header.request_id, 1);
    }

    // The server is still up and serving.
    other.send(&frame(
        2,
        &Request::CreateAccounts(vec![Account { id: 1, ledger: 1, code: 1, ..Account::default() }]),
    ));
    let (_, reply) = other.receive().expect("served after the disconnect");
    assert_eq!(reply, Ok(Reply::CreateAccounts(Vec::new())));

    // Each request whole or not at all, and the applied ones a prefix of what was sent. The
    // server may still be applying what it took: look until two looks agree.
    let look = |other: &mut RawConnection| {
        (1..=REQUESTS + 1)
            .map(|request| {
                let ids: Vec<u128> = accounts_of(request).iter().map(|a| a.id).collect();
                other.send(&frame(3, &Request::LookupAccounts(ids)));
                let (_, reply) = other.receive().expect("answered");
                let Ok(Reply::Accounts(found)) = reply else { panic!("a lookup answer: {reply:?}") };
                found.len() as u128
            })
            .collect::<Vec<_>>()
    };
    let mut applied = look(&mut other);
    loop {
        std::thread::sleep(std::time::Duration::from_millis(100));
        let again = look(&mut other);
        if again == applied {
            break;
        }
        applied = again;
    }
    for (request, &found) in applied.iter().enumerate() {
        assert!(
            found == 0 || found == ACCOUNTS_PER_REQUEST,
            "request {} applied by half: {found} accounts",
            request + 1
        );
    }
    let whole = applied.iter().take_while(|&&found| found == ACCOUNTS_PER_REQUEST).count();
    assert!(
        applied[whole..].iter().all(|&found| found == 0),
        "applied requests are not a prefix: {applied:?}"
    );
    assert_eq!(applied[usize::try_from(REQUESTS).expect("fits")], 0, "the half-sent frame is never applied");

    let (status, log) = server.terminate();
    assert!(status.success(), "the server exits cleanly; log:\n{log}");
    assert!(!log.contains("panicked"), "no panic:\n{log}");
    println!("{whole} of {REQUESTS} requests applied whole before the client left");
}
