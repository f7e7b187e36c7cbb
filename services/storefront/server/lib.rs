//! The web storefront: the single-page app built from this folder, embedded in the binary at
//! build time (`server/build.rs`) and served at `/` with the caching, compression and
//! Content-Security-Policy a browser needs. Client routes fall back to `index.html`; the API's
//! prefixes are never answered with the app.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use platform::compression::{self, Encoding};
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
    path.rsplit('/')
        .next()
        .is_some_and(|last| last.contains('.'))
}

fn find(path: &str) -> Option<&'static Asset> {
    let path = if path == "/" { "/index.html" } else { path };
    ASSETS.iter().find(|asset| asset.path == path)
}

fn respond(asset: &'static Asset, request: &HeaderMap) -> Response {
    let available: Vec<Encoding> = [
        asset.brotli.map(|_| Encoding::Brotli),
        asset.gzip.map(|_| Encoding::Gzip),
    ]
    .into_iter()
    .flatten()
    .collect();
    let encoding = compression::negotiate(request, &available);
    let body = match encoding {
        Encoding::Brotli => asset.brotli.unwrap_or(asset.identity),
        Encoding::Gzip => asset.gzip.unwrap_or(asset.identity),
        Encoding::Identity => asset.identity,
    };
    let etag = format!("\"{}{}\"", asset.tag, encoding.etag_suffix());
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, value);
    }
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(cache_control(asset)),
    );
    if asset.gzip.is_some() || asset.brotli.is_some() {
        headers.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    }
    if let Some(name) = encoding.header_value() {
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
    if platform::conditional::none_match_hits(request, &etag) {
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use axum::body::to_bytes;
    use axum::http::Request;
    use tower::ServiceExt;

    use super::*;

    async fn get(path: &str, headers: &[(&str, &str)]) -> Response {
        let mut request = Request::get(path);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        router()
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap()
    }

    async fn body(response: Response) -> Vec<u8> {
        to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap()
            .to_vec()
    }

    fn script() -> &'static Asset {
        ASSETS
            .iter()
            .find(|a| a.path.starts_with("/assets/") && a.path.ends_with(".js"))
            .expect("the build has a script")
    }

    #[tokio::test]
    async fn the_page_is_served_at_the_root_and_for_client_routes_with_its_policy() {
        for path in [
            "/",
            "/books/some-id",
            "/orders",
            "/admin/books",
            "/no/such/page",
        ] {
            let response = get(path, &[]).await;
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            let headers = response.headers().clone();
            assert_eq!(headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
            assert_eq!(headers[header::CACHE_CONTROL], "no-cache");
            assert_eq!(
                headers[header::CONTENT_SECURITY_POLICY],
                CONTENT_SECURITY_POLICY
            );
            let page = String::from_utf8(body(response).await).unwrap();
            assert!(page.contains("<div id=\"root\">"), "{path}: {page}");
            assert!(!page.contains("<script>"), "no inline script: {page}");
        }
    }

    #[tokio::test]
    async fn hashed_assets_are_cached_for_good_and_compressed_for_clients_that_accept_it() {
        let asset = script();
        let plain = get(asset.path, &[]).await;
        assert_eq!(plain.status(), StatusCode::OK);
        assert_eq!(
            plain.headers()[header::CACHE_CONTROL],
            "public, max-age=31536000, immutable"
        );
        assert_eq!(plain.headers()[header::VARY], "Accept-Encoding");
        assert!(plain.headers().get(header::CONTENT_ENCODING).is_none());
        let original = body(plain).await;
        assert_eq!(original, asset.identity);

        let gzipped = get(asset.path, &[("accept-encoding", "gzip, deflate")]).await;
        assert_eq!(gzipped.headers()[header::CONTENT_ENCODING], "gzip");
        let mut decoded = Vec::new();
        std::io::Read::read_to_end(
            &mut flate2::read::GzDecoder::new(&body(gzipped).await[..]),
            &mut decoded,
        )
        .unwrap();
        assert_eq!(decoded, original);

        let brotli = get(asset.path, &[("accept-encoding", "gzip, br")]).await;
        assert_eq!(brotli.headers()[header::CONTENT_ENCODING], "br");
        let compressed = body(brotli).await;
        assert!(compressed.len() * 2 < original.len());
        let mut decoded = Vec::new();
        brotli::BrotliDecompress(&mut &compressed[..], &mut decoded).unwrap();
        assert_eq!(decoded, original);

        let refused = get(asset.path, &[("accept-encoding", "br;q=0, gzip;q=0")]).await;
        assert!(refused.headers().get(header::CONTENT_ENCODING).is_none());
    }

    #[tokio::test]
    async fn a_matching_etag_is_answered_304_without_a_body() {
        let first = get("/", &[("accept-encoding", "br")]).await;
        let etag = first.headers()[header::ETAG].to_str().unwrap().to_owned();
        assert!(etag.starts_with('"') && etag.ends_with("-br\""), "{etag}");
        let again = get("/", &[("accept-encoding", "br"), ("if-none-match", &etag)]).await;
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(again.headers()[header::ETAG], etag.as_str());
        assert!(body(again).await.is_empty());
        // Another representation has another tag.
        let other = get("/", &[("if-none-match", &etag)]).await;
        assert_eq!(other.status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn api_prefixes_missing_files_and_writes_are_problems_not_the_page() {
        for path in [
            "/api",
            "/api/v1/nothing",
            "/socket.io/x",
            "/healthz/x",
            "/metrics/",
        ] {
            let response = get(path, &[]).await;
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
            assert_eq!(
                response.headers()[header::CONTENT_TYPE],
                "application/problem+json"
            );
        }
        for path in ["/assets/missing-123.js", "/favicon.png", "/robots.txt"] {
            let response = get(path, &[]).await;
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        }
        let post = router()
            .oneshot(Request::post("/cart").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(post.headers()[header::ALLOW], "GET, HEAD");
    }
}
