//! Access tokens: the EdDSA key pair, signing (users service only), verification (every
//! service) with the sessions ended since their tokens were signed, the JWKS document, and the
//! extractors that give handlers the caller's identity.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::{SigningKey, VerifyingKey};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use kid::kid_for;
use sea_orm::DeriveValueType;
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ErrorCode};
use crate::messaging::{Delivery, Event, Handler, Outcome};

/// Who issues access tokens and who they are for.
pub const ISSUER: &str = "bookstore-users";
pub const AUDIENCE: &str = "bookstore";

/// A user's role. Sign-up always gives `customer`; only an admin makes another admin.
// Stored as its lower-case name, read back leniently (`Role::from_stored`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, DeriveValueType,
)]
#[serde(rename_all = "lowercase")]
#[sea_orm(
    value_type = "String",
    from_str = "Role::from_stored",
    to_str = "stored_role",
    column_type = "String(sea_orm::sea_query::StringLen::N(16))"
)]
pub enum Role {
    Customer,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Customer => "customer",
            Self::Admin => "admin",
        }
    }

    /// A stored role as it is read back. Roles are written only by the users service, so a value
    /// it does not know (written by hand, or by a later version) reads as the least privileged
    /// role instead of making the account unreadable.
    fn from_stored(stored: &str) -> Result<Self, std::convert::Infallible> {
        Ok(stored.parse().unwrap_or(Self::Customer))
    }
}

/// How a role is stored (the derive of its column passes it by reference).
fn stored_role(role: &Role) -> &'static str {
    role.as_str()
}

impl std::str::FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "customer" => Ok(Self::Customer),
            "admin" => Ok(Self::Admin),
            other => Err(format!(
                "unknown role {other:?}: expected customer or admin"
            )),
        }
    }
}

/// The claims of an access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub role: Role,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
    pub aud: String,
    pub jti: String,
    /// The session (refresh-token family) the token was issued in. Ending the session (logout,
    /// a password change, a role change, deactivation) ends its access tokens too.
    pub sid: String,
}

/// The signing key of the users service. Its public half verifies tokens everywhere else.
#[derive(Clone)]
pub struct KeyPair {
    signing: SigningKey,
}

impl KeyPair {
    pub fn generate() -> Self {
        Self {
            signing: SigningKey::from_bytes(&rand::random::<[u8; 32]>()),
        }
    }

    pub fn from_pem(pem: &str) -> anyhow::Result<Self> {
        let signing = SigningKey::from_pkcs8_pem(pem).map_err(|err| {
            anyhow::anyhow!("not an Ed25519 PKCS#8 private key in PEM form: {err}")
        })?;
        Ok(Self { signing })
    }

    pub fn to_pem(&self) -> anyhow::Result<String> {
        let pem = self
            .signing
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|err| anyhow::anyhow!("cannot encode the private key: {err}"))?;
        Ok(pem.to_string())
    }

    pub fn public(&self) -> PublicKey {
        PublicKey(self.signing.verifying_key())
    }
}

/// The public half: what every service needs to verify tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

impl PublicKey {
    pub fn from_pem(pem: &str) -> anyhow::Result<Self> {
        VerifyingKey::from_public_key_pem(pem)
            .map(Self)
            .map_err(|err| anyhow::anyhow!("not an Ed25519 public key in PEM form: {err}"))
    }

    pub fn to_pem(&self) -> anyhow::Result<String> {
        self.0
            .to_public_key_pem(LineEnding::LF)
            .map_err(|err| anyhow::anyhow!("cannot encode the public key: {err}"))
    }

    /// The key id: a digest of the key, so that it changes when the key does.
    pub fn kid(&self) -> String {
        kid_for(self.0.as_bytes())
    }

    /// The JWKS document (RFC 7517) listing this key.
    pub fn jwks(&self) -> serde_json::Value {
        serde_json::json!({
            "keys": [{
                "kty": "OKP",
                "crv": "Ed25519",
                "x": URL_SAFE_NO_PAD.encode(self.0.as_bytes()),
                "kid": self.kid(),
                "use": "sig",
                "alg": "EdDSA",
            }]
        })
    }
}

