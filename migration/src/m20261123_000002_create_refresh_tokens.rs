//! Refresh tokens: stored as hashes, grouped in families for reuse detection, with a sliding
//! expiry and an absolute cap per family.

use sea_orm_migration::prelude::*;

use crate::columns;
use crate::m20261123_000001_create_users::Users;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        manager
            .create_table(
                Table::create()
                    .table(RefreshTokens::Table)
                    .col(columns::id(RefreshTokens::Id, backend))
                    .col(columns::id_ref(RefreshTokens::UserId, backend))
                    .col(columns::id_ref(RefreshTokens::FamilyId, backend))
                    .col(
                        ColumnDef::new(RefreshTokens::TokenHash)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(columns::timestamp(RefreshTokens::CreatedAt, backend))
                    .col(columns::timestamp(RefreshTokens::ExpiresAt, backend))
                    .col(columns::timestamp(RefreshTokens::FamilyExpiresAt, backend))
                    .col(columns::timestamp_null(RefreshTokens::UsedAt, backend))
                    .col(columns::timestamp_null(RefreshTokens::RevokedAt, backend))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_refresh_tokens_user")
                            .from(RefreshTokens::Table, RefreshTokens::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_refresh_tokens_hash")
                    .table(RefreshTokens::Table)
                    .col(RefreshTokens::TokenHash)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_refresh_tokens_family")
                    .table(RefreshTokens::Table)
                    .col(RefreshTokens::FamilyId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_refresh_tokens_user")
                    .table(RefreshTokens::Table)
                    .col(RefreshTokens::UserId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(RefreshTokens::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum RefreshTokens {
    Table,
    Id,
    UserId,
    FamilyId,
    TokenHash,
    CreatedAt,
    ExpiresAt,
    FamilyExpiresAt,
    UsedAt,
    RevokedAt,
}
