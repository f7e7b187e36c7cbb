//! The bookstore's durable consumers: their names (which name their queues) and the events each
//! is bound to. Both buses are built from [`topology`]; the broker definitions shipped for
//! Kubernetes are generated from it.

use platform::messaging::ConsumerSpec;
use platform::messaging::Event;
use platform::messaging::topology::{Renamed, Topology};

use crate::events::{BookSummaryRequested, OrderCancelled, OrderPlaced, StockChanged};

/// The worker's consumer that turns placed orders into reservations and final statuses.
pub const ORDER_PLACED_WORKER: &str = "worker.order-placed";
/// The worker's consumer that returns the stock of cancelled orders.
pub const ORDER_CANCELLED_WORKER: &str = "worker.order-cancelled";
/// The name [`ORDER_CANCELLED_WORKER`] had until it was named after the event it consumes: a
/// broker that still holds its queues has them moved on connection.
const ORDER_CANCELLED_WORKER_BEFORE: &str = "worker.order-status";
/// The catalogue's availability read model, fed by inventory.
pub const CATALOG_STOCK: &str = "catalog.stock-changed";
/// The worker's consumer that summarises books' documents.
pub const SUMMARY_WORKER: &str = "worker.book-summary";

/// The notification gateway's subscription to status changes; each replica has its own queue.
pub const NOTIFICATIONS: &str = "notifications";

/// The bookstore's durable consumers, their queues prefixed by `namespace`.
pub fn topology(namespace: &str) -> Topology {
    Topology {
        namespace: namespace.to_owned(),
        consumers: vec![
            ConsumerSpec::new(ORDER_PLACED_WORKER, &[OrderPlaced::KIND]),
            ConsumerSpec::new(ORDER_CANCELLED_WORKER, &[OrderCancelled::KIND]),
            ConsumerSpec::new(CATALOG_STOCK, &[StockChanged::KIND]),
            ConsumerSpec::new(SUMMARY_WORKER, &[BookSummaryRequested::KIND]),
        ],
        renamed: vec![Renamed::new(
            ORDER_CANCELLED_WORKER_BEFORE,
            ORDER_CANCELLED_WORKER,
        )],
    }
}
