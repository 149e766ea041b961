//! `CodeTotals` against two references: the engine's own posted balances summed by account
//! code (at every batch boundary), and a brute-force sum of the stored records (at any time).
//! The records are made by the real engine (`ledger_core::Ledger`), so posts, voids, expiries
//! and balancing transfers are stored exactly as in production.

use super::*;
use crate::records::MemoryRecords;
use ledger_core::limits::NANOS_PER_SECOND;
use ledger_core::{AMOUNT_MAX, Account, Ledger, LedgerConfig, TRANSFER_SIZE, Transfer};
use proptest::prelude::*;
use std::collections::BTreeMap;

/// Small chunks and a buffer smaller than a chunk, so that queries cross chunk boundaries and
/// reads are split.
const RECORDS_PER_CHUNK: usize = 8;
const BUFFER_RECORDS: usize = 5;

/// Per code: (debits, credits).
type Expected = BTreeMap<u16, (u128, u128)>;

/// The engine, the record file it would write, and the index with its code totals over it.
struct Book {
    engine: Ledger,
    records: MemoryRecords,
    index: Index,
    totals: CodeTotals,
    buffer: Vec<Record>,
    next_transfer_id: u128,
    /// The clock of the next batch.
    now: u64,
}

impl Book {
    fn new(accounts: &[Account]) -> Self {
        let mut book = Self {
            engine: Ledger::new(LedgerConfig::default()),
            records: MemoryRecords::default(),
            index: Index::new(RECORDS_PER_CHUNK),
            totals: CodeTotals::default(),
            buffer: vec![[0; TRANSFER_SIZE]; BUFFER_RECORDS],
            next_transfer_id: 1,
            now: NANOS_PER_SECOND,
        };
        let failed = book.engine.create_accounts(book.now, accounts).expect("a batch");
        assert!(failed.is_empty(), "{failed:?}");
        book
    }

    /// Applies one batch (each transfer gets the next id) and ingests the records it stored.
    /// Returns the ids given, in order.
    fn apply(&mut self, transfers: &mut [Transfer]) -> Vec<u128> {
        let mut ids = Vec::new();
        for transfer in transfers.iter_mut() {
            transfer.id = self.next_transfer_id;
            ids.push(transfer.id);
            self.next_transfer_id += 1;
        }
        self.now += NANOS_PER_SECOND;
        self.engine.create_transfers(self.now, transfers).expect("a batch");
        let stored: Vec<Record> = self
            .engine
            .transfer_store()
            .iter()
            .skip(usize::try_from(self.index.records()).expect("small"))
            .map(Transfer::to_bytes)
            .collect();
        self.records.bytes.extend(stored.iter().flatten());
        self.index.ingest(&stored).expect("the engine's records are valid");
        ids
    }

    /// What a server does: gives the codes the index asks for, then asks for the totals.
    fn totals(&mut self, ledger: u32, at: Option<u64>) -> Result<LedgerTotals, HistoryError> {
        let wanted = self.totals.codes_wanted(self.index.accounts(), CODES_WANTED_MAX);
        let mut found = Vec::new();
        self.engine.lookup_accounts(&wanted, &mut found);
        assert_eq!(found.len(), wanted.len(), "every account the index names exists");
        let codes: Vec<AccountCode> =
            found.iter().map(|a| AccountCode { account_id: a.id, code: a.code }).collect();
        self.totals.learn(self.index.accounts(), &codes);
        assert!(self.totals.codes_wanted(self.index.accounts(), CODES_WANTED_MAX).is_empty());
        let position = IndexPosition { op: 7, transfers: self.index.records() };
        self.totals.attribute(&self.index, &self.records, position.transfers, &mut self.buffer)?;
        self.totals.ledger_totals(&self.index, &self.records, (ledger, at), position, &mut self.buffer)
    }

    /// The engine's posted balances, summed by code: the truth now. Codes whose accounts have
    /// posted nothing are left out (the index only knows codes with posted transfers).
    fn engine_totals(&self, ledger: u32) -> Expected {
        let mut sums = Expected::new();
        for account in self.engine.accounts().filter(|a| a.ledger == ledger) {
            let (debits, credits) = sums.entry(account.code).or_default();
            *debits += account.debits_posted;
            *credits += account.credits_posted;
        }
        sums.retain(|_, (debits, credits)| *debits != 0 || *credits != 0);
        sums
    }

