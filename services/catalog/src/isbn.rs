//! ISBNs: ISBN-10 and ISBN-13 with their check digits, normalised to ISBN-13.

/// A valid ISBN in its 13-digit form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Isbn(String);

impl Isbn {
    /// Accepts ISBN-10 or ISBN-13, with or without hyphens and spaces.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let compact: String = raw
            .chars()
            .filter(|c| !matches!(c, '-' | ' '))
            .collect::<String>()
            .to_ascii_uppercase();
        match compact.len() {
            13 if compact.bytes().all(|b| b.is_ascii_digit()) => {
                if isbn13_check(&compact[..12]) == compact.as_bytes()[12] - b'0' {
                    Ok(Self(compact))
                } else {
                    Err("has a wrong check digit".into())
                }
            }
            10 if compact[..9].bytes().all(|b| b.is_ascii_digit())
                && (compact.as_bytes()[9].is_ascii_digit() || compact.ends_with('X')) =>
            {
                let sum: u32 = compact
                    .bytes()
                    .enumerate()
                    .map(|(i, b)| {
                        (10 - i as u32) * if b == b'X' { 10 } else { u32::from(b - b'0') }
                    })
                    .sum();
                if !sum.is_multiple_of(11) {
                    return Err("has a wrong check digit".into());
                }
                let body = format!("978{}", &compact[..9]);
                let check = isbn13_check(&body);
                Ok(Self(format!("{body}{check}")))
            }
            _ => Err("must be an ISBN-10 or ISBN-13".into()),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn isbn13_check(first12: &str) -> u8 {
    let sum: u32 = first12
        .bytes()
        .enumerate()
        .map(|(i, b)| u32::from(b - b'0') * if i % 2 == 0 { 1 } else { 3 })
        .sum();
    ((10 - sum % 10) % 10) as u8
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
        ] {
            assert!(Isbn::parse(bad).is_err(), "{bad:?}");
        }
    }
}
