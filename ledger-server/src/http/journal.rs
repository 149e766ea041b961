//! Journal views of standard ledger events: `GET /v1/events/{event_id}` (one event's entry, the
//! accounts it touched and its reversal) and `GET /v1/journal` (posted journal entries in commit
//! order, which doubles as a polling change feed).
//!
//! Neither keeps state of its own; both read back what `LedgerService::post_events` wrote
//! (`ledger_events::posting`, `docs/events.md`):
//! - an event's transfers have ids derived from its event id, so the event view is one lookup by
//!   id: its entry is the found prefix of `entry_transfer_ids`, its reversal the found prefix of
//!   the `EntrySide::Reversal` ids of the same event id;
//! - the journal reads transfers in timestamp order from the history index and groups them back
//!   into entries. An event's entry is one linked chain applied atomically in one batch, so its
//!   transfers are contiguous in commit order, share the event's body hash (`user_data_128`),
//!   entry kind (`user_data_32`), ledger and transfer code (a template's), and every one but the
//!   last is `linked`. A chain is never longer than the longest template. Any transfer that is not
//!   such a chain member (created with `create_transfers`, say) is an entry of its own.
//!
//! A journal page never splits an entry: when a full read ends inside a chain that may go on,
//! the page stops before that chain (`JournalGrouping::complete_entries`), and `next_after` is
//! the last timestamp returned. Timestamps are unique and increase in commit order, so resuming
//! with `after=next_after` loses and repeats nothing, whatever was posted in between.

use super::HttpState;
use super::error::{ApiError, ErrorCode};
use super::history::position_json;
use super::params::{PAGE_LIMIT_DEFAULT, PAGE_LIMIT_MAX, invalid_query};
use crate::service::{LedgerService, ServiceError};
use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use ledger_core::{BATCH_EVENTS_MAX, QueryFilter, Transfer, TransferFlags};
use ledger_events::amount::format_minor_units;
use ledger_events::event::EVENT_ID_BYTES_MAX;
use ledger_events::plan::{ENTRY_KIND_ORIGINAL, ENTRY_KIND_REVERSAL};
use ledger_events::posting::{EntrySide, entry_transfer_id, entry_transfer_ids};
use ledger_events::{BusinessDate, Chart, EventNote};
use ledger_history::IndexPosition;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::ops::Range;

/// The error code of `GET /v1/events/{event_id}` when no transfer of the event's entry exists.
/// Kept here rather than in `ErrorCode` (`error.rs`) so this slice touches only its own files;
/// the OpenAPI document lists it with the others.
pub const EVENT_NOT_FOUND: &str = "event_not_found";

/// An error answer of the journal routes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JournalError {
    /// 404 `event_not_found`: the event was never posted, or was refused.
    EventNotFound,
    Api(ApiError),
}

impl From<ApiError> for JournalError {
    fn from(error: ApiError) -> Self {
        Self::Api(error)
    }
}

impl From<ServiceError> for JournalError {
    fn from(error: ServiceError) -> Self {
        Self::Api(error.into())
    }
}

