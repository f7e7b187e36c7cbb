//! The web storefront: the single-page app built from this folder, embedded in the binary at
//! build time (`server/build.rs`) and served at `/` with the caching, compression and
//! Content-Security-Policy a browser needs. Client routes fall back to `index.html`; the API's
//! prefixes are never answered with the app.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use platform::{ApiError, ErrorCode};

/// One built file, with the forms it can be sent in.
struct Asset {
    /// Its URL path, such as `/assets/index-Ab12.js`.
    path: &'static str,
    content_type: &'static str,
    /// A digest of its content: the strong ETag of each form is made from it.
    tag: &'static str,
    identity: &'static [u8],
    gzip: Option<&'static [u8]>,
    brotli: Option<&'static [u8]>,
}

include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// The policy the app runs under: nothing inline, nothing from elsewhere, no framing.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; \
    object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

/// Path prefixes that belong to the API and the platform: never answered with the app.
const RESERVED: [&str; 5] = ["/api", "/socket.io", "/healthz", "/readyz", "/metrics"];

/// The app's routes: every path no other route of the process takes.
pub fn router() -> Router {
    Router::new()
        .route("/", any(serve))
        .route("/{*path}", any(serve))
}

/// How a response may be encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Identity,
    Gzip,
    Brotli,
}

impl Encoding {
    fn name(self) -> Option<&'static str> {
        match self {
            Self::Identity => None,
            Self::Gzip => Some("gzip"),
            Self::Brotli => Some("br"),
        }
    }
}

async fn serve(method: Method, uri: Uri, headers: HeaderMap) -> Response {
    let path = uri.path();
    if is_reserved(path) {
        return ApiError::new(ErrorCode::NotFound, "no such endpoint").into_response();
    }
    if method != Method::GET && method != Method::HEAD {
        let mut response = ApiError::bare(ErrorCode::MethodNotAllowed).into_response();
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    let asset = match find(path) {
        Some(asset) => asset,
        // A missing file (anything with an extension, or under /assets) is a 404; any other
        // path is one of the app's own routes, which it renders itself (its own 404 page
        // included).
        None if path.starts_with("/assets/") || last_segment_has_extension(path) => {
            return ApiError::new(ErrorCode::NotFound, "no such file").into_response();
        }
        None => match find("/index.html") {
            Some(index) => index,
            None => return ApiError::not_found("the storefront").into_response(),
        },
    };
    respond(asset, &headers)
}

fn is_reserved(path: &str) -> bool {
    RESERVED.iter().any(|prefix| {
        path.strip_prefix(prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    })
}

fn last_segment_has_extension(path: &str) -> bool {
    path.rsplit('/').next().is_some_and(|last| last.contains('.'))
}

fn find(path: &str) -> Option<&'static Asset> {
    let path = if path == "/" { "/index.html" } else { path };
    ASSETS.iter().find(|asset| asset.path == path)
}

fn respond(asset: &'static Asset, request: &HeaderMap) -> Response {
    let encoding = negotiate(asset, request);
    let (body, suffix) = match encoding {
        Encoding::Brotli => (asset.brotli.unwrap_or(asset.identity), "-br"),
        Encoding::Gzip => (asset.gzip.unwrap_or(asset.identity), "-gz"),
        Encoding::Identity => (asset.identity, ""),
    };
    let etag = format!("\"{}{suffix}\"", asset.tag);
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache_control(asset)));
    if asset.gzip.is_some() || asset.brotli.is_some() {
        headers.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    }
    if let Some(name) = encoding.name() {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(name));
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if asset.content_type.starts_with("text/html") {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        );
        headers.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        );
    }
    if matches_etag(request, &etag) {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    // The server sends no body in answer to HEAD, and keeps the length.
    (StatusCode::OK, headers, Body::from(body)).into_response()
}

/// Hashed files never change under their name: cached for a year without revalidation. The
/// page itself (and anything else) is revalidated on every use, so a new release shows at once.
fn cache_control(asset: &Asset) -> &'static str {
    if asset.path.starts_with("/assets/") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    }
}

/// Brotli, then gzip, when the client accepts them (a `q=0` refuses) and the file has them.
fn negotiate(asset: &Asset, request: &HeaderMap) -> Encoding {
    let accepted = request
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|item| {
            let mut parts = item.split(';');
            let name = parts.next()?.trim().to_ascii_lowercase();
            let refused = parts.any(|param| {
                param
                    .trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            (!refused).then_some(name)
        })
        .collect::<Vec<_>>();
    let accepts = |name: &str| accepted.iter().any(|a| a == name || a == "*");
    if asset.brotli.is_some() && accepts("br") {
        Encoding::Brotli
    } else if asset.gzip.is_some() && accepts("gzip") {
        Encoding::Gzip
    } else {
        Encoding::Identity
    }
}

/// Whether `If-None-Match` names `etag` (or `*`); weak comparison, as RFC 9110 asks for it.
fn matches_etag(request: &HeaderMap, etag: &str) -> bool {
    request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|tag| tag.trim().trim_start_matches("W/"))
        .any(|tag| tag == "*" || tag == etag)
}
