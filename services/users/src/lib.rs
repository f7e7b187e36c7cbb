//! The users service: accounts, authentication (access and refresh tokens), roles.

pub mod accounts;
mod auth_api;
pub mod email;
pub mod endings;
pub mod entity;
pub mod password;
pub mod sessions;
mod users_api;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::FromRef;
use platform::auth::{KeyPair, PublicKey, TokenSigner, TokenVerifier};
use platform::messaging::Bus;
use sea_orm::DatabaseConnection;
use utoipa_axum::router::OpenApiRouter;

use platform::rate_limit::RateLimiter;

/// Tunables of the users service.
#[derive(Debug, Clone)]
pub struct UsersConfig {
    /// Lifetime of an access token.
    pub access_ttl: Duration,
    /// A refresh token unused for this long expires (sliding expiry).
    pub refresh_idle: Duration,
    /// No session outlives this, however active (absolute cap per token family).
    pub refresh_absolute: Duration,
    /// Sign-up and login attempts per client address per minute.
    pub rate_per_client: u32,
    /// Login and sign-up attempts on one account from one client per minute (ten times as many
    /// from all clients together), and current-password checks of one user per minute.
    pub rate_per_account: u32,
    /// Take the client address from the last `X-Forwarded-For` hop (behind our own ingress).
    pub trust_forwarded_for: bool,
}

impl Default for UsersConfig {
    fn default() -> Self {
        Self {
            access_ttl: Duration::from_secs(15 * 60),
            refresh_idle: Duration::from_secs(14 * 24 * 3600),
            refresh_absolute: Duration::from_secs(90 * 24 * 3600),
            rate_per_client: 30,
            rate_per_account: 10,
            trust_forwarded_for: false,
        }
    }
}

/// Everything the users handlers share.
#[derive(Clone)]
pub struct UsersState {
    pub db: DatabaseConnection,
    pub config: UsersConfig,
    signer: Arc<TokenSigner>,
    verifier: Arc<TokenVerifier>,
    public: PublicKey,
    per_client: Arc<RateLimiter>,
    /// Attempts on one account from one client (and password checks of one signed-in user).
    per_account: Arc<RateLimiter>,
    /// Attempts on one account from all clients together: ten times `per_account`.
    per_account_ceiling: Arc<RateLimiter>,
    endings: endings::SessionEndings,
}

impl UsersState {
    /// The users service signing with `keys`; `verifier` checks the tokens it is sent (the
    /// process's one verifier, which learns the sessions ended elsewhere), and `bus` carries the
    /// news of sessions ended here to every other process.
    pub fn new(
        db: DatabaseConnection,
        keys: &KeyPair,
        verifier: Arc<TokenVerifier>,
        bus: Arc<dyn Bus>,
        config: UsersConfig,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            db,
            signer: Arc::new(TokenSigner::new(keys, config.access_ttl)?),
            endings: endings::SessionEndings::new(bus, verifier.clone(), config.access_ttl),
            verifier,
            public: keys.public(),
            per_client: Arc::new(RateLimiter::new(config.rate_per_client)),
            per_account: Arc::new(RateLimiter::new(config.rate_per_account)),
            per_account_ceiling: Arc::new(RateLimiter::new(
                config.rate_per_account.saturating_mul(10),
            )),
            config,
        })
    }
}

impl UsersState {
    /// What announces ended sessions; its `repeat` runs for the life of the process.
    pub fn endings(&self) -> endings::SessionEndings {
        self.endings.clone()
    }
}

impl FromRef<UsersState> for Arc<TokenVerifier> {
    fn from_ref(state: &UsersState) -> Self {
        state.verifier.clone()
    }
}

/// The routes of the users service: `/api/v1/auth/*` and `/api/v1/users/*`.
pub fn router(state: UsersState) -> OpenApiRouter {
    OpenApiRouter::new()
        .merge(auth_api::routes())
        .merge(users_api::routes())
        .with_state(state)
}
