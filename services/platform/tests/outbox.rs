//! The transactional outbox on SQLite, PostgreSQL and MariaDB: events committed with their
//! change are published exactly once by any number of relays, and survive a bus outage; the
//! running relay publishes events handed to it at once and polls for the rest, and deletes
//! published events after their retention period.

// Helpers of a test binary may unwrap too: a panic is how a test reports a failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use migration::{Migrator, MigratorTrait};
use platform::messaging::{Bus, BusError, DeadLetter, Envelope, Handler, Listener};
use platform::metrics::Metrics;
use platform::outbox::{Outbox, OutboxMetrics};
use platform::shutdown::{ShutdownToken, shutdown_pair};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Order, Query};
use sea_orm::{ConnectionTrait, DatabaseConnection, TransactionTrait};

/// A bus that records what it is given, or refuses everything while `down` (and counts what
/// it refused).
#[derive(Default)]
struct RecordingBus {
    published: Mutex<Vec<Envelope>>,
    down: std::sync::atomic::AtomicBool,
    refused: std::sync::atomic::AtomicUsize,
}

#[async_trait::async_trait]
impl Bus for RecordingBus {
    async fn publish(&self, envelope: &Envelope) -> Result<(), BusError> {
        if self.down.load(std::sync::atomic::Ordering::SeqCst) {
            self.refused
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            return Err(BusError::Unavailable("broker stopped".into()));
        }
        self.published.lock().unwrap().push(envelope.clone());
        Ok(())
    }
    async fn consume(
        &self,
        _: &str,
        _: Arc<dyn Handler>,
        _: ShutdownToken,
    ) -> Result<(), BusError> {
        unreachable!("the outbox never consumes")
    }
    async fn subscribe(
        &self,
        _: &str,
        _: &[String],
        _: Arc<dyn Listener>,
        _: platform::readiness::Gate,
        _: ShutdownToken,
    ) -> Result<(), BusError> {
        unreachable!("the outbox never subscribes")
    }
    async fn dead_letters(&self, _: &str, _: usize) -> Result<Vec<DeadLetter>, BusError> {
        unreachable!("the outbox never reads dead letters")
    }
    async fn dead_letter_count(&self, _: &str) -> Result<u64, BusError> {
        unreachable!("the outbox never reads dead letters")
    }
    async fn redrive(&self, _: &str, _: usize) -> Result<usize, BusError> {
        unreachable!("the outbox never redrives")
    }
    async fn purge_dead_letters(&self, _: &str) -> Result<u64, BusError> {
        unreachable!("the outbox never purges")
    }
}

async fn database(db: &platform::testing::TestDatabase) -> DatabaseConnection {
    let conn = db.connect().await.unwrap();
    Migrator::up(&conn, None).await.unwrap();
    conn
}

fn event(n: usize) -> Envelope {
    Envelope::new(
        "order.placed",
        1,
        &serde_json::json!({ "n": n, "text": "ünïcødé" }),
    )
    .unwrap()
}

async fn write(conn: &DatabaseConnection, outbox: &Outbox, events: &[Envelope]) {
    let txn = conn.begin().await.unwrap();
    for envelope in events {
        outbox.add(&txn, envelope).await.unwrap();
    }
    txn.commit().await.unwrap();
}

/// Sets when events were published, as a relay that marked them then would have.
async fn mark_published(
    conn: &DatabaseConnection,
    table: &str,
    events: &[Envelope],
    at: DateTime<Utc>,
) {
    let update = Query::update()
        .table(Alias::new(table))
        .value(Alias::new("published_at"), at)
        .and_where(Expr::col(Alias::new("id")).is_in(events.iter().map(|e| e.id.as_str())))
        .to_owned();
    conn.execute(&update).await.unwrap();
}

/// The ids of the events an outbox table holds, sorted.
async fn stored(conn: &DatabaseConnection, table: &str) -> Vec<String> {
    let select = Query::select()
        .column(Alias::new("id"))
        .from(Alias::new(table))
        .order_by(Alias::new("id"), Order::Asc)
        .to_owned();
    conn.query_all(&select)
        .await
        .unwrap()
        .iter()
        .map(|row| row.try_get::<String>("", "id").unwrap())
        .collect()
}

