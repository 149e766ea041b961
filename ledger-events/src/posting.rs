//! Posting events through the engine, idempotently, with no state of our own.
//!
//! The transfer ids of an entry derive from its event id, so the engine's own idempotency by
//! transfer id is the event's:
//!
//! ```text
//! context  "ledger-events 2026-11-25 entry transfer id v1"
//! input    side            u8      0: the entry of event E, 1: the reversal of event E
//!          id length       u32 LE
//!          E               UTF-8 bytes of the event id (for a reversal: of the ORIGINAL event)
//! output   base = the first 16 bytes as a u128 (LE)
//! id of posting i = (base + i) mod (2^128 - 2) + 1: never 0 or u128::MAX
//! ```
//!
//! One hash per chain, not per posting: chains are at most a few dozen postings, and two
//! chains' id ranges overlap only if their 128-bit bases come within that distance.
//!
//! Every transfer of an entry carries the *body hash* of its event in `user_data_128` (a
//! digest of the event id, type, ledger, subjects, components as normalised decimals, business
//! date and canonical metadata). So when an event id comes again:
//! - same body: the chain's first transfer answers `exists` → the event is `exists`;
//! - another body: it answers `exists_with_different_*` (at least `user_data_128`) →
//!   `exists_with_different_body`;
//! - an earlier submission failed on the ledger's state (a balance limit): that member's id is
//!   burnt → `id_already_failed`, and the event id stays refused (use a new event id).
//!
//! A reversal's ids derive from the event it reverses, so an entry can be reversed once: a
//! second reversal event with another body meets the first one's transfers →
//! `already_reversed`; the same reversal sent again → `exists`.

use ledger_core::result::{CreateTransferResult, EventResult};
use ledger_core::{Account, Transfer, TransferFlags};
use serde_json::Value;
use std::collections::BTreeMap;

use crate::account_id::{ContextKey, HashFeed, update_with_length};
use crate::amount;
use crate::business_date::BusinessDate;
use crate::chart::Chart;
use crate::error::EventError;
use crate::event::{LedgerEvent, ReversalEvent, WireEvent, WireEventRef};
use crate::outcome::EventOutcome;
use crate::plan::{
    AccountCache, ENTRY_KIND_ORIGINAL, ENTRY_KIND_REVERSAL, EntryPlan, PlanScratch, PlannedPosting,
};

const TRANSFER_ID_CONTEXT: &str = "ledger-events 2026-11-25 entry transfer id v1";
const BODY_CONTEXT: &str = "ledger-events 2026-11-25 event body v1";
static TRANSFER_ID_KEY: ContextKey = ContextKey::new(TRANSFER_ID_CONTEXT);
static BODY_KEY: ContextKey = ContextKey::new(BODY_CONTEXT);

/// Which chain of an event a transfer id belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntrySide {
    /// The entry an event posts.
    Original,
    /// The reversal of the event's entry.
    Reversal,
}

/// The id of posting `index` of the chain `side` of event `event_id`.
#[must_use]
pub fn entry_transfer_id(side: EntrySide, event_id: &str, index: u32) -> u128 {
    chain_id(chain_base(side, event_id), index)
}

/// The base every id of one chain is offset from (module docs).
fn chain_base(side: EntrySide, event_id: &str) -> u128 {
    let mut hasher = TRANSFER_ID_KEY.hasher();
    hasher.update_fixed([match side {
        EntrySide::Original => 0,
        EntrySide::Reversal => 1,
    }]);
    update_with_length(&mut hasher, event_id);
    hasher.finish_u128()
}

fn chain_id(base: u128, index: u32) -> u128 {
    base.wrapping_add(u128::from(index)) % (u128::MAX - 1) + 1
}

/// The body hash of an event (module docs): equal for the same event sent twice, different
/// when any field differs (components compare as numbers: "1.50" and "1.5" are equal).
#[must_use]
pub fn body_hash(event: &WireEvent) -> u128 {
    body_hash_ref(&WireEventRef::from(event))
}