    /// The stored records, summed by hand: those of `ledger` at or before `at` that are neither
    /// pending nor a void, to the codes of their accounts.
    fn brute_force(&self, ledger: u32, at: u64) -> Expected {
        let code = |id| self.engine.lookup_account(id).expect("the account exists").code;
        let mut sums = Expected::new();
        for t in self.engine.transfer_store().iter() {
            let counted = !t.flags.contains(TransferFlags::PENDING)
                && !t.flags.contains(TransferFlags::VOID_PENDING_TRANSFER);
            if t.ledger == ledger && t.timestamp <= at && counted {
                sums.entry(code(t.debit_account_id)).or_default().0 += t.amount;
                sums.entry(code(t.credit_account_id)).or_default().1 += t.amount;
            }
        }
        sums
    }

    fn newest_timestamp(&self) -> u64 {
        self.engine.transfer_store().iter().last().map_or(0, |t| t.timestamp)
    }
}

fn rows(totals: &LedgerTotals) -> Expected {
    totals.rows.iter().map(|r| (r.code, (r.debits, r.credits))).collect()
}

fn nonzero(mut sums: Expected) -> Expected {
    sums.retain(|_, (debits, credits)| *debits != 0 || *credits != 0);
    sums
}

fn account(id: u128, ledger: u32, code: u16) -> Account {
    Account { id, ledger, code, ..Account::default() }
}

fn transfer(debit: u128, credit: u128, amount: u128, flags: TransferFlags) -> Transfer {
    Transfer {
        debit_account_id: debit,
        credit_account_id: credit,
        amount,
        ledger: 156,
        code: 1,
        flags,
        ..Transfer::default()
    }
}

fn resolve(pending_id: u128, amount: u128, flags: TransferFlags) -> Transfer {
    Transfer { pending_id, amount, flags, ..Transfer::default() }
}

const CASH: u128 = 1;
const LOAN: u128 = 2;
const INCOME: u128 = 3;

fn three_accounts() -> Book {
    Book::new(&[account(CASH, 156, 1001), account(LOAN, 156, 1122), account(INCOME, 156, 6001)])
}

#[test]
fn pending_voided_and_expired_transfers_count_nothing_and_a_post_counts_what_it_posts() {
    let mut book = three_accounts();
    let [pending] = book.apply(&mut [transfer(LOAN, CASH, 100, TransferFlags::PENDING)])[..] else {
        panic!("one id")
    };
    let after_pending = book.newest_timestamp();
    let [voided] = book.apply(&mut [transfer(LOAN, CASH, 50, TransferFlags::PENDING)])[..] else {
        panic!("one id")
    };
    let expiring = Transfer { timeout: 1, ..transfer(LOAN, INCOME, 9, TransferFlags::PENDING) };
    book.apply(&mut [expiring]);
    book.apply(&mut [resolve(pending, 60, TransferFlags::POST_PENDING_TRANSFER)]);
    let after_post = book.newest_timestamp();
    book.apply(&mut [resolve(voided, 0, TransferFlags::VOID_PENDING_TRANSFER)]);
    book.apply(&mut [transfer(CASH, INCOME, 7, TransferFlags::NONE)]);
    assert_eq!(book.engine.pending_count(), 0, "the expiring transfer has expired");

    let at_pending = book.totals(156, Some(after_pending)).expect("totals");
    assert_eq!(at_pending.rows, [], "a pending transfer moves no posted balance");
    assert_eq!(at_pending.at, after_pending);

    let at_post = book.totals(156, Some(after_post)).expect("totals");
    let posted = BTreeMap::from([(1001, (0, 60)), (1122, (60, 0))]);
    assert_eq!(rows(&at_post), posted, "the post counts the 60 it posted, not the 100 reserved");

    let now = book.totals(156, None).expect("totals");
    let expected = BTreeMap::from([(1001, (7, 60)), (1122, (60, 0)), (6001, (0, 7))]);
    assert_eq!(rows(&now), expected, "the void and the expiry add nothing");
    assert_eq!(rows(&now), book.engine_totals(156));
    assert_eq!(now.at, book.newest_timestamp());
    assert_eq!(
        now.position,
        IndexPosition { op: 7, transfers: 6 },
        "three pending, a post, a void, one more"
    );
    assert_eq!(book.totals(156, Some(u64::MAX)).expect("totals"), now, "later than everything: now");
    assert_eq!(book.totals(156, Some(0)).expect("totals").rows, [], "0 is before everything");
    assert_eq!(book.totals(157, None).expect("totals").rows, [], "another ledger has nothing");
}

