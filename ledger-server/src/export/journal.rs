//! The journal export: every journal line of the entries created by a range of WAL ops, in
//! commit order. A transfer is two journal lines: its debit account debited by the amount, then
//! its credit account credited by it. Entries are grouped as the journal views group them
//! (`http::journal::JournalGrouping`): an event's chain, a reversal's chain, or one transfer
//! created directly.
//!
//! Which entries: those whose op is in `from_op..=to_op`. The range is fixed once, at the
//! start, as a range of commit timestamps: from just before the first transfer of the first op
//! at or after `from_op`, to just before the first transfer of the first op after `to_op` (or
//! the newest durable transfer, when no such op is durable yet: the export then ends at what is
//! durable). A chain is applied in one batch, so an op boundary never cuts an entry.
//!
//! Then it pages through the history index in commit order, `page_transfers` at a time, and
//! emits only whole entries: when a full page ends inside a chain that may go on, the page stops
//! before that chain and the next page starts with it (`JournalGrouping::complete_entries`).
//! A page is as long as the longest chain can be plus one at least, so every full page holds a
//! whole entry. Per page, the accounts are looked up in the engine (codes) and the entries'
//! records in the journal (op, event id, subjects, ...). A reversal records no subjects of its
//! own: its rows carry the subjects of the event it reverses, read from that event's record,
//! so that reports by subject (per loan note, per customer) add the reversal up with the
//! entry it cancels.

use super::format::{Cell, RowEncoder};
use super::{ExportError, ExportFormat};
use crate::http::journal::{EntryKind, JournalGrouping};
use crate::service::{LedgerService, ServiceError};
use ledger_core::{Account, BATCH_EVENTS_MAX, QueryFilter, Transfer, TransferFlags};
use ledger_events::amount::format_minor_units;
use ledger_events::posting::{EntrySide, entry_transfer_id};
use ledger_events::{BusinessDate, Chart, EventNote};
use std::collections::{BTreeSet, HashMap};
use std::ops::Range;

/// The journal export's columns, in order (`docs/exports.md` says what each holds).
pub const JOURNAL_COLUMNS: [&str; 21] = [
    "op",
    "entry_kind",
    "event_id",
    "event_type",
    "reverses",
    "business_date",
    "chart_version",
    "transfer_id",
    "transfer_code",
    "phase",
    "pending_id",
    "line",
    "account_id",
    "account_code",
    "account_name",
    "subjects",
    "debit",
    "credit",
    "currency",
    "ledger",
    "metadata",
];

/// Rows built before they are encoded and dropped (whole entries, so a few more at most).
const ROWS_PER_ENCODE: usize = 512;

/// One row: a cell per column of `JOURNAL_COLUMNS`.
pub type JournalRow = [Cell; JOURNAL_COLUMNS.len()];

/// An inclusive range of WAL ops. `to_op: None` is everything durable when the export starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpRange {
    pub from_op: u64,
    pub to_op: Option<u64>,
}

impl OpRange {
    /// Every op.
    pub const ALL: Self = Self { from_op: 0, to_op: None };

    /// `from_op..=to_op`; absent bounds are open.
    ///
    /// # Errors
    /// A message when `from_op > to_op`.
    pub fn new(from_op: Option<u64>, to_op: Option<u64>) -> Result<Self, String> {
        let from_op = from_op.unwrap_or(0);
        match to_op {
            Some(to_op) if from_op > to_op => {
                Err(format!("from_op ({from_op}) must not be greater than to_op ({to_op})"))
            }
            _ => Ok(Self { from_op, to_op }),
        }
    }
}

/// How a transfer moves balances: only `posted` and `post_pending` lines move posted balances
/// (and so add up to the trial balance); `pending` reserves and `void_pending` releases.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// A single-phase transfer.
    Posted,
    /// A two-phase transfer's reservation.
    Pending,
    /// The post of a pending transfer: the amount actually posted.
    PostPending,
    /// The void of a pending transfer.
    VoidPending,
}

