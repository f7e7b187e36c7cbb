//! When the catalogue's availability of a book was last set from inventory, so that a
//! `stock.changed` event arriving late never overwrites a newer one.

use sea_orm_migration::prelude::*;

use crate::columns;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        manager
            .alter_table(
                Table::alter()
                    .table(Books::Table)
                    .add_column(columns::timestamp_null(Books::AvailableAt, backend))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Books::Table)
                    .drop_column(Books::AvailableAt)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Books {
    Table,
    AvailableAt,
}
