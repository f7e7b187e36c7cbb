//! Money as integer cents, written and read as a decimal string with two places ("24.90").

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An amount of money in cents. Never negative.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money(i64);

/// Largest accepted amount: 1,000,000.00; anything above is a typo or an attack.
const MAX_CENTS: i64 = 100_000_000;

/// The amounts [`Money`] reads, as its OpenAPI schema states them.
pub const MONEY_PATTERN: &str = r"^(?:[0-9]{1,6}(?:\.[0-9]{1,2})?|1000000(?:\.00?)?)$";

impl Money {
    pub fn from_cents(cents: i64) -> Result<Self, MoneyError> {
        if (0..=MAX_CENTS).contains(&cents) {
            Ok(Self(cents))
        } else {
            Err(MoneyError)
        }
    }

    pub fn cents(self) -> i64 {
        self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "must be a decimal amount with at most two places between 0.00 and 1000000.00, like \"24.90\""
)]
pub struct MoneyError;

impl FromStr for Money {
    type Err = MoneyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
        let digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || whole.len() > 7 || !digits(whole) || frac.len() > 2 || !digits(frac)
        {
            return Err(MoneyError);
        }
        if s.contains('.') && frac.is_empty() {
            return Err(MoneyError);
        }
        let whole: i64 = whole.parse().map_err(|_| MoneyError)?;
        let frac: i64 = format!("{frac:0<2}").parse().map_err(|_| MoneyError)?;
        Self::from_cents(whole * 100 + frac)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl utoipa::PartialSchema for Money {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            // ASCII digits only (`\d` matches any decimal digit in some regex dialects), and no
            // more than `MAX_CENTS`: up to 999999.99, or 1000000 itself.
            .pattern(Some(MONEY_PATTERN))
            .examples([serde_json::json!("24.90")])
            .description(Some(
                "Decimal amount with at most two places, from 0.00 to 1000000.00",
            ))
            .into()
    }
}

impl utoipa::ToSchema for Money {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_two_places() {
        assert_eq!("24.90".parse::<Money>().map(Money::cents), Ok(2490));
        assert_eq!("24.9".parse::<Money>().map(Money::cents), Ok(2490));
        assert_eq!("7".parse::<Money>().map(Money::cents), Ok(700));
        assert_eq!(
            Money::from_cents(5).map(|m| m.to_string()),
            Ok("0.05".to_owned())
        );
    }

    #[test]
    fn rejects_garbage_and_out_of_range() {
        for bad in [
            "",
            ".5",
            "1.",
            "1.234",
            "-1.00",
            "1e3",
            "abc",
            "99999999.00",
            "1,00",
            " 1.00",
        ] {
            assert!(bad.parse::<Money>().is_err(), "{bad:?} should be rejected");
        }
    }
}
