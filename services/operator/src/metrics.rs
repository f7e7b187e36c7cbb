//! The operator's own metrics: reconciliations, their duration, their failures by kind and the
//! conditions they leave, registered in the process's registry and served at `/metrics` with
//! the HTTP metrics.

use std::time::Instant;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use prometheus::{
    HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
};

use crate::Error;

#[derive(Clone)]
pub struct Metrics {
    pub registry: platform::metrics::Metrics,
    reconciliations: IntCounter,
    failures: IntCounterVec,
    duration: HistogramVec,
    conditions: IntGaugeVec,
    leader: IntGauge,
}

impl Metrics {
    pub fn new(registry: platform::metrics::Metrics) -> Self {
        let reconciliations = platform::metrics::defined(IntCounter::new(
            "bookstore_operator_reconciliations_total",
            "Reconciliations of Bookstore resources started.",
        ));
        let failures = platform::metrics::defined(IntCounterVec::new(
            Opts::new(
                "bookstore_operator_reconcile_errors_total",
                "Reconciliations that failed, by kind of error.",
            ),
            &["error"],
        ));
        let duration = platform::metrics::defined(HistogramVec::new(
            HistogramOpts::new(
                "bookstore_operator_reconcile_duration_seconds",
                "Time one reconciliation took.",
            )
            .buckets(vec![0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0]),
            &[],
        ));
        let conditions = platform::metrics::defined(IntGaugeVec::new(
            Opts::new(
                "bookstore_operator_condition",
                "1 while a Bookstore's condition is True, 0 while False, as the last pass left it.",
            ),
            &["bookstore_namespace", "bookstore", "condition"],
        ));
        let leader = platform::metrics::defined(IntGauge::new(
            "bookstore_operator_leader",
            "1 while this instance leads (holds the Lease, or runs without one) and reconciles.",
        ));
        registry.register(Box::new(reconciliations.clone()));
        registry.register(Box::new(leader.clone()));
        registry.register(Box::new(failures.clone()));
        registry.register(Box::new(duration.clone()));
        registry.register(Box::new(conditions.clone()));
        Self {
            registry,
            reconciliations,
            failures,
            duration,
            conditions,
            leader,
        }
    }

    pub fn leading(&self, leading: bool) {
        self.leader.set(i64::from(leading));
    }

    /// Counts a reconciliation; its duration is recorded when the returned guard drops.
    pub fn reconcile_started(&self) -> ReconcileTimer {
        self.reconciliations.inc();
        ReconcileTimer {
            started: Instant::now(),
            duration: self.duration.clone(),
        }
    }

    /// Records a Bookstore's conditions as the last pass left them.
    pub fn conditions(&self, namespace: &str, bookstore: &str, conditions: &[Condition]) {
        for condition in conditions {
            self.conditions
                .with_label_values(&[namespace, bookstore, &condition.type_])
                .set(i64::from(condition.status == "True"));
        }
    }

    pub fn reconcile_failed(&self, error: &Error) {
        self.failures
            .with_label_values(&[error.metric_label()])
            .inc();
    }
}

/// Records how long a reconciliation took when dropped, whichever way it ended.
pub struct ReconcileTimer {
    started: Instant,
    duration: HistogramVec,
}

impl Drop for ReconcileTimer {
    fn drop(&mut self) {
        self.duration
            .with_label_values(&[] as &[&str])
            .observe(self.started.elapsed().as_secs_f64());
    }
}
