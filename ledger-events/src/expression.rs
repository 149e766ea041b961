//! The amount language of entry templates: fixed-point linear expressions of components.
//!
//! ```text
//! expression := term (("+" | "-") term)*
//! term       := factor ("*" factor)*
//! factor     := COMPONENT | DECIMAL | "(" expression ")"
//! condition  := expression ">" "0"
//! ```
//!
//! Every expression is reduced at load to a linear form `Σ coefficient × component`: a product
//! may hold at most one factor that mentions a component ("multiplication by a decimal
//! constant"), and the constant part of the result must be zero, because amounts come from the
//! event, never from the configuration. There are no named intermediate values, so an
//! expression can only mention event components, which are inputs: a cycle cannot be written.
//!
//! Evaluation is exact decimal arithmetic. If a coefficient has a fractional part, the product
//! may carry more decimals than the ledger's scale; such a posting must name a rounding mode,
//! which is applied once, to the posting's amount.

use std::collections::BTreeMap;
use std::fmt;

use rust_decimal::{Decimal, RoundingStrategy};

/// Longest expression text accepted (bytes).
pub const EXPRESSION_BYTES_MAX: usize = 256;
/// Most tokens in one expression: bounds the recursion of the parser too.
pub const EXPRESSION_TOKENS_MAX: usize = 64;
/// Deepest parenthesis nesting.
pub const EXPRESSION_DEPTH_MAX: usize = 8;

/// A parsed amount or condition: `Σ coefficient × component`, coefficients never zero.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expression {
    text: String,
    terms: BTreeMap<String, Decimal>,
    /// The same terms with integer coefficients, when every coefficient is an integer of at
    /// most `INTEGER_COEFFICIENT_MAX` in magnitude (`evaluate_minor`).
    integer_terms: Option<Vec<(String, i64)>>,
}

/// The largest coefficient (in magnitude) `evaluate_minor` takes. With components below
/// `plan::FAST_MINOR_UNITS_MAX` (10^20) and at most `EXPRESSION_TOKENS_MAX` terms, every sum
/// stays below 64 × 10^6 × 10^20 < 2^96, where decimal arithmetic is exact too: both ways of
/// evaluating give the same amount.
pub const INTEGER_COEFFICIENT_MAX: i64 = 1_000_000;

/// How a computed share is rounded to the ledger's scale.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rounding {
    /// Banker's rounding (ties to even), Fineract's default.
    HalfEven,
    /// Ties away from zero, the usual rounding of Chinese core-banking systems.
    HalfUp,
    /// Towards zero (truncate).
    Down,
    /// Away from zero.
    Up,
}

impl Rounding {
    pub const NAMES: [(&'static str, Self); 4] =
        [("half_even", Self::HalfEven), ("half_up", Self::HalfUp), ("down", Self::Down), ("up", Self::Up)];

    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::NAMES.iter().find(|(n, _)| *n == name).map(|(_, r)| *r)
    }

    #[must_use]
    pub fn name(self) -> &'static str {
        Self::NAMES.iter().find(|(_, r)| *r == self).map_or("half_even", |(n, _)| n)
    }

    fn strategy(self) -> RoundingStrategy {
        match self {
            Self::HalfEven => RoundingStrategy::MidpointNearestEven,
            Self::HalfUp => RoundingStrategy::MidpointAwayFromZero,
            Self::Down => RoundingStrategy::ToZero,
            Self::Up => RoundingStrategy::AwayFromZero,
        }
    }
}