fn sorted_ids(events: &[Envelope]) -> Vec<String> {
    let mut ids = ids(events);
    ids.sort();
    ids
}

fn hours_ago(hours: i64) -> DateTime<Utc> {
    Utc::now() - chrono::Duration::hours(hours)
}

/// Keeps published events well beyond any test's length: only the pruning tests delete any.
const KEEP: Duration = Duration::from_secs(3600);

/// How long a test watches the poll leave events alone that are younger than its grace (2 s in
/// `platform::outbox`): a bounded wait for something that must not happen, well inside the
/// grace.
const YOUNG: Duration = Duration::from_millis(500);

impl RecordingBus {
    fn ids(&self) -> Vec<String> {
        self.published
            .lock()
            .unwrap()
            .iter()
            .map(|e| e.id.clone())
            .collect()
    }
}

fn ids(events: &[Envelope]) -> Vec<String> {
    events.iter().map(|e| e.id.clone()).collect()
}

/// Waits up to `limit` for `done`; says whether it came.
async fn within(limit: Duration, mut done: impl AsyncFnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if done().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    done().await
}

/// An outbox whose relay runs on a recording bus, as a service runs it, and three events
/// written to it (not handed over yet).
struct RunningRelay {
    conn: DatabaseConnection,
    outbox: Outbox,
    bus: Arc<RecordingBus>,
    events: Vec<Envelope>,
    stop: platform::shutdown::ShutdownTrigger,
    task: tokio::task::JoinHandle<()>,
}

impl RunningRelay {
    async fn start(db: &platform::testing::TestDatabase, table: &'static str) -> Self {
        let conn = database(db).await;
        let outbox = Outbox::new(table);
        let bus = Arc::new(RecordingBus::default());
        let (stop, token) = shutdown_pair();
        let metrics = OutboxMetrics::new(&Metrics::new());
        let task =
            tokio::spawn(
                outbox
                    .clone()
                    .run_relay(conn.clone(), bus.clone(), metrics, KEEP, token),
            );
        let events: Vec<Envelope> = (0..3).map(event).collect();
        write(&conn, &outbox, &events).await;
        Self {
            conn,
            outbox,
            bus,
            events,
            stop,
            task,
        }
    }

    /// Shuts the relay down and waits for it, then closes the connection.
    async fn stop(self) {
        self.stop.trigger();
        self.task.await.unwrap();
        self.conn.close().await.unwrap();
    }
}