impl Phase {
    #[must_use]
    pub const fn of(flags: TransferFlags) -> Self {
        if flags.contains(TransferFlags::PENDING) {
            Self::Pending
        } else if flags.contains(TransferFlags::POST_PENDING_TRANSFER) {
            Self::PostPending
        } else if flags.contains(TransferFlags::VOID_PENDING_TRANSFER) {
            Self::VoidPending
        } else {
            Self::Posted
        }
    }

    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Posted => "posted",
            Self::Pending => "pending",
            Self::PostPending => "post_pending",
            Self::VoidPending => "void_pending",
        }
    }
}

/// A journal export in progress. Holds one page at a time, never the export.
#[derive(Debug)]
pub struct JournalExport {
    service: LedgerService,
    encoder: RowEncoder<{ JOURNAL_COLUMNS.len() }>,
    /// The last commit timestamp exported (or the one just before the range).
    after: u64,
    /// The last commit timestamp of the range, fixed at the start.
    timestamp_max: u64,
    page_transfers: u32,
    header_written: bool,
    done: bool,
}

impl JournalExport {
    /// Starts exporting the entries of `range`, `EXPORT_PAGE_TRANSFERS` transfers a page.
    ///
    /// # Errors
    /// `ServiceError` when the engine or the journal cannot answer.
    pub async fn open(
        service: LedgerService,
        range: OpRange,
        format: ExportFormat,
    ) -> Result<Self, ServiceError> {
        Self::with_page(service, range, format, super::EXPORT_PAGE_TRANSFERS).await
    }

    /// `open` with another page length (tests page through small histories with short pages).
    /// The length is raised to one more than the longest chain if it is shorter, so that every
    /// full page holds a whole entry, and capped at `EXPORT_PAGE_TRANSFERS`.
    ///
    /// # Errors
    /// `ServiceError` when the engine or the journal cannot answer.
    pub async fn with_page(
        service: LedgerService,
        range: OpRange,
        format: ExportFormat,
        page_transfers: u32,
    ) -> Result<Self, ServiceError> {
        let chain_len_max = u32::try_from(chain_len_max(service.chart())).unwrap_or(u32::MAX);
        let page_transfers =
            page_transfers.max(chain_len_max.saturating_add(1)).min(super::EXPORT_PAGE_TRANSFERS);
        // Read-your-writes: an engine read answers once everything queued before it is durable,
        // so the range below covers every op acknowledged before the export was asked for.
        service.lookup_accounts(Vec::new()).await?;
        let after = service.journal_cursor_before_op(range.from_op)?;
        // The cursor before an op no transfer can have is the newest durable transfer's: the
        // end of what is durable now.
        let to_next_op = range.to_op.and_then(|op| op.checked_add(1)).unwrap_or(u64::MAX);
        let timestamp_max = service.journal_cursor_before_op(to_next_op)?;
        Ok(Self {
            service,
            encoder: RowEncoder { format, columns: &JOURNAL_COLUMNS },
            after,
            timestamp_max,
            page_transfers,
            header_written: false,
            done: false,
        })
    }

    #[must_use]
    pub const fn format(&self) -> ExportFormat {
        self.encoder.format
    }

    /// The next page of rows, encoded (the first one after the CSV header); `None` once the
    /// range is exported.
    ///
    /// # Errors
    /// `ExportError`; the export cannot go on after one.
    pub async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, ExportError> {
        let mut out = Vec::new();
        if !self.header_written {
            self.encoder.header(&mut out)?;
            self.header_written = true;
        }
        self.next_page(&mut out).await?;
        Ok((!out.is_empty()).then_some(out))
    }

