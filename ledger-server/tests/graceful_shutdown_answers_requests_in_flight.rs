//! SIGTERM with requests in flight: the server stops reading, answers every request it had
//! taken (once durable), closes the WAL and exits 0. After a restart, exactly the answered
//! transfers exist: nothing answered is lost, nothing unanswered was half-applied.

mod common;

use common::{RawConnection, Server, frame};
use ledger_core::{Account, Transfer};
use ledger_protocol::{Reply, Request};

const REQUESTS: u64 = 200;
const PER_REQUEST: u64 = 500;

fn transfer_ids(request: u64) -> impl Iterator<Item = u128> {
    (0..PER_REQUEST).map(move |i| u128::from(request * PER_REQUEST + i + 1))
}

#[test]
fn graceful_shutdown_answers_requests_in_flight() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path(), &[]);
    let mut connection = RawConnection::connect(server.binary);
    let accounts = vec![
        Account { id: 1, ledger: 1, code: 1, ..Account::default() },
        Account { id: 2, ledger: 1, code: 1, ..Account::default() },
    ];
    connection.send(&frame(0, &Request::CreateAccounts(accounts)));
    assert_eq!(connection.receive().expect("answered").1, Ok(Reply::CreateAccounts(Vec::new())));

    let mut frames = Vec::new();
    for request in 1..=REQUESTS {
        let batch: Vec<Transfer> = transfer_ids(request)
            .map(|id| Transfer {
                id,
                debit_account_id: 1,
                credit_account_id: 2,
                amount: 1,
                ledger: 1,
                code: 1,
                ..Transfer::default()
            })
            .collect();
        frames.extend(frame(request, &Request::CreateTransfers(batch)));
    }
    connection.send(&frames);
    let (status, log) = {
        // Signal while the requests are being read and applied.
        std::thread::sleep(std::time::Duration::from_millis(20));
        let mut answered = Vec::new();
        let reader = std::thread::spawn(move || {
            while let Some((header, reply)) = connection.receive() {
                answered.push((header.request_id, reply));
            }
            answered
        });
        let result = server.terminate();
        let answered = reader.join().expect("reader");
        assert!(
            answered.iter().all(|(_, reply)| *reply == Ok(Reply::CreateTransfers(Vec::new()))),
            "every answer is a success: {answered:?}"
        );
        let ok: Vec<u64> = answered.iter().map(|(id, _)| *id).collect();
        eprintln!("{} of {REQUESTS} requests answered before the shutdown", ok.len());
        assert!(!ok.is_empty(), "requests taken before the signal are answered");
        // Restart: the answered transfers are all there, the others none.
        let server = Server::start(dir.path(), &[]);
        let mut check = RawConnection::connect(server.binary);
        for request in 1..=REQUESTS {
            check.send(&frame(request, &Request::LookupTransfers(transfer_ids(request).collect())));
            let (_, reply) = check.receive().expect("lookup answered");
            let Ok(Reply::Transfers(found)) = reply else { panic!("lookup failed: {reply:?}") };
            if ok.contains(&request) {
                assert_eq!(found.len() as u64, PER_REQUEST, "answered request {request} is durable");
            } else {
                assert!(found.is_empty(), "unanswered request {request} left {} transfers", found.len());
            }
        }
        check.send(&frame(999, &Request::LookupAccounts(vec![2])));
        let (_, reply) = check.receive().expect("answered");
        let Ok(Reply::Accounts(accounts)) = reply else { panic!("{reply:?}") };
        assert_eq!(accounts[0].credits_posted, u128::from(ok.len() as u64 * PER_REQUEST));
        drop(server);
        result
    };
    assert!(status.success(), "exit 0 after a graceful shutdown; log:\n{log}");
    assert!(log.contains("shutting down") && log.contains("stopped"), "start and stop are logged:\n{log}");
}
