//! Logs and traces: the subscriber (text or JSON logs, OpenTelemetry spans exported over OTLP
//! when `OTEL_EXPORTER_OTLP_ENDPOINT` is set), W3C trace context in and out, and the trace id
//! that ties a request's or message's log lines, spans and error bodies together.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{TraceContextExt, TracerProvider};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable on a terminal, JSON otherwise.
    Auto,
    Text,
    Json,
}

/// Keeps the trace pipeline of the process, if traces are exported; `shutdown` sends the spans
/// still buffered.
#[must_use = "dropping it without shutdown loses the last spans"]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Exports what is buffered and stops exporting.
    pub fn shutdown(self) {
        if let Some(provider) = self.provider
            && let Err(err) = provider.shutdown()
        {
            eprintln!("warning: could not send the last traces: {err}");
        }
    }
}

/// Installs the global subscriber for the process `service` (the component's name, used as the
/// traces' `service.name`). `RUST_LOG` filters; the default keeps our own crates at info and the
/// chatty database drivers at warn. Spans are exported when `OTEL_EXPORTER_OTLP_ENDPOINT` is
/// set, over OTLP/HTTP (`OTEL_EXPORTER_OTLP_PROTOCOL`: `http/protobuf`, the default, or
/// `http/json`); then they carry OpenTelemetry ids, so the trace id in logs is the one the trace
/// backend shows. Without an endpoint no OpenTelemetry span is built at all (a tenth of a cached
/// catalogue read's time): the trace id is the caller's `traceparent`'s or a new one.
pub fn init(format: LogFormat, service: &str) -> Telemetry {
    let provider = tracer_provider(service);
    let otel = provider
        .as_ref()
        .map(|provider| tracing_opentelemetry::layer().with_tracer(provider.tracer("bookstore")));
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn,tower_http=warn"));
    let json = match format {
        LogFormat::Json => true,
        LogFormat::Text => false,
        LogFormat::Auto => !std::io::stderr().is_terminal(),
    };
    let exports = otel.is_some();
    let registry = tracing_subscriber::registry().with(filter).with(otel);
    // A second init (tests start many apps in one process) keeps the first subscriber.
    let installed = if json {
        registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_writer(std::io::stderr),
            )
            .try_init()
    } else {
        registry
            .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
            .try_init()
    };
    if installed.is_ok() {
        SPANS_EXPORTED.store(exports, Ordering::Relaxed);
    }
    Telemetry { provider }
}

/// Whether the process's subscriber builds OpenTelemetry spans (it exports them).
static SPANS_EXPORTED: AtomicBool = AtomicBool::new(false);

