//! `CodeTotals`: the posted debits and credits of every (ledger, account code), as of any
//! timestamp: what a trial balance is made of.
//!
//! What counts: a committed record moves posted balances unless it is a pending transfer (which
//! only reserves) or a void (which releases a reservation). A post of a pending transfer counts
//! at its own timestamp, and its stored record already names the pending transfer's accounts,
//! ledger and the amount actually posted (`ledger_core::ledger::create_transfer`); a balancing
//! transfer's record holds the clamped amount. An expiry writes no record. So the record file
//! alone decides every posted amount, in commit order.
//!
//! A record carries the *transfer's* code, not its accounts': the account codes come from the
//! engine. The index learns them from the caller (`learn`): a trial balance names the accounts it
//! does not know yet (`codes_wanted`, in order of first posting), the caller looks them up and
//! asks again with their codes. Codes never change, and accounts are never deleted, so a code is
//! learned once per account and process.
//!
//! How "as of T" stays cheap: per chunk of the index (8,192 records), the posted totals of each
//! (ledger, code) the chunk touches, sorted. Totals as of T are the sum of the chunks wholly at or
//! before T plus the records of the one chunk T falls into (at most one 1 MiB read); at or after
//! the newest record, no read at all. So a query costs O(chunks x codes touched per chunk)
//! additions, about 1,200 x 50 for ten million transfers.
//!
//! Records are attributed to codes lazily, when a trial balance is asked for, by one sequential
//! read of the records committed since the previous one (the first after a start reads the whole
//! file, about 1 s per 10 M records from the page cache). Ingest does no work for it at all.
//!
//! Memory: 4 bytes per account (its code), plus 48 bytes per (ledger, code) touched per chunk:
//! with a chart of 50 codes, about 0.3 byte per transfer (300 KB per million transfers); at
//! worst, every transfer of a chunk touching two codes no other transfer of the chunk touches,
//! 12 bytes per transfer.
//!
//! Sums are exact: a chunk entry keeps the carries out of its `u128`s, and a query adds into
//! 192-bit sums, so no total wraps; a total beyond `u128` is an error (`TotalOverflow`), never a
//! wrong number.

use crate::accounts::AccountPostings;
use crate::error::{Corruption, HistoryError};
use crate::index::Index;
use crate::position::IndexPosition;
use crate::records::{Record, RecordSource, field_u16, field_u32, field_u64, field_u128};
use ledger_core::TransferFlags;
use ledger_core::transfer::{
    TRANSFER_AMOUNT_OFFSET, TRANSFER_CREDIT_ACCOUNT_ID_OFFSET, TRANSFER_DEBIT_ACCOUNT_ID_OFFSET,
    TRANSFER_FLAGS_OFFSET, TRANSFER_LEDGER_OFFSET, TRANSFER_TIMESTAMP_OFFSET,
};
use std::collections::BTreeMap;

/// Account ids one `CodesWanted` answer names at most (1 MiB of ids); the caller looks them up
/// and asks again, so a first trial balance over millions of accounts takes several rounds.
pub const CODES_WANTED_MAX: usize = 65_536;

/// How far ahead attribution prefetches account table slots, in records.
const PREFETCH_AHEAD_RECORDS: usize = 16;

/// An account's code, as the engine has it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AccountCode {
    pub account_id: u128,
    pub code: u16,
}

/// A trial balance query: the posted totals by account code of `ledger`, as of ledger timestamp
/// `at` (`None`: everything the index holds), with the codes of accounts the index asked for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrialBalanceRequest {
    pub ledger: u32,
    pub at: Option<u64>,
    pub codes: Vec<AccountCode>,
}

/// The posted totals of one account code, in minor units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CodeTotal {
    pub code: u16,
    pub debits: u128,
    pub credits: u128,
}

/// The totals of a ledger at a consistent point.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerTotals {
    pub ledger: u32,
    /// The durable point the index was at: the totals cover no record after it.
    pub position: IndexPosition,
    /// The totals count exactly the records with a timestamp at or before this: the requested
    /// time, or the newest record's timestamp when none was requested or the request is later
    /// (0 when there is no record at all).
    pub at: u64,
    /// One row per code with a posted transfer at or before `at`, by code.
    pub rows: Vec<CodeTotal>,
}

/// What a trial balance query is answered with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TrialBalanceAnswer {
    Totals(LedgerTotals),
    /// The index needs the codes of these accounts first (at most `CODES_WANTED_MAX`, oldest
    /// first): ask again with them.
    CodesWanted(Vec<u128>),
}

/// Whether a committed record moves posted balances (module docs).
#[must_use]
pub fn moves_posted_balances(flags: TransferFlags) -> bool {
    !flags.intersects(TransferFlags::PENDING.union(TransferFlags::VOID_PENDING_TRANSFER))
}

