//! The users service over HTTP, on SQLite, PostgreSQL and MariaDB: every authentication rule.

// Helpers of a test binary may unwrap too: a panic is how a test reports a failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use migration::{Migrator, MigratorTrait};
use platform::auth::{
    AUDIENCE, Claims, EndedSessionsListener, ISSUER, KeyPair, Role, TokenSigner, TokenVerifier,
};
use platform::messaging::Bus;
use platform::messaging::memory::MemoryBus;
use platform::readiness::Gate;
use platform::testing::{TestDatabase, TestServer, eventually};
use reqwest::StatusCode;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use users::entity::{refresh_token, user};
use users::{UsersConfig, UsersState};

const PASSWORD: &str = "correct horse battery";

struct App {
    server: TestServer,
    db: DatabaseConnection,
    http: reqwest::Client,
    keys: KeyPair,
    /// The bus the service announces ended sessions on, as another process would hear them.
    bus: Arc<MemoryBus>,
    state: UsersState,
}

/// Limits high enough that only the rate-limit tests ever meet them.
fn config() -> UsersConfig {
    UsersConfig {
        rate_per_client: 10_000,
        rate_per_account: 10_000,
        ..UsersConfig::default()
    }
}

async fn spawn(db: &TestDatabase, config: UsersConfig) -> App {
    let conn = db.connect().await.unwrap();
    Migrator::up(&conn, None).await.unwrap();
    let keys = KeyPair::generate();
    let bus = Arc::new(MemoryBus::new(contracts::consumers::topology("")));
    let verifier = Arc::new(TokenVerifier::new(&keys.public()).unwrap());
    let state = UsersState::new(conn.clone(), &keys, verifier, bus.clone(), config).unwrap();
    let (router, _) = users::router(state.clone()).split_for_parts();
    let server = TestServer::start(router, vec![conn.clone()]).await;
    App {
        server,
        db: conn,
        http: reqwest::Client::new(),
        keys,
        bus,
        state,
    }
}

/// A response's status, body and refresh cookie (when set).
struct Reply {
    status: StatusCode,
    body: Value,
    cookie: Option<String>,
    set_cookie: Option<String>,
    headers: reqwest::header::HeaderMap,
}

impl App {
    async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        let response = request.send().await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let set_cookie = headers
            .get("set-cookie")
            .map(|v| v.to_str().unwrap().to_owned());
        let cookie = set_cookie
            .as_deref()
            .and_then(|c| c.split(';').next())
            .and_then(|pair| pair.strip_prefix("bookstore_refresh="))
            .filter(|v| !v.is_empty())
            .map(str::to_owned);
        let text = response.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Reply {
            status,
            body,
            cookie,
            set_cookie,
            headers,
        }
    }

    async fn post(&self, path: &str, body: Value) -> Reply {
        self.send(self.http.post(self.server.url(path)).json(&body))
            .await
    }

    async fn register(&self, email: &str) -> Reply {
        self.post(
            "/api/v1/auth/register",
            json!({ "email": email, "password": PASSWORD }),
        )
        .await
    }

    async fn login(&self, email: &str, password: &str) -> Reply {
        self.post(
            "/api/v1/auth/login",
            json!({ "email": email, "password": password }),
        )
        .await
    }

    async fn refresh(&self, cookie: &str) -> Reply {
        self.send(
            self.http
                .post(self.server.url("/api/v1/auth/refresh"))
                .header("cookie", format!("bookstore_refresh={cookie}")),
        )
        .await
    }

    async fn get(&self, path: &str, token: &str) -> Reply {
        self.send(self.http.get(self.server.url(path)).bearer_auth(token))
            .await
    }

    async fn patch(&self, path: &str, token: &str, body: Value) -> Reply {
        self.send(
            self.http
                .patch(self.server.url(path))
                .bearer_auth(token)
                .json(&body),
        )
        .await
    }

    /// An admin made the way the first admin is bootstrapped; returns its access token and id.
    async fn admin(&self) -> (String, String) {
        users::accounts::bootstrap_admin(&self.db, "root@shop.example", PASSWORD)
            .await
            .unwrap();
        let reply = self.login("root@shop.example", PASSWORD).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        (
            token(&reply),
            reply.body["user"]["id"].as_str().unwrap().to_owned(),
        )
    }

    async fn close(self) {
        drop(self.server);
        self.db.close().await.unwrap();
    }
}

fn token(reply: &Reply) -> String {
    reply.body["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no access token in {}", reply.body))
        .to_owned()
}

