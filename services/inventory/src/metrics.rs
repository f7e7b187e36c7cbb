//! The inventory service's metrics: reservation requests by how they were answered.

use platform::metrics::defined;
use prometheus::{IntCounterVec, Opts};

use crate::stock::{Answer, ReservationStatus};

#[derive(Clone)]
pub struct InventoryMetrics {
    reservations: IntCounterVec,
}

impl InventoryMetrics {
    pub fn new(registry: &platform::metrics::Metrics) -> Self {
        let metrics = Self::unregistered();
        registry.register(Box::new(metrics.reservations.clone()));
        metrics
    }

    /// The same metrics, exported nowhere (tools, tests, the OpenAPI document).
    pub fn unregistered() -> Self {
        Self {
            reservations: defined(IntCounterVec::new(
                Opts::new(
                    "stock_reservations_total",
                    "Reservation requests, by answer: reserved, out_of_stock, or repeated (the first answer again).",
                ),
                &["outcome"],
            )),
        }
    }

    pub fn answered(&self, answer: &Answer) {
        let outcome = match (answer.first, answer.view.status) {
            (false, _) => "repeated",
            (true, ReservationStatus::Reserved) => "reserved",
            (true, _) => "out_of_stock",
        };
        self.reservations.with_label_values(&[outcome]).inc();
    }
}
