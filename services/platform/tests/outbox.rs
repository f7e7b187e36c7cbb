//! The transactional outbox on SQLite, PostgreSQL and MariaDB: events committed with their
//! change are published exactly once by any number of relays, and survive a bus outage.

// Helpers of a test binary may unwrap too: a panic is how a test reports a failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};

use migration::{Migrator, MigratorTrait};
use platform::messaging::{Bus, BusError, DeadLetter, Envelope, Handler};
use platform::outbox::Outbox;
use platform::shutdown::ShutdownToken;
use sea_orm::{DatabaseConnection, TransactionTrait};

/// A bus that records what it is given, or refuses everything while `down`.
#[derive(Default)]
struct RecordingBus {
    published: Mutex<Vec<Envelope>>,
    down: std::sync::atomic::AtomicBool,
}

#[async_trait::async_trait]
impl Bus for RecordingBus {
    async fn publish(&self, envelope: &Envelope) -> Result<(), BusError> {
        if self.down.load(std::sync::atomic::Ordering::SeqCst) {
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
        _: Arc<dyn Handler>,
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

platform::backend_tests! {
    async fn committed_events_are_published_in_order_and_marked_sent(db) {
        let conn = database(&db).await;
        let outbox = Outbox::new("orders_outbox");
        let events: Vec<Envelope> = (0..5).map(event).collect();
        write(&conn, &outbox, &events).await;
        let bus = RecordingBus::default();
        assert_eq!(outbox.relay_once(&conn, &bus).await.unwrap(), 5);
        let published = bus.published.lock().unwrap().clone();
        assert_eq!(published.iter().map(|e| e.id.clone()).collect::<Vec<_>>(), events.iter().map(|e| e.id.clone()).collect::<Vec<_>>());
        assert_eq!(published[0].payload, events[0].payload);
        assert_eq!(published[0].kind, "order.placed");
        assert_eq!(outbox.relay_once(&conn, &bus).await.unwrap(), 0, "sent events are not sent again");
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
        assert_eq!(outbox.relay_once(&conn, &bus).await.unwrap(), 0);
        assert!(bus.published.lock().unwrap().is_empty());
        conn.close().await.unwrap();
    }

    async fn events_wait_out_a_bus_outage_and_none_is_lost(db) {
        let conn = database(&db).await;
        let outbox = Outbox::new("inventory_outbox");
        write(&conn, &outbox, &(0..3).map(event).collect::<Vec<_>>()).await;
        let bus = RecordingBus::default();
        bus.down.store(true, std::sync::atomic::Ordering::SeqCst);
        assert!(outbox.relay_once(&conn, &bus).await.is_err());
        let (backlog, _) = outbox.backlog(&conn).await.unwrap();
        assert_eq!(backlog, 3, "nothing is marked sent while the bus is down");
        bus.down.store(false, std::sync::atomic::Ordering::SeqCst);
        assert_eq!(outbox.relay_once(&conn, &bus).await.unwrap(), 3);
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
                    match outbox.relay_once(&conn, bus.as_ref()).await {
                        Ok(0) if outbox.backlog(&conn).await.unwrap().0 == 0 => break,
                        Ok(_) => {}
                        // SQLite answers "database is locked" to a competing writer: try again.
                        Err(err) => assert!(err.to_string().contains("locked"), "{err}"),
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
}