/// `body_hash` of a borrowed event.
///
/// ```text
/// entry     0u8, (event id), (event type), ledger u32 LE,
///           subject count u64 LE, ((key), (value)) per subject in key order,
///           component count u64 LE, ((name), (normalised amount)) per component in name order,
///           business date YYYYMMDD u64 LE, (canonical metadata)
/// reversal  1u8, (event id), (reverses), ledger u32 LE, business date YYYYMMDD u64 LE,
///           (canonical metadata)
/// (text)    length u32 LE, then its UTF-8 bytes
/// ```
///
/// A normalised amount is the shortest decimal of the same value (`"100.00"` → `"100"`); the
/// canonical metadata is JSON with object keys sorted at every level. These hashes are stored
/// in `user_data_128` of posted transfers: the encoding can never change
/// (`tests/body_hashes_are_pinned.rs`).
#[must_use]
pub fn body_hash_ref(event: &WireEventRef<'_>) -> u128 {
    let mut hasher = BODY_KEY.hasher();
    match event {
        WireEventRef::Entry(e) => {
            hasher.update_fixed([0]);
            update_with_length(&mut hasher, &e.event_id);
            update_with_length(&mut hasher, &e.event_type);
            hasher.update_fixed(e.ledger.to_le_bytes());
            update_count(&mut hasher, e.subjects().len());
            for (key, value) in e.subjects() {
                update_with_length(&mut hasher, key);
                update_with_length(&mut hasher, value);
            }
            update_count(&mut hasher, e.components().len());
            for (component, text) in e.components() {
                update_with_length(&mut hasher, component);
                update_with_length(&mut hasher, &amount::normalized(text));
            }
            hasher.update_fixed(e.business_date.as_yyyymmdd().to_le_bytes());
            update_metadata(&mut hasher, &e.metadata);
        }
        WireEventRef::Reversal(r) => {
            hasher.update_fixed([1]);
            update_with_length(&mut hasher, &r.event_id);
            update_with_length(&mut hasher, &r.reverses);
            hasher.update_fixed(r.ledger.to_le_bytes());
            hasher.update_fixed(r.business_date.as_yyyymmdd().to_le_bytes());
            update_metadata(&mut hasher, &r.metadata);
        }
    }
    hasher.finish_id()
}

fn update_count(hasher: &mut HashFeed, count: usize) {
    hasher.update_fixed(u64::try_from(count).unwrap_or(u64::MAX).to_le_bytes());
}

fn update_metadata(hasher: &mut HashFeed, metadata: &BTreeMap<String, Value>) {
    if metadata.is_empty() {
        // What the loop below writes for no keys, without building it.
        update_with_length(hasher, "{}");
        return;
    }
    let mut canonical = String::new();
    canonical.push('{');
    for (i, (k, v)) in metadata.iter().enumerate() {
        if i > 0 {
            canonical.push(',');
        }
        canonical.push_str(&Value::String(k.clone()).to_string());
        canonical.push(':');
        canonical_json(v, &mut canonical);
    }
    canonical.push('}');
    update_with_length(hasher, &canonical);
}

/// JSON with object keys sorted at every level, so that key order never changes a hash.
fn canonical_json(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                if let Some(v) = map.get(key) {
                    canonical_json(v, out);
                }
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical_json(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// The chain an entry posts, with ids derived from its event id (module docs).
#[must_use]
pub fn entry_chain(plan: &EntryPlan, body_hash: u128) -> Vec<Transfer> {
    let entry = EntryHeader {
        event_id: &plan.event_id,
        ledger: plan.ledger,
        transfer_code: plan.transfer_code,
        business_date: plan.business_date,
    };
    chain_of(&entry, &plan.postings, body_hash)
}

/// What every transfer of an entry's chain carries.
struct EntryHeader<'a> {
    event_id: &'a str,
    ledger: u32,
    transfer_code: u16,
    business_date: BusinessDate,
}

fn chain_of(entry: &EntryHeader<'_>, postings: &[PlannedPosting], body_hash: u128) -> Vec<Transfer> {
    let count = postings.len();
    let base = chain_base(EntrySide::Original, entry.event_id);
    postings
        .iter()
        .enumerate()
        .map(|(i, posting)| Transfer {
            id: chain_id(base, u32::try_from(i).unwrap_or(u32::MAX)),
            debit_account_id: posting.debit_account_id,
            credit_account_id: posting.credit_account_id,
            amount: posting.amount,
            user_data_128: body_hash,
            user_data_64: entry.business_date.as_yyyymmdd(),
            user_data_32: ENTRY_KIND_ORIGINAL,
            ledger: entry.ledger,
            code: entry.transfer_code,
            flags: if i + 1 == count { TransferFlags::NONE } else { TransferFlags::LINKED },
            ..Transfer::default()
        })
        .collect()
}

/// One line of a `post_events` request, planned: what the server queues for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PlannedEvent {
    /// An entry: the accounts it touches that this request has not named before (open them
    /// before the chain), and its chain (`entry_chain`).
    Entry { accounts_new: Vec<Account>, chain: Vec<Transfer> },
    /// A reversal, to be posted once the entry it reverses is looked up (`reversal_chain`).
    Reversal { reversal: ReversalEvent, body_hash: u128 },
}

