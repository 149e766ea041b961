//! Clients that send many large lookups and never read the answers stall only themselves: a
//! well-behaved client is answered promptly meanwhile, and the server's memory stays bounded
//! (each such connection holds at most `CONNECTION_IN_FLIGHT_MAX` answers, then the server stops
//! reading from it and TCP pushes back).

mod common;

use common::{RawConnection, Server, frame, rss_kib};
use ledger_core::{Account, BATCH_EVENTS_MAX};
use ledger_protocol::{Reply, Request};
use std::io::Write;
use std::time::{Duration, Instant};

const SLOW_CLIENTS: usize = 4;
/// Far more than the in-flight limit, so each slow client hits it.
const LOOKUPS_PER_SLOW_CLIENT: u64 = 400;
const RSS_BOUND_KIB: u64 = 1024 * 1024;

#[test]
fn clients_that_never_read_stall_only_themselves() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path(), &[]);
    let pid = server.child.id();

    // Enough accounts that one lookup of all of them answers with a megabyte.
    let ids: Vec<u128> = (1..=u128::try_from(BATCH_EVENTS_MAX).expect("fits")).collect();
    let accounts: Vec<Account> =
        ids.iter().map(|&id| Account { id, ledger: 1, code: 1, ..Account::default() }).collect();
    let mut good = RawConnection::connect(server.binary);
    good.send(&frame(1, &Request::CreateAccounts(accounts)));
    let (_, reply) = good.receive().expect("accounts created");
    assert_eq!(reply, Ok(Reply::CreateAccounts(Vec::new())));
    let rss_before = rss_kib(pid);

    // Slow clients: write lookups until the server stops reading (the write times out), and
    // never read a byte.
    let lookup = frame(2, &Request::LookupAccounts(ids.clone()));
    let slow: Vec<std::net::TcpStream> = (0..SLOW_CLIENTS)
        .map(|_| {
            let lookup = lookup.clone();
            let addr = server.binary;
            std::thread::spawn(move || {
                let mut stream = std::net::TcpStream::connect(addr).expect("connect");
                stream.set_write_timeout(Some(Duration::from_secs(1))).expect("timeout");
                let mut sent = 0_u64;
                while sent < LOOKUPS_PER_SLOW_CLIENT && stream.write_all(&lookup).is_ok() {
                    sent += 1;
                }
                assert!(
                    sent < LOOKUPS_PER_SLOW_CLIENT,
                    "the server stopped reading from a client that never reads"
                );
                stream
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().expect("slow client thread"))
        .collect();

    // Meanwhile the good client is answered promptly, lookups and writes alike.
    let mut slowest = Duration::ZERO;
    for i in 0..50_u64 {
        let started = Instant::now();
        let id = 100_000 + u128::from(i);
        good.send(&frame(
            10 + i,
            &Request::CreateAccounts(vec![Account { id, ledger: 1, code: 1, ..Account::default() }]),
        ));
        let (header, reply) = good.receive().expect("the good client is answered");
        assert_eq!((header.request_id, reply), (10 + i, Ok(Reply::CreateAccounts(Vec::new()))));
        good.send(&frame(1000 + i, &Request::LookupAccounts(vec![id])));
        let (_, reply) = good.receive().expect("the good client is answered");
        assert!(matches!(reply, Ok(Reply::Accounts(found)) if found.len() == 1));
        slowest = slowest.max(started.elapsed());
    }
    assert!(slowest < Duration::from_secs(1), "the good client waited {slowest:?} behind slow readers");

    let rss_stalled = rss_kib(pid);
    assert!(
        rss_stalled < RSS_BOUND_KIB,
        "the server's RSS grew to {rss_stalled} KiB with {SLOW_CLIENTS} slow readers"
    );

    // The slow clients go away; the server carries on.
    drop(slow);
    good.send(&frame(9999, &Request::LookupAccounts(vec![1])));
    let (_, reply) = good.receive().expect("served after the slow clients left");
    assert!(matches!(reply, Ok(Reply::Accounts(found)) if found.len() == 1));

    let (status, log) = server.terminate();
    assert!(status.success(), "the server exits cleanly; log:\n{log}");
    assert!(!log.contains("panicked"), "no panic:\n{log}");
    println!(
        "RSS {rss_before} KiB before, {rss_stalled} KiB with {SLOW_CLIENTS} stalled readers; good client's \
         slowest round trip {slowest:?}"
    );
}
