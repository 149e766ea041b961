//! Standard ledger events as they arrive: an entry (`loan.disbursed`, ...) or a reversal.
//!
//! Wire shape (one JSON object per line):
//!
//! ```text
//! {"type":"event","event_id":"E1","event_type":"loan.disbursed","ledger":156,
//!  "subjects":{"loan_note":"L1","customer":"C1","funder":"F1","channel":"CH1"},
//!  "components":{"principal":"100.00"},"business_date":"2024-01-01","metadata":{"order_no":"..."}}
//! {"type":"event","event_id":"E9","event_type":"reversal","reverses":"E1","ledger":156,
//!  "business_date":"2024-01-05"}
//! ```
//!
//! Parsing is strict: unknown fields are refused, amounts are decimal strings only (a JSON
//! number is refused, because a float has already lost exactness), negative amounts are refused
//! here and decimals beyond the ledger's scale when the event is planned against the chart.
//!
//! A line is read in one pass straight into the fields it may hold (`read.rs`), borrowing its
//! strings from the line (`WireEventRef`); no `serde_json::Value` tree is built except for
//! metadata, which is arbitrary JSON. Lines of the usual shape (strings without escapes, an
//! integer ledger, empty metadata, each key once) are read by a small scanner; every other
//! line, and every line the scanner is unsure of, by `serde_json`. The whole line is read
//! before anything is checked, so a syntax error anywhere is `invalid_json` whatever else is
//! wrong, and the checks then run in a fixed order (`RawEvent::check`): the same bad line
//! always gets the same code. Where an object holds several bad entries, the first in the line
//! is reported; a key given twice counts once, with its last value, at the place it first
//! appeared (as `serde_json` with `preserve_order`, the server's build, has always done).

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::de::Deserialize;
use serde_json::Value;

use crate::amount::{self, AmountProblem};
use crate::business_date::BusinessDate;
use crate::error::EventError;

mod read;

use read::{RawEvent, RawMap, RawMetadata, Scalar, TextPairs, scan};

/// Longest event id (bytes).
pub const EVENT_ID_BYTES_MAX: usize = 128;
/// Longest subject value (bytes).
pub const SUBJECT_VALUE_BYTES_MAX: usize = 128;
/// Most subjects, components or metadata keys on one event.
pub const EVENT_MAP_ENTRIES_MAX: usize = 32;
/// The event type of a reversal.
pub const REVERSAL_EVENT_TYPE: &str = "reversal";

/// A business fact to be posted through its entry template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerEvent {
    pub event_id: String,
    pub event_type: String,
    pub ledger: u32,
    /// Subject key → subject value (`loan_note` → `L1`).
    pub subjects: BTreeMap<String, String>,
    /// Component → amount as a decimal string in major units (`principal` → `100.00`).
    pub components: BTreeMap<String, String>,
    pub business_date: BusinessDate,
    pub metadata: BTreeMap<String, Value>,
}

/// A reversal (红冲) of an earlier event: posts the mirror of its entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReversalEvent {
    pub event_id: String,
    /// The event id of the entry being reversed.
    pub reverses: String,
    pub ledger: u32,
    pub business_date: BusinessDate,
    pub metadata: BTreeMap<String, Value>,
}

/// One `{"type":"event",...}` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WireEvent {
    Entry(LedgerEvent),
    Reversal(ReversalEvent),
}

impl WireEvent {
    /// Parses one JSON line.
    pub fn from_json(line: &str) -> Result<Self, EventError> {
        WireEventRef::parse(line).map(WireEventRef::into_owned)
    }

    /// Parses an already decoded JSON value.
    pub fn from_value(value: &Value) -> Result<Self, EventError> {
        let raw = RawEvent::deserialize(value)
            .map_err(|error| EventError::InvalidJson { detail: error.to_string() })?;
        raw.check().map(WireEventRef::into_owned)
    }

    #[must_use]
    pub fn event_id(&self) -> &str {
        match self {
            Self::Entry(event) => &event.event_id,
            Self::Reversal(event) => &event.event_id,
        }
    }
}