/// Why an expression is refused at load.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ExpressionError {
    #[error("empty expression")]
    Empty,
    #[error("expression longer than {max} bytes", max = EXPRESSION_BYTES_MAX)]
    TooLong,
    #[error("expression has more than {max} tokens", max = EXPRESSION_TOKENS_MAX)]
    TooManyTokens,
    #[error("parentheses nested deeper than {max}", max = EXPRESSION_DEPTH_MAX)]
    TooDeep,
    #[error("unexpected character {found:?} at byte {at}")]
    UnexpectedCharacter { found: char, at: usize },
    #[error("unexpected {found} at byte {at}; expected {expected}")]
    UnexpectedToken { found: String, at: usize, expected: &'static str },
    #[error("bad number {text:?}")]
    BadNumber { text: String },
    #[error("two components multiplied together; only multiplication by a decimal constant is allowed")]
    NonLinear,
    #[error("a constant term; amounts must come from event components")]
    ConstantTerm,
    #[error("arithmetic overflow in constants")]
    Overflow,
    #[error("a condition must have the form `EXPRESSION > 0`")]
    BadCondition,
}

impl Expression {
    /// Parses an amount expression.
    pub fn parse(text: &str) -> Result<Self, ExpressionError> {
        if text.trim().is_empty() {
            return Err(ExpressionError::Empty);
        }
        if text.len() > EXPRESSION_BYTES_MAX {
            return Err(ExpressionError::TooLong);
        }
        let tokens = tokenize(text)?;
        let mut parser = Parser { tokens: &tokens, position: 0, depth: 0, end: text.len() };
        let linear = parser.expression()?;
        if let Some(token) = parser.peek() {
            return Err(ExpressionError::UnexpectedToken {
                found: token.kind.describe(),
                at: token.at,
                expected: "an operator or the end",
            });
        }
        if !linear.constant.is_zero() {
            return Err(ExpressionError::ConstantTerm);
        }
        let terms: BTreeMap<String, Decimal> =
            linear.terms.into_iter().filter(|(_, c)| !c.is_zero()).collect();
        let integer_terms = terms
            .iter()
            .map(|(name, coefficient)| {
                let coefficient = coefficient.normalize();
                let integer = i64::try_from(coefficient.mantissa()).ok()?;
                (coefficient.scale() == 0 && integer.abs() <= INTEGER_COEFFICIENT_MAX)
                    .then(|| (name.clone(), integer))
            })
            .collect();
        Ok(Self { text: text.trim().to_owned(), terms, integer_terms })
    }

    /// Parses a condition `EXPRESSION > 0`.
    pub fn parse_condition(text: &str) -> Result<Self, ExpressionError> {
        let (left, right) = text.split_once('>').ok_or(ExpressionError::BadCondition)?;
        if right.trim() != "0" {
            return Err(ExpressionError::BadCondition);
        }
        let mut expression = Self::parse(left)?;
        expression.text = text.trim().to_owned();
        Ok(expression)
    }

    /// The text as written in the configuration.
    #[must_use]
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The components this expression mentions, with their coefficients.
    #[must_use]
    pub fn terms(&self) -> &BTreeMap<String, Decimal> {
        &self.terms
    }

    /// True if some coefficient has a fractional part, so that results need rounding.
    #[must_use]
    pub fn needs_rounding(&self) -> bool {
        self.terms.values().any(|c| !c.fract().is_zero())
    }

    /// True if the expression can be positive for some non-negative components (components
    /// are never negative, so that needs a positive coefficient).
    #[must_use]
    pub fn can_be_positive(&self) -> bool {
        self.terms.values().any(|c| c.is_sign_positive() && !c.is_zero())
    }

    /// Evaluates with the given component values (missing ones are zero). `None` on overflow.
    /// With `rounding`, the result is rounded to `scale` decimals.
    #[must_use]
    pub fn evaluate(
        &self,
        components: &BTreeMap<String, Decimal>,
        rounding: Option<Rounding>,
        scale: u8,
    ) -> Option<Decimal> {
        let mut sum = Decimal::ZERO;
        for (component, coefficient) in &self.terms {
            let Some(value) = components.get(component) else { continue };
            sum = sum.checked_add(value.checked_mul(*coefficient)?)?;
        }
        Some(match rounding {
            Some(rounding) => sum.round_dp_with_strategy(u32::from(scale), rounding.strategy()),
            None => sum,
        })
    }
}