mod kid {
    /// A short stable fingerprint of the public key bytes (FNV-1a, 64 bit). The kid only needs
    /// to tell keys apart during a rotation, not to resist forgery: the signature does that.
    pub fn kid_for(bytes: &[u8]) -> String {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in bytes {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
        format!("{hash:016x}")
    }
}

/// Signs access tokens. Only the users service holds one.
#[derive(Clone)]
pub struct TokenSigner {
    key: EncodingKey,
    kid: String,
    ttl: Duration,
}

impl TokenSigner {
    pub fn new(pair: &KeyPair, ttl: Duration) -> anyhow::Result<Self> {
        let der = pair
            .signing
            .to_pkcs8_der()
            .map_err(|err| anyhow::anyhow!("cannot encode the private key: {err}"))?;
        Ok(Self {
            key: EncodingKey::from_ed_der(der.as_bytes()),
            kid: pair.public().kid(),
            ttl,
        })
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// A fresh access token for `user_id` with `role`, in the session `session_id`.
    pub fn sign(&self, user_id: &str, role: Role, session_id: &str) -> Result<String, ApiError> {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: user_id.to_owned(),
            role,
            iat: now,
            exp: now + i64::try_from(self.ttl.as_secs()).unwrap_or(900),
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            jti: uuid::Uuid::new_v4().to_string(),
            sid: session_id.to_owned(),
        };
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, &claims, &self.key).map_err(ApiError::internal)
    }
}

/// Verifies access tokens: EdDSA only (an HS256 token made with the public key as its secret is
/// refused), with issuer, audience and expiry required.
#[derive(Clone)]
pub struct TokenVerifier {
    key: DecodingKey,
    validation: Validation,
    /// Tokens whose signature and claims were checked, with their claims. A client sends the
    /// same token with every request until it expires, and checking an EdDSA signature costs
    /// more than the rest of a small request; only the expiry is checked again.
    verified: Arc<Mutex<HashMap<String, Claims>>>,
    /// Sessions ended recently, each until the last access token it may have issued has
    /// expired (unix seconds). Their tokens are refused, however valid their signature.
    ended_sessions: Arc<Mutex<HashMap<String, i64>>>,
}

/// Seconds a token is still accepted after its expiry, for clocks a little apart.
const LEEWAY_SECONDS: i64 = 5;

/// The most verified tokens remembered; when full, the memory starts again empty.
const VERIFIED_TOKENS: usize = 10_000;

impl TokenVerifier {
    pub fn new(public: &PublicKey) -> anyhow::Result<Self> {
        let key = DecodingKey::from_ed_components(&URL_SAFE_NO_PAD.encode(public.0.as_bytes()))?;
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        validation.leeway = LEEWAY_SECONDS.unsigned_abs();
        // A token that says it is not valid yet is refused until then (with the same leeway).
        validation.validate_nbf = true;
        Ok(Self {
            key,
            validation,
            verified: Arc::default(),
            ended_sessions: Arc::default(),
        })
    }

    pub fn verify(&self, token: &str) -> Result<Claims, ApiError> {
        let claims = self.verify_signed(token)?;
        if self.session_ended(&claims.sid) {
            return Err(ApiError::new(
                ErrorCode::InvalidToken,
                "the session of this access token has ended; log in again",
            ));
        }
        Ok(claims)
    }

    /// Refuses from now on the access tokens of `session_ids`, until `until` (unix seconds), by
    /// when every token they issued has expired.
    pub fn end_sessions(&self, session_ids: impl IntoIterator<Item = String>, until: i64) {
        let now = chrono::Utc::now().timestamp();
        let mut ended = self.lock_ended();
        // Forgotten once their tokens are dead: the map holds only the recent endings.
        ended.retain(|_, refused_until| *refused_until >= now);
        for session_id in session_ids {
            let refused_until = ended.entry(session_id).or_insert(until);
            *refused_until = (*refused_until).max(until);
        }
    }

    /// Whether the access tokens of `session_id` are refused.
    pub fn session_ended(&self, session_id: &str) -> bool {
        let now = chrono::Utc::now().timestamp();
        self.lock_ended()
            .get(session_id)
            .is_some_and(|until| *until >= now)
    }

