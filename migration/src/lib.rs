//! Every schema change of the bookstore, one migration per file, each with a working `down`.
//! The same migrations build the schema on SQLite, PostgreSQL and MySQL/MariaDB.

pub use sea_orm_migration::prelude::*;

mod m20261123_000001_create_users;
mod m20261123_000002_create_refresh_tokens;
mod m20261123_000003_create_books;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_create_users::Migration),
            Box::new(m20261123_000002_create_refresh_tokens::Migration),
            Box::new(m20261123_000003_create_books::Migration),
        ]
    }
}

/// Column definitions shared by the migrations, so every table spells a type the same way.
pub(crate) mod columns {
    use sea_orm_migration::prelude::*;

    /// An opaque id (a UUID in text form).
    pub fn id<T: IntoIden>(name: T) -> ColumnDef {
        ColumnDef::new(name)
            .string_len(36)
            .not_null()
            .primary_key()
            .to_owned()
    }

    /// A reference to an id in another table.
    pub fn id_ref<T: IntoIden>(name: T) -> ColumnDef {
        ColumnDef::new(name).string_len(36).not_null().to_owned()
    }

    pub fn timestamp<T: IntoIden>(name: T) -> ColumnDef {
        ColumnDef::new(name)
            .timestamp_with_time_zone()
            .not_null()
            .to_owned()
    }

    pub fn timestamp_null<T: IntoIden>(name: T) -> ColumnDef {
        ColumnDef::new(name)
            .timestamp_with_time_zone()
            .null()
            .to_owned()
    }

    /// A text column compared and sorted byte by byte on every backend, so that ordering and
    /// uniqueness do not depend on the server's locale.
    pub fn binary_collated<T: IntoIden>(
        name: T,
        len: u32,
        backend: sea_orm::DbBackend,
    ) -> ColumnDef {
        let mut column = ColumnDef::new(name).string_len(len).not_null().to_owned();
        match backend {
            sea_orm::DbBackend::Postgres => column.extra("COLLATE \"C\""),
            sea_orm::DbBackend::MySql => column.extra("COLLATE utf8mb4_bin"),
            _ => &mut column,
        };
        column
    }
}
