//! RFC 9457 problem+json errors and the stable catalogue of error codes every service answers with.

use std::collections::BTreeMap;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// The content type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// Every error a client can see, with its HTTP status and title. Codes are part of the API:
/// clients may match on them, so a code is never renamed or reused for something else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    BadRequest,
    InvalidParameter,
    MalformedJson,
    UnsupportedMediaType,
    PayloadTooLarge,
    UriTooLong,
    HeadersTooLarge,
    ValidationFailed,
    Unauthenticated,
    InvalidCredentials,
    InvalidToken,
    AccountDeactivated,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    Conflict,
    /// A conflict with a rule of one service, named by that service.
    ServiceConflict(ConflictCode),
    RangeNotSatisfiable,
    RateLimited,
    Internal,
    Unavailable,
    Timeout,
}

impl ErrorCode {
    /// Every shared code, in the order of the catalogue (docs/errors.md lists them the same
    /// way); the services' own [`ConflictCode`]s are listed by the services that define them.
    pub const ALL: [ErrorCode; 21] = [
        Self::BadRequest,
        Self::InvalidParameter,
        Self::MalformedJson,
        Self::UnsupportedMediaType,
        Self::PayloadTooLarge,
        Self::UriTooLong,
        Self::HeadersTooLarge,
        Self::ValidationFailed,
        Self::Unauthenticated,
        Self::InvalidCredentials,
        Self::InvalidToken,
        Self::AccountDeactivated,
        Self::Forbidden,
        Self::NotFound,
        Self::MethodNotAllowed,
        Self::Conflict,
        Self::RangeNotSatisfiable,
        Self::RateLimited,
        Self::Internal,
        Self::Unavailable,
        Self::Timeout,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::BadRequest => "bad_request",
            Self::InvalidParameter => "invalid_parameter",
            Self::MalformedJson => "malformed_json",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::PayloadTooLarge => "payload_too_large",
            Self::UriTooLong => "uri_too_long",
            Self::HeadersTooLarge => "headers_too_large",
            Self::ValidationFailed => "validation_failed",
            Self::Unauthenticated => "unauthenticated",
            Self::InvalidCredentials => "invalid_credentials",
            Self::InvalidToken => "invalid_token",
            Self::AccountDeactivated => "account_deactivated",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::Conflict => "conflict",
            Self::ServiceConflict(code) => code.code,
            Self::RangeNotSatisfiable => "range_not_satisfiable",
            Self::RateLimited => "rate_limited",
            Self::Internal => "internal",
            Self::Unavailable => "unavailable",
            Self::Timeout => "timeout",
        }
    }

    pub fn status(self) -> StatusCode {
        match self {
            Self::BadRequest | Self::InvalidParameter | Self::MalformedJson => {
                StatusCode::BAD_REQUEST
            }
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UriTooLong => StatusCode::URI_TOO_LONG,
            Self::HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Self::ValidationFailed => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Unauthenticated | Self::InvalidCredentials | Self::InvalidToken => {
                StatusCode::UNAUTHORIZED
            }
            Self::AccountDeactivated | Self::Forbidden => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict | Self::ServiceConflict(_) => StatusCode::CONFLICT,
            Self::RangeNotSatisfiable => StatusCode::RANGE_NOT_SATISFIABLE,
            Self::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Timeout => StatusCode::GATEWAY_TIMEOUT,
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Self::BadRequest => "Bad request",
            Self::InvalidParameter => "Invalid query or path parameter",
            Self::MalformedJson => "Malformed JSON body",
            Self::UnsupportedMediaType => "Unsupported media type",
            Self::PayloadTooLarge => "Request body too large",
            Self::UriTooLong => "URL too long",
            Self::HeadersTooLarge => "Request headers too large",
            Self::ValidationFailed => "Validation failed",
            Self::Unauthenticated => "Authentication required",
            Self::InvalidCredentials => "Invalid email or password",
            Self::InvalidToken => "Invalid or expired token",
            Self::AccountDeactivated => "Account deactivated",
            Self::Forbidden => "Forbidden",
            Self::NotFound => "Not found",
            Self::MethodNotAllowed => "Method not allowed",
            Self::Conflict => "Conflict",
            Self::ServiceConflict(code) => code.title,
            Self::RangeNotSatisfiable => "Range not satisfiable",
            Self::RateLimited => "Too many requests",
            Self::Internal => "Internal server error",
            Self::Unavailable => "Service unavailable",
            Self::Timeout => "Request timed out",
        }
    }

    /// The generic code for a bare HTTP error status produced outside our handlers.
    pub fn for_status(status: StatusCode) -> Self {
        match status {
            StatusCode::UNAUTHORIZED => Self::Unauthenticated,
            StatusCode::FORBIDDEN => Self::Forbidden,
            StatusCode::NOT_FOUND => Self::NotFound,
            StatusCode::METHOD_NOT_ALLOWED => Self::MethodNotAllowed,
            StatusCode::CONFLICT => Self::Conflict,
            StatusCode::PAYLOAD_TOO_LARGE => Self::PayloadTooLarge,
            StatusCode::URI_TOO_LONG => Self::UriTooLong,
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => Self::HeadersTooLarge,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => Self::UnsupportedMediaType,
            StatusCode::UNPROCESSABLE_ENTITY => Self::ValidationFailed,
            StatusCode::RANGE_NOT_SATISFIABLE => Self::RangeNotSatisfiable,
            StatusCode::TOO_MANY_REQUESTS => Self::RateLimited,
            StatusCode::REQUEST_TIMEOUT | StatusCode::GATEWAY_TIMEOUT => Self::Timeout,
            StatusCode::SERVICE_UNAVAILABLE => Self::Unavailable,
            status if status.is_server_error() => Self::Internal,
            _ => Self::BadRequest,
        }
    }

    /// The code a problem's `code` names, if it is one of ours.
    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|known| known.as_str() == code)
    }

    /// Whether a request that failed with this code may pass if sent again unchanged.
    pub fn is_transient(self) -> bool {
        matches!(
            self,
            Self::RateLimited | Self::Internal | Self::Unavailable | Self::Timeout
        )
    }

    /// The problem `type` URI of this code.
    pub fn type_uri(self) -> String {
        format!("urn:bookstore:problem:{}", self.as_str())
    }
}

