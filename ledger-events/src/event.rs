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
//! A line is read in one pass straight into the fields it may hold (`RawEvent`), borrowing its
//! strings from the line (`WireEventRef`); no `serde_json::Value` tree is built except for
//! metadata, which is arbitrary JSON. Lines of the usual shape (`scan`: strings without
//! escapes, an integer ledger, empty metadata, each key once) are read by a small scanner;
//! every other line, and every line the scanner is unsure of, by `serde_json`. The whole line is read before anything is checked, so a
//! syntax error anywhere is `invalid_json` whatever else is wrong, and the checks then run in a
//! fixed order (`RawEvent::check`): the same bad line always gets the same code. Where an
//! object holds several bad entries, the first in the line is reported; a key given twice
//! counts once, with its last value, at the place it first appeared.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use crate::amount::{self, AmountProblem};
use crate::business_date::BusinessDate;
use crate::error::EventError;

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

// ---------------------------------------------------------------------------------------------
// Reading a line: every field into its slot, unchecked.
// ---------------------------------------------------------------------------------------------

/// The fields of one line as read, before any check. A field given twice keeps its last value
/// (as a JSON object would); `*_at` keep where a key first appeared, counted in keys read, for
/// the keys that are unknown to one kind of event, so that the first unknown key of the line is
/// the one reported.
#[derive(Debug, Default, PartialEq)]
struct RawEvent<'a> {
    /// False if the line is JSON but not an object.
    object: bool,
    record_type: Option<Scalar<'a>>,
    event_type: Option<Scalar<'a>>,
    event_id: Option<Scalar<'a>>,
    reverses: Option<Scalar<'a>>,
    ledger: Option<Scalar<'a>>,
    business_date: Option<Scalar<'a>>,
    subjects: Option<RawMap<'a>>,
    components: Option<RawMap<'a>>,
    metadata: Option<RawMetadata>,
    reverses_at: Option<usize>,
    subjects_at: Option<usize>,
    components_at: Option<usize>,
    /// The first key no event may carry.
    unknown: Option<(usize, Cow<'a, str>)>,
}

/// A scalar field as read: text, a non-negative integer, or any other JSON value (kept only to
/// be named in an error).
#[derive(Debug, PartialEq)]
enum Scalar<'a> {
    Text(Cow<'a, str>),
    Unsigned(u64),
    Other(Value),
}

impl Scalar<'_> {
    /// The value as JSON text, as `serde_json` prints it (for error messages).
    fn json_text(&self) -> String {
        match self {
            Self::Text(text) => Value::String(text.as_ref().to_owned()).to_string(),
            Self::Unsigned(number) => number.to_string(),
            Self::Other(value) => value.to_string(),
        }
    }
}

/// `subjects` or `components` as read: its entries in the order their keys first appeared, or
/// the fact that it had more than `EVENT_MAP_ENTRIES_MAX` keys or was no object at all.
#[derive(Debug, PartialEq)]
enum RawMap<'a> {
    Entries(RawEntries<'a>),
    /// Entries that are all strings (what `scan` reads).
    Texts(TextPairs<'a>),
    TooMany,
    NotObject,
}

type RawEntries<'a> = Vec<(Cow<'a, str>, Scalar<'a>)>;

/// `metadata` as read.
#[derive(Debug, PartialEq)]
enum RawMetadata {
    Object(BTreeMap<String, Value>),
    NotObject,
}

/// The top-level keys.
enum Field<'a> {
    Type,
    EventType,
    EventId,
    Reverses,
    Ledger,
    Subjects,
    Components,
    BusinessDate,
    Metadata,
    Unknown(Cow<'a, str>),
}

impl<'a> Field<'a> {
    fn from_name(name: Cow<'a, str>) -> Self {
        match name.as_ref() {
            "type" => Self::Type,
            "event_type" => Self::EventType,
            "event_id" => Self::EventId,
            "reverses" => Self::Reverses,
            "ledger" => Self::Ledger,
            "subjects" => Self::Subjects,
            "components" => Self::Components,
            "business_date" => Self::BusinessDate,
            "metadata" => Self::Metadata,
            _ => Self::Unknown(name),
        }
    }
}

/// A JSON string, borrowed from the input when it has no escapes.
struct Text<'a>(Cow<'a, str>);

struct TextVisitor;

