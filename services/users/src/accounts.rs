//! Account records: creation (with the password policy and a unique email), lookup, the public
//! view of a user, and the first admin's bootstrap.

use chrono::{DateTime, Utc};
use platform::auth::Role;
use platform::error::{ConflictCode, FieldErrors};
use platform::{ApiError, ErrorCode};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::email::Email;
use crate::entity::user;
use crate::password;

/// An account with this email exists already.
pub const EMAIL_TAKEN: ConflictCode = ConflictCode {
    code: "email_taken",
    title: "Email already registered",
};

/// A user as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UserView {
    pub id: String,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

impl From<user::Model> for UserView {
    fn from(model: user::Model) -> Self {
        Self {
            role: model.role,
            id: model.id,
            email: model.email,
            display_name: model.display_name,
            active: model.active,
            created_at: model.created_at,
        }
    }
}

/// A new account's validated fields.
pub struct NewAccount {
    pub email: Email,
    pub password: String,
    pub display_name: String,
    pub role: Role,
}

impl NewAccount {
    /// Validates raw input, reporting every problem at once (422).
    pub fn validate(
        email: &str,
        password: &str,
        display_name: Option<&str>,
        role: Role,
    ) -> Result<Self, ApiError> {
        let mut errors = FieldErrors::new();
        let email = errors.check("email", Email::parse(email));
        if let Some(email) = &email {
            errors.check("password", password::check_policy(password, email.as_str()));
        }
        let display_name = match (display_name.map(str::trim), &email) {
            (Some(name), _) => errors.check("display_name", display_name_rule(name)),
            (None, Some(email)) => {
                Some(email.local_part().chars().take(MAX_DISPLAY_NAME).collect())
            }
            (None, None) => None,
        };
        errors.into_validation()?;
        match (email, display_name) {
            (Some(email), Some(display_name)) => Ok(Self {
                email,
                password: password.to_owned(),
                display_name,
                role,
            }),
            _ => Err(ApiError::internal(anyhow::anyhow!(
                "validation passed without values"
            ))),
        }
    }
}

/// The longest display name, in characters.
pub const MAX_DISPLAY_NAME: usize = 100;

/// Display names: 1 to 100 characters, no control characters.
pub fn display_name_rule(name: &str) -> Result<String, String> {
    let name = name.trim();
    if name.is_empty() {
        Err("must not be empty".into())
    } else if name.chars().count() > MAX_DISPLAY_NAME {
        Err(format!("must be at most {MAX_DISPLAY_NAME} characters"))
    } else if name.chars().any(char::is_control) {
        Err("must not contain control characters".into())
    } else {
        Ok(name.to_owned())
    }
}

/// Creates an account; an email already registered is a 409.
pub async fn create(
    db: &impl ConnectionTrait,
    account: NewAccount,
) -> Result<user::Model, ApiError> {
    let now = Utc::now();
    let password_hash = password::hash(account.password).await?;
    let model = user::ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        email: Set(account.email.as_str().to_owned()),
        password_hash: Set(password_hash),
        display_name: Set(account.display_name),
        role: Set(account.role),
        active: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
    };
    model.insert(db).await.map_err(|err| {
        if platform::db::is_unique_violation(&err) {
            ApiError::new(
                ErrorCode::ServiceConflict(EMAIL_TAKEN),
                "an account with this email already exists",
            )
        } else {
            ApiError::internal(err)
        }
    })
}

pub async fn find_by_email(
    db: &impl ConnectionTrait,
    email: &Email,
) -> Result<Option<user::Model>, ApiError> {
    Ok(user::Entity::find()
        .filter(user::Column::Email.eq(email.as_str()))
        .one(db)
        .await?)
}

/// What bootstrapping the first admin did.
#[derive(Debug, PartialEq, Eq)]
pub enum Bootstrap {
    Created,
    AlreadyExists,
    /// The email belongs to an account without the admin role; it is left as it is.
    ExistsWithoutAdminRole,
}

/// Creates the admin account `email` unless an account with that email exists.
pub async fn bootstrap_admin(
    db: &impl ConnectionTrait,
    email: &str,
    password: &str,
) -> Result<Bootstrap, ApiError> {
    let account = NewAccount::validate(email, password, Some("Administrator"), Role::Admin)?;
    if let Some(existing) = find_by_email(db, &account.email).await? {
        return Ok(if existing.role == Role::Admin {
            Bootstrap::AlreadyExists
        } else {
            Bootstrap::ExistsWithoutAdminRole
        });
    }
    match create(db, account).await {
        Ok(_) => Ok(Bootstrap::Created),
        // Another replica created it at the same moment.
        Err(err) if err.code == ErrorCode::ServiceConflict(EMAIL_TAKEN) => {
            Ok(Bootstrap::AlreadyExists)
        }
        Err(err) => Err(err),
    }
}

/// Whether any admin account exists.
pub async fn any_admin(db: &impl ConnectionTrait) -> Result<bool, ApiError> {
    Ok(user::Entity::find()
        .filter(user::Column::Role.eq(Role::Admin))
        .one(db)
        .await?
        .is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_taken_is_in_the_error_catalogue() {
        assert!(EMAIL_TAKEN.is_listed_in(include_str!("../../../docs/errors.md")));
    }
}
