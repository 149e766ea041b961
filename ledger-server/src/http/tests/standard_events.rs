//! Standard ledger events to post in tests (the shipped chart, ledger 156, CNY at scale 2): a
//! funder's money arriving and being reserved, a disbursement, repayments and reversals.

use super::Fixture;
use ledger_events::EventOutcome;

/// The subjects of loan note L1.
pub const LOAN: &str = r#""loan_note":"L1","customer":"C1","funder":"F1","channel":"CH1""#;

/// A standard ledger event on 2024-01-01.
pub fn event(id: &str, event_type: &str, subjects: &str, components: &str) -> Vec<u8> {
    format!(
        r#"{{"type":"event","event_id":"{id}","event_type":"{event_type}","ledger":156,"subjects":{{{subjects}}},"components":{{{components}}},"business_date":"2024-01-01","metadata":{{}}}}"#
    )
    .into_bytes()
}

/// A reversal, on 2024-01-05, of the event `reverses`.
pub fn reversal(id: &str, reverses: &str) -> Vec<u8> {
    format!(
        r#"{{"type":"event","event_id":"{id}","event_type":"reversal","reverses":"{reverses}","ledger":156,"business_date":"2024-01-05"}}"#
    )
    .into_bytes()
}

/// A repayment of `principal` (a decimal string) on loan note L1.
pub fn repayment(id: &str, principal: &str) -> Vec<u8> {
    event(id, "repayment.settled", LOAN, &format!(r#""principal":"{principal}""#))
}

/// A funder's money arrives (1 transfer), moves to payment channel CH1 (1), is reserved (1)
/// and 1000.00 is disbursed as `DISB-1` (3 transfers): afterwards loan note L1 owes 1000.00
/// and repayments can be posted.
pub fn disbursement_story() -> Vec<Vec<u8>> {
    vec![
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
            r#""principal":"200000.00""#,
        ),
        event("FUND-3", "fund.reserved", r#""funder":"F1""#, r#""principal":"1000.00""#),
        event("DISB-1", "loan.disbursed", LOAN, r#""principal":"1000.00""#),
    ]
}

/// Posts events and returns their outcomes.
pub async fn post(fixture: &Fixture, events: Vec<Vec<u8>>) -> Vec<EventOutcome> {
    fixture.service().post_events(events).await.expect("the service answers")
}

/// Posts events that must all be posted now.
pub async fn post_ok(fixture: &Fixture, events: Vec<Vec<u8>>) {
    let count = events.len();
    assert_eq!(post(fixture, events).await, vec![EventOutcome::Ok; count], "every event is posted");
}
