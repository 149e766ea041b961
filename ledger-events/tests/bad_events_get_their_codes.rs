//! Events refused before anything is posted, each with its stable code and message.

use ledger_events::{Chart, EventError, WireEvent};

fn parse_code(line: &str) -> &'static str {
    WireEvent::from_json(line).map(|_| ()).expect_err("the line is refused").code()
}

fn plan_error(line: &str) -> EventError {
    let WireEvent::Entry(event) = WireEvent::from_json(line).expect("the line parses") else {
        panic!("an entry line");
    };
    Chart::shipped_default().plan(&event).expect_err("the event is refused")
}

const GOOD: &str = r#"{"type":"event","event_id":"E1","event_type":"loan.disbursed","ledger":156,"subjects":{"loan_note":"L1","customer":"C1","funder":"F1","channel":"CH1"},"components":{"principal":"100.00"},"business_date":"2024-01-01","metadata":{"order_no":"O-1"}}"#;

fn edit(from: &str, to: &str) -> String {
    assert!(GOOD.contains(from), "the test edits text that exists: {from}");
    GOOD.replacen(from, to, 1)
}

#[test]
fn the_issue_examples_parse() {
    let WireEvent::Entry(event) = WireEvent::from_json(GOOD).expect("valid") else { panic!("an entry") };
    assert_eq!(event.event_id, "E1");
    assert_eq!(event.components["principal"], "100.00");
    assert_eq!(event.business_date.to_string(), "2024-01-01");
    assert_eq!(event.metadata["order_no"], "O-1");
    let plan = Chart::shipped_default().plan(&event).expect("plans");
    assert_eq!(plan.postings.iter().map(|p| p.amount).collect::<Vec<_>>(), vec![10_000, 10_000, 10_000]);

    let reversal = r#"{"type":"event","event_id":"E9","event_type":"reversal","reverses":"E1","ledger":156,"business_date":"2024-01-05"}"#;
    let WireEvent::Reversal(event) = WireEvent::from_json(reversal).expect("valid") else {
        panic!("a reversal")
    };
    assert_eq!((event.event_id.as_str(), event.reverses.as_str(), event.ledger), ("E9", "E1", 156));
}

