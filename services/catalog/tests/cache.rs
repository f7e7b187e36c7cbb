//! The catalogue's response cache over HTTP on a real database: pages and details served from
//! memory after the first read, every kind of write shown by the next read, entity tags and
//! `304`, gzip and brotli bodies that decode to the JSON, the memory bound, and the age bound
//! between two replicas on one database.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::io::Read;
use std::sync::Arc;
use std::time::{Duration, Instant};

use catalog::CatalogState;
use catalog::availability::StockChangedHandler;
use catalog::cache::CacheSettings;
use contracts::events::{Event, StockChanged, StockLevel};
use image::{ImageEncoder, Rgb, RgbImage};
use migration::MigratorTrait;
use platform::auth::{KeyPair, Role, TokenSigner, TokenVerifier};
use platform::messaging::{Delivery, Handler, Outcome};
use platform::testing::{Backend, TestDatabase, TestServer, file_form};
use reqwest::{StatusCode, header};
use sea_orm::DatabaseConnection;
use serde_json::{Value, json};
use support::NobodyBoughtAnything;

struct Replica {
    server: TestServer,
    state: CatalogState,
}

struct Shop {
    conn: DatabaseConnection,
    http: reqwest::Client,
    admin: String,
    keys: KeyPair,
}

/// A migrated database with the sample catalogue.
async fn shop(db: &TestDatabase) -> Shop {
    let conn = db.connect().await.unwrap();
    migration::Migrator::up(&conn, None).await.unwrap();
    catalog::seed::seed_if_empty(&conn).await.unwrap();
    let keys = KeyPair::generate();
    let signer = TokenSigner::new(&keys, Duration::from_secs(900)).unwrap();
    Shop {
        conn,
        http: reqwest::Client::new(),
        admin: signer.sign("admin-1", Role::Admin, "test-session").unwrap(),
        keys,
    }
}

impl Shop {
    /// A catalogue process on the shop's database with its own cache.
    async fn replica(&self, settings: CacheSettings) -> Replica {
        let storage = catalog::storage::Storage::open(&catalog::storage::StorageLocation::Folder(
            std::env::temp_dir().join(format!("bookstore-cache-{}", uuid::Uuid::new_v4().simple())),
        ))
        .unwrap();
        let state = CatalogState::new(
            self.conn.clone(),
            Arc::new(TokenVerifier::new(&self.keys.public()).unwrap()),
            platform::auth::ServiceToken::generate(),
            catalog::files::Files::new(storage, Arc::new(NobodyBoughtAnything)),
        )
        .with_cache(settings, &platform::metrics::Metrics::new());
        let (router, _) = catalog::router(state.clone()).split_for_parts();
        Replica {
            server: TestServer::start(router, vec![self.conn.clone()]).await,
            state,
        }
    }
}

impl Replica {
    fn hits(&self) -> u64 {
        self.state.cache().metrics().lookups("hit")
    }

    async fn get(&self, http: &reqwest::Client, path: &str) -> reqwest::Response {
        http.get(self.server.url(path)).send().await.unwrap()
    }

    async fn json(&self, http: &reqwest::Client, path: &str) -> Value {
        let response = self.get(http, path).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }
}

fn stock_changed(book_id: &str, available: i64) -> Delivery {
    Delivery {
        envelope: StockChanged {
            books: vec![StockLevel::new(book_id, available)],
            at: chrono::Utc::now(),
        }
        .envelope()
        .unwrap(),
        attempt: 1,
        first_failure_at: None,
        last_error: None,
    }
}

fn png() -> Vec<u8> {
    let image = RgbImage::from_pixel(40, 60, Rgb([20, 120, 200]));
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out)
        .write_image(image.as_raw(), 40, 60, image::ExtendedColorType::Rgb8)
        .unwrap();
    out
}

const PAGE: &str = "/api/v1/books?limit=100&sort=title";

