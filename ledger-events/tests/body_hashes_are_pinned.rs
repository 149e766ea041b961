//! Body hashes and chain ids are stored in every posted transfer (`user_data_128` and `id`), so
//! the same event must give the same values on every build forever: a retry of an event posted
//! last year must still answer `exists`, not `exists_with_different_body`. These values were
//! computed by the first implementation (a `serde_json::Value` tree, `Decimal` normalisation)
//! and pin the encoding of `posting.rs` through any rewrite of the parser or the hasher.

use ledger_events::posting::{self, EntrySide, PlannedEvent, RequestPlanner, entry_transfer_id};
use ledger_events::{Chart, Subject, WireEvent, subject_hash};

/// (line, body hash) pairs: a disbursement with nested unsorted metadata, a repayment with four
/// components and empty metadata, a clearing with escapes, amounts spelt with extra zeros and
/// metadata of every JSON kind, and a reversal.
const PINNED: [(&str, u128); 4] = [
    (
        r#"{"type":"event","event_id":"E1","event_type":"loan.disbursed","ledger":156,"subjects":{"loan_note":"L1","customer":"C1","funder":"F1","channel":"CH1"},"components":{"principal":"100.00"},"business_date":"2024-01-01","metadata":{"order_no":"A","nested":{"b":1,"a":2}}}"#,
        214_138_639_577_668_757_554_434_681_144_907_045_785,
    ),
    (
        r#"{"type":"event","event_id":"REP-7","event_type":"repayment.settled","ledger":156,"subjects":{"loan_note":"L7","customer":"C7","funder":"F7","channel":"CH3"},"components":{"principal":"250.00","interest":"12.50","fee":"3.00","penalty":"1.20"},"business_date":"2026-11-25","metadata":{}}"#,
        61_311_049_404_283_901_255_259_481_107_381_050_705,
    ),
    (
        r#"{"type":"event","event_id":"CLR-\u4e2d","event_type":"clearing.allocated","ledger":156,"subjects":{"funder":"F1","channel":"CH1","supplier":"S1"},"components":{"funder":"8.00","channel":"1.0","supplier":"002.000","platform":"5.70"},"business_date":"2024-02-29","metadata":{"z":[1,2.5,-3,true,null,"x\"y"],"a":{"k":{"q":1e3,"p":"\u00e9\n"}},"m":0.1}}"#,
        305_422_747_785_482_131_012_907_549_995_262_371_326,
    ),
    (
        r#"{"type":"event","event_id":"E9","event_type":"reversal","reverses":"E1","ledger":156,"business_date":"2024-01-05","metadata":{"reason":"typo"}}"#,
        130_446_293_741_134_848_436_777_428_665_082_158_221,
    ),
];

#[test]
fn known_body_hashes_never_change() {
    for (line, pinned) in PINNED {
        let event = WireEvent::from_json(line).expect("a valid event");
        assert_eq!(posting::body_hash(&event), pinned, "{line}");
        let borrowed = ledger_events::event::WireEventRef::parse(line).expect("a valid event");
        assert_eq!(posting::body_hash_ref(&borrowed), pinned, "{line}");
    }
}

#[test]
fn the_request_planner_stamps_the_pinned_hashes() {
    let chart = Chart::shipped_default();
    let mut planner = RequestPlanner::new(&chart);
    // The clearing line pins the spelling of amounts only: "002.000" has more decimals than the
    // ledger's scale, so it does not plan.
    for (line, pinned) in [PINNED[0], PINNED[1], PINNED[3]] {
        match planner.plan_line(line).expect("plans") {
            PlannedEvent::Entry { chain, .. } => {
                assert!(chain.iter().all(|t| t.user_data_128 == pinned), "{line}");
            }
            PlannedEvent::Reversal { body_hash, .. } => assert_eq!(body_hash, pinned, "{line}"),
        }
    }
}

#[test]
fn known_chain_ids_and_subject_hashes_never_change() {
    assert_eq!(
        entry_transfer_id(EntrySide::Original, "E1", 0),
        160_333_942_057_007_526_668_041_782_711_861_313_126
    );
    assert_eq!(
        entry_transfer_id(EntrySide::Reversal, "E1", 2),
        295_694_098_250_837_472_565_001_859_293_556_398_439
    );
    assert_eq!(
        subject_hash(Subject { key: "loan_note", value: "L1" }),
        110_540_632_581_436_960_890_406_091_858_127_347_935
    );
}
