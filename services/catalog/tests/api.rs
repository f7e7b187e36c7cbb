//! The catalogue's HTTP API against a real database: filters, sorts, pagination, facets, the
//! admin's changes, auth and bad input. Every test runs on SQLite, PostgreSQL and MariaDB
//! (`platform::backend_tests!`).
//!
//! Expected results are computed from the sample catalogue itself (`data/books.json`), never
//! guessed, so that the tests say what the data says.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

mod support;

use catalog::books::{BookView, Format};
use catalog::entity::book;
use catalog::isbn::Isbn;
use catalog::search::GenreCount;
use migration::MigratorTrait;
use platform::auth::{KeyPair, Role, TokenSigner, TokenVerifier};
use platform::money::Money;
use platform::testing::{Reply, TestDatabase, TestServer};
use reqwest::{Method, StatusCode, header};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use serde::Deserialize;
use serde_json::{Value, json};
use support::NobodyBoughtAnything;

// ---------------------------------------------------------------------------------------------
// The sample catalogue as the tests read it.

#[derive(Debug, Clone, Deserialize)]
struct Sample {
    title: String,
    authors: Vec<String>,
    isbn: String,
    format: String,
    genre: String,
    price: String,
    stock: i32,
}

impl Sample {
    fn isbn13(&self) -> String {
        Isbn::parse(&self.isbn).unwrap().as_str().to_owned()
    }

    fn cents(&self) -> i64 {
        self.price.parse::<Money>().unwrap().cents()
    }

    fn search_text(&self) -> String {
        search_text(&self.title, &self.authors, &self.isbn13())
    }
}

fn sample() -> Vec<Sample> {
    let books: Vec<Sample> = serde_json::from_str(include_str!("../data/books.json")).unwrap();
    assert_eq!(books.len(), 60);
    books
}

/// How many sample books satisfy `predicate`.
fn count_where(predicate: impl Fn(&Sample) -> bool) -> usize {
    sample().iter().filter(|book| predicate(book)).count()
}

/// What free text is matched against: title, authors and ISBN-13, lower-cased.
fn search_text(title: &str, authors: &[String], isbn: &str) -> String {
    format!(
        "{} {} {}",
        title.to_lowercase(),
        authors.join("; ").to_lowercase(),
        isbn
    )
}

fn view_text(book: &BookView) -> String {
    search_text(&book.title, &book.authors, &book.isbn)
}

fn ids(books: &[BookView]) -> Vec<String> {
    books.iter().map(|book| book.id.clone()).collect()
}

fn titles(books: &[BookView]) -> Vec<String> {
    books.iter().map(|book| book.title.clone()).collect()
}

/// A valid ISBN-13 of our own (prefix 979555, not in the sample).
fn test_isbn(n: u32) -> String {
    let body = format!("979555{n:06}");
    let sum: u32 = body
        .bytes()
        .enumerate()
        .map(|(i, b)| u32::from(b - b'0') * if i % 2 == 0 { 1 } else { 3 })
        .sum();
    format!("{body}{}", (10 - sum % 10) % 10)
}

/// A complete, valid new book.
fn new_book(isbn: &str, title: &str) -> Value {
    json!({
        "isbn": isbn,
        "title": title,
        "authors": ["Test Author"],
        "publisher": "Test Press",
        "format": "paperback",
        "genre": "Testing",
        "price": "19.99",
    })
}

/// `?a=b&c=d`, percent-encoded.
fn query(params: &[(&str, &str)]) -> String {
    let encode = |text: &str| -> String {
        text.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                    char::from(b).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    };
    let pairs: Vec<String> = params
        .iter()
        .map(|(name, value)| format!("{}={}", encode(name), encode(value)))
        .collect();
    if pairs.is_empty() {
        String::new()
    } else {
        format!("?{}", pairs.join("&"))
    }
}

fn book_path(id: &str) -> String {
    format!("/api/v1/books/{id}")
}

// ---------------------------------------------------------------------------------------------
// The service under test and its answers.

/// The list answer, read with the test's own types so that its shape is checked too.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BookList {
    items: Vec<BookView>,
    page: u64,
    limit: u64,
    total: u64,
    next_page: Option<u64>,
    facets: Facets,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Facets {
    genres: Vec<GenreCount>,
}

struct Api {
    server: TestServer,
    conn: DatabaseConnection,
    http: reqwest::Client,
    admin: String,
    customer: String,
}

/// Serves the catalogue on a migrated, empty database.
async fn start(db: &TestDatabase) -> Api {
    let conn = db.connect().await.unwrap();
    migration::Migrator::up(&conn, None).await.unwrap();
    let keys = KeyPair::generate();
    let verifier = Arc::new(TokenVerifier::new(&keys.public()).unwrap());
    let storage = catalog::storage::Storage::open(&catalog::storage::StorageLocation::Folder(
        std::env::temp_dir().join(format!("bookstore-api-{}", uuid::Uuid::new_v4().simple())),
    ))
    .unwrap();
    let files = catalog::files::Files::new(storage, Arc::new(NobodyBoughtAnything));
    let (router, _) = catalog::router(catalog::CatalogState::new(
        conn.clone(),
        verifier,
        platform::auth::ServiceToken::generate(),
        files,
    ))
    .split_for_parts();
    let server = TestServer::start(router, vec![conn.clone()]).await;
    let signer = TokenSigner::new(&keys, Duration::from_secs(900)).unwrap();
    Api {
        server,
        conn,
        http: reqwest::Client::new(),
        admin: signer.sign("admin-1", Role::Admin, "test-session").unwrap(),
        customer: signer
            .sign("customer-1", Role::Customer, "test-session")
            .unwrap(),
    }
}

/// Serves the catalogue with the 60 sample books.
async fn start_seeded(db: &TestDatabase) -> Api {
    let api = start(db).await;
    assert_eq!(
        catalog::seed::seed_if_empty(&api.conn).await.unwrap().len(),
        60
    );
    api
}

impl Api {
    /// Sends a request; whatever the request, the answer is never a server error.
    async fn send_raw(&self, request: reqwest::RequestBuilder) -> Reply {
        let reply = Reply::read(request.send().await.unwrap()).await;
        reply.assert_no_server_error();
        reply
    }

    /// POSTs `body` as JSON (with the admin's token) over a bare connection, reading the answer
    /// while writing. For an oversized body the server answers and closes before it has read
    /// everything; an HTTP client then reports its failed write instead of the answer.
    async fn post_over_bare_connection(&self, path: &str, body: Vec<u8>) -> Reply {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let stream = tokio::net::TcpStream::connect(self.server.addr)
            .await
            .unwrap();
        let (mut reader, mut writer) = stream.into_split();
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            self.server.addr,
            self.admin,
            body.len()
        );
        let writing = tokio::spawn(async move {
            // The server may stop reading once it has seen too much: a failed write is expected.
            if writer.write_all(head.as_bytes()).await.is_ok() {
                let _ = writer.write_all(&body).await;
            }
        });
        let mut answer = Vec::new();
        let mut chunk = [0_u8; 8192];
        // Read until the server closes; a reset after its answer is expected too.
        while let Ok(n @ 1..) = reader.read(&mut chunk).await {
            answer.extend_from_slice(&chunk[..n]);
        }
        writing.await.unwrap();