impl IntoResponse for JournalError {
    fn into_response(self) -> Response {
        match self {
            Self::EventNotFound => {
                (StatusCode::NOT_FOUND, Json(json!({ "error": EVENT_NOT_FOUND }))).into_response()
            }
            Self::Api(error) => error.into_response(),
        }
    }
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JournalQuery {
    after: Option<u64>,
    /// Start at the first entry of this WAL op instead of after a timestamp.
    from_op: Option<u64>,
    limit: Option<u64>,
    /// Long-poll: with nothing after `after`, wait up to this long (`feed.rs`).
    wait_ms: Option<u64>,
}

/// `GET /v1/events/{event_id}`.
pub async fn event(
    State(state): State<HttpState>,
    event_id: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, JournalError> {
    let event_id = parse_event_id(event_id)?;
    let chart = state.service.chart();
    let postings_max = postings_max(chart);
    let entry_ids = entry_transfer_ids(&event_id, postings_max);
    let reversal_ids = reversal_transfer_ids(&event_id, postings_max);
    let ids: Vec<u128> = entry_ids.iter().chain(&reversal_ids).copied().collect();
    let found = lookup_transfers(&state.service, &ids).await?;
    let entry = chain_prefix(&entry_ids, &found);
    if entry.is_empty() {
        return Err(JournalError::EventNotFound);
    }
    let reversal = chain_prefix(&reversal_ids, &found);
    let mut books = Books::read(&state.service, chart, entry.iter().chain(&reversal)).await?;
    books.read_notes(
        &state.service,
        [entry.first(), reversal.first()].into_iter().flatten().map(|t| t.timestamp),
    )?;
    // Read after the lookups: everything they saw is durable by this op.
    let current_to = json!({ "op": state.service.durable_op().to_string() });
    Ok(Json(books.event_json(&event_id, &entry, &reversal, current_to)))
}

/// `GET /v1/journal?after=&limit=&wait_ms=`.
pub async fn journal(
    State(state): State<HttpState>,
    query: Result<Query<JournalQuery>, QueryRejection>,
) -> Result<Response, JournalError> {
    let Query(query) = query.map_err(|e| invalid_query(&e))?;
    let after = match (query.after, query.from_op) {
        (Some(_), Some(_)) => {
            return Err(ApiError::new(ErrorCode::InvalidQuery, "give `after` or `from_op`, not both").into());
        }
        (_, Some(op)) => state.service.journal_cursor_before_op(op)?,
        (after, None) => after.unwrap_or(0),
    };
    let limit = parse_limit(query.limit)?;
    let wait = super::feed::parse_wait_ms(query.wait_ms)?;
    let page = super::feed::journal_page_waiting(&state.service, after, limit, wait).await?;
    Ok(([(axum::http::header::CONTENT_TYPE, "application/json")], page.to_json()).into_response())
}

/// One page of the journal: the whole entries committed after timestamp `after`, at most
/// `limit` transfers (more only when one entry alone is longer), as `GET /v1/journal` answers
/// it (`JournalPage::to_json`). Shared by every reader of the journal (HTTP, the change feed).
pub async fn journal_page(
    service: &LedgerService,
    after: u64,
    limit: u32,
) -> Result<JournalPage, JournalError> {
    let chart = service.chart();
    let grouping = JournalGrouping::new(chart);
    // Nothing has a timestamp after u64::MAX.
    let Some(timestamp_min) = after.checked_add(1) else {
        return Ok(JournalPage {
            entries: Vec::new(),
            next_after: after,
            current_to: service.index_position(),
        });
    };
    // The journal reads what is durable and announced: a reader that got the answer of its
    // write, or woke on a durable point, sees it without passing the writer
    // (`query_transfers_announced`).
    let read = |limit: u32| {
        service.query_transfers_announced(QueryFilter { timestamp_min, limit, ..QueryFilter::default() })
    };
    let first = read(limit).await?;
    let mut transfers = first.items;
    let mut current_to = first.current_to;
    let mut entries = grouping.complete_entries(&transfers, limit);
    if entries.is_empty() && !transfers.is_empty() {
        // One chain alone is longer than `limit`: read far enough to hold it whole, and
        // answer with it alone.
        let limit = limit.saturating_add(grouping.chain_len_max_u32()).min(PAGE_LIMIT_MAX);
        let second = read(limit).await?;
        transfers = second.items;
        current_to = second.current_to;
        entries = grouping.complete_entries(&transfers, limit);
        entries.truncate(1);
    }
    let returned = entries.last().map_or(0, |last| last.end);
    transfers.truncate(returned);
    let mut books = Books::read(service, chart, transfers.iter()).await?;
    books.read_notes(service, entries.iter().map(|range| transfers[range.start].timestamp))?;
    let entries = entries
        .into_iter()
        .map(|range| {
            let entry = &transfers[range];
            let cursor = entry.last().map_or(after, |t| t.timestamp);
            let json = serde_json::to_string(&books.entry(&grouping, entry))
                .map_err(|e| ApiError::new(ErrorCode::Failed, format!("journal entry: {e}")))?;
            Ok(PageEntry { cursor, json })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    Ok(JournalPage { entries, next_after: transfers.last().map_or(after, |t| t.timestamp), current_to })
}

/// A page of the journal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JournalPage {
    /// Whole entries in commit order.
    pub entries: Vec<PageEntry>,
    /// The cursor to read on from: the last entry's, or the request's `after` when empty.
    pub next_after: u64,
    /// The index position the page was read at.
    pub current_to: IndexPosition,
}

/// One journal entry of a page, already serialised (each is written once, whichever way it
/// goes out: a page, an SSE event, a binary reply).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageEntry {
    /// The entry's cursor: its last transfer's timestamp (`last_timestamp`).
    pub cursor: u64,
    /// The entry as a JSON object (`JournalEntry` in the OpenAPI document).
    pub json: String,
}

impl JournalPage {
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The page as JSON: `{"entries":[...],"next_after":"<ts>","current_to":{...}}`.
    #[must_use]
    pub fn to_json(&self) -> Vec<u8> {
        let entries_len: usize = self.entries.iter().map(|e| e.json.len() + 1).sum();
        let mut out = Vec::with_capacity(entries_len + 128);
        out.extend_from_slice(b"{\"entries\":[");
        for (i, entry) in self.entries.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(entry.json.as_bytes());
        }
        out.extend_from_slice(format!("],\"next_after\":\"{}\",\"current_to\":", self.next_after).as_bytes());
        out.extend_from_slice(position_json(self.current_to).to_string().as_bytes());
        out.push(b'}');
        out
    }
}

/// An event id as the path carried it (URL-decoded): any non-empty string of at most
/// `EVENT_ID_BYTES_MAX` bytes. Longer or empty ids can never have been posted.
fn parse_event_id(id: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    let Path(text) = id.map_err(|e| ApiError::new(ErrorCode::InvalidId, e.body_text()))?;
    if text.is_empty() || text.len() > EVENT_ID_BYTES_MAX {
        return Err(ApiError::new(
            ErrorCode::InvalidId,
            format!("an event id is 1..={EVENT_ID_BYTES_MAX} bytes of UTF-8, got {} bytes", text.len()),
        ));
    }
    Ok(text)
}

/// Transfers per journal page: 1..=`PAGE_LIMIT_MAX`, `PAGE_LIMIT_DEFAULT` when absent.
pub fn parse_limit(limit: Option<u64>) -> Result<u32, ApiError> {
    let Some(limit) = limit else { return Ok(PAGE_LIMIT_DEFAULT) };
    u32::try_from(limit).ok().filter(|l| (1..=PAGE_LIMIT_MAX).contains(l)).ok_or_else(|| {
        ApiError::new(ErrorCode::InvalidLimit, format!("limit must be 1..={PAGE_LIMIT_MAX}, got {limit}"))
    })
}

/// The most postings of any template: the longest an entry's chain can be.
fn postings_max(chart: &Chart) -> usize {
    chart.templates().map(|t| t.postings.len()).max().unwrap_or(0)
}

/// The ids the reversal of `event_id` would have, posting by posting.
fn reversal_transfer_ids(event_id: &str, postings_max: usize) -> Vec<u128> {
    (0..u32::try_from(postings_max).unwrap_or(u32::MAX))
        .map(|i| entry_transfer_id(EntrySide::Reversal, event_id, i))
        .collect()
}

/// The transfers with these ids, found ones only, by id. Lookups are split into batches the
/// writer serves in one read each.
async fn lookup_transfers(
    service: &LedgerService,
    ids: &[u128],
) -> Result<HashMap<u128, Transfer>, ServiceError> {
    let answers: Vec<_> =
        ids.chunks(BATCH_EVENTS_MAX).map(|c| service.lookup_transfers(c.to_vec())).collect();
    let mut found = HashMap::with_capacity(ids.len());
    for answer in answers {
        found.extend(answer.await?.into_iter().map(|t| (t.id, t)));
    }
    Ok(found)
}

/// A chain is the longest prefix of its derived ids that exists: it was posted atomically, so
/// a gap means the chain ended.
fn chain_prefix(ids: &[u128], found: &HashMap<u128, Transfer>) -> Vec<Transfer> {
    ids.iter().map_while(|id| found.get(id).copied()).collect()
}

/// What a journal entry records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    /// The entry a standard ledger event posted.
    Event,
    /// The mirror entry of a reversal event.
    Reversal,
    /// A transfer created directly (`create_transfers`), not by an event.
    Transfer,
}

