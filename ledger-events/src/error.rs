//! Errors: a configuration refused at load, and an event refused before anything is posted.

use crate::expression::ExpressionError;

/// A chart file refused at load: which file, where in it (template and field), and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {at}: {problem}")]
pub struct ConfigError {
    /// The file name as given to the loader (`default.toml` for the shipped default).
    pub file: String,
    /// The place in the file: `accounts[3].code`, `template "loan.disbursed" postings[1].credit`.
    pub at: String,
    pub problem: ConfigProblem,
}

/// What is wrong with a chart file.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigProblem {
    #[error("cannot read the file: {0}")]
    Io(String),
    #[error("{0}")]
    Syntax(String),
    #[error("unsupported format {found}; this build reads format {supported}")]
    UnsupportedFormat { found: u32, supported: u32 },
    #[error("must be at least 1")]
    ZeroVersion,
    #[error("must not be empty")]
    Empty,
    #[error("at most {max} entries")]
    TooMany { max: usize },
    #[error("{value:?} is not a valid name ({rule})")]
    InvalidName { value: String, rule: &'static str },
    #[error("{value:?} is declared twice")]
    Duplicate { value: String },
    #[error("ledger {ledger} is declared twice")]
    DuplicateLedger { ledger: u32 },
    #[error("account code {code} is declared twice")]
    DuplicateAccountCode { code: u16 },
    #[error("event type {event_type:?} has two templates")]
    DuplicateEventType { event_type: String },
    #[error("0 is reserved")]
    Zero,
    #[error("currency {value:?} is not a three-letter ISO 4217 code")]
    InvalidCurrency { value: String },
    #[error("scale {scale} exceeds {max}")]
    ScaleTooLarge { scale: u8, max: u8 },
    #[error("unknown ledger {ledger}")]
    UnknownLedger { ledger: u32 },
    #[error("the file has several ledgers; name the template's ledger")]
    LedgerRequired,
    #[error(
        "unknown account flag {flag:?} (chart flags: debits_must_not_exceed_credits, credits_must_not_exceed_debits, history)"
    )]
    UnknownFlag { flag: String },
    #[error("flag {flag} on a {normal}-normal account would forbid its normal balance")]
    FlagAgainstNormalSide { flag: &'static str, normal: &'static str },
    #[error("missing; every posting needs a debit and a credit account")]
    MissingSide,
    #[error("missing; every posting needs an amount")]
    MissingAmount,
    #[error("unknown account code {code}")]
    UnknownAccountCode { code: u16 },
    #[error("account {code} is not kept in ledger {ledger} (the template's ledger)")]
    AccountNotInLedger { code: u16, ledger: u32 },
    #[error("unknown subject key {key:?}")]
    UnknownSubjectKey { key: String },
    #[error("debit and credit are the same account")]
    SameAccount,
    #[error("unknown component {component:?}")]
    UnknownComponent { component: String },
    #[error("bad expression {text:?}: {error}")]
    BadExpression { text: String, error: ExpressionError },
    #[error("unknown rounding {value:?} (half_even, half_up, down, up)")]
    UnknownRounding { value: String },
    #[error("{text:?} multiplies by a fraction; name a rounding (half_even, half_up, down, up)")]
    RoundingRequired { text: String },
    #[error("{text:?} is exact; a rounding would never apply")]
    RoundingUnused { text: String },
    #[error("{reason}; the posting can never fire")]
    NeverFires { reason: String },
    #[error("the template has no postings, so it can never fire")]
    NoPostings,
}

