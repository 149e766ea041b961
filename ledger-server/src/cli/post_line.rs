//! One input line of `ledger post`: a JSON object that becomes an account, a transfer, or a
//! standard ledger event.
//!
//! ```text
//! {"type":"account","id":"1","ledger":156,"code":1001,"flags":["history"]}
//! {"type":"transfer","id":"10","debit_account_id":"1","credit_account_id":"2","amount":"500",
//!  "ledger":156,"code":1,"flags":["pending"],"timeout":60,"pending_id":"0"}
//! {"type":"event","event_id":"E1","event_type":"loan.disbursed","ledger":156,...}
//! ```
//!
//! An event line is checked only as far as printing its result needs: a JSON object with
//! `"type":"event"` and a string `event_id`. It is sent as the line's bytes, and the server
//! validates the rest (`docs/events.md`) and answers per event, so the rules live in one place.
//!
//! Field types follow the HTTP API's JSON (`json.rs`): `u128` and `u64` fields are decimal
//! strings (JSON numbers lose precision past 2^53), `u32`/`u16` fields are JSON numbers, flags are
//! lists of snake_case names. `id` is required; every other field may be omitted (or `null`) and
//! is then zero or empty. Fields the records do not have, including `timestamp` and balances
//! (both the writer's), are refused, so a typo never silently posts a zero.
//!
//! Parsing has two steps: serde reads the object's shape (the `type` tag, which fields exist,
//! `deny_unknown_fields`), then each field's value is checked here, so that an error names the
//! field. A new line type is one more variant of `RawLine` and of `PostLine`.

use ledger_core::{Account, AccountFlags, Transfer, TransferFlags};
use serde::Deserialize;
use serde_json::Value;

/// A parsed line: the record to create, or the event to post.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PostLine {
    Account(Account),
    Transfer(Transfer),
    Event(EventLine),
}

/// A `{"type":"event",...}` line: its id, for the result line, and its text, sent as it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventLine {
    pub event_id: String,
    /// The line (trimmed), exactly the bytes the server receives.
    pub json: String,
}

/// Which request a line goes into: consecutive lines of one kind share a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineKind {
    Account,
    Transfer,
    Event,
}

impl PostLine {
    #[must_use]
    pub fn kind(&self) -> LineKind {
        match self {
            Self::Account(_) => LineKind::Account,
            Self::Transfer(_) => LineKind::Transfer,
            Self::Event(_) => LineKind::Event,
        }
    }

    /// The id the result line is reported under: the decimal id of a record, the `event_id` of
    /// an event.
    #[must_use]
    pub fn id(&self) -> String {
        match self {
            Self::Account(account) => account.id.to_string(),
            Self::Transfer(transfer) => transfer.id.to_string(),
            Self::Event(event) => event.event_id.clone(),
        }
    }

    /// Whether the record continues a linked chain into the next line. Never for an event: each
    /// event is its own linked chain on the server.
    #[must_use]
    pub fn is_linked(&self) -> bool {
        match self {
            Self::Account(account) => account.flags.contains(AccountFlags::LINKED),
            Self::Transfer(transfer) => transfer.flags.contains(TransferFlags::LINKED),
            Self::Event(_) => false,
        }
    }
}

/// Why a line was not posted; the message goes to the user verbatim.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct LineError(pub String);

/// The object's shape. Values stay untyped until `parse_line` checks them field by field.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum RawLine {
    // Boxed: the raw shapes hold a JSON value per field, and the variants differ in size.
    Account(Box<RawAccount>),
    Transfer(Box<RawTransfer>),
    Event(RawEvent),
}