/// A parsed line whose strings borrow from the line (a string with JSON escapes is owned).
/// Holds exactly what the owned `WireEvent` holds; `into_owned` converts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WireEventRef<'a> {
    Entry(LedgerEventRef<'a>),
    Reversal(ReversalEventRef<'a>),
}

/// `LedgerEvent`, borrowing. Subjects and components are kept sorted by key, each key once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerEventRef<'a> {
    pub event_id: Cow<'a, str>,
    pub event_type: Cow<'a, str>,
    pub ledger: u32,
    subjects: Vec<(Cow<'a, str>, Cow<'a, str>)>,
    components: Vec<(Cow<'a, str>, Cow<'a, str>)>,
    pub business_date: BusinessDate,
    pub metadata: Cow<'a, BTreeMap<String, Value>>,
}

/// `ReversalEvent`, borrowing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReversalEventRef<'a> {
    pub event_id: Cow<'a, str>,
    pub reverses: Cow<'a, str>,
    pub ledger: u32,
    pub business_date: BusinessDate,
    pub metadata: Cow<'a, BTreeMap<String, Value>>,
}

impl<'a> WireEventRef<'a> {
    /// Parses one JSON line, with the same result and error as `WireEvent::from_json`.
    pub fn parse(line: &'a str) -> Result<Self, EventError> {
        let raw = match scan(line) {
            Some(raw) => raw,
            None => serde_json::from_str::<RawEvent<'a>>(line)
                .map_err(|error| EventError::InvalidJson { detail: error.to_string() })?,
        };
        raw.check()
    }

    #[must_use]
    pub fn event_id(&self) -> &str {
        match self {
            Self::Entry(event) => &event.event_id,
            Self::Reversal(event) => &event.event_id,
        }
    }

    #[must_use]
    pub fn into_owned(self) -> WireEvent {
        match self {
            Self::Entry(event) => WireEvent::Entry(event.into_owned()),
            Self::Reversal(event) => WireEvent::Reversal(event.into_owned()),
        }
    }

    /// An owned copy, for APIs that take a `WireEvent`.
    #[must_use]
    pub fn to_wire_event(&self) -> WireEvent {
        match self {
            Self::Entry(event) => WireEvent::Entry(event.to_ledger_event()),
            Self::Reversal(event) => WireEvent::Reversal(event.to_reversal_event()),
        }
    }
}

impl<'a> From<&'a WireEvent> for WireEventRef<'a> {
    fn from(event: &'a WireEvent) -> Self {
        match event {
            WireEvent::Entry(event) => Self::Entry(event.into()),
            WireEvent::Reversal(event) => Self::Reversal(event.into()),
        }
    }
}

impl<'a> LedgerEventRef<'a> {
    /// Subjects in key order.
    pub fn subjects(&self) -> impl ExactSizeIterator<Item = (&str, &str)> {
        self.subjects.iter().map(|(key, value)| (key.as_ref(), value.as_ref()))
    }

    /// The value of subject `key`, as held (borrowed from the line unless it had escapes).
    #[must_use]
    pub fn subject(&self, key: &str) -> Option<&Cow<'a, str>> {
        let index = self.subjects.binary_search_by(|(k, _)| k.as_ref().cmp(key)).ok()?;
        Some(&self.subjects[index].1)
    }

    /// Components (amount strings) in name order.
    pub fn components(&self) -> impl ExactSizeIterator<Item = (&str, &str)> {
        self.components.iter().map(|(name, text)| (name.as_ref(), text.as_ref()))
    }

    /// An owned copy.
    #[must_use]
    pub fn to_ledger_event(&self) -> LedgerEvent {
        let owned = |pairs: &[(Cow<'_, str>, Cow<'_, str>)]| {
            pairs.iter().map(|(k, v)| (k.as_ref().to_owned(), v.as_ref().to_owned())).collect()
        };
        LedgerEvent {
            event_id: self.event_id.as_ref().to_owned(),
            event_type: self.event_type.as_ref().to_owned(),
            ledger: self.ledger,
            subjects: owned(&self.subjects),
            components: owned(&self.components),
            business_date: self.business_date,
            metadata: self.metadata.as_ref().clone(),
        }
    }

    #[must_use]
    pub fn into_owned(self) -> LedgerEvent {
        let owned = |pairs: Vec<(Cow<'_, str>, Cow<'_, str>)>| {
            pairs.into_iter().map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
        };
        LedgerEvent {
            event_id: self.event_id.into_owned(),
            event_type: self.event_type.into_owned(),
            ledger: self.ledger,
            subjects: owned(self.subjects),
            components: owned(self.components),
            business_date: self.business_date,
            metadata: self.metadata.into_owned(),
        }
    }
}

