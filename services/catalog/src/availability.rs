//! The catalogue's availability read model: `stock.changed` events from inventory set each
//! book's `available`, newest event wins.

use platform::events::{Event, StockChanged};
use platform::messaging::{Delivery, Handler, Outcome};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter};

use crate::entity::book;

/// Consumes `stock.changed` into the books table.
pub struct StockChangedHandler {
    db: DatabaseConnection,
}

impl StockChangedHandler {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

#[async_trait::async_trait]
impl Handler for StockChangedHandler {
    async fn handle(&self, delivery: &Delivery) -> Outcome {
        let envelope = &delivery.envelope;
        if envelope.kind != StockChanged::KIND || envelope.schema_version != StockChanged::VERSION {
            return Outcome::Reject(format!(
                "expected {} v{}, got {} v{}",
                StockChanged::KIND,
                StockChanged::VERSION,
                envelope.kind,
                envelope.schema_version
            ));
        }
        let change: StockChanged = match envelope.decode() {
            Ok(change) => change,
            Err(err) => return Outcome::Reject(format!("unreadable stock.changed payload: {err}")),
        };
        let available =
            i32::try_from(change.available.clamp(0, i64::from(i32::MAX))).unwrap_or(i32::MAX);
        // Only a newer event moves the count: redeliveries and late arrivals change nothing.
        let result = book::Entity::update_many()
            .col_expr(book::Column::Available, Expr::value(available))
            .col_expr(book::Column::AvailableAt, Expr::value(change.at))
            .filter(book::Column::Id.eq(change.book_id.as_str()))
            .filter(
                Condition::any()
                    .add(book::Column::AvailableAt.is_null())
                    .add(book::Column::AvailableAt.lte(change.at)),
            )
            .exec(&self.db)
            .await;
        match result {
            Ok(_) => Outcome::Ack,
            Err(err) => Outcome::Retry(format!("database: {err}")),
        }
    }
}
