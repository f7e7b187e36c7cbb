//! HTTP plumbing shared by every component: health, readiness and metrics endpoints, the
//! middleware stack (trace ids, request logs, metrics, timeouts, CORS, body limits, problem+json
//! for every error), and a server that drains in-flight requests on shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use sea_orm::DatabaseConnection;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tracing::Instrument;

use crate::error::{ApiError, ErrorCode, problem_response};
use crate::metrics::{Metrics, track_http};
use crate::readiness::Gate;
use crate::shutdown::Draining;
use crate::telemetry;

/// The cap on what a route's extractors read of a body, unless the route raises it for itself
/// with `DefaultBodyLimit::max` (the upload routes do, up to [`LARGEST_BODY_LIMIT`]).
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;

/// The largest body any route accepts: a book's document (50 MiB) in a multipart form, with
/// room for the form's own headers. A body announced or streamed past it is refused before any
/// route sees it.
pub const LARGEST_BODY_LIMIT: usize = 50 * 1024 * 1024 + 64 * 1024;

/// The longest request target (path and query) served; a longer one is `414 uri_too_long`.
/// Browsers and proxies keep URLs far shorter, and nginx's default limit is the same.
pub const MAX_URL_BYTES: usize = 8 * 1024;

/// The most header fields a request may carry, and their total size (names and values); more is
/// `431 headers_too_large`.
pub const MAX_HEADER_COUNT: usize = 100;
pub const MAX_HEADER_BYTES: usize = 32 * 1024;

/// The HTTP/1 parser's own limits, kept well above ours so that what a client can fix gets a
/// problem+json answer from [`refuse_oversized_heads`]. Only a head past these (or a URL past
/// the parser's fixed 64 KiB) is answered by the parser itself, without a body.
const PARSER_MAX_HEADERS: usize = 4 * MAX_HEADER_COUNT;
const PARSER_MAX_BUFFER: usize = 512 * 1024;

/// How long `/readyz` waits for each database's answer.
const READINESS_PING_TIMEOUT: Duration = Duration::from_secs(2);

/// What the shared endpoints and middleware need.
#[derive(Clone)]
pub struct HttpContext {
    pub metrics: Metrics,
    pub draining: Draining,
    /// Databases `/readyz` pings.
    pub databases: Vec<DatabaseConnection>,
    /// Other conditions `/readyz` requires, such as a live subscription.
    pub gates: Vec<Gate>,
    pub cors_origins: Vec<HeaderValue>,
    pub request_timeout: Duration,
}

impl HttpContext {
    pub fn new(metrics: Metrics, databases: Vec<DatabaseConnection>) -> Self {
        Self {
            metrics,
            draining: Draining::default(),
            databases,
            gates: Vec::new(),
            cors_origins: Vec::new(),
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// Wraps a component's routes with the shared endpoints and middleware. Call it once, on the
/// complete router of the process.
pub fn finish(routes: Router, ctx: &HttpContext) -> Router {
    let ops = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(ctx.clone());
    let panics = ctx.metrics.clone();
    routes
        .merge(ops)
        .fallback(not_found)
        // Innermost, so that the request metrics below count a panicked request as its 500.
        .route_layer(CatchPanicLayer::custom(move |panic| {
            answer_panic(&panics, panic)
        }))
        .route_layer(middleware::from_fn_with_state(
            ctx.metrics.clone(),
            track_http,
        ))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::GATEWAY_TIMEOUT,
            ctx.request_timeout,
        ))
        // Refuses a body announced as larger than any route takes before reading it, and cuts
        // off one that grows past that while streaming. Each route's extractors then read at
        // most DEFAULT_BODY_LIMIT, or what the route allows itself.
        .layer(RequestBodyLimitLayer::new(LARGEST_BODY_LIMIT))
        .layer(DefaultBodyLimit::max(DEFAULT_BODY_LIMIT))
        .layer(middleware::from_fn(problem_for_bare_errors))
        .layer(middleware::from_fn(refuse_oversized_heads))
        .layer(cors(&ctx.cors_origins))
        .layer(middleware::from_fn(request_context))
}

/// A handler that panicked: the panic is logged with the request's trace id and counted, and the
/// client gets an opaque 500 problem+json (never the panic message) instead of a closed
/// connection.
fn answer_panic(metrics: &Metrics, panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    metrics.handler_panicked();
    let message = panic
        .downcast_ref::<&str>()
        .map(|text| (*text).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned());
    ApiError::internal(anyhow::anyhow!("the handler panicked: {message}")).into_response()
}

/// CORS for the configured origins only: any other origin gets no CORS headers at all, so
/// browsers refuse to share responses (and credentials) with it.
fn cors(origins: &[HeaderValue]) -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins.to_vec()))
        .allow_credentials(!origins.is_empty())
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            HeaderName::from_static("idempotency-key"),
        ])
        .expose_headers([header::RETRY_AFTER, HeaderName::from_static("x-trace-id")])
        .max_age(Duration::from_secs(600))
}

