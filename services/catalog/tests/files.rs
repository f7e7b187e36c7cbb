//! A book's cover and document through the HTTP API, stored in a folder and in a real
//! S3-compatible server (moto, started by `.ci/run`): uploads and their checks, what a refused
//! upload leaves (nothing), serving with caching, ranges and download rights, replacing and
//! deleting. The lifecycle tests also run on PostgreSQL and MariaDB.
//!
//! Who bought a book is the orders service's answer; here a stand-in port says "buyer-1 bought
//! everything" and records the token it was asked with. The real answer over HTTP and in process
//! is tested with the orders service in `services/bookstore/tests`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use catalog::files::Files;
use catalog::purchases::{Buyer, Purchases};
use catalog::storage::{S3Settings, Storage, StorageLocation};
use image::{ImageEncoder, ImageFormat, Rgb, RgbImage};
use migration::MigratorTrait;
use platform::ApiError;
use platform::auth::{KeyPair, Role, TokenSigner, TokenVerifier};
use platform::testing::{Backend, Reply, TestBucket, TestDatabase, TestServer, file_form as form};
use reqwest::{StatusCode, header};
use serde_json::Value;

/// Says that `buyer-1` bought every book, and remembers the `Authorization` it was passed.
#[derive(Default)]
struct BuyerOneBoughtEverything {
    asked_with: Mutex<Vec<String>>,
}

#[async_trait::async_trait]
impl Purchases for BuyerOneBoughtEverything {
    async fn has_bought(&self, buyer: &Buyer<'_>, _book_id: &str) -> Result<bool, ApiError> {
        self.asked_with
            .lock()
            .unwrap()
            .push(buyer.authorization.to_owned());
        Ok(buyer.user_id == "buyer-1")
    }
}

/// Where a test keeps its files.
enum Store {
    Folder(PathBuf),
    Bucket(TestBucket),
}

impl Store {
    fn folder() -> Self {
        let dir =
            std::env::temp_dir().join(format!("bookstore-files-{}", uuid::Uuid::new_v4().simple()));
        Self::Folder(dir)
    }

    /// A fresh bucket; `None` when no S3 server runs and the test is skipped (see
    /// `TestBucket::create`).
    async fn bucket() -> Option<Self> {
        TestBucket::create().await.map(Self::Bucket)
    }

    fn location(&self) -> StorageLocation {
        match self {
            Self::Folder(dir) => StorageLocation::Folder(dir.clone()),
            Self::Bucket(bucket) => StorageLocation::S3(S3Settings {
                bucket: bucket.name.clone(),
                prefix: String::new(),
                endpoint: Some(bucket.endpoint.clone()),
                region: "us-east-1".into(),
                access_key_id: Some("testing".into()),
                secret_access_key: Some("testing".into()),
            }),
        }
    }

    /// Every stored key, sorted.
    async fn keys(&self) -> Vec<String> {
        let mut keys = match self {
            Self::Folder(dir) => {
                let mut keys = Vec::new();
                collect_files(dir, dir, &mut keys);
                keys
            }
            Self::Bucket(bucket) => bucket.keys().await,
        };
        keys.sort();
        keys
    }
}

fn collect_files(root: &Path, dir: &Path, keys: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect_files(root, &path, keys);
        } else {
            keys.push(path.strip_prefix(root).unwrap().display().to_string());
        }
    }
}

struct Shop {
    server: TestServer,
    http: reqwest::Client,
    store: Store,
    purchases: Arc<BuyerOneBoughtEverything>,
    admin: String,
    customer: String,
    buyer: String,
    /// The service token the worker would present.
    service_token: platform::auth::ServiceToken,
    conn: sea_orm::DatabaseConnection,
    /// A book of the sample catalogue.
    book: Value,
}

