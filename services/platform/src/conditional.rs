//! Conditional and partial GETs (RFC 9110 §13 and §14): `If-None-Match`, `If-Range` and one
//! byte range.

use std::ops::Range;

use axum::http::{HeaderMap, header};

/// Whether `If-None-Match` names `etag` (or `*`); weak comparison, as RFC 9110 asks for it.
pub fn none_match_hits(request: &HeaderMap, etag: &str) -> bool {
    request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|tag| tag.trim().trim_start_matches("W/"))
        .any(|tag| tag == "*" || tag == etag)
}

/// What a GET of a `size`-byte representation with the entity tag `etag` answers to the
/// request's `Range` (and `If-Range`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RangeAnswer {
    /// No usable range: the whole representation, `200`.
    Whole,
    /// These bytes, `206` with `Content-Range: bytes {start}-{end - 1}/{size}`.
    Part(Range<u64>),
    /// `416` with `Content-Range: bytes */{size}`.
    Unsatisfiable,
}

/// Reads `Range: bytes=…`. One range is served; several, another unit, a malformed header or
/// an `If-Range` that no longer matches get the whole representation, as RFC 9110 allows.
pub fn range(request: &HeaderMap, etag: &str, size: u64) -> RangeAnswer {
    let Some(raw) = request
        .get(header::RANGE)
        .and_then(|value| value.to_str().ok())
    else {
        return RangeAnswer::Whole;
    };
    // `If-Range` with a strong validator that is not the current one: the client's partial
    // copy is of another version.
    if let Some(if_range) = request.get(header::IF_RANGE)
        && if_range.to_str().ok().map(str::trim) != Some(etag)
    {
        return RangeAnswer::Whole;
    }
    let Some(spec) = raw.trim().strip_prefix("bytes=") else {
        return RangeAnswer::Whole;
    };
    if spec.contains(',') {
        return RangeAnswer::Whole;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return RangeAnswer::Whole;
    };
    let number = |text: &str| -> Option<u64> {
        let text = text.trim();
        (!text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()))
            .then(|| text.parse().ok())
            .flatten()
    };
    match (first.trim().is_empty(), number(first), number(last)) {
        // `bytes=-N`: the last N bytes.
        (true, _, Some(suffix)) => {
            if suffix == 0 || size == 0 {
                RangeAnswer::Unsatisfiable
            } else {
                RangeAnswer::Part(size.saturating_sub(suffix)..size)
            }
        }
        // `bytes=A-` or `bytes=A-B`.
        (false, Some(start), end) if last.trim().is_empty() || end.is_some() => {
            if end.is_some_and(|end| end < start) {
                return RangeAnswer::Whole;
            }
            if start >= size {
                return RangeAnswer::Unsatisfiable;
            }
            let end = end.map_or(size, |end| end.saturating_add(1).min(size));
            RangeAnswer::Part(start..end)
        }
        _ => RangeAnswer::Whole,
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(header::HeaderName, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(name.clone(), HeaderValue::from_static(value));
        }
        map
    }

    fn ranged(value: &'static str) -> RangeAnswer {
        range(&headers(&[(header::RANGE, value)]), "\"e\"", 100)
    }

    #[test]
    fn one_byte_range_of_each_form() {
        assert_eq!(ranged("bytes=0-9"), RangeAnswer::Part(0..10));
        assert_eq!(ranged("bytes=90-"), RangeAnswer::Part(90..100));
        assert_eq!(ranged("bytes=-10"), RangeAnswer::Part(90..100));
        assert_eq!(ranged("bytes=-500"), RangeAnswer::Part(0..100));
        assert_eq!(ranged("bytes=95-500"), RangeAnswer::Part(95..100));
        assert_eq!(ranged("bytes=99-99"), RangeAnswer::Part(99..100));
    }

    #[test]
    fn past_the_end_is_unsatisfiable_and_nonsense_is_ignored() {
        assert_eq!(ranged("bytes=100-"), RangeAnswer::Unsatisfiable);
        assert_eq!(ranged("bytes=-0"), RangeAnswer::Unsatisfiable);
        for ignored in [
            "bytes=5-1",
            "bytes=0-1,5-6",
            "items=0-1",
            "bytes=a-b",
            "bytes=-",
            "bytes=+1-2",
            "bytes=18446744073709551616-",
        ] {
            assert_eq!(ranged(ignored), RangeAnswer::Whole, "{ignored}");
        }
        assert_eq!(range(&HeaderMap::new(), "\"e\"", 100), RangeAnswer::Whole);
    }

    #[test]
    fn if_range_of_another_version_gets_the_whole() {
        let current = headers(&[(header::RANGE, "bytes=0-9"), (header::IF_RANGE, "\"e\"")]);
        assert_eq!(range(&current, "\"e\"", 100), RangeAnswer::Part(0..10));
        let stale = headers(&[(header::RANGE, "bytes=0-9"), (header::IF_RANGE, "\"old\"")]);
        assert_eq!(range(&stale, "\"e\"", 100), RangeAnswer::Whole);
    }

    #[test]
    fn if_none_match_compares_weakly_and_accepts_lists_and_star() {
        let etag = "\"v1\"";
        assert!(none_match_hits(
            &headers(&[(header::IF_NONE_MATCH, "\"v1\"")]),
            etag
        ));
        assert!(none_match_hits(
            &headers(&[(header::IF_NONE_MATCH, "W/\"v1\"")]),
            etag
        ));
        assert!(none_match_hits(
            &headers(&[(header::IF_NONE_MATCH, "\"x\", \"v1\"")]),
            etag
        ));
        assert!(none_match_hits(
            &headers(&[(header::IF_NONE_MATCH, "*")]),
            etag
        ));
        assert!(!none_match_hits(
            &headers(&[(header::IF_NONE_MATCH, "\"v2\"")]),
            etag
        ));
        assert!(!none_match_hits(&HeaderMap::new(), etag));
    }
}
