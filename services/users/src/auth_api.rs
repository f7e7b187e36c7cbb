//! `/api/v1/auth`: sign-up, login, refresh, logout and the public keys (JWKS).

use std::net::SocketAddr;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use platform::auth::Role;
use platform::error::Problem;
use platform::extract::Json;
use platform::http::PeerAddr;
use platform::{ApiError, ErrorCode};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::UsersState;
use crate::accounts::{self, NewAccount, UserView};
use crate::email::Email;
use crate::entity::user;
use crate::{password, sessions};

pub fn routes() -> OpenApiRouter<UsersState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(login))
        .routes(routes!(refresh))
        .routes(routes!(logout))
        .routes(routes!(jwks))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    /// An email address, at most 254 characters (64 before the `@`); compared trimmed and
    /// lower-cased.
    #[schema(format = Email, max_length = 254)]
    email: String,
    /// 10 to 128 characters, not a well-known password, not the email.
    #[schema(min_length = 10, max_length = 128)]
    password: String,
    /// 1 to 100 characters, not only spaces, no control characters (default: the email's part
    /// before the `@`).
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    display_name: Option<String>,
    /// Only `customer` is accepted: sign-up never grants admin.
    #[schema(inline, value_type = Option<RegisterRole>)]
    role: Option<String>,
}

/// The one role sign-up takes.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
enum RegisterRole {
    Customer,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Any text: one that is not an email address is a wrong login (401), not a bad request.
    email: String,
    password: String,
}

/// A new access token; the refresh token travels in an HttpOnly cookie.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SessionResponse {
    pub access_token: String,
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    pub user: UserView,
}

/// The client address that rate limits are keyed by.
fn client_key(state: &UsersState, headers: &HeaderMap, peer: Option<SocketAddr>) -> String {
    let forwarded = state
        .config
        .trust_forwarded_for
        .then(|| {
            headers
                .get("x-forwarded-for")?
                .to_str()
                .ok()?
                .rsplit(',')
                .next()
                .map(|s| s.trim().to_owned())
        })
        .flatten();
    forwarded
        .or_else(|| peer.map(|p| p.ip().to_string()))
        .unwrap_or_else(|| "unknown".into())
}

/// Attempts on one account: `rate_per_account` a minute from each client, and ten times that
/// from all clients together. A stranger's wrong guesses cannot lock the owner out, and guesses
/// spread over many addresses still meet a ceiling.
fn limit_account(state: &UsersState, account: &str, client: &str) -> Result<(), ApiError> {
    state
        .per_account
        .take(&format!("{account} from {client}"))?;
    state.per_account_ceiling.take(account)
}