async fn healthz() -> impl IntoResponse {
    axum::Json(serde_json::json!({ "status": "ok" }))
}

async fn readyz(State(ctx): State<HttpContext>) -> Response {
    if ctx.draining.is_draining() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(serde_json::json!({ "status": "draining" })),
        )
            .into_response();
    }
    for db in &ctx.databases {
        // Without a bound the ping would wait for the pool's acquire timeout while the database
        // is unreachable, longer than a probe waits.
        let answer = match tokio::time::timeout(READINESS_PING_TIMEOUT, db.ping()).await {
            Ok(answer) => answer.map_err(|err| err.to_string()),
            Err(_) => Err(format!("no answer within {READINESS_PING_TIMEOUT:?}")),
        };
        if let Err(err) = answer {
            tracing::warn!(error = %err, "Readiness check: database unreachable.");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(serde_json::json!({ "status": "unavailable", "failing": "database" })),
            )
                .into_response();
        }
    }
    if let Some(gate) = ctx.gates.iter().find(|gate| !gate.is_open()) {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(serde_json::json!({ "status": "unavailable", "failing": gate.name() })),
        )
            .into_response();
    }
    axum::Json(serde_json::json!({ "status": "ready" })).into_response()
}

async fn metrics(State(ctx): State<HttpContext>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        ctx.metrics.render(),
    )
        .into_response()
}

async fn not_found() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "no such endpoint")
}

/// Errors produced outside our handlers (405 from the router, 504 from the timeout, plain-text
/// rejections) come with an empty or plain-text body; clients get problem+json for those too.
async fn problem_for_bare_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    // Our own error bodies are JSON already (problem+json, or the JSON of /readyz).
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"application/"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let code = ErrorCode::for_status(status);
    let mut problem = ApiError::bare(code)
        .to_problem(telemetry::current_trace_id().filter(|_| status.is_server_error()));
    problem.status = status.as_u16();
    let mut replaced = problem_response(status, &problem, None);
    // Keep headers such as Allow (405) that tell the client what to do instead.
    for (name, value) in response.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            replaced.headers_mut().insert(name.clone(), value.clone());
        }
    }
    replaced
}

/// Refuses a request whose URL or headers pass the limits above, before any route sees it.
async fn refuse_oversized_heads(request: Request, next: Next) -> Response {
    let url_bytes = request
        .uri()
        .path_and_query()
        .map_or(0, |target| target.as_str().len());
    if url_bytes > MAX_URL_BYTES {
        return ApiError::new(
            ErrorCode::UriTooLong,
            format!("the URL has {url_bytes} bytes; at most {MAX_URL_BYTES} are served"),
        )
        .into_response();
    }
    let headers = request.headers();
    let header_bytes: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    if headers.len() > MAX_HEADER_COUNT || header_bytes > MAX_HEADER_BYTES {
        return ApiError::new(
            ErrorCode::HeadersTooLarge,
            format!(
                "the request has {} header fields of {header_bytes} bytes; at most \
                 {MAX_HEADER_COUNT} fields of {MAX_HEADER_BYTES} bytes in all are served",
                headers.len()
            ),
        )
        .into_response();
    }
    next.run(request).await
}

/// A read slower than this is logged at info level like any change.
const SLOW_REQUEST_MS: f64 = 1000.0;

/// Gives every request a trace id (from its W3C `traceparent` when present), a span carrying it,
/// a log line when it ends, and an `x-trace-id` response header.
async fn request_context(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    // The span is renamed after the route once the router has matched the request (see
    // `metrics::track_http`); requests no route matches keep this name.
    // The fields are what log lines show; the trace's attributes are set apart (see
    // `telemetry::set_span_attributes`).
    let span = tracing::info_span!(
        "request",
        %method,
        %path,
        trace_id = tracing::field::Empty,
        otel.kind = "server",
    );
    let traceparent = request
        .headers()
        .get("traceparent")
        .and_then(|value| value.to_str().ok());
    let trace_id = telemetry::continue_trace(&span, traceparent);
    span.record("trace_id", trace_id.as_str());
    telemetry::rename_span(&span, || format!("{method} unmatched"));
    telemetry::set_span_attributes(&span, || {
        [
            ("http.request.method", method.to_string().into()),
            ("url.path", path.clone().into()),
        ]
    });
    let started = Instant::now();
    let is_read = method == Method::GET || method == Method::HEAD;
    let is_ops = matches!(path.as_str(), "/healthz" | "/readyz" | "/metrics");
    let mut response =
        telemetry::with_trace_id(trace_id.clone(), next.run(request).instrument(span.clone()))
            .await;
    let status = response.status().as_u16();
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    telemetry::set_span_attributes(&span, || {
        [("http.response.status_code", i64::from(status).into())]
    });
    // Every change, every failure and every slow answer is logged; reads answered well are
    // counted by the request metrics instead (at debug level here): one line per page read
    // cost a third of a cached catalogue page's time.
    let quiet = is_ops || (is_read && status < 400 && latency_ms < SLOW_REQUEST_MS);
    span.in_scope(|| {
        if quiet {
            tracing::debug!(status, latency_ms, "Request handled.");
        } else {
            tracing::info!(status, latency_ms, "Request handled.");
        }
    });
    if let Ok(value) = HeaderValue::from_str(&trace_id) {
        response.headers_mut().insert("x-trace-id", value);
    }
    response
}

