//! Every validation of a chart file, with the exact message: file, place (template and field)
//! and problem.

use ledger_events::Chart;

/// A small valid chart; each test breaks one thing in it.
const VALID: &str = r#"
format = 1
version = 3
subjects = ["loan_note", "customer"]
components = ["principal", "interest", "coupon"]

[[ledgers]]
id = 156
currency = "CNY"
scale = 2

[[accounts]]
code = 1012
name = "Cash"
class = "asset"
normal = "debit"
flags = ["credits_must_not_exceed_debits"]

[[accounts]]
code = 1122
name = "Loan principal receivable"
class = "asset"
normal = "debit"
flags = ["credits_must_not_exceed_debits", "history"]

[[accounts]]
code = 6011
name = "Interest income"
class = "income"
normal = "credit"

[[templates]]
event_type = "loan.disbursed"
catalog_event = "disbursement-succeeded"
code = 101
postings = [
    { debit = { code = 1122, subject = "loan_note" }, credit = { code = 1012 }, amount = "principal" },
]

[[templates]]
event_type = "repayment.settled"
catalog_event = "repayment-succeeded"
code = 105
postings = [
    { debit = { code = 1012 }, credit = { code = 1122, subject = "loan_note" }, amount = "principal" },
    { debit = { code = 1012 }, credit = { code = 6011 }, amount = "interest - coupon" },
]
"#;

fn refused(text: &str) -> String {
    Chart::from_toml("chart.toml", text).expect_err("the chart is invalid").to_string()
}

fn with(from: &str, to: &str) -> String {
    assert!(VALID.contains(from), "the test edits text that exists: {from}");
    VALID.replacen(from, to, 1)
}

#[test]
fn the_valid_chart_loads() {
    let chart = Chart::from_toml("chart.toml", VALID).expect("valid");
    assert_eq!(chart.version(), 3);
    assert_eq!(chart.template("repayment.settled").map(|t| t.components.len()), Some(3));
}

