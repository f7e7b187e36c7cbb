//! The availability read model on SQLite, PostgreSQL and MariaDB: `stock.changed` events set a
//! book's availability, the newest event wins, and bad messages are dead-lettered.

// Helpers of a test binary may unwrap too: a panic is how a test reports a failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use catalog::availability::StockChangedHandler;
use catalog::entity::book;
use chrono::{Duration, Utc};
use contracts::events::{Event, StockChanged, StockLevel};
use migration::{Migrator, MigratorTrait};
use platform::messaging::{Delivery, Envelope, Handler, Outcome};
use sea_orm::{EntityTrait, QueryOrder};

fn test_cache() -> catalog::cache::PageCache {
    catalog::cache::PageCache::new(
        catalog::cache::CacheSettings::default(),
        catalog::cache::CacheMetrics::unregistered(),
    )
}

fn delivered(envelope: Envelope) -> Delivery {
    Delivery {
        envelope,
        attempt: 1,
        first_failure_at: None,
        last_error: None,
    }
}

/// A `stock.changed` of the books and counts given.
fn changed(books: &[(&str, i64)], at: chrono::DateTime<Utc>) -> Delivery {
    let event = StockChanged {
        books: books
            .iter()
            .map(|(book_id, available)| StockLevel::new(*book_id, *available))
            .collect(),
        at,
    };
    delivered(event.envelope().unwrap())
}

fn delivery(book_id: &str, available: i64, at: chrono::DateTime<Utc>) -> Delivery {
    changed(&[(book_id, available)], at)
}

/// Migrates and seeds the catalogue; the ids of its first three books.
async fn seeded(conn: &sea_orm::DatabaseConnection) -> Vec<String> {
    Migrator::up(conn, None).await.unwrap();
    catalog::seed::seed_if_empty(conn).await.unwrap();
    book::Entity::find()
        .order_by_asc(book::Column::Id)
        .all(conn)
        .await
        .unwrap()
        .into_iter()
        .take(3)
        .map(|b| b.id)
        .collect()
}

async fn available(conn: &sea_orm::DatabaseConnection, id: &str) -> i32 {
    book::Entity::find_by_id(id.to_owned())
        .one(conn)
        .await
        .unwrap()
        .unwrap()
        .available
}

platform::backend_tests! {
    async fn the_newest_stock_event_sets_availability(db) {
        let conn = db.connect().await.unwrap();
        Migrator::up(&conn, None).await.unwrap();
        catalog::seed::seed_if_empty(&conn).await.unwrap();
        let first = book::Entity::find().order_by_asc(book::Column::Id).one(&conn).await.unwrap().unwrap();
        let handler = StockChangedHandler::new(conn.clone(), test_cache());
        let now = Utc::now();

        assert_eq!(handler.handle(&delivery(&first.id, 0, now)).await, Outcome::Ack);
        let after = book::Entity::find_by_id(first.id.clone()).one(&conn).await.unwrap().unwrap();
        assert_eq!(after.available, 0);

        // An older event arriving late changes nothing; a newer one does.
        assert_eq!(handler.handle(&delivery(&first.id, 7, now - Duration::seconds(5))).await, Outcome::Ack);
        assert_eq!(book::Entity::find_by_id(first.id.clone()).one(&conn).await.unwrap().unwrap().available, 0);
        assert_eq!(handler.handle(&delivery(&first.id, 4, now + Duration::seconds(1))).await, Outcome::Ack);
        assert_eq!(book::Entity::find_by_id(first.id.clone()).one(&conn).await.unwrap().unwrap().available, 4);

        // A book the catalogue does not have is nothing to retry.
        assert_eq!(handler.handle(&delivery("no-such-book", 3, now)).await, Outcome::Ack);
        conn.close().await.unwrap();
    }

    async fn events_handled_at_once_leave_each_book_at_its_newest(db) {
        let conn = db.connect().await.unwrap();
        let books = seeded(&conn).await;
        let handler = std::sync::Arc::new(StockChangedHandler::new(conn.clone(), test_cache()));
        let start = Utc::now();
        // Ten events per book, handled concurrently in a shuffled order: the newest (available =
        // 10 * book + 9) must win whatever the batches they land in.
        let mut events = Vec::new();
        for (b, id) in books.iter().enumerate() {
            for n in 0..10 {
                events.push((id.clone(), (10 * b + n) as i64, start + Duration::milliseconds(n as i64)));
            }
        }
        events.sort_by_key(|(id, available, _)| (available * 7919) % 31 + id.len() as i64);
        let mut tasks = tokio::task::JoinSet::new();
        for (id, available, at) in events {
            let handler = handler.clone();
            tasks.spawn(async move { handler.handle(&delivery(&id, available, at)).await });
        }
        while let Some(outcome) = tasks.join_next().await {
            assert_eq!(outcome.unwrap(), Outcome::Ack);
        }
        for (b, id) in books.iter().enumerate() {
            let row = book::Entity::find_by_id(id.clone()).one(&conn).await.unwrap().unwrap();
            assert_eq!(row.available, (10 * b + 9) as i32, "book {id}");
        }
        conn.close().await.unwrap();
    }

    async fn one_event_sets_each_of_its_books(db) {
        let conn = db.connect().await.unwrap();
        let books = seeded(&conn).await;
        let handler = StockChangedHandler::new(conn.clone(), test_cache());
        let now = Utc::now();
        let event = changed(&[(&books[0], 5), ("no-such-book", 1), (&books[1], 0)], now);
        assert_eq!(handler.handle(&event).await, Outcome::Ack);
        assert_eq!(available(&conn, &books[0]).await, 5);
        assert_eq!(available(&conn, &books[1]).await, 0);
        let untouched = available(&conn, &books[2]).await;

        // An older event changes none of its books, even one the newer event did not list.
        let late = changed(&[(&books[0], 977), (&books[2], 977)], now - Duration::seconds(1));
        assert_eq!(handler.handle(&late).await, Outcome::Ack);
        assert_eq!(available(&conn, &books[0]).await, 5);
        assert_eq!(available(&conn, &books[2]).await, 977, "never set before: the late event applies");
        assert_ne!(untouched, 977);

        // Version 1 (one book per event) was never released: it is not read, but dead-lettered.
        let v1 = Envelope::new(
            StockChanged::KIND,
            1,
            &serde_json::json!({ "book_id": books[1], "available": 4, "at": now + Duration::seconds(1) }),
        )
        .unwrap();
        assert!(matches!(handler.handle(&delivered(v1)).await, Outcome::Reject(_)));
        assert_eq!(available(&conn, &books[1]).await, 0);
        conn.close().await.unwrap();
    }

    async fn malformed_stock_events_are_dead_lettered(db) {
        let conn = db.connect().await.unwrap();
        Migrator::up(&conn, None).await.unwrap();
        let handler = StockChangedHandler::new(conn.clone(), test_cache());
        let mut garbage = delivery("b", 1, Utc::now());
        garbage.envelope.payload = b"[]".to_vec();
        assert!(matches!(handler.handle(&garbage).await, Outcome::Reject(_)));
        let mut future = delivery("b", 1, Utc::now());
        future.envelope.schema_version = 3;
        assert!(matches!(handler.handle(&future).await, Outcome::Reject(_)));
        conn.close().await.unwrap();
    }
}
