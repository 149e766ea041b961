//! `ledger demo`: a loan's life in ledger terms, run through the single writer.
//!
//! Ledger 156 books CNY in fen (scale 2). The customer's credit line is reserved with a pending
//! transfer (额度占用); a loan of 1,000.00 is disbursed from the funder's cash; the reservation is
//! posted; one installment of 305.00 (255.00 principal, 50.00 interest) is repaid as a linked
//! chain; an over-repayment is refused by the receivable's balance limit, atomically.

use ledger_core::clock::SystemClock;
use ledger_core::writer::{Command, Reply, Writer, WriterError};
use ledger_core::{Account, AccountFlags, CreateTransferResult, Ledger, Transfer, TransferFlags};
use std::io::Write;

const CNY: u32 = 156;

// Chart-of-accounts codes used by the story.
const CASH_AT_BANK: u16 = 1002;
const LOAN_PRINCIPAL_RECEIVABLE: u16 = 1122;
const FUNDER_PAYABLE: u16 = 2241;
const INTEREST_INCOME: u16 = 6011;
const CREDIT_LINE: u16 = 7001;

// Transfer codes (event types).
const DISBURSEMENT: u16 = 1;
const REPAYMENT_PRINCIPAL: u16 = 2;
const REPAYMENT_INTEREST: u16 = 3;
const CREDIT_RESERVATION: u16 = 4;
const FUNDING: u16 = 5;
const CREDIT_GRANT: u16 = 6;