/// Only the id: every other field is the server's to check (unknown fields are not refused
/// here, so that the server names them with its own codes).
#[derive(Deserialize)]
struct RawEvent {
    event_id: Option<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAccount {
    id: Option<Value>,
    ledger: Option<Value>,
    code: Option<Value>,
    flags: Option<Value>,
    user_data_128: Option<Value>,
    user_data_64: Option<Value>,
    user_data_32: Option<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTransfer {
    id: Option<Value>,
    debit_account_id: Option<Value>,
    credit_account_id: Option<Value>,
    amount: Option<Value>,
    pending_id: Option<Value>,
    ledger: Option<Value>,
    code: Option<Value>,
    flags: Option<Value>,
    timeout: Option<Value>,
    user_data_128: Option<Value>,
    user_data_64: Option<Value>,
    user_data_32: Option<Value>,
}

/// Parses one line (without its newline).
///
/// # Errors
/// A `LineError` naming the first problem: bad JSON, a missing or unknown `type`, an unknown
/// field, a missing `id`, or a field whose value is not of its type or out of its range; for an
/// event, a missing or non-string `event_id`.
pub fn parse_line(line: &str) -> Result<PostLine, LineError> {
    // serde would also read a tagged enum from an array, positionally; a line is an object.
    if !line.trim_start().starts_with('{') {
        return Err(LineError("a line must be a JSON object".to_owned()));
    }
    let raw: RawLine = serde_json::from_str(line).map_err(|e| LineError(e.to_string()))?;
    match raw {
        RawLine::Account(raw) => parse_account(*raw).map(PostLine::Account),
        RawLine::Transfer(raw) => parse_transfer(*raw).map(PostLine::Transfer),
        RawLine::Event(raw) => parse_event(raw, line).map(PostLine::Event),
    }
}

fn parse_event(raw: RawEvent, line: &str) -> Result<EventLine, LineError> {
    match raw.event_id {
        Some(Value::String(event_id)) => Ok(EventLine { event_id, json: line.to_owned() }),
        None | Some(Value::Null) => Err(LineError("missing field `event_id`".to_owned())),
        Some(other) => Err(LineError(format!("`event_id` must be a string, got {other}"))),
    }
}

fn parse_account(raw: RawAccount) -> Result<Account, LineError> {
    Ok(Account {
        id: required("id", raw.id, decimal_u128)?,
        ledger: optional("ledger", raw.ledger, number_u32)?,
        code: optional("code", raw.code, number_u16)?,
        flags: AccountFlags(optional("flags", raw.flags, |f, v| {
            flag_bits(f, v, AccountFlags::from_name, |x| x.0)
        })?),
        user_data_128: optional("user_data_128", raw.user_data_128, decimal_u128)?,
        user_data_64: optional("user_data_64", raw.user_data_64, decimal_u64)?,
        user_data_32: optional("user_data_32", raw.user_data_32, number_u32)?,
        ..Account::default()
    })
}

fn parse_transfer(raw: RawTransfer) -> Result<Transfer, LineError> {
    Ok(Transfer {
        id: required("id", raw.id, decimal_u128)?,
        debit_account_id: optional("debit_account_id", raw.debit_account_id, decimal_u128)?,
        credit_account_id: optional("credit_account_id", raw.credit_account_id, decimal_u128)?,
        amount: optional("amount", raw.amount, decimal_u128)?,
        pending_id: optional("pending_id", raw.pending_id, decimal_u128)?,
        ledger: optional("ledger", raw.ledger, number_u32)?,
        code: optional("code", raw.code, number_u16)?,
        flags: TransferFlags(optional("flags", raw.flags, |f, v| {
            flag_bits(f, v, TransferFlags::from_name, |x| x.0)
        })?),
        timeout: optional("timeout", raw.timeout, number_u32)?,
        user_data_128: optional("user_data_128", raw.user_data_128, decimal_u128)?,
        user_data_64: optional("user_data_64", raw.user_data_64, decimal_u64)?,
        user_data_32: optional("user_data_32", raw.user_data_32, number_u32)?,
        timestamp: 0,
    })
}

type FieldParser<T> = fn(&str, &Value) -> Result<T, LineError>;

fn required<T>(field: &str, value: Option<Value>, parse: FieldParser<T>) -> Result<T, LineError> {
    match value {
        Some(value) => parse(field, &value),
        None => Err(LineError(format!("missing field `{field}`"))),
    }
}

/// An omitted field (or `null`) is zero / empty.
fn optional<T: Default>(
    field: &str,
    value: Option<Value>,
    parse: impl Fn(&str, &Value) -> Result<T, LineError>,
) -> Result<T, LineError> {
    match value {
        Some(value) => parse(field, &value),
        None => Ok(T::default()),
    }
}

/// A string of ASCII digits. Signs, spaces, `0x` and exponents are refused: an id is an exact
/// integer, and a lenient parse would accept what the producer did not mean.
fn decimal_digits<'v>(field: &str, value: &'v Value) -> Result<&'v str, LineError> {
    let Value::String(text) = value else {
        return Err(LineError(format!(
            "`{field}` must be a string of decimal digits (integers this wide lose precision as JSON numbers), got {value}"
        )));
    };
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(LineError(format!("`{field}` must be a base-10 integer, got {value}")));
    }
    Ok(text)
}

