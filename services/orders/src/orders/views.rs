//! What clients send and see of orders, and how a stored order becomes what they see.

use chrono::{DateTime, Utc};
use platform::ApiError;
use platform::money::Money;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::storage::StoredOrder;
use crate::entity::order;
use crate::status::OrderStatus;

/// A new order. Only books and quantities: titles and prices come from the catalogue, and a
/// body that tries to send them is refused (unknown fields).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlaceOrder {
    /// 1 to 50 lines, each book at most once.
    #[schema(min_items = 1, max_items = 50)]
    pub lines: Vec<LineRequest>,
}

/// One line of a new order.
#[derive(Debug, Clone, Deserialize, ToSchema)]
// Named apart from inventory's `LineRequest`: one component name for both hid one of them.
#[schema(as = OrderLineRequest)]
#[serde(deny_unknown_fields)]
pub struct LineRequest {
    pub book_id: String,
    /// 1 to 100 units. Read as a wide integer so that 0 or 101 get a message naming the line
    /// rather than a type error.
    #[schema(minimum = 1, maximum = 100)]
    #[serde(deserialize_with = "platform::extract::whole_number")]
    pub quantity: i64,
}

/// An order as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OrderView {
    pub id: String,
    pub user_id: String,
    pub status: OrderStatus,
    /// Why the order failed or was cancelled, when known (e.g. `out_of_stock`).
    pub reason: Option<String>,
    pub lines: Vec<OrderLineView>,
    pub total: Money,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One line of an order, with the title and unit price copied at purchase time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OrderLineView {
    pub book_id: String,
    pub title: String,
    pub unit_price: Money,
    pub quantity: u32,
    pub line_total: Money,
}

pub use contracts::orders::StatusView;

/// An order row's status alone.
pub fn status_view(row: &order::Model) -> StatusView {
    StatusView {
        id: row.id.clone().into(),
        status: row.status,
        reason: row.reason.clone(),
        updated_at: row.updated_at,
    }
}

fn money(cents: i64) -> Result<Money, ApiError> {
    Money::from_cents(cents)
        .map_err(|err| ApiError::internal(anyhow::anyhow!("stored amount {cents}: {err}")))
}

impl TryFrom<StoredOrder> for OrderView {
    type Error = ApiError;

    fn try_from(order: StoredOrder) -> Result<Self, ApiError> {
        let status = order.status();
        let lines = order
            .lines
            .into_iter()
            .map(|line| {
                Ok(OrderLineView {
                    unit_price: money(line.unit_price_cents)?,
                    line_total: money(line.unit_price_cents * i64::from(line.quantity))?,
                    quantity: u32::try_from(line.quantity).map_err(ApiError::internal)?,
                    book_id: line.book_id,
                    title: line.title,
                })
            })
            .collect::<Result<_, ApiError>>()?;
        Ok(Self {
            total: money(order.row.total_cents)?,
            id: order.row.id,
            user_id: order.row.user_id,
            status,
            reason: order.row.reason,
            lines,
            created_at: order.row.created_at,
            updated_at: order.row.updated_at,
        })
    }
}
