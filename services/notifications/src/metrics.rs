//! The gateway's metrics: sockets connected, events pushed, push latency, refusals, duplicates.

use chrono::{DateTime, Utc};
use platform::metrics::defined;
use prometheus::{Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts};

/// Registered once per process in its registry.
#[derive(Clone)]
pub struct GatewayMetrics {
    pub sockets: IntGauge,
    pub events: IntCounterVec,
    pub latency: Histogram,
    pub refusals: IntCounterVec,
    pub duplicates: IntCounter,
}

impl GatewayMetrics {
    pub fn new(registry: &platform::metrics::Metrics) -> Self {
        let metrics = Self {
            sockets: defined(IntGauge::new(
                "notifications_sockets_connected",
                "Socket.IO clients connected to this gateway.",
            )),
            events: defined(IntCounterVec::new(
                Opts::new(
                    "notifications_events_pushed_total",
                    "Order status changes pushed to clients, by status.",
                ),
                &["status"],
            )),
            latency: defined(Histogram::with_opts(
                HistogramOpts::new(
                    "notifications_push_latency_seconds",
                    "Time from an order's status change to its push to the clients.",
                )
                .buckets(vec![
                    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
                ]),
            )),
            refusals: defined(IntCounterVec::new(
                Opts::new(
                    "notifications_connections_refused_total",
                    "Connections refused at the handshake, by reason.",
                ),
                &["reason"],
            )),
            duplicates: defined(IntCounter::new(
                "notifications_duplicate_events_total",
                "Status changes delivered again by the bus and not pushed a second time.",
            )),
        };
        registry.register(Box::new(metrics.sockets.clone()));
        registry.register(Box::new(metrics.events.clone()));
        registry.register(Box::new(metrics.latency.clone()));
        registry.register(Box::new(metrics.refusals.clone()));
        registry.register(Box::new(metrics.duplicates.clone()));
        metrics
    }

    pub fn pushed(&self, status: &str, changed_at: DateTime<Utc>) {
        self.events.with_label_values(&[status]).inc();
        let latency = (Utc::now() - changed_at).num_microseconds().unwrap_or(0);
        self.latency.observe(latency.max(0) as f64 / 1e6);
    }

    pub fn refused(&self, reason: &str) {
        self.refusals.with_label_values(&[reason]).inc();
    }
}
