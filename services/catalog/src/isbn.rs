//! ISBNs: ISBN-10 and ISBN-13 with their check digits, normalised to ISBN-13.

/// A valid ISBN in its 13-digit form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Isbn(String);

impl Isbn {
    /// Accepts ISBN-10 or ISBN-13, with or without hyphens and spaces. Works on characters, not
    /// bytes, so any text (including non-ASCII) is refused with an error rather than sliced.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let compact: Vec<char> = raw
            .chars()
            .filter(|c| !matches!(c, '-' | ' '))
            .map(|c| c.to_ascii_uppercase())
            .collect();
        // The value of each position: a digit, or 10 for an `X` (valid only as the ISBN-10 check).
        let values: Option<Vec<u32>> = compact
            .iter()
            .enumerate()
            .map(|(i, &c)| match c {
                'X' if compact.len() == 10 && i == 9 => Some(10),
                c => c.to_digit(10),
            })
            .collect();
        let Some(values) = values else {
            return Err("must be an ISBN-10 or ISBN-13".into());
        };
        match values.len() {
            13 => {
                if isbn13_check(&values[..12]) == values[12] {
                    Ok(Self(digits(&values)))
                } else {
                    Err("has a wrong check digit".into())
                }
            }
            10 => {
                let sum: u32 = values
                    .iter()
                    .zip((1..=10).rev())
                    .map(|(value, weight)| weight * value)
                    .sum();
                if !sum.is_multiple_of(11) {
                    return Err("has a wrong check digit".into());
                }
                let mut isbn13 = vec![9, 7, 8];
                isbn13.extend_from_slice(&values[..9]);
                isbn13.push(isbn13_check(&isbn13));
                Ok(Self(digits(&isbn13)))
            }
            _ => Err("must be an ISBN-10 or ISBN-13".into()),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The ISBN-13 check digit of its first twelve digits.
fn isbn13_check(first12: &[u32]) -> u32 {
    let sum: u32 = first12
        .iter()
        .zip([1, 3].into_iter().cycle())
        .map(|(value, weight)| value * weight)
        .sum();
    (10 - sum % 10) % 10
}

/// Decimal digits as text.
fn digits(values: &[u32]) -> String {
    values
        .iter()
        .filter_map(|&value| char::from_digit(value, 10))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isbn13_with_and_without_hyphens() {
        assert_eq!(
            Isbn::parse("9780702318726").unwrap().as_str(),
            "9780702318726"
        );
        assert_eq!(
            Isbn::parse("978-0-7023-1872-6").unwrap().as_str(),
            "9780702318726"
        );
        assert!(Isbn::parse("9780702318727").is_err());
    }

    #[test]
    fn isbn10_becomes_isbn13() {
        assert_eq!(Isbn::parse("0521402301").unwrap().as_str(), "9780521402309");
        assert_eq!(Isbn::parse("080442957X").unwrap().as_str(), "9780804429573");
        assert!(Isbn::parse("0521402302").is_err());
    }

    #[test]
    fn rejects_junk() {
        for bad in [
            "",
            "abc",
            "12345",
            "97807023187261",
            "978070231872X",
            "０５２１４０２３０１",
            // Ten or thirteen bytes that are fewer characters: once sliced mid-character.
            "aaaaaaaaé",
            "ääääé",
            "1234567€",
            "123456789é12",
            "X123456789",
        ] {
            assert!(Isbn::parse(bad).is_err(), "{bad:?}");
        }
    }
}
