//! Many connections, each with many requests in flight, share the one writer: every
//! transfer is applied exactly once, each connection's requests keep their order, and the
//! balances add up.

mod common;

use common::{RawConnection, Server, frame};
use ledger_core::query::AccountFilter;
use ledger_core::{Account, AccountFlags, Transfer, TransferFlags};
use ledger_protocol::{Reply, Request};

const CONNECTIONS: u128 = 6;
const REQUESTS_PER_CONNECTION: u128 = 40;
const TRANSFERS_PER_REQUEST: u128 = 25;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posts_from_many_connections_are_applied_in_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path(), &[]);
    let setup = server.client().await;
    let accounts: Vec<Account> = (1..=CONNECTIONS + 1)
        .map(|id| Account { id, ledger: 1, code: 10, flags: AccountFlags::HISTORY, ..Account::default() })
        .collect();
    assert!(setup.create_accounts(&accounts).await.expect("accounts").is_empty());

    // Connection c moves money from its own account to the shared account CONNECTIONS + 1.
    // Inside a connection, odd requests post the pending transfers of the request before:
    // every frame is written before any answer is read, so if the server reordered a
    // connection's pipelined requests, a post would find no pending transfer.
    let mut threads = Vec::new();
    for c in 1..=CONNECTIONS {
        let addr = server.binary;
        threads.push(std::thread::spawn(move || {
            let mut connection = RawConnection::connect(addr);
            let mut frames = Vec::new();
            for r in 0..REQUESTS_PER_CONNECTION {
                let base = (c << 32) | (r << 16);
                let batch: Vec<Transfer> = (0..TRANSFERS_PER_REQUEST)
                    .map(|i| {
                        if r % 2 == 1 {
                            Transfer {
                                id: base | i,
                                pending_id: (c << 32) | ((r - 1) << 16) | i,
                                amount: ledger_core::AMOUNT_MAX,
                                flags: TransferFlags::POST_PENDING_TRANSFER,
                                ..Transfer::default()
                            }
                        } else {
                            Transfer {
                                id: base | i,
                                debit_account_id: c,
                                credit_account_id: CONNECTIONS + 1,
                                amount: 3,
                                ledger: 1,
                                code: 1,
                                flags: TransferFlags::PENDING,
                                ..Transfer::default()
                            }
                        }
                    })
                    .collect();
                let request_id = u64::try_from(r).expect("small");
                frames.extend(frame(request_id, &Request::CreateTransfers(batch)));
            }
            connection.send(&frames);
            let mut answered = std::collections::BTreeSet::new();
            for _ in 0..REQUESTS_PER_CONNECTION {
                let (header, reply) = connection.receive().expect("an answer per request");
                match reply {
                    Ok(Reply::CreateTransfers(failures)) => {
                        assert!(
                            failures.is_empty(),
                            "connection {c}, request {}: {failures:?}",
                            header.request_id
                        );
                    }
                    other => panic!("connection {c}: unexpected answer {other:?}"),
                }
                assert!(answered.insert(header.request_id), "one answer per request id");
            }
        }));
    }
    for thread in threads {
        thread.join().expect("a connection's thread");
    }

    let ids: Vec<u128> = (1..=CONNECTIONS + 1).collect();
    let accounts = setup.lookup_accounts(&ids).await.expect("lookup");
    let per_connection = (REQUESTS_PER_CONNECTION / 2) * TRANSFERS_PER_REQUEST * 3;
    for account in &accounts[..usize::try_from(CONNECTIONS).expect("small")] {
        assert_eq!(account.debits_posted, per_connection, "account {}", account.id);
        assert_eq!(account.debits_pending, 0);
    }
    let shared = accounts.last().expect("the shared account");
    assert_eq!(shared.credits_posted, per_connection * CONNECTIONS);

    // The history index saw every transfer of account 1: pendings and posts.
    let history = setup.get_account_transfers(AccountFilter::all_of(1, 8189)).await.expect("history");
    assert_eq!(history.len() as u128, REQUESTS_PER_CONNECTION * TRANSFERS_PER_REQUEST);
    assert!(history.windows(2).all(|w| w[0].timestamp < w[1].timestamp));
    let (status, log) = server.terminate();
    assert!(status.success(), "clean exit; log:\n{log}");
}
