//! Sessions and their refresh tokens: opaque random strings stored as SHA-256 hashes, rotated on
//! every use, one family per session. A token presented twice means it was stolen (or
//! replayed): its session ends. An ended session's access tokens are refused everywhere
//! (`endings`).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use platform::{ApiError, ErrorCode};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QuerySelect, Set, TransactionTrait,
};
use sha2::{Digest, Sha256};

use crate::UsersConfig;
use crate::endings::SessionEndings;
use crate::entity::{refresh_token, user};

/// The cookie that carries the refresh token, scoped to the auth endpoints.
pub const COOKIE_NAME: &str = "bookstore_refresh";
pub const COOKIE_PATH: &str = "/api/v1/auth";

fn hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn to_chrono(duration: std::time::Duration) -> chrono::Duration {
    chrono::Duration::from_std(duration).unwrap_or(chrono::Duration::days(1))
}

/// A refresh token just issued, and the session it belongs to (its family), which the access
/// tokens issued with it name.
pub struct Issued {
    pub refresh_token: String,
    pub session_id: String,
}

/// Starts a new session (a new token family) for `user_id`.
pub async fn start(
    db: &impl ConnectionTrait,
    user_id: &str,
    config: &UsersConfig,
) -> Result<Issued, ApiError> {
    let now = Utc::now();
    let family = uuid::Uuid::now_v7().to_string();
    let refresh_token = issue(
        db,
        user_id,
        &family,
        now + to_chrono(config.refresh_absolute),
        config,
    )
    .await?;
    Ok(Issued {
        refresh_token,
        session_id: family,
    })
}

async fn issue(
    db: &impl ConnectionTrait,
    user_id: &str,
    family_id: &str,
    family_expires_at: DateTime<Utc>,
    config: &UsersConfig,
) -> Result<String, ApiError> {
    let token = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
    let now = Utc::now();
    refresh_token::ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        user_id: Set(user_id.to_owned()),
        family_id: Set(family_id.to_owned()),
        token_hash: Set(hash(&token)),
        created_at: Set(now),
        expires_at: Set((now + to_chrono(config.refresh_idle)).min(family_expires_at)),
        family_expires_at: Set(family_expires_at),
        used_at: Set(None),
        revoked_at: Set(None),
    }
    .insert(db)
    .await?;
    Ok(token)
}

fn invalid() -> ApiError {
    ApiError::new(
        ErrorCode::InvalidToken,
        "the refresh token is invalid, expired or revoked; log in again",
    )
}

/// Exchanges a refresh token for a new one of the same family and returns the user. A token
/// already used or revoked ends its session (reuse detection). The claim of the token and the
/// insert of its successor are one transaction: a concurrent use of the same token waits for it,
/// then finds the token used and ends the session with the successor in it.
pub async fn rotate(
    db: &DatabaseConnection,
    endings: &SessionEndings,
    token: &str,
    config: &UsersConfig,
) -> Result<(user::Model, Issued), ApiError> {
    let now = Utc::now();
    let Some(row) = refresh_token::Entity::find()
        .filter(refresh_token::Column::TokenHash.eq(hash(token)))
        .one(db)
        .await?
    else {
        return Err(invalid());
    };
    if row.used_at.is_some() || row.revoked_at.is_some() {
        return Err(reused(db, endings, &row).await);
    }
    if row.expires_at <= now || row.family_expires_at <= now {
        return Err(invalid());
    }
    let txn = db.begin().await?;
    // Of two concurrent uses only one claims the token; the other waits for its transaction.
    let claimed = refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::UsedAt, Expr::value(now))
        .filter(refresh_token::Column::Id.eq(row.id.clone()))
        .filter(refresh_token::Column::UsedAt.is_null())
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(&txn)
        .await?;
    if claimed.rows_affected != 1 {
        txn.rollback().await?;
        return Err(reused(db, endings, &row).await);
    }
    let user = user::Entity::find_by_id(row.user_id.clone())
        .one(&txn)
        .await?
        .ok_or_else(invalid)?;
    if !user.active {
        txn.rollback().await?;
        revoke_family(db, endings, &row.family_id).await?;
        return Err(ApiError::new(
            ErrorCode::AccountDeactivated,
            "this account is deactivated",
        ));
    }
    let next = issue(
        &txn,
        &user.id,
        &row.family_id,
        row.family_expires_at,
        config,
    )
    .await?;
    txn.commit().await?;
    Ok((
        user,
        Issued {
            refresh_token: next,
            session_id: row.family_id,
        },
    ))
}

/// A used or revoked token was presented: its session ends, and the answer is 401.
async fn reused(
    db: &DatabaseConnection,
    endings: &SessionEndings,
    row: &refresh_token::Model,
) -> ApiError {
    tracing::warn!(user_id = %row.user_id, family_id = %row.family_id, "Refresh token reused; ending its session.");
    match revoke_family(db, endings, &row.family_id).await {
        Ok(()) => invalid(),
        Err(err) => err,
    }
}

/// Ends the session a refresh token belongs to (logout). Unknown tokens are ignored.
pub async fn end(
    db: &DatabaseConnection,
    endings: &SessionEndings,
    token: &str,
) -> Result<(), ApiError> {
    if let Some(row) = refresh_token::Entity::find()
        .filter(refresh_token::Column::TokenHash.eq(hash(token)))
        .one(db)
        .await?
    {
        revoke_family(db, endings, &row.family_id).await?;
    }
    Ok(())
}

async fn revoke_family(
    db: &DatabaseConnection,
    endings: &SessionEndings,
    family_id: &str,
) -> Result<(), ApiError> {
    refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(refresh_token::Column::FamilyId.eq(family_id))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    endings.announce(vec![family_id.to_owned()]).await;
    Ok(())
}

/// Ends every session of a user but `keep` (deactivation and role changes keep none; a password
/// change keeps the session it was made in).
pub async fn end_all_for_user(
    db: &DatabaseConnection,
    endings: &SessionEndings,
    user_id: &str,
    keep: Option<&str>,
) -> Result<(), ApiError> {
    let mut open = refresh_token::Entity::find()
        .select_only()
        .column(refresh_token::Column::FamilyId)
        .distinct()
        .filter(refresh_token::Column::UserId.eq(user_id))
        .filter(refresh_token::Column::RevokedAt.is_null());
    let mut revoke = refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(refresh_token::Column::UserId.eq(user_id))
        .filter(refresh_token::Column::RevokedAt.is_null());
    if let Some(keep) = keep {
        open = open.filter(refresh_token::Column::FamilyId.ne(keep));
        revoke = revoke.filter(refresh_token::Column::FamilyId.ne(keep));
    }
    let ended: Vec<String> = open.into_tuple().all(db).await?;
    // A session started between the two statements is revoked too, and announced by the next
    // repetition (endings::REPEAT_EVERY).
    revoke.exec(db).await?;
    endings.announce(ended).await;
    Ok(())
}

/// The `Set-Cookie` value carrying a refresh token.
pub fn cookie(token: &str, config: &UsersConfig) -> String {
    format!(
        "{COOKIE_NAME}={token}; Path={COOKIE_PATH}; Max-Age={}; HttpOnly; Secure; SameSite=Strict",
        config.refresh_idle.as_secs()
    )
}

/// The `Set-Cookie` value that removes the refresh cookie.
pub fn clear_cookie() -> String {
    format!("{COOKIE_NAME}=; Path={COOKIE_PATH}; Max-Age=0; HttpOnly; Secure; SameSite=Strict")
}

/// The refresh token from a request's `Cookie` headers.
pub fn from_cookies(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value.to_owned())
        .filter(|value| !value.is_empty())
}
