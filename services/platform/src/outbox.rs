//! The transactional outbox: events are written in the same database transaction as the change
//! they describe, and a relay publishes them afterwards with publisher confirms. An event is
//! marked sent only once the bus has it, so a broker outage delays events but never loses them;
//! several relay replicas share the work through `FOR UPDATE SKIP LOCKED`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use prometheus::{GaugeVec, IntCounterVec, IntGaugeVec, Opts};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, LockBehavior, LockType, Order, Query};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, IsolationLevel,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
};
use tokio::sync::Notify;

use crate::messaging::{Bus, Envelope};
use crate::metrics::Metrics;
use crate::shutdown::ShutdownToken;

/// Events published per relay transaction.
const BATCH: u64 = 100;
/// How often the relay looks for events nobody told it about (written by another replica, or
/// left by a failed attempt).
const POLL: Duration = Duration::from_millis(250);
/// How often, at most, the backlog metrics are refreshed.
const BACKLOG_SAMPLE: Duration = Duration::from_secs(1);

/// The outbox table of one service (each service owns its own: `orders_outbox`, ...).
#[derive(Clone)]
pub struct Outbox {
    table: &'static str,
    /// Woken after a commit that added events, so the relay publishes without waiting to poll.
    written: Arc<Notify>,
}

/// Columns of every outbox table (see the migrations).
mod col {
    pub const ID: &str = "id";
    pub const KIND: &str = "kind";
    pub const SCHEMA_VERSION: &str = "schema_version";
    pub const PAYLOAD: &str = "payload";
    pub const TRACEPARENT: &str = "traceparent";
    pub const OCCURRED_AT: &str = "occurred_at";
    pub const PUBLISHED_AT: &str = "published_at";
    /// What an event is made of, in the order written and read.
    pub const EVENT: [&str; 6] = [ID, KIND, SCHEMA_VERSION, PAYLOAD, TRACEPARENT, OCCURRED_AT];
}

fn c(name: &str) -> Alias {
    Alias::new(name)
}

impl Outbox {
    pub fn new(table: &'static str) -> Self {
        Self {
            table,
            written: Arc::new(Notify::new()),
        }
    }

    /// Adds an event inside the caller's transaction. Call [`Outbox::wake`] after the commit.
    pub async fn add(&self, txn: &impl ConnectionTrait, envelope: &Envelope) -> Result<(), DbErr> {
        self.add_all(txn, &[envelope]).await
    }

    /// Adds events inside the caller's transaction, in one statement, in the order given. Call
    /// [`Outbox::wake`] after the commit.
    pub async fn add_all(
        &self,
        txn: &impl ConnectionTrait,
        envelopes: &[&Envelope],
    ) -> Result<(), DbErr> {
        if envelopes.is_empty() {
            return Ok(());
        }
        let mut insert = Query::insert();
        insert.into_table(c(self.table)).columns(col::EVENT.map(c));
        for envelope in envelopes {
            let payload = String::from_utf8(envelope.payload.clone())
                .map_err(|err| DbErr::Custom(format!("event payload is not UTF-8: {err}")))?;
            insert.values_panic([
                envelope.id.clone().into(),
                envelope.kind.clone().into(),
                i64::from(envelope.schema_version).into(),
                payload.into(),
                envelope.traceparent.clone().into(),
                envelope.occurred_at.into(),
            ]);
        }
        txn.execute(&insert).await?;
        Ok(())
    }

    /// Tells the relay of this process that events were committed.
    pub fn wake(&self) {
        self.written.notify_one();
    }