/// The code of a conflict with a rule that belongs to one service (an email already
/// registered, an ISBN already in the catalogue, an order limit), answered `409` like
/// [`ErrorCode::Conflict`] but naming the rule. The service that owns the rule defines it
/// (e.g. `users::accounts::EMAIL_TAKEN`); its tests check that docs/errors.md lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConflictCode {
    /// The stable `code` clients match on; never renamed or reused.
    pub code: &'static str,
    pub title: &'static str,
}

impl ConflictCode {
    /// Whether docs/errors.md, whose text is `catalogue`, lists this code.
    pub fn is_listed_in(self, catalogue: &str) -> bool {
        catalogue.contains(&format!("`{}`", self.code))
    }
}

/// A problem+json body, as RFC 9457 defines it, plus our stable `code`, per-field `errors` for
/// validation failures and the `trace_id` of server errors.
#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub type_uri: String,
    pub title: String,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    pub code: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub errors: BTreeMap<String, Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
}

/// The error type of every handler. Client errors carry a detail meant for the client; internal
/// errors carry a cause that is logged and never shown.
#[derive(Debug)]
pub struct ApiError {
    pub code: ErrorCode,
    pub detail: Option<String>,
    pub errors: BTreeMap<String, Vec<String>>,
    retry_after_secs: Option<u64>,
    source: Option<anyhow::Error>,
}

impl ApiError {
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self {
            code,
            detail: Some(detail.into()),
            errors: BTreeMap::new(),
            retry_after_secs: None,
            source: None,
        }
    }

    pub fn bare(code: ErrorCode) -> Self {
        Self {
            code,
            detail: None,
            errors: BTreeMap::new(),
            retry_after_secs: None,
            source: None,
        }
    }

    /// A server-side failure: the cause is logged with the trace id, the client sees neither.
    /// When the cause is a dependency that cannot be reached (the database or the broker: a
    /// lost connection, an outage), the answer is `503 unavailable` with `Retry-After` instead,
    /// since the same request may succeed once it is back.
    pub fn internal(source: impl Into<anyhow::Error>) -> Self {
        let source = source.into();
        let base = match unavailable_dependency(&source) {
            Some(dependency) => Self::unavailable(
                format!("the {dependency} is unavailable; try again shortly"),
                DEPENDENCY_RETRY_AFTER_SECS,
            ),
            None => Self::bare(ErrorCode::Internal),
        };
        Self {
            source: Some(source),
            ..base
        }
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("{what} not found"))
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, detail)
    }

    pub fn conflict(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self::new(code, detail)
    }

    pub fn rate_limited(retry_after_secs: u64) -> Self {
        Self {
            retry_after_secs: Some(retry_after_secs.max(1)),
            ..Self::new(ErrorCode::RateLimited, "slow down and retry later")
        }
    }

    /// A transient failure: the client may try again after `retry_after_secs`.
    pub fn unavailable(detail: impl Into<String>, retry_after_secs: u64) -> Self {
        Self {
            retry_after_secs: Some(retry_after_secs.max(1)),
            ..Self::new(ErrorCode::Unavailable, detail)
        }
    }

    /// Validation failure with messages per field.
    pub fn validation(errors: FieldErrors) -> Self {
        Self {
            errors: errors.0,
            ..Self::new(
                ErrorCode::ValidationFailed,
                "one or more fields are invalid",
            )
        }
    }

    /// Bad query or path parameters, with messages per parameter.
    pub fn invalid_parameters(errors: FieldErrors) -> Self {
        Self {
            errors: errors.0,
            ..Self::new(
                ErrorCode::InvalidParameter,
                "one or more parameters are invalid",
            )
        }
    }

    pub fn to_problem(&self, trace_id: Option<String>) -> Problem {
        Problem {
            type_uri: self.code.type_uri(),
            title: self.code.title().to_owned(),
            status: self.code.status().as_u16(),
            detail: self.detail.clone(),
            code: self.code.as_str().to_owned(),
            errors: self.errors.clone(),
            trace_id,
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.code.as_str())?;
        if let Some(detail) = &self.detail {
            write!(f, ": {detail}")?;
        }
        if let Some(source) = &self.source {
            write!(f, ": {source:#}")?;
        }
        Ok(())
    }
}

