//! Book summaries: each book's summary state and text, and the catalogue's outbox, which carries
//! the summary requests to the worker and the settled summaries to the notification gateway.

use sea_orm_migration::prelude::*;

use crate::{columns, outbox};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The catalogue's outbox table.
const OUTBOX: &str = "catalog_outbox";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        crate::add_columns(
            manager,
            Books::Table,
            vec![
                ColumnDef::new(Books::SummaryStatus)
                    .string_len(16)
                    .not_null()
                    .default("none")
                    .to_owned(),
                ColumnDef::new(Books::SummaryText).text().null().to_owned(),
                ColumnDef::new(Books::SummaryMethod)
                    .string_len(16)
                    .null()
                    .to_owned(),
                ColumnDef::new(Books::SummaryModel)
                    .string_len(200)
                    .null()
                    .to_owned(),
                ColumnDef::new(Books::SummaryReason)
                    .string_len(500)
                    .null()
                    .to_owned(),
                ColumnDef::new(Books::SummarySha256)
                    .string_len(64)
                    .null()
                    .to_owned(),
                columns::timestamp_null(Books::SummaryAt, backend),
            ],
        )
        .await?;
        outbox::create(manager, OUTBOX).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        outbox::drop(manager, OUTBOX).await?;
        crate::drop_columns(
            manager,
            Books::Table,
            [
                Books::SummaryStatus,
                Books::SummaryText,
                Books::SummaryMethod,
                Books::SummaryModel,
                Books::SummaryReason,
                Books::SummarySha256,
                Books::SummaryAt,
            ],
        )
        .await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Books {
    Table,
    SummaryStatus,
    SummaryText,
    SummaryMethod,
    SummaryModel,
    SummaryReason,
    SummarySha256,
    SummaryAt,
}
