//! Decimal amounts on the wire and minor units in the ledger.
//!
//! An amount arrives as a decimal string in major units (`"1000.00"` yuan) and is converted
//! exactly to minor units (fen) with the ledger's scale. Nothing is ever rounded here: more
//! decimals than the scale allows is an error, as is a sign, an exponent or anything else that
//! is not `DIGITS[.DIGITS]`.

use std::borrow::Cow;

use rust_decimal::Decimal;

/// The largest scale a ledger may have. `rust_decimal` holds 28 significant digits; 18 decimals
/// leave ten integer digits, which is more than any currency needs.
pub const SCALE_MAX: u8 = 18;

/// Longest accepted amount string: 28 significant digits, a point and some leading zeros.
pub const AMOUNT_TEXT_BYTES_MAX: usize = 64;

/// Why an amount string is refused (without the component name, which the caller adds).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AmountProblem {
    /// Not `DIGITS[.DIGITS]`.
    Syntax,
    /// A leading minus sign.
    Negative,
    /// More decimals than the ledger's scale.
    TooManyDecimals,
    /// More significant digits than a decimal holds.
    Overflow,
}

/// Checks the shape of an amount string without knowing the ledger (used while parsing).
pub fn check_syntax(text: &str) -> Result<(), AmountProblem> {
    if let Some(rest) = text.strip_prefix('-') {
        // "-1.00" is a negative amount; "-x" is simply not a number.
        return Err(if is_plain_decimal(rest) { AmountProblem::Negative } else { AmountProblem::Syntax });
    }
    if is_plain_decimal(text) { Ok(()) } else { Err(AmountProblem::Syntax) }
}

/// Parses an amount string into a decimal with at most `scale` decimals, exactly.
pub fn parse(text: &str, scale: u8) -> Result<Decimal, AmountProblem> {
    check_syntax(text)?;
    let decimals = text.split_once('.').map_or(0, |(_, fraction)| fraction.len());
    if decimals > usize::from(scale) {
        return Err(AmountProblem::TooManyDecimals);
    }
    // The syntax and the scale are fine, so the only way left to fail is too many digits.
    Decimal::from_str_exact(text).map_err(|_| AmountProblem::Overflow)
}

/// Converts a non-negative decimal with at most `scale` decimals into minor units.
pub fn to_minor_units(value: Decimal, scale: u8) -> Result<u128, AmountProblem> {
    if value.is_sign_negative() && !value.is_zero() {
        return Err(AmountProblem::Negative);
    }
    let value_scale = value.scale();
    if value_scale > u32::from(scale) {
        return Err(AmountProblem::TooManyDecimals);
    }
    let mantissa = value.mantissa().unsigned_abs();
    let factor = 10_u128.checked_pow(u32::from(scale) - value_scale).ok_or(AmountProblem::Overflow)?;
    mantissa.checked_mul(factor).ok_or(AmountProblem::Overflow)
}

/// Most digits an amount may have for the integer fast paths below: below 10^28 the mantissa
/// fits a decimal's 96 bits, so `Decimal` would parse such an amount exactly too, and the fast
/// path gives its result without building one. Longer amounts go through `Decimal`.
const FAST_DIGITS_MAX: usize = 28;

/// `parse(text, scale)` then `to_minor_units(.., scale)`, with the same result and the same
/// error for every input, computed on integers for amounts of up to 28 digits.
pub fn parse_minor_units(text: &str, scale: u8) -> Result<u128, AmountProblem> {
    check_syntax(text)?;
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if fraction.len() > usize::from(scale) {
        return Err(AmountProblem::TooManyDecimals);
    }
    if whole.len() + fraction.len() > FAST_DIGITS_MAX {
        return parse(text, scale).and_then(|value| to_minor_units(value, scale));
    }
    // The digits without the point are the decimal's mantissa, its scale the fraction's length
    // (trailing zeros kept, as `Decimal` keeps them).
    let mantissa =
        whole.bytes().chain(fraction.bytes()).fold(0_u128, |n, digit| n * 10 + u128::from(digit - b'0'));
    let fraction_len = u32::try_from(fraction.len()).map_err(|_| AmountProblem::Overflow)?;
    let factor = 10_u128.checked_pow(u32::from(scale) - fraction_len).ok_or(AmountProblem::Overflow)?;
    mantissa.checked_mul(factor).ok_or(AmountProblem::Overflow)
}

/// The amount as the body hash spells it (`posting.rs`): the shortest decimal of the same value
/// (`"100.00"` → `"100"`, `"0.50"` → `"0.5"`), i.e. `Decimal::normalize` printed, or the text
/// itself if it is not a decimal at all. Borrows the text whenever the result is a part of it.
pub(crate) fn normalized(text: &str) -> Cow<'_, str> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if !is_plain_decimal(text) || whole.len() + fraction.len() > FAST_DIGITS_MAX {
        return Cow::Owned(
            text.parse::<Decimal>().map_or_else(|_| text.to_owned(), |d| d.normalize().to_string()),
        );
    }
    let whole_kept = whole.trim_start_matches('0');
    let fraction_kept = fraction.trim_end_matches('0');
    if fraction_kept.is_empty() {
        return Cow::Borrowed(if whole_kept.is_empty() { "0" } else { whole_kept });
    }
    if whole_kept.is_empty() {
        return if whole == "0" {
            Cow::Borrowed(&text[..2 + fraction_kept.len()])
        } else {
            Cow::Owned(format!("0.{fraction_kept}"))
        };
    }
    let start = whole.len() - whole_kept.len();
    Cow::Borrowed(&text[start..whole.len() + 1 + fraction_kept.len()])
}

