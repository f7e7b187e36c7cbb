//! Inventory: units available per book (never negative, enforced by the database too), the
//! reservation of each order (one per order: the idempotency key), and inventory's outbox.

use sea_orm_migration::prelude::*;

use crate::{columns, outbox};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        manager
            .create_table(
                Table::create()
                    .table(Stock::Table)
                    .col(columns::id(Stock::BookId, backend))
                    .col(
                        ColumnDef::new(Stock::Available)
                            .big_integer()
                            .not_null()
                            .default(0)
                            .check(Expr::col(Stock::Available).gte(0)),
                    )
                    .col(columns::timestamp(Stock::UpdatedAt, backend))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Reservations::Table)
                    .col(columns::id(Reservations::OrderId, backend))
                    .col(
                        ColumnDef::new(Reservations::Status)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(ColumnDef::new(Reservations::Reason).string_len(64).null())
                    .col(ColumnDef::new(Reservations::Lines).text().not_null())
                    .col(columns::timestamp(Reservations::CreatedAt, backend))
                    .col(columns::timestamp(Reservations::UpdatedAt, backend))
                    .to_owned(),
            )
            .await?;
        outbox::create(manager, "inventory_outbox").await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        outbox::drop(manager, "inventory_outbox").await?;
        manager
            .drop_table(Table::drop().table(Reservations::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Stock::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Stock {
    Table,
    BookId,
    Available,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Reservations {
    Table,
    OrderId,
    Status,
    Reason,
    Lines,
    CreatedAt,
    UpdatedAt,
}