impl EntryKind {
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Event => "event",
            Self::Reversal => "reversal",
            Self::Transfer => "transfer",
        }
    }
}

/// How transfers in commit order group into journal entries (module docs).
#[derive(Clone, Debug)]
pub struct JournalGrouping<'a> {
    /// Template transfer code → event type.
    event_types: HashMap<u16, &'a str>,
    /// The longest chain an event can post (at least 1).
    chain_len_max: usize,
}

impl<'a> JournalGrouping<'a> {
    #[must_use]
    pub fn new(chart: &'a Chart) -> Self {
        Self {
            event_types: chart.templates().map(|t| (t.transfer_code, t.event_type.as_str())).collect(),
            chain_len_max: postings_max(chart).max(1),
        }
    }

    fn chain_len_max_u32(&self) -> u32 {
        u32::try_from(self.chain_len_max).unwrap_or(u32::MAX)
    }

    /// The event type of a template's transfer code.
    #[must_use]
    pub fn event_type(&self, code: u16) -> Option<&'a str> {
        self.event_types.get(&code).copied()
    }

    /// The kind of entry a transfer belongs to: a template's code and an entry kind in
    /// `user_data_32` make it a chain member; anything else stands alone.
    #[must_use]
    pub fn kind(&self, transfer: &Transfer) -> EntryKind {
        if !self.event_types.contains_key(&transfer.code) {
            return EntryKind::Transfer;
        }
        match transfer.user_data_32 {
            ENTRY_KIND_ORIGINAL => EntryKind::Event,
            ENTRY_KIND_REVERSAL => EntryKind::Reversal,
            _ => EntryKind::Transfer,
        }
    }

    /// Whether the entry `group` (non-empty, in commit order) may go on past its last transfer.
    fn may_continue(&self, group: &[Transfer]) -> bool {
        group.last().is_some_and(|last| {
            self.kind(last) != EntryKind::Transfer
                && last.flags.contains(TransferFlags::LINKED)
                && group.len() < self.chain_len_max
        })
    }

    /// Whether `next` continues the entry `group`.
    fn continues(&self, group: &[Transfer], next: &Transfer) -> bool {
        self.may_continue(group)
            && group.last().is_some_and(|last| {
                next.user_data_128 == last.user_data_128
                    && next.user_data_32 == last.user_data_32
                    && next.code == last.code
                    && next.ledger == last.ledger
            })
    }

    /// Splits transfers in commit order into entries (ranges of `transfers`, in order, covering
    /// all of it).
    #[must_use]
    pub fn entries(&self, transfers: &[Transfer]) -> Vec<Range<usize>> {
        let mut entries: Vec<Range<usize>> = Vec::new();
        for (i, transfer) in transfers.iter().enumerate() {
            match entries.last_mut() {
                Some(last) if self.continues(&transfers[last.clone()], transfer) => last.end = i + 1,
                _ => entries.push(i..i + 1),
            }
        }
        entries
    }

    /// The entries of one read of at most `read_limit` transfers that are surely whole: when
    /// the read came back full, its last entry may go on in transfers not read, and is left
    /// for the next page.
    #[must_use]
    pub fn complete_entries(&self, transfers: &[Transfer], read_limit: u32) -> Vec<Range<usize>> {
        let mut entries = self.entries(transfers);
        let read_full = u32::try_from(transfers.len()).map_or(true, |n| n >= read_limit);
        if read_full && entries.last().is_some_and(|last| self.may_continue(&transfers[last.clone()])) {
            entries.pop();
        }
        entries
    }
}