impl<'de> Visitor<'de> for TextVisitor {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E: serde::de::Error>(self, value: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(value))
    }

    fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(value.to_owned()))
    }

    fn visit_string<E: serde::de::Error>(self, value: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(value))
    }
}

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(TextVisitor).map(Text)
    }
}

impl<'de> Deserialize<'de> for Field<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(TextVisitor).map(Field::from_name)
    }
}

/// Reads any JSON value: what no check looks at is still read in full, as a `Value`, so that
/// exactly the lines `serde_json` accepts as values are accepted here.
fn read_value<'de, A: MapAccess<'de>>(map: &mut A) -> Result<(), A::Error> {
    map.next_value::<Value>().map(drop)
}

fn read_sequence<'de, A: SeqAccess<'de>>(seq: A) -> Result<(), A::Error> {
    Value::deserialize(SeqAccessDeserializer::new(seq)).map(drop)
}

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_borrowed_str<E: serde::de::Error>(self, value: &'de str) -> Result<Self::Value, E> {
        Ok(Scalar::Text(Cow::Borrowed(value)))
    }

    fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<Self::Value, E> {
        Ok(Scalar::Text(Cow::Owned(value.to_owned())))
    }

    fn visit_string<E: serde::de::Error>(self, value: String) -> Result<Self::Value, E> {
        Ok(Scalar::Text(Cow::Owned(value)))
    }

    fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<Self::Value, E> {
        Ok(Scalar::Unsigned(value))
    }

    fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<Self::Value, E> {
        Ok(u64::try_from(value).map_or_else(|_| Scalar::Other(Value::from(value)), Scalar::Unsigned))
    }

    fn visit_f64<E: serde::de::Error>(self, value: f64) -> Result<Self::Value, E> {
        Ok(Scalar::Other(Value::from(value)))
    }

    fn visit_bool<E: serde::de::Error>(self, value: bool) -> Result<Self::Value, E> {
        Ok(Scalar::Other(Value::Bool(value)))
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(Scalar::Other(Value::Null))
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(Scalar::Other(Value::Null))
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        Value::deserialize(deserializer).map(Scalar::Other)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        Value::deserialize(MapAccessDeserializer::new(map)).map(Scalar::Other)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        Value::deserialize(SeqAccessDeserializer::new(seq)).map(Scalar::Other)
    }
}

impl<'de> Deserialize<'de> for Scalar<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ScalarVisitor)
    }
}

/// Declares the visitor methods of a value that is not the object a visitor wants: the value
/// is read in full and `$not_object` returned.
macro_rules! not_an_object {
    ($not_object:expr) => {
        fn visit_borrowed_str<E: serde::de::Error>(self, _: &'de str) -> Result<Self::Value, E> {
            Ok($not_object)
        }

        fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok($not_object)
        }

        fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok($not_object)
        }

        fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok($not_object)
        }

        fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok($not_object)
        }

        fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok($not_object)
        }

        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok($not_object)
        }

        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok($not_object)
        }

        fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
            Value::deserialize(deserializer).map(|_| $not_object)
        }

        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
            read_sequence(seq).map(|()| $not_object)
        }
    };
}

struct RawMapVisitor;

impl<'de> Visitor<'de> for RawMapVisitor {
    type Value = RawMap<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }

    not_an_object!(RawMap::NotObject);

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut entries: RawEntries<'de> = Vec::new();
        let mut too_many = false;
        while let Some(Text(key)) = map.next_key()? {
            if too_many {
                read_value(&mut map)?;
                continue;
            }
            let value = map.next_value()?;
            // At most EVENT_MAP_ENTRIES_MAX keys are kept, so this search stays short however
            // many times a line repeats a key.
            if let Some(entry) = entries.iter_mut().find(|(k, _)| *k == key) {
                entry.1 = value;
            } else if entries.len() == EVENT_MAP_ENTRIES_MAX {
                too_many = true;
            } else {
                entries.push((key, value));
            }
        }
        Ok(if too_many { RawMap::TooMany } else { RawMap::Entries(entries) })
    }
}

impl<'de> Deserialize<'de> for RawMap<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(RawMapVisitor)
    }
}

struct RawMetadataVisitor;

impl<'de> Visitor<'de> for RawMetadataVisitor {
    type Value = RawMetadata;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }

    not_an_object!(RawMetadata::NotObject);

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut object = BTreeMap::new();
        while let Some(key) = map.next_key::<String>()? {
            let value: Value = map.next_value()?;
            object.insert(key, value);
        }
        Ok(RawMetadata::Object(object))
    }
}

