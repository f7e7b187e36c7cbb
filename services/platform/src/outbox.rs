//! The transactional outbox: events are written in the same database transaction as the change
//! they describe, and a relay publishes them afterwards with publisher confirms. An event is
//! marked sent only once the bus has it, so a broker outage delays events but never loses them.
//! The process that committed the events hands them to its relay, which publishes them at once
//! without reading them back; a poll of the table publishes whatever was not handed over or not
//! published (another process wrote it, this one stopped, the bus was down), and several relay
//! replicas share that work through `FOR UPDATE SKIP LOCKED`. Published events stay in the table
//! for a retention period, for inspection, and the relay then deletes them.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use prometheus::{GaugeVec, IntCounterVec, IntGaugeVec, Opts};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, LockBehavior, LockType, Order, Query};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, IsolationLevel,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
};
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinSet;

use crate::messaging::{Bus, Envelope};
use crate::metrics::Metrics;
use crate::shutdown::ShutdownToken;

/// Events published per relay transaction, and at most per publication of handed-over events.
const BATCH: u64 = 100;
/// How often the relay polls the table for events nobody handed it (written by another
/// process, or left by a failed attempt).
const POLL: Duration = Duration::from_millis(250);
/// How old an unsent event must be before the poll takes it: younger ones are normally being
/// published by the relay they were handed to. An event published by both is delivered twice,
/// which every consumer tolerates (at-least-once), but is not the normal path.
const POLL_GRACE: Duration = Duration::from_secs(2);
/// Handed-over batches waiting for their confirms at once. Events handed over meanwhile gather
/// into the next batch. More than one made smaller batches, cost the broker more and made the
/// pipeline slower under load (docs/benchmarks.md).
const IN_FLIGHT: usize = 1;
/// Handed-over events waiting for the relay, at most. Beyond it (the relay cannot keep up, or
/// the process runs none) events are left to the poll: they are in the table already.
const HANDED_OVER_MAX: usize = 10_000;
/// Events marked sent per statement, at most.
const MARK_BATCH: usize = 500;
/// How long the marker gathers confirmed events before marking them: a poll interval, so that
/// at a few orders a second one statement marks a poll's worth of events rather than each one
/// (it stays well inside `POLL_GRACE`, so the poll does not publish them again meanwhile).
const MARK_GATHER: Duration = POLL;
/// How often, at most, the backlog metrics are refreshed.
const BACKLOG_SAMPLE: Duration = Duration::from_secs(1);
/// How often the relay deletes the events published longer ago than the retention period.
const PRUNE_EVERY: Duration = Duration::from_secs(60);
/// Published events deleted per statement, at most, so that deleting a long history never
/// locks many rows at once.
const PRUNE_BATCH: u64 = 1_000;

/// The outbox table of one service (each service owns its own: `orders_outbox`, ...).
#[derive(Clone)]
pub struct Outbox {
    table: &'static str,
    /// Events committed by this process, for its relay to publish at once.
    handed_over: Arc<HandedOver>,
}

#[derive(Default)]
struct HandedOver {
    events: Mutex<Vec<Envelope>>,
    added: Notify,
}

impl HandedOver {
    fn push(&self, envelopes: Vec<Envelope>) {
        let mut events = self.events.lock().unwrap_or_else(PoisonError::into_inner);
        let room = HANDED_OVER_MAX.saturating_sub(events.len());
        events.extend(envelopes.into_iter().take(room));
        drop(events);
        self.added.notify_one();
    }

