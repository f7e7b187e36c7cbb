//! The orders service's side of the pipeline: an order's statuses, and the bodies of
//! `POST /api/v1/orders/statuses`, through which the order worker settles orders in batches.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use platform::error::Problem;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::OrderId;

/// Where an order is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(
    feature = "entity",
    derive(sea_orm::EnumIter, sea_orm::DeriveActiveEnum)
)]
#[cfg_attr(
    feature = "entity",
    sea_orm(
        rs_type = "String",
        db_type = "String(sea_orm::sea_query::StringLen::N(16))",
        rename_all = "lowercase"
    )
)]
pub enum OrderStatus {
    /// Placed, waiting for the worker to reserve its stock.
    Pending,
    /// Stock reserved.
    Completed,
    /// Stock could not be reserved (`reason` says why).
    Failed,
    /// Cancelled by its owner or an admin.
    Cancelled,
    /// Handed to the carrier.
    Shipped,
    /// Arrived.
    Delivered,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 6] = [
        Self::Pending,
        Self::Completed,
        Self::Failed,
        Self::Cancelled,
        Self::Shipped,
        Self::Delivered,
    ];

    /// The statuses of an order whose books the customer has bought: paid for and never
    /// cancelled (a bought ebook may be downloaded).
    pub const BOUGHT: [OrderStatus; 3] = [Self::Completed, Self::Shipped, Self::Delivered];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
            Self::Shipped => "shipped",
            Self::Delivered => "delivered",
        }
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for OrderStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| {
                "must be one of pending, completed, failed, cancelled, shipped, delivered".into()
            })
    }
}

/// An order's status alone, for cheap polling.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StatusView {
    pub id: OrderId,
    pub status: OrderStatus,
    pub reason: Option<String>,
    pub updated_at: DateTime<Utc>,
}

/// The most status changes one batch may carry.
pub const MAX_STATUS_BATCH: usize = 100;

/// One order's new status in a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusChangeRequest {
    pub order_id: OrderId,
    pub status: OrderStatus,
    /// As for a single order: required with `failed`, else absent (1 to 64 characters, not
    /// only spaces, no control characters).
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub reason: Option<String>,
}

/// The body of `POST /api/v1/orders/statuses`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusBatch {
    /// 1 to 100 changes, each decided on its own.
    #[schema(min_items = 1, max_items = 100)]
    pub changes: Vec<StatusChangeRequest>,
}

/// One change's outcome in a batch: the order's status as it now is (changed or, when it
/// already had it, unchanged), or the problem the single endpoint would have answered (404, 409,
/// 422, or 503 `unavailable` when the order kept changing: try that change again), which changed
/// nothing.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StatusOutcome {
    pub order: Option<StatusView>,
    pub problem: Option<Problem>,
}

/// The answer to a batch of status changes: one outcome per change, in the order sent.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StatusBatchAnswer {
    pub results: Vec<StatusOutcome>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_as_lower_case_text() {
        for status in OrderStatus::ALL {
            assert_eq!(status.as_str().parse::<OrderStatus>(), Ok(status));
            assert_eq!(
                serde_json::to_value(status).unwrap(),
                serde_json::json!(status.as_str())
            );
        }
        assert!("Pending".parse::<OrderStatus>().is_err());
        assert!("".parse::<OrderStatus>().is_err());
    }
}