fn decimal_u128(field: &str, value: &Value) -> Result<u128, LineError> {
    decimal_digits(field, value)?
        .parse()
        .map_err(|_| LineError(format!("`{field}` is out of range (at most {}), got {value}", u128::MAX)))
}

fn decimal_u64(field: &str, value: &Value) -> Result<u64, LineError> {
    decimal_digits(field, value)?
        .parse()
        .map_err(|_| LineError(format!("`{field}` is out of range (at most {}), got {value}", u64::MAX)))
}

fn number_u64(field: &str, value: &Value, max: u64) -> Result<u64, LineError> {
    let number = value.as_u64().ok_or_else(|| {
        LineError(format!("`{field}` must be a non-negative integer JSON number, got {value}"))
    })?;
    if number > max {
        return Err(LineError(format!("`{field}` is out of range (at most {max}), got {number}")));
    }
    Ok(number)
}

fn number_u32(field: &str, value: &Value) -> Result<u32, LineError> {
    let number = number_u64(field, value, u64::from(u32::MAX))?;
    u32::try_from(number).map_err(|_| LineError(format!("`{field}` is out of range")))
}

fn number_u16(field: &str, value: &Value) -> Result<u16, LineError> {
    let number = number_u64(field, value, u64::from(u16::MAX))?;
    u16::try_from(number).map_err(|_| LineError(format!("`{field}` is out of range")))
}