/// The posted totals of one (ledger, code) within one chunk.
///
/// ```text
/// ChunkEntry, 48 bytes in memory (align 16)
/// offset size field
///      0   16 debits          low 128 bits of the sum
///     16   16 credits
///     32    4 ledger
///     36    2 code
///     40    4 debit_carries   times the low bits wrapped: a chunk adds at most
///     44    4 credit_carries  records_per_chunk amounts per side, far below 2^32
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct ChunkEntry {
    debits: u128,
    credits: u128,
    ledger: u32,
    code: u16,
    debit_carries: u32,
    credit_carries: u32,
}

const CHUNK_ENTRY_SIZE: usize = 48;
const _: () = assert!(std::mem::size_of::<ChunkEntry>() == CHUNK_ENTRY_SIZE);

/// Which side of a transfer an amount is added to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Debit,
    Credit,
}

impl ChunkEntry {
    fn add(&mut self, side: Side, amount: u128) {
        let (sum, carries) = match side {
            Side::Debit => (&mut self.debits, &mut self.debit_carries),
            Side::Credit => (&mut self.credits, &mut self.credit_carries),
        };
        let (low, wrapped) = sum.overflowing_add(amount);
        *sum = low;
        *carries = carries.saturating_add(u32::from(wrapped));
    }
}

/// Adds `amount` to the `side` of (ledger, code) in a sorted list of entries.
fn add_to(entries: &mut Vec<ChunkEntry>, ledger: u32, code: u16, side: Side, amount: u128) {
    let at = match entries.binary_search_by_key(&(ledger, code), |e| (e.ledger, e.code)) {
        Ok(at) => at,
        Err(at) => {
            let entry =
                ChunkEntry { debits: 0, credits: 0, ledger, code, debit_carries: 0, credit_carries: 0 };
            entries.insert(at, entry);
            at
        }
    };
    if let Some(entry) = entries.get_mut(at) {
        entry.add(side, amount);
    }
}

/// An exact sum of `u128`s: `high * 2^128 + low`. At most 2^40 amounts are ever added (two per
/// record, 2^39 records), so `high` never overflows; it saturates rather than wraps regardless.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct WideSum {
    low: u128,
    high: u64,
}

impl WideSum {
    fn add(&mut self, low: u128, carries: u32) {
        let (sum, wrapped) = self.low.overflowing_add(low);
        self.low = sum;
        self.high = self.high.saturating_add(u64::from(carries)).saturating_add(u64::from(wrapped));
    }

    fn to_u128(self) -> Option<u128> {
        (self.high == 0).then_some(self.low)
    }
}

#[derive(Debug, Default)]
pub struct CodeTotals {
    /// The code of each account, by list number (`None`: not learned yet).
    codes: Vec<Option<u16>>,
    /// Every list number below this has a code.
    codes_known: usize,
    /// Records attributed to codes in `chunks`: a prefix of the file.
    attributed: u64,
    /// Per chunk of the index, the entries of the (ledger, code)s its posted records touch,
    /// sorted by (ledger, code).
    chunks: Vec<Vec<ChunkEntry>>,
    /// Entries the chunks have room for, all together.
    entry_capacity: usize,
}

/// What a running query adds up: per code, the debits and the credits.
type Sums = BTreeMap<u16, (WideSum, WideSum)>;

impl CodeTotals {
    /// Records attributed so far.
    #[cfg(test)]
    #[must_use]
    pub fn attributed(&self) -> u64 {
        self.attributed
    }

    /// Notes the codes of accounts. Accounts the index has no postings for are skipped (they
    /// have no transfer yet; they will be asked for once they do). A code already known is kept:
    /// codes never change.
    pub fn learn(&mut self, accounts: &AccountPostings, codes: &[AccountCode]) {
        for known in codes {
            let Some(number) = accounts.number(known.account_id) else { continue };
            let Ok(number) = usize::try_from(number.to_u64()) else { continue };
            if self.codes.len() <= number {
                self.codes.resize(number + 1, None);
            }
            if let Some(slot) = self.codes.get_mut(number) {
                slot.get_or_insert(known.code);
            }
        }
        while self.codes.get(self.codes_known).is_some_and(Option::is_some) {
            self.codes_known += 1;
        }
    }

