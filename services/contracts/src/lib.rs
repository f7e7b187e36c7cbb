//! What crosses a process boundary between bookstore components: the domain events and their
//! versions ([`events`]), the ids they carry ([`ids`]), the consumers and their queues ([`consumers`]), and the bodies of the
//! service-to-service endpoints with their statuses ([`inventory`], [`orders`], [`catalog`]).
//! The sending and the receiving side use the same types, so a change that breaks a contract
//! fails to compile instead of failing in production.

pub mod catalog;
pub mod consumers;
pub mod events;
pub mod ids;
pub mod inventory;
pub mod orders;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use ids::{BookId, OrderId, UserId};

/// Units of one book: a line of an order, of its `order.placed` event and of a reservation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Line {
    pub book_id: BookId,
    pub quantity: u32,
}