/// What the views need besides the transfers: the chart, and the accounts the transfers touch.
struct Books<'a> {
    chart: &'a Chart,
    /// Account id → code.
    codes: HashMap<u128, u16>,
    /// By the timestamp of an entry's first transfer: the op that created it and the event's
    /// record (`read_notes`).
    notes: HashMap<u64, (Option<u64>, Option<EventNote>)>,
}

impl<'a> Books<'a> {
    /// Looks up every account the transfers debit or credit.
    async fn read(
        service: &LedgerService,
        chart: &'a Chart,
        transfers: impl Iterator<Item = &Transfer>,
    ) -> Result<Self, ServiceError> {
        let ids: Vec<u128> = transfers.flat_map(|t| [t.debit_account_id, t.credit_account_id]).collect();
        let codes = service.account_codes(&ids).await?;
        Ok(Self { chart, codes, notes: HashMap::new() })
    }

    /// Reads the op and the event record of the entries starting at these timestamps from the
    /// journal. A record that does not decode is shown as missing (and logged): the entry's
    /// transfers still say what was posted.
    fn read_notes(
        &mut self,
        service: &LedgerService,
        timestamps: impl Iterator<Item = u64>,
    ) -> Result<(), ServiceError> {
        let timestamps: Vec<u64> = timestamps.collect();
        let found = service.journal_entries(&timestamps)?;
        for (timestamp, (op, note)) in timestamps.into_iter().zip(found) {
            let note = note.and_then(|n| match EventNote::decode(&n.payload) {
                Ok(note) => Some(note),
                Err(error) => {
                    tracing::error!(timestamp, %error, "an event record in journal.log does not decode");
                    None
                }
            });
            self.notes.insert(timestamp, (op, note));
        }
        Ok(())
    }