    /// The oldest `BATCH` events handed over; wakes the relay again when more are left.
    fn take(&self) -> Vec<Envelope> {
        let mut events = self.events.lock().unwrap_or_else(PoisonError::into_inner);
        let cut = events.len().min(BATCH as usize);
        let rest = events.split_off(cut);
        let batch = std::mem::replace(&mut *events, rest);
        if !events.is_empty() {
            self.added.notify_one();
        }
        batch
    }
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
            handed_over: Arc::default(),
        }
    }

    /// Adds an event inside the caller's transaction. Hand it to [`Outbox::committed`] after
    /// the commit.
    pub async fn add(&self, txn: &impl ConnectionTrait, envelope: &Envelope) -> Result<(), DbErr> {
        self.add_all(txn, std::slice::from_ref(envelope)).await
    }

    /// Adds events inside the caller's transaction, in one statement, in the order given. Hand
    /// them to [`Outbox::committed`] after the commit.
    pub async fn add_all(
        &self,
        txn: &impl ConnectionTrait,
        envelopes: &[Envelope],
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

    /// Hands events whose transaction has committed to this process's relay, which publishes
    /// them at once, in the order given. Events never handed over are published by the relay's
    /// poll instead, a little later.
    pub fn committed(&self, envelopes: Vec<Envelope>) {
        if !envelopes.is_empty() {
            self.handed_over.push(envelopes);
        }
    }

    /// Publishes one batch of unsent events that occurred at least `min_age` ago, oldest first;
    /// returns how many were sent. Stops at the first failure (the rest stay for the next
    /// round, in order).
    pub async fn relay_once(
        &self,
        db: &DatabaseConnection,
        bus: &dyn Bus,
        min_age: Duration,
    ) -> Result<usize, RelayError> {
        let txn = begin_round(db).await?;
        let mut select = Query::select();
        select
            .columns(col::EVENT.map(c))
            .from(c(self.table))
            .and_where(Expr::col(c(col::PUBLISHED_AT)).is_null());
        if !min_age.is_zero() {
            let before = Utc::now() - chrono::Duration::from_std(min_age).unwrap_or_default();
            select.and_where(Expr::col(c(col::OCCURRED_AT)).lte(before));
        }
        select
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
        self.mark_sent(&txn, &sent).await?;
        txn.commit().await?;
        match failure {
            Some(err) => Err(RelayError::Bus(err)),
            None => Ok(sent.len()),
        }
    }

    async fn mark_sent(&self, db: &impl ConnectionTrait, ids: &[String]) -> Result<(), DbErr> {
        if ids.is_empty() {
            return Ok(());
        }
        let update = Query::update()
            .table(c(self.table))
            .value(c(col::PUBLISHED_AT), Utc::now())
            .and_where(Expr::col(c(col::ID)).is_in(ids.iter().map(String::as_str)))
            .to_owned();
        db.execute(&update).await?;
        Ok(())
    }

    /// Deletes the events published before `published_before`, in batches; returns how many.
    /// Unsent events are never deleted. Relays of several replicas may prune at once: each row
    /// goes once, whichever gets to it.
    pub async fn prune(
        &self,
        db: &DatabaseConnection,
        published_before: DateTime<Utc>,
    ) -> Result<u64, DbErr> {
        let mut deleted = 0;
        loop {
            let select = Query::select()
                .column(c(col::ID))
                .from(c(self.table))
                .and_where(Expr::col(c(col::PUBLISHED_AT)).lt(published_before))
                .limit(PRUNE_BATCH)
                .to_owned();
            let ids = db
                .query_all(&select)
                .await?
                .iter()
                .map(|row| row.try_get::<String>("", col::ID))
                .collect::<Result<Vec<_>, _>>()?;
            if !ids.is_empty() {
                let delete = Query::delete()
                    .from_table(c(self.table))
                    .and_where(Expr::col(c(col::ID)).is_in(ids.iter().map(String::as_str)))
                    .to_owned();
                deleted += db.execute(&delete).await?.rows_affected();
            }
            if (ids.len() as u64) < PRUNE_BATCH {
                return Ok(deleted);
            }
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

    /// Publishes committed events until shutdown: those handed over as soon as they are, the
    /// rest by polling the table at least every poll interval. While the bus is down the poll
    /// backs off and tries again; nothing is dropped. Events published more than `retention`
    /// ago are deleted, at start and then every minute.
    pub async fn run_relay(
        self,
        db: DatabaseConnection,
        bus: Arc<dyn Bus>,
        metrics: OutboxMetrics,
        retention: Duration,
        mut shutdown: ShutdownToken,
    ) {
        let (sent, to_mark) = mpsc::unbounded_channel();
        let marker = tokio::spawn(self.clone().mark_handed_over(db.clone(), to_mark));
        let pruner = tokio::spawn(self.clone().prune_published(
            db.clone(),
            retention,
            metrics.clone(),
            shutdown.clone(),
        ));
        let mut publishing = JoinSet::new();
        let mut poll_at = tokio::time::Instant::now();
        let mut backoff = Duration::from_millis(100);
        let mut backlog_sampled: Option<Instant> = None;
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = self.handed_over.added.notified(), if publishing.len() < IN_FLIGHT => {
                    let batch = self.handed_over.take();
                    if !batch.is_empty() {
                        publishing.spawn(self.clone().publish_handed_over(
                            batch,
                            db.clone(),
                            bus.clone(),
                            metrics.clone(),
                            sent.clone(),
                        ));
                    }
                }
                Some(_) = publishing.join_next(), if !publishing.is_empty() => {}
                () = tokio::time::sleep_until(poll_at) => {
                    let round = self.relay_once(&db, bus.as_ref(), POLL_GRACE).await;
                    // A full batch: more may be waiting.
                    let full_batch = matches!(round, Ok(n) if n == BATCH as usize);
                    // The backlog is a query of its own: recorded after every failed round
                    // (those back off anyway) and at most once a second while the relay keeps up.
                    let due = backlog_sampled.is_none_or(|at| at.elapsed() >= BACKLOG_SAMPLE);
                    if round.is_err() || (!full_batch && due) {
                        self.record_backlog(&db, &metrics).await;
                        backlog_sampled = Some(Instant::now());
                    }
                    let wait = match round {
                        Ok(n) => {
                            backoff = Duration::from_millis(100);
                            metrics.published.with_label_values(&[self.table]).inc_by(n as u64);
                            if full_batch { Duration::ZERO } else { POLL }
                        }
                        Err(err) => {
                            metrics.failures.with_label_values(&[self.table]).inc();
                            tracing::warn!(outbox = self.table, error = %err, retry_in_ms = backoff.as_millis() as u64, "Outbox relay could not publish; will retry.");
                            let wait = backoff;
                            backoff = (backoff * 2).min(Duration::from_secs(5));
                            wait
                        }
                    };
                    poll_at = tokio::time::Instant::now() + wait;
                }
            }
        }
        // Publications under way finish (their events are marked sent); what was handed over
        // and not yet published stays for the next poll, of this process or another.
        while publishing.join_next().await.is_some() {}
        drop(sent);
        let _ = marker.await;
        let _ = pruner.await;
    }

    /// Deletes the events published more than `retention` ago, at once and then every
    /// `PRUNE_EVERY`, until shutdown (which may cut a round short: each statement stands alone).
    async fn prune_published(
        self,
        db: DatabaseConnection,
        retention: Duration,
        metrics: OutboxMetrics,
        mut shutdown: ShutdownToken,
    ) {
        let mut every = tokio::time::interval(PRUNE_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                _ = every.tick() => {}
            }
            let Some(before) = chrono::Duration::from_std(retention)
                .ok()
                .and_then(|retention| Utc::now().checked_sub_signed(retention))
            else {
                continue;
            };
            tokio::select! {
                () = shutdown.cancelled() => return,
                pruned = self.prune(&db, before) => match pruned {
                    Ok(n) => metrics.pruned.with_label_values(&[self.table]).inc_by(n),
                    Err(err) => tracing::warn!(outbox = self.table, error = %err, "Outbox relay could not delete old published events; will try again."),
                },
            }
        }
    }

    /// Publishes events handed over by [`Outbox::committed`] and passes the ids the bus took to
    /// the marker. Those it did not take stay unsent in the table, for the poll.
    async fn publish_handed_over(
        self,
        batch: Vec<Envelope>,
        db: DatabaseConnection,
        bus: Arc<dyn Bus>,
        metrics: OutboxMetrics,
        sent: mpsc::UnboundedSender<String>,
    ) {
        let taken = match bus.publish_all(&batch).await {
            Ok(taken) => taken,
            Err(err) => {
                // As after a failed poll: what waits is recorded before the failure is counted,
                // so whoever sees the failure also sees the backlog.
                self.record_backlog(&db, &metrics).await;
                metrics.failures.with_label_values(&[self.table]).inc();
                // The poll warns of an outage, with back-off; this would repeat it per batch.
                tracing::debug!(outbox = self.table, error = %err, events = batch.len(), "Outbox relay could not publish events as they were committed; the poll will.");
                return;
            }
        };
        metrics
            .published
            .with_label_values(&[self.table])
            .inc_by(taken as u64);
        for envelope in batch.into_iter().take(taken) {
            // The marker stops only after every sender is gone.
            let _ = sent.send(envelope.id);
        }
    }

    /// Marks handed-over events sent once the bus has them, as many per statement as have
    /// arrived meanwhile. A mark that fails leaves its events to the poll, which publishes them
    /// again: consumers tolerate the repeat.
    async fn mark_handed_over(
        self,
        db: DatabaseConnection,
        mut to_mark: mpsc::UnboundedReceiver<String>,
    ) {
        let mut ids = Vec::with_capacity(MARK_BATCH);
        while to_mark.recv_many(&mut ids, MARK_BATCH).await > 0 {
            // Marks are not urgent: gathering a little longer makes fewer, larger statements.
            tokio::time::sleep(MARK_GATHER).await;
            while ids.len() < MARK_BATCH
                && let Ok(id) = to_mark.try_recv()
            {
                ids.push(id);
            }
            let marked = async {
                let txn = begin_round(&db).await?;
                self.mark_sent(&txn, &ids).await?;
                txn.commit().await
            };
            if let Err(err) = marked.await {
                tracing::warn!(outbox = self.table, error = %err, events = ids.len(), "Outbox relay could not mark published events sent; the poll will publish them again.");
            }
            ids.clear();
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

/// Starts a relay transaction (a poll round, or marking handed-over events sent). It reads
/// committed data, so that SKIP LOCKED locks only
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
    pruned: IntCounterVec,
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
                "Publications that failed: a poll round, or a batch of events handed over at their commit.",
            ),
            pruned: counter(
                "outbox_pruned_total",
                "Published events deleted after the retention period.",
            ),
        };
        metrics.register(Box::new(this.backlog.clone()));
        metrics.register(Box::new(this.oldest_age.clone()));
        metrics.register(Box::new(this.published.clone()));
        metrics.register(Box::new(this.failures.clone()));
        metrics.register(Box::new(this.pruned.clone()));
        this
    }
}