impl<'de> Deserialize<'de> for RawMetadata {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(RawMetadataVisitor)
    }
}

struct RawEventVisitor;

impl<'de> Visitor<'de> for RawEventVisitor {
    type Value = RawEvent<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }

    not_an_object!(RawEvent::default());

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut raw = RawEvent { object: true, ..RawEvent::default() };
        let mut at = 0_usize;
        while let Some(field) = map.next_key()? {
            match field {
                Field::Type => raw.record_type = Some(map.next_value()?),
                Field::EventType => raw.event_type = Some(map.next_value()?),
                Field::EventId => raw.event_id = Some(map.next_value()?),
                Field::Reverses => {
                    raw.reverses_at.get_or_insert(at);
                    raw.reverses = Some(map.next_value()?);
                }
                Field::Ledger => raw.ledger = Some(map.next_value()?),
                Field::Subjects => {
                    raw.subjects_at.get_or_insert(at);
                    raw.subjects = Some(map.next_value()?);
                }
                Field::Components => {
                    raw.components_at.get_or_insert(at);
                    raw.components = Some(map.next_value()?);
                }
                Field::BusinessDate => raw.business_date = Some(map.next_value()?),
                Field::Metadata => raw.metadata = Some(map.next_value()?),
                Field::Unknown(name) => {
                    if raw.unknown.is_none() {
                        raw.unknown = Some((at, name));
                    }
                    read_value(&mut map)?;
                }
            }
            at += 1;
        }
        Ok(raw)
    }
}

impl<'de> Deserialize<'de> for RawEvent<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(RawEventVisitor)
    }
}

// ---------------------------------------------------------------------------------------------
// Reading a line of the usual shape without serde.
// ---------------------------------------------------------------------------------------------

/// Reads a line of the shape every well-behaved client sends, into the `RawEvent` the serde
/// path would make of it: a JSON object whose keys are the event's fields, each once; strings
/// without escapes or control characters; `ledger` a plain integer; `subjects` and
/// `components` objects of such strings, each key once, at most `EVENT_MAP_ENTRIES_MAX`;
/// `metadata` empty. `None` for anything else (a syntax error, an escape, a number where a
/// string belongs, an unknown or repeated key, metadata with content, ...): the caller then
/// reads the line with `serde_json`, which accepts or refuses it exactly as before. So what
/// this accepts is valid JSON with one meaning, and reads the same either way.
fn scan(line: &str) -> Option<RawEvent<'_>> {
    let mut scanner = Scanner { text: line, bytes: line.as_bytes(), at: 0 };
    scanner.expect(b'{')?;
    let mut raw = RawEvent { object: true, ..RawEvent::default() };
    let mut seen = 0_u16;
    let mut at = 0_usize;
    if scanner.peek()? == b'}' {
        scanner.at += 1;
    } else {
        loop {
            let field = Field::from_name(Cow::Borrowed(scanner.string()?));
            let bit = 1_u16 << field.index()?;
            if seen & bit != 0 {
                return None;
            }
            seen |= bit;
            scanner.expect(b':')?;
            match field {
                Field::Type => raw.record_type = Some(scanner.text_value()?),
                Field::EventType => raw.event_type = Some(scanner.text_value()?),
                Field::EventId => raw.event_id = Some(scanner.text_value()?),
                Field::Reverses => {
                    raw.reverses_at = Some(at);
                    raw.reverses = Some(scanner.text_value()?);
                }
                Field::Ledger => raw.ledger = Some(Scalar::Unsigned(scanner.unsigned()?)),
                Field::Subjects => {
                    raw.subjects_at = Some(at);
                    raw.subjects = Some(RawMap::Texts(scanner.text_map()?));
                }
                Field::Components => {
                    raw.components_at = Some(at);
                    raw.components = Some(RawMap::Texts(scanner.text_map()?));
                }
                Field::BusinessDate => raw.business_date = Some(scanner.text_value()?),
                Field::Metadata => {
                    scanner.expect(b'{')?;
                    scanner.expect(b'}')?;
                    raw.metadata = Some(RawMetadata::Object(BTreeMap::new()));
                }
                Field::Unknown(_) => return None,
            }
            at += 1;
            match scanner.next_byte()? {
                b',' => {}
                b'}' => break,
                _ => return None,
            }
        }
    }
    scanner.skip_whitespace();
    (scanner.at == scanner.bytes.len()).then_some(raw)
}

