//! The intake merges small create requests queued together into one engine batch (one WAL
//! record), gives every request back exactly its own results with its own indexes, and never
//! merges past a request whose chain is still open.

use ledger_core::result::{CreateTransferResult, EventResult};
use ledger_core::{Account, Transfer, TransferFlags};
use ledger_server::service::{RunningLedger, ServiceConfig};

const REQUESTS: u128 = 200;

fn transfer(id: u128, debit: u128, flags: TransferFlags) -> Transfer {
    Transfer {
        id,
        debit_account_id: debit,
        credit_account_id: 2,
        amount: 1,
        ledger: 1,
        code: 1,
        flags,
        ..Transfer::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_requests_are_merged_into_engine_batches() {
    let dir = tempfile::tempdir().expect("tempdir");
    let running = RunningLedger::open(ServiceConfig::in_dir(dir.path())).expect("opens");
    let service = running.service.clone();
    let accounts: Vec<Account> =
        (1..=2).map(|id| Account { id, ledger: 1, code: 1, ..Account::default() }).collect();
    assert!(service.create_accounts(accounts).await.expect("accounts").is_empty());
    let op_before = service.durable_op();

    // Request r: three transfers; the middle one debits a missing account when r % 3 == 0.
    // Request 100 ends with an open chain.
    let mut answers = Vec::new();
    for r in 0..REQUESTS {
        let base = r * 10;
        let middle_debit = if r % 3 == 0 { 99 } else { 1 };
        let last_flags = if r == 100 { TransferFlags::LINKED } else { TransferFlags::NONE };
        let batch = vec![
            transfer(base + 1, 1, TransferFlags::NONE),
            transfer(base + 2, middle_debit, TransferFlags::NONE),
            transfer(base + 3, 1, last_flags),
        ];
        // Queued now, in order; awaited later.
        answers.push(service.create_transfers(batch));
    }
    for (r, answer) in (0..REQUESTS).zip(answers) {
        let results = answer.await.expect("answered");
        let mut expected = Vec::new();
        if r % 3 == 0 {
            expected.push(EventResult { index: 1, result: CreateTransferResult::DebitAccountNotFound });
        }
        if r == 100 {
            expected.push(EventResult { index: 2, result: CreateTransferResult::LinkedEventChainOpen });
        }
        assert_eq!(results, expected, "request {r} gets its own results, indexed from 0");
    }
    let records = service.durable_op() - op_before;
    assert!(
        records < u64::try_from(REQUESTS).expect("small"),
        "{REQUESTS} requests took {records} WAL records"
    );

    // Request 101 was not merged into 100's open chain: its transfers exist.
    let found = service.lookup_transfers(vec![1011, 1012, 1013, 1003]).await.expect("lookup");
    let ids: Vec<u128> = found.iter().map(|t| t.id).collect();
    assert_eq!(ids, vec![1011, 1012, 1013], "101 applied on its own; 100's open-chain event was not");
    running.shutdown();
}