impl<'a> From<&'a LedgerEvent> for LedgerEventRef<'a> {
    fn from(event: &'a LedgerEvent) -> Self {
        // A `BTreeMap` iterates in key order with each key once: the order kept here.
        let borrowed = |map: &'a BTreeMap<String, String>| {
            map.iter().map(|(k, v)| (Cow::Borrowed(k.as_str()), Cow::Borrowed(v.as_str()))).collect()
        };
        Self {
            event_id: Cow::Borrowed(&event.event_id),
            event_type: Cow::Borrowed(&event.event_type),
            ledger: event.ledger,
            subjects: borrowed(&event.subjects),
            components: borrowed(&event.components),
            business_date: event.business_date,
            metadata: Cow::Borrowed(&event.metadata),
        }
    }
}

impl ReversalEventRef<'_> {
    /// An owned copy.
    #[must_use]
    pub fn to_reversal_event(&self) -> ReversalEvent {
        ReversalEvent {
            event_id: self.event_id.as_ref().to_owned(),
            reverses: self.reverses.as_ref().to_owned(),
            ledger: self.ledger,
            business_date: self.business_date,
            metadata: self.metadata.as_ref().clone(),
        }
    }

    #[must_use]
    pub fn into_owned(self) -> ReversalEvent {
        ReversalEvent {
            event_id: self.event_id.into_owned(),
            reverses: self.reverses.into_owned(),
            ledger: self.ledger,
            business_date: self.business_date,
            metadata: self.metadata.into_owned(),
        }
    }
}

impl<'a> From<&'a ReversalEvent> for ReversalEventRef<'a> {
    fn from(event: &'a ReversalEvent) -> Self {
        Self {
            event_id: Cow::Borrowed(&event.event_id),
            reverses: Cow::Borrowed(&event.reverses),
            ledger: event.ledger,
            business_date: event.business_date,
            metadata: Cow::Borrowed(&event.metadata),
        }
    }
}

/// Checks an event id or subject value: non-empty, at most `max` bytes, no control characters.
pub(crate) fn valid_text(value: &str, max: usize) -> bool {
    !value.is_empty() && value.len() <= max && !value.chars().any(char::is_control)
}

/// The event error for an amount problem of one component.
pub(crate) fn amount_error(problem: AmountProblem, component: &str, text: &str, scale: u8) -> EventError {
    let component = component.to_owned();
    let value = text.to_owned();
    match problem {
        AmountProblem::Syntax => EventError::InvalidAmount { component, value },
        AmountProblem::Negative => EventError::NegativeAmount { component, value },
        AmountProblem::TooManyDecimals => EventError::TooManyDecimals { component, value, scale },
        AmountProblem::Overflow => EventError::AmountOverflow { component },
    }
}

// Checking the fields read (`read.rs`), in a fixed order.

