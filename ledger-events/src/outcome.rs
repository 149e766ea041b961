//! The result of posting one event, as a stable number on the wire and a snake_case name in
//! JSON (`{"id":"E1","result":"ok"}`).
//!
//! ```text
//! code         name                          meaning
//! 0            ok                            posted now
//! 1            exists                        posted before with this exact body (a retry)
//! 2            exists_with_different_body    the event id was posted before with another body
//! 3            already_reversed              the original was reversed before by another reversal event
//! 4            original_not_found            a reversal names an event that was never posted
//! 5            id_already_failed             an earlier submission of this event id failed on
//!                                            the ledger's state; the id stays refused
//! 100 + k      an invalid event              k indexes `INVALID_EVENT_NAMES` (the
//!                                            `EventError::code()` names), e.g. 104 invalid_event_id
//! 1000 + c     the ledger refused the entry  c is the `CreateTransferResult` code of the
//!                                            posting that failed, e.g. 1000 + 59 = 1059 exceeds_debits
//! ```
//!
//! Nothing is changed by an event whose outcome is not `ok`.

use ledger_core::result::CreateTransferResult;

/// The names of `EventError::code()`, in code order from 100. Append only: the position is
/// the wire code.
pub const INVALID_EVENT_NAMES: [&str; 24] = [
    "invalid_json",
    "wrong_record_type",
    "unknown_field",
    "missing_field",
    "invalid_event_id",
    "invalid_field",
    "invalid_business_date",
    "invalid_amount",
    "negative_amount",
    "too_many_decimals",
    "amount_overflow",
    "unknown_event_type",
    "unknown_ledger",
    "wrong_ledger",
    "unknown_component",
    "unknown_subject",
    "invalid_subject_value",
    "missing_subject",
    "negative_posting_amount",
    "empty_entry",
    "reversal_mismatch",
    "reversal_of_reversal",
    "transfer_id_out_of_range",
    // The event's record (ids, subjects, components, metadata) is larger than
    // `record::EVENT_NOTE_BYTES_MAX`; not an `EventError`: the server finds it when it notes
    // the event.
    "event_too_large",
];

pub const INVALID_EVENT_BASE: u32 = 100;
pub const LEDGER_REFUSED_BASE: u32 = 1000;

/// What became of one posted event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventOutcome {
    Ok,
    Exists,
    ExistsWithDifferentBody,
    AlreadyReversed,
    OriginalNotFound,
    IdAlreadyFailed,
    /// The event could not be planned; the name is an `EventError::code()`.
    Invalid(&'static str),
    /// The ledger refused a posting of the entry (a balance limit, a closed account, ...).
    LedgerRefused(CreateTransferResult),
}

impl EventOutcome {
    /// The outcome for an event that failed to parse or plan.
    #[must_use]
    pub fn invalid(error_code: &str) -> Self {
        INVALID_EVENT_NAMES
            .iter()
            .find(|name| **name == error_code)
            .map_or(Self::Invalid("invalid_field"), |name| Self::Invalid(name))
    }

    #[must_use]
    pub fn code(self) -> u32 {
        match self {
            Self::Ok => 0,
            Self::Exists => 1,
            Self::ExistsWithDifferentBody => 2,
            Self::AlreadyReversed => 3,
            Self::OriginalNotFound => 4,
            Self::IdAlreadyFailed => 5,
            Self::Invalid(name) => {
                let index = INVALID_EVENT_NAMES.iter().position(|n| *n == name).unwrap_or(5);
                INVALID_EVENT_BASE + u32::try_from(index).unwrap_or(5)
            }
            Self::LedgerRefused(result) => LEDGER_REFUSED_BASE + result.code(),
        }
    }

    #[must_use]
    pub fn from_code(code: u32) -> Option<Self> {
        Some(match code {
            0 => Self::Ok,
            1 => Self::Exists,
            2 => Self::ExistsWithDifferentBody,
            3 => Self::AlreadyReversed,
            4 => Self::OriginalNotFound,
            5 => Self::IdAlreadyFailed,
            c if (INVALID_EVENT_BASE..LEDGER_REFUSED_BASE).contains(&c) => {
                let index = usize::try_from(c - INVALID_EVENT_BASE).ok()?;
                Self::Invalid(INVALID_EVENT_NAMES.get(index)?)
            }
            c if c >= LEDGER_REFUSED_BASE => {
                Self::LedgerRefused(CreateTransferResult::from_code(c - LEDGER_REFUSED_BASE)?)
            }
            _ => return None,
        })
    }

    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Exists => "exists",
            Self::ExistsWithDifferentBody => "exists_with_different_body",
            Self::AlreadyReversed => "already_reversed",
            Self::OriginalNotFound => "original_not_found",
            Self::IdAlreadyFailed => "id_already_failed",
            Self::Invalid(name) => name,
            Self::LedgerRefused(result) => result.name(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_outcome_round_trips_through_its_code() {
        let mut outcomes = vec![
            EventOutcome::Ok,
            EventOutcome::Exists,
            EventOutcome::ExistsWithDifferentBody,
            EventOutcome::AlreadyReversed,
            EventOutcome::OriginalNotFound,
            EventOutcome::IdAlreadyFailed,
            EventOutcome::LedgerRefused(CreateTransferResult::ExceedsDebits),
        ];
        outcomes.extend(INVALID_EVENT_NAMES.iter().map(|name| EventOutcome::invalid(name)));
        for outcome in outcomes {
            assert_eq!(EventOutcome::from_code(outcome.code()), Some(outcome), "{outcome:?}");
        }
        assert_eq!(EventOutcome::LedgerRefused(CreateTransferResult::ExceedsDebits).name(), "exceeds_debits");
        assert_eq!(EventOutcome::from_code(6), None);
        assert_eq!(EventOutcome::from_code(100 + 24), None);
    }

    #[test]
    fn every_event_error_code_has_a_wire_number() {
        // The names come from `EventError::code()`; a new error code must be appended here.
        let source = include_str!("error.rs");
        for line in source.lines().filter(|l| l.contains("=> \"")) {
            let name = line.split('"').nth(1).expect("a quoted name");
            assert!(INVALID_EVENT_NAMES.contains(&name), "{name} has no wire code");
        }
    }
}
