//! Orders of one status in creation order, from one index: a page of the admin's list filtered
//! by status reads only the rows it returns. With the index on status alone it read every order
//! of that status (and, until a vacuum, every earlier version of those rows) and sorted them.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(STATUS_CREATED)
                    .table(Orders::Table)
                    .col(Orders::Status)
                    .col(Orders::CreatedAt)
                    .col(Orders::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(Index::drop().name(STATUS).table(Orders::Table).to_owned())
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(STATUS)
                    .table(Orders::Table)
                    .col(Orders::Status)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name(STATUS_CREATED)
                    .table(Orders::Table)
                    .to_owned(),
            )
            .await
    }
}

/// The index this migration makes, and the one it replaces.
const STATUS_CREATED: &str = "ix_orders_status_created";
const STATUS: &str = "ix_orders_status";

#[derive(DeriveIden)]
enum Orders {
    Table,
    Status,
    CreatedAt,
    Id,
}