/// The span pipeline with its OTLP exporter, when an endpoint is configured.
fn tracer_provider(service: &str) -> Option<SdkTracerProvider> {
    let configured = |name: &str| std::env::var(name).is_ok_and(|v| !v.trim().is_empty());
    if !(configured("OTEL_EXPORTER_OTLP_ENDPOINT")
        || configured("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))
    {
        return None;
    }
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name(format!("bookstore-{service}"))
        .build();
    let builder = SdkTracerProvider::builder().with_resource(resource);
    use opentelemetry_otlp::{Protocol, WithExportConfig};
    let exporter = if configured("OTEL_EXPORTER_OTLP_PROTOCOL")
        || configured("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
    {
        opentelemetry_otlp::SpanExporter::builder().build()
    } else {
        // The specification's default transport; the library would otherwise pick JSON.
        opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .build()
    };
    match exporter {
        Ok(exporter) => Some(builder.with_batch_exporter(exporter).build()),
        Err(err) => {
            eprintln!("warning: traces are not exported: {err}");
            None
        }
    }
}

/// The W3C trace context in a `traceparent` value, as a parent for a span.
fn remote_context(traceparent: &str) -> opentelemetry::Context {
    let carrier = HashMap::from([("traceparent".to_owned(), traceparent.to_owned())]);
    TraceContextPropagator::new().extract(&carrier)
}

/// Makes `span` continue the trace of `traceparent` (a request's header, a message's header)
/// and returns the trace id it carries: OpenTelemetry's when spans are recorded, else the one
/// in `traceparent`, else a new one. Call it before the span is first entered.
pub fn continue_trace(span: &tracing::Span, traceparent: Option<&str>) -> String {
    if let Some(traceparent) = traceparent.filter(|t| trace_id_from_traceparent(t).is_some()) {
        let _ = span.set_parent(remote_context(traceparent));
    }
    let context = span.context();
    let span_context = context.span().span_context().clone();
    if span_context.is_valid() {
        span_context.trace_id().to_string()
    } else {
        traceparent
            .and_then(trace_id_from_traceparent)
            .unwrap_or_else(new_trace_id)
    }
}

tokio::task_local! {
    static TRACE_ID: String;
}

/// Runs `fut` with `trace_id` as the current trace id.
pub async fn with_trace_id<F: Future>(trace_id: String, fut: F) -> F::Output {
    TRACE_ID.scope(trace_id, fut).await
}

/// The trace id of the request being handled, if any.
pub fn current_trace_id() -> Option<String> {
    TRACE_ID.try_with(Clone::clone).ok()
}

/// A W3C `traceparent` continuing the current trace (of the request or message being handled),
/// for messages and outgoing calls, naming the current span as the parent; `None` outside of
/// both.
pub fn current_traceparent() -> Option<String> {
    let context = tracing::Span::current().context();
    let span_context = context.span().span_context().clone();
    if span_context.is_valid() {
        return Some(format!(
            "00-{}-{}-{:02x}",
            span_context.trace_id(),
            span_context.span_id(),
            span_context.trace_flags().to_u8()
        ));
    }
    let trace_id = current_trace_id()?;
    let span_id = &uuid::Uuid::new_v4().simple().to_string()[..16];
    Some(format!("00-{trace_id}-{span_id}-01"))
}

/// Renames `span` in its trace, e.g. a request's once its route is known. (Its OpenTelemetry
/// span exists from the start, to give the trace id to logs, so `otel.name` can no longer be
/// recorded.) `name` is made only when spans are exported.
pub fn rename_span(span: &tracing::Span, name: impl FnOnce() -> String) {
    if SPANS_EXPORTED.load(Ordering::Relaxed) {
        span.context().span().update_name(name());
    }
}

/// Sets attributes of `span` in its trace alone, made only when spans are exported. Recording a
/// field instead would make the JSON log layer parse and write again every field the span has,
/// for each field recorded.
pub fn set_span_attributes<const N: usize>(
    span: &tracing::Span,
    attributes: impl FnOnce() -> [(&'static str, opentelemetry::Value); N],
) {
    if SPANS_EXPORTED.load(Ordering::Relaxed) {
        for (key, value) in attributes() {
            span.set_attribute(key, value);
        }
    }
}

/// An outgoing call in the current trace: adds its `traceparent` header, so the callee's span
/// is a child of the caller's.
pub fn propagate(request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
    match current_traceparent() {
        Some(traceparent) => request.header("traceparent", traceparent),
        None => request,
    }
}

/// Links `span` to the trace `other` belongs to: a request made for several messages continues
/// the trace of one and names the others this way.
pub fn link(span: &tracing::Span, other: &tracing::Span) {
    let context = other.context().span().span_context().clone();
    if context.is_valid() {
        span.add_link(context);
    }
}

/// The trace id carried by a W3C `traceparent` header (`00-<trace>-<span>-<flags>`), when valid.
pub fn trace_id_from_traceparent(value: &str) -> Option<String> {
    let mut parts = value.split('-');
    let (version, trace, span, flags) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let hex = |s: &str, len: usize| s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit());
    let valid = hex(version, 2)
        && hex(trace, 32)
        && hex(span, 16)
        && hex(flags, 2)
        && trace.bytes().any(|b| b != b'0');
    valid.then(|| trace.to_ascii_lowercase())
}

/// A fresh random trace id in the W3C format.
pub fn new_trace_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traceparent_is_parsed_and_validated() {
        let header = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        assert_eq!(
            trace_id_from_traceparent(header).as_deref(),
            Some("4bf92f3577b34da6a3ce929d0e0e4736")
        );
        assert_eq!(
            trace_id_from_traceparent("00-0000-00f067aa0ba902b7-01"),
            None
        );
        assert_eq!(
            trace_id_from_traceparent("00-00000000000000000000000000000000-00f067aa0ba902b7-01"),
            None
        );
    }

    #[tokio::test]
    async fn trace_id_is_scoped_to_the_future() {
        assert_eq!(current_trace_id(), None);
        let seen = with_trace_id("abc".into(), async { current_trace_id() }).await;
        assert_eq!(seen.as_deref(), Some("abc"));
    }
}
