//! The summaries' metrics: outcomes, tokens and the model's latency.

use std::time::Duration;

use prometheus::{Histogram, HistogramOpts, IntCounterVec, Opts};

#[derive(Clone)]
pub struct SummaryMetrics {
    outcomes: IntCounterVec,
    tokens: IntCounterVec,
    model_seconds: Histogram,
}

impl SummaryMetrics {
    pub fn new(metrics: &platform::metrics::Metrics) -> Self {
        let outcomes = platform::metrics::defined(IntCounterVec::new(
            Opts::new(
                "summaries_total",
                "Summary requests handled by the worker, by outcome: ready, failed (stored as \
                 failed), skipped (already ready, or the document changed), retry, rejected.",
            ),
            &["outcome"],
        ));
        let tokens = platform::metrics::defined(IntCounterVec::new(
            Opts::new(
                "summary_tokens_total",
                "Tokens the summary model used, by kind (prompt, completion), as it reports them.",
            ),
            &["kind"],
        ));
        let model_seconds = platform::metrics::defined(Histogram::with_opts(
            HistogramOpts::new(
                "summary_model_request_duration_seconds",
                "Time of one call to the summary model, answered or not.",
            )
            .buckets(vec![0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0]),
        ));
        metrics.register(Box::new(outcomes.clone()));
        metrics.register(Box::new(tokens.clone()));
        metrics.register(Box::new(model_seconds.clone()));
        for outcome in ["ready", "failed", "skipped", "retry", "rejected"] {
            outcomes.with_label_values(&[outcome]);
        }
        for kind in ["prompt", "completion"] {
            tokens.with_label_values(&[kind]);
        }
        Self {
            outcomes,
            tokens,
            model_seconds,
        }
    }

    pub fn outcome(&self, outcome: &str) {
        self.outcomes.with_label_values(&[outcome]).inc();
    }

    pub fn tokens(&self, prompt: u64, completion: u64) {
        self.tokens.with_label_values(&["prompt"]).inc_by(prompt);
        self.tokens
            .with_label_values(&["completion"])
            .inc_by(completion);
    }

    pub fn model_call(&self, took: Duration) {
        self.model_seconds.observe(took.as_secs_f64());
    }
}
