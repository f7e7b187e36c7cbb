//! A path-routing HTTP proxy, routing as the chart's Ingress does: each request goes to the
//! component owning the longest path prefix that matches it. Websocket upgrades are passed
//! through; any other request is sent with `Connection: close`, so that every request of a
//! kept-alive browser connection is routed on its own.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The largest request head the proxy reads.
const MAX_HEAD: usize = 64 * 1024;

pub struct PathRouter {
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl PathRouter {
    /// Routes `prefix -> backend`; `/` takes whatever no other prefix claims.
    pub async fn start(routes: Vec<(String, SocketAddr)>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let routes = Arc::new(routes);
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let routes = routes.clone();
                tokio::spawn(async move {
                    let _ = relay(client, &routes).await;
                });
            }
        });
        Self { addr, task }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for PathRouter {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Whether `path` falls under `prefix` (a whole segment, as an Ingress `Prefix` path matches).
fn under(path: &str, prefix: &str) -> bool {
    prefix == "/"
        || path
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(['/', '?']))
}

async fn relay(mut client: TcpStream, routes: &[(String, SocketAddr)]) -> std::io::Result<()> {
    let mut buffer = Vec::new();
    let head_end = loop {
        let mut chunk = [0_u8; 4096];
        let n = client.read(&mut chunk).await?;
        if n == 0 || buffer.len() > MAX_HEAD {
            return Ok(());
        }
        buffer.extend_from_slice(&chunk[..n]);
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let rest = buffer[head_end + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default().to_owned();
    let path = request_line.split(' ').nth(1).unwrap_or("/").to_owned();
    let Some((_, backend)) = routes
        .iter()
        .filter(|(prefix, _)| under(&path, prefix))
        .max_by_key(|(prefix, _)| prefix.len())
    else {
        client
            .write_all(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n")
            .await?;
        return Ok(());
    };
    let headers: Vec<&str> = lines.collect();
    let upgrade = headers
        .iter()
        .any(|h| h.to_ascii_lowercase().starts_with("upgrade:"));
    let mut forwarded = request_line;
    for header in headers {
        let name = header
            .split(':')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        if !upgrade && (name == "connection" || name == "keep-alive") {
            continue;
        }
        forwarded.push_str("\r\n");
        forwarded.push_str(header);
    }
    if !upgrade {
        forwarded.push_str("\r\nconnection: close");
    }
    forwarded.push_str("\r\n\r\n");
    let mut upstream = TcpStream::connect(backend).await?;
    upstream.write_all(forwarded.as_bytes()).await?;
    upstream.write_all(&rest).await?;
    tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
    Ok(())
}
