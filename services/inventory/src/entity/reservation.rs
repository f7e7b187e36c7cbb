//! The `reservations` table: inventory's answer for each order, keyed by order id. The primary
//! key is what makes a reservation idempotent: a second attempt for the same order cannot insert
//! a second row, and reads the first answer instead.

use contracts::inventory::ReservationStatus;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "reservations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub order_id: String,
    /// Stored as `reserved`, `rejected` or `released`.
    pub status: ReservationStatus,
    /// Why a reservation was rejected (`out_of_stock`).
    pub reason: Option<String>,
    /// JSON array of `{book_id, quantity}`: what was asked for, merged and sorted by book id.
    pub lines: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
