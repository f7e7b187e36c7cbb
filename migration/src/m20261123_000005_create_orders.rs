//! Orders: the order with its status, its lines (title and price copied at purchase time), the
//! per-user idempotency key, and the orders outbox.

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
                    .table(Orders::Table)
                    .col(columns::id(Orders::Id, backend))
                    .col(columns::id_ref(Orders::UserId, backend))
                    .col(ColumnDef::new(Orders::Status).string_len(16).not_null())
                    .col(ColumnDef::new(Orders::Reason).string_len(64).null())
                    .col(
                        ColumnDef::new(Orders::TotalCents)
                            .big_integer()
                            .not_null()
                            .check(Expr::col(Orders::TotalCents).gte(0)),
                    )
                    // Byte-wise, so that keys differing in case or trailing spaces stay distinct
                    // on MySQL/MariaDB as they are elsewhere.
                    .col(columns::binary_collated_null(
                        Orders::IdempotencyKey,
                        100,
                        backend,
                    ))
                    .col(columns::timestamp(Orders::CreatedAt, backend))
                    .col(columns::timestamp(Orders::UpdatedAt, backend))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_orders_idempotency")
                    .table(Orders::Table)
                    .col(Orders::UserId)
                    .col(Orders::IdempotencyKey)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_orders_user_created")
                    .table(Orders::Table)
                    .col(Orders::UserId)
                    .col(Orders::CreatedAt)
                    .col(Orders::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_orders_created")
                    .table(Orders::Table)
                    .col(Orders::CreatedAt)
                    .col(Orders::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_orders_status")
                    .table(Orders::Table)
                    .col(Orders::Status)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(OrderLines::Table)
                    .col(columns::id_ref(OrderLines::OrderId, backend))
                    .col(ColumnDef::new(OrderLines::LineNo).integer().not_null())
                    .col(columns::id_ref(OrderLines::BookId, backend))
                    .col(ColumnDef::new(OrderLines::Title).string_len(300).not_null())
                    .col(
                        ColumnDef::new(OrderLines::UnitPriceCents)
                            .big_integer()
                            .not_null()
                            .check(Expr::col(OrderLines::UnitPriceCents).gte(0)),
                    )
                    .col(
                        ColumnDef::new(OrderLines::Quantity)
                            .integer()
                            .not_null()
                            .check(Expr::col(OrderLines::Quantity).gt(0)),
                    )
                    .primary_key(
                        Index::create()
                            .col(OrderLines::OrderId)
                            .col(OrderLines::LineNo),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_order_lines_order")
                            .from(OrderLines::Table, OrderLines::OrderId)
                            .to(Orders::Table, Orders::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_order_lines_book")
                    .table(OrderLines::Table)
                    .col(OrderLines::BookId)
                    .to_owned(),
            )
            .await?;
        outbox::create(manager, "orders_outbox").await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        outbox::drop(manager, "orders_outbox").await?;
        manager
            .drop_table(Table::drop().table(OrderLines::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Orders::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Orders {
    Table,
    Id,
    UserId,
    Status,
    Reason,
    TotalCents,
    IdempotencyKey,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum OrderLines {
    Table,
    OrderId,
    LineNo,
    BookId,
    Title,
    UnitPriceCents,
    Quantity,
}
