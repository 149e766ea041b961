//! A trial balance through the index thread: the first query names the accounts whose codes
//! the index needs, the second (with them) answers; a new index over the same record file
//! (a restart) asks again and answers the same totals, at any time.

mod support;

use ledger_core::{Transfer, TransferFlags};
use ledger_history::{
    AccountCode, CHUNK_RECORDS, CodeTotal, HistoryError, HistoryIndex, IndexPosition, LedgerTotals,
    TrialBalanceAnswer, TrialBalanceRequest,
};
use std::sync::mpsc;
use support::{PATIENCE, append_records, wait_until};

/// Accounts 1..=ACCOUNTS; account `id` has code `code_of(id)`.
const ACCOUNTS: u128 = 40;

fn code_of(account_id: u128) -> u16 {
    u16::try_from(account_id % 5).expect("small") * 100 + 1000
}

fn ask(index: &HistoryIndex, request: TrialBalanceRequest) -> Result<TrialBalanceAnswer, HistoryError> {
    let (tx, rx) = mpsc::channel();
    index.trial_balance(request, Box::new(move |answer| tx.send(answer).expect("the test waits")));
    rx.recv_timeout(PATIENCE).expect("an answer")
}

/// Asks as a server does: answers `CodesWanted` with the codes, until the totals come.
/// Returns the totals and the accounts asked for.
fn trial_balance(index: &HistoryIndex, ledger: u32, at: Option<u64>) -> (LedgerTotals, Vec<u128>) {
    let mut asked = Vec::new();
    let mut codes = Vec::new();
    for _round in 0..4 {
        match ask(index, TrialBalanceRequest { ledger, at, codes }).expect("the index answers") {
            TrialBalanceAnswer::Totals(totals) => return (totals, asked),
            TrialBalanceAnswer::CodesWanted(ids) => {
                codes = ids
                    .iter()
                    .map(|&account_id| AccountCode { account_id, code: code_of(account_id) })
                    .collect();
                asked.extend(ids);
            }
        }
    }
    panic!("the index keeps asking for codes");
}

/// Plain transfers with every third one pending and the pending ones posted (half) a little
/// later, as the writer stores them: strictly increasing timestamps.
fn book(count: u64) -> Vec<Transfer> {
    let mut records = Vec::new();
    let mut pending = Vec::new();
    for i in 0..count {
        let id = u128::from(i) + 1;
        let debit = u128::from(i) % ACCOUNTS + 1;
        let credit = (u128::from(i) * 7 + 3) % ACCOUNTS + 1;
        let credit = if credit == debit { debit % ACCOUNTS + 1 } else { credit };
        let timestamp = 1_000 + u64::try_from(records.len()).expect("small") * 10;
        let mut transfer = Transfer {
            id,
            debit_account_id: debit,
            credit_account_id: credit,
            amount: id,
            ledger: if i % 11 == 0 { 840 } else { 156 },
            code: 1,
            timestamp,
            ..Transfer::default()
        };
        if i % 3 == 0 {
            transfer.flags = TransferFlags::PENDING;
            pending.push(transfer);
        } else if let Some(p) = pending.pop() {
            // The post of a pending transfer: its accounts and ledger, the amount posted.
            records.push(Transfer {
                id: id + 1_000_000,
                pending_id: p.id,
                amount: p.amount / 2,
                flags: TransferFlags::POST_PENDING_TRANSFER,
                timestamp,
                ..p
            });
            transfer.timestamp += 5;
        }
        records.push(transfer);
    }
    records
}

/// The posted totals by code of `ledger` at or before `at`, by brute force.
fn expected(records: &[Transfer], ledger: u32, at: u64) -> Vec<CodeTotal> {
    let mut rows = std::collections::BTreeMap::<u16, (u128, u128)>::new();
    for t in records.iter().filter(|t| t.ledger == ledger && t.timestamp <= at) {
        if t.flags.contains(TransferFlags::PENDING) {
            continue;
        }
        rows.entry(code_of(t.debit_account_id)).or_default().0 += t.amount;
        rows.entry(code_of(t.credit_account_id)).or_default().1 += t.amount;
    }
    rows.into_iter().map(|(code, (debits, credits))| CodeTotal { code, debits, credits }).collect()
}

#[test]
fn the_index_asks_for_codes_once_then_answers_and_again_after_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("transfers.records");
    let (index, feed) = HistoryIndex::start(&path).expect("start");
    append_records(&path, &[]);
    feed.durable(1, 0);
    let (empty, asked) = trial_balance(&index, 156, None);
    assert_eq!((empty.at, empty.rows.len(), asked.len()), (0, 0, 0), "nothing yet");

    // More than two chunks, so that a time inside a chunk needs a partial read.
    let records = book(2 * CHUNK_RECORDS as u64 + 500);
    let (early, late) = records.split_at(CHUNK_RECORDS + 17);
    append_records(&path, early);
    feed.durable(2, early.len() as u64);
    let (totals, asked) = trial_balance(&index, 156, None);
    assert_eq!(asked.len(), usize::try_from(ACCOUNTS).expect("small"), "every account, once");
    let newest = early.last().expect("records").timestamp;
    assert_eq!(totals.at, newest);
    assert_eq!(totals.position, IndexPosition { op: 2, transfers: early.len() as u64 });
    assert_eq!(totals.rows, expected(early, 156, newest));

    append_records(&path, late);
    feed.durable(3, records.len() as u64);
    let (totals, asked) = trial_balance(&index, 156, None);
    assert!(asked.is_empty(), "no new account: no codes asked");
    let newest = records.last().expect("records").timestamp;
    assert_eq!(totals.rows, expected(&records, 156, newest));
    assert!(index.memory().code_totals_bytes > 0);

    let probes = [999, 1_000, records[5_000].timestamp + 1, records[CHUNK_RECORDS].timestamp, newest - 3];
    let answers: Vec<LedgerTotals> =
        probes.iter().map(|&at| trial_balance(&index, 156, Some(at)).0).collect();
    for (at, totals) in probes.iter().zip(&answers) {
        assert_eq!(totals.at, *at);
        assert_eq!(totals.rows, expected(&records, 156, *at), "at {at}");
    }
    let other = trial_balance(&index, 840, Some(newest)).0;
    assert_eq!(other.rows, expected(&records, 840, newest), "ledger 840 apart");
    index.stop();
    drop(feed);

    // A restart: a new index over the same file learns the codes again.
    let (index, feed) = HistoryIndex::start(&path).expect("restart");
    feed.durable(9, records.len() as u64);
    wait_until("the rebuild", || index.position().transfers == records.len() as u64);
    let (again, asked) = trial_balance(&index, 156, Some(probes[2]));
    assert_eq!(asked.len(), usize::try_from(ACCOUNTS).expect("small"));
    assert_eq!(again.rows, answers[2].rows);
    assert_eq!(again.position.op, 9);
}