        let end = answer
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("an answer");
        let head = String::from_utf8_lossy(&answer[..end]).into_owned();
        let status: u16 = head.split_whitespace().nth(1).unwrap().parse().unwrap();
        let status = StatusCode::from_u16(status).unwrap();
        let content_type = head
            .lines()
            .filter_map(|line| line.split_once(':'))
            .find(|(name, _)| name.eq_ignore_ascii_case("content-type"))
            .map(|(_, value)| value.trim().to_owned())
            .unwrap_or_default();
        let body: Value = serde_json::from_slice(&answer[end + 4..]).unwrap();
        assert!(!status.is_server_error(), "server error {status}: {body}");
        Reply {
            status,
            content_type,
            body,
        }
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Reply {
        let mut request = self.http.request(method, self.server.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        self.send_raw(request).await
    }

    async fn get(&self, path: &str) -> Reply {
        self.send(Method::GET, path, None, None).await
    }

    async fn admin(&self, method: Method, path: &str, body: Option<&Value>) -> Reply {
        self.send(method, path, Some(&self.admin), body).await
    }

    async fn list(&self, params: &[(&str, &str)]) -> Reply {
        self.get(&format!("/api/v1/books{}", query(params))).await
    }

    /// One page of the list, which must be a 200.
    async fn page(&self, params: &[(&str, &str)]) -> BookList {
        let reply = self.list(params).await;
        assert_eq!(reply.status, StatusCode::OK, "{params:?}: {}", reply.body);
        assert!(
            reply.content_type.starts_with("application/json"),
            "{:?}",
            reply.content_type
        );
        serde_json::from_value(reply.body).unwrap()
    }

    /// Every match, in order (one page of 100 holds the whole sample).
    async fn all(&self, params: &[(&str, &str)]) -> Vec<BookView> {
        let mut params = params.to_vec();
        params.push(("limit", "100"));
        let page = self.page(&params).await;
        assert_eq!(page.total, page.items.len() as u64, "{params:?}");
        assert_eq!(page.next_page, None, "{params:?}");
        page.items
    }

    async fn create(&self, body: &Value) -> BookView {
        let reply = self.admin(Method::POST, "/api/v1/books", Some(body)).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        reply.json::<BookView>()
    }

    async fn create_titled(&self, n: u32, title: &str, authors: &[&str]) -> BookView {
        let mut body = new_book(&test_isbn(n), title);
        body["authors"] = json!(authors);
        self.create(&body).await
    }

    async fn total(&self) -> u64 {
        self.page(&[]).await.total
    }

    /// Stops the server and closes the pool so that the test database can be dropped.
    async fn finish(self) {
        drop(self.server);
        self.conn.close().await.unwrap();
    }
}

platform::backend_tests! {
    // -----------------------------------------------------------------------------------------
    // Free text: q

    async fn q_matches_a_title_word_in_any_case(db) {
        let api = start_seeded(&db).await;
        let expected = count_where(|b| b.search_text().contains("girl"));
        assert!(expected > 1, "the sample has several books for this word");
        let items = api.all(&[("q", "GiRL")]).await;
        assert_eq!(items.len(), expected);
        for book in &items {
            assert!(book.title.to_lowercase().contains("girl"), "{}", book.title);
        }
        api.finish().await;
    }

    async fn q_matches_an_author_name(db) {
        let api = start_seeded(&db).await;
        let expected = count_where(|b| b.search_text().contains("hosseini"));
        assert!(expected > 1);
        let items = api.all(&[("q", "Hosseini")]).await;
        assert_eq!(items.len(), expected);
        for book in &items {
            assert!(
                book.authors.iter().any(|a| a.contains("Hosseini")),
                "{:?}",
                book.authors
            );
            assert!(!book.title.to_lowercase().contains("hosseini"));
        }
        api.finish().await;
    }

    async fn q_matches_an_isbn_written_with_hyphens(db) {
        let api = start_seeded(&db).await;
        let books = sample();
        // One stored as given, one given as ISBN-10 and stored as ISBN-13.
        for entry in [
            &books[0],
            books.iter().find(|b| b.isbn.len() == 10).unwrap(),
        ] {
            let isbn = entry.isbn13();
            let hyphenated = format!(
                "{}-{}-{}-{}-{}",
                &isbn[..3],
                &isbn[3..4],
                &isbn[4..8],
                &isbn[8..12],
                &isbn[12..]
            );
            assert_eq!(count_where(|b| b.search_text().contains(&isbn)), 1);
            let items = api.all(&[("q", hyphenated.as_str())]).await;
            assert_eq!(titles(&items), vec![entry.title.clone()], "q={hyphenated}");
            assert_eq!(items[0].isbn, isbn);
        }
        api.finish().await;
    }

    async fn q_requires_every_word_to_match(db) {
        let api = start_seeded(&db).await;
        let words = ["the", "of"];
        let both = count_where(|b| words.iter().all(|w| b.search_text().contains(w)));
        let alone = words.map(|w| count_where(|b| b.search_text().contains(w)));
        assert!(
            both > 0 && alone.iter().all(|&n| n > both),
            "both={both} alone={alone:?}"
        );
        let items = api.all(&[("q", "The  OF")]).await;
        assert_eq!(items.len(), both);
        for book in &items {
            let text = view_text(book);
            assert!(words.iter().all(|w| text.contains(w)), "{text}");
        }
        api.finish().await;
    }

    async fn q_takes_like_wildcards_literally(db) {
        let api = start_seeded(&db).await;
        assert_eq!(
            count_where(|b| b.search_text().contains(['%', '_', '\\'])),
            0
        );
        for (n, title) in (0..).zip(["100% Cotton", "1000 Cotton Facts", "Pure_Fun", "PureXFun"]) {
            api.create_titled(n, title, &["Test Author"]).await;
        }
        for (q, expected) in [
            ("100%", vec!["100% Cotton"]),
            ("%", vec!["100% Cotton"]),
            ("pure_fun", vec!["Pure_Fun"]),
            ("_", vec!["Pure_Fun"]),
            ("%%", vec![]),
            ("\\", vec![]),
            ("\\%", vec![]),
        ] {
            assert_eq!(titles(&api.all(&[("q", q)]).await), expected, "q={q:?}");
        }
        api.finish().await;
    }

    // -----------------------------------------------------------------------------------------
    // Filters

    async fn genre_filter_is_exact_and_ignores_case(db) {
        let api = start_seeded(&db).await;
        for genre in ["mYsTeRy", "ROMANCE"] {
            let expected = count_where(|b| b.genre.to_lowercase() == genre.to_lowercase());
            assert!(expected > 1);
            let items = api.all(&[("genre", genre)]).await;
            assert_eq!(items.len(), expected, "genre={genre}");
            assert!(items.iter().all(|b| b.genre.eq_ignore_ascii_case(genre)));
        }
        assert!(
            api.all(&[("genre", "myst")]).await.is_empty(),
            "a genre filter is not a prefix search"
        );
        api.finish().await;
    }

    async fn author_filter_matches_part_of_an_author_name(db) {
        let api = start_seeded(&db).await;
        for author in ["JOHN green", "tolkien"] {
            let needle = author.to_lowercase();
            let expected = count_where(|b| b.authors.join("; ").to_lowercase().contains(&needle));
            assert!(expected > 1);
            let items = api.all(&[("author", author)]).await;
            assert_eq!(items.len(), expected, "author={author}");
            assert!(
                items
                    .iter()
                    .all(|b| b.authors.iter().any(|a| a.to_lowercase().contains(&needle)))
            );
        }
        // A title word is no author.
        assert!(count_where(|b| b.title.to_lowercase().contains("girl")) > 0);
        assert_eq!(
            count_where(|b| b.authors.join("; ").to_lowercase().contains("girl")),
            0
        );
        assert!(api.all(&[("author", "girl")]).await.is_empty());
        api.finish().await;
    }

    async fn format_filter_keeps_only_that_format(db) {
        let api = start_seeded(&db).await;
        for (param, format) in [
            ("hardcover", Format::Hardcover),
            ("EBOOK", Format::Ebook),
            ("Paperback", Format::Paperback),
            ("audiobook", Format::Audiobook),
        ] {
            let expected = count_where(|b| b.format.eq_ignore_ascii_case(format.as_str()));
            let items = api.all(&[("format", param)]).await;
            assert_eq!(items.len(), expected, "format={param}");
            assert!(items.iter().all(|b| b.format == format));
        }
        api.finish().await;
    }

    async fn price_bounds_are_inclusive(db) {
        let api = start_seeded(&db).await;
        let mut prices: Vec<i64> = sample().iter().map(Sample::cents).collect();
        prices.sort_unstable();
        let (low, high) = (
            Money::from_cents(prices[10]).unwrap(),
            Money::from_cents(prices[20]).unwrap(),
        );
        let (low_text, high_text) = (low.to_string(), high.to_string());
        let expected = count_where(|b| (low.cents()..=high.cents()).contains(&b.cents()));
        assert!(expected >= 11);
        let items = api
            .all(&[
                ("min_price", low_text.as_str()),
                ("max_price", high_text.as_str()),
            ])
            .await;
        assert_eq!(items.len(), expected);
        assert!(items.iter().all(|b| b.price >= low && b.price <= high));
        assert!(
            items.iter().any(|b| b.price == low) && items.iter().any(|b| b.price == high),
            "both bounds are included"
        );

        let at_least = api.all(&[("min_price", low_text.as_str())]).await;
        assert_eq!(at_least.len(), count_where(|b| b.cents() >= low.cents()));
        assert!(at_least.iter().all(|b| b.price >= low));
        let at_most = api.all(&[("max_price", high_text.as_str())]).await;
        assert_eq!(at_most.len(), count_where(|b| b.cents() <= high.cents()));
        assert!(at_most.iter().all(|b| b.price <= high));

        let exactly = api
            .all(&[
                ("min_price", low_text.as_str()),
                ("max_price", low_text.as_str()),
            ])
            .await;
        assert_eq!(exactly.len(), count_where(|b| b.cents() == low.cents()));
        assert!(!exactly.is_empty() && exactly.iter().all(|b| b.price == low));
        api.finish().await;
    }

    async fn in_stock_filter_separates_available_from_sold_out_books(db) {
        let api = start_seeded(&db).await;
        // Every sample book has stock; sell out the romances the way inventory would report it.
        book::Entity::update_many()
            .col_expr(book::Column::Available, Expr::value(0))
            .filter(book::Column::GenreKey.eq("romance"))
            .exec(&api.conn)
            .await
            .unwrap();
        let sold_out = count_where(|b| b.stock <= 0 || b.genre == "Romance");
        assert!(sold_out > 0 && sold_out < 60);

        let available = api.all(&[("in_stock", "true")]).await;
        assert_eq!(available.len(), 60 - sold_out);
        assert!(available.iter().all(|b| b.in_stock && b.available > 0));
        let out = api.all(&[("in_stock", "false")]).await;
        assert_eq!(out.len(), sold_out);
        assert!(out.iter().all(|b| !b.in_stock && b.available == 0));
        api.finish().await;
    }

    // -----------------------------------------------------------------------------------------
    // Sorts

    async fn title_sort_is_byte_order_of_lower_cased_titles_then_id(db) {
        let api = start_seeded(&db).await;
        // An accented first letter sorts after every ASCII letter in byte order; two titles that
        // differ only in case tie and fall back to the id.
        for (n, title) in (0..).zip(["Épée Lessons", "Tied Title", "tied title"]) {
            api.create_titled(n, title, &["Test Author"]).await;
        }
        let items = api.all(&[("sort", "title")]).await;
        assert_eq!(items.len(), 63);
        let keys: Vec<(String, String)> = items
            .iter()
            .map(|b| (b.title.to_lowercase(), b.id.clone()))
            .collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
        assert_eq!(items.last().unwrap().title, "Épée Lessons");

        let mut expected: Vec<String> = sample().into_iter().map(|b| b.title).collect();
        expected.sort_by_key(|title| title.to_lowercase());
        let listed: Vec<String> = titles(&items)
            .into_iter()
            .filter(|t| expected.contains(t))
            .collect();
        assert_eq!(listed, expected);

        assert_eq!(
            ids(&api.all(&[]).await),
            ids(&items),
            "title is the default order without q"
        );
        api.finish().await;
    }

    async fn price_asc_sort_is_cheapest_first_then_id(db) {
        let api = start_seeded(&db).await;
        // Two books at one price: a tie broken by id.
        for n in 0..2 {
            let mut body = new_book(&test_isbn(n), "Same Price");
            body["price"] = json!("30.00");
            api.create(&body).await;
        }
        let items = api.all(&[("sort", "price_asc")]).await;
        let keys: Vec<(Money, String)> = items.iter().map(|b| (b.price, b.id.clone())).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
        let min = sample().iter().map(Sample::cents).min().unwrap();
        assert_eq!(items[0].price.cents(), min);
        api.finish().await;
    }

    async fn price_desc_sort_is_dearest_first_then_id(db) {
        let api = start_seeded(&db).await;
        for n in 0..2 {
            let mut body = new_book(&test_isbn(n), "Same Price");
            body["price"] = json!("30.00");
            api.create(&body).await;
        }
        let items = api.all(&[("sort", "price_desc")]).await;
        let keys: Vec<(std::cmp::Reverse<Money>, String)> = items
            .iter()
            .map(|b| (std::cmp::Reverse(b.price), b.id.clone()))
            .collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
        let max = sample().iter().map(Sample::cents).max().unwrap();
        assert_eq!(items[0].price.cents(), max);
        api.finish().await;
    }

    async fn newest_sort_puts_the_latest_books_first(db) {
        let api = start_seeded(&db).await;
        let added = api.create_titled(1, "Just Added", &["Test Author"]).await;
        let items = api.all(&[("sort", "newest")]).await;
        assert_eq!(items[0].id, added.id, "the book added last comes first");
        assert!(items.windows(2).all(|w| w[0].created_at >= w[1].created_at));
        // The sample is loaded in file order, so it comes back in reverse file order.
        let isbns: Vec<String> = items[1..].iter().map(|b| b.isbn.clone()).collect();
        let expected: Vec<String> = sample().iter().rev().map(Sample::isbn13).collect();
        assert_eq!(isbns, expected);
        api.finish().await;
    }

    async fn relevance_sort_puts_the_exact_title_first(db) {
        let api = start_seeded(&db).await;
        assert_eq!(count_where(|b| b.search_text().contains("zyzzo")), 0);
        // Added in an order that neither insertion nor title order would rank right.
        api.create_titled(1, "Aardvark and Zyzzo", &["Test Author"])
            .await;
        api.create_titled(2, "Zyzzo Rising", &["Test Author"]).await;
        api.create_titled(3, "Aaa Plain", &["Ann Zyzzo"]).await;
        api.create_titled(4, "Zyzzo", &["Test Author"]).await;
        let ranked = ["Zyzzo", "Zyzzo Rising", "Aardvark and Zyzzo", "Aaa Plain"];
        assert_eq!(
            titles(&api.all(&[("q", "zyzzo"), ("sort", "relevance")]).await),
            ranked
        );
        assert_eq!(
            titles(&api.all(&[("q", "ZYZZO")]).await),
            ranked,
            "relevance is the default with q"
        );
        assert_eq!(
            titles(&api.all(&[("q", "zyzzo"), ("sort", "title")]).await),
            ["Aaa Plain", "Aardvark and Zyzzo", "Zyzzo", "Zyzzo Rising"]
        );
        api.finish().await;
    }

    // -----------------------------------------------------------------------------------------
    // Pagination

    async fn paging_by_7_visits_every_book_once_in_every_sort(db) {
        let api = start_seeded(&db).await;
        let sorts: [&[(&str, &str)]; 5] = [
            &[("sort", "title")],
            &[("sort", "price_asc")],
            &[("sort", "price_desc")],
            &[("sort", "newest")],
            &[("q", "e"), ("sort", "relevance")],
        ];
        for params in sorts {
            let reference = ids(&api.all(params).await);
            let expected = if params[0].0 == "q" {
                count_where(|b| b.search_text().contains('e'))
            } else {
                60
            };
            assert_eq!(reference.len(), expected, "{params:?}");
            let mut seen: Vec<String> = Vec::new();
            let mut page = 1_u64;
            let mut pages = 0_usize;
            loop {
                let page_text = page.to_string();
                let mut request = params.to_vec();
                request.extend([("limit", "7"), ("page", page_text.as_str())]);
                let list = api.page(&request).await;
                pages += 1;
                assert_eq!(
                    (list.page, list.limit, list.total),
                    (page, 7, expected as u64),
                    "{request:?}"
                );
                assert_eq!(
                    list.items.len(),
                    (expected - seen.len()).min(7),
                    "{request:?}"
                );
                seen.extend(ids(&list.items));
                match list.next_page {
                    Some(next) => {
                        assert_eq!(next, page + 1);
                        assert!(
                            seen.len() < expected,
                            "{request:?} announces a page after the last"
                        );
                        page = next;
                    }
                    None => break,
                }
            }
            assert_eq!(pages, expected.div_ceil(7), "{params:?}");
            assert_eq!(
                seen.iter().collect::<HashSet<_>>().len(),
                seen.len(),
                "{params:?}: duplicates"
            );
            assert_eq!(seen, reference, "{params:?}: gaps or another order");

            let past_text = (page + 1).to_string();
            let mut past = params.to_vec();
            past.extend([("limit", "7"), ("page", past_text.as_str())]);
            let list = api.page(&past).await;
            assert!(list.items.is_empty() && list.next_page.is_none());
            assert_eq!(list.total, expected as u64);
        }
        api.finish().await;
    }

    async fn out_of_range_page_or_limit_is_400_naming_the_parameter(db) {
        let api = start(&db).await;
        for (name, value) in [
            ("limit", "0"),
            ("limit", "101"),
            ("limit", "-1"),
            ("limit", "ten"),
            ("limit", "2.5"),
            ("limit", ""),
            ("limit", "18446744073709551616"),
            ("limit", "99999999999999999999999999999"),
            ("page", "0"),
            ("page", "-3"),
            ("page", "first"),
            ("page", "10001"),
            ("page", "18446744073709551615"),
            ("page", "99999999999999999999999999999"),
        ] {
            let reply = api.list(&[(name, value)]).await;
            reply.assert_problem(StatusCode::BAD_REQUEST, "invalid_parameter");
            assert_eq!(reply.error_fields(), [name], "{name}={value:?}");
        }
        api.finish().await;
    }

    async fn limit_100_and_the_last_allowed_page_are_accepted(db) {
        let api = start_seeded(&db).await;
        let list = api.page(&[("limit", "100")]).await;
        assert_eq!(
            (list.items.len(), list.limit, list.total, list.next_page),
            (60, 100, 60, None)
        );
        let list = api.page(&[("limit", "1")]).await;
        assert_eq!((list.items.len(), list.next_page), (1, Some(2)));
        let list = api.page(&[("limit", "100"), ("page", "10000")]).await;
        assert_eq!(
            (list.items.len(), list.page, list.total, list.next_page),
            (0, 10000, 60, None)
        );
        let list = api.page(&[]).await;
        assert_eq!(
            (list.items.len(), list.page, list.limit, list.next_page),
            (20, 1, 20, Some(2)),
            "defaults"
        );
        api.finish().await;
    }

    // -----------------------------------------------------------------------------------------
    // Invalid parameters are refused, not ignored

    async fn unknown_sort_is_400(db) {
        let api = start(&db).await;
        for sort in ["cheapest", "TITLE", "price", ""] {
            let reply = api.list(&[("sort", sort)]).await;
            reply.assert_problem(StatusCode::BAD_REQUEST, "invalid_parameter");
            assert_eq!(reply.error_fields(), ["sort"], "sort={sort:?}");
        }
        api.finish().await;
    }

    async fn relevance_sort_without_q_is_400(db) {
        let api = start(&db).await;
        let reply = api.list(&[("sort", "relevance")]).await;
        reply.assert_problem(StatusCode::BAD_REQUEST, "invalid_parameter");
        assert_eq!(reply.error_fields(), ["sort"]);
        api.finish().await;
    }

    async fn unknown_format_is_400(db) {
        let api = start(&db).await;
        for format in ["vinyl", "e-book", ""] {
            let reply = api.list(&[("format", format)]).await;
            reply.assert_problem(StatusCode::BAD_REQUEST, "invalid_parameter");
            assert_eq!(reply.error_fields(), ["format"], "format={format:?}");
        }
        api.finish().await;
    }

    async fn malformed_price_bounds_are_400(db) {
        let api = start(&db).await;
        for name in ["min_price", "max_price"] {
            for value in [
                "abc",
                "-1",
                "-1.00",
                "1e3",
                "10.999",
                "12,50",
                "NaN",
                "",
                "99999999",
                "1000000.01",
                "18446744073709551616",
            ] {
                let reply = api.list(&[(name, value)]).await;
                reply.assert_problem(StatusCode::BAD_REQUEST, "invalid_parameter");
                assert_eq!(reply.error_fields(), [name], "{name}={value:?}");
            }
        }
        api.finish().await;
    }

    async fn min_price_above_max_price_is_400(db) {
        let api = start(&db).await;
        let reply = api
            .list(&[("min_price", "30.00"), ("max_price", "29.99")])
            .await;
        reply.assert_problem(StatusCode::BAD_REQUEST, "invalid_parameter");
        assert_eq!(reply.error_fields(), ["max_price"]);
        api.finish().await;
    }

    async fn in_stock_must_be_true_or_false(db) {
        let api = start(&db).await;
        for value in ["maybe", "yes", "1", "TRUE", ""] {
            let reply = api.list(&[("in_stock", value)]).await;
            reply.assert_problem(StatusCode::BAD_REQUEST, "invalid_parameter");
            assert_eq!(reply.error_fields(), ["in_stock"], "in_stock={value:?}");
        }
        api.finish().await;
    }

    async fn unknown_query_parameter_is_400(db) {
        let api = start_seeded(&db).await;
        for name in ["genres", "cursor", "foo"] {
            let reply = api.list(&[(name, "Mystery")]).await;
            reply.assert_problem(StatusCode::BAD_REQUEST, "invalid_parameter");
            assert!(
                reply.body["detail"].as_str().unwrap().contains(name),
                "{}",
                reply.body
            );
        }
        api.finish().await;
    }

    async fn control_characters_in_text_parameters_are_400(db) {
        let api = start_seeded(&db).await;
        for name in ["q", "genre", "author"] {
            for value in ["nul\0byte", "\u{7}"] {
                let reply = api.list(&[(name, value)]).await;
                reply.assert_problem(StatusCode::BAD_REQUEST, "invalid_parameter");
                assert_eq!(reply.error_fields(), [name], "{name}={value:?}");
            }
        }
        api.finish().await;
    }

    // -----------------------------------------------------------------------------------------
    // Facets

    async fn genre_facets_follow_other_filters_but_not_the_genre(db) {
        let api = start_seeded(&db).await;
        let hardcover = |b: &Sample| b.format.eq_ignore_ascii_case("hardcover");
        let per_genre = |keep: &dyn Fn(&Sample) -> bool| {
            let mut counts = BTreeMap::new();
            for b in sample().iter().filter(|b| keep(b)) {
                *counts.entry(b.genre.clone()).or_insert(0_i64) += 1;
            }
            counts
        };
        let facets = |list: &BookList| -> BTreeMap<String, i64> {
            list.facets
                .genres
                .iter()
                .map(|g| (g.genre.clone(), g.count))
                .collect()
        };

        let list = api
            .page(&[
                ("genre", "mystery"),
                ("format", "hardcover"),
                ("limit", "100"),
            ])
            .await;
        assert_eq!(
            list.total as usize,
            count_where(|b| hardcover(b) && b.genre == "Mystery")
        );
        assert!(
            list.items
                .iter()
                .all(|b| b.genre == "Mystery" && b.format == Format::Hardcover)
        );
        let expected = per_genre(&hardcover);
        assert!(expected.len() > 1, "other genres are counted too");
        assert_ne!(
            expected,
            per_genre(&|_| true),
            "the format filter changes the counts"
        );
        assert_eq!(facets(&list), expected);

        let list = api.page(&[]).await;
        assert_eq!(facets(&list), per_genre(&|_| true));
        api.finish().await;
    }

    // -----------------------------------------------------------------------------------------
    // Detail

    async fn detail_returns_the_book(db) {
        let api = start_seeded(&db).await;
        let entry = sample()
            .into_iter()
            .find(|b| b.title == "The Hobbit")
            .unwrap();
        let listed = api.all(&[("q", "the hobbit")]).await;
        let listed = listed.iter().find(|b| b.title == entry.title).unwrap();
        let reply = api.get(&book_path(&listed.id)).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert!(reply.content_type.starts_with("application/json"));
        assert_eq!(reply.body, serde_json::to_value(listed).unwrap());
        let book = reply.json::<BookView>();
        assert_eq!(
            (book.isbn, book.authors, book.genre),
            (entry.isbn13(), entry.authors, entry.genre)
        );
        assert_eq!(book.price.to_string(), entry.price);
        assert_eq!(book.format.as_str(), entry.format.to_lowercase());
        assert_eq!(
            (book.available, book.in_stock),
            (entry.stock, entry.stock > 0)
        );
        api.finish().await;
    }

    async fn lookup_answers_the_books_of_the_ids_that_name_one(db) {
        let api = start_seeded(&db).await;
        let listed = api.all(&[("sort", "title")]).await;
        let wanted: Vec<&BookView> = listed.iter().take(3).collect();
        let ids = json!([
            wanted[0].id,
            "no-such-book",
            wanted[1].id,
            wanted[0].id,
            "nul\u{0}id",
            wanted[2].id,
        ]);
        let reply = api
            .send(Method::POST, "/api/v1/books/lookup", None, Some(&json!({ "ids": ids })))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        let mut books: Vec<BookView> =
            serde_json::from_value(reply.body["books"].clone()).unwrap();
        books.sort_by(|a, b| a.id.cmp(&b.id));
        let mut expected: Vec<BookView> = wanted.into_iter().cloned().collect();
        expected.sort_by(|a, b| a.id.cmp(&b.id));
        assert_eq!(
            serde_json::to_value(&books).unwrap(),
            serde_json::to_value(&expected).unwrap()
        );
        // The orders service reads the same answer through the contract's type.
        let read: contracts::catalog::LookedUpBooks =
            serde_json::from_value(reply.body.clone()).unwrap();
        let mut read: Vec<(String, String, String)> = read
            .books
            .into_iter()
            .map(|book| (book.id.into_string(), book.title, book.price.to_string()))
            .collect();
        read.sort();
        let expected: Vec<(String, String, String)> = expected
            .iter()
            .map(|book| (book.id.clone(), book.title.clone(), book.price.to_string()))
            .collect();
        assert_eq!(read, expected);
        for count in [0, 101] {
            let ids: Vec<String> = (0..count).map(|i| format!("id-{i}")).collect();
            api.send(Method::POST, "/api/v1/books/lookup", None, Some(&json!({ "ids": ids })))
                .await
                .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        }
        api.finish().await;
    }

    async fn unknown_book_is_404_problem(db) {
        let api = start_seeded(&db).await;
        let reply = api.get(&book_path(&uuid::Uuid::now_v7().to_string())).await;
        reply.assert_problem(StatusCode::NOT_FOUND, "not_found");
        api.finish().await;
    }

    async fn odd_book_ids_are_404_not_server_errors(db) {
        let api = start_seeded(&db).await;
        let long = "x".repeat(2000);
        for id in [
            "%00",
            "a%00b",
            "%E2%9C%93",
            "..%2F..%2Fetc%2Fpasswd",
            "'%20OR%20'1'='1",
            long.as_str(),
        ] {
            api.get(&book_path(id))
                .await
                .assert_problem(StatusCode::NOT_FOUND, "not_found");
            api.admin(Method::PATCH, &book_path(id), Some(&json!({"title": "X"})))
                .await
                .assert_problem(StatusCode::NOT_FOUND, "not_found");
            api.admin(Method::DELETE, &book_path(id), None)
                .await
                .assert_problem(StatusCode::NOT_FOUND, "not_found");
        }
        assert_eq!(api.total().await, 60);
        api.finish().await;
    }

    // -----------------------------------------------------------------------------------------
    // The admin's changes

    async fn admin_creates_a_book_and_gets_its_normalised_view(db) {
        let api = start(&db).await;
        let reply = api
            .admin(
                Method::POST,
                "/api/v1/books",
                Some(&json!({
                    "isbn": "0-306-40615-2",
                    "title": "  A New Book  ",
                    "authors": ["Ann Author", "Bob Writer"],
                    "publisher": "Test Press",
                    "format": "Paperback",
                    "genre": "Testing",
                    "price": "24.9",
                    "description": "About testing.",
                })),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        assert!(reply.content_type.starts_with("application/json"));
        let body = &reply.body;
        assert_eq!(body["isbn"], "9780306406157");
        assert_eq!(body["price"], "24.90");
        assert_eq!(body["format"], "paperback");
        assert_eq!(body["title"], "A New Book");
        assert_eq!(body["authors"], json!(["Ann Author", "Bob Writer"]));
        assert_eq!(body["description"], "About testing.");
        assert_eq!(
            (body["available"].clone(), body["in_stock"].clone()),
            (json!(0), json!(false))
        );
        assert!(body["cover_url"].is_null() && body["document_url"].is_null());
        let created = reply.json::<BookView>();

        let fetched = api.get(&book_path(&created.id)).await;
        assert_eq!(fetched.status, StatusCode::OK);
        assert_eq!(&fetched.body, body);
        assert_eq!(
            ids(&api.all(&[("q", "new book")]).await),
            [created.id.as_str()]
        );
        assert_eq!(
            ids(&api.all(&[("q", "978-0-306-40615-7")]).await),
            [created.id]
        );
        api.finish().await;
    }

    async fn a_second_book_with_the_same_isbn_is_409_in_any_spelling(db) {
        let api = start(&db).await;
        api.create(&new_book("0-306-40615-2", "First")).await;
        for isbn in [
            "9780306406157",
            "978-0-306-40615-7",
            "0306406152",
            "0 306 40615 2",
        ] {
            let reply = api
                .admin(
                    Method::POST,
                    "/api/v1/books",
                    Some(&new_book(isbn, "Second")),
                )
                .await;
            reply.assert_problem(StatusCode::CONFLICT, "isbn_taken");
        }
        let all = api.all(&[]).await;
        assert_eq!(titles(&all), ["First"]);
        api.finish().await;
    }

    async fn create_without_required_fields_is_422_naming_each(db) {
        let api = start(&db).await;
        let reply = api
            .admin(Method::POST, "/api/v1/books", Some(&json!({})))
            .await;
        reply.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(
            reply.error_fields(),
            [
                "authors",
                "format",
                "genre",
                "isbn",
                "price",
                "publisher",
                "title"
            ]
        );

        for field in [
            "isbn",
            "title",
            "authors",
            "publisher",
            "format",
            "genre",
            "price",
        ] {
            let mut body = new_book(&test_isbn(1), "Incomplete");
            body.as_object_mut().unwrap().remove(field);
            let reply = api.admin(Method::POST, "/api/v1/books", Some(&body)).await;
            reply.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
            assert_eq!(reply.error_fields(), [field]);
        }
        assert_eq!(api.total().await, 0);
        api.finish().await;
    }

    async fn non_ascii_text_of_isbn_length_is_searched_and_refused_as_isbn(db) {
        let api = start_seeded(&db).await;
        // Ten or thirteen bytes but fewer characters: once sliced mid-character, a panic.
        let odd = ["aaaaaaaaé", "ääääé", "1234567€", "123456789é12"];
        for q in odd {
            assert_eq!(api.all(&[("q", q)]).await.len(), 0, "q={q:?}");
        }
        let existing = api.page(&[("limit", "1")]).await.items.remove(0);
        for isbn in odd {
            let created = api
                .admin(
                    Method::POST,
                    "/api/v1/books",
                    Some(&new_book(isbn, "Odd ISBN")),
                )
                .await;
            created.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
            assert_eq!(created.error_fields(), ["isbn"], "isbn={isbn:?}");
            let updated = api
                .admin(
                    Method::PATCH,
                    &book_path(&existing.id),
                    Some(&json!({ "isbn": isbn })),
                )
                .await;
            updated.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        }
        api.finish().await;
    }

    async fn create_with_a_wrong_isbn_check_digit_is_422(db) {
        let api = start(&db).await;
        for isbn in ["0306406153", "9780306406158", "978-0-306-40615-8", "123"] {
            let reply = api
                .admin(
                    Method::POST,
                    "/api/v1/books",
                    Some(&new_book(isbn, "Bad ISBN")),
                )
                .await;
            reply.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
            assert_eq!(reply.error_fields(), ["isbn"], "isbn={isbn}");
        }
        assert_eq!(api.total().await, 0);
        api.finish().await;
    }

    async fn admin_update_changes_fields_and_search_follows(db) {
        let api = start_seeded(&db).await;
        let before = api.all(&[("q", "hobbit")]).await;
        assert_eq!(
            before.len(),
            count_where(|b| b.search_text().contains("hobbit"))
        );
        assert_eq!(before.len(), 1);
        let before = &before[0];
        assert!(api.all(&[("q", "back again")]).await.is_empty());

        let reply = api
            .admin(
                Method::PATCH,
                &book_path(&before.id),
                Some(&json!({"title": "There and Back Again", "price": "9.5", "format": "EBOOK"})),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        let after = reply.json::<BookView>();
        assert_eq!(
            (after.id.as_str(), after.title.as_str(), after.format),
            (before.id.as_str(), "There and Back Again", Format::Ebook)
        );
        assert_eq!(after.price.to_string(), "9.50");
        assert_eq!(
            (&after.isbn, &after.authors, &after.genre, after.created_at),
            (
                &before.isbn,
                &before.authors,
                &before.genre,
                before.created_at
            )
        );
        assert!(after.updated_at >= before.updated_at);
        assert_eq!(api.get(&book_path(&before.id)).await.body, reply.body);

        assert!(
            api.all(&[("q", "hobbit")]).await.is_empty(),
            "the old title is no longer found"
        );
        assert_eq!(
            ids(&api.all(&[("q", "back again")]).await),
            [before.id.as_str()]
        );
        assert_eq!(
            ids(&api.all(&[("q", "Tolkien back")]).await),
            [before.id.as_str()],
            "authors are still searched"
        );
        api.finish().await;
    }

    async fn update_to_another_books_isbn_is_409(db) {
        let api = start_seeded(&db).await;
        let books = api.all(&[("sort", "title")]).await;
        let (first, second) = (&books[0], &books[1]);
        let taken = format!("{}-{}", &second.isbn[..3], &second.isbn[3..]);
        let reply = api
            .admin(
                Method::PATCH,
                &book_path(&first.id),
                Some(&json!({"isbn": taken, "title": "Changed"})),
            )
            .await;
        reply.assert_problem(StatusCode::CONFLICT, "isbn_taken");
        let unchanged = api.get(&book_path(&first.id)).await.json::<BookView>();
        assert_eq!(
            (unchanged.isbn.as_str(), unchanged.title.as_str()),
            (first.isbn.as_str(), first.title.as_str())
        );

        // A book's own ISBN is no conflict.
        let reply = api
            .admin(
                Method::PATCH,
                &book_path(&first.id),
                Some(&json!({"isbn": first.isbn})),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        api.finish().await;
    }

    async fn update_of_an_unknown_book_is_404(db) {
        let api = start_seeded(&db).await;
        let path = book_path(&uuid::Uuid::now_v7().to_string());
        api.admin(Method::PATCH, &path, Some(&json!({"title": "Ghost"})))
            .await
            .assert_problem(StatusCode::NOT_FOUND, "not_found");
        assert!(api.all(&[("q", "ghost")]).await.is_empty());
        api.finish().await;
    }

    async fn delete_answers_204_and_the_book_is_gone(db) {
        let api = start_seeded(&db).await;
        let victim = api.page(&[]).await.items.remove(0);
        let reply = api
            .admin(Method::DELETE, &book_path(&victim.id), None)
            .await;
        assert_eq!(reply.status, StatusCode::NO_CONTENT);
        assert!(reply.body.is_null());
        api.get(&book_path(&victim.id))
            .await
            .assert_problem(StatusCode::NOT_FOUND, "not_found");
        api.admin(Method::DELETE, &book_path(&victim.id), None)
            .await
            .assert_problem(StatusCode::NOT_FOUND, "not_found");
        let rest = api.all(&[]).await;
        assert_eq!(rest.len(), 59);
        assert!(rest.iter().all(|b| b.id != victim.id));
        // Its ISBN is free again.
        api.create(&new_book(&victim.isbn, "Reissue")).await;
        api.finish().await;
    }

    // -----------------------------------------------------------------------------------------
    // Who may change the catalogue

    async fn customers_get_403_on_create_update_and_delete(db) {
        let api = start_seeded(&db).await;
        let book = api.page(&[]).await.items.remove(0);
        let unknown = book_path(&uuid::Uuid::now_v7().to_string());
        for (method, path, body) in [
            (
                Method::POST,
                "/api/v1/books".to_owned(),
                Some(new_book(&test_isbn(1), "Customer Book")),
            ),
            (
                Method::PATCH,
                book_path(&book.id),
                Some(json!({"title": "Hacked"})),
            ),
            (
                Method::PATCH,
                unknown.clone(),
                Some(json!({"title": "Hacked"})),
            ),
            (Method::DELETE, book_path(&book.id), None),
            (Method::DELETE, unknown, None),
        ] {
            let reply = api
                .send(method.clone(), &path, Some(&api.customer), body.as_ref())
                .await;
            reply.assert_problem(StatusCode::FORBIDDEN, "forbidden");
        }
        assert_eq!(api.total().await, 60);
        assert_eq!(
            api.get(&book_path(&book.id)).await.body,
            serde_json::to_value(&book).unwrap()
        );
        api.finish().await;
    }

    async fn changes_without_a_token_are_401(db) {
        let api = start_seeded(&db).await;
        let book = api.page(&[]).await.items.remove(0);
        let requests = [
            (
                Method::POST,
                "/api/v1/books".to_owned(),
                Some(new_book(&test_isbn(1), "Anonymous Book")),
            ),
            (
                Method::PATCH,
                book_path(&book.id),
                Some(json!({"title": "Hacked"})),
            ),
            (Method::DELETE, book_path(&book.id), None),
        ];
        for (method, path, body) in &requests {
            let reply = api.send(method.clone(), path, None, body.as_ref()).await;
            reply.assert_problem(StatusCode::UNAUTHORIZED, "unauthenticated");
            // Not a bearer token at all.
            let mut request = api
                .http
                .request(method.clone(), api.server.url(path))
                .basic_auth("admin", Some("admin"));
            if let Some(body) = body {
                request = request.json(body);
            }
            api.send_raw(request)
                .await
                .assert_problem(StatusCode::UNAUTHORIZED, "unauthenticated");
        }
        assert_eq!(api.total().await, 60);
        assert_eq!(api.get(&book_path(&book.id)).await.json::<BookView>().title, book.title);
        api.finish().await;
    }

    async fn changes_with_a_garbage_or_foreign_token_are_401(db) {
        let api = start_seeded(&db).await;
        let book = api.page(&[]).await.items.remove(0);
        let foreign = TokenSigner::new(&KeyPair::generate(), Duration::from_secs(900))
            .unwrap()
            .sign("admin-1", Role::Admin, "test-session")
            .unwrap();
        for token in ["garbage", "a.b.c", foreign.as_str()] {
            for (method, path, body) in [
                (
                    Method::POST,
                    "/api/v1/books".to_owned(),
                    Some(new_book(&test_isbn(1), "Forged Book")),
                ),
                (
                    Method::PATCH,
                    book_path(&book.id),
                    Some(json!({"title": "Hacked"})),
                ),
                (Method::DELETE, book_path(&book.id), None),
            ] {
                let reply = api.send(method, &path, Some(token), body.as_ref()).await;
                reply.assert_problem(StatusCode::UNAUTHORIZED, "invalid_token");
            }
        }
        assert_eq!(api.total().await, 60);
        assert_eq!(api.get(&book_path(&book.id)).await.json::<BookView>().title, book.title);
        api.finish().await;
    }

    // -----------------------------------------------------------------------------------------
    // Bad input is a 4xx, never a 5xx

    async fn malformed_json_is_400(db) {
        let api = start(&db).await;
        for body in [
            "{",
            "{\"title\": }",
            "{\"title\": \"x\",}",
            "nul",
            "",
            "{\"price\": 1e400}",
        ] {
            let request = api
                .http
                .post(api.server.url("/api/v1/books"))
                .bearer_auth(&api.admin)
                .header(header::CONTENT_TYPE, "application/json")
                .body(body);
            api.send_raw(request)
                .await
                .assert_problem(StatusCode::BAD_REQUEST, "malformed_json");
        }
        assert_eq!(api.total().await, 0);
        api.finish().await;
    }

    async fn a_body_that_is_not_json_is_415(db) {
        let api = start(&db).await;
        let body = new_book(&test_isbn(1), "Wrong Type").to_string();
        for content_type in [
            Some("text/plain"),
            Some("application/x-www-form-urlencoded"),
            None,
        ] {
            let mut request = api
                .http
                .post(api.server.url("/api/v1/books"))
                .bearer_auth(&api.admin)
                .body(body.clone());
            if let Some(content_type) = content_type {
                request = request.header(header::CONTENT_TYPE, content_type);
            }
            api.send_raw(request)
                .await
                .assert_problem(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
        }
        assert_eq!(api.total().await, 0);
        api.finish().await;
    }

    async fn a_body_over_1_mib_is_413(db) {
        let api = start(&db).await;
        let mut body = new_book(&test_isbn(1), "Huge");
        // Over our 1 MiB, under axum's own default of 2 MB.
        body["description"] = json!("x".repeat(1024 * 1024 + 64 * 1024));
        api.post_over_bare_connection("/api/v1/books", body.to_string().into_bytes())
            .await
            .assert_problem(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
        // Just under 1 MiB the body is read, and refused for what it says.
        body["description"] = json!("x".repeat(1000 * 1000));
        let reply = api.admin(Method::POST, "/api/v1/books", Some(&body)).await;
        reply.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(reply.error_fields(), ["description"]);
        assert_eq!(api.total().await, 0);
        api.finish().await;
    }

    async fn a_body_of_the_wrong_shape_is_422(db) {
        let api = start(&db).await;
        let valid = new_book(&test_isbn(1), "Shape");
        let mut bodies = vec![json!([]), json!("a book"), json!(42)];
        for (field, value) in [
            (
                "title",
                json!(123_456_789_012_345_678_901_234_567_890.0_f64),
            ),
            ("title", json!(u64::MAX)),
            ("price", json!(24.9)),
            ("price", json!(1e308)),
            ("isbn", json!(9_780_306_406_157_u64)),
            ("authors", json!("Test Author")),
            ("authors", json!([1, 2])),
            ("stock", json!(5)),
        ] {
            let mut body = valid.clone();
            body[field] = value;
            bodies.push(body);
        }
        for body in &bodies {
            let reply = api.admin(Method::POST, "/api/v1/books", Some(body)).await;
            reply.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        }
        for price in [
            "99999999999999999999.99",
            "1000000.01",
            "-1.00",
            "24.999",
            "twenty",
        ] {
            let mut body = valid.clone();
            body["price"] = json!(price);
            let reply = api.admin(Method::POST, "/api/v1/books", Some(&body)).await;
            reply.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
            assert_eq!(reply.error_fields(), ["price"], "price={price}");
        }
        assert_eq!(api.total().await, 0);
        api.finish().await;
    }

    async fn unicode_titles_round_trip_exactly(db) {
        let api = start(&db).await;
        let title = "Ελληνικά και 東京物語 — Ünïcødé 📚";
        let mut body = new_book(&test_isbn(1), title);
        body["authors"] = json!(["Достоевский", "Brontë"]);
        body["genre"] = json!("Ficción");
        body["publisher"] = json!("Éditions Œuvre");
        body["description"] = json!("Zeile eins\nligne deux — 🎉");
        let created = api.create(&body).await;
        let fetched = api.get(&book_path(&created.id)).await.json::<BookView>();
        for book in [&created, &fetched] {
            assert_eq!(book.title, title);
            assert_eq!(book.authors, ["Достоевский", "Brontë"]);
            assert_eq!(
                (book.genre.as_str(), book.publisher.as_str()),
                ("Ficción", "Éditions Œuvre")
            );
            assert_eq!(book.description, "Zeile eins\nligne deux — 🎉");
        }
        for params in [
            [("q", "東京物語")],
            [("q", "ΕΛΛΗΝΙΚΆ")],
            [("q", "📚")],
            [("author", "достоевский")],
            [("genre", "FICCIÓN")],
        ] {
            assert_eq!(
                ids(&api.all(&params).await),
                [created.id.as_str()],
                "{params:?}"
            );
        }
        let list = api.page(&[]).await;
        assert_eq!(
            list.facets
                .genres
                .iter()
                .map(|g| (g.genre.as_str(), g.count))
                .collect::<Vec<_>>(),
            [("Ficción", 1)]
        );
        api.finish().await;
    }

    async fn empty_or_blank_strings_are_422(db) {
        let api = start_seeded(&db).await;
        let body = json!({
            "isbn": "",
            "title": "",
            "authors": [""],
            "publisher": "",
            "format": "",
            "genre": "",
            "price": "",
        });
        let reply = api.admin(Method::POST, "/api/v1/books", Some(&body)).await;
        reply.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(
            reply.error_fields(),
            [
                "authors",
                "format",
                "genre",
                "isbn",
                "price",
                "publisher",
                "title"
            ]
        );

        for (field, value) in [
            ("title", json!("   ")),
            ("authors", json!([])),
            ("authors", json!([" "])),
            ("genre", json!("\t")),
        ] {
            let mut body = new_book(&test_isbn(1), "Blank");
            body[field] = value;
            let reply = api.admin(Method::POST, "/api/v1/books", Some(&body)).await;
            reply.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
            assert_eq!(reply.error_fields(), [field]);
        }

        let book = api.page(&[]).await.items.remove(0);
        let reply = api
            .admin(
                Method::PATCH,
                &book_path(&book.id),
                Some(&json!({"title": ""})),
            )
            .await;
        reply.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(reply.error_fields(), ["title"]);
        assert_eq!(api.get(&book_path(&book.id)).await.json::<BookView>().title, book.title);
        assert_eq!(api.total().await, 60);
        api.finish().await;
    }

    async fn control_characters_in_book_fields_are_422(db) {
        let api = start(&db).await;
        for (field, value) in [
            ("title", json!("Nul\0Title")),
            ("publisher", json!("Bell\u{7}Press")),
            ("authors", json!(["Esc\u{1b}ape"])),
            ("description", json!("nul \0 inside")),
        ] {
            let mut body = new_book(&test_isbn(1), "Control");
            body[field] = value;
            let reply = api.admin(Method::POST, "/api/v1/books", Some(&body)).await;
            reply.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
            assert_eq!(reply.error_fields(), [field]);
        }
        assert_eq!(api.total().await, 0);
        // Line breaks and tabs are fine in a description.
        let mut body = new_book(&test_isbn(1), "Control");
        body["description"] = json!("Line one\r\n\tLine two");
        assert_eq!(
            api.create(&body).await.description,
            "Line one\r\n\tLine two"
        );
        api.finish().await;
    }

    async fn longest_fields_fit_even_when_lower_casing_lengthens_them(db) {
        let api = start(&db).await;
        // Exactly at the limits: accepted.
        let mut body = new_book(&test_isbn(1), &"T".repeat(300));
        body["genre"] = json!("G".repeat(64));
        let created = api.create(&body).await;
        assert_eq!(created.title.chars().count(), 300);
        // 'İ' lower-cases to two characters: within the limit as sent, not once lower-cased.
        for (field, value) in [("title", "İ".repeat(300)), ("genre", "İ".repeat(64))] {
            let mut body = new_book(&test_isbn(2), "Dotted");
            body[field] = json!(value);
            let reply = api.admin(Method::POST, "/api/v1/books", Some(&body)).await;
            reply.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
            assert_eq!(reply.error_fields(), [field]);
        }
        assert_eq!(api.total().await, 1);
        api.finish().await;
    }
}
