//! `kill -9` of the real server during continuous posting from several connections: after a
//! restart, every transfer whose request was acknowledged is there, with the balances to
//! match; a request cut off by the kill is either wholly applied or not at all.

mod common;

use common::{RawConnection, Server, frame};
use ledger_core::{Account, Transfer};
use ledger_protocol::{Reply, Request};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

const ROUNDS: u64 = 3;
const WRITERS: u64 = 3;
const PER_REQUEST: u64 = 200;

/// Request `r` of writer `w` in round `round`: its transfer ids.
fn ids(round: u64, writer: u64, request: u64) -> Vec<u128> {
    let base = (u128::from(round) << 80) | (u128::from(writer) << 64) | (u128::from(request) << 16);
    (0..u128::from(PER_REQUEST)).map(|i| base | (i + 1)).collect()
}

/// Posts requests back to back until the connection dies; returns the acknowledged requests.
fn post_until_killed(addr: std::net::SocketAddr, round: u64, writer: u64, started: &AtomicBool) -> Vec<u64> {
    let mut connection = RawConnection::connect(addr);
    let mut acknowledged = Vec::new();
    for request in 0.. {
        let batch: Vec<Transfer> = ids(round, writer, request)
            .into_iter()
            .map(|id| Transfer {
                id,
                debit_account_id: 1,
                credit_account_id: 2 + u128::from(writer),
                amount: 1,
                ledger: 1,
                code: 1,
                ..Transfer::default()
            })
            .collect();
        // Two requests in flight: send the next before reading the previous answer.
        connection.send(&frame(request, &Request::CreateTransfers(batch)));
        if request == 0 {
            continue;
        }
        match connection.receive() {
            Some((header, Ok(Reply::CreateTransfers(failures)))) => {
                assert!(failures.is_empty(), "{failures:?}");
                acknowledged.push(header.request_id);
                started.store(true, Ordering::Release);
            }
            Some((_, other)) => panic!("unexpected answer {other:?}"),
            None => break,
        }
    }
    acknowledged
}

#[test]
fn acknowledged_transfers_survive_kill_9_of_the_server() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut acknowledged: Vec<(u64, u64, u64)> = Vec::new();
    let mut maybe: Vec<(u64, u64, u64)> = Vec::new();
    for round in 0..ROUNDS {
        let server = Server::start(dir.path(), &["--snapshot-every-ops", "5"]);
        if round == 0 {
            let mut setup = RawConnection::connect(server.binary);
            let accounts = (1..=1 + u128::from(WRITERS)).map(|id| Account {
                id,
                ledger: 1,
                code: 1,
                ..Account::default()
            });
            setup.send(&frame(0, &Request::CreateAccounts(accounts.collect())));
            assert_eq!(setup.receive().expect("answered").1, Ok(Reply::CreateAccounts(Vec::new())));
        }
        let started = Arc::new(AtomicBool::new(false));
        let writers: Vec<_> = (0..WRITERS)
            .map(|writer| {
                let addr = server.binary;
                let started = Arc::clone(&started);
                std::thread::spawn(move || (writer, post_until_killed(addr, round, writer, &started)))
            })
            .collect();
        while !started.load(Ordering::Acquire) {
            std::thread::sleep(Duration::from_millis(5));
        }
        std::thread::sleep(Duration::from_millis(150 + 100 * round));
        server.kill_9();
        for writer in writers {
            let (writer, requests) = writer.join().expect("writer");
            let last = requests.iter().max().copied().unwrap_or(0);
            acknowledged.extend(requests.iter().map(|&r| (round, writer, r)));
            // Sent but unacknowledged: the kill decided; each is all-or-nothing.
            maybe.extend([(round, writer, last + 1), (round, writer, last + 2)]);
            if requests.is_empty() {
                maybe.push((round, writer, 0));
            }
        }
    }

    let server = Server::start(dir.path(), &[]);
    let mut check = RawConnection::connect(server.binary);
    let mut credited = 0_u128;
    for &(round, writer, request) in &acknowledged {
        check.send(&frame(1, &Request::LookupTransfers(ids(round, writer, request))));
        let Some((_, Ok(Reply::Transfers(found)))) = check.receive() else { panic!("lookup failed") };
        assert_eq!(found.len() as u64, PER_REQUEST, "acknowledged request {round}/{writer}/{request} lost");
        credited += u128::from(PER_REQUEST);
    }
    let known: BTreeSet<_> = acknowledged.iter().copied().collect();
    for &(round, writer, request) in maybe.iter().filter(|m| !known.contains(m)) {
        check.send(&frame(2, &Request::LookupTransfers(ids(round, writer, request))));
        let Some((_, Ok(Reply::Transfers(found)))) = check.receive() else { panic!("lookup failed") };
        assert!(
            found.is_empty() || found.len() as u64 == PER_REQUEST,
            "request {round}/{writer}/{request} half applied: {} transfers",
            found.len()
        );
        credited += found.len() as u128;
    }
    check.send(&frame(3, &Request::LookupAccounts(vec![1])));
    let Some((_, Ok(Reply::Accounts(accounts)))) = check.receive() else { panic!("lookup failed") };
    assert_eq!(accounts[0].debits_posted, credited, "balances match the surviving transfers");
    assert!(acknowledged.len() as u64 >= ROUNDS, "every round acknowledged something");
}