async fn start(db: &TestDatabase, store: Store) -> Shop {
    let conn = db.connect().await.unwrap();
    migration::Migrator::up(&conn, None).await.unwrap();
    catalog::seed::seed_if_empty(&conn).await.unwrap();
    let keys = KeyPair::generate();
    let verifier = Arc::new(TokenVerifier::new(&keys.public()).unwrap());
    let purchases = Arc::new(BuyerOneBoughtEverything::default());
    let files = Files::new(Storage::open(&store.location()).unwrap(), purchases.clone());
    let service_token = platform::auth::ServiceToken::generate();
    let (router, _) = catalog::router(catalog::CatalogState::new(
        conn.clone(),
        verifier,
        service_token.clone(),
        files,
    ))
    .split_for_parts();
    let server = TestServer::start(router, vec![conn.clone()]).await;
    let signer = TokenSigner::new(&keys, Duration::from_secs(900)).unwrap();
    let http = reqwest::Client::new();
    let list = Reply::read(
        http.get(server.url("/api/v1/books?limit=1&sort=title"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    Shop {
        server,
        http,
        store,
        purchases,
        admin: signer.sign("admin-1", Role::Admin, "test-session").unwrap(),
        customer: signer
            .sign("customer-1", Role::Customer, "test-session")
            .unwrap(),
        buyer: signer
            .sign("buyer-1", Role::Customer, "test-session")
            .unwrap(),
        service_token,
        conn,
        book: list.body["items"][0].clone(),
    }
}

impl Shop {
    fn book_id(&self) -> String {
        self.book["id"].as_str().unwrap().to_owned()
    }

    fn url(&self, path: &str) -> String {
        self.server.url(path)
    }

    /// PUTs `bytes` as the book's `what` (`cover` or `document`) with `token`.
    async fn upload_as(
        &self,
        token: Option<&str>,
        what: &str,
        file_name: &str,
        bytes: &[u8],
    ) -> Reply {
        let (content_type, body) = form("file", file_name, "application/octet-stream", bytes);
        let mut request = self
            .http
            .put(self.url(&format!("/api/v1/books/{}/{what}", self.book_id())))
            .header(header::CONTENT_TYPE, content_type)
            .body(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let reply = Reply::read(request.send().await.unwrap()).await;
        reply.assert_no_server_error();
        reply
    }

    async fn upload(&self, what: &str, file_name: &str, bytes: &[u8]) -> Reply {
        self.upload_as(Some(&self.admin), what, file_name, bytes)
            .await
    }

    async fn get(
        &self,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut request = self.http.get(self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.unwrap()
    }

    async fn delete(&self, path: &str) -> StatusCode {
        self.http
            .delete(self.url(path))
            .bearer_auth(&self.admin)
            .send()
            .await
            .unwrap()
            .status()
    }

    async fn book_now(&self) -> Value {
        let path = format!("/api/v1/books/{}", self.book_id());
        self.get(&path, None, &[]).await.json().await.unwrap()
    }
}

/// A photo-like JPEG with an EXIF block naming a place, as a phone would write it.
fn jpeg_with_exif(width: u32, height: u32) -> Vec<u8> {
    let image = RgbImage::from_fn(width, height, |x, y| {
        Rgb([(x % 256) as u8, (y % 256) as u8, 90])
    });
    let mut plain = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut plain, 90)
        .encode_image(&image)
        .unwrap();
    let payload = b"Exif\0\0GPSLatitude 51.5007 N SECRET-PLACE";
    let length = u16::try_from(payload.len() + 2).unwrap();
    let mut out = plain[..2].to_vec(); // SOI
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&length.to_be_bytes());
    out.extend_from_slice(payload);
    out.extend_from_slice(&plain[2..]);
    out
}

fn png(width: u32, height: u32) -> Vec<u8> {
    let image = RgbImage::from_pixel(width, height, Rgb([20, 120, 200]));
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out)
        .write_image(
            image.as_raw(),
            width,
            height,
            image::ExtendedColorType::Rgb8,
        )
        .unwrap();
    out
}

fn webp(width: u32, height: u32) -> Vec<u8> {
    let image = RgbImage::from_pixel(width, height, Rgb([200, 120, 20]));
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, ImageFormat::WebP).unwrap();
    out.into_inner()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

fn header_of(response: &reqwest::Response, name: header::HeaderName) -> String {
    response
        .headers()
        .get(name)
        .map(|value| value.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// Covers.

async fn cover_lifecycle(db: &TestDatabase, store: Store) {
    let shop = start(db, store).await;
    let id = shop.book_id();
    let uploaded = shop
        .upload("cover", "holiday.jpg", &jpeg_with_exif(1200, 1800))
        .await;
    assert_eq!(uploaded.status, StatusCode::OK, "{}", uploaded.body);
    let cover_url = uploaded.body["cover_url"].as_str().unwrap().to_owned();
    let thumbnail_url = uploaded.body["cover_thumbnail_url"]
        .as_str()
        .unwrap()
        .to_owned();
    let version = cover_url.rsplit("v=").next().unwrap().to_owned();
    assert_eq!(
        cover_url,
        format!("/api/v1/books/{id}/cover?size=large&v={version}")
    );
    assert_eq!(
        thumbnail_url,
        format!("/api/v1/books/{id}/cover?size=small&v={version}")
    );
    assert_eq!(shop.book_now().await["cover_url"], cover_url.as_str());
    // Two sizes under the server's own key; the client's file name is nowhere.
    assert_eq!(
        shop.store.keys().await,
        vec![
            format!("books/{id}/cover/{version}/large.jpg"),
            format!("books/{id}/cover/{version}/small.jpg"),
        ]
    );

    for (url, width) in [(&cover_url, 600), (&thumbnail_url, 300)] {
        let response = shop.get(url, None, &[]).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(header_of(&response, header::CONTENT_TYPE), "image/jpeg");
        assert_eq!(
            header_of(&response, header::CACHE_CONTROL),
            "public, max-age=31536000, immutable"
        );
        let etag = header_of(&response, header::ETAG);
        let bytes = response.bytes().await.unwrap();
        let image = image::load_from_memory_with_format(&bytes, ImageFormat::Jpeg).unwrap();
        assert_eq!((image.width(), image.height()), (width, width * 3 / 2));
        // The metadata is gone: no EXIF block, no trace of the place.
        assert!(!contains(&bytes, b"Exif") && !contains(&bytes, b"SECRET-PLACE"));
        let again = shop.get(url, None, &[("if-none-match", &etag)]).await;
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
        assert!(again.bytes().await.unwrap().is_empty());
    }
    // Without the version the answer is revalidated each time.
    let unversioned = shop
        .get(&format!("/api/v1/books/{id}/cover"), None, &[])
        .await;
    assert_eq!(unversioned.status(), StatusCode::OK);
    assert_eq!(
        header_of(&unversioned, header::CACHE_CONTROL),
        "public, no-cache"
    );

    // Replacing (with a PNG, then a WebP) makes a new version and deletes the old one.
    let mut previous = version;
    for (replacement, large_width) in [(png(640, 960), 600), (webp(400, 600), 400)] {
        let replaced = shop.upload("cover", "cover", &replacement).await;
        assert_eq!(replaced.status, StatusCode::OK, "{}", replaced.body);
        let url = replaced.body["cover_url"].as_str().unwrap();
        let version = url.rsplit("v=").next().unwrap().to_owned();
        assert_ne!(version, previous);
        assert_eq!(
            shop.store.keys().await,
            vec![
                format!("books/{id}/cover/{version}/large.jpg"),
                format!("books/{id}/cover/{version}/small.jpg"),
            ]
        );
        let image = image::load_from_memory(&shop.get(url, None, &[]).await.bytes().await.unwrap())
            .unwrap();
        assert_eq!(image.width(), large_width);
        previous = version;
    }

    assert_eq!(
        shop.delete(&format!("/api/v1/books/{id}/cover")).await,
        StatusCode::NO_CONTENT
    );
    assert!(shop.store.keys().await.is_empty());
    assert!(shop.book_now().await["cover_url"].is_null());
    let gone = Reply::read(
        shop.get(&format!("/api/v1/books/{id}/cover"), None, &[])
            .await,
    )
    .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(gone.content_type, "application/problem+json");
}

async fn bad_covers_leave_nothing(db: &TestDatabase, store: Store) {
    let shop = start(db, store).await;
    let id = shop.book_id();
    let mut truncated = png(300, 300);
    truncated.truncate(truncated.len() / 2);
    let mut oversized = jpeg_with_exif(64, 64);
    oversized.resize(5 * 1024 * 1024 + 1, 0);
    let cases: Vec<(&str, Vec<u8>, StatusCode, &str)> = vec![
        (
            "a GIF",
            b"GIF89a\x01\x00\x01\x00\x00\x00\x00;".to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "not a JPEG, PNG or WebP",
        ),
        (
            "an SVG",
            b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>".to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "not a JPEG, PNG or WebP",
        ),
        (
            "a PDF named .jpg",
            b"%PDF-1.7\n%%EOF".to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "not a JPEG, PNG or WebP",
        ),
        (
            "a truncated PNG",
            truncated,
            StatusCode::UNPROCESSABLE_ENTITY,
            "cannot be decoded",
        ),
        (
            "too many pixels",
            png(6001, 2),
            StatusCode::UNPROCESSABLE_ENTITY,
            "at most 6000",
        ),
        (
            "over 5 MiB",
            oversized,
            StatusCode::PAYLOAD_TOO_LARGE,
            "larger than 5 MiB",
        ),
        (
            "an empty file",
            Vec::new(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "empty",
        ),
    ];
    for (what, bytes, status, says) in cases {
        let reply = shop.upload("cover", "cover.jpg", &bytes).await;
        assert_eq!(reply.status, status, "{what}: {}", reply.body);
        assert_eq!(reply.content_type, "application/problem+json", "{what}");
        assert!(
            reply.body.to_string().contains(says),
            "{what}: {}",
            reply.body
        );
    }
    // The file in another field, and a body that is not a form at all.
    let (content_type, body) = form("image", "cover.png", "image/png", &png(10, 10));
    let wrong_field = Reply::read(
        shop.http
            .put(shop.url(&format!("/api/v1/books/{id}/cover")))
            .bearer_auth(&shop.admin)
            .header(header::CONTENT_TYPE, content_type)
            .body(body)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(wrong_field.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        wrong_field.body["errors"]["file"].is_array(),
        "{}",
        wrong_field.body
    );
    let not_a_form = Reply::read(
        shop.http
            .put(shop.url(&format!("/api/v1/books/{id}/cover")))
            .bearer_auth(&shop.admin)
            .header(header::CONTENT_TYPE, "image/png")
            .body(png(10, 10))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(not_a_form.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // Only admins upload, and only to books that exist.
    let image = png(10, 10);
    assert_eq!(
        shop.upload_as(None, "cover", "c.png", &image).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        shop.upload_as(Some(&shop.customer), "cover", "c.png", &image)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let (content_type, body) = form("file", "c.png", "image/png", &image);
    let unknown = shop
        .http
        .put(shop.url("/api/v1/books/no-such-book/cover"))
        .bearer_auth(&shop.admin)
        .header(header::CONTENT_TYPE, content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);

    assert!(
        shop.store.keys().await.is_empty(),
        "{:?}",
        shop.store.keys().await
    );
    assert!(shop.book_now().await["cover_url"].is_null());

    // A file name that tries to climb out of the store is stored under the server's key.
    let climbing = shop
        .upload("cover", "../../../../etc/cron.d/evil.png", &png(20, 30))
        .await;
    assert_eq!(climbing.status, StatusCode::OK, "{}", climbing.body);
    let keys = shop.store.keys().await;
    assert_eq!(keys.len(), 2);
    assert!(
        keys.iter()
            .all(|key| key.starts_with(&format!("books/{id}/cover/")) && !key.contains("evil")),
        "{keys:?}"
    );
    if let Store::Folder(dir) = &shop.store {
        assert_eq!(
            std::fs::read_dir(dir)
                .unwrap()
                .map(|entry| entry.unwrap().file_name())
                .collect::<Vec<_>>(),
            vec![std::ffi::OsString::from("books")]
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Documents.

fn pdf() -> Vec<u8> {
    let mut doc = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n".to_vec();
    for line in 0..200 {
        doc.extend_from_slice(format!("% line {line} of the document body\n").as_bytes());
    }
    doc.extend_from_slice(b"%%EOF\n");
    doc
}

fn epub() -> Vec<u8> {
    let mut doc = b"PK\x03\x04\x0a\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x14\x00\x00\x00\x14\x00\x00\x00\x08\x00\x00\x00".to_vec();
    doc.extend_from_slice(b"mimetypeapplication/epub+zip");
    doc.extend_from_slice(b"PK\x03\x04 the rest of the container");
    doc
}

async fn document_lifecycle(db: &TestDatabase, store: Store) {
    let shop = start(db, store).await;
    let id = shop.book_id();
    let title = shop.book["title"].as_str().unwrap().to_owned();
    let document = pdf();
    let uploaded = shop
        .upload("document", "../../../../tmp/owned.pdf", &document)
        .await;
    assert_eq!(uploaded.status, StatusCode::OK, "{}", uploaded.body);
    assert_eq!(
        uploaded.body["document_url"],
        format!("/api/v1/books/{id}/document").as_str()
    );
    assert_eq!(uploaded.body["document_kind"], "pdf");
    assert_eq!(uploaded.body["document_bytes"], document.len());
    let keys = shop.store.keys().await;
    assert_eq!(keys.len(), 1);
    assert!(
        keys[0].starts_with(&format!("books/{id}/document/")) && !keys[0].contains("owned"),
        "{keys:?}"
    );

    // Who may download.
    let path = format!("/api/v1/books/{id}/document");
    assert_eq!(
        shop.get(&path, None, &[]).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let refused = Reply::read(shop.get(&path, Some(&shop.customer), &[]).await).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(refused.body["detail"].as_str().unwrap().contains("bought"));
    for token in [&shop.buyer, &shop.admin] {
        let response = shop.get(&path, Some(token), &[]).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            header_of(&response, header::CONTENT_TYPE),
            "application/pdf"
        );
        assert_eq!(header_of(&response, header::ACCEPT_RANGES), "bytes");
        assert_eq!(
            header_of(&response, header::CACHE_CONTROL),
            "private, no-cache"
        );
        let disposition = header_of(&response, header::CONTENT_DISPOSITION);
        assert!(
            disposition.starts_with("attachment; filename=\""),
            "{disposition}"
        );
        assert!(
            disposition.contains(".pdf\"") && !disposition.contains("owned"),
            "{disposition}"
        );
        assert!(
            disposition.contains(
                &title
                    .split_whitespace()
                    .next()
                    .unwrap()
                    .replace(|c: char| !c.is_ascii_alphanumeric(), "")
            ),
            "{disposition} for {title}"
        );
        assert_eq!(response.bytes().await.unwrap(), document);
    }
    // The buyer's own token went to the orders service; the admin's was never needed.
    let asked_with = shop.purchases.asked_with.lock().unwrap().clone();
    assert_eq!(
        asked_with,
        vec![
            format!("Bearer {}", shop.customer),
            format!("Bearer {}", shop.buyer)
        ]
    );

    // Ranges, conditional requests.
    let size = document.len();
    let first = shop
        .get(&path, Some(&shop.buyer), &[("range", "bytes=0-9")])
        .await;
    assert_eq!(first.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        header_of(&first, header::CONTENT_RANGE),
        format!("bytes 0-9/{size}")
    );
    let etag = header_of(&first, header::ETAG);
    assert_eq!(first.bytes().await.unwrap(), document[..10]);
    let last = shop
        .get(&path, Some(&shop.buyer), &[("range", "bytes=-6")])
        .await;
    assert_eq!(last.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(last.bytes().await.unwrap(), document[size - 6..]);
    let middle = shop
        .get(
            &path,
            Some(&shop.buyer),
            &[("range", "bytes=100-199"), ("if-range", &etag)],
        )
        .await;
    assert_eq!(middle.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(middle.bytes().await.unwrap(), document[100..200]);
    let past = shop
        .get(
            &path,
            Some(&shop.buyer),
            &[("range", &format!("bytes={size}-"))],
        )
        .await;
    assert_eq!(past.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(
        header_of(&past, header::CONTENT_RANGE),
        format!("bytes */{size}")
    );
    let past = Reply::read(past).await;
    assert_eq!(past.body["code"], "range_not_satisfiable");
    let cached = shop
        .get(&path, Some(&shop.buyer), &[("if-none-match", &etag)])
        .await;
    assert_eq!(cached.status(), StatusCode::NOT_MODIFIED);

    // Replaced by an EPUB, then by text: each upload deletes the one before.
    for (document, kind, content_type) in [
        (epub(), "epub", "application/epub+zip"),
        ("Chapter one.\nIt was a bright cold day in April, and the clocks were striking thirteen — «naïve».\n".as_bytes().to_vec(), "text", "text/plain; charset=utf-8"),
    ] {
        let replaced = shop.upload("document", "book", &document).await;
        assert_eq!(replaced.status, StatusCode::OK, "{}", replaced.body);
        assert_eq!(replaced.body["document_kind"], kind);
        assert_eq!(shop.store.keys().await.len(), 1);
        let response = shop.get(&path, Some(&shop.admin), &[]).await;
        assert_eq!(header_of(&response, header::CONTENT_TYPE), content_type);
        assert_ne!(header_of(&response, header::ETAG), etag);
        assert_eq!(response.bytes().await.unwrap(), document);
    }

    assert_eq!(shop.delete(&path).await, StatusCode::NO_CONTENT);
    assert!(shop.store.keys().await.is_empty());
    let book = shop.book_now().await;
    assert!(book["document_url"].is_null() && book["document_kind"].is_null());
    assert_eq!(
        shop.get(&path, Some(&shop.admin), &[]).await.status(),
        StatusCode::NOT_FOUND
    );
}

async fn bad_documents_leave_nothing(db: &TestDatabase, store: Store) {
    let shop = start(db, store).await;
    let mut turns_binary = "text ".repeat(300_000).into_bytes();
    turns_binary.extend_from_slice(b"\0\x01\x02binary");
    let mut oversized = pdf();
    oversized.resize(50 * 1024 * 1024 + 1, b' ');
    let cases: Vec<(&str, Vec<u8>, StatusCode, &str)> = vec![
        (
            "an executable",
            b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0".to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "not a PDF, an EPUB or plain UTF-8 text",
        ),
        (
            "an image",
            png(10, 10),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "not a PDF",
        ),
        (
            "a ZIP that is no EPUB",
            b"PK\x03\x04\x14\0\0\0\x08\0 some other archive entirely, long enough to be judged"
                .to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "not a PDF",
        ),
        (
            "text that turns binary",
            turns_binary,
            StatusCode::UNPROCESSABLE_ENTITY,
            "not UTF-8 text from byte 1500000",
        ),
        (
            "over 50 MiB",
            oversized,
            StatusCode::PAYLOAD_TOO_LARGE,
            "larger than 50 MiB",
        ),
        (
            "an empty file",
            Vec::new(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "empty",
        ),
    ];
    for (what, bytes, status, says) in cases {
        let reply = shop.upload("document", "book.pdf", &bytes).await;
        assert_eq!(reply.status, status, "{what}: {}", reply.body);
        assert_eq!(reply.content_type, "application/problem+json", "{what}");
        assert!(
            reply.body.to_string().contains(says),
            "{what}: {}",
            reply.body
        );
        assert!(
            shop.store.keys().await.is_empty(),
            "{what} left {:?}",
            shop.store.keys().await
        );
    }
    let book = shop.book_now().await;
    assert!(book["document_url"].is_null());
}

async fn deleting_a_book_deletes_its_files(db: &TestDatabase, store: Store) {
    let shop = start(db, store).await;
    let id = shop.book_id();
    assert_eq!(
        shop.upload("cover", "c.png", &png(50, 80)).await.status,
        StatusCode::OK
    );
    assert_eq!(
        shop.upload("document", "d.pdf", &pdf()).await.status,
        StatusCode::OK
    );
    assert_eq!(shop.store.keys().await.len(), 3);
    assert_eq!(
        shop.delete(&format!("/api/v1/books/{id}")).await,
        StatusCode::NO_CONTENT
    );
    assert!(
        shop.store.keys().await.is_empty(),
        "{:?}",
        shop.store.keys().await
    );
}

// ---------------------------------------------------------------------------------------------
// Summaries: what the catalogue records of them.

/// The kinds of the events in the catalogue's outbox, oldest first.
async fn announced(conn: &sea_orm::DatabaseConnection) -> Vec<String> {
    use sea_orm::{ConnectionTrait, Statement};
    let rows = conn
        .query_all_raw(Statement::from_string(
            conn.get_database_backend(),
            "SELECT kind FROM catalog_outbox ORDER BY occurred_at, id",
        ))
        .await
        .unwrap();
    rows.iter()
        .map(|row| row.try_get::<String>("", "kind").unwrap())
        .collect()
}

async fn summaries_are_requested_and_settled_for_the_current_document(
    db: &TestDatabase,
    store: Store,
) {
    let shop = start(db, store).await;
    let id = shop.book_id();
    let path = format!("/api/v1/books/{id}/summary");
    // Events of earlier tests on the same database come first.
    let earlier = announced(&shop.conn).await.len();
    let news = || async { announced(&shop.conn).await.split_off(earlier) };
    assert_eq!(shop.book_now().await["summary"]["status"], "none");
    // Nothing to summarise yet.
    let none = Reply::read(
        shop.http
            .post(shop.url(&path))
            .bearer_auth(&shop.admin)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(none.status, StatusCode::CONFLICT, "{}", none.body);

    // Uploading a document asks for its summary, in the same transaction as the upload.
    let uploaded = shop
        .upload(
            "document",
            "d.txt",
            b"A quiet story about a town by the sea.",
        )
        .await;
    let sha = uploaded.body["document_sha256"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(uploaded.body["summary"]["status"], "pending");
    assert_eq!(uploaded.body["summary"]["document_sha256"], sha.as_str());
    assert_eq!(news().await, ["book.summary_requested"]);

    // Only the worker stores a summary, and only for the document the book has now.
    let store_summary = |token: Option<&str>, body: Value| {
        let mut request = shop.http.put(shop.url(&path)).json(&body);
        if let Some(token) = token {
            request = request.header("x-service-token", token);
        }
        async move { Reply::read(request.send().await.unwrap()).await }
    };
    let ready = serde_json::json!({"document_sha256": sha, "result": {"status": "ready", "text": "A town by the sea, quietly.", "method": "model", "model": "test-model"}});
    assert_eq!(
        store_summary(None, ready.clone()).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        store_summary(Some("not-the-token-not-the-token-not-it"), ready.clone())
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let customer = Reply::read(
        shop.http
            .put(shop.url(&path))
            .bearer_auth(&shop.admin)
            .json(&ready)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        customer.status,
        StatusCode::UNAUTHORIZED,
        "an admin's token is not the service token"
    );
    let token = shop.service_token.as_str().to_owned();
    let stale = serde_json::json!({"document_sha256": "0".repeat(64), "result": {"status": "failed", "reason": "x"}});
    assert_eq!(
        store_summary(Some(&token), stale).await.status,
        StatusCode::CONFLICT
    );
    for bad in [
        serde_json::json!({"document_sha256": sha, "result": {"status": "ready", "text": " ", "method": "extractive", "model": null}}),
        serde_json::json!({"document_sha256": sha, "result": {"status": "ready", "text": "x".repeat(4001), "method": "extractive", "model": null}}),
        serde_json::json!({"document_sha256": sha, "result": {"status": "ready", "text": "fine", "method": "model", "model": null}}),
        serde_json::json!({"document_sha256": sha, "result": {"status": "failed", "reason": ""}}),
    ] {
        assert_eq!(
            store_summary(Some(&token), bad).await.status,
            StatusCode::UNPROCESSABLE_ENTITY
        );
    }
    let stored = store_summary(Some(&token), ready.clone()).await;
    assert_eq!(stored.status, StatusCode::OK, "{}", stored.body);
    let summary = &stored.body["summary"];
    assert_eq!(summary["status"], "ready");
    assert_eq!(summary["text"], "A town by the sea, quietly.");
    assert_eq!(summary["method"], "model");
    assert_eq!(summary["model"], "test-model");
    assert_eq!(
        news().await,
        ["book.summary_requested", "book.summary_ready"]
    );

    // An admin asks again: pending, and a new request.
    let customer = Reply::read(
        shop.http
            .post(shop.url(&path))
            .bearer_auth(&shop.customer)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(customer.status, StatusCode::FORBIDDEN);
    let again = Reply::read(
        shop.http
            .post(shop.url(&path))
            .bearer_auth(&shop.admin)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(again.status, StatusCode::ACCEPTED, "{}", again.body);
    assert_eq!(again.body["summary"]["status"], "pending");
    assert!(again.body["summary"]["text"].is_null());
    assert_eq!(
        news().await,
        [
            "book.summary_requested",
            "book.summary_ready",
            "book.summary_requested"
        ]
    );

    // A new document replaces the request; the old document's outcome is refused.
    let replaced = shop
        .upload(
            "document",
            "d.txt",
            b"Another story entirely, about mountains.",
        )
        .await;
    assert_ne!(replaced.body["document_sha256"], sha.as_str());
    assert_eq!(
        store_summary(Some(&token), ready).await.status,
        StatusCode::CONFLICT
    );
    // Without a document there is no summary.
    assert_eq!(
        shop.delete(&format!("/api/v1/books/{id}/document")).await,
        StatusCode::NO_CONTENT
    );
    let book = shop.book_now().await;
    assert_eq!(book["summary"]["status"], "none");
    assert!(book["summary"]["document_sha256"].is_null());
}

// The service token also reads a document, without asking anyone who bought it.
async fn the_worker_reads_a_document_with_the_service_token(db: &TestDatabase, store: Store) {
    let shop = start(db, store).await;
    let id = shop.book_id();
    shop.upload("document", "d.pdf", &pdf()).await;
    let path = format!("/api/v1/books/{id}/document");
    let token = shop.service_token.as_str().to_owned();
    let response = shop.get(&path, None, &[("x-service-token", &token)]).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.bytes().await.unwrap(), pdf());
    let wrong = shop
        .get(&path, Some(&shop.admin), &[("x-service-token", "wrong")])
        .await;
    assert_eq!(
        wrong.status(),
        StatusCode::FORBIDDEN,
        "a wrong token never falls back to the bearer token"
    );
    assert!(shop.purchases.asked_with.lock().unwrap().is_empty());
}

// ---------------------------------------------------------------------------------------------
// The tests: each on a folder, and on a bucket of the S3-compatible server.

macro_rules! on_both_stores {
    ($($name:ident),* $(,)?) => {
        mod folder {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    platform::testing::run_on(Backend::Sqlite, |db| async move {
                        super::$name(&db, Store::folder()).await;
                    })
                    .await;
                }
            )*
        }
        mod s3 {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(store) = Store::bucket().await else { return };
                    platform::testing::run_on(Backend::Sqlite, |db| async move {
                        super::$name(&db, store).await;
                    })
                    .await;
                }
            )*
        }
    };
}

on_both_stores!(
    cover_lifecycle,
    bad_covers_leave_nothing,
    document_lifecycle,
    bad_documents_leave_nothing,
    deleting_a_book_deletes_its_files,
    summaries_are_requested_and_settled_for_the_current_document,
    the_worker_reads_a_document_with_the_service_token,
);

// The file columns are written with a compare-and-swap on every database.
platform::backend_tests! {
    async fn covers_documents_and_summaries_are_recorded_on_every_database(db) {
        cover_lifecycle(&db, Store::folder()).await;
        document_lifecycle(&db, Store::folder()).await;
        summaries_are_requested_and_settled_for_the_current_document(&db, Store::folder()).await;
    }
}
