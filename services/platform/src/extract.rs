//! Request extractors whose rejections are problem+json: JSON bodies and query strings, and the
//! reading of whole numbers in JSON bodies.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer, Serialize};

use crate::error::{ApiError, ErrorCode};
use crate::http::DEFAULT_BODY_LIMIT;

/// Reads a JSON integer for `#[serde(deserialize_with)]`, also when it is written with a zero
/// fraction (`3.0`): JSON Schema counts that as an integer, so a client generated from the
/// OpenAPI document may send it, and serde's own `i64` would refuse it.
pub fn whole_number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    let number = serde_json::Number::deserialize(deserializer)?;
    if let Some(whole) = number.as_i64() {
        return Ok(whole);
    }
    // i64::MAX as f64 rounds up to 2^63, which is already out of range.
    const BOUND: f64 = 9_223_372_036_854_775_808.0;
    match number.as_f64() {
        #[allow(clippy::cast_possible_truncation)]
        Some(value) if value.fract() == 0.0 && (-BOUND..BOUND).contains(&value) => Ok(value as i64),
        _ => Err(D::Error::custom(format!(
            "invalid value: {number}, expected a whole number"
        ))),
    }
}

/// [`whole_number`] for an optional field (with `#[serde(default)]`); `null` is `None`.
pub fn optional_whole_number<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<i64>, D::Error> {
    #[derive(Deserialize)]
    struct Whole(#[serde(deserialize_with = "whole_number")] i64);
    Ok(Option::<Whole>::deserialize(deserializer)?.map(|Whole(value)| value))
}

/// `axum::Json` whose rejections become problem+json: 400 for bad syntax, 415 for a wrong
/// content type, 413 for an oversized body and 422 for a body of the wrong shape. A body whose
/// `Content-Length` announces more than [`DEFAULT_BODY_LIMIT`] is refused before any of it is
/// read; one that grows past it while streaming is cut off there.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let announced = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<u64>().ok());
        if announced.is_some_and(|length| length > DEFAULT_BODY_LIMIT as u64) {
            return Err(ApiError::new(
                ErrorCode::PayloadTooLarge,
                format!("the body is larger than {DEFAULT_BODY_LIMIT} bytes"),
            ));
        }
        let axum::Json(value) = axum::Json::<T>::from_request(request, state).await?;
        Ok(Self(value))
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        let code = match &rejection {
            JsonRejection::JsonDataError(_) => ErrorCode::ValidationFailed,
            JsonRejection::JsonSyntaxError(_) => ErrorCode::MalformedJson,
            JsonRejection::MissingJsonContentType(_) => ErrorCode::UnsupportedMediaType,
            _ if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::PayloadTooLarge,
            _ => ErrorCode::BadRequest,
        };
        ApiError::new(code, rejection.body_text())
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// `axum::extract::Query` whose rejections (unknown parameters, wrong types) are a 400
/// problem+json instead of being silently ignored or answered in plain text.
#[derive(Debug, Clone, Copy, Default, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct Query<T>(pub T);

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::new(ErrorCode::InvalidParameter, rejection.body_text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Body {
        #[serde(deserialize_with = "whole_number")]
        count: i64,
        #[serde(default, deserialize_with = "optional_whole_number")]
        delta: Option<i64>,
    }

    fn read(json: &str) -> Result<Body, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn whole_numbers_are_read_with_or_without_a_zero_fraction() {
        let body = read(r#"{"count": 205094.0, "delta": -3}"#).unwrap();
        assert_eq!((body.count, body.delta), (205_094, Some(-3)));
        let body = read(r#"{"count": 7, "delta": 1e3}"#).unwrap();
        assert_eq!((body.count, body.delta), (7, Some(1000)));
        assert_eq!(read(r#"{"count": 1, "delta": null}"#).unwrap().delta, None);
        assert_eq!(read(r#"{"count": 1}"#).unwrap().delta, None);
    }

    #[test]
    fn fractions_text_and_numbers_out_of_range_are_refused() {
        for bad in [
            r#"{"count": 1.5}"#,
            r#"{"count": "1"}"#,
            r#"{"count": 1e300}"#,
            r#"{"count": 9223372036854775808}"#,
            r#"{"count": 1, "delta": 0.25}"#,
        ] {
            assert!(read(bad).is_err(), "{bad} should be refused");
        }
    }
}
