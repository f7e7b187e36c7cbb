//! What one customer may hold and place, so that no account can take the shop's stock: units of
//! one book and units in all in open orders (pending, or completed and not yet shipped), orders
//! pending at once, and new orders a minute.

use std::collections::HashMap;
use std::sync::Arc;

use platform::error::ConflictCode;
use platform::rate_limit::RateLimiter;
use platform::{ApiError, ErrorCode};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, JoinType, PaginatorTrait, QueryFilter, QuerySelect,
    RelationTrait,
};

use crate::entity::{order, order_line};
use crate::status::OrderStatus;

/// The limits of one customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderLimits {
    /// Units of one book held in open orders.
    pub units_per_book: i64,
    /// Units of all books held in open orders.
    pub units: i64,
    /// Orders pending at once.
    pub pending_orders: u64,
    /// New orders a minute (per process).
    pub orders_per_minute: u32,
}

impl Default for OrderLimits {
    fn default() -> Self {
        Self {
            units_per_book: 100,
            units: 500,
            pending_orders: 20,
            orders_per_minute: 60,
        }
    }
}

/// The statuses of open orders: their units are held for the customer.
const OPEN: [OrderStatus; 2] = [OrderStatus::Pending, OrderStatus::Completed];

/// Checks new orders against the limits.
#[derive(Clone)]
pub struct Limiter {
    limits: OrderLimits,
    rate: Arc<RateLimiter>,
}

impl Limiter {
    pub fn new(limits: OrderLimits) -> Self {
        Self {
            rate: Arc::new(RateLimiter::new(limits.orders_per_minute)),
            limits,
        }
    }

    /// Whether `user_id` may place a new order of `lines` (book id, quantity): `429` beyond the
    /// rate, `409 order_limit` beyond a holding, naming the limit. Two orders of one customer
    /// checked at the same moment may together pass a holding limit by one order's units.
    pub async fn check(
        &self,
        db: &impl ConnectionTrait,
        user_id: &str,
        lines: &[(&str, i64)],
    ) -> Result<(), ApiError> {
        self.rate.take(&format!("orders of {user_id}"))?;
        let limits = self.limits;
        let pending = order::Entity::find()
            .filter(order::Column::UserId.eq(user_id))
            .filter(order::Column::Status.eq(OrderStatus::Pending))
            .count(db)
            .await?;
        if pending >= limits.pending_orders {
            return Err(reached(format!(
                "you have {pending} orders still pending, the most at once; place this one when \
                 they are processed"
            )));
        }
        // Bounded by the limits themselves: a customer never holds more than `units` lines.
        let held: Vec<(String, i32)> = order_line::Entity::find()
            .select_only()
            .column(order_line::Column::BookId)
            .column(order_line::Column::Quantity)
            .join(JoinType::InnerJoin, order_line::Relation::Order.def())
            .filter(order::Column::UserId.eq(user_id))
            .filter(order::Column::Status.is_in(OPEN))
            .into_tuple()
            .all(db)
            .await?;
        let mut per_book: HashMap<&str, i64> = HashMap::new();
        for (book_id, quantity) in &held {
            *per_book.entry(book_id.as_str()).or_default() += i64::from(*quantity);
        }
        let held_units: i64 = per_book.values().sum();
        let new_units: i64 = lines.iter().map(|(_, quantity)| quantity).sum();
        if held_units + new_units > limits.units {
            return Err(reached(format!(
                "you hold {held_units} units in open orders (pending, or completed and not yet \
                 shipped); with these {new_units} that is over the {} a customer may hold",
                limits.units
            )));
        }
        let mut wanted: HashMap<&str, i64> = HashMap::new();
        for (book_id, quantity) in lines {
            *wanted.entry(book_id).or_default() += quantity;
        }
        for (book_id, quantity) in wanted {
            let held = per_book.get(book_id).copied().unwrap_or(0);
            if held + quantity > limits.units_per_book {
                return Err(reached(format!(
                    "you hold {held} units of book {book_id} in open orders; with {quantity} \
                     more that is over the {} of one book a customer may hold",
                    limits.units_per_book
                )));
            }
        }
        Ok(())
    }
}

/// A new order would take the customer past one of their limits.
pub const ORDER_LIMIT: ConflictCode = ConflictCode {
    code: "order_limit",
    title: "Order limit reached",
};

fn reached(detail: String) -> ApiError {
    ApiError::new(ErrorCode::ServiceConflict(ORDER_LIMIT), detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_limit_is_in_the_error_catalogue() {
        assert!(ORDER_LIMIT.is_listed_in(include_str!("../../../docs/errors.md")));
    }
}
