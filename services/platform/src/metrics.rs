//! The process's Prometheus registry and the HTTP metrics every component records.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

/// One registry per process, holding every metric the process exposes at `/metrics`.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    http: Arc<HttpMetrics>,
}

struct HttpMetrics {
    requests: IntCounterVec,
    duration: HistogramVec,
    in_flight: IntGauge,
    panics: IntCounter,
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let requests = defined(IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "HTTP requests handled, by route template, method and status.",
            ),
            &["route", "method", "status"],
        ));
        let duration = defined(HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "HTTP request latency, by route template and method.",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ]),
            &["route", "method"],
        ));
        let in_flight = defined(IntGauge::new(
            "http_requests_in_flight",
            "HTTP requests being handled now.",
        ));
        let panics = defined(IntCounter::new(
            "http_handler_panics_total",
            "Requests whose handler panicked (each answered 500 problem+json).",
        ));
        let metrics = Self {
            registry,
            http: Arc::new(HttpMetrics {
                requests,
                duration,
                in_flight,
                panics,
            }),
        };
        metrics.register(Box::new(metrics.http.requests.clone()));
        metrics.register(Box::new(metrics.http.duration.clone()));
        metrics.register(Box::new(metrics.http.in_flight.clone()));
        metrics.register(Box::new(metrics.http.panics.clone()));
        metrics
    }

    /// Adds a collector. Registering the same metric name twice is a programming error.
    pub fn register(&self, collector: Box<dyn prometheus::core::Collector>) {
        if let Err(err) = self.registry.register(collector) {
            tracing::error!(error = %err, "Metric registration failed.");
        }
    }

    /// Counts a request whose handler panicked.
    pub fn handler_panicked(&self) {
        self.http.panics.inc();
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The registry in the Prometheus text format.
    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        if let Err(err) = TextEncoder::new().encode(&self.registry.gather(), &mut buffer) {
            tracing::error!(error = %err, "Metric encoding failed.");
        }
        String::from_utf8(buffer).unwrap_or_default()
    }
}

/// Unwraps a metric built from a static definition, which cannot fail.
pub fn defined<T>(metric: prometheus::Result<T>) -> T {
    metric.unwrap_or_else(|err| unreachable!("static metric definition: {err}"))
}

/// Registers `bookstore_build_info{component,version,commit} 1`, which says what runs where.
pub fn build_info(registry: &Metrics, component: &str, commit: &str) {
    let info = defined(IntGaugeVec::new(
        Opts::new(
            "bookstore_build_info",
            "Always 1; its labels name the component, the version and the commit it was built from.",
        ),
        &["component", "version", "commit"],
    ));
    info.with_label_values(&[component, env!("CARGO_PKG_VERSION"), commit])
        .set(1);
    registry.register(Box::new(info));
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Route-layer middleware recording count and latency by route template (never the raw path,
/// whose ids would explode the label set).
pub async fn track_http(State(metrics): State<Metrics>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = request.method().as_str().to_owned();
    // The request's span (see `http::request_context`) is named after the route, not the path.
    let span = tracing::Span::current();
    crate::telemetry::rename_span(&span, || format!("{method} {route}"));
    crate::telemetry::set_span_attributes(&span, || [("http.route", route.clone().into())]);
    let started = Instant::now();
    metrics.http.in_flight.inc();
    let response = next.run(request).await;
    metrics.http.in_flight.dec();
    let status = response.status().as_u16().to_string();
    metrics
        .http
        .requests
        .with_label_values(&[route.as_str(), method.as_str(), status.as_str()])
        .inc();
    metrics
        .http
        .duration
        .with_label_values(&[route.as_str(), method.as_str()])
        .observe(started.elapsed().as_secs_f64());
    response
}