/// Answers with a fresh session: access token in the body, refresh token in the cookie.
async fn session_response(
    state: &UsersState,
    status: StatusCode,
    user: user::Model,
    session: &sessions::Issued,
) -> Result<Response, ApiError> {
    let access_token = state
        .signer
        .sign(&user.id, user.role, &session.session_id)?;
    let body = SessionResponse {
        access_token,
        token_type: "Bearer".into(),
        expires_in: state.signer.ttl().as_secs(),
        user: user.into(),
    };
    let cookie = HeaderValue::from_str(&sessions::cookie(&session.refresh_token, &state.config))
        .map_err(ApiError::internal)?;
    Ok((
        status,
        [
            (header::SET_COOKIE, cookie),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        Json(body),
    )
        .into_response())
}

/// Creates a customer account and logs it in.
#[utoipa::path(
    post, path = "/api/v1/auth/register", tag = "auth",
    request_body = RegisterRequest,
    responses(
        (status = 201, description = "Account created; refresh cookie set", body = SessionResponse),
        (status = 409, description = "Email already registered", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many attempts", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Too many password checks waiting; try again (Retry-After)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all)]
async fn register(
    State(state): State<UsersState>,
    PeerAddr(peer): PeerAddr,
    headers: HeaderMap,
    Json(request): Json<RegisterRequest>,
) -> Result<Response, ApiError> {
    let client = client_key(&state, &headers, peer);
    state.per_client.take(&client)?;
    if request
        .role
        .as_deref()
        .is_some_and(|role| role != Role::Customer.as_str())
    {
        let mut errors = platform::error::FieldErrors::new();
        errors.add(
            "role",
            "sign-up always creates a customer account; an admin grants other roles",
        );
        return Err(ApiError::validation(errors));
    }
    let account = NewAccount::validate(
        &request.email,
        &request.password,
        request.display_name.as_deref(),
        Role::Customer,
    )?;
    // Per account too: probing whether one email is registered is as slow as guessing at login.
    limit_account(&state, account.email.as_str(), &client)?;
    let user = accounts::create(&state.db, account).await?;
    tracing::info!(user_id = %user.id, "Account created.");
    let session = sessions::start(&state.db, &user.id, &state.config).await?;
    session_response(&state, StatusCode::CREATED, user, &session).await
}

/// Logs in with email and password. A wrong password and an unknown email get the same answer.
#[utoipa::path(
    post, path = "/api/v1/auth/login", tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in; refresh cookie set", body = SessionResponse),
        (status = 401, description = "Wrong email or password", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account deactivated", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many attempts", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Too many password checks waiting; try again (Retry-After)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all)]
async fn login(
    State(state): State<UsersState>,
    PeerAddr(peer): PeerAddr,
    headers: HeaderMap,
    Json(request): Json<LoginRequest>,
) -> Result<Response, ApiError> {
    let client = client_key(&state, &headers, peer);
    state.per_client.take(&client)?;
    let bad_credentials = || {
        ApiError::new(
            ErrorCode::InvalidCredentials,
            "the email or password is wrong",
        )
    };
    let Ok(email) = Email::parse(&request.email) else {
        return Err(bad_credentials());
    };
    limit_account(&state, email.as_str(), &client)?;
    let user = accounts::find_by_email(&state.db, &email).await?;
    let matches = password::verify(
        request.password,
        user.as_ref().map(|u| u.password_hash.clone()),
    )
    .await?;
    let Some(user) = user.filter(|_| matches) else {
        return Err(bad_credentials());
    };
    if !user.active {
        return Err(ApiError::new(
            ErrorCode::AccountDeactivated,
            "this account is deactivated",
        ));
    }
    let session = sessions::start(&state.db, &user.id, &state.config).await?;
    session_response(&state, StatusCode::OK, user, &session).await
}

/// Exchanges the refresh cookie for a new access token and a new refresh cookie.
#[utoipa::path(
    post, path = "/api/v1/auth/refresh", tag = "auth",
    responses(
        (status = 200, description = "New session tokens; refresh cookie rotated", body = SessionResponse),
        (status = 401, description = "Missing, expired, revoked or reused refresh token", body = Problem, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all)]
async fn refresh(
    State(state): State<UsersState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let token = sessions::from_cookies(&headers).ok_or_else(|| {
        ApiError::new(
            ErrorCode::Unauthenticated,
            "no refresh cookie; log in first",
        )
    })?;
    let (user, next) = sessions::rotate(&state.db, &state.endings, &token, &state.config).await?;
    session_response(&state, StatusCode::OK, user, &next).await
}

/// Ends the session of the refresh cookie on the server and clears the cookie.
#[utoipa::path(
    post, path = "/api/v1/auth/logout", tag = "auth",
    responses((status = 204, description = "Logged out; refresh cookie cleared"))
)]
#[tracing::instrument(skip_all)]
async fn logout(State(state): State<UsersState>, headers: HeaderMap) -> Result<Response, ApiError> {
    if let Some(token) = sessions::from_cookies(&headers) {
        sessions::end(&state.db, &state.endings, &token).await?;
    }
    let cookie = HeaderValue::from_str(&sessions::clear_cookie()).map_err(ApiError::internal)?;
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]).into_response())
}

/// The public keys that verify access tokens (RFC 7517).
#[utoipa::path(
    get, path = "/api/v1/auth/jwks.json", tag = "auth",
    responses((status = 200, description = "JSON Web Key Set", body = Object))
)]
async fn jwks(State(state): State<UsersState>) -> impl IntoResponse {
    (
        [(header::CACHE_CONTROL, "public, max-age=300")],
        axum::Json(state.public.jwks()),
    )
}