fn assert_problem(reply: &Reply, status: StatusCode, code: &str) {
    assert_eq!(reply.status, status, "{}", reply.body);
    assert_eq!(reply.headers["content-type"], "application/problem+json");
    assert_eq!(reply.body["code"], code, "{}", reply.body);
    assert_eq!(reply.body["status"], status.as_u16());
}

fn claims_for(user_id: &str, role: Role, exp_offset: i64) -> Claims {
    let now = Utc::now().timestamp();
    Claims {
        sub: user_id.into(),
        role,
        iat: now,
        exp: now + exp_offset,
        iss: ISSUER.into(),
        aud: AUDIENCE.into(),
        jti: "test".into(),
        sid: "test-session".into(),
    }
}

fn sign_ed(keys: &KeyPair, claims: &Claims) -> String {
    let key = EncodingKey::from_ed_pem(keys.to_pem().unwrap().as_bytes()).unwrap();
    jsonwebtoken::encode(&Header::new(Algorithm::EdDSA), claims, &key).unwrap()
}

/// Another process's verifier, told of ended sessions through its own subscription to the bus
/// (as `bookstore catalog`, `orders`, `inventory` and `notifications` are).
async fn listening_verifier(
    app: &App,
) -> (Arc<TokenVerifier>, platform::shutdown::ShutdownTrigger) {
    let verifier = Arc::new(TokenVerifier::new(&app.keys.public()).unwrap());
    let (stop, token) = platform::shutdown::shutdown_pair();
    let live = Gate::new("ended-sessions");
    let (bus, listener, gate) = (
        app.bus.clone(),
        Arc::new(EndedSessionsListener::new(verifier.clone())),
        live.clone(),
    );
    tokio::spawn(async move {
        bus.subscribe(
            "ended-sessions",
            &EndedSessionsListener::bindings(),
            listener,
            gate,
            token,
        )
        .await
        .unwrap();
    });
    eventually("the subscription to be live", WITHIN, async || {
        live.is_open()
    })
    .await;
    (verifier, stop)
}

/// How long a test waits for something that happens within milliseconds here (an ending to
/// cross the in-process bus): a bound that leaves room for a loaded machine.
const WITHIN: Duration = Duration::from_secs(5);