    /// Appends the rows of the next page of whole entries to `out`; nothing once the range is
    /// exported. Rows are encoded `ROWS_PER_ENCODE` at a time, so the page is held as
    /// transfers and as bytes, never as rows of cells.
    async fn next_page(&mut self, out: &mut Vec<u8>) -> Result<(), ExportError> {
        if self.done || self.after >= self.timestamp_max {
            self.done = true;
            return Ok(());
        }
        let filter = QueryFilter {
            // `after < timestamp_max`, so this does not overflow.
            timestamp_min: self.after + 1,
            timestamp_max: self.timestamp_max,
            limit: self.page_transfers,
            ..QueryFilter::default()
        };
        let transfers = self.service.query_transfers(filter).await?.items;
        // The range was durable when the export started: a short read is its end.
        self.done = u32::try_from(transfers.len()).is_ok_and(|n| n < self.page_transfers);
        let Some(last) = transfers.last() else {
            self.done = true;
            return Ok(());
        };
        if last.timestamp > self.timestamp_max || last.timestamp <= self.after {
            return Err(ServiceError::Failed(format!(
                "the history index answered timestamp {} for the range {}..={}",
                last.timestamp,
                self.after + 1,
                self.timestamp_max
            ))
            .into());
        }
        let chart = self.service.chart();
        let grouping = JournalGrouping::new(chart);
        let entries = grouping.complete_entries(&transfers, self.page_transfers);
        let Some(whole) = entries.last().map(|range| range.end) else {
            return Err(ExportError::NoWholeEntry { after: self.after, page_transfers: self.page_transfers });
        };
        let transfers = &transfers[..whole];
        let books = Books::read(&self.service, chart, transfers, &grouping, &entries).await?;
        let mut rows = Vec::with_capacity(ROWS_PER_ENCODE + 2 * chain_len_max(chart));
        for range in entries {
            books.entry_rows(&grouping, &transfers[range], &mut rows);
            if rows.len() >= ROWS_PER_ENCODE {
                self.encoder.rows(&rows, out)?;
                rows.clear();
            }
        }
        self.encoder.rows(&rows, out)?;
        self.after = transfers.last().map_or(self.after, |t| t.timestamp);
        Ok(())
    }
}

/// The longest chain an event can post: the most postings of any template (at least 1).
fn chain_len_max(chart: &Chart) -> usize {
    chart.templates().map(|t| t.postings.len()).max().unwrap_or(0).max(1)
}

/// What one page's rows need besides its transfers.
struct Books<'a> {
    chart: &'a Chart,
    accounts: HashMap<u128, Account>,
    /// By the timestamp of an entry's first transfer: the op that created it and its record.
    notes: HashMap<u64, EntryRecord>,
    /// By event id: the subjects of the events this page's reversals reverse.
    reversed_subjects: HashMap<String, Vec<(String, String)>>,
}

impl<'a> Books<'a> {
    async fn read(
        service: &LedgerService,
        chart: &'a Chart,
        transfers: &[Transfer],
        grouping: &JournalGrouping<'_>,
        entries: &[Range<usize>],
    ) -> Result<Self, ServiceError> {
        let ids: BTreeSet<u128> =
            transfers.iter().flat_map(|t| [t.debit_account_id, t.credit_account_id]).collect();
        let ids: Vec<u128> = ids.into_iter().collect();
        let mut accounts = HashMap::with_capacity(ids.len());
        for batch in ids.chunks(BATCH_EVENTS_MAX) {
            accounts.extend(service.lookup_accounts(batch.to_vec()).await?.into_iter().map(|a| (a.id, a)));
        }
        let firsts: Vec<u64> = entries.iter().map(|range| transfers[range.start].timestamp).collect();
        let notes: HashMap<u64, EntryRecord> = read_notes(service, &firsts)?.into_iter().collect();
        // The reversed events' first transfers lead to their records.
        let reversed: BTreeSet<&str> = entries
            .iter()
            .filter(|range| grouping.kind(&transfers[range.start]) == EntryKind::Reversal)
            .filter_map(|range| notes.get(&transfers[range.start].timestamp))
            .filter_map(|(_, note)| note.as_ref()?.reverses.as_deref())
            .collect();
        let mut reversed_subjects = HashMap::with_capacity(reversed.len());
        if !reversed.is_empty() {
            let ids: Vec<u128> =
                reversed.iter().map(|id| entry_transfer_id(EntrySide::Original, id, 0)).collect();
            let mut originals = Vec::with_capacity(ids.len());
            for batch in ids.chunks(BATCH_EVENTS_MAX) {
                originals.extend(service.lookup_transfers(batch.to_vec()).await?);
            }
            let timestamps: Vec<u64> = originals.iter().map(|t| t.timestamp).collect();
            for (_, (_, note)) in read_notes(service, &timestamps)? {
                if let Some(note) = note {
                    reversed_subjects.insert(note.event_id, note.subjects);
                }
            }
        }
        Ok(Self { chart, accounts, notes, reversed_subjects })
    }

