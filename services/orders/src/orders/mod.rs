//! Orders as the domain sees them: placing one (validation against the catalogue, the
//! idempotency key, one transaction with its outbox events), reading and listing them, and
//! moving them through the state machine with their `order.status_changed` events.

mod placing;
mod storage;
mod transitions;
mod views;

pub use placing::{OrderWriter, Placed, check_idempotency_key, place, republish_pending};
pub use storage::{
    ListFilter, StoredOrder, find, find_by_idempotency_key, list, newest_with_book, stored,
};
pub use transitions::{StatusChange, Transitioned, check_reason, transition, transition_all};
pub use views::{LineRequest, OrderLineView, OrderView, PlaceOrder, StatusView, status_view};

/// Most lines in one order.
pub const MAX_LINES: usize = 50;
/// Most units of one book in one order.
pub const MAX_QUANTITY: i64 = 100;
/// Longest failure or cancellation reason (the column's size).
pub const MAX_REASON: usize = 64;
/// Longest `Idempotency-Key` (the column's size).
pub const MAX_IDEMPOTENCY_KEY: usize = 100;