    /// The op and event record of the entry whose first transfer is `first`.
    fn note_of(&self, first: Option<&Transfer>) -> (Option<u64>, Option<&EventNote>) {
        first
            .and_then(|t| self.notes.get(&t.timestamp))
            .map_or((None, None), |(op, note)| (*op, note.as_ref()))
    }

    /// `{"account_id", "code", "name"}`: the account's code, and the chart's name for it (null
    /// when the chart has no such code).
    fn account_json(&self, id: u128) -> Value {
        let code = self.codes.get(&id).copied();
        let name = code.and_then(|c| self.chart.account(c)).map(|spec| spec.name.as_str());
        json!({ "account_id": id.to_string(), "code": code, "name": name })
    }

    /// An amount as a decimal string at its ledger's scale; in minor units when the chart does
    /// not know the ledger.
    fn amount(&self, ledger: u32, amount: u128) -> String {
        let scale = self.chart.ledger(ledger).map_or(0, |l| l.scale);
        format_minor_units(amount, scale)
    }

    fn transfer_json(&self, transfer: &Transfer) -> Value {
        json!({
            "transfer_id": transfer.id.to_string(),
            "debit": self.account_json(transfer.debit_account_id),
            "credit": self.account_json(transfer.credit_account_id),
            "amount": self.amount(transfer.ledger, transfer.amount),
            "timestamp": transfer.timestamp.to_string(),
        })
    }

    fn transfers_json(&self, transfers: &[Transfer]) -> Vec<Value> {
        transfers.iter().map(|t| self.transfer_json(t)).collect()
    }