platform::backend_tests! {
    async fn sign_up_creates_a_customer_and_starts_a_session(db) {
        let app = spawn(&db, config()).await;
        let reply = app.register("new.reader@shop.example").await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        assert_eq!(reply.body["user"]["role"], "customer");
        assert_eq!(reply.body["user"]["email"], "new.reader@shop.example");
        assert_eq!(reply.body["token_type"], "Bearer");
        assert_eq!(reply.body["expires_in"], 900);
        let set_cookie = reply.set_cookie.clone().unwrap();
        for attribute in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/api/v1/auth"] {
            assert!(set_cookie.contains(attribute), "{set_cookie} lacks {attribute}");
        }
        let me = app.get("/api/v1/users/me", &token(&reply)).await;
        assert_eq!(me.status, StatusCode::OK);
        assert_eq!(me.body["email"], "new.reader@shop.example");
        app.close().await;
    }

    async fn sign_up_as_admin_is_impossible(db) {
        let app = spawn(&db, config()).await;
        let reply = app
            .post("/api/v1/auth/register", json!({ "email": "mallory@shop.example", "password": PASSWORD, "role": "admin" }))
            .await;
        assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert!(reply.body["errors"]["role"].is_array());
        let login = app.login("mallory@shop.example", PASSWORD).await;
        assert_problem(&login, StatusCode::UNAUTHORIZED, "invalid_credentials");
        // Any other field that might grant privileges is refused too, not ignored.
        let reply = app
            .post("/api/v1/auth/register", json!({ "email": "mallory@shop.example", "password": PASSWORD, "is_admin": true }))
            .await;
        assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        app.close().await;
    }

    async fn emails_are_normalised_and_unique(db) {
        let app = spawn(&db, config()).await;
        assert_eq!(app.register("  Alice@Example.COM ").await.status, StatusCode::CREATED);
        let again = app.register("alice@example.com").await;
        assert_problem(&again, StatusCode::CONFLICT, "email_taken");
        let login = app.login("ALICE@example.com", PASSWORD).await;
        assert_eq!(login.status, StatusCode::OK);
        app.close().await;
    }

    async fn sign_up_reports_every_invalid_field(db) {
        let app = spawn(&db, config()).await;
        let reply = app.post("/api/v1/auth/register", json!({ "email": "not-an-email", "password": "short", "display_name": "" })).await;
        assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert!(reply.body["errors"]["email"].is_array(), "{}", reply.body);
        assert!(reply.body["errors"]["display_name"].is_array(), "{}", reply.body);
        let reply = app.post("/api/v1/auth/register", json!({ "email": "bob@shop.example", "password": "short" })).await;
        assert!(reply.body["errors"]["password"].is_array(), "{}", reply.body);
        let reply = app.post("/api/v1/auth/register", json!({ "email": "", "password": "" })).await;
        assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        app.close().await;
    }

    async fn wrong_password_and_unknown_email_get_the_same_answer(db) {
        let app = spawn(&db, config()).await;
        app.register("carol@shop.example").await;
        let wrong = app.login("carol@shop.example", "not the password").await;
        let unknown = app.login("nobody@shop.example", "not the password").await;
        assert_problem(&wrong, StatusCode::UNAUTHORIZED, "invalid_credentials");
        assert_problem(&unknown, StatusCode::UNAUTHORIZED, "invalid_credentials");
        assert_eq!(wrong.body, unknown.body);
        app.close().await;
    }

    async fn expired_tampered_and_foreign_tokens_are_refused(db) {
        let app = spawn(&db, config()).await;
        let reply = app.register("dave@shop.example").await;
        let genuine = token(&reply);
        let user_id = reply.body["user"]["id"].as_str().unwrap().to_owned();

        let expired = sign_ed(&app.keys, &claims_for(&user_id, Role::Customer, -60));
        assert_problem(&app.get("/api/v1/users/me", &expired).await, StatusCode::UNAUTHORIZED, "invalid_token");

        // Same signature, payload changed to claim admin.
        let parts: Vec<&str> = genuine.split('.').collect();
        use base64::Engine;
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut payload: Value = serde_json::from_slice(&engine.decode(parts[1]).unwrap()).unwrap();
        payload["role"] = json!("admin");
        let tampered = format!("{}.{}.{}", parts[0], engine.encode(payload.to_string()), parts[2]);
        assert_problem(&app.get("/api/v1/users/me", &tampered).await, StatusCode::UNAUTHORIZED, "invalid_token");

        let other_keys = KeyPair::generate();
        let foreign = TokenSigner::new(&other_keys, Duration::from_secs(900)).unwrap().sign(&user_id, Role::Admin, "test-session").unwrap();
        assert_problem(&app.get("/api/v1/users", &foreign).await, StatusCode::UNAUTHORIZED, "invalid_token");

        let mut no_exp = serde_json::to_value(claims_for(&user_id, Role::Customer, 60)).unwrap();
        no_exp.as_object_mut().unwrap().remove("exp");
        let key = EncodingKey::from_ed_pem(app.keys.to_pem().unwrap().as_bytes()).unwrap();
        let without_exp = jsonwebtoken::encode(&Header::new(Algorithm::EdDSA), &no_exp, &key).unwrap();
        assert_problem(&app.get("/api/v1/users/me", &without_exp).await, StatusCode::UNAUTHORIZED, "invalid_token");

        let mut wrong_audience = claims_for(&user_id, Role::Customer, 60);
        wrong_audience.aud = "someone-else".into();
        assert_problem(&app.get("/api/v1/users/me", &sign_ed(&app.keys, &wrong_audience)).await, StatusCode::UNAUTHORIZED, "invalid_token");

        assert_problem(&app.get("/api/v1/users/me", "garbage").await, StatusCode::UNAUTHORIZED, "invalid_token");
        let none = app.send(app.http.get(app.server.url("/api/v1/users/me"))).await;
        assert_problem(&none, StatusCode::UNAUTHORIZED, "unauthenticated");
        app.close().await;
    }

    async fn an_hs256_token_keyed_with_the_public_key_is_refused(db) {
        let app = spawn(&db, config()).await;
        let reply = app.register("erin@shop.example").await;
        let user_id = reply.body["user"]["id"].as_str().unwrap().to_owned();
        let jwks = app.send(app.http.get(app.server.url("/api/v1/auth/jwks.json"))).await;
        let x = jwks.body["keys"][0]["x"].as_str().unwrap().to_owned();
        let claims = claims_for(&user_id, Role::Admin, 600);
        for secret in [app.keys.public().to_pem().unwrap().into_bytes(), x.into_bytes()] {
            let forged = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(&secret)).unwrap();
            assert_problem(&app.get("/api/v1/users", &forged).await, StatusCode::UNAUTHORIZED, "invalid_token");
        }
        app.close().await;
    }

    async fn jwks_publishes_the_key_that_verifies_access_tokens(db) {
        let app = spawn(&db, config()).await;
        let reply = app.register("frank@shop.example").await;
        let jwks = app.send(app.http.get(app.server.url("/api/v1/auth/jwks.json"))).await;
        assert_eq!(jwks.status, StatusCode::OK);
        let set: jsonwebtoken::jwk::JwkSet = serde_json::from_value(jwks.body.clone()).unwrap();
        let key = jsonwebtoken::DecodingKey::from_jwk(&set.keys[0]).unwrap();
        let mut validation = jsonwebtoken::Validation::new(Algorithm::EdDSA);
        validation.set_audience(&[AUDIENCE]);
        let data = jsonwebtoken::decode::<Claims>(&token(&reply), &key, &validation).unwrap();
        assert_eq!(data.claims.role, Role::Customer);
        assert_eq!(data.header.kid.as_deref(), set.keys[0].common.key_id.as_deref());
        app.close().await;
    }

    async fn refresh_rotates_the_token(db) {
        let app = spawn(&db, config()).await;
        let first = app.register("grace@shop.example").await.cookie.unwrap();
        let rotated = app.refresh(&first).await;
        assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.body);
        let second = rotated.cookie.clone().unwrap();
        assert_ne!(first, second);
        assert_eq!(app.get("/api/v1/users/me", &token(&rotated)).await.status, StatusCode::OK);
        let third = app.refresh(&second).await;
        assert_eq!(third.status, StatusCode::OK);
        app.close().await;
    }

    async fn replaying_a_rotated_refresh_token_revokes_its_family(db) {
        let app = spawn(&db, config()).await;
        let first = app.register("heidi@shop.example").await.cookie.unwrap();
        let second = app.refresh(&first).await.cookie.unwrap();
        let replay = app.refresh(&first).await;
        assert_problem(&replay, StatusCode::UNAUTHORIZED, "invalid_token");
        // The thief's replay also ends the legitimate holder's session.
        assert_problem(&app.refresh(&second).await, StatusCode::UNAUTHORIZED, "invalid_token");
        // Another session of the same user is untouched.
        let other = app.login("heidi@shop.example", PASSWORD).await.cookie.unwrap();
        assert_eq!(app.refresh(&other).await.status, StatusCode::OK);
        app.close().await;
    }

    async fn concurrent_uses_of_one_refresh_token_never_leave_a_live_session(db) {
        // Two refreshes with the same cookie at once: at most one gets a new token, and the
        // other's reuse revokes the family, the winner's new token included.
        let app = spawn(&db, config()).await;
        let mut cookie = app.register("ivan@shop.example").await.cookie.unwrap();
        for attempt in 0..30 {
            let (a, b) = tokio::join!(app.refresh(&cookie), app.refresh(&cookie));
            let winners: Vec<&Reply> = [&a, &b]
                .into_iter()
                .filter(|r| r.status == StatusCode::OK)
                .collect();
            assert!(winners.len() <= 1, "attempt {attempt}: both refreshes succeeded");
            for reply in [&a, &b] {
                if reply.status != StatusCode::OK {
                    assert_problem(reply, StatusCode::UNAUTHORIZED, "invalid_token");
                }
            }
            if let Some(winner) = winners.first() {
                let issued = winner.cookie.clone().unwrap();
                assert_problem(
                    &app.refresh(&issued).await,
                    StatusCode::UNAUTHORIZED,
                    "invalid_token",
                );
            }
            cookie = app.login("ivan@shop.example", PASSWORD).await.cookie.unwrap();
        }
        app.close().await;
    }

    async fn logout_revokes_the_session_on_the_server(db) {
        let app = spawn(&db, config()).await;
        let cookie = app.register("ivan@shop.example").await.cookie.unwrap();
        let logout = app
            .send(app.http.post(app.server.url("/api/v1/auth/logout")).header("cookie", format!("bookstore_refresh={cookie}")))
            .await;
        assert_eq!(logout.status, StatusCode::NO_CONTENT);
        assert!(logout.set_cookie.unwrap().contains("Max-Age=0"));
        assert_problem(&app.refresh(&cookie).await, StatusCode::UNAUTHORIZED, "invalid_token");
        let missing = app.send(app.http.post(app.server.url("/api/v1/auth/refresh"))).await;
        assert_problem(&missing, StatusCode::UNAUTHORIZED, "unauthenticated");
        app.close().await;
    }

    async fn sessions_slide_but_never_pass_their_absolute_cap(db) {
        let app = spawn(&db, UsersConfig {
            refresh_idle: Duration::from_secs(3600),
            refresh_absolute: Duration::from_secs(5400),
            ..config()
        }).await;
        let reply = app.register("judy@shop.example").await;
        let user_id = reply.body["user"]["id"].as_str().unwrap().to_owned();
        let cookie = app.refresh(&reply.cookie.unwrap()).await.cookie.unwrap();
        let rows = refresh_token::Entity::find().filter(refresh_token::Column::UserId.eq(user_id.clone())).all(&app.db).await.unwrap();
        let newest = rows.iter().find(|r| r.used_at.is_none()).unwrap();
        let idle = (newest.expires_at - newest.created_at).num_seconds();
        assert!((3590..=3600).contains(&idle), "sliding expiry is {idle}s");
        assert!(newest.family_expires_at <= newest.created_at + chrono::Duration::seconds(5400));

        // Past the idle expiry the token is refused.
        refresh_token::Entity::update_many()
            .col_expr(refresh_token::Column::ExpiresAt, sea_orm::sea_query::Expr::value(Utc::now() - chrono::Duration::seconds(1)))
            .filter(refresh_token::Column::Id.eq(newest.id.clone()))
            .exec(&app.db)
            .await
            .unwrap();
        assert_problem(&app.refresh(&cookie).await, StatusCode::UNAUTHORIZED, "invalid_token");

        // Past the family's absolute cap a fresh-looking token is refused too.
        let cookie = app.login("judy@shop.example", PASSWORD).await.cookie.unwrap();
        refresh_token::Entity::update_many()
            .col_expr(refresh_token::Column::FamilyExpiresAt, sea_orm::sea_query::Expr::value(Utc::now() - chrono::Duration::seconds(1)))
            .filter(refresh_token::Column::UserId.eq(user_id))
            .exec(&app.db)
            .await
            .unwrap();
        assert_problem(&app.refresh(&cookie).await, StatusCode::UNAUTHORIZED, "invalid_token");
        app.close().await;
    }

    async fn customers_are_refused_on_admin_routes(db) {
        let app = spawn(&db, config()).await;
        let reply = app.register("ken@shop.example").await;
        let customer = token(&reply);
        let id = reply.body["user"]["id"].as_str().unwrap().to_owned();
        assert_problem(&app.get("/api/v1/users", &customer).await, StatusCode::FORBIDDEN, "forbidden");
        let promote = app.patch(&format!("/api/v1/users/{id}"), &customer, json!({ "role": "admin" })).await;
        assert_problem(&promote, StatusCode::FORBIDDEN, "forbidden");
        let me = app.get("/api/v1/users/me", &customer).await;
        assert_eq!(me.body["role"], "customer");
        app.close().await;
    }

    async fn admins_list_users_and_change_roles(db) {
        let app = spawn(&db, config()).await;
        let (admin, admin_id) = app.admin().await;
        for i in 0..5 {
            app.register(&format!("reader{i}@shop.example")).await;
        }
        let page = app.get("/api/v1/users?limit=2&role=customer", &admin).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert_eq!(page.body["total"], 5);
        assert_eq!(page.body["items"].as_array().unwrap().len(), 2);
        assert_eq!(page.body["next_page"], 2);
        let mut seen = Vec::new();
        for n in 1..=3 {
            let page = app.get(&format!("/api/v1/users?limit=2&page={n}&role=customer"), &admin).await;
            seen.extend(page.body["items"].as_array().unwrap().iter().map(|u| u["id"].as_str().unwrap().to_owned()));
        }
        let mut unique = seen.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 5, "pages overlap or leave gaps: {seen:?}");
        assert_problem(&app.get("/api/v1/users?limit=1000", &admin).await, StatusCode::BAD_REQUEST, "invalid_parameter");
        assert_problem(&app.get("/api/v1/users?role=owner", &admin).await, StatusCode::BAD_REQUEST, "invalid_parameter");

        let target = seen[0].clone();
        let promoted = app.patch(&format!("/api/v1/users/{target}"), &admin, json!({ "role": "admin" })).await;
        assert_eq!(promoted.status, StatusCode::OK);
        assert_eq!(promoted.body["role"], "admin");
        let own = app.patch(&format!("/api/v1/users/{admin_id}"), &admin, json!({ "active": false })).await;
        assert_problem(&own, StatusCode::CONFLICT, "conflict");
        let missing = app.patch("/api/v1/users/no-such-user", &admin, json!({ "active": false })).await;
        assert_problem(&missing, StatusCode::NOT_FOUND, "not_found");
        let bad_role = app.patch(&format!("/api/v1/users/{target}"), &admin, json!({ "role": "owner" })).await;
        assert_problem(&bad_role, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        app.close().await;
    }

    async fn a_stored_role_this_version_does_not_know_reads_as_customer(db) {
        let app = spawn(&db, config()).await;
        let (admin, _) = app.admin().await;
        let reply = app.register("future.role@shop.example").await;
        let id = reply.body["user"]["id"].as_str().unwrap().to_owned();
        // As a later version, or a hand-made fix, might have left it.
        let stored = user::Entity::update_many()
            .col_expr(user::Column::Role, Expr::value("superuser"))
            .filter(user::Column::Id.eq(&id))
            .exec(&app.db)
            .await
            .unwrap();
        assert_eq!(stored.rows_affected, 1);
        let login = app.login("future.role@shop.example", PASSWORD).await;
        assert_eq!(login.status, StatusCode::OK, "{}", login.body);
        assert_eq!(login.body["user"]["role"], "customer");
        let listed = app.get("/api/v1/users?q=future.role", &admin).await;
        assert_eq!(listed.body["items"][0]["role"], "customer", "{}", listed.body);
        // Nothing it reads as grants more: the account is refused on admin routes.
        let refused = app.get("/api/v1/users", &token(&login)).await;
        assert_problem(&refused, StatusCode::FORBIDDEN, "forbidden");
        app.close().await;
    }

    async fn deactivated_users_are_refused(db) {
        let app = spawn(&db, config()).await;
        let (admin, _) = app.admin().await;
        let reply = app.register("leo@shop.example").await;
        let (access, cookie) = (token(&reply), reply.cookie.clone().unwrap());
        let id = reply.body["user"]["id"].as_str().unwrap().to_owned();
        let off = app.patch(&format!("/api/v1/users/{id}"), &admin, json!({ "active": false })).await;
        assert_eq!(off.body["active"], false);
        assert_problem(&app.login("leo@shop.example", PASSWORD).await, StatusCode::FORBIDDEN, "account_deactivated");
        assert_problem(&app.refresh(&cookie).await, StatusCode::UNAUTHORIZED, "invalid_token");
        // Deactivating ended the account's sessions: their access tokens are refused at once.
        assert_problem(&app.get("/api/v1/users/me", &access).await, StatusCode::UNAUTHORIZED, "invalid_token");
        let on = app.patch(&format!("/api/v1/users/{id}"), &admin, json!({ "active": true })).await;
        assert_eq!(on.body["active"], true);
        assert_eq!(app.login("leo@shop.example", PASSWORD).await.status, StatusCode::OK);
        app.close().await;
    }

    async fn users_change_their_name_and_password(db) {
        let app = spawn(&db, config()).await;
        let reply = app.register("mia@shop.example").await;
        let access = token(&reply);
        let cookie = reply.cookie.unwrap();
        let elsewhere = app.login("mia@shop.example", PASSWORD).await;
        let renamed = app.patch("/api/v1/users/me", &access, json!({ "display_name": "Mia Ünïcødé 📚" })).await;
        assert_eq!(renamed.body["display_name"], "Mia Ünïcødé 📚");
        let no_current = app.patch("/api/v1/users/me", &access, json!({ "new_password": "another fine password" })).await;
        assert_problem(&no_current, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert!(no_current.body["errors"]["current_password"].is_array());
        let changed = app
            .patch("/api/v1/users/me", &access, json!({ "new_password": "another fine password", "current_password": PASSWORD }))
            .await;
        assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
        assert_problem(&app.login("mia@shop.example", PASSWORD).await, StatusCode::UNAUTHORIZED, "invalid_credentials");
        assert_eq!(app.login("mia@shop.example", "another fine password").await.status, StatusCode::OK);
        // Changing the password ends the other sessions, their access tokens at once; the
        // session it was made in goes on.
        assert_problem(&app.refresh(&elsewhere.cookie.clone().unwrap()).await, StatusCode::UNAUTHORIZED, "invalid_token");
        assert_problem(&app.get("/api/v1/users/me", &token(&elsewhere)).await, StatusCode::UNAUTHORIZED, "invalid_token");
        assert_eq!(app.get("/api/v1/users/me", &access).await.status, StatusCode::OK);
        assert_eq!(app.refresh(&cookie).await.status, StatusCode::OK);
        app.close().await;
    }

    async fn login_and_sign_up_are_rate_limited_per_client(db) {
        let app = spawn(&db, UsersConfig { rate_per_client: 3, ..config() }).await;
        for _ in 0..3 {
            assert_eq!(app.login("nobody@shop.example", "whatever it is").await.status, StatusCode::UNAUTHORIZED);
        }
        let limited = app.register("olga@shop.example").await;
        assert_problem(&limited, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
        let retry_after: u64 = limited.headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=60).contains(&retry_after));
        app.close().await;
    }

    async fn login_is_rate_limited_per_account(db) {
        // Sign-up takes one attempt of the account's budget, the two wrong logins the rest.
        let app = spawn(&db, UsersConfig { rate_per_account: 3, ..config() }).await;
        app.register("pat@shop.example").await;
        for _ in 0..2 {
            assert_eq!(app.login("pat@shop.example", "wrong password here").await.status, StatusCode::UNAUTHORIZED);
        }
        // Even the right password waits: guessing cannot go faster than the limit.
        assert_problem(&app.login("PAT@shop.example", PASSWORD).await, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
        app.register("quinn@shop.example").await;
        assert_eq!(app.login("quinn@shop.example", PASSWORD).await.status, StatusCode::OK);
        // Sign-up attempts for an email count against the same account budget.
        assert_problem(&app.register("pat@shop.example").await, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
        app.close().await;
    }

    async fn admin_user_search_takes_like_wildcards_literally(db) {
        let app = spawn(&db, config()).await;
        let (admin, _) = app.admin().await;
        for email in ["per_cent@shop.example", "perxcent@shop.example", "100%real@shop.example"] {
            assert_eq!(app.register(email).await.status, StatusCode::CREATED);
        }
        let emails = |page: &Reply| -> Vec<String> {
            let mut found: Vec<String> = page.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|user| user["email"].as_str().unwrap().to_owned())
                .collect();
            found.sort();
            found
        };
        for (q, expected) in [
            ("per_cent", vec!["per_cent@shop.example"]),
            ("_", vec!["per_cent@shop.example"]),
            ("%", vec!["100%real@shop.example"]),
            ("%%", vec![]),
        ] {
            let page = app.get(&format!("/api/v1/users?q={}", q.replace('%', "%25")), &admin).await;
            assert_eq!(page.status, StatusCode::OK, "{}", page.body);
            assert_eq!(emails(&page), expected, "q={q}");
        }
        // NUL bytes, which PostgreSQL cannot compare, are client errors, never 500.
        assert_problem(&app.get("/api/v1/users?q=%00", &admin).await, StatusCode::BAD_REQUEST, "invalid_parameter");
        let nul_id = app.patch("/api/v1/users/%00", &admin, json!({ "active": false })).await;
        assert_problem(&nul_id, StatusCode::NOT_FOUND, "not_found");
        app.close().await;
    }

    async fn a_strangers_wrong_guesses_do_not_lock_the_owner_out(db) {
        let app = spawn(&db, UsersConfig { rate_per_account: 3, trust_forwarded_for: true, ..config() }).await;
        app.register("rosa@shop.example").await;
        let login_from = |client: String, password: &'static str| {
            app.send(
                app.http
                    .post(app.server.url("/api/v1/auth/login"))
                    .header("x-forwarded-for", client)
                    .json(&json!({ "email": "rosa@shop.example", "password": password })),
            )
        };
        for _ in 0..3 {
            assert_eq!(login_from("203.0.113.9".into(), "wrong password here").await.status, StatusCode::UNAUTHORIZED);
        }
        assert_problem(&login_from("203.0.113.9".into(), PASSWORD).await, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
        // The owner, elsewhere, still logs in.
        assert_eq!(login_from("198.51.100.7".into(), PASSWORD).await.status, StatusCode::OK);
        // Guesses spread over many clients meet the account's ceiling: ten times the limit.
        let mut limited = false;
        for n in 0..40 {
            if login_from(format!("192.0.2.{n}"), "wrong password here").await.status == StatusCode::TOO_MANY_REQUESTS {
                limited = true;
                break;
            }
        }
        assert!(limited, "40 guesses from 40 clients were never limited");
        app.close().await;
    }

    async fn guessing_the_current_password_with_an_access_token_is_rate_limited(db) {
        let app = spawn(&db, UsersConfig { rate_per_account: 5, ..config() }).await;
        let access = token(&app.register("sam@shop.example").await);
        let guess = json!({ "new_password": "another fine password", "current_password": "a wrong guess" });
        for _ in 0..5 {
            let reply = app.patch("/api/v1/users/me", &access, guess.clone()).await;
            assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        }
        let limited = app.patch("/api/v1/users/me", &access, guess).await;
        assert_problem(&limited, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
        assert!(limited.headers.contains_key("retry-after"));
        // A name change checks no password and is not limited.
        let renamed = app.patch("/api/v1/users/me", &access, json!({ "display_name": "Sam" })).await;
        assert_eq!(renamed.status, StatusCode::OK);
        app.close().await;
    }

    async fn ended_sessions_refuse_their_access_tokens_here_and_in_every_listening_process(db) {
        let app = spawn(&db, config()).await;
        let (elsewhere, _stop) = listening_verifier(&app).await;
        let (root, _) = app.admin().await;

        // Logout: that session's access token is refused; another session's is not.
        let first = app.register("olga@shop.example").await;
        let second = app.login("olga@shop.example", PASSWORD).await;
        let (ended, kept) = (token(&first), token(&second));
        let logout = app
            .send(app.http.post(app.server.url("/api/v1/auth/logout")).header("cookie", format!("bookstore_refresh={}", first.cookie.clone().unwrap())))
            .await;
        assert_eq!(logout.status, StatusCode::NO_CONTENT);
        assert_problem(&app.get("/api/v1/users/me", &ended).await, StatusCode::UNAUTHORIZED, "invalid_token");
        assert_eq!(app.get("/api/v1/users/me", &kept).await.status, StatusCode::OK);
        eventually("the other process to refuse the logged-out token", WITHIN, async || elsewhere.verify(&ended).is_err()).await;
        assert!(elsewhere.verify(&kept).is_ok());

        // A demoted admin's token no longer carries admin rights anywhere.
        let promoted_id = second.body["user"]["id"].as_str().unwrap().to_owned();
        let promote = app.patch(&format!("/api/v1/users/{promoted_id}"), &root, json!({ "role": "admin" })).await;
        assert_eq!(promote.status, StatusCode::OK, "{}", promote.body);
        let as_admin = app.login("olga@shop.example", PASSWORD).await;
        let admin_token = token(&as_admin);
        assert_eq!(app.get("/api/v1/users", &admin_token).await.status, StatusCode::OK);
        assert_eq!(elsewhere.verify(&admin_token).unwrap().role, Role::Admin);
        let demote = app.patch(&format!("/api/v1/users/{promoted_id}"), &root, json!({ "role": "customer" })).await;
        assert_eq!(demote.status, StatusCode::OK, "{}", demote.body);
        assert_problem(&app.get("/api/v1/users", &admin_token).await, StatusCode::UNAUTHORIZED, "invalid_token");
        eventually("the other process to refuse the demoted admin's token", WITHIN, async || elsewhere.verify(&admin_token).is_err()).await;

        // A deactivated user's tokens, every session of them.
        let customer = app.register("pia@shop.example").await;
        let customer_id = customer.body["user"]["id"].as_str().unwrap().to_owned();
        let other_session = token(&app.login("pia@shop.example", PASSWORD).await);
        let off = app.patch(&format!("/api/v1/users/{customer_id}"), &root, json!({ "active": false })).await;
        assert_eq!(off.status, StatusCode::OK);
        for access in [token(&customer), other_session] {
            assert_problem(&app.get("/api/v1/users/me", &access).await, StatusCode::UNAUTHORIZED, "invalid_token");
            eventually("the other process to refuse a deactivated user's token", WITHIN, async || elsewhere.verify(&access).is_err()).await;
        }
        // The admin who did it is untouched.
        assert!(elsewhere.verify(&root).is_ok());
        app.close().await;
    }

    async fn a_process_that_was_not_listening_learns_the_ended_sessions_from_their_repetition(db) {
        let app = spawn(&db, config()).await;
        let reply = app.register("quinn@shop.example").await;
        let access = token(&reply);
        let logout = app
            .send(app.http.post(app.server.url("/api/v1/auth/logout")).header("cookie", format!("bookstore_refresh={}", reply.cookie.clone().unwrap())))
            .await;
        assert_eq!(logout.status, StatusCode::NO_CONTENT);
        // Started after the logout was announced: it heard nothing.
        let (late, _stop) = listening_verifier(&app).await;
        assert!(late.verify(&access).is_ok());
        let (stop_repeating, token) = platform::shutdown::shutdown_pair();
        tokio::spawn(app.state.endings().repeat(app.db.clone(), Duration::from_millis(100), token));
        eventually("the repetition to reach the late process", WITHIN, async || late.verify(&access).is_err()).await;
        stop_repeating.trigger();
        app.close().await;
    }
}
