//! Decimal amounts become minor units exactly at the ledger's scale; computed shares round only
//! with the mode the template names.

use ledger_events::{Chart, EventError, LedgerEvent, WireEvent};

fn plan_amounts(
    chart: &Chart,
    event_type: &str,
    subjects: &str,
    components: &str,
) -> Result<Vec<u128>, EventError> {
    let line = format!(
        r#"{{"type":"event","event_id":"E","event_type":"{event_type}","ledger":156,"subjects":{{{subjects}}},"components":{{{components}}},"business_date":"2024-01-01"}}"#
    );
    let event: LedgerEvent = match WireEvent::from_json(&line)? {
        WireEvent::Entry(event) => event,
        WireEvent::Reversal(_) => panic!("an entry"),
    };
    Ok(chart.plan(&event)?.postings.iter().map(|p| p.amount).collect())
}

fn fund_arrival(principal: &str) -> Result<Vec<u128>, EventError> {
    let chart = Chart::shipped_default();
    plan_amounts(
        &chart,
        "fund.arrived",
        r#""funder":"F1","fund_account":"FA1""#,
        &format!(r#""principal":"{principal}""#),
    )
}

#[test]
fn amounts_at_or_below_the_scale_are_exact() {
    assert_eq!(fund_arrival("100.00"), Ok(vec![10_000]));
    assert_eq!(fund_arrival("100.5"), Ok(vec![10_050]));
    assert_eq!(fund_arrival("100"), Ok(vec![10_000]));
    assert_eq!(fund_arrival("0.01"), Ok(vec![1]));
    assert_eq!(fund_arrival("000123.40"), Ok(vec![12_340]));
}

#[test]
fn more_decimals_than_the_scale_is_an_error_never_a_rounding() {
    let error = fund_arrival("100.001").expect_err("three decimals on a scale-2 ledger");
    assert_eq!(error.code(), "too_many_decimals");
    assert_eq!(
        error.to_string(),
        r#"component "principal": "100.001" has more than 2 decimals (the ledger's scale)"#
    );
    // Even a trailing zero: the wire says what the ledger holds, nothing more.
    assert_eq!(fund_arrival("100.000").map_err(|e| e.code()), Err("too_many_decimals"));
}

#[test]
fn amounts_beyond_28_significant_digits_overflow() {
    // rust_decimal holds 96-bit mantissas: 79228162514264337593543950335 is the largest.
    assert_eq!(
        fund_arrival("792281625142643375935439503.35"),
        Ok(vec![79_228_162_514_264_337_593_543_950_335])
    );
    let error = fund_arrival("792281625142643375935439503.36").expect_err("one past the largest");
    assert_eq!(
        (error.code(), error.to_string().as_str()),
        ("amount_overflow", r#"component "principal": amount too large"#)
    );
    assert_eq!(fund_arrival(&"9".repeat(40)).map_err(|e| e.code()), Err("amount_overflow"));
}

#[test]
fn a_difference_near_the_limit_stays_exact() {
    let chart = Chart::shipped_default();
    let near_max = "792281625142643375935439503.35";
    let amounts = plan_amounts(
        &chart,
        "benefit.paid",
        r#""customer":"C1","channel":"CH1""#,
        &format!(r#""fee":"{near_max}","coupon":"0.01""#),
    )
    .expect("fee - coupon does not overflow");
    assert_eq!(amounts, vec![79_228_162_514_264_337_593_543_950_334, 1]);
}

const SHARES: &str = r#"
format = 1
version = 1
subjects = ["guarantor"]
components = ["interest"]

[[ledgers]]
id = 156
currency = "CNY"
scale = 2

[[accounts]]
code = 6091
name = "Income allocated"
class = "income"
normal = "debit"

[[accounts]]
code = 2208
name = "Guarantor payable"
class = "liability"
normal = "credit"

[[templates]]
event_type = "guarantee.fee_allocated"
catalog_event = "clearing-allocation-completed"
code = 201
postings = [
    { debit = { code = 6091 }, credit = { code = 2208, subject = "guarantor" }, amount = "interest * 0.03", rounding = "ROUNDING" },
]
"#;

fn guarantor_share(rounding: &str, interest: &str) -> Vec<u128> {
    let chart = Chart::from_toml("shares.toml", &SHARES.replace("ROUNDING", rounding)).expect("valid");
    plan_amounts(
        &chart,
        "guarantee.fee_allocated",
        r#""guarantor":"G1""#,
        &format!(r#""interest":"{interest}""#),
    )
    .expect("plans")
}

#[test]
fn a_share_rounds_with_the_templates_mode() {
    // "用户利息的3%" of 15.50 = 0.465: a tie. 3 % of 2.05 = 0.0615: below the tie.
    assert_eq!(guarantor_share("half_even", "15.50"), vec![46]);
    assert_eq!(guarantor_share("half_up", "15.50"), vec![47]);
    assert_eq!(guarantor_share("down", "15.50"), vec![46]);
    assert_eq!(guarantor_share("up", "15.50"), vec![47]);
    assert_eq!(guarantor_share("half_even", "2.05"), vec![6]);
    assert_eq!(guarantor_share("up", "2.05"), vec![7]);
}

#[test]
fn a_share_that_rounds_to_zero_posts_nothing() {
    let chart = Chart::from_toml("shares.toml", &SHARES.replace("ROUNDING", "half_even")).expect("valid");
    let error =
        plan_amounts(&chart, "guarantee.fee_allocated", r#""guarantor":"G1""#, r#""interest":"0.10""#)
            .expect_err("3 % of 0.10 = 0.003 rounds to 0.00");
    assert_eq!(error.code(), "empty_entry");
}

#[test]
fn a_scale_zero_ledger_takes_whole_units_only() {
    let text = SHARES
        .replace("scale = 2", "scale = 0")
        .replace("currency = \"CNY\"", "currency = \"JPY\"")
        .replace("ROUNDING", "half_even");
    let chart = Chart::from_toml("yen.toml", &text).expect("valid");
    let amounts =
        plan_amounts(&chart, "guarantee.fee_allocated", r#""guarantor":"G1""#, r#""interest":"1550""#);
    assert_eq!(amounts, Ok(vec![46]), "46.5 rounds half-even to 46");
    let error =
        plan_amounts(&chart, "guarantee.fee_allocated", r#""guarantor":"G1""#, r#""interest":"1550.5""#)
            .expect_err("no decimals on a scale-0 ledger");
    assert_eq!(
        error.to_string(),
        r#"component "interest": "1550.5" has more than 0 decimals (the ledger's scale)"#
    );
}

#[test]
fn a_condition_gates_its_posting() {
    let text = SHARES
        .replace("ROUNDING", "half_even")
        .replace(r#"rounding = "half_even" }"#, r#"rounding = "half_even", when = "interest > 0" }"#);
    assert!(text.contains("when"), "the condition was added");
    let chart = Chart::from_toml("when.toml", &text).expect("valid");
    let plan =
        plan_amounts(&chart, "guarantee.fee_allocated", r#""guarantor":"G1""#, r#""interest":"100.00""#);
    assert_eq!(plan, Ok(vec![300]));
}

#[test]
fn a_computed_amount_that_overflows_is_refused() {
    let text = SHARES.replace(r#""interest * 0.03", rounding = "ROUNDING""#, r#""interest * 2""#);
    let chart = Chart::from_toml("double.toml", &text).expect("valid");
    let error = plan_amounts(
        &chart,
        "guarantee.fee_allocated",
        r#""guarantor":"G1""#,
        r#""interest":"50000000000000000000000000000""#,
    )
    .expect_err("twice the amount exceeds a decimal");
    assert_eq!(error.code(), "amount_overflow");
    assert_eq!(
        error.to_string(),
        r#"posting 0 of "guarantee.fee_allocated": amount "interest * 2" too large"#
    );
}