    /// The event view; `entry` is not empty.
    fn event_json(
        &self,
        event_id: &str,
        entry: &[Transfer],
        reversal: &[Transfer],
        current_to: Value,
    ) -> Value {
        let first = entry.first();
        let ledger = first.map_or(0, |t| t.ledger);
        let event_type = first.and_then(|t| self.chart.templates().find(|x| x.transfer_code == t.code));
        let (op, note) = self.note_of(first);
        let reversal_json = reversal.first().map(|t| {
            let (op, note) = self.note_of(Some(t));
            json!({
                "event_id": note.map(|n| n.event_id.as_str()),
                "op": op.map(|op| op.to_string()),
                "business_date": business_date_text(t.user_data_64),
                "metadata": note.map(|n| metadata_json(&n.metadata)),
                "entries": self.transfers_json(reversal),
            })
        });
        json!({
            "event_id": event_id,
            "status": if reversal.is_empty() { "posted" } else { "reversed" },
            "event_type": event_type.map(|t| t.event_type.as_str()),
            "ledger": ledger,
            "currency": self.chart.ledger(ledger).map(|l| l.currency.as_str()),
            "business_date": first.and_then(|t| business_date_text(t.user_data_64)),
            "op": op.map(|op| op.to_string()),
            "chart_version": note.map(|n| n.chart_version),
            "subjects": note.map(|n| pairs_json(&n.subjects)),
            "components": note.map(|n| pairs_json(&n.components)),
            "metadata": note.map(|n| metadata_json(&n.metadata)),
            "entries": self.transfers_json(entry),
            "reversal": reversal_json,
            "current_to": current_to,
        })
    }

    /// One journal entry, ready to serialise; `transfers` is one entry of `grouping.entries`
    /// (not empty).
    fn entry<'b>(&'b self, grouping: &JournalGrouping<'b>, transfers: &'b [Transfer]) -> EntryJson<'b> {
        let first = transfers.first();
        let kind = first.map_or(EntryKind::Transfer, |t| grouping.kind(t));
        let (op, note) = self.note_of(first);
        let event = (kind != EntryKind::Transfer).then(|| EventFields {
            event_id: note.map(|n| n.event_id.as_str()),
            event_type: first.and_then(|t| grouping.event_type(t.code)),
            business_date: first.and_then(|t| business_date_text(t.user_data_64)),
            chart_version: note.map(|n| n.chart_version),
        });
        let posted = (kind == EntryKind::Event).then(|| PostedFields {
            subjects: note.map(|n| Pairs(&n.subjects)),
            components: note.map(|n| Pairs(&n.components)),
        });
        EntryJson {
            kind: kind.name(),
            op: op.map(Decimal),
            event,
            posted,
            reverses: (kind == EntryKind::Reversal).then(|| note.and_then(|n| n.reverses.as_deref())),
            metadata: (kind != EntryKind::Transfer).then(|| note.map(|n| Metadata(&n.metadata))),
            transfers: transfers.iter().map(|t| self.transfer(t)).collect(),
            first_timestamp: Decimal(first.map_or(0, |t| t.timestamp)),
            last_timestamp: Decimal(transfers.last().map_or(0, |t| t.timestamp)),
        }
    }

    fn transfer<'b>(&'b self, transfer: &Transfer) -> TransferJson<'b> {
        TransferJson {
            transfer_id: Decimal(transfer.id),
            debit: self.account(transfer.debit_account_id),
            credit: self.account(transfer.credit_account_id),
            amount: self.amount(transfer.ledger, transfer.amount),
            timestamp: Decimal(transfer.timestamp),
        }
    }

    fn account(&self, id: u128) -> AccountJson<'_> {
        let code = self.codes.get(&id).copied();
        let name = code.and_then(|c| self.chart.account(c)).map(|spec| spec.name.as_str());
        AccountJson { account_id: Decimal(id), code, name }
    }
}

/// A journal entry as served (`JournalEntry` in the OpenAPI document). The event fields are
/// present for events and reversals only (null where the event's record is missing);
/// `subjects` and `components` for events, `reverses` for reversals.
#[derive(serde::Serialize)]
struct EntryJson<'a> {
    kind: &'static str,
    op: Option<Decimal<u64>>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    event: Option<EventFields<'a>>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    posted: Option<PostedFields<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reverses: Option<Option<&'a str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<Option<Metadata<'a>>>,
    transfers: Vec<TransferJson<'a>>,
    first_timestamp: Decimal<u64>,
    last_timestamp: Decimal<u64>,
}