platform::backend_tests! {
    async fn handed_over_events_are_published_at_once_and_marked_sent(db) {
        let relay = RunningRelay::start(&db, "orders_outbox").await;
        let (bus, outbox, conn) = (&relay.bus, &relay.outbox, &relay.conn);
        outbox.committed(relay.events.clone());
        // Well inside the poll's grace: only the handed-over path can have published them.
        assert!(within(Duration::from_secs(1), async || bus.ids().len() == 3).await, "published: {:?}", bus.ids());
        assert_eq!(bus.ids(), ids(&relay.events), "in the order handed over");
        assert!(within(Duration::from_secs(5), async || outbox.backlog(conn).await.unwrap().0 == 0).await, "marked sent");
        let bus = relay.bus.clone();
        relay.stop().await;
        assert_eq!(bus.ids().len(), 3, "published once");
    }

    async fn events_not_handed_over_are_published_by_the_poll(db) {
        // Written by another process, say: this relay is never told.
        let relay = RunningRelay::start(&db, "orders_outbox").await;
        let bus = &relay.bus;
        tokio::time::sleep(YOUNG).await;
        assert!(bus.ids().is_empty(), "the poll leaves young events to the relay they were handed to");
        assert!(within(Duration::from_secs(10), async || bus.ids().len() == 3).await, "published: {:?}", bus.ids());
        assert_eq!(bus.ids(), ids(&relay.events));
        // The poll marks them in the round that published them, just after the bus took them.
        let (outbox, conn) = (&relay.outbox, &relay.conn);
        assert!(within(Duration::from_secs(5), async || outbox.backlog(conn).await.unwrap().0 == 0).await, "marked sent");
        relay.stop().await;
    }

    async fn handed_over_events_the_bus_refused_are_published_by_the_poll(db) {
        let relay = RunningRelay::start(&db, "inventory_outbox").await;
        let (bus, outbox, conn) = (&relay.bus, &relay.outbox, &relay.conn);
        bus.down.store(true, std::sync::atomic::Ordering::SeqCst);
        outbox.committed(relay.events.clone());
        assert!(within(Duration::from_secs(5), async || bus.refused.load(std::sync::atomic::Ordering::SeqCst) >= 1).await, "the relay never tried the bus");
        assert_eq!(outbox.backlog(conn).await.unwrap().0, 3, "nothing is marked sent while the bus is down");
        bus.down.store(false, std::sync::atomic::Ordering::SeqCst);
        assert!(within(Duration::from_secs(10), async || outbox.backlog(conn).await.unwrap().0 == 0).await);
        assert_eq!(bus.ids(), ids(&relay.events), "each published once, in order");
        relay.stop().await;
    }

    async fn committed_events_are_published_in_order_and_marked_sent(db) {
        let conn = database(&db).await;
        let outbox = Outbox::new("orders_outbox");
        let events: Vec<Envelope> = (0..5).map(event).collect();
        write(&conn, &outbox, &events).await;
        let bus = RecordingBus::default();
        assert_eq!(outbox.relay_once(&conn, &bus, Duration::ZERO).await.unwrap(), 5);
        let published = bus.published.lock().unwrap().clone();
        assert_eq!(ids(&published), ids(&events));
        assert_eq!(published[0].payload, events[0].payload);
        assert_eq!(published[0].kind, "order.placed");
        assert_eq!(outbox.relay_once(&conn, &bus, Duration::ZERO).await.unwrap(), 0, "sent events are not sent again");
        assert_eq!(outbox.backlog(&conn).await.unwrap().0, 0);
        conn.close().await.unwrap();
    }

    async fn rolled_back_events_are_never_published(db) {
        let conn = database(&db).await;
        let outbox = Outbox::new("orders_outbox");
        let txn = conn.begin().await.unwrap();
        outbox.add(&txn, &event(1)).await.unwrap();
        txn.rollback().await.unwrap();
        let bus = RecordingBus::default();
        assert_eq!(outbox.relay_once(&conn, &bus, Duration::ZERO).await.unwrap(), 0);
        assert!(bus.published.lock().unwrap().is_empty());
        conn.close().await.unwrap();
    }

    async fn events_wait_out_a_bus_outage_and_none_is_lost(db) {
        let conn = database(&db).await;
        let outbox = Outbox::new("inventory_outbox");
        write(&conn, &outbox, &(0..3).map(event).collect::<Vec<_>>()).await;
        let bus = RecordingBus::default();
        bus.down.store(true, std::sync::atomic::Ordering::SeqCst);
        assert!(outbox.relay_once(&conn, &bus, Duration::ZERO).await.is_err());
        let (backlog, _) = outbox.backlog(&conn).await.unwrap();
        assert_eq!(backlog, 3, "nothing is marked sent while the bus is down");
        bus.down.store(false, std::sync::atomic::Ordering::SeqCst);
        assert_eq!(outbox.relay_once(&conn, &bus, Duration::ZERO).await.unwrap(), 3);
        assert_eq!(outbox.backlog(&conn).await.unwrap().0, 0);
        conn.close().await.unwrap();
    }

    async fn concurrent_relays_publish_each_event_once(db) {
        let conn = database(&db).await;
        let outbox = Outbox::new("orders_outbox");
        let events: Vec<Envelope> = (0..300).map(event).collect();
        write(&conn, &outbox, &events).await;
        let bus = Arc::new(RecordingBus::default());
        let mut relays = Vec::new();
        for _ in 0..4 {
            let (conn, outbox, bus) = (conn.clone(), outbox.clone(), bus.clone());
            relays.push(tokio::spawn(async move {
                loop {
                    match outbox.relay_once(&conn, bus.as_ref(), Duration::ZERO).await {
                        Ok(0) if outbox.backlog(&conn).await.unwrap().0 == 0 => break,
                        Ok(_) => {}
                        // Competing rounds may fail and are tried again, as the running relay
                        // does: SQLite answers "database is locked" to a competing writer, and
                        // InnoDB may pick one round as a deadlock victim (marking rows sent
                        // changes the index another round's `SKIP LOCKED` scan walks).
                        Err(err) => {
                            let err = err.to_string();
                            assert!(err.contains("locked") || err.contains("Deadlock"), "{err}");
                        }
                    }
                }
            }));
        }
        for relay in relays {
            relay.await.unwrap();
        }
        let mut ids: Vec<String> = bus.published.lock().unwrap().iter().map(|e| e.id.clone()).collect();
        assert_eq!(ids.len(), 300, "an event was published twice or not at all");
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 300);
        conn.close().await.unwrap();
    }

    async fn published_events_older_than_the_cut_off_are_deleted_and_unsent_ones_never(db) {
        let conn = database(&db).await;
        let outbox = Outbox::new("orders_outbox");
        let events: Vec<Envelope> = (0..5).map(event).collect();
        write(&conn, &outbox, &events).await;
        mark_published(&conn, "orders_outbox", &events[0..1], hours_ago(48)).await;
        mark_published(&conn, "orders_outbox", &events[1..2], hours_ago(2)).await;
        mark_published(&conn, "orders_outbox", &events[2..3], hours_ago(1)).await;
        mark_published(&conn, "orders_outbox", &events[3..4], Utc::now()).await;
        // events[4] is not published.
        let cut_off = Utc::now() - chrono::Duration::minutes(90);
        assert_eq!(outbox.prune(&conn, cut_off).await.unwrap(), 2);
        assert_eq!(stored(&conn, "orders_outbox").await, sorted_ids(&events[2..]));
        assert_eq!(outbox.prune(&conn, cut_off).await.unwrap(), 0, "nothing more is that old");
        let later = Utc::now() + chrono::Duration::hours(1);
        assert_eq!(outbox.prune(&conn, later).await.unwrap(), 2, "every published event, never the unsent one");
        assert_eq!(stored(&conn, "orders_outbox").await, sorted_ids(&events[4..]));
        assert_eq!(outbox.backlog(&conn).await.unwrap().0, 1);
        conn.close().await.unwrap();
    }

    async fn a_long_history_is_deleted_in_batches(db) {
        let conn = database(&db).await;
        let outbox = Outbox::new("inventory_outbox");
        let events: Vec<Envelope> = (0..2_345).map(event).collect();
        let txn = conn.begin().await.unwrap();
        for chunk in events.chunks(500) {
            outbox.add_all(&txn, chunk).await.unwrap();
        }
        txn.commit().await.unwrap();
        for chunk in events.chunks(500) {
            mark_published(&conn, "inventory_outbox", chunk, hours_ago(48)).await;
        }
        assert_eq!(outbox.prune(&conn, hours_ago(24)).await.unwrap(), 2_345);
        assert!(stored(&conn, "inventory_outbox").await.is_empty());
        conn.close().await.unwrap();
    }

    async fn the_running_relay_deletes_events_published_before_its_retention(db) {
        let conn = database(&db).await;
        let outbox = Outbox::new("orders_outbox");
        let old: Vec<Envelope> = (0..3).map(event).collect();
        write(&conn, &outbox, &old).await;
        mark_published(&conn, "orders_outbox", &old, hours_ago(2)).await;
        let unsent = vec![event(3)];
        write(&conn, &outbox, &unsent).await;
        let metrics = Metrics::new();
        let (stop, token) = shutdown_pair();
        let task = tokio::spawn(outbox.clone().run_relay(
            conn.clone(),
            Arc::new(RecordingBus::default()),
            OutboxMetrics::new(&metrics),
            KEEP,
            token,
        ));
        // The relay prunes when it starts; the unsent event is published and kept.
        assert!(
            within(Duration::from_secs(5), async || stored(&conn, "orders_outbox").await == ids(&unsent)).await,
            "left: {:?}",
            stored(&conn, "orders_outbox").await
        );
        assert!(
            metrics.render().contains("outbox_pruned_total{outbox=\"orders_outbox\"} 3"),
            "{}",
            metrics.render()
        );
        stop.trigger();
        task.await.unwrap();
        conn.close().await.unwrap();
    }
}