platform::backend_tests! {
    async fn pages_come_from_the_cache_and_every_write_shows_in_the_next_read(db) {
        let shop = shop(&db).await;
        let replica = shop.replica(CacheSettings::default()).await;
        let http = &shop.http;
        let first = replica.json(http, PAGE).await;
        let before = replica.hits();
        assert_eq!(replica.json(http, PAGE).await, first);
        assert_eq!(replica.hits(), before + 1, "the second read was not a hit");
        // The same search written differently is the same page.
        replica.json(http, "/api/v1/books?sort=title&page=1&limit=100").await;
        assert_eq!(replica.hits(), before + 2);

        let books: Vec<Value> = first["items"].as_array().unwrap().clone();
        let id = |n: usize| books[n]["id"].as_str().unwrap().to_owned();
        let detail = |id: &str| format!("/api/v1/books/{id}");
        let title_in_page = |page: &Value, id: &str| {
            page["items"].as_array().unwrap().iter().find(|b| b["id"] == id).map(|b| b["title"].clone())
        };
        // Every book's details, read twice: the second from the cache.
        for n in 0..books.len() {
            replica.json(http, &detail(&id(n))).await;
        }
        let before = replica.hits();
        for n in 0..books.len() {
            replica.json(http, &detail(&id(n))).await;
        }
        assert_eq!(replica.hits(), before + books.len() as u64);

        // An admin's change of a book.
        let changed = id(0);
        let patch = http.patch(replica.server.url(&detail(&changed))).bearer_auth(&shop.admin)
            .json(&json!({ "title": "A Title Changed Just Now" })).send().await.unwrap();
        assert_eq!(patch.status(), StatusCode::OK);
        assert_eq!(replica.json(http, &detail(&changed)).await["title"], "A Title Changed Just Now");
        assert_eq!(title_in_page(&replica.json(http, PAGE).await, &changed).unwrap(), "A Title Changed Just Now");

        // A change of one book leaves the other books' details in the cache (a few share its
        // slot of the version table: 1 in 256).
        let before = replica.hits();
        for n in 1..books.len() {
            replica.json(http, &detail(&id(n))).await;
        }
        let kept = replica.hits() - before;
        assert!(kept + 4 >= books.len() as u64 - 1, "only {kept} of {} other books stayed cached", books.len() - 1);

        // Stock, as the `stock.changed` consumer applies it.
        let stocked = id(1);
        let handler = StockChangedHandler::new(shop.conn.clone(), replica.state.cache().clone());
        assert_eq!(handler.handle(&stock_changed(&stocked, 0)).await, Outcome::Ack);
        assert_eq!(replica.json(http, &detail(&stocked)).await["available"], 0);
        let out_of_stock = replica.json(http, "/api/v1/books?limit=100&in_stock=false").await;
        assert!(out_of_stock["items"].as_array().unwrap().iter().any(|b| b["id"] == stocked.as_str()));
        assert_eq!(handler.handle(&stock_changed(&stocked, 7)).await, Outcome::Ack);
        assert_eq!(replica.json(http, &detail(&stocked)).await["available"], 7);

        // A cover landing.
        let covered = id(2);
        let (content_type, body) = file_form("file", "cover.png", "image/png", &png());
        let upload = http.put(replica.server.url(&format!("/api/v1/books/{covered}/cover")))
            .bearer_auth(&shop.admin).header(header::CONTENT_TYPE, content_type).body(body)
            .send().await.unwrap();
        assert_eq!(upload.status(), StatusCode::OK, "{}", upload.text().await.unwrap());
        assert!(replica.json(http, &detail(&covered)).await["cover_url"].is_string());
        let page = replica.json(http, PAGE).await;
        let listed = page["items"].as_array().unwrap().iter().find(|b| b["id"] == covered.as_str()).unwrap().clone();
        assert!(listed["cover_url"].is_string(), "{listed}");

        // A new book, then its deletion.
        let created = http.post(replica.server.url("/api/v1/books")).bearer_auth(&shop.admin)
            .json(&json!({ "isbn": "9780306406157", "title": "Cached Or Not", "authors": ["A"], "publisher": "P", "format": "ebook", "genre": "Sci-Fi", "price": "1.00" }))
            .send().await.unwrap();
        assert_eq!(created.status(), StatusCode::CREATED);
        let created: Value = created.json().await.unwrap();
        let new_id = created["id"].as_str().unwrap().to_owned();
        let total = first["total"].as_u64().unwrap();
        assert_eq!(replica.json(http, PAGE).await["total"], total + 1);
        replica.json(http, &detail(&new_id)).await;
        let deleted = http.delete(replica.server.url(&detail(&new_id))).bearer_auth(&shop.admin).send().await.unwrap();
        assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
        assert_eq!(replica.get(http, &detail(&new_id)).await.status(), StatusCode::NOT_FOUND);
        assert_eq!(replica.json(http, PAGE).await["total"], total);
    }

    async fn tags_answer_not_modified_and_compressed_bodies_decode_to_the_json(db) {
        let shop = shop(&db).await;
        let replica = shop.replica(CacheSettings::default()).await;
        let http = &shop.http;
        let plain = replica.get(http, PAGE).await;
        assert_eq!(plain.headers()[header::CACHE_CONTROL], "no-cache");
        assert_eq!(plain.headers()[header::VARY], "Accept-Encoding");
        assert!(plain.headers().get(header::CONTENT_ENCODING).is_none());
        let etag = plain.headers()[header::ETAG].to_str().unwrap().to_owned();
        assert!(etag.starts_with('"') && !etag.starts_with("W/"), "{etag}");
        let json = plain.bytes().await.unwrap();

        let again = http.get(replica.server.url(PAGE)).header(header::IF_NONE_MATCH, &etag).send().await.unwrap();
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(again.headers()[header::ETAG].to_str().unwrap(), etag);
        assert!(again.bytes().await.unwrap().is_empty());

        let mut tags = vec![etag.clone()];
        for (accept, encoding) in [("gzip", "gzip"), ("gzip, deflate, br", "br")] {
            let response = http.get(replica.server.url(PAGE)).header(header::ACCEPT_ENCODING, accept).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            assert_eq!(response.headers()[header::CONTENT_ENCODING], encoding);
            let tag = response.headers()[header::ETAG].to_str().unwrap().to_owned();
            let body = response.bytes().await.unwrap();
            assert!(body.len() * 3 < json.len(), "{encoding}: {} of {} bytes", body.len(), json.len());
            let mut decoded = Vec::new();
            match encoding {
                "gzip" => { flate2::read::GzDecoder::new(&body[..]).read_to_end(&mut decoded).unwrap(); }
                _ => { brotli::BrotliDecompress(&mut &body[..], &mut decoded).unwrap(); }
            }
            assert_eq!(decoded, json, "{encoding} does not decode to the JSON");
            let revalidated = http.get(replica.server.url(PAGE)).header(header::ACCEPT_ENCODING, accept)
                .header(header::IF_NONE_MATCH, &tag).send().await.unwrap();
            assert_eq!(revalidated.status(), StatusCode::NOT_MODIFIED, "{encoding}");
            tags.push(tag);
        }
        tags.sort();
        tags.dedup();
        assert_eq!(tags.len(), 3, "each encoding has its own tag: {tags:?}");

        // A change gives a new tag, and the old one no longer answers 304.
        let first: Value = serde_json::from_slice(&json).unwrap();
        let book = first["items"][0]["id"].as_str().unwrap();
        let handler = StockChangedHandler::new(shop.conn.clone(), replica.state.cache().clone());
        assert_eq!(handler.handle(&stock_changed(book, 3)).await, Outcome::Ack);
        let changed = http.get(replica.server.url(PAGE)).header(header::IF_NONE_MATCH, &etag).send().await.unwrap();
        assert_eq!(changed.status(), StatusCode::OK);
        assert_ne!(changed.headers()[header::ETAG].to_str().unwrap(), etag);
    }
}

