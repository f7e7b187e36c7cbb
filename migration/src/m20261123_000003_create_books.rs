//! The catalogue: books with their facts, price, file references and the availability read model.

use sea_orm_migration::prelude::*;

use crate::columns;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        manager
            .create_table(
                Table::create()
                    .table(Books::Table)
                    .col(columns::id(Books::Id, backend))
                    .col(ColumnDef::new(Books::Isbn).string_len(13).not_null())
                    .col(ColumnDef::new(Books::Title).string_len(300).not_null())
                    .col(columns::binary_collated(Books::TitleKey, 300, backend))
                    .col(ColumnDef::new(Books::Authors).text().not_null())
                    .col(columns::binary_collated_text(Books::AuthorsKey, backend))
                    .col(columns::binary_collated_text(Books::SearchText, backend))
                    .col(ColumnDef::new(Books::Publisher).string_len(200).not_null())
                    .col(ColumnDef::new(Books::Format).string_len(16).not_null())
                    .col(ColumnDef::new(Books::Genre).string_len(64).not_null())
                    .col(columns::binary_collated(Books::GenreKey, 64, backend))
                    .col(
                        ColumnDef::new(Books::PriceCents)
                            .big_integer()
                            .not_null()
                            .check(Expr::col(Books::PriceCents).gte(0)),
                    )
                    .col(ColumnDef::new(Books::Description).text().not_null())
                    .col(ColumnDef::new(Books::CoverKey).string_len(200).null())
                    .col(ColumnDef::new(Books::DocumentKey).string_len(200).null())
                    .col(
                        ColumnDef::new(Books::Available)
                            .integer()
                            .not_null()
                            .default(0)
                            .check(Expr::col(Books::Available).gte(0)),
                    )
                    .col(columns::timestamp(Books::CreatedAt, backend))
                    .col(columns::timestamp(Books::UpdatedAt, backend))
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            ("ux_books_isbn", vec![Books::Isbn]),
            ("ix_books_title", vec![Books::TitleKey, Books::Id]),
            ("ix_books_price", vec![Books::PriceCents, Books::Id]),
            ("ix_books_created", vec![Books::CreatedAt, Books::Id]),
            ("ix_books_genre", vec![Books::GenreKey]),
            ("ix_books_format", vec![Books::Format]),
        ] {
            let mut index = Index::create().name(name).table(Books::Table).to_owned();
            for col in cols {
                index.col(col);
            }
            if name.starts_with("ux_") {
                index.unique();
            }
            manager.create_index(index).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Books::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Books {
    Table,
    Id,
    Isbn,
    Title,
    TitleKey,
    Authors,
    AuthorsKey,
    SearchText,
    Publisher,
    Format,
    Genre,
    GenreKey,
    PriceCents,
    Description,
    CoverKey,
    DocumentKey,
    Available,
    CreatedAt,
    UpdatedAt,
}
