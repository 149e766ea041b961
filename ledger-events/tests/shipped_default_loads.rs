//! The shipped default loads without any file and carries exactly the event types, components
//! and subject keys the platform's services rely on.

use ledger_events::{AccountClass, Chart, NormalSide};

#[test]
fn the_default_is_used_when_no_file_is_given() {
    let chart = Chart::load_or_default(None).expect("the shipped default is valid");
    assert_eq!(chart, Chart::shipped_default());
    assert_eq!(chart.file(), "default.toml");
    assert_eq!(chart.version(), 1);
    let cny = chart.ledger(156).expect("ledger 156");
    assert_eq!((cny.currency.as_str(), cny.scale), ("CNY", 2));
}

#[test]
fn the_default_has_exactly_the_issues_event_types_and_their_catalog_events() {
    let chart = Chart::shipped_default();
    let got: Vec<(&str, &str)> =
        chart.templates().map(|t| (t.event_type.as_str(), t.catalog_event.as_str())).collect();
    let mut expected = vec![
        ("loan.disbursed", "disbursement-succeeded"),
        ("loan.disbursement_failed", "disbursement-failed"),
        ("loan.cancelled", "repayment-succeeded"),
        ("loan.early_settled", "repayment-succeeded"),
        ("repayment.settled", "repayment-succeeded"),
        ("repayment.refunded", "repayment-refunded"),
        ("extension.fee_paid", "extension-succeeded"),
        ("interest.accrued", "repayment-schedule-generated"),
        ("penalty.accrued", "repayment-plan-calculated"),
        ("loan.waived", "repayment-posting-calculated"),
        ("loan.written_off", "asset-posting-applied"),
        ("clearing.allocated", "clearing-allocation-completed"),
        ("fund.arrived", "fund-arrival-confirmed"),
        ("fund.reserved", "fund-reserved"),
        ("fund.reservation_released", "fund-reservation-released"),
        ("fund.external_transaction_recorded", "external-fund-transaction-recorded"),
        ("benefit.paid", "benefit-payment-succeeded"),
        ("benefit.refunded", "benefit-refunded"),
    ];
    expected.sort_unstable();
    assert_eq!(got, expected);
    let codes: std::collections::BTreeSet<u16> = chart.templates().map(|t| t.transfer_code).collect();
    assert_eq!(codes.len(), 18, "every template has its own transfer code");
}

#[test]
fn the_default_declares_the_issues_components_and_subject_keys() {
    let chart = Chart::shipped_default();
    for component in [
        "principal",
        "interest",
        "fee",
        "penalty",
        "overpayment",
        "coupon",
        "funder",
        "channel",
        "supplier",
        "guarantor",
        "platform",
    ] {
        assert!(chart.has_component(component), "{component}");
    }
    for key in ["loan_note", "customer", "funder", "channel", "supplier", "guarantor", "fund_account"] {
        assert!(chart.has_subject_key(key), "{key}");
    }
}

#[test]
fn receivables_and_customer_balances_carry_their_limits() {
    let chart = Chart::shipped_default();
    for code in [1122, 1131, 1132, 1133] {
        let account = chart.account(code).expect("receivable");
        assert_eq!((account.class, account.normal), (AccountClass::Asset, NormalSide::Debit));
        assert!(account.flags.contains(ledger_core::AccountFlags::CREDITS_MUST_NOT_EXCEED_DEBITS), "{code}");
    }
    let overpayment = chart.account(2251).expect("overpayment liability");
    assert_eq!((overpayment.class, overpayment.normal), (AccountClass::Liability, NormalSide::Credit));
    assert!(overpayment.flags.contains(ledger_core::AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS));
    let coupons = chart.account(6111).expect("contra-revenue");
    assert_eq!((coupons.class, coupons.normal), (AccountClass::Income, NormalSide::Debit));
}