#[tokio::test]
async fn the_cache_stays_within_its_bounds_under_many_distinct_queries() {
    let db = TestDatabase::create(Backend::Sqlite).await.unwrap();
    let shop = shop(&db).await;
    let settings = CacheSettings {
        max_bytes: 256 * 1024,
        max_entries: 40,
        ..CacheSettings::default()
    };
    let replica = shop.replica(settings).await;
    for page in 1..=150 {
        let body = replica
            .json(&shop.http, &format!("/api/v1/books?limit=3&page={page}"))
            .await;
        assert_eq!(body["page"], page);
    }
    for limit in 1..=100 {
        replica
            .json(&shop.http, &format!("/api/v1/books?limit={limit}"))
            .await;
    }
    replica.state.cache().settle();
    let (bytes, entries) = replica.state.cache().size();
    assert!(bytes <= settings.max_bytes, "{bytes} bytes held");
    assert!(entries <= settings.max_entries, "{entries} entries held");
    assert!(replica.state.cache().metrics().evictions() > 0);
}

#[tokio::test]
async fn a_replica_shows_a_change_committed_by_another_within_its_max_age() {
    let Some(db) = TestDatabase::create(Backend::Postgres).await else {
        return;
    };
    let shop = shop(&db).await;
    let max_age = Duration::from_secs(1);
    let settings = CacheSettings {
        max_age,
        ..CacheSettings::default()
    };
    let (a, b) = (shop.replica(settings).await, shop.replica(settings).await);
    let http = &shop.http;
    let page = b.json(http, PAGE).await;
    let id = page["items"][0]["id"].as_str().unwrap().to_owned();
    b.json(http, &format!("/api/v1/books/{id}")).await;
    let changed_at = Instant::now();
    let patch = http
        .patch(a.server.url(&format!("/api/v1/books/{id}")))
        .bearer_auth(&shop.admin)
        .json(&json!({ "title": "Changed On Replica A" }))
        .send()
        .await
        .unwrap();
    assert_eq!(patch.status(), StatusCode::OK);
    loop {
        let detail = b.json(http, &format!("/api/v1/books/{id}")).await;
        let listed = b.json(http, PAGE).await;
        let in_list = listed["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|book| book["title"] == "Changed On Replica A");
        if detail["title"] == "Changed On Replica A" && in_list {
            break;
        }
        assert!(
            changed_at.elapsed() < max_age + Duration::from_millis(500),
            "replica B still served the old book {:?} after the change",
            changed_at.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