const FUNDER_CASH: u128 = 1;
const FUNDER: u128 = 2;
const LOAN_NOTE_PRINCIPAL: u128 = 3;
const INTEREST: u128 = 4;
const CREDIT_LINE_AVAILABLE: u128 = 5;
const CREDIT_LINE_USED: u128 = 6;
const CREDIT_LINE_GRANTED: u128 = 7;

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(transparent)]
    Writer(#[from] WriterError),
    #[error("could not start the writer thread: {0}")]
    Spawn(#[from] std::io::Error),
    #[error("step '{step}' answered {reply:?}")]
    Unexpected { step: &'static str, reply: Reply },
}

fn account(id: u128, code: u16, flags: AccountFlags) -> Account {
    Account { id, ledger: CNY, code, flags, ..Account::default() }
}

fn transfer(id: u128, debit: u128, credit: u128, amount: u128, code: u16) -> Transfer {
    Transfer {
        id,
        debit_account_id: debit,
        credit_account_id: credit,
        amount,
        ledger: CNY,
        code,
        ..Transfer::default()
    }
}

fn expect_ok(writer: &Writer, step: &'static str, transfers: Vec<Transfer>) -> Result<(), DemoError> {
    match writer.call(Command::CreateTransfers(transfers))? {
        Reply::CreateTransfers { results, .. } if results.is_empty() => Ok(()),
        reply => Err(DemoError::Unexpected { step, reply }),
    }
}

fn yuan(fen: u128) -> String {
    format!("{}.{:02}", fen / 100, fen % 100)
}

pub fn run(out: &mut impl Write) -> Result<(), DemoError> {
    let writer = Writer::spawn(Ledger::default(), SystemClock)?;
    let accounts = vec![
        account(FUNDER_CASH, CASH_AT_BANK, AccountFlags::CREDITS_MUST_NOT_EXCEED_DEBITS),
        account(FUNDER, FUNDER_PAYABLE, AccountFlags::NONE),
        account(LOAN_NOTE_PRINCIPAL, LOAN_PRINCIPAL_RECEIVABLE, AccountFlags::CREDITS_MUST_NOT_EXCEED_DEBITS),
        account(INTEREST, INTEREST_INCOME, AccountFlags::NONE),
        account(CREDIT_LINE_AVAILABLE, CREDIT_LINE, AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS),
        account(CREDIT_LINE_USED, CREDIT_LINE, AccountFlags::NONE),
        account(CREDIT_LINE_GRANTED, CREDIT_LINE, AccountFlags::NONE),
    ];
    match writer.call(Command::CreateAccounts(accounts))? {
        Reply::CreateAccounts { results, .. } if results.is_empty() => {}
        reply => return Err(DemoError::Unexpected { step: "open accounts", reply }),
    }
    writeln!(out, "opened 7 accounts on ledger {CNY} (CNY, fen)").map_err(DemoError::Spawn)?;

    // The funder pays in 5,000.00; the credit line of 2,000.00 is granted.
    expect_ok(
        &writer,
        "fund and grant",
        vec![
            transfer(100, FUNDER_CASH, FUNDER, 500_000, FUNDING),
            transfer(101, CREDIT_LINE_GRANTED, CREDIT_LINE_AVAILABLE, 200_000, CREDIT_GRANT),
        ],
    )?;
    // Reserve 1,000.00 of the line while the partner disburses (pending, 60 s timeout).
    let reservation = Transfer {
        flags: TransferFlags::PENDING,
        timeout: 60,
        ..transfer(102, CREDIT_LINE_AVAILABLE, CREDIT_LINE_USED, 100_000, CREDIT_RESERVATION)
    };
    expect_ok(&writer, "reserve credit line", vec![reservation])?;
    // Disbursed: the receivable is booked against the funder's cash, and the reservation posts,
    // in one linked chain.
    expect_ok(
        &writer,
        "disburse",
        vec![
            Transfer {
                flags: TransferFlags::LINKED,
                ..transfer(103, LOAN_NOTE_PRINCIPAL, FUNDER_CASH, 100_000, DISBURSEMENT)
            },
            Transfer {
                id: 104,
                pending_id: 102,
                amount: ledger_core::AMOUNT_MAX,
                flags: TransferFlags::POST_PENDING_TRANSFER,
                ..Transfer::default()
            },
        ],
    )?;
    // Installment 1 repaid: 255.00 principal and 50.00 interest, atomically.
    expect_ok(
        &writer,
        "repay installment 1",
        vec![
            Transfer {
                flags: TransferFlags::LINKED,
                ..transfer(105, FUNDER_CASH, LOAN_NOTE_PRINCIPAL, 25_500, REPAYMENT_PRINCIPAL)
            },
            transfer(106, FUNDER_CASH, INTEREST, 5_000, REPAYMENT_INTEREST),
        ],
    )?;
    // Repaying more principal than is owed breaks the receivable's limit: the whole chain fails.
    let over = writer.call(Command::CreateTransfers(vec![
        Transfer {
            flags: TransferFlags::LINKED,
            ..transfer(107, FUNDER_CASH, INTEREST, 1_000, REPAYMENT_INTEREST)
        },
        transfer(108, FUNDER_CASH, LOAN_NOTE_PRINCIPAL, 100_000, REPAYMENT_PRINCIPAL),
    ]))?;
    let Reply::CreateTransfers { results, .. } = &over else {
        return Err(DemoError::Unexpected { step: "over-repay", reply: over });
    };
    for r in results {
        writeln!(out, "over-repayment refused: event {} -> {}", r.index, r.result)
            .map_err(DemoError::Spawn)?;
    }
    if results.iter().all(|r| r.result != CreateTransferResult::ExceedsDebits) {
        return Err(DemoError::Unexpected { step: "over-repay", reply: over });
    }

    let ids = vec![
        FUNDER_CASH,
        FUNDER,
        LOAN_NOTE_PRINCIPAL,
        INTEREST,
        CREDIT_LINE_AVAILABLE,
        CREDIT_LINE_USED,
        CREDIT_LINE_GRANTED,
    ];
    let Reply::Accounts(accounts) = writer.call(Command::LookupAccounts(ids))? else {
        return Err(DemoError::Unexpected { step: "lookup", reply: Reply::Accounts(Vec::new()) });
    };
    writeln!(
        out,
        "{:<6} {:>5} {:>12} {:>12} {:>12} {:>12}",
        "id", "code", "dr posted", "cr posted", "dr pending", "cr pending"
    )
    .map_err(DemoError::Spawn)?;
    for a in &accounts {
        writeln!(
            out,
            "{:<6} {:>5} {:>12} {:>12} {:>12} {:>12}",
            a.id,
            a.code,
            yuan(a.debits_posted),
            yuan(a.credits_posted),
            yuan(a.debits_pending),
            yuan(a.credits_pending)
        )
        .map_err(DemoError::Spawn)?;
    }
    let Reply::StateHash(hash) = writer.call(Command::StateHash)? else {
        return Err(DemoError::Unexpected { step: "state hash", reply: Reply::StateHash([0; 32]) });
    };
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    writeln!(out, "state hash {hex}").map_err(DemoError::Spawn)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn demo_runs_and_books_the_loan() {
        let mut out = Vec::new();
        super::run(&mut out).expect("demo succeeds");
        let text = String::from_utf8(out).expect("utf-8");
        // Receivable: 1,000.00 disbursed, 255.00 repaid.
        let receivable = text.lines().find(|l| l.starts_with("3 ")).expect("receivable row");
        let cells: Vec<&str> = receivable.split_whitespace().collect();
        assert_eq!(cells, ["3", "1122", "1000.00", "255.00", "0.00", "0.00"]);
        assert!(text.contains("exceeds_debits"), "{text}");
        assert!(text.contains("linked_event_failed"), "{text}");
    }
}
