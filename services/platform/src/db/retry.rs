//! Retrying a database operation that lost a race: the one place that decides which database
//! errors are transient and how often an operation is tried again.

use std::time::Duration;

use sea_orm::{DbErr, RuntimeErr};

use crate::ApiError;

/// Attempts of an operation that lost a deadlock or found the database busy.
pub const ATTEMPTS: u32 = 5;

/// Why one attempt of an operation run by [`retrying`] stopped.
#[derive(Debug)]
pub enum Failure {
    /// The answer for the client (including internal errors).
    Api(ApiError),
    /// A database error; retried when it is transient (deadlock, lock timeout, busy).
    Db(DbErr),
    /// A concurrent change won a race; the next attempt sees its result.
    Retry(DbErr),
}

impl From<DbErr> for Failure {
    fn from(err: DbErr) -> Self {
        Self::Db(err)
    }
}

impl From<ApiError> for Failure {
    fn from(err: ApiError) -> Self {
        Self::Api(err)
    }
}

/// Runs `attempt` until it succeeds, fails for good, or has lost [`ATTEMPTS`] races.
///
/// Each attempt should be a whole transaction, begun and committed (or dropped) inside it. An
/// attempt that fails with [`Failure::Api`] is answered as it is; one that fails with
/// [`Failure::Db`] is tried again when the error [`is_transient`], and otherwise answered as an
/// internal error (`503` when the database cannot be reached, see [`ApiError::internal`]); one
/// that fails with [`Failure::Retry`] is always tried again. After the last attempt, its error
/// is answered as an internal error.
pub async fn retrying<T, F, Fut>(attempt: F) -> Result<T, ApiError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Failure>>,
{
    let worth_another = |failure: &Failure| match failure {
        Failure::Api(_) => false,
        Failure::Db(err) => is_transient(err),
        Failure::Retry(_) => true,
    };
    retry_while(attempt, worth_another)
        .await
        .map_err(|failure| match failure {
            Failure::Api(err) => err,
            Failure::Db(err) | Failure::Retry(err) => ApiError::internal(err),
        })
}

/// Runs `attempt`, a whole transaction, again while it fails with a transient database error
/// ([`is_transient`]), at most [`ATTEMPTS`] times in all. Any other error, or the last attempt's,
/// is returned as it is, for the caller to tell a unique violation from the rest.
pub async fn retrying_transient<T, F, Fut>(attempt: F) -> Result<T, DbErr>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, DbErr>>,
{
    retry_while(attempt, is_transient).await
}

/// The loop of both: attempts spaced by 10 ms more each round, at most [`ATTEMPTS`].
async fn retry_while<T, E, F, Fut>(
    mut attempt: F,
    worth_another: impl Fn(&E) -> bool,
) -> Result<T, E>
where
    E: std::fmt::Debug,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut round = 1;
    loop {
        match attempt().await {
            Ok(value) => return Ok(value),
            Err(err) if round >= ATTEMPTS || !worth_another(&err) => return Err(err),
            Err(err) => {
                tracing::debug!(error = ?err, round, "Lost a race with a concurrent change; trying again.");
            }
        }
        tokio::time::sleep(Duration::from_millis(10 * u64::from(round))).await;
        round += 1;
    }
}