    fn lock_ended(&self) -> std::sync::MutexGuard<'_, HashMap<String, i64>> {
        self.ended_sessions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The claims of a token whose signature and claims hold, ended session or not.
    fn verify_signed(&self, token: &str) -> Result<Claims, ApiError> {
        let now = chrono::Utc::now().timestamp();
        if let Some(claims) = self.remembered(token)
            && claims.exp + LEEWAY_SECONDS >= now
        {
            return Ok(claims);
        }
        let claims = jsonwebtoken::decode::<Claims>(token, &self.key, &self.validation)
            .map(|data| data.claims)
            .map_err(|err| {
                tracing::debug!(error = %err, "Access token refused.");
                ApiError::new(
                    ErrorCode::InvalidToken,
                    "the access token is invalid or expired",
                )
            })?;
        let mut verified = self.lock_verified();
        if verified.len() >= VERIFIED_TOKENS {
            verified.clear();
        }
        verified.insert(token.to_owned(), claims.clone());
        Ok(claims)
    }

    fn remembered(&self, token: &str) -> Option<Claims> {
        self.lock_verified().get(token).cloned()
    }

    fn lock_verified(&self) -> std::sync::MutexGuard<'_, HashMap<String, Claims>> {
        self.verified
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Sessions ended (logout, a replayed refresh token, a password change, a role change, a
/// deactivation): every process refuses their access tokens from now on. The users service
/// publishes it when a session ends, and again every few seconds for every session ended within
/// an access token's lifetime, so that a process that was not listening learns them too. It is
/// part of token checking, so it lives here; `contracts::events` lists it with the other events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionsEnded {
    pub session_ids: Vec<String>,
    /// When the last access token these sessions may have issued expires: they need not be
    /// remembered after it.
    pub refused_until: chrono::DateTime<chrono::Utc>,
}

impl Event for SessionsEnded {
    const KIND: &'static str = "session.ended";
    const VERSION: u32 = 1;
}

/// Teaches a verifier the sessions ended elsewhere: the handler of a process's subscription to
/// `session.ended`.
pub struct EndedSessionsListener {
    verifier: Arc<TokenVerifier>,
}

impl EndedSessionsListener {
    pub fn new(verifier: Arc<TokenVerifier>) -> Self {
        Self { verifier }
    }

    /// The message kinds to subscribe to.
    pub fn bindings() -> Vec<String> {
        vec![SessionsEnded::KIND.to_owned()]
    }
}

#[async_trait::async_trait]
impl Handler for EndedSessionsListener {
    async fn handle(&self, delivery: &Delivery) -> Outcome {
        match SessionsEnded::read(&delivery.envelope) {
            Ok(ended) => {
                self.verifier
                    .end_sessions(ended.session_ids, ended.refused_until.timestamp());
                Outcome::Ack
            }
            Err(err) => Outcome::Reject(err),
        }
    }
}

#[async_trait::async_trait]
impl crate::messaging::Listener for EndedSessionsListener {
    /// Nothing to do: the users service announces every session ended within a token's
    /// lifetime again every few seconds, so a missed announcement comes back by itself.
    async fn missed(&self) {}
}

/// The authenticated caller, taken from a `Bearer` access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthUser {
    pub id: String,
    pub role: Role,
    /// The session the access token belongs to.
    pub session_id: String,
}

impl AuthUser {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

impl<S> FromRequestParts<S> for AuthUser
where
    Arc<TokenVerifier>: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let verifier = Arc::<TokenVerifier>::from_ref(state);
        let header = parts.headers.get(header::AUTHORIZATION).ok_or_else(|| {
            ApiError::new(
                ErrorCode::Unauthenticated,
                "send an access token as `Authorization: Bearer <token>`",
            )
        })?;
        let token = header
            .to_str()
            .ok()
            .and_then(|value| {
                value
                    .strip_prefix("Bearer ")
                    .or_else(|| value.strip_prefix("bearer "))
            })
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::Unauthenticated,
                    "the Authorization header must be `Bearer <token>`",
                )
            })?;
        let claims = verifier.verify(token.trim())?;
        Ok(Self {
            id: claims.sub,
            role: claims.role,
            session_id: claims.sid,
        })
    }
}