impl<'a> RawEvent<'a> {
    fn check(self) -> Result<WireEventRef<'a>, EventError> {
        if !self.object {
            return Err(EventError::InvalidJson { detail: "expected an object".to_owned() });
        }
        match self.record_type {
            None => return Err(EventError::MissingField { field: "type" }),
            Some(Scalar::Text(kind)) if kind == "event" => {}
            Some(Scalar::Text(kind)) => return Err(EventError::WrongRecordType { found: kind.into_owned() }),
            Some(_) => {
                return Err(EventError::InvalidField { field: "type".to_owned(), expected: "a string" });
            }
        }
        let event_type = required_text(self.event_type, "event_type")?;
        if event_type == REVERSAL_EVENT_TYPE {
            first_unknown(
                self.unknown,
                &[(self.subjects_at, "subjects"), (self.components_at, "components")],
            )?;
            Ok(WireEventRef::Reversal(ReversalEventRef {
                event_id: event_id(self.event_id, "event_id")?,
                reverses: event_id(self.reverses, "reverses")?,
                ledger: ledger(self.ledger)?,
                business_date: business_date(self.business_date)?,
                metadata: metadata(self.metadata)?,
            }))
        } else {
            first_unknown(self.unknown, &[(self.reverses_at, "reverses")])?;
            if event_type.is_empty() {
                return Err(EventError::InvalidField {
                    field: "event_type".to_owned(),
                    expected: "a non-empty string",
                });
            }
            Ok(WireEventRef::Entry(LedgerEventRef {
                event_id: event_id(self.event_id, "event_id")?,
                event_type,
                ledger: ledger(self.ledger)?,
                subjects: subjects(self.subjects)?,
                components: components(self.components)?,
                business_date: business_date(self.business_date)?,
                metadata: metadata(self.metadata)?,
            }))
        }
    }
}

/// Refuses the line if it holds a key this kind of event does not know: the first such key in
/// the line, among the keys no event knows and `others` (keys the other kind of event knows).
fn first_unknown(
    unknown: Option<(usize, Cow<'_, str>)>,
    others: &[(Option<usize>, &'static str)],
) -> Result<(), EventError> {
    let mut first = unknown.map(|(at, name)| (at, name.into_owned()));
    for &(at, name) in others {
        if let Some(at) = at
            && first.as_ref().is_none_or(|(first_at, _)| at < *first_at)
        {
            first = Some((at, name.to_owned()));
        }
    }
    match first {
        Some((_, field)) => Err(EventError::UnknownField { field }),
        None => Ok(()),
    }
}

fn required_text<'a>(
    field_value: Option<Scalar<'a>>,
    field: &'static str,
) -> Result<Cow<'a, str>, EventError> {
    match field_value {
        None => Err(EventError::MissingField { field }),
        Some(Scalar::Text(text)) => Ok(text),
        Some(_) => Err(EventError::InvalidField { field: field.to_owned(), expected: "a string" }),
    }
}

fn event_id<'a>(field_value: Option<Scalar<'a>>, field: &'static str) -> Result<Cow<'a, str>, EventError> {
    let id = required_text(field_value, field)?;
    if valid_text(&id, EVENT_ID_BYTES_MAX) { Ok(id) } else { Err(EventError::InvalidEventId) }
}

fn ledger(field_value: Option<Scalar<'_>>) -> Result<u32, EventError> {
    let invalid =
        || EventError::InvalidField { field: "ledger".to_owned(), expected: "an integer 1..=4294967295" };
    match field_value {
        None => Err(EventError::MissingField { field: "ledger" }),
        Some(Scalar::Unsigned(number)) => u32::try_from(number).ok().filter(|n| *n != 0).ok_or_else(invalid),
        Some(_) => Err(invalid()),
    }
}

fn business_date(field_value: Option<Scalar<'_>>) -> Result<BusinessDate, EventError> {
    let text = required_text(field_value, "business_date")?;
    BusinessDate::parse(&text).ok_or_else(|| EventError::InvalidBusinessDate { value: text.into_owned() })
}

/// An optional object field of at most `EVENT_MAP_ENTRIES_MAX` keys, as read.
fn map_entries<'a>(
    field_value: Option<RawMap<'a>>,
    field: &'static str,
) -> Result<Option<RawMap<'a>>, EventError> {
    match field_value {
        Some(RawMap::TooMany) => Err(EventError::InvalidField {
            field: field.to_owned(),
            expected: "an object of at most 32 entries",
        }),
        Some(RawMap::NotObject) => {
            Err(EventError::InvalidField { field: field.to_owned(), expected: "an object" })
        }
        entries => Ok(entries),
    }
}