    /// The rows of one entry (`transfers`: one range of `grouping.entries`, not empty).
    fn entry_rows(&self, grouping: &JournalGrouping<'_>, transfers: &[Transfer], rows: &mut Vec<JournalRow>) {
        let Some(first) = transfers.first() else { return };
        let kind = grouping.kind(first);
        let (op, note) =
            self.notes.get(&first.timestamp).map_or((None, None), |(op, note)| (*op, note.as_ref()));
        let event = (kind != EntryKind::Transfer).then_some(note).flatten();
        let subjects = match kind {
            EntryKind::Transfer => None,
            EntryKind::Event => Some(event.map_or_else(String::new, |n| subjects_text(&n.subjects))),
            EntryKind::Reversal => Some(
                event
                    .and_then(|n| self.reversed_subjects.get(n.reverses.as_deref()?))
                    .map_or_else(String::new, |subjects| subjects_text(subjects)),
            ),
        };
        let business_date = match kind {
            EntryKind::Transfer => None,
            _ => {
                event.map(|n| n.business_date.to_string()).or_else(|| business_date_text(first.user_data_64))
            }
        };
        let entry = EntryCells {
            op: Cell::text(op.map(|op| op.to_string())),
            kind: Cell::Text(kind.name().to_owned()),
            event_id: Cell::text(event.map(|n| n.event_id.clone())),
            event_type: Cell::text(
                (kind != EntryKind::Transfer).then(|| grouping.event_type(first.code)).flatten(),
            ),
            reverses: Cell::text(event.and_then(|n| n.reverses.clone())),
            business_date: Cell::text(business_date),
            chart_version: Cell::int(event.map(|n| n.chart_version)),
            subjects: Cell::text(subjects),
            metadata: Cell::text(event.map(|n| n.metadata.clone())),
        };
        for transfer in transfers {
            self.transfer_rows(&entry, transfer, rows);
        }
    }

    /// A transfer's debit line, then its credit line.
    fn transfer_rows(&self, entry: &EntryCells, transfer: &Transfer, rows: &mut Vec<JournalRow>) {
        let ledger = self.chart.ledger(transfer.ledger);
        let scale = ledger.map_or(0, |l| l.scale);
        let amount = format_minor_units(transfer.amount, scale);
        let zero = format_minor_units(0, scale);
        let lines = [
            ("debit", transfer.debit_account_id, amount.clone(), zero.clone()),
            ("credit", transfer.credit_account_id, zero, amount),
        ];
        for (line, account_id, debit, credit) in lines {
            let code = self.accounts.get(&account_id).map(|a| a.code);
            let name = code.and_then(|c| self.chart.account(c)).map(|spec| spec.name.clone());
            rows.push([
                entry.op.clone(),
                entry.kind.clone(),
                entry.event_id.clone(),
                entry.event_type.clone(),
                entry.reverses.clone(),
                entry.business_date.clone(),
                entry.chart_version.clone(),
                Cell::Text(transfer.id.to_string()),
                Cell::Int(u32::from(transfer.code)),
                Cell::Text(Phase::of(transfer.flags).name().to_owned()),
                Cell::text((transfer.pending_id != 0).then(|| transfer.pending_id.to_string())),
                Cell::Text(line.to_owned()),
                Cell::Text(account_id.to_string()),
                Cell::int(code),
                Cell::text(name),
                entry.subjects.clone(),
                Cell::Text(debit),
                Cell::Text(credit),
                Cell::text(ledger.map(|l| l.currency.clone())),
                Cell::Int(transfer.ledger),
                entry.metadata.clone(),
            ]);
        }
    }
}

/// The cells every line of one entry shares.
struct EntryCells {
    op: Cell,
    kind: Cell,
    event_id: Cell,
    event_type: Cell,
    reverses: Cell,
    business_date: Cell,
    chart_version: Cell,
    subjects: Cell,
    metadata: Cell,
}

/// The op that created an entry, and the record of its event (none for a plain transfer).
type EntryRecord = (Option<u64>, Option<EventNote>);