/// An authenticated caller with the admin role; anyone else gets 403 (401 without a token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminUser(pub AuthUser);

impl AdminUser {
    /// The user, if an admin; else the 403 every admin-only endpoint answers.
    pub fn require(user: AuthUser) -> Result<Self, ApiError> {
        if user.is_admin() {
            Ok(Self(user))
        } else {
            Err(ApiError::forbidden("this action needs the admin role"))
        }
    }
}

impl<S> FromRequestParts<S> for AdminUser
where
    Arc<TokenVerifier>: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Self::require(AuthUser::from_request_parts(parts, state).await?)
    }
}

/// The shared secret of service-to-service calls (the worker calling inventory and orders),
/// sent in the `X-Service-Token` header. Customers never see it; internal endpoints accept
/// nothing else.
#[derive(Clone)]
pub struct ServiceToken(Arc<str>);

/// The header carrying the service token.
pub const SERVICE_TOKEN_HEADER: &str = "x-service-token";

/// The OpenAPI name of the service-token security scheme.
pub const SERVICE_TOKEN_SCHEME: &str = "service_token";

/// An OpenAPI document that declares only the service-token scheme: the start of a router whose
/// routes use it, so the document names every scheme it refers to whichever process serves them.
pub fn service_token_openapi() -> utoipa::openapi::OpenApi {
    use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
    use utoipa::openapi::{ComponentsBuilder, OpenApiBuilder};
    OpenApiBuilder::new()
        .components(Some(
            ComponentsBuilder::new()
                .security_scheme(
                    SERVICE_TOKEN_SCHEME,
                    SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                        SERVICE_TOKEN_HEADER,
                        "The shared secret of bookstore services; never given to clients.",
                    ))),
                )
                .build(),
        ))
        .build()
}

impl ServiceToken {
    /// Shortest accepted secret: guessing 32 random characters is out of reach.
    pub const MIN_LENGTH: usize = 32;

    pub fn new(secret: &str) -> Result<Self, String> {
        if secret.len() < Self::MIN_LENGTH {
            return Err(format!("must be at least {} characters", Self::MIN_LENGTH));
        }
        Ok(Self(Arc::from(secret)))
    }

    /// A random token, for `bookstore all` where every caller is in the process.
    pub fn generate() -> Self {
        Self(Arc::from(
            URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>()),
        ))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Compares in constant time, so response times do not reveal how much of a guess matched.
    fn matches(&self, presented: &[u8]) -> bool {
        let expected = self.0.as_bytes();
        if presented.len() != expected.len() {
            return false;
        }
        presented
            .iter()
            .zip(expected)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }
}

/// A caller holding the service token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceCaller;

impl<S> FromRequestParts<S> for ServiceCaller
where
    ServiceToken: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let token = ServiceToken::from_ref(state);
        match parts.headers.get(SERVICE_TOKEN_HEADER) {
            Some(value) if token.matches(value.as_bytes()) => Ok(Self),
            Some(_) => Err(ApiError::new(
                ErrorCode::Forbidden,
                "the service token is wrong",
            )),
            None => Err(ApiError::new(
                ErrorCode::Unauthenticated,
                "this endpoint is for bookstore services only",
            )),
        }
    }
}

/// A bookstore service holding the service token, or else a signed-in user: the caller of an
/// endpoint that serves both. A request carrying the service token header is judged by the token
/// alone (a wrong one is a 403, never a fall-back to the access token).
#[derive(Debug, Clone)]
pub enum ServiceOrUser {
    Service,
    User(AuthUser),
}