#[derive(serde::Serialize)]
struct EventFields<'a> {
    event_id: Option<&'a str>,
    event_type: Option<&'a str>,
    business_date: Option<String>,
    chart_version: Option<u32>,
}

#[derive(serde::Serialize)]
struct PostedFields<'a> {
    subjects: Option<Pairs<'a>>,
    components: Option<Pairs<'a>>,
}

#[derive(serde::Serialize)]
struct TransferJson<'a> {
    transfer_id: Decimal<u128>,
    debit: AccountJson<'a>,
    credit: AccountJson<'a>,
    amount: String,
    timestamp: Decimal<u64>,
}

#[derive(serde::Serialize)]
struct AccountJson<'a> {
    account_id: Decimal<u128>,
    code: Option<u16>,
    name: Option<&'a str>,
}

/// An integer written as a decimal string (JSON numbers lose precision past 2^53).
struct Decimal<T>(T);

impl<T: std::fmt::Display> serde::Serialize for Decimal<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

/// Recorded key/value pairs as a JSON object, in the order recorded (sorted by key).
struct Pairs<'a>(&'a [(String, String)]);

impl serde::Serialize for Pairs<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in self.0 {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

/// Recorded metadata (canonical JSON text) embedded as JSON; text that is not JSON (never
/// written so) is shown as a string rather than dropped.
struct Metadata<'a>(&'a str);

impl serde::Serialize for Metadata<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match serde_json::from_str::<&serde_json::value::RawValue>(self.0) {
            Ok(raw) => raw.serialize(serializer),
            Err(_) => serializer.serialize_str(self.0),
        }
    }
}

/// Key/value pairs as a JSON object (keys in the order recorded: sorted).
fn pairs_json(pairs: &[(String, String)]) -> Value {
    Value::Object(pairs.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect())
}

/// Recorded metadata (canonical JSON text) as JSON; text that is not JSON (never written so)
/// is shown as a string rather than dropped.
fn metadata_json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
}

