//! `/api/v1/users`: the caller's own profile, and the admin's user management.

use axum::extract::{Path, State};
use chrono::Utc;
use platform::auth::{AdminUser, AuthUser, Role};
use platform::error::{FieldErrors, Problem};
use platform::extract::{Json, Query};
use platform::pagination::{Page, PageParams};
use platform::{ApiError, ErrorCode};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::UsersState;
use crate::accounts::{self, UserView};
use crate::entity::user;
use crate::{password, sessions};

pub fn routes() -> OpenApiRouter<UsersState> {
    OpenApiRouter::new()
        .routes(routes!(get_me, update_me))
        .routes(routes!(list_users))
        .routes(routes!(update_user))
}

/// The caller's account, which must still exist and be active.
async fn current(state: &UsersState, caller: &AuthUser) -> Result<user::Model, ApiError> {
    match user::Entity::find_by_id(caller.id.clone())
        .one(&state.db)
        .await?
    {
        Some(user) if user.active => Ok(user),
        Some(_) => Err(ApiError::new(
            ErrorCode::AccountDeactivated,
            "this account is deactivated",
        )),
        None => Err(ApiError::new(
            ErrorCode::InvalidToken,
            "the account of this token no longer exists",
        )),
    }
}

/// The caller's profile.
#[utoipa::path(
    get, path = "/api/v1/users/me", tag = "users", security(("bearer" = [])),
    responses(
        (status = 200, body = UserView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account deactivated", body = Problem, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(user_id = %caller.id))]
async fn get_me(
    State(state): State<UsersState>,
    caller: AuthUser,
) -> Result<Json<UserView>, ApiError> {
    Ok(Json(current(&state, &caller).await?.into()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMeRequest {
    /// 1 to 100 characters, not only spaces, no control characters.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    display_name: Option<String>,
    /// A new password, 10 to 128 characters; needs `current_password`. Ends every other session
    /// of the account; this one goes on.
    #[schema(min_length = 10, max_length = 128)]
    new_password: Option<String>,
    current_password: Option<String>,
}

/// Changes the caller's display name or password.
#[utoipa::path(
    patch, path = "/api/v1/users/me", tag = "users", security(("bearer" = [])),
    request_body = UpdateMeRequest,
    responses(
        (status = 200, body = UserView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many current-password checks for this user", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Too many password checks waiting; try again (Retry-After)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(user_id = %caller.id))]
async fn update_me(
    State(state): State<UsersState>,
    caller: AuthUser,
    Json(request): Json<UpdateMeRequest>,
) -> Result<Json<UserView>, ApiError> {
    let user = current(&state, &caller).await?;
    let mut errors = FieldErrors::new();
    let display_name = request
        .display_name
        .as_deref()
        .and_then(|name| errors.check("display_name", accounts::display_name_rule(name)));
    if let Some(new_password) = &request.new_password {
        errors.check(
            "new_password",
            password::check_policy(new_password, &user.email),
        );
        let current_ok = match request.current_password.clone() {
            Some(current) => {
                // A stolen access token must not become a way to guess the password.
                state
                    .per_account
                    .take(&format!("current password of {}", user.id))?;
                password::verify(current, Some(user.password_hash.clone())).await?
            }
            None => false,
        };
        if !current_ok {
            errors.add("current_password", "must be the account's current password");
        }
    }
    errors.into_validation()?;
    let user_id = user.id.clone();
    let mut active = user.into_active_model();
    if let Some(name) = display_name {
        active.display_name = Set(name);
    }
    let password_changed = request.new_password.is_some();
    if let Some(new_password) = request.new_password {
        active.password_hash = Set(password::hash(new_password).await?);
    }
    active.updated_at = Set(Utc::now());
    let updated = active.update(&state.db).await?;
    if password_changed {
        // Every other session ends (a thief's included); the one the change was made in goes on.
        sessions::end_all_for_user(
            &state.db,
            &state.endings,
            &user_id,
            Some(&caller.session_id),
        )
        .await?;
    }
    Ok(Json(updated.into()))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListUsersQuery {
    /// Only users with this role (`customer` or `admin`).
    #[param(value_type = Option<Role>)]
    role: Option<String>,
    /// Only active (`true`) or deactivated (`false`) users.
    #[param(value_type = Option<bool>)]
    active: Option<String>,
    /// Part of the email address, without control characters.
    #[param(pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$")]
    q: Option<String>,
    /// Page number, 1 to 10000 (default 1).
    #[param(value_type = Option<u64>, minimum = 1, maximum = 10000)]
    page: Option<String>,
    /// Items per page, 1 to 100 (default 20).
    #[param(value_type = Option<u64>, minimum = 1, maximum = 100)]
    limit: Option<String>,
}

/// Every account, oldest first (admin only).
#[utoipa::path(
    get, path = "/api/v1/users", tag = "users", security(("bearer" = [])),
    params(ListUsersQuery),
    responses(
        (status = 200, body = Page<UserView>),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all)]
async fn list_users(
    State(state): State<UsersState>,
    _admin: AdminUser,
    Query(query): Query<ListUsersQuery>,
) -> Result<Json<Page<UserView>>, ApiError> {
    let mut errors = FieldErrors::new();
    let page = PageParams {
        page: query.page.clone(),
        limit: query.limit.clone(),
    }
    .validate(&mut errors);
    let role = query
        .role
        .as_deref()
        .and_then(|r| errors.check("role", r.parse::<Role>()));
    let active = query.active.as_deref().and_then(|a| {
        errors.check(
            "active",
            a.parse::<bool>().map_err(|_| "must be true or false"),
        )
    });
    let q = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    if q.is_some_and(|q| q.chars().any(char::is_control)) {
        // No email has them, and PostgreSQL refuses a NUL byte outright.
        errors.add("q", "must not contain control characters");
    }
    errors.into_invalid_parameters()?;
    let mut select = user::Entity::find();
    if let Some(role) = role {
        select = select.filter(user::Column::Role.eq(role));
    }
    if let Some(active) = active {
        select = select.filter(user::Column::Active.eq(active));
    }
    if let Some(q) = q {
        select = select
            .filter(Expr::col(user::Column::Email).like(platform::db::contains(&q.to_lowercase())));
    }
    let total = select.clone().count(&state.db).await?;
    let items = select
        .order_by_asc(user::Column::CreatedAt)
        .order_by_asc(user::Column::Id)
        .offset(page.offset())
        .limit(page.limit)
        .all(&state.db)
        .await?;
    Ok(Json(Page::new(
        items.into_iter().map(UserView::from).collect(),
        page,
        total,
    )))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUserRequest {
    role: Option<Role>,
    active: Option<bool>,
}

/// Changes a user's role or deactivates/reactivates them (admin only). Either change ends the
/// user's sessions; an admin cannot change their own account this way.
#[utoipa::path(
    patch, path = "/api/v1/users/{id}", tag = "users", security(("bearer" = [])),
    params(("id" = String, Path, description = "User id")),
    request_body = UpdateUserRequest,
    responses(
        (status = 200, body = UserView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Changing one's own account", body = Problem, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(target_user = %id))]
async fn update_user(
    State(state): State<UsersState>,
    AdminUser(admin): AdminUser,
    Path(id): Path<String>,
    Json(request): Json<UpdateUserRequest>,
) -> Result<Json<UserView>, ApiError> {
    if id == admin.id {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            "an admin cannot change their own role or status; ask another admin",
        ));
    }
    if !platform::db::plausible_id(&id) {
        return Err(ApiError::not_found("user"));
    }
    let user = user::Entity::find_by_id(id.clone())
        .one(&state.db)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    let mut active = user.into_active_model();
    if let Some(role) = request.role {
        active.role = Set(role);
    }
    if let Some(flag) = request.active {
        active.active = Set(flag);
    }
    active.updated_at = Set(Utc::now());
    let updated = active.update(&state.db).await?;
    sessions::end_all_for_user(&state.db, &state.endings, &updated.id, None).await?;
    tracing::info!(admin_id = %admin.id, role = updated.role.as_str(), active = updated.active, "User changed by an admin.");
    Ok(Json(updated.into()))
}