impl Expression {
    /// Evaluates on minor units: `Σ coefficient × minor_units(component)` (missing components
    /// are zero). `None` if some coefficient is not a small integer (`INTEGER_COEFFICIENT_MAX`)
    /// or the sum leaves i128; the caller then evaluates with `evaluate`. With integer
    /// coefficients the amount is already at the ledger's scale, so no rounding applies.
    #[must_use]
    pub fn evaluate_minor(&self, minor_units: impl Fn(&str) -> Option<u128>) -> Option<i128> {
        let mut sum = 0_i128;
        for (component, coefficient) in self.integer_terms.as_deref()? {
            let Some(value) = minor_units(component) else { continue };
            let product = i128::try_from(value).ok()?.checked_mul(i128::from(*coefficient))?;
            sum = sum.checked_add(product)?;
        }
        Some(sum)
    }

    /// True if `evaluate_minor` applies (every coefficient a small integer).
    #[must_use]
    pub fn has_integer_coefficients(&self) -> bool {
        self.integer_terms.is_some()
    }
}

impl fmt::Display for Expression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[derive(Clone, Debug, PartialEq)]
enum TokenKind {
    Name(String),
    Number(Decimal),
    Plus,
    Minus,
    Star,
    Open,
    Close,
}

impl TokenKind {
    fn describe(&self) -> String {
        match self {
            Self::Name(name) => format!("name `{name}`"),
            Self::Number(number) => format!("number `{number}`"),
            Self::Plus => "`+`".to_owned(),
            Self::Minus => "`-`".to_owned(),
            Self::Star => "`*`".to_owned(),
            Self::Open => "`(`".to_owned(),
            Self::Close => "`)`".to_owned(),
        }
    }
}

#[derive(Clone, Debug)]
struct Token {
    kind: TokenKind,
    at: usize,
}

fn tokenize(text: &str) -> Result<Vec<Token>, ExpressionError> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let start = at;
        let byte = bytes[at];
        let kind = match byte {
            b' ' | b'\t' => {
                at += 1;
                continue;
            }
            b'+' => TokenKind::Plus,
            b'-' => TokenKind::Minus,
            b'*' => TokenKind::Star,
            b'(' => TokenKind::Open,
            b')' => TokenKind::Close,
            b'a'..=b'z' | b'_' => {
                while at < bytes.len() && matches!(bytes[at], b'a'..=b'z' | b'0'..=b'9' | b'_') {
                    at += 1;
                }
                tokens.push(Token { kind: TokenKind::Name(text[start..at].to_owned()), at: start });
                continue;
            }
            b'0'..=b'9' => {
                while at < bytes.len() && (bytes[at].is_ascii_digit() || bytes[at] == b'.') {
                    at += 1;
                }
                let number = &text[start..at];
                if crate::amount::check_syntax(number).is_err() {
                    return Err(ExpressionError::BadNumber { text: number.to_owned() });
                }
                let value = Decimal::from_str_exact(number)
                    .map_err(|_| ExpressionError::BadNumber { text: number.to_owned() })?;
                tokens.push(Token { kind: TokenKind::Number(value.normalize()), at: start });
                continue;
            }
            _ => {
                let found = text[start..].chars().next().unwrap_or('?');
                return Err(ExpressionError::UnexpectedCharacter { found, at: start });
            }
        };
        tokens.push(Token { kind, at: start });
        at += 1;
        if tokens.len() > EXPRESSION_TOKENS_MAX {
            return Err(ExpressionError::TooManyTokens);
        }
    }
    if tokens.len() > EXPRESSION_TOKENS_MAX {
        return Err(ExpressionError::TooManyTokens);
    }
    Ok(tokens)
}

/// A linear form while parsing: `constant + Σ coefficient × component`.
#[derive(Clone, Debug, Default)]
struct Linear {
    constant: Decimal,
    terms: BTreeMap<String, Decimal>,
}