impl Field<'_> {
    /// A bit position per known field; `None` for an unknown one.
    fn index(&self) -> Option<u32> {
        Some(match self {
            Self::Type => 0,
            Self::EventType => 1,
            Self::EventId => 2,
            Self::Reverses => 3,
            Self::Ledger => 4,
            Self::Subjects => 5,
            Self::Components => 6,
            Self::BusinessDate => 7,
            Self::Metadata => 8,
            Self::Unknown(_) => return None,
        })
    }
}

struct Scanner<'a> {
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
}

/// The length of the run of bytes before the first quote, backslash or control character
/// (`None` if there is none): eight bytes at a time, with the classic tests for a zero byte
/// (`x - 0x01.. & !x & 0x80..`, here of `byte ^ '"'` and `byte ^ '\\'`) and for a byte below
/// 0x20. A test can also flag bytes after the first match (a borrow runs upwards), never
/// before it, so the lowest flagged byte is the first match.
fn plain_text_len(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let mut at = 0;
    while let Some(chunk) = bytes.get(at..at + 8) {
        let mut word = [0_u8; 8];
        word.copy_from_slice(chunk);
        let word = u64::from_le_bytes(word);
        let quote = word ^ (ONES * u64::from(b'"'));
        let backslash = word ^ (ONES * u64::from(b'\\'));
        let flagged = ((quote.wrapping_sub(ONES) & !quote)
            | (backslash.wrapping_sub(ONES) & !backslash)
            | (word.wrapping_sub(ONES * 0x20) & !word))
            & HIGHS;
        if flagged != 0 {
            return Some(at + usize::try_from(flagged.trailing_zeros() / 8).ok()?);
        }
        at += 8;
    }
    let rest = bytes.get(at..)?;
    rest.iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20).map(|i| at + i)
}

impl<'a> Scanner<'a> {
    fn skip_whitespace(&mut self) {
        while matches!(self.bytes.get(self.at), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    /// The next byte after whitespace, not consumed.
    fn peek(&mut self) -> Option<u8> {
        self.skip_whitespace();
        self.bytes.get(self.at).copied()
    }

    fn next_byte(&mut self) -> Option<u8> {
        let byte = self.peek()?;
        self.at += 1;
        Some(byte)
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        (self.next_byte()? == byte).then_some(())
    }

    /// A string without escapes or control characters (which JSON refuses unescaped).
    fn string(&mut self) -> Option<&'a str> {
        self.expect(b'"')?;
        let start = self.at;
        let end = start + plain_text_len(self.bytes.get(start..)?)?;
        if *self.bytes.get(end)? != b'"' {
            return None;
        }
        self.at = end + 1;
        // Both ends are ASCII quotes, so the slice is on character boundaries.
        self.text.get(start..end)
    }

    fn text_value(&mut self) -> Option<Scalar<'a>> {
        self.string().map(|text| Scalar::Text(Cow::Borrowed(text)))
    }

    /// A JSON integer `0` or `[1-9][0-9]*` that fits a u64, followed by no fraction or
    /// exponent (which would make it a float).
    fn unsigned(&mut self) -> Option<u64> {
        self.skip_whitespace();
        let start = self.at;
        let mut value = 0_u64;
        while let Some(digit) = self.bytes.get(self.at).filter(|b| b.is_ascii_digit()) {
            value = value.checked_mul(10)?.checked_add(u64::from(digit - b'0'))?;
            self.at += 1;
        }
        let digits = self.at - start;
        let leading_zero = digits > 1 && self.bytes[start] == b'0';
        let float = matches!(self.bytes.get(self.at), Some(b'.' | b'e' | b'E'));
        (digits > 0 && !leading_zero && !float).then_some(value)
    }