/// Checks the entries of an object field in the order they were read: each must be a string
/// (else `not_text`), which `check` then looks at. Sorted by key (keys are unique: a repeated
/// key kept its last value, so the order is total).
fn checked_texts<'a>(
    entries: Option<RawMap<'a>>,
    not_text: impl Fn(Cow<'a, str>, Scalar<'a>) -> EventError,
    check: impl Fn(&Cow<'a, str>, &Cow<'a, str>) -> Result<(), EventError>,
) -> Result<TextPairs<'a>, EventError> {
    let mut texts = match entries {
        None | Some(RawMap::TooMany | RawMap::NotObject) => Vec::new(),
        Some(RawMap::Texts(texts)) => {
            for (key, text) in &texts {
                check(key, text)?;
            }
            texts
        }
        Some(RawMap::Entries(entries)) => {
            let mut texts = Vec::with_capacity(entries.len());
            for (key, value) in entries {
                let Scalar::Text(text) = value else { return Err(not_text(key, value)) };
                check(&key, &text)?;
                texts.push((key, text));
            }
            texts
        }
    };
    texts.sort_unstable_by(|(a, _), (b, _)| a.cmp(b));
    Ok(texts)
}

fn subjects(field_value: Option<RawMap<'_>>) -> Result<TextPairs<'_>, EventError> {
    checked_texts(
        map_entries(field_value, "subjects")?,
        |key, _| EventError::InvalidField { field: format!("subjects.{key}"), expected: "a string" },
        |key, value| {
            if valid_text(value, SUBJECT_VALUE_BYTES_MAX) {
                Ok(())
            } else {
                Err(EventError::InvalidSubjectValue { key: key.as_ref().to_owned() })
            }
        },
    )
}

fn components(field_value: Option<RawMap<'_>>) -> Result<TextPairs<'_>, EventError> {
    let Some(entries) = map_entries(field_value, "components")? else {
        return Err(EventError::MissingField { field: "components" });
    };
    checked_texts(
        Some(entries),
        // A JSON number may already have passed through a float: refuse it rather than guess.
        |component, value| EventError::InvalidAmount {
            component: component.into_owned(),
            value: value.json_text(),
        },
        |component, text| {
            amount::check_syntax(text).map_err(|problem| amount_error(problem, component, text, 0))
        },
    )
}

fn metadata(field_value: Option<RawMetadata>) -> Result<Cow<'static, BTreeMap<String, Value>>, EventError> {
    match field_value {
        None => Ok(Cow::Owned(BTreeMap::new())),
        Some(RawMetadata::Object(object)) if object.len() <= EVENT_MAP_ENTRIES_MAX => Ok(Cow::Owned(object)),
        Some(RawMetadata::Object(_)) => Err(EventError::InvalidField {
            field: "metadata".to_owned(),
            expected: "an object of at most 32 entries",
        }),
        Some(RawMetadata::NotObject) => {
            Err(EventError::InvalidField { field: "metadata".to_owned(), expected: "an object" })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const E1: &str = r#"{"type":"event","event_id":"E1","event_type":"loan.disbursed","ledger":156,"subjects":{"loan_note":"L1","customer":"C1"},"components":{"principal":"100.00"},"business_date":"2024-01-01","metadata":{"order_no":"A"}}"#;

    fn error(line: &str) -> EventError {
        WireEvent::from_json(line).expect_err("refused")
    }

    #[test]
    fn strings_without_escapes_are_borrowed_from_the_line() {
        let WireEventRef::Entry(event) = WireEventRef::parse(E1).expect("valid") else { panic!("an entry") };
        assert!(matches!(event.event_id, Cow::Borrowed("E1")));
        assert!(matches!(event.subject("loan_note"), Some(Cow::Borrowed("L1"))));
        let escaped = E1.replace(r#""L1""#, r#""L\u0031""#);
        let WireEventRef::Entry(event) = WireEventRef::parse(&escaped).expect("valid") else {
            panic!("an entry")
        };
        assert_eq!(event.subject("loan_note").map(AsRef::as_ref), Some("L1"));
        assert_eq!(event.subjects().map(|(k, _)| k).collect::<Vec<_>>(), ["customer", "loan_note"]);
        let wire = WireEventRef::Entry(event);
        assert_eq!(wire.to_wire_event(), wire.clone().into_owned());
        assert_eq!(wire.to_wire_event(), WireEvent::from_json(&escaped).expect("valid"));
    }

    #[test]
    fn the_value_and_the_line_parse_alike() {
        let value: Value = serde_json::from_str(E1).expect("json");
        assert_eq!(WireEvent::from_value(&value), WireEvent::from_json(E1));
        let escaped_key = E1.replace(r#""ledger""#, r#""l\u0065dger""#);
        assert_eq!(WireEvent::from_json(&escaped_key), WireEvent::from_json(E1));
    }

    #[test]
    fn a_repeated_key_keeps_its_last_value() {
        let line = E1.replace(r#""ledger":156"#, r#""ledger":"x","ledger":156"#);
        assert_eq!(WireEvent::from_json(&line), WireEvent::from_json(E1));
        let line = E1.replace(r#""loan_note":"L1""#, r#""loan_note":"","loan_note":"L1""#);
        assert_eq!(WireEvent::from_json(&line), WireEvent::from_json(E1));
    }

    #[test]
    fn the_first_unknown_key_of_the_line_is_named() {
        let line = E1.replacen(r#""event_id""#, r#""zz":1,"reverses":"E0","event_id""#, 1);
        assert_eq!(error(&line), EventError::UnknownField { field: "zz".to_owned() });
        let line = E1.replacen(r#""event_id""#, r#""reverses":"E0","zz":1,"event_id""#, 1);
        assert_eq!(error(&line), EventError::UnknownField { field: "reverses".to_owned() });
    }

    #[test]
    fn the_first_bad_entry_of_an_object_is_named() {
        let line = E1.replace(r#""loan_note":"L1","customer":"C1""#, r#""loan_note":7,"customer":"""#);
        assert_eq!(
            error(&line),
            EventError::InvalidField { field: "subjects.loan_note".to_owned(), expected: "a string" }
        );
    }

    #[test]
    fn objects_hold_at_most_32_keys_counted_once_each() {
        let keys = |n: usize| (0..n).map(|i| format!(r#""k{i}":1"#)).collect::<Vec<_>>().join(",");
        let line = E1.replace(r#"{"order_no":"A"}"#, &format!("{{{}}}", keys(32)));
        assert!(WireEvent::from_json(&line).is_ok());
        let line = E1.replace(r#"{"order_no":"A"}"#, &format!("{{{}}}", keys(33)));
        assert_eq!(error(&line).code(), "invalid_field");
        let repeated = format!(r#""principal":"1.00",{}"#, vec![r#""principal":"100.00""#; 40].join(","));
        let line = E1.replace(r#""principal":"100.00""#, &repeated);
        assert_eq!(WireEvent::from_json(&line), WireEvent::from_json(E1));
    }

    #[test]
    fn syntax_errors_anywhere_come_first() {
        // The unknown field is before the broken number, but the line is not JSON at all.
        let line = E1.replacen(r#""event_id""#, r#""zz":1e999,"event_id""#, 1);
        assert_eq!(error(&line).code(), "invalid_json");
        assert_eq!(error(&format!("{E1} x")).code(), "invalid_json");
        assert_eq!(
            error("[1, 2"),
            EventError::InvalidJson { detail: "EOF while parsing a list at line 1 column 5".to_owned() }
        );
        assert_eq!(error("7"), EventError::InvalidJson { detail: "expected an object".to_owned() });
    }
}
