//! Far more pipelined requests on one connection than it may have in flight (500 against 64):
//! the server stops reading at the limit and resumes as answers go out, so every request is
//! answered exactly once, in bounded memory, and the writes are applied in the order sent.

mod common;

use common::{RawConnection, Server, frame, rss_kib};
use ledger_core::Account;
use ledger_protocol::{Reply, Request};
use ledger_server::serve::binary::CONNECTION_IN_FLIGHT_MAX;
use std::collections::BTreeSet;
use std::io::Write;

const REQUESTS: u64 = 500;
const RSS_BOUND_KIB: u64 = 256 * 1024;

#[test]
fn pipelined_requests_beyond_the_in_flight_limit_are_all_answered() {
    assert!(
        REQUESTS > 4 * u64::try_from(CONNECTION_IN_FLIGHT_MAX).expect("fits"),
        "the test must exceed the limit"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path(), &[]);
    let mut connection = RawConnection::connect(server.binary);

    // Request i creates account i, interleaved with lookups of the account just created: all
    // written in one go by another thread while this one reads.
    let mut bytes = Vec::new();
    for i in 1..=REQUESTS {
        let request = if i % 5 == 0 {
            Request::LookupAccounts(vec![u128::from(i - 1)])
        } else {
            Request::CreateAccounts(vec![Account {
                id: u128::from(i),
                ledger: 1,
                code: 1,
                ..Account::default()
            }])
        };
        bytes.extend_from_slice(&frame(i, &request));
    }
    let mut writer = connection.stream.try_clone().expect("clone the stream");
    let sender = std::thread::spawn(move || writer.write_all(&bytes).expect("send every request"));

    let mut answered = BTreeSet::new();
    for _ in 0..REQUESTS {
        let (header, reply) = connection.receive().expect("every request is answered");
        assert!(answered.insert(header.request_id), "request {} answered twice", header.request_id);
        let i = header.request_id;
        if i % 5 == 0 {
            // The lookup was sent after the create it looks up, on the same connection: it sees it.
            assert!(
                matches!(&reply, Ok(Reply::Accounts(found)) if found.len() == 1 && found[0].id == u128::from(i - 1)),
                "lookup {i}: {reply:?}"
            );
        } else {
            assert_eq!(reply, Ok(Reply::CreateAccounts(Vec::new())), "create {i}");
        }
    }
    sender.join().expect("the sender thread");
    assert_eq!(answered, (1..=REQUESTS).collect(), "each request answered exactly once");
    let rss = rss_kib(server.child.id());
    assert!(rss < RSS_BOUND_KIB, "RSS {rss} KiB after {REQUESTS} pipelined requests");

    // Applied in the order sent: timestamps rise with the account ids.
    let ids: Vec<u128> = (1..=u128::from(REQUESTS)).filter(|i| i % 5 != 0).collect();
    connection.send(&frame(10_000, &Request::LookupAccounts(ids.clone())));
    let (_, reply) = connection.receive().expect("answered");
    let Ok(Reply::Accounts(accounts)) = reply else { panic!("a lookup answer: {reply:?}") };
    assert_eq!(accounts.iter().map(|a| a.id).collect::<Vec<_>>(), ids, "every create was applied");
    assert!(accounts.windows(2).all(|w| w[0].timestamp < w[1].timestamp), "applied in the order sent");

    let (status, log) = server.terminate();
    assert!(status.success(), "the server exits cleanly; log:\n{log}");
    println!("{REQUESTS} pipelined requests answered; server RSS {rss} KiB");
}
