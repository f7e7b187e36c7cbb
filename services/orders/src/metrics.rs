//! The orders service's metrics: orders placed, orders leaving `pending` by final status, and
//! how long that took.

use platform::metrics::defined;
use prometheus::{Histogram, HistogramOpts, IntCounter, IntCounterVec, Opts};

use crate::orders::Transitioned;
use crate::status::OrderStatus;

#[derive(Clone)]
pub struct OrdersMetrics {
    placed: IntCounter,
    finalised: IntCounterVec,
    placed_to_final: Histogram,
}

impl OrdersMetrics {
    pub fn new(registry: &platform::metrics::Metrics) -> Self {
        let metrics = Self::unregistered();
        registry.register(Box::new(metrics.placed.clone()));
        registry.register(Box::new(metrics.finalised.clone()));
        registry.register(Box::new(metrics.placed_to_final.clone()));
        metrics
    }

    /// The same metrics, exported nowhere (tools, tests, the OpenAPI document).
    pub fn unregistered() -> Self {
        Self {
            placed: defined(IntCounter::new(
                "orders_placed_total",
                "Orders placed (idempotent repeats not counted again).",
            )),
            finalised: defined(IntCounterVec::new(
                Opts::new(
                    "orders_finalised_total",
                    "Orders that left pending, by the status they reached (completed, failed, cancelled).",
                ),
                &["status"],
            )),
            placed_to_final: defined(Histogram::with_opts(
                HistogramOpts::new(
                    "order_placed_to_final_seconds",
                    "Time from placing an order to it leaving pending.",
                )
                .buckets(vec![
                    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
                    300.0,
                ]),
            )),
        }
    }

    pub fn placed(&self) {
        self.placed.inc();
    }

    /// Records a status change that took an order out of `pending`.
    pub fn transitioned(&self, outcome: &Transitioned) {
        if !outcome.changed || outcome.from != OrderStatus::Pending {
            return;
        }
        let row = &outcome.row;
        self.finalised
            .with_label_values(&[row.status.as_str()])
            .inc();
        let took = (row.updated_at - row.created_at)
            .num_microseconds()
            .unwrap_or(0)
            .max(0);
        self.placed_to_final.observe(took as f64 / 1e6);
    }
}