    /// The accounts with postings whose code is not known, oldest first, at most `max`. Empty
    /// when every account the index holds has a code, and only then may `attribute` run.
    #[must_use]
    pub fn codes_wanted(&self, accounts: &AccountPostings, max: usize) -> Vec<u128> {
        if self.codes_known >= accounts.account_count() {
            return Vec::new();
        }
        // Numbers are handed out in order and the caller answers what was asked, so the accounts
        // without a code are (nearly always) the numbers from `codes_known` on: look only at the
        // next `max` of them, which `codes_known` itself, unknown by definition, is among.
        let first = self.codes_known as u64;
        let end = first.saturating_add(max as u64);
        let mut wanted: Vec<(u64, u128)> = accounts
            .numbered_from(first)
            .filter(|&(number, _)| {
                number < end
                    && usize::try_from(number)
                        .ok()
                        .and_then(|n| self.codes.get(n).copied().flatten())
                        .is_none()
            })
            .collect();
        // The table's order depends on its per-process hash seed: never let it reach an answer.
        wanted.sort_unstable_by_key(|&(number, _)| number);
        wanted.truncate(max);
        wanted.into_iter().map(|(_, id)| id).collect()
    }

    /// Attributes the records `attributed..limit` to the codes of their accounts, reading them
    /// in `buffer`-sized reads. Every account of those records must have a code
    /// (`codes_wanted` empty). On an error, the records before the failed read stay attributed.
    pub fn attribute<S: RecordSource + ?Sized>(
        &mut self,
        index: &Index,
        source: &S,
        limit: u64,
        buffer: &mut [Record],
    ) -> Result<(), HistoryError> {
        debug_assert!(limit <= index.records(), "only ingested records are attributed");
        while self.attributed < limit && !buffer.is_empty() {
            let count =
                usize::try_from(limit - self.attributed).map_or(buffer.len(), |n| n.min(buffer.len()));
            let records = &mut buffer[..count];
            source.read_records(self.attributed, records)?;
            for (i, record) in records.iter().enumerate() {
                // With many accounts, each lookup of a record's accounts misses the cache: load
                // the table slots of a later record while this one is added.
                if let Some(ahead) = records.get(i + PREFETCH_AHEAD_RECORDS) {
                    index.accounts().prefetch_number(field_u128(ahead, TRANSFER_DEBIT_ACCOUNT_ID_OFFSET));
                    index.accounts().prefetch_number(field_u128(ahead, TRANSFER_CREDIT_ACCOUNT_ID_OFFSET));
                }
                self.attribute_one(index, source, record)?;
                self.attributed += 1;
            }
        }
        Ok(())
    }

    fn attribute_one<S: RecordSource + ?Sized>(
        &mut self,
        index: &Index,
        source: &S,
        record: &Record,
    ) -> Result<(), HistoryError> {
        if !moves_posted_balances(TransferFlags(field_u16(record, TRANSFER_FLAGS_OFFSET))) {
            return Ok(());
        }
        let position = self.attributed;
        let codes = self.codes_of(index.accounts(), record).map_err(|account_id| HistoryError::Corrupt {
            path: source.path().to_path_buf(),
            record: position,
            offset: crate::records::record_offset(position),
            reason: Corruption::PostingMismatch { account_id },
        })?;
        let chunk = usize::try_from(index.chunks().chunk_of(position)).unwrap_or(usize::MAX);
        while self.chunks.len() <= chunk {
            // The chunk before is complete: give back the room its entries grew into.
            if let Some(complete) = self.chunks.last_mut() {
                let before = complete.capacity();
                complete.shrink_to_fit();
                self.entry_capacity -= before - complete.capacity();
            }
            self.chunks.push(Vec::new());
        }
        let Some(entries) = self.chunks.get_mut(chunk) else { return Ok(()) };
        let before = entries.capacity();
        add_entry(entries, record, codes);
        self.entry_capacity += entries.capacity() - before;
        Ok(())
    }

    /// The codes of a record's debit and credit accounts; `Err(id)` for an account the index
    /// holds no code (or no list) for.
    fn codes_of(&self, accounts: &AccountPostings, record: &Record) -> Result<(u16, u16), u128> {
        let code = |id: u128| {
            accounts
                .number(id)
                .and_then(|n| usize::try_from(n.to_u64()).ok())
                .and_then(|n| self.codes.get(n).copied().flatten())
                .ok_or(id)
        };
        Ok((
            code(field_u128(record, TRANSFER_DEBIT_ACCOUNT_ID_OFFSET))?,
            code(field_u128(record, TRANSFER_CREDIT_ACCOUNT_ID_OFFSET))?,
        ))
    }

