//! The domain events components exchange, with their kinds and schema versions (the [`Event`]
//! trait). A payload's shape changes only by adding optional fields; anything else is a new
//! schema version, which its consumers must learn to read before any producer writes it.

use chrono::{DateTime, Utc};
pub use platform::auth::SessionsEnded;
pub use platform::messaging::Event;
use serde::{Deserialize, Serialize};

use crate::orders::OrderStatus;
use crate::{BookId, Line, OrderId, UserId};

/// An order was placed and waits for stock (`pending`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderPlaced {
    pub order_id: OrderId,
    pub user_id: UserId,
    pub lines: Vec<Line>,
    pub placed_at: DateTime<Utc>,
}

impl Event for OrderPlaced {
    const KIND: &'static str = "order.placed";
    const VERSION: u32 = 1;
}

impl OrderPlaced {
    /// The status of an order just placed. `order.placed` announces it: no
    /// `order.status_changed` is written for it.
    pub const STATUS: OrderStatus = OrderStatus::Pending;
}

/// An order moved to a new status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderStatusChanged {
    pub order_id: OrderId,
    pub user_id: UserId,
    pub status: OrderStatus,
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
    pub order_id: OrderId,
    pub user_id: UserId,
    pub reason: Option<String>,
    pub at: DateTime<Utc>,
}

impl Event for OrderCancelled {
    const KIND: &'static str = "order.cancelled";
    const VERSION: u32 = 1;
}

/// A summary of a book's document is wanted: the document was uploaded, or an admin asked
/// again. Written by the catalogue next to the book's `pending` summary state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookSummaryRequested {
    pub book_id: BookId,
    /// The document to summarise; a request for a document since replaced is dropped.
    pub document_sha256: String,
    pub requested_at: DateTime<Utc>,
}

impl Event for BookSummaryRequested {
    const KIND: &'static str = "book.summary_requested";
    const VERSION: u32 = 1;
}

/// A book's summary was settled, ready or failed. Written by the catalogue when the worker
/// stores the outcome; the notification gateway tells the admins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookSummaryReady {
    pub book_id: BookId,
    /// `ready` or `failed`.
    pub status: String,
    /// What made the summary (`extractive` or `model`), when it is ready.
    pub method: Option<String>,
    /// Why it failed, when it did.
    pub reason: Option<String>,
    pub at: DateTime<Utc>,
}

impl Event for BookSummaryReady {
    const KIND: &'static str = "book.summary_ready";
    const VERSION: u32 = 1;
}

/// The units available of some books changed, all in one inventory transaction: a batch of
/// reservations announces every book it took from in one event rather than one event per book.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockChanged {
    /// The books and their new counts, each book once.
    pub books: Vec<StockLevel>,
    pub at: DateTime<Utc>,
}

/// A book's units available after a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockLevel {
    pub book_id: BookId,
    pub available: i64,
}

impl StockLevel {
    pub fn new(book_id: impl Into<BookId>, available: i64) -> Self {
        Self {
            book_id: book_id.into(),
            available,
        }
    }
}

impl Event for StockChanged {
    const KIND: &'static str = "stock.changed";
    const VERSION: u32 = 2;
}