/// Bounds on the connections a server holds, against clients that open many and send slowly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Time a client has to send a request's headers, from the moment the connection opens or
    /// its previous answer went out; also how long an idle keep-alive connection is kept.
    pub header_read_timeout: Duration,
    /// Connections served at once; further clients wait in the kernel's accept queue until one
    /// closes, so the process never runs out of file descriptors for its own work.
    pub max_connections: usize,
}

impl ConnectionLimits {
    /// The default header-read timeout, in seconds.
    pub const DEFAULT_HEADER_READ_TIMEOUT_SECONDS: u64 = 10;

    /// Three quarters of the process's open-file limit: the rest stays for database and broker
    /// connections, files and the listener itself.
    pub fn default_max_connections() -> usize {
        let open_files = open_file_limit().unwrap_or(65_536);
        usize::try_from(open_files / 4 * 3)
            .unwrap_or(usize::MAX)
            .clamp(64, 1 << 20)
    }
}

/// The process's soft limit on open files, where it has one.
#[cfg(target_os = "linux")]
fn open_file_limit() -> Option<u64> {
    rustix::process::getrlimit(rustix::process::Resource::Nofile).current
}

#[cfg(not(target_os = "linux"))]
fn open_file_limit() -> Option<u64> {
    None
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(Self::DEFAULT_HEADER_READ_TIMEOUT_SECONDS),
            max_connections: Self::default_max_connections(),
        }
    }
}

/// Serves `app` on `listener` until `shutdown` completes, then turns readiness false, waits
/// `drain_delay` so that load balancers notice, stops accepting and lets in-flight requests
/// finish (each is bounded by the request timeout). Each connection gets the client's address
/// as `ConnectInfo<SocketAddr>` and is held to `limits`.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    draining: Draining,
    drain_delay: Duration,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let stop = async move {
        shutdown.await;
        draining.start();
        tokio::time::sleep(drain_delay).await;
    };
    // The accept loop runs on a worker, not on the thread that awaits `serve` (the main thread,
    // outside the runtime's workers): every connection's task is allocated where the accept
    // loop runs, and memory freed on the main thread is reused by nothing else, so thousands of
    // connections there (websockets opening) leave megabytes free but resident. Dropping
    // `serve` still stops the server.
    tokio_util::task::AbortOnDropHandle::new(tokio::spawn(accept_loop(listener, app, limits, stop)))
        .await
        .map_err(|err| std::io::Error::other(format!("the server task failed: {err}")))?
}

/// Accepts connections while a permit is free until `stop`, then closes the listener and waits
/// for the open connections to finish their requests.
async fn accept_loop(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    stop: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_headers(PARSER_MAX_HEADERS)
        .max_buf_size(PARSER_MAX_BUFFER);
    // HTTP/2 has no header timeout: pings find the peers that went silent. The CONNECT protocol
    // carries websockets over HTTP/2.
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(limits.header_read_timeout))
        .max_header_list_size(u32::try_from(PARSER_MAX_BUFFER).unwrap_or(u32::MAX))
        .enable_connect_protocol();
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let connections = GracefulShutdown::new();
    let mut stop = std::pin::pin!(stop);
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => permit.map_err(std::io::Error::other)?,
            () = &mut stop => break,
        };
        let (stream, client) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of file descriptors, or a connection reset before it was accepted:
                    // the listener itself is fine, so wait a moment and go on.
                    tracing::warn!(error = %err, "Accepting a connection failed.");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        if let Err(err) = stream.set_nodelay(true) {
            tracing::debug!(error = %err, "Cannot disable Nagle's algorithm on a connection.");
        }
        let service = TowerToHyperService::new(app.clone().map_request(
            move |mut request: Request<hyper::body::Incoming>| {
                request.extensions_mut().insert(ConnectInfo(client));
                request
            },
        ));
        let connection = connections.watch(
            builder
                .serve_connection_with_upgrades(TokioIo::new(stream), service)
                .into_owned(),
        );
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                tracing::debug!(error = %err, %client, "Connection ended with an error.");
            }
            drop(permit);
        });
    }
    drop(listener);
    connections.shutdown().await;
    Ok(())
}

/// An empty body response with a status; used where a handler answers nothing (204).
pub fn no_content() -> Response {
    (StatusCode::NO_CONTENT, Body::empty()).into_response()
}

/// The peer address of the connection a request came on, when the server recorded it.
#[derive(Debug, Clone, Copy)]
pub struct PeerAddr(pub Option<SocketAddr>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for PeerAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<SocketAddr>>()
                .map(|info| info.0),
        ))
    }
}