impl Linear {
    fn add(mut self, other: Self, sign: Decimal) -> Result<Self, ExpressionError> {
        self.constant = self
            .constant
            .checked_add(other.constant.checked_mul(sign).ok_or(ExpressionError::Overflow)?)
            .ok_or(ExpressionError::Overflow)?;
        for (name, coefficient) in other.terms {
            let scaled = coefficient.checked_mul(sign).ok_or(ExpressionError::Overflow)?;
            let entry = self.terms.entry(name).or_insert(Decimal::ZERO);
            *entry = entry.checked_add(scaled).ok_or(ExpressionError::Overflow)?.normalize();
        }
        Ok(self)
    }

    fn multiply(self, other: Self) -> Result<Self, ExpressionError> {
        let (constant, linear) = match (self.terms.is_empty(), other.terms.is_empty()) {
            (true, _) => (self.constant, other),
            (_, true) => (other.constant, self),
            (false, false) => return Err(ExpressionError::NonLinear),
        };
        let scale = |value: Decimal| value.checked_mul(constant).map(|v| v.normalize());
        Ok(Self {
            constant: scale(linear.constant).ok_or(ExpressionError::Overflow)?,
            terms: linear
                .terms
                .into_iter()
                .map(|(name, c)| scale(c).map(|c| (name, c)).ok_or(ExpressionError::Overflow))
                .collect::<Result<_, _>>()?,
        })
    }
}