    /// The totals of `ledger` as of `at`, over the records before `position.transfers`, which
    /// must all be attributed.
    pub fn ledger_totals<S: RecordSource + ?Sized>(
        &self,
        index: &Index,
        source: &S,
        request: (u32, Option<u64>),
        position: IndexPosition,
        buffer: &mut [Record],
    ) -> Result<LedgerTotals, HistoryError> {
        let (ledger, at) = request;
        let limit = position.transfers;
        debug_assert_eq!(self.attributed, limit, "attribute before asking for totals");
        if limit == 0 {
            return Ok(LedgerTotals { ledger, position, at: 0, rows: Vec::new() });
        }
        let newest = source.read_timestamp(limit - 1)?;
        let at = match at {
            Some(at) if at < newest => at,
            _ => newest,
        };
        let chunks = index.chunks();
        let mut sums = Sums::new();
        if at == newest {
            for entries in &self.chunks {
                add_chunk(&mut sums, entries, ledger);
            }
        } else {
            // Chunks starting at or before `at`: all but the last are wholly at or before it
            // (the next one starts at or before `at`); `at` falls into the last one.
            let starting = chunks.chunks_starting_at_or_before(at);
            if let Some(last) = starting.checked_sub(1) {
                let whole = usize::try_from(last).unwrap_or(usize::MAX);
                for entries in self.chunks.iter().take(whole) {
                    add_chunk(&mut sums, entries, ledger);
                }
                let start = chunks.chunk_start(last);
                let end = chunks.chunk_start(last + 1).min(limit);
                self.add_records_until(&mut sums, (index, source), (start, end), (ledger, at), buffer)?;
            }
        }
        let mut rows = Vec::with_capacity(sums.len());
        for (code, (debits, credits)) in sums {
            let (Some(debits), Some(credits)) = (debits.to_u128(), credits.to_u128()) else {
                return Err(HistoryError::TotalOverflow { ledger, code });
            };
            rows.push(CodeTotal { code, debits, credits });
        }
        Ok(LedgerTotals { ledger, position, at, rows })
    }

    /// Adds the posted records of `ledger` in `start..end` with a timestamp at or before `at`.
    fn add_records_until<S: RecordSource + ?Sized>(
        &self,
        sums: &mut Sums,
        (index, source): (&Index, &S),
        (mut start, end): (u64, u64),
        (ledger, at): (u32, u64),
        buffer: &mut [Record],
    ) -> Result<(), HistoryError> {
        let mut entries = Vec::new();
        'reads: while start < end && !buffer.is_empty() {
            let count = usize::try_from(end - start).map_or(buffer.len(), |n| n.min(buffer.len()));
            let records = &mut buffer[..count];
            source.read_records(start, records)?;
            for (record, position) in records.iter().zip(start..) {
                if field_u64(record, TRANSFER_TIMESTAMP_OFFSET) > at {
                    break 'reads;
                }
                if field_u32(record, TRANSFER_LEDGER_OFFSET) != ledger
                    || !moves_posted_balances(TransferFlags(field_u16(record, TRANSFER_FLAGS_OFFSET)))
                {
                    continue;
                }
                let codes =
                    self.codes_of(index.accounts(), record).map_err(|account_id| HistoryError::Corrupt {
                        path: source.path().to_path_buf(),
                        record: position,
                        offset: crate::records::record_offset(position),
                        reason: Corruption::PostingMismatch { account_id },
                    })?;
                add_entry(&mut entries, record, codes);
            }
            start += count as u64;
        }
        add_chunk(sums, &entries, ledger);
        Ok(())
    }

    /// Bytes held: the code table and the chunk entries.
    #[must_use]
    pub fn allocated_bytes(&self) -> usize {
        self.codes.capacity() * std::mem::size_of::<Option<u16>>()
            + self.chunks.capacity() * std::mem::size_of::<Vec<ChunkEntry>>()
            + self.entry_capacity * CHUNK_ENTRY_SIZE
    }
}

/// Adds a posted record to the entries of its ledger and its accounts' codes.
fn add_entry(entries: &mut Vec<ChunkEntry>, record: &Record, (debit_code, credit_code): (u16, u16)) {
    let ledger = field_u32(record, TRANSFER_LEDGER_OFFSET);
    let amount = field_u128(record, TRANSFER_AMOUNT_OFFSET);
    add_to(entries, ledger, debit_code, Side::Debit, amount);
    add_to(entries, ledger, credit_code, Side::Credit, amount);
}

/// Adds the entries of `ledger` (a contiguous run: entries are sorted by ledger first).
fn add_chunk(sums: &mut Sums, entries: &[ChunkEntry], ledger: u32) {
    let first = entries.partition_point(|e| e.ledger < ledger);
    for entry in entries[first..].iter().take_while(|e| e.ledger == ledger) {
        let (debits, credits) = sums.entry(entry.code).or_default();
        debits.add(entry.debits, entry.debit_carries);
        credits.add(entry.credits, entry.credit_carries);
    }
}

#[cfg(test)]
mod tests;
