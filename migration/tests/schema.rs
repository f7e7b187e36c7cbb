//! Every migration builds the schema on an empty database and rolls back cleanly, on SQLite,
//! PostgreSQL and MariaDB.

// Helpers of a test binary may unwrap too: a panic is how a test reports a failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use migration::{Migrator, MigratorTrait, SchemaManager};
use sea_orm_migration::MigrationStatus;

/// Tables in the order their migrations create them; the last migration of each group is the
/// one that makes the group's last table.
const TABLES: [&str; 10] = [
    "users",
    "refresh_tokens",
    "books",
    "stock",
    "reservations",
    "inventory_outbox",
    "orders",
    "order_lines",
    "orders_outbox",
    "catalog_outbox",
];
/// How many tables exist after each migration, in order.
const TABLES_AFTER: [usize; 10] = [1, 2, 3, 6, 9, 9, 9, 9, 10, 10];

/// Columns that migrations add to existing tables: (table, column, the migration, counted
/// from 1, that adds it).
const ADDED_COLUMNS: [(&str, &str, usize); 3] = [
    ("books", "available_at", 6),
    ("books", "document_sha256", 8),
    ("books", "summary_status", 9),
];

/// The migration that replaces the status index of orders.
const STATUS_INDEX_MIGRATION: usize = 7;
/// The migration that indexes refresh tokens by the time they were revoked.
const REVOKED_INDEX_MIGRATION: usize = 10;

async fn tables_present(manager: &SchemaManager<'_>) -> Vec<&'static str> {
    let mut present = Vec::new();
    for table in TABLES {
        if manager.has_table(table).await.unwrap() {
            present.push(table);
        }
    }
    present
}

platform::backend_tests! {
    async fn migrations_go_up_down_and_up_again_on_an_empty_database(db) {
        let conn = db.connect().await.unwrap();
        let manager = SchemaManager::new(&conn);
        assert!(tables_present(&manager).await.is_empty());

        Migrator::up(&conn, None).await.unwrap();
        assert_eq!(tables_present(&manager).await, TABLES);
        // Orders of a status are read in creation order from one index, not the status alone.
        assert!(manager.has_index("orders", "ix_orders_status_created").await.unwrap());
        assert!(!manager.has_index("orders", "ix_orders_status").await.unwrap());
        assert!(manager.has_index("refresh_tokens", "ix_refresh_tokens_revoked_at").await.unwrap());
        let statuses = Migrator::get_migration_with_status(&conn).await.unwrap();
        assert_eq!(statuses.len(), Migrator::migrations().len());
        assert!(statuses.iter().all(|m| m.status() == MigrationStatus::Applied));

        for (table, column, _) in ADDED_COLUMNS {
            assert!(manager.has_column(table, column).await.unwrap(), "{table}.{column}");
        }

        // Each `down` undoes exactly its own migration, newest first.
        for step in (0..TABLES_AFTER.len()).rev() {
            Migrator::down(&conn, Some(1)).await.unwrap();
            // `step + 1` is the migration just undone.
            if step + 1 == REVOKED_INDEX_MIGRATION {
                assert!(!manager.has_index("refresh_tokens", "ix_refresh_tokens_revoked_at").await.unwrap());
            }
            if step + 1 == STATUS_INDEX_MIGRATION {
                assert!(manager.has_index("orders", "ix_orders_status").await.unwrap());
                assert!(!manager.has_index("orders", "ix_orders_status_created").await.unwrap());
            }
            let remaining = if step == 0 { 0 } else { TABLES_AFTER[step - 1] };
            assert_eq!(tables_present(&manager).await, TABLES[..remaining]);
            for (table, column, added_by) in ADDED_COLUMNS {
                if added_by == step + 1 && remaining > 0 {
                    assert!(!manager.has_column(table, column).await.unwrap(), "{table}.{column} stayed");
                }
            }
        }
        assert_eq!(Migrator::get_pending_migrations(&conn).await.unwrap().len(), TABLES_AFTER.len());

        Migrator::up(&conn, None).await.unwrap();
        assert_eq!(tables_present(&manager).await, TABLES);
        conn.close().await.unwrap();
    }
}
