//! Refresh tokens by the time they were revoked: the users service reads the sessions ended
//! within an access token's lifetime every few seconds, from this index rather than the table.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(REVOKED_AT)
                    .table(RefreshTokens::Table)
                    .col(RefreshTokens::RevokedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name(REVOKED_AT)
                    .table(RefreshTokens::Table)
                    .to_owned(),
            )
            .await
    }
}

const REVOKED_AT: &str = "ix_refresh_tokens_revoked_at";

#[derive(DeriveIden)]
enum RefreshTokens {
    Table,
    RevokedAt,
}