    /// Publishes one batch of unsent events, oldest first; returns how many were sent. Stops at
    /// the first failure (the rest stay for the next round, in order).
    pub async fn relay_once(
        &self,
        db: &DatabaseConnection,
        bus: &dyn Bus,
    ) -> Result<usize, RelayError> {
        let txn = begin_round(db).await?;
        let mut select = Query::select();
        select
            .columns(col::EVENT.map(c))
            .from(c(self.table))
            .and_where(Expr::col(c(col::PUBLISHED_AT)).is_null())
            .order_by(c(col::OCCURRED_AT), Order::Asc)
            .order_by(c(col::ID), Order::Asc)
            .limit(BATCH)
            .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
        let rows = txn.query_all(&select).await?;
        let envelopes = rows
            .iter()
            .map(|row| {
                Ok(Envelope {
                    id: row.try_get("", col::ID)?,
                    kind: row.try_get("", col::KIND)?,
                    schema_version: u32::try_from(row.try_get::<i64>("", col::SCHEMA_VERSION)?)
                        .unwrap_or(1),
                    occurred_at: row.try_get::<DateTime<Utc>>("", col::OCCURRED_AT)?,
                    traceparent: row.try_get("", col::TRACEPARENT)?,
                    payload: row.try_get::<String>("", col::PAYLOAD)?.into_bytes(),
                })
            })
            .collect::<Result<Vec<_>, DbErr>>()?;
        // Only the events the bus took, from the oldest on, are marked; the rest stay in order.
        let (sent, failure): (Vec<String>, Option<_>) = match bus.publish_all(&envelopes).await {
            Ok(taken) => (
                envelopes.iter().take(taken).map(|e| e.id.clone()).collect(),
                None,
            ),
            Err(err) => (Vec::new(), Some(err)),
        };
        if !sent.is_empty() {
            let update = Query::update()
                .table(c(self.table))
                .value(c(col::PUBLISHED_AT), Utc::now())
                .and_where(Expr::col(c(col::ID)).is_in(sent.clone()))
                .to_owned();
            txn.execute(&update).await?;
        }
        txn.commit().await?;
        match failure {
            Some(err) => Err(RelayError::Bus(err)),
            None => Ok(sent.len()),
        }
    }

    /// Unsent events and the age of the oldest, for metrics and readiness.
    pub async fn backlog(&self, db: &DatabaseConnection) -> Result<(u64, Duration), DbErr> {
        let select = Query::select()
            .expr_as(Expr::col(c(col::ID)).count(), c("n"))
            .expr_as(Expr::col(c(col::OCCURRED_AT)).min(), c("oldest"))
            .from(c(self.table))
            .and_where(Expr::col(c(col::PUBLISHED_AT)).is_null())
            .to_owned();
        let Some(row) = db.query_one(&select).await? else {
            return Ok((0, Duration::ZERO));
        };
        let count: i64 = row.try_get("", "n")?;
        let oldest: Option<DateTime<Utc>> = row.try_get("", "oldest")?;
        let age = oldest
            .map(|t| (Utc::now() - t).to_std().unwrap_or_default())
            .unwrap_or_default();
        Ok((u64::try_from(count).unwrap_or_default(), age))
    }