/// The `Retry-After` of an answer given while a dependency is unavailable: outages of the
/// database or the broker last seconds (a restart, a fail-over), and a client retrying sooner
/// only adds load.
pub const DEPENDENCY_RETRY_AFTER_SECS: u64 = 2;

/// The dependency named by an error's cause chain as unavailable, if any.
fn unavailable_dependency(err: &anyhow::Error) -> Option<&'static str> {
    err.chain().find_map(|cause| {
        if cause
            .downcast_ref::<sea_orm::DbErr>()
            .is_some_and(crate::db::is_unavailable)
        {
            Some("database")
        } else if matches!(
            cause.downcast_ref::<crate::messaging::BusError>(),
            Some(crate::messaging::BusError::Unavailable(_))
        ) {
            Some("message broker")
        } else {
            None
        }
    })
}

impl From<sea_orm::DbErr> for ApiError {
    fn from(err: sea_orm::DbErr) -> Self {
        Self::internal(err)
    }
}

impl From<sea_orm::TransactionError<ApiError>> for ApiError {
    fn from(err: sea_orm::TransactionError<ApiError>) -> Self {
        match err {
            sea_orm::TransactionError::Connection(db) => Self::internal(db),
            sea_orm::TransactionError::Transaction(api) => api,
        }
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(err: anyhow::Error) -> Self {
        Self::internal(err)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.code.status();
        let trace_id = if status.is_server_error() {
            let trace_id = crate::telemetry::current_trace_id();
            match &self.source {
                Some(source) => tracing::error!(
                    error = format!("{source:#}"),
                    code = self.code.as_str(),
                    trace_id = trace_id.as_deref().unwrap_or(""),
                    "Request failed."
                ),
                None => tracing::error!(code = self.code.as_str(), "Request failed."),
            }
            trace_id
        } else {
            None
        };
        problem_response(status, &self.to_problem(trace_id), self.retry_after_secs)
    }
}

/// Serialises a problem with the right content type (and Retry-After when given).
pub fn problem_response(
    status: StatusCode,
    problem: &Problem,
    retry_after: Option<u64>,
) -> Response {
    let body = serde_json::to_vec(problem).unwrap_or_default();
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    if let Some(secs) = retry_after {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

/// Messages per field, collected while validating a request so that the client sees every
/// problem at once instead of one per round trip.
#[derive(Debug, Default)]
pub struct FieldErrors(BTreeMap<String, Vec<String>>);

impl FieldErrors {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0
            .entry(field.to_owned())
            .or_default()
            .push(message.into());
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Takes the value of a field check, recording its error under `field`.
    pub fn check<T, E: std::fmt::Display>(
        &mut self,
        field: &str,
        result: Result<T, E>,
    ) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(err) => {
                self.add(field, err.to_string());
                None
            }
        }
    }

    /// `Ok(())` when nothing was recorded, else the validation error (422).
    pub fn into_validation(self) -> Result<(), ApiError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(ApiError::validation(self))
        }
    }

    /// `Ok(())` when nothing was recorded, else the invalid-parameter error (400).
    pub fn into_invalid_parameters(self) -> Result<(), ApiError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(ApiError::invalid_parameters(self))
        }
    }
}

/// A list field of a request body must hold 1 to `max` items; otherwise a 422 naming the field
/// (`"reservations": must have 1 to 100 reservations`).
pub fn check_list_length(field: &str, len: usize, max: usize) -> Result<(), ApiError> {
    let mut errors = FieldErrors::new();
    if !(1..=max).contains(&len) {
        errors.add(field, format!("must have 1 to {max} {field}"));
    }
    errors.into_validation()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_statuses_are_errors() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            assert!(
                seen.insert(code.as_str()),
                "duplicate code {}",
                code.as_str()
            );
            assert!(code.status().is_client_error() || code.status().is_server_error());
        }
    }

    #[test]
    fn error_catalogue_doc_lists_every_code() {
        let doc = include_str!("../../../docs/errors.md");
        for code in ErrorCode::ALL {
            assert!(
                doc.contains(&format!("`{}`", code.as_str())),
                "docs/errors.md misses {}",
                code.as_str()
            );
        }
    }

    #[test]
    fn internal_errors_never_show_their_cause() {
        let err = ApiError::internal(anyhow::anyhow!("relation \"users\" does not exist"));
        let problem = err.to_problem(None);
        let text = serde_json::to_string(&problem).unwrap_or_default();
        assert!(!text.contains("relation"));
        assert_eq!(problem.status, 500);
    }
}