/// Plans the lines of one request: for each, the same result as `WireEvent::from_json`,
/// `body_hash`, `Chart::plan`, `accounts_to_open` and `entry_chain` in turn, without copying the
/// line's strings and with each account of the request hashed once (`AccountCache`). Lives as
/// long as the request's lines.
#[derive(Debug)]
pub struct RequestPlanner<'a> {
    chart: &'a Chart,
    accounts: AccountCache<'a>,
    scratch: PlanScratch<'a>,
}

impl<'a> RequestPlanner<'a> {
    #[must_use]
    pub fn new(chart: &'a Chart) -> Self {
        Self { chart, accounts: AccountCache::new(), scratch: PlanScratch::default() }
    }

    /// A planner for a request of `events` events: its account cache is sized for the mix of
    /// `events-load` (about one and a half new accounts per event) before it grows.
    #[must_use]
    pub fn with_capacity(chart: &'a Chart, events: usize) -> Self {
        let accounts = AccountCache::with_capacity(events.saturating_mul(3) / 2);
        Self { chart, accounts, scratch: PlanScratch::default() }
    }

    /// Parses and plans one line. `accounts_new` of an entry leaves out accounts an earlier
    /// entry of this planner returned already.
    pub fn plan_line(&mut self, line: &'a str) -> Result<PlannedEvent, EventError> {
        self.plan_event(WireEventRef::parse(line)?)
    }

    /// Plans one event parsed with `WireEventRef::parse` (for a caller that needs the event
    /// itself too); `plan_line` without the parsing.
    pub fn plan_event(&mut self, event: WireEventRef<'a>) -> Result<PlannedEvent, EventError> {
        let body_hash = body_hash_ref(&event);
        match event {
            WireEventRef::Entry(entry) => {
                let transfer_code = self.chart.plan_into(&entry, &mut self.accounts, &mut self.scratch)?;
                let accounts_new = self.accounts.hand_out(&self.scratch.touched);
                let header = EntryHeader {
                    event_id: &entry.event_id,
                    ledger: entry.ledger,
                    transfer_code,
                    business_date: entry.business_date,
                };
                Ok(PlannedEvent::Entry {
                    accounts_new,
                    chain: chain_of(&header, &self.scratch.postings, body_hash),
                })
            }
            WireEventRef::Reversal(reversal) => {
                Ok(PlannedEvent::Reversal { reversal: reversal.into_owned(), body_hash })
            }
        }
    }
}

/// The ids to look up to find the entry of `event_id`: its chain is the longest prefix of
/// these that exists (at most `postings_max`, the longest template).
#[must_use]
pub fn entry_transfer_ids(event_id: &str, postings_max: usize) -> Vec<u128> {
    let base = chain_base(EntrySide::Original, event_id);
    (0..u32::try_from(postings_max).unwrap_or(u32::MAX)).map(|i| chain_id(base, i)).collect()
}

/// The reversal chain of an entry whose transfers are `original` (in chain order, as found
/// with `entry_transfer_ids`): every posting mirrored, last first, so balance limits hold all
/// the way. `original` must not be empty (`original_not_found` is the caller's answer then).
pub fn reversal_chain(
    original: &[Transfer],
    reversal: &ReversalEvent,
    body_hash: u128,
) -> Result<Vec<Transfer>, EventError> {
    if let Some(first) = original.first()
        && first.ledger != reversal.ledger
    {
        return Err(EventError::WrongLedger {
            event_type: crate::event::REVERSAL_EVENT_TYPE.to_owned(),
            expected: first.ledger,
            found: reversal.ledger,
        });
    }
    let count = original.len();
    Ok(original
        .iter()
        .rev()
        .enumerate()
        .map(|(i, t)| Transfer {
            id: entry_transfer_id(
                EntrySide::Reversal,
                &reversal.reverses,
                u32::try_from(i).unwrap_or(u32::MAX),
            ),
            debit_account_id: t.credit_account_id,
            credit_account_id: t.debit_account_id,
            amount: t.amount,
            user_data_128: body_hash,
            user_data_64: reversal.business_date.as_yyyymmdd(),
            user_data_32: ENTRY_KIND_REVERSAL,
            ledger: t.ledger,
            code: t.code,
            flags: if i + 1 == count { TransferFlags::NONE } else { TransferFlags::LINKED },
            ..Transfer::default()
        })
        .collect())
}