/// The op and the decoded record of the entries starting at these timestamps. A record that
/// does not decode is shown as missing (and logged): the transfers still say what was posted.
fn read_notes(service: &LedgerService, timestamps: &[u64]) -> Result<Vec<(u64, EntryRecord)>, ServiceError> {
    let found = service.journal_entries(timestamps)?;
    Ok(timestamps
        .iter()
        .copied()
        .zip(found)
        .map(|(timestamp, (op, note))| {
            let note = note.and_then(|n| match EventNote::decode(&n.payload) {
                Ok(note) => Some(note),
                Err(error) => {
                    tracing::error!(timestamp, %error, "an event record in journal.log does not decode");
                    None
                }
            });
            (timestamp, (op, note))
        })
        .collect())
}

/// Subjects as `key=value;key=value`, sorted by key. `\`, `;` and `=` inside a key or value are
/// escaped with `\`, so the text splits back unambiguously.
#[must_use]
pub fn subjects_text(subjects: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = subjects.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut text = String::new();
    for (i, (key, value)) in sorted.into_iter().enumerate() {
        if i > 0 {
            text.push(';');
        }
        escape_into(&mut text, key);
        text.push('=');
        escape_into(&mut text, value);
    }
    text
}

fn escape_into(text: &mut String, part: &str) {
    for c in part.chars() {
        if matches!(c, '\\' | ';' | '=') {
            text.push('\\');
        }
        text.push(c);
    }
}

/// `YYYYMMDD` (an event transfer's `user_data_64`) as `YYYY-MM-DD`, if it is a real date: the
/// business date of an entry whose record is missing.
fn business_date_text(yyyymmdd: u64) -> Option<String> {
    let year = u16::try_from(yyyymmdd / 10_000).ok()?;
    let month = u8::try_from(yyyymmdd / 100 % 100).ok()?;
    let day = u8::try_from(yyyymmdd % 100).ok()?;
    BusinessDate::new(year, month, day).map(|date| date.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn subjects_are_sorted_by_key_and_escaped() {
        assert_eq!(subjects_text(&[]), "");
        assert_eq!(
            subjects_text(&pairs(&[("loan_note", "L1"), ("customer", "C1"), ("channel", "CH1")])),
            "channel=CH1;customer=C1;loan_note=L1"
        );
        assert_eq!(subjects_text(&pairs(&[("k", r"a;b=c\d")])), r"k=a\;b\=c\\d");
    }

    #[test]
    fn op_ranges_are_inclusive_and_ordered() {
        assert_eq!(OpRange::new(None, None), Ok(OpRange::ALL));
        assert_eq!(OpRange::new(Some(3), Some(3)), Ok(OpRange { from_op: 3, to_op: Some(3) }));
        assert_eq!(OpRange::new(None, Some(0)), Ok(OpRange { from_op: 0, to_op: Some(0) }));
        assert!(OpRange::new(Some(4), Some(3)).expect_err("backwards").contains("from_op (4)"));
    }

    #[test]
    fn phases_follow_the_two_phase_flags() {
        assert_eq!(Phase::of(TransferFlags::NONE), Phase::Posted);
        assert_eq!(Phase::of(TransferFlags::LINKED), Phase::Posted);
        assert_eq!(Phase::of(TransferFlags::PENDING), Phase::Pending);
        assert_eq!(Phase::of(TransferFlags::POST_PENDING_TRANSFER), Phase::PostPending);
        assert_eq!(Phase::of(TransferFlags::VOID_PENDING_TRANSFER), Phase::VoidPending);
        for flags in [
            TransferFlags::NONE,
            TransferFlags::PENDING,
            TransferFlags::POST_PENDING_TRANSFER,
            TransferFlags::VOID_PENDING_TRANSFER,
        ] {
            let moves = matches!(Phase::of(flags), Phase::Posted | Phase::PostPending);
            assert_eq!(moves, ledger_history::moves_posted_balances(flags), "{flags:?}");
        }
    }

    #[test]
    fn business_dates_render_only_when_real() {
        assert_eq!(business_date_text(20_240_229).as_deref(), Some("2024-02-29"));
        for bad in [0, 20_230_229, u64::MAX] {
            assert_eq!(business_date_text(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_longest_chain_is_the_longest_template() {
        let chart = Chart::shipped_default();
        let longest = chart.templates().map(|t| t.postings.len()).max().expect("templates");
        assert_eq!(chain_len_max(&chart), longest);
        assert!(chain_len_max(&chart) < super::super::EXPORT_PAGE_TRANSFERS as usize);
    }
}