/// Whether a database error is worth another attempt: a deadlock victim or a serialisation
/// failure (SQLSTATE 40001, 40P01), a MariaDB lock wait timeout, or a busy SQLite database.
pub fn is_transient(err: &DbErr) -> bool {
    use sea_orm::sqlx;
    let (DbErr::Exec(RuntimeErr::SqlxError(err))
    | DbErr::Query(RuntimeErr::SqlxError(err))
    | DbErr::Conn(RuntimeErr::SqlxError(err))) = err
    else {
        return false;
    };
    let sqlx::Error::Database(err) = err.as_ref() else {
        return false;
    };
    if let Some(mysql) = err.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() {
        return matches!(mysql.number(), 1205 | 1213);
    }
    let code = err.code();
    if err
        .try_downcast_ref::<sqlx::sqlite::SqliteError>()
        .is_some()
    {
        // Extended result codes: the low byte is the primary code (5 BUSY, 6 LOCKED).
        return code
            .and_then(|code| code.parse::<i32>().ok())
            .is_some_and(|code| matches!(code & 0xff, 5 | 6));
    }
    matches!(code.as_deref(), Some("40001" | "40P01"))
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;
    use std::error::Error as StdError;
    use std::sync::Arc;

    use sea_orm::sqlx;
    use sea_orm::{
        ConnectionTrait, DatabaseConnection, DatabaseTransaction, IsolationLevel, TransactionTrait,
    };

    use super::*;
    use crate::ErrorCode;
    use crate::testing::{Backend, TestDatabase};

    /// A database error with nothing but a code: what the driver of a server database that is
    /// neither MySQL nor SQLite (PostgreSQL) reports, as far as [`is_transient`] looks.
    #[derive(Debug)]
    struct Coded(&'static str);

    impl std::fmt::Display for Coded {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "error {}", self.0)
        }
    }

    impl StdError for Coded {}

    impl sqlx::error::DatabaseError for Coded {
        fn message(&self) -> &str {
            "a database error"
        }

        fn code(&self) -> Option<Cow<'_, str>> {
            Some(Cow::Borrowed(self.0))
        }

        fn as_error(&self) -> &(dyn StdError + Send + Sync + 'static) {
            self
        }

        fn as_error_mut(&mut self) -> &mut (dyn StdError + Send + Sync + 'static) {
            self
        }

        fn into_error(self: Box<Self>) -> Box<dyn StdError + Send + Sync + 'static> {
            self
        }

        fn kind(&self) -> sqlx::error::ErrorKind {
            sqlx::error::ErrorKind::Other
        }
    }

    fn coded(code: &'static str) -> sqlx::Error {
        sqlx::Error::Database(Box::new(Coded(code)))
    }

    fn exec(err: sqlx::Error) -> DbErr {
        DbErr::Exec(RuntimeErr::SqlxError(Arc::new(err)))
    }

    #[test]
    fn deadlocks_and_serialisation_failures_are_transient_in_every_kind_of_error() {
        for code in ["40001", "40P01"] {
            let shapes = [
                exec(coded(code)),
                DbErr::Query(RuntimeErr::SqlxError(Arc::new(coded(code)))),
                DbErr::Conn(RuntimeErr::SqlxError(Arc::new(coded(code)))),
            ];
            for err in shapes {
                assert!(is_transient(&err), "{err}");
            }
        }
    }

    #[test]
    fn other_errors_are_not_transient() {
        let errors = [
            // A unique violation, a lost connection, no code at all.
            exec(coded("23505")),
            exec(coded("08006")),
            exec(sqlx::Error::RowNotFound),
            exec(sqlx::Error::PoolTimedOut),
            // MySQL's and SQLite's numbers mean nothing coming from another database.
            exec(coded("1213")),
            exec(coded("5")),
            DbErr::Custom("the reservation changed while releasing it".into()),
            DbErr::RecordNotFound("order".into()),
            DbErr::Exec(RuntimeErr::Internal("no driver error".into())),
        ];
        for err in errors {
            assert!(!is_transient(&err), "{err}");
        }
    }

    /// Runs `retrying` with attempts that fail with `failure()` until `failures` have failed,
    /// then succeed; its answer, and how many attempts it made.
    async fn run(failures: u32, failure: impl Fn() -> Failure) -> (Result<u32, ApiError>, u32) {
        let mut calls = 0;
        let answer = retrying(|| {
            calls += 1;
            let outcome = if calls > failures {
                Ok(calls)
            } else {
                Err(failure())
            };
            async move { outcome }
        })
        .await;
        (answer, calls)
    }

    #[tokio::test]
    async fn transient_errors_and_lost_races_are_tried_again() {
        let (answer, calls) = run(2, || Failure::Db(exec(coded("40P01")))).await;
        assert_eq!((answer.unwrap(), calls), (3, 3));
        let retry = || Failure::Retry(DbErr::Custom("lost a race".into()));
        let (answer, calls) = run(ATTEMPTS - 1, retry).await;
        assert_eq!((answer.unwrap(), calls), (ATTEMPTS, ATTEMPTS));
    }

    #[tokio::test]
    async fn retries_stop_after_the_budget() {
        let (answer, calls) = run(u32::MAX, || Failure::Db(exec(coded("40001")))).await;
        assert_eq!(answer.unwrap_err().code, ErrorCode::Internal);
        assert_eq!(calls, ATTEMPTS);
        let retry = || Failure::Retry(DbErr::Custom("lost a race".into()));
        let (answer, calls) = run(u32::MAX, retry).await;
        assert_eq!(answer.unwrap_err().code, ErrorCode::Internal);
        assert_eq!(calls, ATTEMPTS);
    }

    #[tokio::test]
    async fn other_failures_are_answered_at_once() {
        let (answer, calls) = run(u32::MAX, || Failure::Db(exec(coded("23505")))).await;
        assert_eq!((answer.unwrap_err().code, calls), (ErrorCode::Internal, 1));
        // A database that cannot be reached is not a lost race: 503 at once.
        let (answer, calls) = run(u32::MAX, || {
            Failure::Db(DbErr::Conn(RuntimeErr::SqlxError(Arc::new(
                sqlx::Error::PoolTimedOut,
            ))))
        })
        .await;
        assert_eq!(
            (answer.unwrap_err().code, calls),
            (ErrorCode::Unavailable, 1)
        );
        let (answer, calls) = run(u32::MAX, || {
            Failure::Api(ApiError::conflict(ErrorCode::Conflict, "no"))
        })
        .await;
        assert_eq!((answer.unwrap_err().code, calls), (ErrorCode::Conflict, 1));
    }

    #[tokio::test]
    async fn a_transaction_is_run_again_only_while_it_fails_transiently() {
        let mut calls = 0;
        let answer = retrying_transient(|| {
            calls += 1;
            let outcome = if calls < 3 {
                Err(exec(coded("40P01")))
            } else {
                Ok(calls)
            };
            async move { outcome }
        })
        .await;
        assert_eq!((answer.unwrap(), calls), (3, 3));
        // A unique violation comes back as it is, at once, for the caller to recognise.
        let mut calls = 0;
        let answer: Result<(), DbErr> = retrying_transient(|| {
            calls += 1;
            async { Err(exec(coded("23505"))) }
        })
        .await;
        assert!(answer.unwrap_err().to_string().contains("23505"));
        assert_eq!(calls, 1);
        let mut calls = 0;
        let answer: Result<(), DbErr> = retrying_transient(|| {
            calls += 1;
            async { Err(exec(coded("40001"))) }
        })
        .await;
        assert!(is_transient(&answer.unwrap_err()));
        assert_eq!(calls, ATTEMPTS);
    }

    /// A table of two rows for the tests below to fight over.
    async fn two_rows(db: &DatabaseConnection) {
        db.execute_unprepared("CREATE TABLE pair (id INT PRIMARY KEY, n INT NOT NULL)")
            .await
            .unwrap();
        db.execute_unprepared("INSERT INTO pair (id, n) VALUES (1, 0), (2, 0)")
            .await
            .unwrap();
    }

    /// Adds 1 to row `id` inside `txn`.
    async fn bump_in(txn: &DatabaseTransaction, id: i32) {
        txn.execute_unprepared(&format!("UPDATE pair SET n = n + 1 WHERE id = {id}"))
            .await
            .unwrap();
    }

    /// Adds 1 to row `id` and commits; rolls back when that fails (giving up its locks).
    async fn bump(txn: DatabaseTransaction, id: i32) -> Result<(), DbErr> {
        let sql = format!("UPDATE pair SET n = n + 1 WHERE id = {id}");
        match txn.execute_unprepared(&sql).await {
            Ok(_) => txn.commit().await,
            Err(err) => {
                txn.rollback().await.ok();
                Err(err)
            }
        }
    }

    /// Two transactions that each hold the row the other one wants: the database gives up one
    /// of them, whose error this is.
    async fn deadlock(db: &DatabaseConnection) -> DbErr {
        let (first, second) = (db.begin().await.unwrap(), db.begin().await.unwrap());
        bump_in(&first, 1).await;
        bump_in(&second, 2).await;
        let (first, second) = tokio::join!(bump(first, 2), async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            bump(second, 1).await
        });
        match (first, second) {
            (Err(err), Ok(())) | (Ok(()), Err(err)) => err,
            other => panic!("one transaction and one only must fail: {other:?}"),
        }
    }

    /// The same row inserted twice: a fault in the data, never worth another attempt.
    async fn unique_violation(db: &DatabaseConnection) -> DbErr {
        db.execute_unprepared("INSERT INTO pair (id, n) VALUES (1, 0)")
            .await
            .unwrap_err()
    }

    /// Real errors of each server database: deadlocks, PostgreSQL's serialisation failure and
    /// MariaDB's lock wait timeout are transient; a unique violation is not.
    #[tokio::test]
    async fn server_databases_errors_are_classified() {
        for backend in [Backend::Postgres, Backend::Mysql] {
            // `None`: the server is missing and the test was told to skip it (said on stderr).
            let Some(test_db) = TestDatabase::create(backend).await else {
                continue;
            };
            let db = test_db.connect().await.unwrap();
            two_rows(&db).await;
            let err = deadlock(&db).await;
            assert!(is_transient(&err), "{backend:?}: {err}");
            match backend {
                Backend::Postgres => {
                    // A snapshot taken before another transaction changed the row it updates.
                    let stale = db
                        .begin_with_config(Some(IsolationLevel::RepeatableRead), None)
                        .await
                        .unwrap();
                    stale
                        .execute_unprepared("SELECT n FROM pair WHERE id = 1")
                        .await
                        .unwrap();
                    bump(db.begin().await.unwrap(), 1).await.unwrap();
                    let err = bump(stale, 1).await.unwrap_err();
                    assert!(is_transient(&err), "{backend:?}: {err}");
                }
                _ => {
                    let (holder, waiter) = (db.begin().await.unwrap(), db.begin().await.unwrap());
                    bump_in(&holder, 1).await;
                    waiter
                        .execute_unprepared("SET innodb_lock_wait_timeout = 1")
                        .await
                        .unwrap();
                    let err = bump(waiter, 1).await.unwrap_err();
                    assert!(is_transient(&err), "{backend:?}: {err}");
                    holder.rollback().await.unwrap();
                }
            }
            let err = unique_violation(&db).await;
            assert!(!is_transient(&err), "{backend:?}: {err}");
            db.close().await.unwrap();
            test_db.drop_database().await;
        }
    }

    /// SQLite's "database is locked" (SQLITE_BUSY) is transient; a unique violation is not.
    #[tokio::test]
    async fn sqlite_errors_are_classified() {
        use sqlx::{ConnectOptions, Connection, Executor};
        let test_db = TestDatabase::create(Backend::Sqlite).await.unwrap();
        let db = test_db.connect().await.unwrap();
        two_rows(&db).await;
        let err = unique_violation(&db).await;
        assert!(!is_transient(&err), "{err}");
        // Two connections that do not wait for the lock: the second writer is refused at once.
        let options: sqlx::sqlite::SqliteConnectOptions = test_db.url.parse().unwrap();
        let options = options.busy_timeout(Duration::ZERO);
        let mut writer = options.connect().await.unwrap();
        let mut other = options.connect().await.unwrap();
        writer.execute("BEGIN IMMEDIATE").await.unwrap();
        let err = exec(other.execute("BEGIN IMMEDIATE").await.unwrap_err());
        assert!(is_transient(&err), "{err}");
        writer.execute("ROLLBACK").await.unwrap();
        writer.close().await.unwrap();
        other.close().await.unwrap();
        db.close().await.unwrap();
        test_db.drop_database().await;
    }
}