/// Formats minor units as a decimal string with exactly `scale` decimals (`12345`, 2 → `"123.45"`).
#[must_use]
pub fn format_minor_units(amount: u128, scale: u8) -> String {
    let digits = amount.to_string();
    let scale = usize::from(scale);
    if scale == 0 {
        return digits;
    }
    let padded = format!("{digits:0>width$}", width = scale + 1);
    let (whole, fraction) = padded.split_at(padded.len() - scale);
    format!("{whole}.{fraction}")
}

fn is_plain_decimal(text: &str) -> bool {
    if text.is_empty() || text.len() > AMOUNT_TEXT_BYTES_MAX {
        return false;
    }
    let (whole, fraction) = match text.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (text, None),
    };
    let all_digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    all_digits(whole) && fraction.is_none_or(all_digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_amounts_convert_to_minor_units() {
        let value = parse("1000.00", 2).expect("valid");
        assert_eq!(to_minor_units(value, 2), Ok(100_000));
        let value = parse("0.5", 2).expect("valid");
        assert_eq!(to_minor_units(value, 2), Ok(50));
        let value = parse("7", 0).expect("valid");
        assert_eq!(to_minor_units(value, 0), Ok(7));
    }

    #[test]
    fn malformed_amounts_are_refused() {
        for text in ["", ".5", "5.", "1e3", "+1", " 1", "1,00", "1.2.3", "0x10", "١"] {
            assert_eq!(check_syntax(text), Err(AmountProblem::Syntax), "{text:?}");
        }
        assert_eq!(check_syntax("-1.00"), Err(AmountProblem::Negative));
        assert_eq!(parse("1.001", 2), Err(AmountProblem::TooManyDecimals));
        assert_eq!(parse("1.00", 0), Err(AmountProblem::TooManyDecimals));
        assert_eq!(parse("79228162514264337593543950336", 2), Err(AmountProblem::Overflow));
    }

    #[test]
    fn the_fast_paths_agree_with_decimal_on_examples() {
        for (text, normal) in
            [("100.00", "100"), ("0.50", "0.5"), ("00.50", "0.5"), ("0", "0"), ("000.000", "0"), ("007", "7")]
        {
            assert_eq!(normalized(text), normal, "{text}");
            assert_eq!(normalized(text), text.parse::<Decimal>().expect("a decimal").normalize().to_string());
        }
        assert_eq!(parse_minor_units("1000.00", 2), Ok(100_000));
        assert_eq!(parse_minor_units("1.001", 2), Err(AmountProblem::TooManyDecimals));
        assert_eq!(parse_minor_units("-1", 2), Err(AmountProblem::Negative));
        assert_eq!(parse_minor_units("1e3", 2), Err(AmountProblem::Syntax));
        // 10^38 minor units do not fit once the scale is applied; 29 digits take the slow path.
        assert_eq!(parse_minor_units("1000000000000000000000000000", 18), Err(AmountProblem::Overflow));
        assert_eq!(parse_minor_units("79228162514264337593543950336", 0), Err(AmountProblem::Overflow));
        assert_eq!(parse_minor_units("0", 60), Err(AmountProblem::Overflow));
    }

    fn decimal_text() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        ("0{0,3}[0-9]{1,20}", proptest::option::of("[0-9]{0,14}0{0,3}")).prop_map(|(whole, fraction)| {
            match fraction {
                Some(fraction) if !fraction.is_empty() => format!("{whole}.{fraction}"),
                _ => whole,
            }
        })
    }

    proptest::proptest! {
        #[test]
        fn normalized_is_the_decimal_normal_form(text in decimal_text()) {
            let slow = text.parse::<Decimal>().map_or_else(|_| text.clone(), |d| d.normalize().to_string());
            proptest::prop_assert_eq!(normalized(&text), slow);
        }

        #[test]
        fn parse_minor_units_is_parse_then_to_minor_units(text in decimal_text(), scale in 0_u8..40) {
            let slow = parse(&text, scale).and_then(|value| to_minor_units(value, scale));
            proptest::prop_assert_eq!(parse_minor_units(&text, scale), slow);
        }
    }

    #[test]
    fn minor_units_format_with_the_scale() {
        assert_eq!(format_minor_units(12_345, 2), "123.45");
        assert_eq!(format_minor_units(5, 2), "0.05");
        assert_eq!(format_minor_units(0, 2), "0.00");
        assert_eq!(format_minor_units(42, 0), "42");
    }
}