/// An event refused before anything is posted. Each variant has a stable snake_case code
/// (`EventError::code`), documented in `docs/events.md`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error("not a JSON object: {detail}")]
    InvalidJson { detail: String },
    #[error("\"type\" is {found:?}; an event line has \"type\":\"event\"")]
    WrongRecordType { found: String },
    #[error("unknown field {field:?}")]
    UnknownField { field: String },
    #[error("missing field {field:?}")]
    MissingField { field: &'static str },
    #[error("field {field:?} must be {expected}")]
    InvalidField { field: String, expected: &'static str },
    #[error("event_id must be 1 to {max} bytes without control characters", max = crate::event::EVENT_ID_BYTES_MAX)]
    InvalidEventId,
    #[error("business_date {value:?} is not a real YYYY-MM-DD date")]
    InvalidBusinessDate { value: String },
    #[error("component {component:?}: {value:?} is not a decimal string DIGITS[.DIGITS]")]
    InvalidAmount { component: String, value: String },
    #[error("component {component:?}: {value:?} is negative")]
    NegativeAmount { component: String, value: String },
    #[error("component {component:?}: {value:?} has more than {scale} decimals (the ledger's scale)")]
    TooManyDecimals { component: String, value: String, scale: u8 },
    #[error("component {component:?}: amount too large")]
    AmountOverflow { component: String },
    #[error("unknown event type {event_type:?}")]
    UnknownEventType { event_type: String },
    #[error("unknown ledger {ledger}")]
    UnknownLedger { ledger: u32 },
    #[error("event type {event_type:?} posts to ledger {expected}, not {found}")]
    WrongLedger { event_type: String, expected: u32, found: u32 },
    #[error("event type {event_type:?} has no component {component:?}")]
    UnknownComponent { event_type: String, component: String },
    #[error("unknown subject key {key:?}")]
    UnknownSubject { key: String },
    #[error("subject {key:?}: value must be 1 to {max} bytes without control characters", max = crate::event::SUBJECT_VALUE_BYTES_MAX)]
    InvalidSubjectValue { key: String },
    #[error("posting {posting} of {event_type:?} needs subject {key:?}")]
    MissingSubject { event_type: String, posting: usize, key: String },
    #[error("posting {posting} of {event_type:?}: amount {expression:?} is negative")]
    NegativePostingAmount { event_type: String, posting: usize, expression: String },
    #[error("posting {posting} of {event_type:?}: amount {expression:?} too large")]
    PostingOverflow { event_type: String, posting: usize, expression: String },
    #[error("event {event_id:?} posts nothing (every amount is zero)")]
    EmptyEntry { event_id: String },
    #[error("the reversal names {reverses:?}, not the plan's event {event_id:?}")]
    ReversalMismatch { reverses: String, event_id: String },
    #[error("event {event_id:?} is itself a reversal; post the original entry again instead")]
    ReversalOfReversal { event_id: String },
    #[error("transfer ids from {first} for {count} transfers leave 1..u128::MAX-1")]
    TransferIdOutOfRange { first: u128, count: usize },
}

impl EventError {
    /// The stable code returned to clients.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidJson { .. } => "invalid_json",
            Self::WrongRecordType { .. } => "wrong_record_type",
            Self::UnknownField { .. } => "unknown_field",
            Self::MissingField { .. } => "missing_field",
            Self::InvalidField { .. } => "invalid_field",
            Self::InvalidEventId => "invalid_event_id",
            Self::InvalidBusinessDate { .. } => "invalid_business_date",
            Self::InvalidAmount { .. } => "invalid_amount",
            Self::NegativeAmount { .. } => "negative_amount",
            Self::TooManyDecimals { .. } => "too_many_decimals",
            Self::AmountOverflow { .. } | Self::PostingOverflow { .. } => "amount_overflow",
            Self::UnknownEventType { .. } => "unknown_event_type",
            Self::UnknownLedger { .. } => "unknown_ledger",
            Self::WrongLedger { .. } => "wrong_ledger",
            Self::UnknownComponent { .. } => "unknown_component",
            Self::UnknownSubject { .. } => "unknown_subject",
            Self::InvalidSubjectValue { .. } => "invalid_subject_value",
            Self::MissingSubject { .. } => "missing_subject",
            Self::NegativePostingAmount { .. } => "negative_posting_amount",
            Self::EmptyEntry { .. } => "empty_entry",
            Self::ReversalMismatch { .. } => "reversal_mismatch",
            Self::ReversalOfReversal { .. } => "reversal_of_reversal",
            Self::TransferIdOutOfRange { .. } => "transfer_id_out_of_range",
        }
    }
}
