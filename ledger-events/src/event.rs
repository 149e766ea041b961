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

use std::collections::BTreeMap;

use serde_json::{Map, Value};

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
        let value: Value = serde_json::from_str(line)
            .map_err(|error| EventError::InvalidJson { detail: error.to_string() })?;
        Self::from_value(&value)
    }

    /// Parses an already decoded JSON value.
    pub fn from_value(value: &Value) -> Result<Self, EventError> {
        let Value::Object(object) = value else {
            return Err(EventError::InvalidJson { detail: "expected an object".to_owned() });
        };
        match object.get("type") {
            None => return Err(EventError::MissingField { field: "type" }),
            Some(Value::String(kind)) if kind == "event" => {}
            Some(Value::String(kind)) => return Err(EventError::WrongRecordType { found: kind.clone() }),
            Some(_) => {
                return Err(EventError::InvalidField { field: "type".to_owned(), expected: "a string" });
            }
        }
        let event_type = required_string(object, "event_type")?;
        if event_type == REVERSAL_EVENT_TYPE {
            check_fields(
                object,
                &["type", "event_id", "event_type", "reverses", "ledger", "business_date", "metadata"],
            )?;
            Ok(Self::Reversal(ReversalEvent {
                event_id: event_id(object, "event_id")?,
                reverses: event_id(object, "reverses")?,
                ledger: ledger(object)?,
                business_date: business_date(object)?,
                metadata: metadata(object)?,
            }))
        } else {
            check_fields(
                object,
                &[
                    "type",
                    "event_id",
                    "event_type",
                    "ledger",
                    "subjects",
                    "components",
                    "business_date",
                    "metadata",
                ],
            )?;
            if event_type.is_empty() {
                return Err(EventError::InvalidField {
                    field: "event_type".to_owned(),
                    expected: "a non-empty string",
                });
            }
            Ok(Self::Entry(LedgerEvent {
                event_id: event_id(object, "event_id")?,
                event_type: event_type.to_owned(),
                ledger: ledger(object)?,
                subjects: subjects(object)?,
                components: components(object)?,
                business_date: business_date(object)?,
                metadata: metadata(object)?,
            }))
        }
    }

    #[must_use]
    pub fn event_id(&self) -> &str {
        match self {
            Self::Entry(event) => &event.event_id,
            Self::Reversal(event) => &event.event_id,
        }
    }
}

/// Checks an event id or subject value: non-empty, at most `max` bytes, no control characters.
pub(crate) fn valid_text(value: &str, max: usize) -> bool {
    !value.is_empty() && value.len() <= max && !value.chars().any(char::is_control)
}

fn check_fields(object: &Map<String, Value>, known: &[&str]) -> Result<(), EventError> {
    match object.keys().find(|key| !known.contains(&key.as_str())) {
        Some(field) => Err(EventError::UnknownField { field: field.clone() }),
        None => Ok(()),
    }
}

fn required_string<'a>(object: &'a Map<String, Value>, field: &'static str) -> Result<&'a str, EventError> {
    match object.get(field) {
        None => Err(EventError::MissingField { field }),
        Some(Value::String(text)) => Ok(text),
        Some(_) => Err(EventError::InvalidField { field: field.to_owned(), expected: "a string" }),
    }
}

fn event_id(object: &Map<String, Value>, field: &'static str) -> Result<String, EventError> {
    let id = required_string(object, field)?;
    if valid_text(id, EVENT_ID_BYTES_MAX) { Ok(id.to_owned()) } else { Err(EventError::InvalidEventId) }
}

fn ledger(object: &Map<String, Value>) -> Result<u32, EventError> {
    let invalid =
        || EventError::InvalidField { field: "ledger".to_owned(), expected: "an integer 1..=4294967295" };
    match object.get("ledger") {
        None => Err(EventError::MissingField { field: "ledger" }),
        Some(Value::Number(number)) => {
            number.as_u64().and_then(|n| u32::try_from(n).ok()).filter(|n| *n != 0).ok_or_else(invalid)
        }
        Some(_) => Err(invalid()),
    }
}

fn business_date(object: &Map<String, Value>) -> Result<BusinessDate, EventError> {
    let text = required_string(object, "business_date")?;
    BusinessDate::parse(text).ok_or_else(|| EventError::InvalidBusinessDate { value: text.to_owned() })
}

fn optional_object<'a>(
    object: &'a Map<String, Value>,
    field: &'static str,
) -> Result<Option<&'a Map<String, Value>>, EventError> {
    match object.get(field) {
        None => Ok(None),
        Some(Value::Object(inner)) if inner.len() <= EVENT_MAP_ENTRIES_MAX => Ok(Some(inner)),
        Some(Value::Object(_)) => Err(EventError::InvalidField {
            field: field.to_owned(),
            expected: "an object of at most 32 entries",
        }),
        Some(_) => Err(EventError::InvalidField { field: field.to_owned(), expected: "an object" }),
    }
}

fn subjects(object: &Map<String, Value>) -> Result<BTreeMap<String, String>, EventError> {
    let mut subjects = BTreeMap::new();
    for (key, value) in optional_object(object, "subjects")?.into_iter().flatten() {
        let Value::String(value) = value else {
            return Err(EventError::InvalidField { field: format!("subjects.{key}"), expected: "a string" });
        };
        if !valid_text(value, SUBJECT_VALUE_BYTES_MAX) {
            return Err(EventError::InvalidSubjectValue { key: key.clone() });
        }
        subjects.insert(key.clone(), value.clone());
    }
    Ok(subjects)
}

fn components(object: &Map<String, Value>) -> Result<BTreeMap<String, String>, EventError> {
    let Some(inner) = optional_object(object, "components")? else {
        return Err(EventError::MissingField { field: "components" });
    };
    let mut components = BTreeMap::new();
    for (component, value) in inner {
        let Value::String(text) = value else {
            // A JSON number may already have passed through a float: refuse it rather than guess.
            return Err(EventError::InvalidAmount { component: component.clone(), value: value.to_string() });
        };
        amount::check_syntax(text).map_err(|problem| amount_error(problem, component, text, 0))?;
        components.insert(component.clone(), text.clone());
    }
    Ok(components)
}

fn metadata(object: &Map<String, Value>) -> Result<BTreeMap<String, Value>, EventError> {
    Ok(optional_object(object, "metadata")?
        .into_iter()
        .flatten()
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect())
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