/// `YYYYMMDD` (a transfer's `user_data_64`) as `YYYY-MM-DD`, if it is a real date.
fn business_date_text(yyyymmdd: u64) -> Option<String> {
    let year = u16::try_from(yyyymmdd / 10_000).ok()?;
    let month = u8::try_from(yyyymmdd / 100 % 100).ok()?;
    let day = u8::try_from(yyyymmdd % 100).ok()?;
    BusinessDate::new(year, month, day).map(|date| date.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHAIN_CODE: u16 = 105;
    const OTHER_CODE: u16 = 1;

    fn chart() -> Chart {
        Chart::shipped_default()
    }

    fn member(hash: u128, kind: u32, linked: bool) -> Transfer {
        Transfer {
            user_data_128: hash,
            user_data_32: kind,
            ledger: 156,
            code: CHAIN_CODE,
            flags: if linked { TransferFlags::LINKED } else { TransferFlags::NONE },
            ..Transfer::default()
        }
    }

    fn raw(linked: bool) -> Transfer {
        Transfer { code: OTHER_CODE, ..member(7, ENTRY_KIND_ORIGINAL, linked) }
    }

    /// Chains of 3 (event A), 1 (raw), 2 (reversal B), 1 raw linked, 1 raw.
    fn history() -> Vec<Transfer> {
        vec![
            member(1, ENTRY_KIND_ORIGINAL, true),
            member(1, ENTRY_KIND_ORIGINAL, true),
            member(1, ENTRY_KIND_ORIGINAL, false),
            raw(false),
            member(2, ENTRY_KIND_REVERSAL, true),
            member(2, ENTRY_KIND_REVERSAL, false),
            raw(true),
            raw(false),
        ]
    }

    #[test]
    fn chains_group_into_entries_and_other_transfers_stand_alone() {
        let chart = chart();
        let grouping = JournalGrouping::new(&chart);
        let transfers = history();
        assert_eq!(grouping.entries(&transfers), vec![0..3, 3..4, 4..6, 6..7, 7..8]);
        let kinds: Vec<EntryKind> = [0, 3, 4, 6].iter().map(|&i| grouping.kind(&transfers[i])).collect();
        assert_eq!(kinds, [EntryKind::Event, EntryKind::Transfer, EntryKind::Reversal, EntryKind::Transfer]);
        assert_eq!(grouping.event_type(CHAIN_CODE), Some("repayment.settled"));

        // Back to back chains of two events split at the unlinked end and at a new hash.
        let back_to_back = [
            member(1, ENTRY_KIND_ORIGINAL, false),
            member(1, ENTRY_KIND_ORIGINAL, false),
            member(1, ENTRY_KIND_ORIGINAL, true),
            member(2, ENTRY_KIND_ORIGINAL, false),
        ];
        assert_eq!(grouping.entries(&back_to_back), vec![0..1, 1..2, 2..3, 3..4]);
    }

    #[test]
    fn a_full_read_leaves_a_chain_that_may_go_on_for_the_next_page() {
        let chart = chart();
        let grouping = JournalGrouping::new(&chart);
        let transfers = history();
        // Cut inside event A: nothing is whole.
        assert_eq!(grouping.complete_entries(&transfers[..2], 2), Vec::<Range<usize>>::new());
        // The same cut when the read was not full: the history ends there (a chain is
        // atomic, so this does not happen, but the page then has nothing more to wait for).
        assert_eq!(grouping.complete_entries(&transfers[..2], 3), vec![0..2]);
        // Cut right after A's unlinked last transfer: A is whole.
        assert_eq!(grouping.complete_entries(&transfers[..3], 3), vec![0..3]);
        // Cut inside reversal B: A and the raw transfer only.
        assert_eq!(grouping.complete_entries(&transfers[..5], 5), vec![0..3, 3..4]);
        // A raw linked transfer stands alone: never held back.
        assert_eq!(grouping.complete_entries(&transfers[..7], 7), vec![0..3, 3..4, 4..6, 6..7]);
    }

    #[test]
    fn no_entry_is_longer_than_the_longest_template() {
        let chart = chart();
        let grouping = JournalGrouping::new(&chart);
        let longest = postings_max(&chart);
        let forged = vec![member(9, ENTRY_KIND_ORIGINAL, true); longest + 2];
        assert_eq!(grouping.entries(&forged), vec![0..longest, longest..longest + 2]);
        // A chain at the longest is whole even if the read ends with it.
        assert_eq!(grouping.complete_entries(&forged[..longest], 100), vec![0..longest]);
        assert_eq!(
            grouping.complete_entries(&forged[..longest], u32::try_from(longest).expect("small")),
            vec![0..longest]
        );
    }

    #[test]
    fn business_dates_render_only_when_real() {
        assert_eq!(business_date_text(20_240_105).as_deref(), Some("2024-01-05"));
        assert_eq!(business_date_text(20_240_229).as_deref(), Some("2024-02-29"));
        for bad in [0, 20_230_229, 20_241_301, u64::MAX] {
            assert_eq!(business_date_text(bad), None, "{bad}");
        }
    }

    #[test]
    fn event_ids_are_1_to_128_bytes_and_limits_a_batch() {
        let id = |text: &str| parse_event_id(Ok(Path(text.to_owned())));
        assert_eq!(id("E1"), Ok("E1".to_owned()));
        assert_eq!(id(&"é".repeat(64)).map(|s| s.len()), Ok(128));
        for bad in [String::new(), "x".repeat(129)] {
            assert_eq!(id(&bad).map_err(|e| e.code), Err(ErrorCode::InvalidId));
        }
        assert_eq!(parse_limit(None), Ok(PAGE_LIMIT_DEFAULT));
        assert_eq!(parse_limit(Some(8189)), Ok(8189));
        for bad in [0, 8190, u64::MAX] {
            assert_eq!(parse_limit(Some(bad)).map_err(|e| e.code), Err(ErrorCode::InvalidLimit));
        }
    }
}