struct Parser<'a> {
    tokens: &'a [Token],
    position: usize,
    depth: usize,
    /// Byte offset of the end of the text, for "unexpected end" messages.
    end: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.position)
    }

    fn next(&mut self) -> Option<&Token> {
        let token = self.tokens.get(self.position);
        self.position += 1;
        token
    }

    fn expression(&mut self) -> Result<Linear, ExpressionError> {
        let mut value = self.term()?;
        while let Some(token) = self.peek() {
            let sign = match token.kind {
                TokenKind::Plus => Decimal::ONE,
                TokenKind::Minus => Decimal::NEGATIVE_ONE,
                _ => break,
            };
            self.position += 1;
            value = value.add(self.term()?, sign)?;
        }
        Ok(value)
    }

    fn term(&mut self) -> Result<Linear, ExpressionError> {
        let mut value = self.factor()?;
        while self.peek().is_some_and(|t| t.kind == TokenKind::Star) {
            self.position += 1;
            value = value.multiply(self.factor()?)?;
        }
        Ok(value)
    }

    fn factor(&mut self) -> Result<Linear, ExpressionError> {
        let end = self.end;
        let Some(token) = self.next().cloned() else {
            return Err(ExpressionError::UnexpectedToken {
                found: "the end".to_owned(),
                at: end,
                expected: "a component, a number or `(`",
            });
        };
        match token.kind {
            TokenKind::Name(name) => {
                Ok(Linear { constant: Decimal::ZERO, terms: [(name, Decimal::ONE)].into() })
            }
            TokenKind::Number(value) => Ok(Linear { constant: value, terms: BTreeMap::new() }),
            TokenKind::Open => {
                self.depth += 1;
                if self.depth > EXPRESSION_DEPTH_MAX {
                    return Err(ExpressionError::TooDeep);
                }
                let inner = self.expression()?;
                self.depth -= 1;
                match self.next() {
                    Some(Token { kind: TokenKind::Close, .. }) => Ok(inner),
                    Some(other) => Err(ExpressionError::UnexpectedToken {
                        found: other.kind.describe(),
                        at: other.at,
                        expected: "`)`",
                    }),
                    None => Err(ExpressionError::UnexpectedToken {
                        found: "the end".to_owned(),
                        at: end,
                        expected: "`)`",
                    }),
                }
            }
            other => Err(ExpressionError::UnexpectedToken {
                found: other.describe(),
                at: token.at,
                expected: "a component, a number or `(`",
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(pairs: &[(&str, &str)]) -> BTreeMap<String, Decimal> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Decimal::from_str_exact(v).expect("test decimal")))
            .collect()
    }

    fn coefficient(expression: &Expression, name: &str) -> String {
        expression.terms().get(name).map_or_else(|| "none".to_owned(), ToString::to_string)
    }

    #[test]
    fn sums_and_differences_reduce_to_coefficients() {
        let e = Expression::parse("principal + interest - coupon").expect("valid");
        assert_eq!(coefficient(&e, "principal"), "1");
        assert_eq!(coefficient(&e, "coupon"), "-1");
        let e = Expression::parse("2 * (fee - coupon) + coupon").expect("valid");
        assert_eq!(coefficient(&e, "fee"), "2");
        assert_eq!(coefficient(&e, "coupon"), "-1");
        let e = Expression::parse("interest - interest").expect("valid");
        assert!(e.terms().is_empty());
        assert!(!e.can_be_positive());
    }

    #[test]
    fn products_of_components_and_constant_terms_are_refused() {
        assert_eq!(Expression::parse("interest * fee"), Err(ExpressionError::NonLinear));
        assert_eq!(Expression::parse("interest + 1"), Err(ExpressionError::ConstantTerm));
        assert_eq!(
            Expression::parse("(interest"),
            Err(ExpressionError::UnexpectedToken { found: "the end".to_owned(), at: 9, expected: "`)`" })
        );
        assert!(matches!(
            Expression::parse("interest / 2"),
            Err(ExpressionError::UnexpectedCharacter { .. })
        ));
        assert!(matches!(Expression::parse("interest * 1.2.3"), Err(ExpressionError::BadNumber { .. })));
        assert_eq!(Expression::parse("  "), Err(ExpressionError::Empty));
        let deep = format!("{}interest{}", "(".repeat(9), ")".repeat(9));
        assert_eq!(Expression::parse(&deep), Err(ExpressionError::TooDeep));
    }

    #[test]
    fn shares_round_with_the_named_mode() {
        let e = Expression::parse("interest * 0.03").expect("valid");
        assert!(e.needs_rounding());
        // 0.03 × 15.50 = 0.465: half-even gives 0.46, half-up 0.47, down 0.46, up 0.47.
        let v = values(&[("interest", "15.50")]);
        let at = |r| e.evaluate(&v, Some(r), 2).expect("no overflow").to_string();
        assert_eq!(at(Rounding::HalfEven), "0.46");
        assert_eq!(at(Rounding::HalfUp), "0.47");
        assert_eq!(at(Rounding::Down), "0.46");
        assert_eq!(at(Rounding::Up), "0.47");
    }

    #[test]
    fn integer_coefficients_evaluate_on_minor_units() {
        let e = Expression::parse("2 * (principal - coupon) + fee").expect("valid");
        assert!(e.has_integer_coefficients());
        let minor = |name: &str| match name {
            "principal" => Some(10_000),
            "coupon" => Some(250),
            _ => None,
        };
        assert_eq!(e.evaluate_minor(minor), Some(19_500));
        let share = Expression::parse("interest * 0.03").expect("valid");
        assert!(!share.has_integer_coefficients());
        assert_eq!(share.evaluate_minor(|_| Some(1)), None);
        let large = Expression::parse("interest * 1000001").expect("valid");
        assert!(!large.has_integer_coefficients(), "beyond INTEGER_COEFFICIENT_MAX");
    }

    #[test]
    fn conditions_compare_with_zero() {
        let c = Expression::parse_condition("overpayment > 0").expect("valid");
        assert_eq!(coefficient(&c, "overpayment"), "1");
        assert_eq!(Expression::parse_condition("overpayment > 1"), Err(ExpressionError::BadCondition));
        assert_eq!(Expression::parse_condition("overpayment"), Err(ExpressionError::BadCondition));
    }
}
