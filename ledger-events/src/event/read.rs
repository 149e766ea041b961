//! Reading a line into the fields an event may hold (`RawEvent`), unchecked: by a small
//! scanner for the usual shape (`scan`) or by `serde_json` with typed visitors (`RawEvent`'s
//! `Deserialize`). `event.rs` checks the fields read.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::EVENT_MAP_ENTRIES_MAX;

/// The fields of one line as read, before any check. A field given twice keeps its last value
/// (as a JSON object would); `*_at` keep where a key first appeared, counted in keys read, for
/// the keys that are unknown to one kind of event, so that the first unknown key of the line is
/// the one reported.
#[derive(Debug, Default, PartialEq)]
pub(super) struct RawEvent<'a> {
    /// False if the line is JSON but not an object.
    pub(super) object: bool,
    pub(super) record_type: Option<Scalar<'a>>,
    pub(super) event_type: Option<Scalar<'a>>,
    pub(super) event_id: Option<Scalar<'a>>,
    pub(super) reverses: Option<Scalar<'a>>,
    pub(super) ledger: Option<Scalar<'a>>,
    pub(super) business_date: Option<Scalar<'a>>,
    pub(super) subjects: Option<RawMap<'a>>,
    pub(super) components: Option<RawMap<'a>>,
    pub(super) metadata: Option<RawMetadata>,
    pub(super) reverses_at: Option<usize>,
    pub(super) subjects_at: Option<usize>,
    pub(super) components_at: Option<usize>,
    /// The first key no event may carry.
    pub(super) unknown: Option<(usize, Cow<'a, str>)>,
}

/// A scalar field as read: text, a non-negative integer, or any other JSON value (kept only to
/// be named in an error).
#[derive(Debug, PartialEq)]
pub(super) enum Scalar<'a> {
    Text(Cow<'a, str>),
    Unsigned(u64),
    Other(Value),
}

impl Scalar<'_> {
    /// The value as JSON text, as `serde_json` prints it (for error messages).
    pub(super) fn json_text(&self) -> String {
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
pub(super) enum RawMap<'a> {
    Entries(RawEntries<'a>),
    /// Entries that are all strings (what `scan` reads).
    Texts(TextPairs<'a>),
    TooMany,
    NotObject,
}

pub(super) type RawEntries<'a> = Vec<(Cow<'a, str>, Scalar<'a>)>;

/// Keys and values, all strings.
pub(super) type TextPairs<'a> = Vec<(Cow<'a, str>, Cow<'a, str>)>;

/// `metadata` as read.
#[derive(Debug, PartialEq)]
pub(super) enum RawMetadata {
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
pub(super) fn scan(line: &str) -> Option<RawEvent<'_>> {
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

#[cfg(test)]
mod tests {
    use super::*;

    const E1: &str = r#"{"type":"event","event_id":"E1","event_type":"loan.disbursed","ledger":156,"subjects":{"loan_note":"L1","customer":"C1"},"components":{"principal":"100.00"},"business_date":"2024-01-01","metadata":{"order_no":"A"}}"#;

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
}