/// The outcome of an event from the engine's results for its chain (indexes from the chain's
/// first transfer; only failed members listed).
#[must_use]
pub fn chain_outcome(side: EntrySide, results: &[EventResult<CreateTransferResult>]) -> EventOutcome {
    // The member that failed on its own; the others answer `linked_event_failed`.
    let Some(failed) = results
        .iter()
        .find(|r| r.result != CreateTransferResult::LinkedEventFailed)
        .or_else(|| results.first())
    else {
        return EventOutcome::Ok;
    };
    let different = failed.result.name().starts_with("exists_with_different");
    match failed.result {
        CreateTransferResult::Exists if failed.index == 0 => EventOutcome::Exists,
        CreateTransferResult::IdAlreadyFailed => EventOutcome::IdAlreadyFailed,
        CreateTransferResult::Exists => match side {
            // A later member exists while the first is new: not this event's chain.
            EntrySide::Original => EventOutcome::ExistsWithDifferentBody,
            EntrySide::Reversal => EventOutcome::AlreadyReversed,
        },
        _ if different => match side {
            EntrySide::Original => EventOutcome::ExistsWithDifferentBody,
            EntrySide::Reversal => EventOutcome::AlreadyReversed,
        },
        other => EventOutcome::LedgerRefused(other),
    }
}

/// `LedgerEvent` and `ReversalEvent` ids, for callers holding a `WireEvent`.
#[must_use]
pub fn event_id(event: &WireEvent) -> &str {
    match event {
        WireEvent::Entry(LedgerEvent { event_id, .. })
        | WireEvent::Reversal(ReversalEvent { event_id, .. }) => event_id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(json: &str) -> WireEvent {
        WireEvent::from_json(json).expect("a valid event")
    }

    const E1: &str = r#"{"type":"event","event_id":"E1","event_type":"loan.disbursed","ledger":156,"subjects":{"loan_note":"L1","customer":"C1","funder":"F1","channel":"CH1"},"components":{"principal":"100.00"},"business_date":"2024-01-01","metadata":{"order_no":"A","nested":{"b":1,"a":2}}}"#;

    #[test]
    fn the_body_hash_ignores_key_order_and_decimal_spelling_but_nothing_else() {
        let same = E1.replace(r#""100.00""#, r#""100.0""#).replace(r#"{"b":1,"a":2}"#, r#"{"a":2,"b":1}"#);
        assert_eq!(body_hash(&entry(E1)), body_hash(&entry(&same)));
        for changed in [
            E1.replace("100.00", "100.01"),
            E1.replace(r#""order_no":"A""#, r#""order_no":"B""#),
            E1.replace("2024-01-01", "2024-01-02"),
            E1.replace(r#""C1""#, r#""C2""#),
        ] {
            assert_ne!(body_hash(&entry(E1)), body_hash(&entry(&changed)), "{changed}");
        }
    }

    #[test]
    fn transfer_ids_are_stable_and_separate_entries_from_reversals() {
        let a = entry_transfer_id(EntrySide::Original, "E1", 0);
        assert_eq!(a, entry_transfer_id(EntrySide::Original, "E1", 0));
        assert_ne!(a, entry_transfer_id(EntrySide::Reversal, "E1", 0));
        assert_ne!(a, entry_transfer_id(EntrySide::Original, "E1", 1));
        assert_ne!(a, entry_transfer_id(EntrySide::Original, "E2", 0));
        assert!(a != 0 && a != u128::MAX);
    }

    #[test]
    fn chain_results_map_to_event_outcomes() {
        use CreateTransferResult as R;
        let at = |index, result| EventResult { index, result };
        assert_eq!(chain_outcome(EntrySide::Original, &[]), EventOutcome::Ok);
        assert_eq!(
            chain_outcome(EntrySide::Original, &[at(0, R::Exists), at(1, R::LinkedEventFailed)]),
            EventOutcome::Exists
        );
        assert_eq!(
            chain_outcome(EntrySide::Original, &[at(0, R::ExistsWithDifferentUserData128)]),
            EventOutcome::ExistsWithDifferentBody
        );
        assert_eq!(
            chain_outcome(EntrySide::Reversal, &[at(0, R::ExistsWithDifferentUserData128)]),
            EventOutcome::AlreadyReversed
        );
        assert_eq!(
            chain_outcome(EntrySide::Original, &[at(0, R::LinkedEventFailed), at(1, R::ExceedsDebits)]),
            EventOutcome::LedgerRefused(R::ExceedsDebits)
        );
        assert_eq!(
            chain_outcome(EntrySide::Original, &[at(0, R::LinkedEventFailed), at(1, R::IdAlreadyFailed)]),
            EventOutcome::IdAlreadyFailed
        );
    }
}