#[test]
fn an_empty_file_has_no_rows_at_time_zero() {
    let mut book = three_accounts();
    let totals = book.totals(156, Some(5)).expect("totals");
    assert_eq!((totals.at, totals.rows.len()), (0, 0));
}

#[test]
fn codes_are_asked_for_once_oldest_first_and_accounts_without_transfers_are_not() {
    let mut book =
        Book::new(&[account(9, 156, 1), account(4, 156, 2), account(7, 156, 3), account(5, 156, 4)]);
    book.apply(&mut [transfer(9, 4, 1, TransferFlags::NONE)]);
    assert_eq!(book.totals.codes_wanted(book.index.accounts(), 10), [9, 4], "by first posting");
    assert_eq!(book.totals.codes_wanted(book.index.accounts(), 1), [9], "at most `max`");
    book.totals.learn(book.index.accounts(), &[AccountCode { account_id: 4, code: 2 }]);
    assert_eq!(book.totals.codes_wanted(book.index.accounts(), 10), [9]);
    book.totals.learn(
        book.index.accounts(),
        &[AccountCode { account_id: 9, code: 1 }, AccountCode { account_id: 5, code: 4 }],
    );
    assert_eq!(book.totals.codes_wanted(book.index.accounts(), 10), [] as [u128; 0]);
    book.apply(&mut [transfer(7, 9, 1, TransferFlags::NONE)]);
    assert_eq!(book.totals.codes_wanted(book.index.accounts(), 10), [7], "only the new account");
}

#[test]
fn totals_beyond_128_bits_are_an_error_not_a_wrapped_number() {
    let half = u128::MAX / 2 + 1;
    let mut book =
        Book::new(&[account(1, 156, 10), account(2, 156, 20), account(3, 156, 10), account(4, 156, 20)]);
    book.apply(&mut [transfer(1, 2, half, TransferFlags::NONE)]);
    let first = book.newest_timestamp();
    // Same codes, other accounts: each account stays within u128, the codes' sums do not.
    book.apply(&mut [transfer(3, 4, half, TransferFlags::NONE)]);
    let at_first = book.totals(156, Some(first)).expect("the first alone fits");
    assert_eq!(rows(&at_first), BTreeMap::from([(10, (half, 0)), (20, (0, half))]));
    assert!(matches!(
        book.totals(156, None),
        Err(HistoryError::TotalOverflow { ledger: 156, code: 10 | 20 })
    ));
}

#[test]
fn chunk_entries_carry_past_128_bits_exactly() {
    let mut entry =
        ChunkEntry { debits: u128::MAX, credits: 0, ledger: 1, code: 1, debit_carries: 0, credit_carries: 0 };
    entry.add(Side::Debit, 2);
    assert_eq!((entry.debits, entry.debit_carries), (1, 1));
    let mut sum = WideSum::default();
    sum.add(u128::MAX, 0);
    assert_eq!(sum.to_u128(), Some(u128::MAX));
    sum.add(1, 0);
    assert_eq!((sum.low, sum.high, sum.to_u128()), (0, 1, None));
}

/// One transfer of a random batch. Accounts are picked by index into `ACCOUNTS`, pending
/// transfers by index into those created so far.
#[derive(Clone, Debug)]
enum Op {
    Plain { debit: usize, credit: usize, amount: u128 },
    Pending { debit: usize, credit: usize, amount: u128, expires: bool },
    Post { pending: usize, amount: Option<u128> },
    Void { pending: usize },
    Balancing { debit: usize, credit: usize, amount: u128 },
}

/// (id, ledger): two ledgers, so that one's totals never include the other's.
const ACCOUNTS: [(u128, u32); 6] = [(1, 156), (2, 156), (3, 156), (4, 156), (5, 840), (6, 840)];

fn op() -> impl Strategy<Value = Op> {
    let account = 0..ACCOUNTS.len();
    let amount = 0..1_000_u128;
    prop_oneof![
        3 => (account.clone(), account.clone(), amount.clone())
            .prop_map(|(debit, credit, amount)| Op::Plain { debit, credit, amount }),
        2 => (account.clone(), account.clone(), amount.clone(), any::<bool>())
            .prop_map(|(debit, credit, amount, expires)| Op::Pending { debit, credit, amount, expires }),
        2 => (any::<usize>(), proptest::option::of(amount.clone()))
            .prop_map(|(pending, amount)| Op::Post { pending, amount }),
        1 => any::<usize>().prop_map(|pending| Op::Void { pending }),
        1 => (account.clone(), account, amount)
            .prop_map(|(debit, credit, amount)| Op::Balancing { debit, credit, amount }),
    ]
}

