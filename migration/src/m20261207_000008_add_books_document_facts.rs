//! What the catalogue knows of a book's uploaded document without reading it: its kind (for the
//! content type and the download name), its size and its SHA-256 (which identifies one upload,
//! for the summaries made from it).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters a table one column at a time.
        for column in [
            ColumnDef::new(Books::DocumentKind)
                .string_len(16)
                .null()
                .to_owned(),
            ColumnDef::new(Books::DocumentBytes)
                .big_integer()
                .null()
                .to_owned(),
            ColumnDef::new(Books::DocumentSha256)
                .string_len(64)
                .null()
                .to_owned(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Books::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            Books::DocumentKind,
            Books::DocumentBytes,
            Books::DocumentSha256,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Books::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Books {
    Table,
    DocumentKind,
    DocumentBytes,
    DocumentSha256,
}