    /// Publishes committed events until shutdown: after every wake-up, and at least every poll
    /// interval. While the bus is down it backs off and tries again; nothing is dropped.
    pub async fn run_relay(
        self,
        db: DatabaseConnection,
        bus: Arc<dyn Bus>,
        metrics: OutboxMetrics,
        mut shutdown: ShutdownToken,
    ) {
        let mut backoff = Duration::from_millis(100);
        let mut backlog_sampled: Option<Instant> = None;
        loop {
            let round = self.relay_once(&db, bus.as_ref()).await;
            if let Ok(sent) = round {
                backoff = Duration::from_millis(100);
                metrics
                    .published
                    .with_label_values(&[self.table])
                    .inc_by(sent as u64);
            }
            // A full batch: more may be waiting.
            let full_batch = matches!(round, Ok(sent) if sent == BATCH as usize);
            // The backlog is a query of its own: recorded after every failed round (those back
            // off anyway) and at most once a second while the relay keeps up.
            let due = backlog_sampled.is_none_or(|at| at.elapsed() >= BACKLOG_SAMPLE);
            if round.is_err() || (!full_batch && due) {
                self.record_backlog(&db, &metrics).await;
                backlog_sampled = Some(Instant::now());
            }
            match round {
                Ok(_) if full_batch => {
                    if shutdown.is_cancelled() {
                        return;
                    }
                }
                // Caught up. Events committed during the round have already woken the relay
                // (the wake-up is kept), so it goes on at once for them and otherwise waits,
                // rather than running an empty round after every batch.
                Ok(_) => {
                    tokio::select! {
                        () = shutdown.cancelled() => return,
                        () = self.written.notified() => {}
                        () = tokio::time::sleep(POLL) => {}
                    }
                }
                Err(err) => {
                    metrics.failures.with_label_values(&[self.table]).inc();
                    tracing::warn!(outbox = self.table, error = %err, retry_in_ms = backoff.as_millis() as u64, "Outbox relay could not publish; will retry.");
                    tokio::select! {
                        () = shutdown.cancelled() => return,
                        () = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
    }

    async fn record_backlog(&self, db: &DatabaseConnection, metrics: &OutboxMetrics) {
        if let Ok((count, age)) = self.backlog(db).await {
            metrics
                .backlog
                .with_label_values(&[self.table])
                .set(i64::try_from(count).unwrap_or(i64::MAX));
            metrics
                .oldest_age
                .with_label_values(&[self.table])
                .set(age.as_secs_f64());
        }
    }
}

/// Starts a relay round's transaction. It reads committed data, so that SKIP LOCKED locks only
/// the rows it returns (MySQL's default repeatable read adds gap locks that deadlock competing
/// relays); SQLite has no row locks, so a round takes the write lock up front and relays take
/// turns.
async fn begin_round(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    match db.get_database_backend() {
        DbBackend::Postgres => {
            let txn = db.begin().await?;
            // Both settings in one round trip. Marking events sent need not wait for the disk:
            // if a crash loses the mark, the events are published again, which consumers
            // already tolerate (at-least-once). The round, and so the next events' wait, is
            // one disk flush shorter.
            txn.execute_unprepared(
                "SET TRANSACTION ISOLATION LEVEL READ COMMITTED; \
                 SET LOCAL synchronous_commit = off",
            )
            .await?;
            Ok(txn)
        }
        DbBackend::Sqlite => {
            db.begin_with_options(TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..Default::default()
            })
            .await
        }
        _ => {
            db.begin_with_options(TransactionOptions {
                isolation_level: Some(IsolationLevel::ReadCommitted),
                ..Default::default()
            })
            .await
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("database: {0}")]
    Database(#[from] DbErr),
    #[error("bus: {0}")]
    Bus(#[from] crate::messaging::BusError),
}

/// Outbox metrics, labelled by outbox table.
#[derive(Clone)]
pub struct OutboxMetrics {
    backlog: IntGaugeVec,
    oldest_age: GaugeVec,
    published: IntCounterVec,
    failures: IntCounterVec,
}

impl OutboxMetrics {
    pub fn new(metrics: &Metrics) -> Self {
        let gauge = |name: &str, help: &str| {
            crate::metrics::defined(IntGaugeVec::new(Opts::new(name, help), &["outbox"]))
        };
        let counter = |name: &str, help: &str| {
            crate::metrics::defined(IntCounterVec::new(Opts::new(name, help), &["outbox"]))
        };
        let this = Self {
            backlog: gauge(
                "outbox_backlog_events",
                "Events written but not yet published.",
            ),
            oldest_age: crate::metrics::defined(GaugeVec::new(
                Opts::new(
                    "outbox_oldest_event_age_seconds",
                    "Age of the oldest unpublished event.",
                ),
                &["outbox"],
            )),
            published: counter("outbox_published_total", "Events published by the relay."),
            failures: counter(
                "outbox_publish_failures_total",
                "Relay rounds that could not publish.",
            ),
        };
        metrics.register(Box::new(this.backlog.clone()));
        metrics.register(Box::new(this.oldest_age.clone()));
        metrics.register(Box::new(this.published.clone()));
        metrics.register(Box::new(this.failures.clone()));
        this
    }
}