impl<S> FromRequestParts<S> for ServiceOrUser
where
    Arc<TokenVerifier>: FromRef<S>,
    ServiceToken: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if parts.headers.contains_key(SERVICE_TOKEN_HEADER) {
            ServiceCaller::from_request_parts(parts, state).await?;
            Ok(Self::Service)
        } else {
            Ok(Self::User(
                AuthUser::from_request_parts(parts, state).await?,
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> (TokenSigner, TokenVerifier, KeyPair) {
        let keys = KeyPair::generate();
        let signer = TokenSigner::new(&keys, Duration::from_secs(900)).unwrap();
        let verifier = TokenVerifier::new(&keys.public()).unwrap();
        (signer, verifier, keys)
    }

    #[test]
    fn a_signed_token_verifies_with_its_claims() {
        let (signer, verifier, _) = pair();
        let token = signer.sign("user-1", Role::Admin, "session-1").unwrap();
        let claims = verifier.verify(&token).unwrap();
        assert_eq!(claims.sub, "user-1");
        assert_eq!(claims.role, Role::Admin);
        assert_eq!(claims.iss, ISSUER);
        assert_eq!(claims.aud, AUDIENCE);
        assert_eq!(claims.exp - claims.iat, 900);
    }

    #[test]
    fn a_verified_token_is_remembered_and_still_expires() {
        let (signer, verifier, _) = pair();
        let token = signer.sign("user-1", Role::Customer, "session-1").unwrap();
        let first = verifier.verify(&token).unwrap();
        assert_eq!(verifier.remembered(&token).unwrap().jti, first.jti);
        assert_eq!(verifier.verify(&token).unwrap().jti, first.jti);

        // The remembered claims of a token past its expiry (and the leeway) do not let it in.
        let mut expired = first.clone();
        expired.exp = chrono::Utc::now().timestamp() - LEEWAY_SECONDS - 1;
        let stale = "a token remembered with its expiry passed";
        verifier.lock_verified().insert(stale.to_owned(), expired);
        assert_eq!(
            verifier.verify(stale).unwrap_err().code,
            ErrorCode::InvalidToken
        );
    }

    #[test]
    fn tokens_of_an_ended_session_are_refused_until_they_would_have_expired() {
        let (signer, verifier, _) = pair();
        let ended = signer.sign("user-1", Role::Customer, "ended").unwrap();
        let other = signer.sign("user-1", Role::Customer, "other").unwrap();
        // Verified once, so the second check goes through the remembered claims.
        assert!(verifier.verify(&ended).is_ok());
        let now = chrono::Utc::now().timestamp();
        verifier.end_sessions(["ended".to_owned()], now + 900);
        let refused = verifier.verify(&ended).unwrap_err();
        assert_eq!(refused.code, ErrorCode::InvalidToken);
        assert!(verifier.verify(&other).is_ok());
        assert!(verifier.session_ended("ended"));

        // A later, shorter ending does not shorten an earlier one; an ending in the past is
        // forgotten when the next one arrives.
        verifier.end_sessions(["ended".to_owned()], now - 1);
        assert!(verifier.session_ended("ended"));
        verifier.end_sessions(["old".to_owned()], now - 1);
        verifier.end_sessions(["new".to_owned()], now + 10);
        assert!(!verifier.session_ended("old"));
        assert!(!verifier.lock_ended().contains_key("old"));
    }

    #[tokio::test]
    async fn the_listener_ends_the_sessions_an_event_names() {
        let (signer, verifier, _) = pair();
        let verifier = Arc::new(verifier);
        let token = signer.sign("user-1", Role::Admin, "s-1").unwrap();
        let listener = EndedSessionsListener::new(verifier.clone());
        let event = SessionsEnded {
            session_ids: vec!["s-1".into(), "s-2".into()],
            refused_until: chrono::Utc::now() + chrono::Duration::seconds(60),
        };
        let delivery = Delivery {
            envelope: event.envelope().unwrap(),
            attempt: 1,
            first_failure_at: None,
            last_error: None,
        };
        assert_eq!(listener.handle(&delivery).await, Outcome::Ack);
        assert!(verifier.verify(&token).is_err());

        let mut unknown = delivery.clone();
        unknown.envelope.schema_version = 2;
        assert!(matches!(
            listener.handle(&unknown).await,
            Outcome::Reject(_)
        ));
    }

    #[test]
    fn a_token_signed_by_another_key_is_refused() {
        let (_, verifier, _) = pair();
        let (other_signer, _, _) = pair();
        let token = other_signer
            .sign("user-1", Role::Customer, "session-1")
            .unwrap();
        assert_eq!(
            verifier.verify(&token).unwrap_err().code,
            ErrorCode::InvalidToken
        );
    }

    #[test]
    fn an_hs256_token_keyed_with_the_public_key_is_refused() {
        let (signer, verifier, keys) = pair();
        let genuine = signer.sign("user-1", Role::Customer, "session-1").unwrap();
        let mut claims = verifier.verify(&genuine).unwrap();
        claims.role = Role::Admin;
        for secret in [
            keys.public().to_pem().unwrap().into_bytes(),
            keys.public().0.as_bytes().to_vec(),
        ] {
            let forged = jsonwebtoken::encode(
                &Header::new(Algorithm::HS256),
                &claims,
                &EncodingKey::from_secret(&secret),
            )
            .unwrap();
            assert!(verifier.verify(&forged).is_err());
        }
    }

    #[test]
    fn an_unsigned_token_is_refused() {
        let (signer, verifier, _) = pair();
        let genuine = signer.sign("user-1", Role::Customer, "session-1").unwrap();
        let payload = genuine.split('.').nth(1).unwrap();
        for header in [r#"{"alg":"none","typ":"JWT"}"#, r#"{"alg":"None"}"#] {
            let header = URL_SAFE_NO_PAD.encode(header);
            for forged in [
                format!("{header}.{payload}."),
                format!("{header}.{payload}"),
            ] {
                assert_eq!(
                    verifier.verify(&forged).unwrap_err().code,
                    ErrorCode::InvalidToken,
                    "{forged}"
                );
            }
        }
    }

    #[test]
    fn a_token_not_valid_before_a_future_time_is_refused_until_then() {
        let (signer, verifier, keys) = pair();
        let genuine = signer.sign("user-1", Role::Customer, "session-1").unwrap();
        let claims = verifier.verify(&genuine).unwrap();
        let private = EncodingKey::from_ed_der(keys.signing.to_pkcs8_der().unwrap().as_bytes());
        let header = Header::new(Algorithm::EdDSA);
        let with_nbf = |offset: i64| {
            let mut value = serde_json::to_value(&claims).unwrap();
            value["nbf"] = serde_json::json!(chrono::Utc::now().timestamp() + offset);
            value["jti"] = serde_json::json!(uuid::Uuid::new_v4().to_string());
            jsonwebtoken::encode(&header, &value, &private).unwrap()
        };
        assert_eq!(
            verifier.verify(&with_nbf(600)).unwrap_err().code,
            ErrorCode::InvalidToken
        );
        assert!(verifier.verify(&with_nbf(-60)).is_ok());
    }

    #[test]
    fn pem_round_trips_keep_the_key() {
        let keys = KeyPair::generate();
        let again = KeyPair::from_pem(&keys.to_pem().unwrap()).unwrap();
        assert_eq!(again.public(), keys.public());
        let public = PublicKey::from_pem(&keys.public().to_pem().unwrap()).unwrap();
        assert_eq!(public, keys.public());
        assert!(KeyPair::from_pem("not a key").is_err());
    }

    #[test]
    fn service_tokens_are_long_and_compared_exactly() {
        assert!(ServiceToken::new("short").is_err());
        let token = ServiceToken::new(&"s".repeat(40)).unwrap();
        assert!(token.matches("s".repeat(40).as_bytes()));
        assert!(!token.matches("s".repeat(39).as_bytes()));
        assert!(!token.matches(format!("{}t", "s".repeat(39)).as_bytes()));
        assert_ne!(
            ServiceToken::generate().as_str(),
            ServiceToken::generate().as_str()
        );
        assert!(ServiceToken::generate().as_str().len() >= ServiceToken::MIN_LENGTH);
    }

    #[test]
    fn jwks_lists_the_key_as_okp() {
        let keys = KeyPair::generate();
        let jwks = keys.public().jwks();
        assert_eq!(jwks["keys"][0]["kty"], "OKP");
        assert_eq!(jwks["keys"][0]["kid"], keys.public().kid());
    }
}
