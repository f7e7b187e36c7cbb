//! Every schema change of the bookstore, one migration per file, each with a working `down`.
//! The same migrations build the schema on SQLite, PostgreSQL and MySQL/MariaDB.

pub use sea_orm_migration::prelude::*;

mod m20261123_000001_create_users;
mod m20261123_000002_create_refresh_tokens;
mod m20261123_000003_create_books;
mod m20261123_000004_create_inventory;
mod m20261123_000005_create_orders;
mod m20261123_000006_add_books_available_at;
mod m20261201_000007_index_orders_by_status_and_time;
mod m20261207_000008_add_books_document_facts;
mod m20261207_000009_add_book_summaries;
mod m20261207_000010_index_refresh_tokens_by_revocation;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_create_users::Migration),
            Box::new(m20261123_000002_create_refresh_tokens::Migration),
            Box::new(m20261123_000003_create_books::Migration),
            Box::new(m20261123_000004_create_inventory::Migration),
            Box::new(m20261123_000005_create_orders::Migration),
            Box::new(m20261123_000006_add_books_available_at::Migration),
            Box::new(m20261201_000007_index_orders_by_status_and_time::Migration),
            Box::new(m20261207_000008_add_books_document_facts::Migration),
            Box::new(m20261207_000009_add_book_summaries::Migration),
            Box::new(m20261207_000010_index_refresh_tokens_by_revocation::Migration),
        ]
    }
}

/// Adds columns to a table, one statement each: SQLite alters a table one column at a time.
pub(crate) async fn add_columns(
    manager: &SchemaManager<'_>,
    table: impl IntoIden + Clone,
    columns: Vec<ColumnDef>,
) -> Result<(), DbErr> {
    for column in columns {
        manager
            .alter_table(
                Table::alter()
                    .table(table.clone())
                    .add_column(column)
                    .to_owned(),
            )
            .await?;
    }
    Ok(())
}

/// Drops columns of a table, one statement each.
pub(crate) async fn drop_columns<C: IntoIden>(
    manager: &SchemaManager<'_>,
    table: impl IntoIden + Clone,
    columns: impl IntoIterator<Item = C>,
) -> Result<(), DbErr> {
    for column in columns {
        manager
            .alter_table(
                Table::alter()
                    .table(table.clone())
                    .drop_column(column)
                    .to_owned(),
            )
            .await?;
    }
    Ok(())
}

/// Column definitions shared by the migrations, so every table spells a type the same way.
pub(crate) mod columns {
    use sea_orm_migration::prelude::*;

    /// An opaque id (a UUID in text form), compared byte-wise like every key.
    pub fn id<T: IntoIden>(name: T, backend: sea_orm::DbBackend) -> ColumnDef {
        let column = ColumnDef::new(name)
            .string_len(36)
            .not_null()
            .primary_key()
            .to_owned();
        with_binary_collation(column, backend)
    }

    /// A reference to an id in another table.
    pub fn id_ref<T: IntoIden>(name: T, backend: sea_orm::DbBackend) -> ColumnDef {
        let column = ColumnDef::new(name).string_len(36).not_null().to_owned();
        with_binary_collation(column, backend)
    }

    /// A UTC instant with sub-second precision. MySQL's TIMESTAMP ends in 2038 and keeps whole
    /// seconds, so MySQL/MariaDB get DATETIME(6) holding UTC.
    pub fn timestamp<T: IntoIden>(name: T, backend: sea_orm::DbBackend) -> ColumnDef {
        let mut column = ColumnDef::new(name);
        match backend {
            sea_orm::DbBackend::MySql => column.custom(Alias::new("DATETIME(6)")),
            _ => column.timestamp_with_time_zone(),
        };
        column.not_null().to_owned()
    }

    pub fn timestamp_null<T: IntoIden>(name: T, backend: sea_orm::DbBackend) -> ColumnDef {
        let mut column = timestamp(name, backend);
        column.null();
        column
    }

    /// A text column compared and sorted byte by byte on every backend, so that ordering and
    /// uniqueness do not depend on the server's locale.
    pub fn binary_collated<T: IntoIden>(
        name: T,
        len: u32,
        backend: sea_orm::DbBackend,
    ) -> ColumnDef {
        let column = ColumnDef::new(name).string_len(len).not_null().to_owned();
        with_binary_collation(column, backend)
    }

    pub fn binary_collated_null<T: IntoIden>(
        name: T,
        len: u32,
        backend: sea_orm::DbBackend,
    ) -> ColumnDef {
        let column = ColumnDef::new(name).string_len(len).null().to_owned();
        with_binary_collation(column, backend)
    }

    /// Long text searched with LIKE: byte-wise on every backend, so a search matches the same
    /// rows everywhere (MariaDB's default collations would also ignore accents).
    pub fn binary_collated_text<T: IntoIden>(name: T, backend: sea_orm::DbBackend) -> ColumnDef {
        let column = ColumnDef::new(name).text().not_null().to_owned();
        with_binary_collation(column, backend)
    }

    fn with_binary_collation(mut column: ColumnDef, backend: sea_orm::DbBackend) -> ColumnDef {
        match backend {
            sea_orm::DbBackend::Postgres => column.extra("COLLATE \"C\""),
            // Needs a utf8mb4 database (the default of MySQL 8 and current MariaDB).
            sea_orm::DbBackend::MySql => column.extra("COLLATE utf8mb4_bin"),
            _ => &mut column,
        };
        column
    }
}

/// The outbox table every event-producing service has (see `platform::outbox`).
pub(crate) mod outbox {
    use sea_orm_migration::prelude::*;

    use crate::columns;

    pub async fn create(manager: &SchemaManager<'_>, table: &str) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        let name = Alias::new(table);
        manager
            .create_table(
                Table::create()
                    .table(name.clone())
                    .col(columns::id(Alias::new("id"), backend))
                    .col(
                        ColumnDef::new(Alias::new("kind"))
                            .string_len(100)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Alias::new("schema_version"))
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(Alias::new("payload")).text().not_null())
                    .col(
                        ColumnDef::new(Alias::new("traceparent"))
                            .string_len(64)
                            .null(),
                    )
                    .col(columns::timestamp(Alias::new("occurred_at"), backend))
                    .col(columns::timestamp_null(Alias::new("published_at"), backend))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(format!("ix_{table}_unpublished"))
                    .table(name)
                    .col(Alias::new("published_at"))
                    .col(Alias::new("occurred_at"))
                    .to_owned(),
            )
            .await
    }

    pub async fn drop(manager: &SchemaManager<'_>, table: &str) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Alias::new(table)).to_owned())
            .await
    }
}
