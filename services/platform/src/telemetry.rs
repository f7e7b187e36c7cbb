//! Logging set-up and the trace id that ties a request's log lines and error bodies together.

use std::io::IsTerminal;

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

/// Installs the global subscriber. `RUST_LOG` filters; the default keeps our own crates at info
/// and the chatty database drivers at warn.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn,tower_http=warn"));
    let json = match format {
        LogFormat::Json => true,
        LogFormat::Text => false,
        LogFormat::Auto => !std::io::stderr().is_terminal(),
    };
    let registry = tracing_subscriber::registry().with(filter);
    // A second init (tests start many apps in one process) keeps the first subscriber.
    let _ = if json {
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
/// for messages and outgoing calls; `None` outside of both.
pub fn current_traceparent() -> Option<String> {
    let trace_id = current_trace_id()?;
    let span_id = &uuid::Uuid::new_v4().simple().to_string()[..16];
    Some(format!("00-{trace_id}-{span_id}-01"))
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
