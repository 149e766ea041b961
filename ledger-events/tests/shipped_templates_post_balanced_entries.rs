//! Every template of the shipped default, posted with the reference numbers of
//! `domain/vectors.md` and `domain/LENDING.md` §1.10 to a real engine. Each helper call checks
//! the engine's invariants (debits = credits per ledger, no limit exceeded); each test then
//! checks the balances a finance team would expect.

mod common;

use common::{Books, LOAN, disbursed_books, event, fen, funded_books};

const L1: Option<(&str, &str)> = Some(("loan_note", "L1"));
const C1: Option<(&str, &str)> = Some(("customer", "C1"));
const F1: Option<(&str, &str)> = Some(("funder", "F1"));
const CH1: Option<(&str, &str)> = Some(("channel", "CH1"));
const FA1: Option<(&str, &str)> = Some(("fund_account", "FA1"));

/// Cash at CH1 after `funded_books`: 200,000.00 moved in from the bank.
const CHANNEL_START: &str = "200000.00";

#[test]
fn fund_arrival_transfer_and_reservation_move_the_funders_money() {
    let books = funded_books("1000.00");
    assert_eq!(
        books.debit_balance(1002, FA1),
        fen("799995.00"),
        "1,000,000 in, 200,000 to CH1, 5.00 charges"
    );
    assert_eq!(books.debit_balance(1012, CH1), fen(CHANNEL_START));
    assert_eq!(books.debit_balance(6603, None), fen("5.00"));
    assert_eq!(books.credit_balance(2202, F1), fen("999000.00"), "available after reserving 1000.00");
    assert_eq!(books.credit_balance(2203, F1), fen("1000.00"));
}

#[test]
fn a_reservation_beyond_available_funds_is_refused() {
    let mut books = funded_books("999000.00");
    let before = books.snapshot();
    let refused = books.post(&event(
        "R2",
        "fund.reserved",
        r#""funder":"F1""#,
        r#""principal":"1000.01""#,
        "2024-01-02",
    ));
    assert!(refused.is_err(), "only 1000.00 is still available");
    assert_eq!(books.snapshot(), before);
}

#[test]
fn fund_reservation_released_returns_funds_to_available() {
    let mut books = funded_books("1000.00");
    books.ok(&event(
        "REL",
        "fund.reservation_released",
        r#""funder":"F1""#,
        r#""principal":"1000.00""#,
        "2024-01-02",
    ));
    assert_eq!(books.credit_balance(2203, F1), 0);
    assert_eq!(books.credit_balance(2202, F1), fen("1000000.00"));
}

#[test]
fn disbursement_of_1000_follows_lending_j1() {
    // LENDING §1.10: Disbursement 1000: Dr Loans Receivable 1000 / Cr fund source 1000.
    let books = disbursed_books("1000.00");
    let plan = &books.posted["DISB-1"];
    assert_eq!(plan.transfer_code, 101);
    assert_eq!(plan.postings.len(), 3, "no credit balance absorbed, so the overpayment posting is dropped");
    assert_eq!(books.debit_balance(1122, L1), fen("1000.00"));
    assert_eq!(books.debit_balance(1012, CH1), fen(CHANNEL_START) - fen("1000.00"));
    assert_eq!(books.credit_balance(2203, F1), 0, "the reservation is consumed");
    assert_eq!(books.credit_balance(2204, F1), fen("1000.00"));
    assert_eq!(books.debit_balance(7001, C1), fen("1000.00"));
    assert_eq!(books.credit_balance(7002, C1), fen("1000.00"));
}