/// A list of flag names, as bits. Naming a flag twice is harmless and allowed.
fn flag_bits<F: Copy>(
    field: &str,
    value: &Value,
    from_name: fn(&str) -> Option<F>,
    bits: fn(F) -> u16,
) -> Result<u16, LineError> {
    let Value::Array(names) = value else {
        return Err(LineError(format!("`{field}` must be a list of flag names, got {value}")));
    };
    let mut all = 0_u16;
    for name in names {
        let flag = name
            .as_str()
            .and_then(from_name)
            .ok_or_else(|| LineError(format!("`{field}`: unknown flag {name}")))?;
        all |= bits(flag);
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(line: &str) -> Account {
        match parse_line(line) {
            Ok(PostLine::Account(account)) => account,
            other => panic!("expected an account from {line}, got {other:?}"),
        }
    }

    fn transfer(line: &str) -> Transfer {
        match parse_line(line) {
            Ok(PostLine::Transfer(transfer)) => transfer,
            other => panic!("expected a transfer from {line}, got {other:?}"),
        }
    }

    /// The error message for `line`, which must fail.
    fn error(line: &str) -> String {
        match parse_line(line) {
            Err(LineError(message)) => message,
            Ok(parsed) => panic!("expected {line} to fail, got {parsed:?}"),
        }
    }

    #[test]
    fn an_account_line_sets_every_field() {
        let got = account(
            r#"{"type":"account","id":"340282366920938463463374607431768211454","ledger":4294967295,"code":65535,
                "flags":["linked","debits_must_not_exceed_credits","credits_must_not_exceed_debits","history","closed"],
                "user_data_128":"340282366920938463463374607431768211455","user_data_64":"18446744073709551615",
                "user_data_32":4294967295}"#,
        );
        let expected = Account {
            id: u128::MAX - 1,
            ledger: u32::MAX,
            code: u16::MAX,
            flags: AccountFlags::LINKED
                | AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS
                | AccountFlags::CREDITS_MUST_NOT_EXCEED_DEBITS
                | AccountFlags::HISTORY
                | AccountFlags::CLOSED,
            user_data_128: u128::MAX,
            user_data_64: u64::MAX,
            user_data_32: u32::MAX,
            ..Account::default()
        };
        assert_eq!(got, expected);
    }

    #[test]
    fn a_transfer_line_sets_every_field() {
        let got = transfer(
            r#"{"type":"transfer","id":"10","debit_account_id":"1","credit_account_id":"2","amount":"500",
                "pending_id":"9","ledger":156,"code":7,"flags":["pending","linked"],"timeout":60,
                "user_data_128":"11","user_data_64":"12","user_data_32":13}"#,
        );
        let expected = Transfer {
            id: 10,
            debit_account_id: 1,
            credit_account_id: 2,
            amount: 500,
            pending_id: 9,
            user_data_128: 11,
            user_data_64: 12,
            user_data_32: 13,
            timeout: 60,
            ledger: 156,
            code: 7,
            flags: TransferFlags::PENDING | TransferFlags::LINKED,
            timestamp: 0,
        };
        assert_eq!(got, expected);
        assert!(
            parse_line(r#"{"type":"transfer","id":"1","flags":["linked"]}"#).expect("parses").is_linked()
        );
    }

    #[test]
    fn every_transfer_flag_name_is_accepted() {
        for (name, flag) in TransferFlags::NAMES {
            let got = transfer(&format!(r#"{{"type":"transfer","id":"1","flags":["{name}"]}}"#));
            assert_eq!(got.flags, flag, "{name}");
        }
    }

    #[test]
    fn omitted_and_null_fields_are_zero_or_empty() {
        let got = transfer(r#"{"type":"transfer","id":"7","amount":null}"#);
        assert_eq!(got, Transfer { id: 7, ..Transfer::default() });
        let got = account(r#"{"id":"7","type":"account"}"#);
        assert_eq!(got, Account { id: 7, ..Account::default() }, "the tag may come anywhere");
    }

    #[test]
    fn the_id_is_required() {
        assert_eq!(error(r#"{"type":"account","ledger":1}"#), "missing field `id`");
        assert_eq!(error(r#"{"type":"transfer","id":null}"#), "missing field `id`");
    }

    #[test]
    fn bad_json_is_an_error() {
        assert!(error(r#"{"type":"account","id":"1""#).contains("EOF"), "unterminated object");
        assert!(error(r#"{"type":"account",}"#).contains("trailing comma"));
        assert_eq!(error("not json"), "a line must be a JSON object");
        assert_eq!(error(r#"["account","1"]"#), "a line must be a JSON object", "no positional form");
    }

    #[test]
    fn the_type_must_be_known() {
        assert!(error(r#"{"type":"acount","id":"1"}"#).contains("unknown variant `acount`"));
        assert!(error(r#"{"id":"1"}"#).contains("missing field `type`"));
    }

    #[test]
    fn unknown_fields_are_refused() {
        assert!(error(r#"{"type":"transfer","id":"1","amout":"5"}"#).contains("unknown field `amout`"));
        // Balances and timestamps are the writer's: an account line cannot set them.
        assert!(
            error(r#"{"type":"account","id":"1","credits_posted":"5"}"#)
                .contains("unknown field `credits_posted`")
        );
        assert!(
            error(r#"{"type":"account","id":"1","timestamp":"5"}"#).contains("unknown field `timestamp`")
        );
        // A transfer field on an account line is a typo too.
        assert!(error(r#"{"type":"account","id":"1","amount":"5"}"#).contains("unknown field `amount`"));
    }

    #[test]
    fn unknown_flags_are_refused() {
        assert_eq!(
            error(r#"{"type":"transfer","id":"1","flags":["pendng"]}"#),
            r#"`flags`: unknown flag "pendng""#
        );
        // An account flag on a transfer, and a flag that is not a string.
        assert!(error(r#"{"type":"transfer","id":"1","flags":["history"]}"#).contains("unknown flag"));
        assert!(error(r#"{"type":"account","id":"1","flags":[1]}"#).contains("unknown flag 1"));
        assert!(error(r#"{"type":"account","id":"1","flags":"linked"}"#).contains("must be a list"));
    }

    #[test]
    fn wide_integers_must_be_decimal_strings() {
        for field in ["id", "debit_account_id", "credit_account_id", "amount", "pending_id", "user_data_128"]
        {
            let line = |v: &str| match field {
                "id" => format!(r#"{{"type":"transfer","id":{v}}}"#),
                _ => format!(r#"{{"type":"transfer","id":"1","{field}":{v}}}"#),
            };
            assert!(error(&line("5")).contains("must be a string of decimal digits"), "{field} as a number");
            for bad in [r#""""#, r#""abc""#, r#""-1""#, r#""+1""#, r#"" 1""#, r#""1e3""#, r#""0x10""#] {
                assert!(error(&line(bad)).contains("must be a base-10 integer"), "{field} = {bad}");
            }
            let too_big = line(r#""340282366920938463463374607431768211456""#);
            assert!(error(&too_big).contains("out of range"), "{field} = u128::MAX + 1");
        }
        assert!(
            error(r#"{"type":"account","id":"1","user_data_64":"18446744073709551616"}"#)
                .contains("out of range")
        );
        assert!(error(r#"{"type":"account","id":"1","user_data_64":5}"#).contains("must be a string"));
        assert_eq!(transfer(r#"{"type":"transfer","id":"007"}"#).id, 7, "leading zeros are digits");
    }

    #[test]
    fn narrow_integers_must_be_numbers_in_range() {
        let cases = [
            ("ledger", "4294967296"),
            ("code", "65536"),
            ("user_data_32", "4294967296"),
            ("timeout", "4294967296"),
        ];
        for (field, too_big) in cases {
            let line = |v: &str| format!(r#"{{"type":"transfer","id":"1","{field}":{v}}}"#);
            assert!(error(&line(too_big)).contains("out of range"), "{field} = {too_big}");
            for bad in ["-1", "1.5", r#""1""#, "true"] {
                assert!(error(&line(bad)).contains("must be a non-negative integer"), "{field} = {bad}");
            }
        }
        assert!(error(r#"{"type":"account","id":"1","code":70000}"#).contains("at most 65535"));
    }

    #[test]
    fn an_event_line_keeps_its_text_and_id() {
        let line = r#"{"type":"event","event_id":"E9","event_type":"reversal","reverses":"E1","ledger":156,"business_date":"2024-01-05"}"#;
        let parsed = parse_line(line).expect("an event");
        assert_eq!(parsed, PostLine::Event(EventLine { event_id: "E9".to_owned(), json: line.to_owned() }));
        assert_eq!(
            (parsed.kind(), parsed.id(), parsed.is_linked()),
            (LineKind::Event, "E9".to_owned(), false)
        );
        // The tag may come anywhere; ids may hold any text, escapes decoded.
        let parsed = parse_line(r#"{"event_id":"E\"1\u00e9","type":"event"}"#).expect("an event");
        assert_eq!(parsed.id(), "E\"1é");
    }

    #[test]
    fn event_fields_are_left_to_the_server() {
        // Unknown fields, bad amounts, missing types: the server answers them per event.
        let line = r#"{"type":"event","event_id":"E1","amout":"5","components":{"principal":1.5}}"#;
        assert!(matches!(parse_line(line), Ok(PostLine::Event(_))));
    }

    #[test]
    fn an_event_needs_a_string_event_id() {
        assert_eq!(error(r#"{"type":"event","event_type":"loan.disbursed"}"#), "missing field `event_id`");
        assert_eq!(error(r#"{"type":"event","event_id":null}"#), "missing field `event_id`");
        assert_eq!(error(r#"{"type":"event","event_id":7}"#), "`event_id` must be a string, got 7");
        assert!(error(r#"{"type":"event","event_id":"E1","event_id":"E2"}"#).contains("duplicate field"));
        assert_eq!(error(r#"["event","E1"]"#), "a line must be a JSON object");
    }

    #[test]
    fn a_duplicate_field_is_refused() {
        assert!(error(r#"{"type":"account","id":"1","id":"2"}"#).contains("duplicate field `id`"));
    }
}