#[test]
fn a_posting_without_both_sides_is_unbalanced() {
    let text = with(r#"credit = { code = 1012 }, amount = "principal""#, r#"amount = "principal""#);
    assert_eq!(
        refused(&text),
        r#"chart.toml: template "loan.disbursed" postings[0].credit: missing; every posting needs a debit and a credit account"#
    );
    let text =
        with(r#"{ debit = { code = 1012 }, credit = { code = 6011 },"#, r#"{ credit = { code = 6011 },"#);
    assert_eq!(
        refused(&text),
        r#"chart.toml: template "repayment.settled" postings[1].debit: missing; every posting needs a debit and a credit account"#
    );
}

#[test]
fn a_posting_to_an_account_of_another_ledger_is_unbalanced() {
    let text = with(
        "[[accounts]]\ncode = 6011\nname = \"Interest income\"\nclass = \"income\"\nnormal = \"credit\"\n",
        "[[accounts]]\ncode = 6011\nname = \"Interest income\"\nclass = \"income\"\nnormal = \"credit\"\nledgers = [840]\n\n[[ledgers]]\nid = 840\ncurrency = \"USD\"\nscale = 2\n",
    )
    .replace("code = 105\n", "code = 105\nledger = 156\n")
    .replace("code = 101\n", "code = 101\nledger = 156\n");
    assert_eq!(
        refused(&text),
        r#"chart.toml: template "repayment.settled" postings[1].credit: account 6011 is not kept in ledger 156 (the template's ledger)"#
    );
}

#[test]
fn a_template_must_name_its_ledger_when_there_are_several() {
    let text = format!("{VALID}\n[[ledgers]]\nid = 840\ncurrency = \"USD\"\nscale = 2\n");
    assert_eq!(
        refused(&text),
        r#"chart.toml: template "loan.disbursed" ledger: the file has several ledgers; name the template's ledger"#
    );
}

#[test]
fn the_same_account_on_both_sides_is_refused() {
    let text = with(
        r#"credit = { code = 1012 }, amount = "principal""#,
        r#"credit = { code = 1122, subject = "loan_note" }, amount = "principal""#,
    );
    assert_eq!(
        refused(&text),
        r#"chart.toml: template "loan.disbursed" postings[0].credit: debit and credit are the same account"#
    );
}

#[test]
fn an_unknown_account_code_is_refused() {
    let text = with("credit = { code = 6011 }", "credit = { code = 6012 }");
    assert_eq!(
        refused(&text),
        r#"chart.toml: template "repayment.settled" postings[1].credit: unknown account code 6012"#
    );
}

#[test]
fn an_unknown_component_is_refused() {
    let text = with(r#"amount = "interest - coupon""#, r#"amount = "interest - voucher""#);
    assert_eq!(
        refused(&text),
        r#"chart.toml: template "repayment.settled" postings[1].amount: unknown component "voucher""#
    );
    let text = with(r#"amount = "interest - coupon""#, r#"amount = "interest", when = "fee > 0""#);
    assert_eq!(
        refused(&text),
        r#"chart.toml: template "repayment.settled" postings[1].when: unknown component "fee""#
    );
}

#[test]
fn an_unknown_subject_key_is_refused() {
    let text = with(
        r#"debit = { code = 1122, subject = "loan_note" }"#,
        r#"debit = { code = 1122, subject = "loan" }"#,
    );
    assert_eq!(
        refused(&text),
        r#"chart.toml: template "loan.disbursed" postings[0].debit.subject: unknown subject key "loan""#
    );
}

#[test]
fn duplicate_event_types_codes_and_names_are_refused() {
    let text = with(r#"event_type = "repayment.settled""#, r#"event_type = "loan.disbursed""#);
    assert_eq!(
        refused(&text),
        r#"chart.toml: templates[1].event_type: event type "loan.disbursed" has two templates"#
    );
    let text = with("code = 1122\n", "code = 1012\n");
    assert_eq!(refused(&text), "chart.toml: accounts[1].code: account code 1012 is declared twice");
    let text = with(r#"subjects = ["loan_note", "customer"]"#, r#"subjects = ["loan_note", "loan_note"]"#);
    assert_eq!(refused(&text), r#"chart.toml: subjects[1]: "loan_note" is declared twice"#);
    let text = format!("{VALID}\n[[ledgers]]\nid = 156\ncurrency = \"CNY\"\nscale = 2\n");
    assert_eq!(refused(&text), "chart.toml: ledgers[1].id: ledger 156 is declared twice");
}

#[test]
fn postings_that_can_never_fire_are_refused() {
    let text = with(r#"amount = "interest - coupon""#, r#"amount = "coupon - coupon""#);
    assert_eq!(
        refused(&text),
        r#"chart.toml: template "repayment.settled" postings[1].amount: amount "coupon - coupon" is never positive; the posting can never fire"#
    );
    let text = with(r#"amount = "interest - coupon""#, r#"amount = "interest", when = "0 - coupon > 0""#);
    assert_eq!(
        refused(&text),
        r#"chart.toml: template "repayment.settled" postings[1].when: condition "0 - coupon > 0" is never true; the posting can never fire"#
    );
    let text = with(
        "postings = [\n    { debit = { code = 1122, subject = \"loan_note\" }, credit = { code = 1012 }, amount = \"principal\" },\n]",
        "postings = []",
    );
    assert_eq!(
        refused(&text),
        r#"chart.toml: template "loan.disbursed" postings: the template has no postings, so it can never fire"#
    );
}

#[test]
fn bad_expressions_are_refused() {
    let text = with(r#"amount = "interest - coupon""#, r#"amount = "interest * coupon""#);
    assert_eq!(
        refused(&text),
        r#"chart.toml: template "repayment.settled" postings[1].amount: bad expression "interest * coupon": two components multiplied together; only multiplication by a decimal constant is allowed"#
    );
    let text = with(r#"amount = "interest - coupon""#, r#"amount = "interest -""#);
    assert_eq!(
        refused(&text),
        r#"chart.toml: template "repayment.settled" postings[1].amount: bad expression "interest -": unexpected the end at byte 10; expected a component, a number or `(`"#
    );
    let text = with(r#"amount = "interest - coupon""#, r#"amount = "interest + 5""#);
    assert_eq!(
        refused(&text),
        r#"chart.toml: template "repayment.settled" postings[1].amount: bad expression "interest + 5": a constant term; amounts must come from event components"#
    );
}

#[test]
fn a_share_needs_a_rounding_and_an_exact_amount_refuses_one() {
    let text = with(r#"amount = "interest - coupon""#, r#"amount = "interest * 0.03""#);
    assert_eq!(
        refused(&text),
        r#"chart.toml: template "repayment.settled" postings[1].rounding: "interest * 0.03" multiplies by a fraction; name a rounding (half_even, half_up, down, up)"#
    );
    let text = with(r#"amount = "interest - coupon""#, r#"amount = "interest * 0.03", rounding = "nearest""#);
    assert_eq!(
        refused(&text),
        r#"chart.toml: template "repayment.settled" postings[1].rounding: unknown rounding "nearest" (half_even, half_up, down, up)"#
    );
    let text = with(r#"amount = "interest - coupon""#, r#"amount = "interest", rounding = "half_up""#);
    assert_eq!(
        refused(&text),
        r#"chart.toml: template "repayment.settled" postings[1].rounding: "interest" is exact; a rounding would never apply"#
    );
}

#[test]
fn account_flags_must_suit_the_chart() {
    let text = with(r#"flags = ["credits_must_not_exceed_debits", "history"]"#, r#"flags = ["linked"]"#);
    assert_eq!(
        refused(&text),
        r#"chart.toml: accounts[1].flags: unknown account flag "linked" (chart flags: debits_must_not_exceed_credits, credits_must_not_exceed_debits, history)"#
    );
    let text = with(
        r#"flags = ["credits_must_not_exceed_debits", "history"]"#,
        r#"flags = ["debits_must_not_exceed_credits"]"#,
    );
    assert_eq!(
        refused(&text),
        "chart.toml: accounts[1].flags: flag debits_must_not_exceed_credits on a debit-normal account would forbid its normal balance"
    );
}

#[test]
fn file_level_fields_are_checked() {
    assert_eq!(
        refused(&with("format = 1", "format = 2")),
        "chart.toml: format: unsupported format 2; this build reads format 1"
    );
    assert_eq!(refused(&with("version = 3", "version = 0")), "chart.toml: version: must be at least 1");
    assert_eq!(
        refused(&with(r#"currency = "CNY""#, r#"currency = "yuan""#)),
        r#"chart.toml: ledgers[0].currency: currency "yuan" is not a three-letter ISO 4217 code"#
    );
    assert_eq!(
        refused(&with("scale = 2", "scale = 19")),
        "chart.toml: ledgers[0].scale: scale 19 exceeds 18"
    );
    assert_eq!(
        refused(&with(r#"event_type = "loan.disbursed""#, r#"event_type = "reversal""#)),
        r#"chart.toml: templates[0].event_type: "reversal" is not a valid name (dot-separated [a-z][a-z0-9_]* words, not "reversal")"#
    );
    assert_eq!(
        refused(&with(
            r#"catalog_event = "disbursement-succeeded""#,
            r#"catalog_event = "Disbursement Succeeded""#
        )),
        r#"chart.toml: template "loan.disbursed" catalog_event: "Disbursement Succeeded" is not a valid name (kebab-case)"#
    );
    assert_eq!(
        refused(&with("code = 101\n", "code = 0\n")),
        r#"chart.toml: template "loan.disbursed" code: 0 is reserved"#
    );
}

#[test]
fn unknown_keys_and_toml_errors_name_the_file_and_line() {
    let message = refused(&with("version = 3", "version = 3\nvresion = 4"));
    assert!(message.starts_with("chart.toml: syntax: TOML parse error at line 4"), "{message}");
    assert!(message.contains("unknown field `vresion`"), "{message}");
}

#[test]
fn a_missing_file_is_an_error_naming_it() {
    let error = Chart::load(std::path::Path::new("/nonexistent/chart.toml")).expect_err("no such file");
    assert!(error.to_string().starts_with("/nonexistent/chart.toml: file: cannot read the file:"), "{error}");
}