#[test]
fn a_disbursement_without_reserved_funds_is_refused_whole() {
    let mut books = funded_books("50.00");
    let before = books.snapshot();
    let refused = books.post(&event("D", "loan.disbursed", LOAN, r#""principal":"100.00""#, "2024-01-01"));
    assert!(refused.is_err());
    assert_eq!(books.snapshot(), before, "no posting of the chain is applied");
}

#[test]
fn the_f5_schedule_accrued_and_repaid_leaves_nothing_receivable() {
    // vectors.md F5: 100 @ 7 %, 6 monthly, EMI 17.01, interest 2.05 in total.
    let schedule = [
        ("16.43", "0.58", "83.57"),
        ("16.52", "0.49", "67.05"),
        ("16.62", "0.39", "50.43"),
        ("16.72", "0.29", "33.71"),
        ("16.81", "0.20", "16.90"),
        ("16.90", "0.10", "0.00"),
    ];
    let mut books = disbursed_books("100.00");
    for (n, (principal, interest, balance)) in schedule.iter().enumerate() {
        let accrued = event(
            &format!("ACC-{n}"),
            "interest.accrued",
            LOAN,
            &format!(r#""interest":"{interest}""#),
            "2024-02-01",
        );
        books.ok(&accrued);
        assert_eq!(books.debit_balance(1131, L1), fen(interest));
        let repaid = event(
            &format!("REP-{n}"),
            "repayment.settled",
            LOAN,
            &format!(r#""principal":"{principal}","interest":"{interest}""#),
            "2024-02-01",
        );
        let plan = books.ok(&repaid);
        let (p, i) = (fen(principal), fen(interest));
        assert_eq!(
            plan.total().map(i128::try_from),
            Some(Ok(3 * p + i)),
            "principal moves three times: receivable, funder's funds, credit line"
        );
        assert_eq!(books.debit_balance(1122, L1), fen(balance), "balance after installment {}", n + 1);
        assert_eq!(books.debit_balance(1131, L1), 0);
        assert_eq!(books.debit_balance(7001, C1), fen(balance), "the credit line follows the principal");
    }
    assert_eq!(books.credit_balance(6011, None), fen("2.05"));
    assert_eq!(books.debit_balance(1012, CH1), fen(CHANNEL_START) - fen("100.00") + fen("102.05"));
    assert_eq!(books.credit_balance(2204, F1), 0, "every lent yuan is back with the funder");
    assert_eq!(books.credit_balance(2202, F1), fen("1000000.00") - fen("100.00") + fen("100.00"));
}

#[test]
fn early_settlement_pays_off_f8() {
    // vectors.md F8, TILL_PRECLOSE: after installment 1, pay-off 83.81 = 83.57 + 0.24 interest.
    let mut books = disbursed_books("100.00");
    books.ok(&event("ACC-1", "interest.accrued", LOAN, r#""interest":"0.58""#, "2024-02-01"));
    books.ok(&event(
        "REP-1",
        "repayment.settled",
        LOAN,
        r#""principal":"16.43","interest":"0.58""#,
        "2024-02-01",
    ));
    books.ok(&event(
        "PAYOFF",
        "loan.early_settled",
        LOAN,
        r#""principal":"83.57","interest":"0.24""#,
        "2024-02-15",
    ));
    assert_eq!(books.debit_balance(1122, L1), 0);
    assert_eq!(books.debit_balance(1131, L1), 0);
    assert_eq!(books.credit_balance(6011, None), fen("0.82"));
    assert_eq!(
        books.debit_balance(1012, CH1),
        fen(CHANNEL_START) - fen("100.00") + fen("17.01") + fen("83.81")
    );
    assert_eq!(books.debit_balance(7001, C1), 0);
    assert_eq!(books.credit_balance(2204, F1), 0);
}

#[test]
fn cancellation_returns_the_principal_with_its_charges() {
    let mut books = disbursed_books("100.00");
    books.ok(&event(
        "CANCEL",
        "loan.cancelled",
        LOAN,
        r#""principal":"100.00","interest":"0.02","fee":"1.00""#,
        "2024-01-03",
    ));
    assert_eq!(books.debit_balance(1122, L1), 0);
    assert_eq!(books.credit_balance(6011, None), fen("0.02"));
    assert_eq!(books.credit_balance(6021, None), fen("1.00"));
    assert_eq!(books.debit_balance(1012, CH1), fen(CHANNEL_START) + fen("1.02"));
    assert_eq!(books.credit_balance(2204, F1), 0);
    assert_eq!(books.debit_balance(7001, C1), 0);
}

#[test]
fn a_failed_payout_restores_funds_and_credit_line() {
    let mut books = disbursed_books("100.00");
    books.ok(&event("FAIL", "loan.disbursement_failed", LOAN, r#""principal":"100.00""#, "2024-01-02"));
    assert_eq!(books.debit_balance(1122, L1), 0);
    assert_eq!(books.debit_balance(1012, CH1), fen(CHANNEL_START));
    assert_eq!(books.credit_balance(2204, F1), 0);
    assert_eq!(books.credit_balance(2202, F1), fen("1000000.00"), "back to available, not to reserved");
    assert_eq!(books.debit_balance(7001, C1), 0);
}

#[test]
fn repayments_of_r1_leave_an_overpayment_that_is_refunded() {
    // LENDING §1.9 R1: loan 1000 at 0 %; repayments 500, 10, 400, then 390 = principal 90 +
    // overpaid 300. Then the credit balance refund: Dr OVERPAYMENT / Cr FUND_SOURCE.
    let mut books = disbursed_books("1000.00");
    for (id, principal) in [("R-1", "500.00"), ("R-2", "10.00"), ("R-3", "400.00")] {
        books.ok(&event(
            id,
            "repayment.settled",
            LOAN,
            &format!(r#""principal":"{principal}""#),
            "2022-11-02",
        ));
    }
    assert_eq!(books.debit_balance(1122, L1), fen("90.00"));
    books.ok(&event(
        "R-4",
        "repayment.settled",
        LOAN,
        r#""principal":"90.00","overpayment":"300.00""#,
        "2022-11-05",
    ));
    assert_eq!(books.debit_balance(1122, L1), 0);
    assert_eq!(books.credit_balance(2251, C1), fen("300.00"));
    let cash_before = books.debit_balance(1012, CH1);
    books.ok(&event(
        "REFUND",
        "repayment.refunded",
        r#""customer":"C1","channel":"CH1""#,
        r#""overpayment":"300.00""#,
        "2022-11-06",
    ));
    assert_eq!(books.credit_balance(2251, C1), 0);
    assert_eq!(books.debit_balance(1012, CH1), cash_before - fen("300.00"));
}

#[test]
fn a_credit_balance_absorbs_part_of_the_next_disbursement() {
    // LENDING §1.10: Disbursement debits OVERPAYMENT for the part absorbed by a credit balance.
    let mut books = disbursed_books("1000.00");
    books.ok(&event(
        "R",
        "repayment.settled",
        LOAN,
        r#""principal":"1000.00","overpayment":"300.00""#,
        "2022-11-05",
    ));
    books.ok(&event("RES-2", "fund.reserved", r#""funder":"F1""#, r#""principal":"700.00""#, "2022-11-06"));
    let loan_2 = r#""loan_note":"L2","customer":"C1","funder":"F1","channel":"CH1""#;
    let cash_before = books.debit_balance(1012, CH1);
    books.ok(&event(
        "DISB-2",
        "loan.disbursed",
        loan_2,
        r#""principal":"1000.00","overpayment":"300.00""#,
        "2022-11-06",
    ));
    assert_eq!(books.debit_balance(1122, Some(("loan_note", "L2"))), fen("700.00"));
    assert_eq!(books.credit_balance(2251, C1), 0);
    assert_eq!(
        books.debit_balance(1012, CH1),
        cash_before - fen("1000.00"),
        "the customer gets the full 1000.00"
    );
    assert_eq!(books.credit_balance(2204, F1), fen("700.00"));
}

#[test]
fn a_repayment_with_interest_follows_lending_j1() {
    // LENDING §1.10: Repayment with interest: Cr Loans Receivable 250, Cr Interest Receivable 20,
    // Dr fund source 270.
    let mut books = disbursed_books("1000.00");
    books.ok(&event("ACC", "interest.accrued", LOAN, r#""interest":"20.00""#, "2024-02-01"));
    let cash_before = books.debit_balance(1012, CH1);
    books.ok(&event(
        "REP",
        "repayment.settled",
        LOAN,
        r#""principal":"250.00","interest":"20.00""#,
        "2024-02-01",
    ));
    assert_eq!(books.debit_balance(1012, CH1), cash_before + fen("270.00"));
    assert_eq!(books.debit_balance(1122, L1), fen("750.00"));
    assert_eq!(books.debit_balance(1131, L1), 0);
}

#[test]
fn a_coupon_pays_interest_through_contra_revenue() {
    let mut books = disbursed_books("100.00");
    books.ok(&event("ACC", "interest.accrued", LOAN, r#""interest":"0.58""#, "2024-02-01"));
    let cash_before = books.debit_balance(1012, CH1);
    books.ok(&event(
        "REP",
        "repayment.settled",
        LOAN,
        r#""principal":"16.43","interest":"0.58","coupon":"0.58""#,
        "2024-02-01",
    ));
    assert_eq!(
        books.debit_balance(1012, CH1),
        cash_before + fen("16.43"),
        "the interest-free coupon pays 0.58"
    );
    assert_eq!(books.debit_balance(6111, None), fen("0.58"));
    assert_eq!(books.debit_balance(1131, L1), 0);
}

#[test]
fn the_f9_penalty_accrues_and_is_repaid() {
    // vectors.md F9: 3000 @ 12 % flat, 3 × (1000 + 30); 1.5 % of the overdue principal = 15.00.
    let mut books = disbursed_books("3000.00");
    books.ok(&event("ACC", "interest.accrued", LOAN, r#""interest":"30.00""#, "2023-02-01"));
    books.ok(&event("PEN", "penalty.accrued", LOAN, r#""penalty":"15.00""#, "2023-02-01"));
    assert_eq!(books.debit_balance(1133, L1), fen("15.00"));
    assert_eq!(books.credit_balance(6031, None), fen("15.00"));
    let cash_before = books.debit_balance(1012, CH1);
    books.ok(&event(
        "REP",
        "repayment.settled",
        LOAN,
        r#""principal":"1000.00","interest":"30.00","penalty":"15.00""#,
        "2023-05-01",
    ));
    assert_eq!(books.debit_balance(1012, CH1), cash_before + fen("1045.00"));
    assert_eq!(books.debit_balance(1133, L1), 0);
    assert_eq!(books.debit_balance(1122, L1), fen("2000.00"));
}

#[test]
fn installment_fees_accrue_and_are_repaid() {
    let mut books = disbursed_books("3000.00");
    books.ok(&event("ACC", "interest.accrued", LOAN, r#""interest":"30.00","fee":"15.45""#, "2023-02-01"));
    assert_eq!(books.debit_balance(1132, L1), fen("15.45"));
    assert_eq!(books.credit_balance(6021, None), fen("15.45"));
    books.ok(&event("REP", "repayment.settled", LOAN, r#""fee":"15.45""#, "2023-02-01"));
    assert_eq!(books.debit_balance(1132, L1), 0);
}

#[test]
fn a_waiver_clears_receivables_against_contra_revenue() {
    let mut books = disbursed_books("3000.00");
    books.ok(&event("ACC", "interest.accrued", LOAN, r#""interest":"30.00""#, "2023-02-01"));
    books.ok(&event("PEN", "penalty.accrued", LOAN, r#""penalty":"15.00""#, "2023-02-01"));
    books.ok(&event("WAIVE", "loan.waived", LOAN, r#""interest":"30.00","penalty":"15.00""#, "2023-02-02"));
    assert_eq!(books.debit_balance(1131, L1), 0);
    assert_eq!(books.debit_balance(1133, L1), 0);
    assert_eq!(books.debit_balance(6111, None), fen("45.00"));
}

#[test]
fn the_j1_charge_off_writes_750_off() {
    // LENDING §1.10: disbursement 1000, repayment 250, then Dr Credit Loss 750 / Cr Loans Receivable 750.
    let mut books = disbursed_books("1000.00");
    books.ok(&event("REP", "repayment.settled", LOAN, r#""principal":"250.00""#, "2024-02-01"));
    let plan = books.ok(&event("WO", "loan.written_off", LOAN, r#""principal":"750.00""#, "2024-06-01"));
    assert_eq!(plan.postings.len(), 1);
    assert_eq!(books.debit_balance(1122, L1), 0);
    assert_eq!(books.debit_balance(6711, None), fen("750.00"));
}

#[test]
fn a_write_off_with_interest_and_fees_credits_each_receivable() {
    // LENDING §1.10 (fraud variant): Cr Loans Receivable 1000, Cr Interest/Fee Receivable 143.
    let mut books = disbursed_books("1000.00");
    books.ok(&event("ACC", "interest.accrued", LOAN, r#""interest":"30.00","fee":"113.00""#, "2024-02-01"));
    books.ok(&event(
        "WO",
        "loan.written_off",
        LOAN,
        r#""principal":"1000.00","interest":"30.00","fee":"113.00""#,
        "2024-06-01",
    ));
    assert_eq!(books.debit_balance(6711, None), fen("1143.00"));
    for code in [1122, 1131, 1132, 1133] {
        assert_eq!(books.debit_balance(code, L1), 0, "receivable {code}");
    }
}

#[test]
fn clearing_splits_collected_interest_among_the_parties() {
    // F5's 2.05 of interest: guarantor 3 % of it (0.0615 → 0.06), channel 0.04, supplier 0.02,
    // platform 0.08, and the residual 1.85 to the funder.
    let mut books = Books::new();
    let parties = r#""funder":"F1","channel":"ACQ1","supplier":"S1","guarantor":"G1""#;
    let shares = r#""funder":"1.85","channel":"0.04","supplier":"0.02","guarantor":"0.06","platform":"0.08""#;
    let plan = books.ok(&event("CLR", "clearing.allocated", parties, shares, "2024-07-01"));
    assert_eq!(plan.total(), Some(205));
    assert_eq!(books.debit_balance(6091, None), fen("2.05"));
    assert_eq!(books.credit_balance(2202, F1), fen("1.85"));
    assert_eq!(books.credit_balance(2206, Some(("channel", "ACQ1"))), fen("0.04"));
    assert_eq!(books.credit_balance(2207, Some(("supplier", "S1"))), fen("0.02"));
    assert_eq!(books.credit_balance(2208, Some(("guarantor", "G1"))), fen("0.06"));
    assert_eq!(books.credit_balance(6061, None), fen("0.08"));
}

#[test]
fn extension_fee_is_income() {
    let mut books = funded_books("0.01");
    books.ok(&event("EXT", "extension.fee_paid", LOAN, r#""fee":"30.00""#, "2024-03-01"));
    assert_eq!(books.credit_balance(6041, None), fen("30.00"));
    assert_eq!(books.debit_balance(1012, CH1), fen(CHANNEL_START) + fen("30.00"));
}

#[test]
fn benefit_orders_are_paid_and_refunded() {
    let mut books = funded_books("0.01");
    let subjects = r#""customer":"C1","channel":"CH1""#;
    books.ok(&event("BEN", "benefit.paid", subjects, r#""fee":"99.00","coupon":"10.00""#, "2024-03-01"));
    assert_eq!(books.credit_balance(6051, None), fen("99.00"));
    assert_eq!(books.debit_balance(6111, None), fen("10.00"));
    assert_eq!(books.debit_balance(1012, CH1), fen(CHANNEL_START) + fen("89.00"));
    books.ok(&event(
        "BEN-R",
        "benefit.refunded",
        subjects,
        r#""fee":"99.00","coupon":"10.00""#,
        "2024-03-02",
    ));
    assert_eq!(books.credit_balance(6051, None), 0);
    assert_eq!(books.debit_balance(6111, None), 0);
    assert_eq!(books.debit_balance(1012, CH1), fen(CHANNEL_START));
}

#[test]
fn transfers_of_an_entry_form_one_linked_chain_marked_with_the_event() {
    let books = disbursed_books("100.00");
    let plan = &books.posted["DISB-1"];
    let transfers = plan.transfers(500).expect("ids in range");
    assert_eq!(transfers.iter().map(|t| t.id).collect::<Vec<_>>(), vec![500, 501, 502]);
    let linked: Vec<bool> =
        transfers.iter().map(|t| t.flags.contains(ledger_core::TransferFlags::LINKED)).collect();
    assert_eq!(linked, vec![true, true, false]);
    for transfer in &transfers {
        assert_eq!(transfer.ledger, 156);
        assert_eq!(transfer.code, 101);
        assert_eq!(transfer.user_data_128, ledger_events::event_hash("DISB-1"));
        assert_eq!(transfer.user_data_64, 20_240_101);
        assert_eq!(transfer.user_data_32, 0);
    }
    let receivable = plan.accounts.iter().find(|a| a.reference.code == 1122).expect("opened");
    assert_eq!(receivable.account.user_data_32, 1122);
    assert_eq!(
        receivable.account.user_data_128,
        ledger_events::subject_hash(ledger_events::Subject { key: "loan_note", value: "L1" })
    );
    assert!(receivable.account.flags.contains(ledger_core::AccountFlags::CREDITS_MUST_NOT_EXCEED_DEBITS));
}