impl Op {
    fn transfer(&self, pendings: &[u128]) -> Transfer {
        let between = |debit: usize, credit: usize, amount: u128, flags: TransferFlags| Transfer {
            ledger: ACCOUNTS[debit].1,
            ..transfer(ACCOUNTS[debit].0, ACCOUNTS[credit].0, amount, flags)
        };
        let pending_id = |i: usize| if pendings.is_empty() { 999 } else { pendings[i % pendings.len()] };
        match *self {
            Op::Plain { debit, credit, amount } => between(debit, credit, amount, TransferFlags::NONE),
            Op::Pending { debit, credit, amount, expires } => Transfer {
                timeout: u32::from(expires),
                ..between(debit, credit, amount, TransferFlags::PENDING)
            },
            Op::Post { pending, amount } => resolve(
                pending_id(pending),
                amount.unwrap_or(AMOUNT_MAX),
                TransferFlags::POST_PENDING_TRANSFER,
            ),
            Op::Void { pending } => resolve(pending_id(pending), 0, TransferFlags::VOID_PENDING_TRANSFER),
            Op::Balancing { debit, credit, amount } => {
                between(debit, credit, amount, TransferFlags::BALANCING_DEBIT)
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn totals_match_the_engine_and_the_records_at_any_time(
        codes in proptest::array::uniform6(prop_oneof![Just(10_u16), Just(20), Just(30)]),
        batches in proptest::collection::vec(proptest::collection::vec(op(), 1..12), 1..10),
        queried in proptest::collection::vec(any::<bool>(), 10),
        probes in proptest::collection::vec(any::<u64>(), 4),
    ) {
        let accounts: Vec<Account> =
            ACCOUNTS.iter().zip(codes).map(|(&(id, ledger), code)| account(id, ledger, code)).collect();
        let mut book = Book::new(&accounts);
        let mut pendings = Vec::new();
        let mut boundaries = Vec::new();
        for (batch, wanted) in batches.iter().zip(queried.iter().cycle()) {
            let mut transfers: Vec<Transfer> = batch.iter().map(|op| op.transfer(&pendings)).collect();
            let ids = book.apply(&mut transfers);
            pendings.extend(batch.iter().zip(ids).filter(|(op, _)| matches!(op, Op::Pending { .. })).map(|(_, id)| id));
            let truth = (book.newest_timestamp(), book.engine_totals(156), book.engine_totals(840));
            boundaries.push(truth.clone());
            // Ask now and then, so that attribution happens in several steps.
            if *wanted {
                let (at, ledger_156, ledger_840) = truth;
                let now = book.totals(156, None).expect("totals");
                prop_assert_eq!(now.at, at);
                prop_assert_eq!(nonzero(rows(&now)), ledger_156);
                prop_assert_eq!(nonzero(rows(&book.totals(840, None).expect("totals"))), ledger_840);
            }
        }
        // Every batch boundary against the engine's balances at that point.
        for (at, ledger_156, ledger_840) in &boundaries {
            prop_assert_eq!(&nonzero(rows(&book.totals(156, Some(*at)).expect("totals"))), ledger_156);
            prop_assert_eq!(&nonzero(rows(&book.totals(840, Some(*at)).expect("totals"))), ledger_840);
        }
        // Any time at all, including inside batches and chunks, against the records.
        let newest = book.newest_timestamp();
        let first = book.engine.transfer_store().iter().next().map_or(0, |t| t.timestamp);
        let span = newest.saturating_sub(first) + 2;
        for probe in probes {
            let at = first.saturating_sub(1) + probe % span;
            for ledger in [156, 840] {
                let totals = book.totals(ledger, Some(at)).expect("totals");
                prop_assert_eq!(totals.at, at.min(newest));
                prop_assert_eq!(rows(&totals), book.brute_force(ledger, at));
                let debits: u128 = totals.rows.iter().map(|r| r.debits).sum();
                let credits: u128 = totals.rows.iter().map(|r| r.credits).sum();
                prop_assert_eq!(debits, credits, "double entry");
            }
        }
        // Every posted record was attributed once, and no more.
        prop_assert_eq!(book.totals.attributed(), book.index.records());
    }
}