#[test]
fn malformed_lines_are_refused_while_parsing() {
    assert_eq!(parse_code("{"), "invalid_json");
    assert_eq!(parse_code("[1]"), "invalid_json");
    assert_eq!(parse_code(&edit(r#""type":"event""#, r#""type":"transfer""#)), "wrong_record_type");
    assert_eq!(parse_code(&edit(r#""type":"event","#, "")), "missing_field");
    assert_eq!(parse_code(&edit(r#""ledger":156"#, r#""ledger":156,"amount":"1""#)), "unknown_field");
    assert_eq!(parse_code(&edit(r#""ledger":156"#, r#""ledger":"156""#)), "invalid_field");
    assert_eq!(parse_code(&edit(r#""ledger":156"#, r#""ledger":0"#)), "invalid_field");
    assert_eq!(parse_code(&edit(r#""ledger":156"#, r#""ledger":4294967296"#)), "invalid_field");
    assert_eq!(parse_code(&edit(r#""event_id":"E1""#, r#""event_id":"""#)), "invalid_event_id");
    assert_eq!(
        parse_code(&edit(r#""event_id":"E1""#, &format!(r#""event_id":"{}""#, "x".repeat(129)))),
        "invalid_event_id"
    );
    assert_eq!(parse_code(&edit("2024-01-01", "2023-02-29")), "invalid_business_date");
    assert_eq!(parse_code(&edit("2024-01-01", "2024-1-1")), "invalid_business_date");
    assert_eq!(parse_code(&edit(r#""customer":"C1""#, r#""customer":"""#)), "invalid_subject_value");
    assert_eq!(parse_code(&edit(r#""customer":"C1""#, r#""customer":7"#)), "invalid_field");
    assert_eq!(parse_code(&edit(r#","components":{"principal":"100.00"}"#, "")), "missing_field");
}

#[test]
fn amounts_must_be_non_negative_decimal_strings() {
    let line = edit(r#""100.00""#, "100.00");
    let error = WireEvent::from_json(&line).expect_err("a JSON number is refused");
    assert_eq!(error.code(), "invalid_amount");
    assert_eq!(
        error.to_string(),
        r#"component "principal": "100.0" is not a decimal string DIGITS[.DIGITS]"#
    );
    let error = WireEvent::from_json(&edit(r#""100.00""#, r#""-100.00""#)).expect_err("negative");
    assert_eq!(error.code(), "negative_amount");
    assert_eq!(error.to_string(), r#"component "principal": "-100.00" is negative"#);
    for bad in ["1e2", "+1", "1.", ".5", "", " 1", "1 000"] {
        let line = edit(r#""100.00""#, &format!("{bad:?}"));
        assert_eq!(parse_code(&line), "invalid_amount", "{bad:?}");
    }
}

#[test]
fn a_reversal_carries_no_components() {
    let reversal = r#"{"type":"event","event_id":"E9","event_type":"reversal","reverses":"E1","ledger":156,"business_date":"2024-01-05","components":{}}"#;
    assert_eq!(parse_code(reversal), "unknown_field");
    let reversal = r#"{"type":"event","event_id":"E9","event_type":"reversal","ledger":156,"business_date":"2024-01-05"}"#;
    assert_eq!(parse_code(reversal), "missing_field");
}

#[test]
fn events_the_chart_does_not_know_are_refused_while_planning() {
    let error = plan_error(&edit("loan.disbursed", "loan.disbursedd"));
    assert_eq!(
        (error.code(), error.to_string().as_str()),
        ("unknown_event_type", r#"unknown event type "loan.disbursedd""#)
    );
    let error = plan_error(&edit(r#""ledger":156"#, r#""ledger":840"#));
    assert_eq!((error.code(), error.to_string().as_str()), ("unknown_ledger", "unknown ledger 840"));
    let error = plan_error(&edit(r#""principal":"100.00""#, r#""principal":"100.00","interest":"1.00""#));
    assert_eq!(
        (error.code(), error.to_string().as_str()),
        ("unknown_component", r#"event type "loan.disbursed" has no component "interest""#)
    );
    let error = plan_error(&edit(r#""customer":"C1""#, r#""customer":"C1","borrower":"B1""#));
    assert_eq!(
        (error.code(), error.to_string().as_str()),
        ("unknown_subject", r#"unknown subject key "borrower""#)
    );
    let error = plan_error(&edit(r#""funder":"F1","#, ""));
    assert_eq!(
        (error.code(), error.to_string().as_str()),
        ("missing_subject", r#"posting 2 of "loan.disbursed" needs subject "funder""#)
    );
    let error = plan_error(&edit(r#""principal":"100.00""#, r#""principal":"0.00""#));
    assert_eq!(
        (error.code(), error.to_string().as_str()),
        ("empty_entry", r#"event "E1" posts nothing (every amount is zero)"#)
    );
    let error =
        plan_error(&edit(r#""principal":"100.00""#, r#""principal":"100.00","overpayment":"100.01""#));
    assert_eq!(
        (error.code(), error.to_string().as_str()),
        (
            "negative_posting_amount",
            r#"posting 0 of "loan.disbursed": amount "principal - overpayment" is negative"#
        )
    );
}

#[test]
fn the_ledger_of_a_template_is_enforced() {
    let text = ledger_events::DEFAULT_CHART_TOML
        .replacen("[[ledgers]]", "[[ledgers]]\nid = 840\ncurrency = \"USD\"\nscale = 2\n\n[[ledgers]]", 1)
        .replace("\"\ncode = 1", "\"\nledger = 156\ncode = 1");
    let chart = Chart::from_toml("two-ledgers.toml", &text).expect("valid");
    let WireEvent::Entry(event) =
        WireEvent::from_json(&edit(r#""ledger":156"#, r#""ledger":840"#)).expect("parses")
    else {
        panic!("an entry");
    };
    let error = chart.plan(&event).expect_err("wrong ledger");
    assert_eq!(
        (error.code(), error.to_string().as_str()),
        ("wrong_ledger", r#"event type "loan.disbursed" posts to ledger 156, not 840"#)
    );
}

#[test]
fn missing_components_count_as_zero_and_zero_postings_are_dropped() {
    let line = edit(r#""customer":"C1","#, "");
    let line = line.replace(r#""principal":"100.00""#, r#""principal":"100.00","overpayment":"0""#);
    let WireEvent::Entry(event) = WireEvent::from_json(&line).expect("parses") else { panic!("an entry") };
    // The customer is needed only by the overpayment posting (zero, dropped) and the credit line.
    let error = Chart::shipped_default().plan(&event).expect_err("credit line needs the customer");
    assert_eq!(
        error,
        EventError::MissingSubject {
            event_type: "loan.disbursed".to_owned(),
            posting: 3,
            key: "customer".to_owned()
        }
    );
}

#[test]
fn transfer_ids_must_stay_in_range() {
    let WireEvent::Entry(event) = WireEvent::from_json(GOOD).expect("parses") else { panic!("an entry") };
    let plan = Chart::shipped_default().plan(&event).expect("plans");
    assert_eq!(plan.transfers(0).expect_err("0 is reserved").code(), "transfer_id_out_of_range");
    assert_eq!(
        plan.transfers(u128::MAX - 2).expect_err("would reach MAX").code(),
        "transfer_id_out_of_range"
    );
    assert_eq!(plan.transfers(u128::MAX - 3).map(|t| t.len()), Ok(3));
}
