//! Database outages as a client sees them, on PostgreSQL and MariaDB behind a fault proxy:
//! requests during the outage are answered `503 unavailable` with `Retry-After` and readiness
//! fails; once the database is back, no request is given a connection that died in the outage.

// Helpers of a test binary may unwrap too: a panic is how a test reports a failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use axum::extract::State;
use axum::routing::get;
use platform::error::ApiError;
use platform::testing::{Backend, FaultMode, FaultProxy, TestDatabase, TestServer, run_on};
use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};

/// Connections the pool under test may open.
const POOL: u32 = 4;

/// How long the database stays cut off, unseen, in the test of connections that died idle: the
/// length of the outage is what is under test. It is longer than the pool's 1 s idle time
/// before a connection is checked (`IDLE_BEFORE_CHECK` in `platform::db`), the outage a
/// pool with no failed statement to go by must still see through.
const UNSEEN_CUT: Duration = Duration::from_millis(1500);

/// Runs one statement; `?hold` keeps its connection busy for a moment, so that concurrent
/// requests open every connection of the pool.
async fn query(
    State(db): State<DatabaseConnection>,
    axum::extract::RawQuery(hold): axum::extract::RawQuery,
) -> Result<&'static str, ApiError> {
    let backend = db.get_database_backend();
    let sql = match (hold.is_some(), backend) {
        (false, _) => "SELECT 1",
        (true, sea_orm::DbBackend::Postgres) => "SELECT pg_sleep(0.2)::text",
        (true, _) => "SELECT SLEEP(0.2)",
    };
    db.execute_raw(Statement::from_string(backend, sql)).await?;
    Ok("ok")
}

/// An answer: status, `Retry-After` and body.
struct Answer {
    status: StatusCode,
    retry_after: Option<String>,
    text: String,
}

/// The shop's pool for `db`, reached through a fault proxy, behind the shared HTTP stack.
struct Setup {
    proxy: FaultProxy,
    server: TestServer,
    http: reqwest::Client,
}

impl Setup {
    async fn start(db: &TestDatabase) -> Self {
        let mut url = url::Url::parse(&db.url).unwrap();
        let target = format!(
            "{}:{}",
            url.host_str().unwrap(),
            url.port_or_known_default().unwrap()
        );
        let proxy = FaultProxy::start(target.parse().unwrap()).await;
        url.set_port(Some(proxy.addr.port())).unwrap();
        let pool = platform::db::connect(url.as_str(), POOL).await.unwrap();
        let routes = axum::Router::new()
            .route("/query", get(query))
            .with_state(pool.clone());
        let server = TestServer::start(routes, vec![pool]).await;
        Self {
            proxy,
            server,
            http: reqwest::Client::new(),
        }
    }

    async fn get(&self, path: &str) -> Answer {
        let response = self.http.get(self.server.url(path)).send().await.unwrap();
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .map(|value| value.to_str().unwrap().to_owned());
        let text = response.text().await.unwrap();
        Answer {
            status,
            retry_after,
            text,
        }
    }

    /// Opens every connection of the pool, then lets them go idle.
    async fn fill_the_pool(&self) {
        let requests = (0..POOL).map(|_| self.get("/query?hold"));
        for reply in futures::future::join_all(requests).await {
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        }
    }

    /// Many requests, one after the other and several at once: every one must succeed.
    async fn all_succeed(&self, what: &str) {
        for round in 0..3 {
            let requests = (0..2 * POOL).map(|_| self.get("/query"));
            for reply in futures::future::join_all(requests).await {
                assert_eq!(
                    reply.status,
                    StatusCode::OK,
                    "{what}, round {round}: {}",
                    reply.text
                );
            }
            assert_eq!(self.get("/query").await.status, StatusCode::OK, "{what}");
        }
    }

    async fn wait_readiness(&self, expected: StatusCode) {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let reply = self.get("/readyz").await;
            if reply.status == expected {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "readiness stayed {}, expected {expected}: {}",
                reply.status,
                reply.text
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

async fn requests_during_an_outage_are_503_and_none_fails_after_it(backend: Backend) {
    run_on(backend, |db| async move {
        let setup = Setup::start(&db).await;
        setup.fill_the_pool().await;
        setup.proxy.set(FaultMode::Down);
        for _ in 0..(2 * POOL) {
            let reply = setup.get("/query").await;
            assert_eq!(
                reply.status,
                StatusCode::SERVICE_UNAVAILABLE,
                "{}",
                reply.text
            );
            let problem: serde_json::Value = serde_json::from_str(&reply.text).unwrap();
            assert_eq!(problem["code"], "unavailable", "{problem}");
            assert_eq!(reply.retry_after.as_deref(), Some("2"));
        }
        setup.wait_readiness(StatusCode::SERVICE_UNAVAILABLE).await;
        setup.proxy.set(FaultMode::Forward);
        setup.all_succeed("right after the outage").await;
        setup.wait_readiness(StatusCode::OK).await;
    })
    .await;
}

async fn connections_that_died_while_idle_are_never_handed_out(backend: Backend) {
    run_on(backend, |db| async move {
        let setup = Setup::start(&db).await;
        setup.fill_the_pool().await;
        // Nothing runs during this cut: the pool does not know its connections died.
        setup.proxy.set(FaultMode::Down);
        tokio::time::sleep(UNSEEN_CUT).await;
        setup.proxy.set(FaultMode::Forward);
        setup.all_succeed("after a cut nobody saw").await;
    })
    .await;
}

mod postgres {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn requests_during_an_outage_are_503_and_none_fails_after_it() {
        super::requests_during_an_outage_are_503_and_none_fails_after_it(Backend::Postgres).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn connections_that_died_while_idle_are_never_handed_out() {
        super::connections_that_died_while_idle_are_never_handed_out(Backend::Postgres).await;
    }
}

mod mysql {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn requests_during_an_outage_are_503_and_none_fails_after_it() {
        super::requests_during_an_outage_are_503_and_none_fails_after_it(Backend::Mysql).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn connections_that_died_while_idle_are_never_handed_out() {
        super::connections_that_died_while_idle_are_never_handed_out(Backend::Mysql).await;
    }
}
