//! The domain events components exchange, with their kinds and schema versions. A payload's
//! shape changes only by adding optional fields; anything else is a new schema version.

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::messaging::Envelope;

/// An event type: its kind (routing key) and current schema version.
pub trait Event: Serialize + DeserializeOwned {
    const KIND: &'static str;
    const VERSION: u32;

    /// The event in an envelope, in the current trace.
    fn envelope(&self) -> Result<Envelope, serde_json::Error> {
        Envelope::new(Self::KIND, Self::VERSION, self)
    }
}

/// One line of an order as the pipeline needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineRef {
    pub book_id: String,
    pub quantity: u32,
}

/// An order was placed and waits for stock (`pending`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderPlaced {
    pub order_id: String,
    pub user_id: String,
    pub lines: Vec<LineRef>,
    pub placed_at: DateTime<Utc>,
}

impl Event for OrderPlaced {
    const KIND: &'static str = "order.placed";
    const VERSION: u32 = 1;
}

impl OrderPlaced {
    /// The status of an order just placed. `order.placed` announces it: no
    /// `order.status_changed` is written for it.
    pub const STATUS: &'static str = "pending";
}

/// An order moved to a new status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderStatusChanged {
    pub order_id: String,
    pub user_id: String,
    pub status: String,
    pub reason: Option<String>,
    pub at: DateTime<Utc>,
}

impl Event for OrderStatusChanged {
    const KIND: &'static str = "order.status_changed";
    const VERSION: u32 = 1;
}

/// An order was cancelled: its reservation, if any, must be given back. Written next to the
/// `order.status_changed` of the cancellation, so that the consumer returning stock gets only
/// the changes it acts on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderCancelled {
    pub order_id: String,
    pub user_id: String,
    pub reason: Option<String>,
    pub at: DateTime<Utc>,
}

impl Event for OrderCancelled {
    const KIND: &'static str = "order.cancelled";
    const VERSION: u32 = 1;
}

/// The units available of a book changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockChanged {
    pub book_id: String,
    pub available: i64,
    pub at: DateTime<Utc>,
}

impl Event for StockChanged {
    const KIND: &'static str = "stock.changed";
    const VERSION: u32 = 1;
}
