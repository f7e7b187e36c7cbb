//! What a websocket keeps of the request that opened it: as little as the engine reads.
//!
//! Socket.IO keeps the head of the request that opened a websocket (URI, headers, extensions)
//! for as long as the socket lives. Left as the server parsed it, that head holds slices of the
//! connection's 16 KiB read buffer (any one slice keeps the whole buffer), every header the
//! client sent and the extensions the server and router recorded. With thousands of idle
//! sockets that is most of what a socket costs beyond the engine's own state, so the gateway
//! trims the head before the engine sees it.

use http::header::SEC_WEBSOCKET_KEY;
use http::{HeaderMap, HeaderValue, Request, Uri, header};

/// Where the Socket.IO engine serves (its default path).
const SOCKET_IO_PATH: &str = "/socket.io/";

/// Gives a websocket upgrade for the gateway a head of its own, with only what the engine reads:
/// the method and version, a copy of the URI (the engine reads its query), the
/// `Sec-WebSocket-Key` header (answered in the handshake) and the server's upgrade handle.
/// Other headers and extensions (peer address, the router's original URI) are dropped: nothing
/// behind the gateway reads them. Any other request passes untouched.
pub fn trim_upgrade_request<B>(request: Request<B>) -> Request<B> {
    let opens_socket = request.headers().contains_key(header::UPGRADE)
        && request.uri().path().starts_with(SOCKET_IO_PATH);
    if !opens_socket {
        return request;
    }
    let (mut head, body) = request.into_parts();
    // Copied to a buffer of its exact length: formatting leaves spare capacity, which the URI
    // would keep.
    let uri = bytes::Bytes::copy_from_slice(head.uri.to_string().as_bytes());
    if let Ok(uri) = Uri::from_maybe_shared(uri) {
        head.uri = uri;
    }
    let mut headers = HeaderMap::with_capacity(1);
    if let Some(key) = head.headers.get(SEC_WEBSOCKET_KEY)
        && let Ok(copy) = HeaderValue::from_bytes(key.as_bytes())
    {
        headers.insert(SEC_WEBSOCKET_KEY, copy);
    }
    head.headers = headers;
    let upgrade = head.extensions.remove::<hyper::upgrade::OnUpgrade>();
    head.extensions = http::Extensions::new();
    if let Some(upgrade) = upgrade {
        head.extensions.insert(upgrade);
    }
    Request::from_parts(head, body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    /// A request whose URI and header values are slices of one buffer, as the server parses
    /// them, with an extension as the router records one, and that buffer's address range.
    fn parsed(path: &str, upgrade: bool) -> (Request<()>, std::ops::Range<usize>) {
        let text = format!("{path}websocketUpgradedGhlIHNhbXBsZSBub25jZQ==");
        let buffer = Bytes::from(text.into_bytes());
        let start = buffer.as_ptr() as usize;
        let value = |from: usize, len: usize| {
            HeaderValue::from_maybe_shared(buffer.slice(from..from + len)).unwrap()
        };
        let mut request = Request::new(());
        *request.uri_mut() = Uri::from_maybe_shared(buffer.slice(0..path.len())).unwrap();
        let uri = request.uri().clone();
        request.extensions_mut().insert(uri);
        let headers = request.headers_mut();
        headers.insert(header::CONNECTION, value(path.len() + 9, 7));
        headers.insert(SEC_WEBSOCKET_KEY, value(path.len() + 16, 24));
        if upgrade {
            headers.insert(header::UPGRADE, value(path.len(), 9));
        }
        (request, start..start + buffer.len())
    }

    /// What of the request still points into the buffer.
    fn in_buffer(request: &Request<()>, buffer: &std::ops::Range<usize>) -> Vec<String> {
        let mut found = Vec::new();
        if buffer.contains(&(request.uri().path().as_ptr() as usize)) {
            found.push("uri".to_owned());
        }
        for (name, value) in request.headers() {
            if buffer.contains(&(value.as_bytes().as_ptr() as usize)) {
                found.push(name.to_string());
            }
        }
        found
    }

    const SOCKET: &str = "/socket.io/?EIO=4&transport=websocket";

    #[test]
    fn a_socket_upgrade_keeps_only_its_own_copy_of_what_the_engine_reads() {
        let (request, buffer) = parsed(SOCKET, true);
        assert_eq!(in_buffer(&request, &buffer).len(), 4, "the test's premise");
        let request = trim_upgrade_request(request);
        assert_eq!(in_buffer(&request, &buffer), Vec::<String>::new());
        assert_eq!(request.uri().to_string(), SOCKET);
        let kept: Vec<_> = request.headers().iter().collect();
        assert_eq!(kept.len(), 1, "{kept:?}");
        assert_eq!(
            request.headers()[SEC_WEBSOCKET_KEY],
            "dGhlIHNhbXBsZSBub25jZQ=="
        );
        assert!(request.extensions().get::<Uri>().is_none());
    }

    #[test]
    fn requests_that_open_no_socket_pass_untouched() {
        for (path, upgrade) in [(SOCKET, false), ("/api/v1/books?limit=1", true)] {
            let (request, buffer) = parsed(path, upgrade);
            let before = in_buffer(&request, &buffer);
            let request = trim_upgrade_request(request);
            assert_eq!(in_buffer(&request, &buffer), before, "{path}");
            assert!(request.extensions().get::<Uri>().is_some(), "{path}");
        }
    }
}
