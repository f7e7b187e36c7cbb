//! What the catalogue knows of a book's uploaded document without reading it: its kind (for the
//! content type and the download name), its size and its SHA-256 (which identifies one upload,
//! for the summaries made from it).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::add_columns(
            manager,
            Books::Table,
            vec![
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
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::drop_columns(
            manager,
            Books::Table,
            [
                Books::DocumentKind,
                Books::DocumentBytes,
                Books::DocumentSha256,
            ],
        )
        .await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Books {
    Table,
    DocumentKind,
    DocumentBytes,
    DocumentSha256,
}
