//! Standard ledger events through the service: each event posts its entry once (a retry is
//! `exists`, another body under the same id is refused), a reversal posts the mirror once, a
//! refused entry changes nothing, and the receivable's balance follows every step.

use ledger_events::{EventOutcome, Subject, account_id};
use ledger_server::service::{RunningLedger, ServiceConfig};

const LOAN: &str = r#""loan_note":"L1","customer":"C1","funder":"F1","channel":"CH1""#;

fn event(id: &str, event_type: &str, subjects: &str, components: &str) -> Vec<u8> {
    format!(
        r#"{{"type":"event","event_id":"{id}","event_type":"{event_type}","ledger":156,"subjects":{{{subjects}}},"components":{{{components}}},"business_date":"2024-01-01","metadata":{{}}}}"#
    )
    .into_bytes()
}

fn reversal(id: &str, reverses: &str) -> Vec<u8> {
    format!(r#"{{"type":"event","event_id":"{id}","event_type":"reversal","reverses":"{reverses}","ledger":156,"business_date":"2024-01-05"}}"#)
        .into_bytes()
}

/// The loan note's principal receivable (code 1122): debits minus credits, in fen.
async fn receivable(service: &ledger_server::service::LedgerService) -> i128 {
    let id = account_id(156, 1122, Some(Subject { key: "loan_note", value: "L1" }));
    let accounts = service.lookup_accounts(vec![id]).await.expect("lookup");
    let account = accounts.first().expect("the receivable was opened on first use");
    account.debit_balance_posted().expect("fits")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standard_events_post_once_and_reverse_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let running = RunningLedger::open(ServiceConfig::in_dir(dir.path())).expect("opens");
    let service = running.service.clone();
    let post = |events: Vec<Vec<u8>>| {
        let answer = service.post_events(events);
        async move { answer.await.expect("answered") }
    };

    let funding = vec![
        event(
            "FUND-1",
            "fund.arrived",
            r#""funder":"F1","fund_account":"FA1""#,
            r#""principal":"1000000.00""#,
        ),
        event(
            "FUND-2",
            "fund.external_transaction_recorded",
            r#""fund_account":"FA1","channel":"CH1""#,
            r#""principal":"200000.00","fee":"5.00""#,
        ),
        event("FUND-3", "fund.reserved", r#""funder":"F1""#, r#""principal":"1000.00""#),
        event("DISB-1", "loan.disbursed", LOAN, r#""principal":"1000.00""#),
    ];
    assert_eq!(post(funding.clone()).await, vec![EventOutcome::Ok; 4]);
    assert_eq!(receivable(&service).await, 100_000);

    // Retries are idempotent; another body under a used id is refused; nothing moves.
    assert_eq!(post(funding).await, vec![EventOutcome::Exists; 4]);
    let changed = event("DISB-1", "loan.disbursed", LOAN, r#""principal":"999.00""#);
    assert_eq!(post(vec![changed]).await, vec![EventOutcome::ExistsWithDifferentBody]);
    assert_eq!(receivable(&service).await, 100_000);

    // A repayment, and one that would repay more than is owed (refused as a whole).
    let repay = event("REPAY-1", "repayment.settled", LOAN, r#""principal":"250.00","interest":"0.00""#);
    let too_much = event("REPAY-2", "repayment.settled", LOAN, r#""principal":"5000.00""#);
    let unknown = event("X-1", "loan.teleported", LOAN, r#""principal":"1.00""#);
    let outcomes = post(vec![repay, too_much, unknown]).await;
    assert_eq!(outcomes[0], EventOutcome::Ok);
    assert!(matches!(outcomes[1], EventOutcome::LedgerRefused(_)), "{:?}", outcomes[1]);
    assert_eq!(outcomes[2].name(), "unknown_event_type");
    assert_eq!(receivable(&service).await, 75_000);

    // Reversal (红冲): once; the same reversal again is `exists`, another one is refused.
    assert_eq!(post(vec![reversal("REV-1", "REPAY-1")]).await, vec![EventOutcome::Ok]);
    assert_eq!(receivable(&service).await, 100_000);
    let again = post(vec![reversal("REV-1", "REPAY-1"), reversal("REV-2", "REPAY-1")]).await;
    assert_eq!(again, vec![EventOutcome::Exists, EventOutcome::AlreadyReversed]);
    assert_eq!(post(vec![reversal("REV-3", "NEVER-POSTED")]).await, vec![EventOutcome::OriginalNotFound]);
    assert_eq!(
        post(vec![reversal("REV-4", "REPAY-2")]).await,
        vec![EventOutcome::OriginalNotFound],
        "a refused entry has nothing to reverse"
    );
    assert_eq!(receivable(&service).await, 100_000);

    // An original and its reversal in one request: the reversal finds it.
    let both = vec![
        event("REPAY-3", "repayment.settled", LOAN, r#""principal":"10.00""#),
        reversal("REV-5", "REPAY-3"),
    ];
    assert_eq!(post(both).await, vec![EventOutcome::Ok, EventOutcome::Ok]);
    assert_eq!(receivable(&service).await, 100_000);
    running.shutdown();
}
