//! Many requests in flight on one connection, answered in reverse order: each caller gets its
//! own answer.

mod support;

use ledger_client::Account;
use ledger_protocol::{Reply, Request};
use support::{FakeServer, config, connect};

#[tokio::test]
async fn replies_out_of_order_reach_their_callers() {
    let server = FakeServer::bind().await;
    let (client, mut connection) = connect(&server, config(&server.addr)).await;

    let callers: Vec<_> = (1..=16_u128)
        .map(|id| {
            let client = client.clone();
            (id, tokio::spawn(async move { client.lookup_accounts(&[id]).await }))
        })
        .collect();

    // All sixteen arrive before any is answered: they are pipelined on the one connection.
    let requests = connection.read_requests(16).await;
    let mut request_ids: Vec<u64> = requests.iter().map(|r| r.request_id).collect();
    request_ids.sort_unstable();
    request_ids.dedup();
    assert_eq!(request_ids.len(), 16, "every request has its own id");

    for request in requests.iter().rev() {
        let Request::LookupAccounts(ids) = &request.request else {
            panic!("expected lookup_accounts, got {:?}", request.request);
        };
        let account = Account {
            id: ids[0],
            ledger: 156,
            code: u16::try_from(ids[0]).expect("small id"),
            ..Account::default()
        };
        connection.reply(request, &Reply::Accounts(vec![account])).await;
    }

    for (id, caller) in callers {
        let accounts = caller.await.expect("task ran").expect("answered");
        assert_eq!(accounts.len(), 1);
        assert_eq!((accounts[0].id, u128::from(accounts[0].code)), (id, id), "caller {id} got its own reply");
    }
}
