//! Compressed responses: which encoding a request accepts (brotli, then gzip), and the two
//! encoders, tuned for bodies made while a client waits.

use std::io::Write;

use axum::http::{HeaderMap, header};

/// How a response body is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoding {
    Identity,
    Gzip,
    Brotli,
}

impl Encoding {
    /// The `Content-Encoding` value, if any.
    pub fn header_value(self) -> Option<&'static str> {
        match self {
            Self::Identity => None,
            Self::Gzip => Some("gzip"),
            Self::Brotli => Some("br"),
        }
    }

    /// What an entity tag of this encoding ends with, so that each encoding of a representation
    /// has its own strong tag (RFC 9110 §8.8.3).
    pub fn etag_suffix(self) -> &'static str {
        match self {
            Self::Identity => "",
            Self::Gzip => "-gz",
            Self::Brotli => "-br",
        }
    }
}

/// The best encoding `request` accepts among those `available`: brotli, then gzip, else
/// identity. A coding listed with `q=0` is refused; `*` accepts any.
pub fn negotiate(request: &HeaderMap, available: &[Encoding]) -> Encoding {
    let accepted = request
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|item| {
            let mut parts = item.split(';');
            let name = parts.next()?.trim().to_ascii_lowercase();
            let refused = parts.any(|param| {
                param
                    .trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            (!refused).then_some(name)
        })
        .collect::<Vec<_>>();
    let accepts = |name: &str| accepted.iter().any(|a| a == name || a == "*");
    [Encoding::Brotli, Encoding::Gzip]
        .into_iter()
        .find(|encoding| {
            available.contains(encoding) && encoding.header_value().is_some_and(accepts)
        })
        .unwrap_or(Encoding::Identity)
}

/// `bytes` in gzip, at the default level: most of the best ratio for a fraction of its time.
pub fn gzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes)?;
    encoder.finish()
}

/// `bytes` in brotli at quality 5: smaller than gzip's best, and fast enough to make while a
/// client waits (quality 11 takes a hundred times longer for a few percent).
pub fn brotli(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut compressed = Vec::new();
    let params = brotli::enc::BrotliEncoderParams {
        quality: 5,
        ..Default::default()
    };
    brotli::BrotliCompress(&mut &bytes[..], &mut compressed, &params)?;
    Ok(compressed)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::io::Read;

    use axum::http::HeaderValue;

    use super::*;

    fn accepting(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_str(value).unwrap(),
        );
        headers
    }

    #[test]
    fn brotli_then_gzip_when_accepted_and_available() {
        let both = [Encoding::Gzip, Encoding::Brotli];
        assert_eq!(
            negotiate(&accepting("gzip, deflate, br"), &both),
            Encoding::Brotli
        );
        assert_eq!(negotiate(&accepting("gzip"), &both), Encoding::Gzip);
        assert_eq!(negotiate(&accepting("br;q=0, gzip"), &both), Encoding::Gzip);
        assert_eq!(negotiate(&accepting("*"), &both), Encoding::Brotli);
        assert_eq!(
            negotiate(&accepting("br"), &[Encoding::Gzip]),
            Encoding::Identity
        );
        assert_eq!(negotiate(&HeaderMap::new(), &both), Encoding::Identity);
    }

    #[test]
    fn both_encoders_round_trip() {
        let text = "a page of books ".repeat(1000);
        let mut unzipped = String::new();
        flate2::read::GzDecoder::new(&gzip(text.as_bytes()).unwrap()[..])
            .read_to_string(&mut unzipped)
            .unwrap();
        assert_eq!(unzipped, text);
        let mut unbrotlied = Vec::new();
        brotli::BrotliDecompress(&mut &brotli(text.as_bytes()).unwrap()[..], &mut unbrotlied)
            .unwrap();
        assert_eq!(unbrotlied, text.as_bytes());
    }
}