    /// An object of strings, each key once.
    fn text_map(&mut self) -> Option<TextPairs<'a>> {
        self.expect(b'{')?;
        let mut entries: TextPairs<'a> = Vec::new();
        if self.peek()? == b'}' {
            self.at += 1;
            return Some(entries);
        }
        loop {
            let key = self.string()?;
            self.expect(b':')?;
            let value = self.string()?;
            if entries.len() == EVENT_MAP_ENTRIES_MAX || entries.iter().any(|(k, _)| k == key) {
                return None;
            }
            entries.push((Cow::Borrowed(key), Cow::Borrowed(value)));
            match self.next_byte()? {
                b',' => {}
                b'}' => return Some(entries),
                _ => return None,
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Checking the fields read, in a fixed order.
// ---------------------------------------------------------------------------------------------

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

type TextPairs<'a> = Vec<(Cow<'a, str>, Cow<'a, str>)>;

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

    /// The scanner's all-text maps as the serde path holds them.
    fn as_entries(raw: RawEvent<'_>) -> RawEvent<'_> {
        fn entries(map: Option<RawMap<'_>>) -> Option<RawMap<'_>> {
            match map {
                Some(RawMap::Texts(texts)) => {
                    Some(RawMap::Entries(texts.into_iter().map(|(k, v)| (k, Scalar::Text(v))).collect()))
                }
                other => other,
            }
        }
        RawEvent { subjects: entries(raw.subjects), components: entries(raw.components), ..raw }
    }

    #[test]
    fn the_scanner_reads_what_serde_reads_or_leaves_the_line_to_it() {
        let reversal = r#"{"type":"event","event_id":"E9","event_type":"reversal","reverses":"E1","ledger":156,"business_date":"2024-01-05","metadata":{}}"#;
        let usual = E1.replace(r#"{"order_no":"A"}"#, "{}");
        let spaced = " {\"type\" : \"event\",\n\"ledger\"\t: 7 , \"components\":{ } ,\"subjects\":{}}\r\n";
        for line in
            [usual.as_str(), reversal, spaced, "{}", r#"{"ledger":0}"#, r#"{"ledger":18446744073709551615}"#]
        {
            let scanned = scan(line).unwrap_or_else(|| panic!("scanned: {line}"));
            assert_eq!(Some(as_entries(scanned)), serde_json::from_str::<RawEvent<'_>>(line).ok(), "{line}");
        }
        // Left to serde: escapes, metadata with content, repeated or unknown keys, numbers that
        // are not plain unsigned integers, other value types, broken or trailing text.
        for line in [
            E1.to_owned(),
            usual.replace(r#""L1""#, r#""L\u0031""#),
            usual.replace(r#""ledger":156"#, r#""ledger":156,"ledger":156"#),
            usual.replace(r#""customer":"C1""#, r#""customer":"C1","customer":"C1""#),
            usual.replace(r#""ledger":156"#, r#""ledger":156,"zz":1"#),
            usual.replace(r#""ledger":156"#, r#""ledger":0156"#),
            usual.replace(r#""ledger":156"#, r#""ledger":156.0"#),
            usual.replace(r#""ledger":156"#, r#""ledger":1e2"#),
            usual.replace(r#""ledger":156"#, r#""ledger":-1"#),
            usual.replace(r#""ledger":156"#, r#""ledger":18446744073709551616"#),
            usual.replace(r#""ledger":156"#, r#""ledger":"156""#),
            usual.replace(r#""customer":"C1""#, r#""customer":7"#),
            usual.replace(r#""C1""#, "\"C\u{1}1\""),
            format!("{usual} x"),
            usual[..usual.len() - 1].to_owned(),
            "[]".to_owned(),
        ] {
            assert_eq!(scan(&line), None, "{line}");
        }
    }

    #[test]
    fn plain_text_ends_at_the_first_quote_backslash_or_control_character() {
        let slow = |bytes: &[u8]| bytes.iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20);
        let mut cases: Vec<Vec<u8>> = vec![Vec::new(), b"abc".to_vec(), "借据\"".as_bytes().to_vec()];
        for len in 0..20 {
            for stop in [b'"', b'\\', 0x00, 0x1f, b' ', 0x7f, 0x80, 0xff] {
                for at in 0..=len {
                    let mut bytes = vec![b'a'; len];
                    bytes.insert(at, stop);
                    // Bytes that could fool a borrow: 0x21 ('!'), 0x23 ('#'), 0x5d (']').
                    bytes.extend_from_slice(&[0x21, 0x23, 0x5d, b'"']);
                    cases.push(bytes);
                }
            }
        }
        for bytes in cases {
            assert_eq!(plain_text_len(&bytes), slow(&bytes), "{bytes:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn plain_text_len_is_the_first_stop(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..48)) {
            let slow = bytes.iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20);
            proptest::prop_assert_eq!(plain_text_len(&bytes), slow);
        }
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
