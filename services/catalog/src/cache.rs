//! The catalogue's response cache: list pages and book details kept as the JSON bytes sent (and
//! their gzip and brotli forms, each made once per version when first asked for) with a strong
//! entity tag; bounded in bytes and entries; invalidated exactly by this process's own writes
//! and by the stock events it consumes, and after at most `max_age` for changes another process
//! commits.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use moka::notification::RemovalCause;
use platform::compression::{self, Encoding};
use prometheus::{IntCounter, IntCounterVec, IntGauge, Opts};
use sha2::{Digest, Sha256};

use crate::search::Search;

/// What a cached response answers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PageKey {
    /// A page of the book list, by its validated (normalised) parameters.
    List(Search),
    /// One book's details, by id.
    Book(String),
}

/// How much the cache may hold, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheSettings {
    /// Bytes of responses held, their compressed forms included.
    pub max_bytes: u64,
    /// Responses held.
    pub max_entries: u64,
    /// The longest a response is served after it was made: the bound on serving a page that
    /// another process has changed since. Zero turns the cache off.
    pub max_age: Duration,
}

impl Default for CacheSettings {
    fn default() -> Self {
        Self {
            max_bytes: 64 * 1024 * 1024,
            max_entries: 10_000,
            max_age: Duration::from_secs(2),
        }
    }
}

/// Bodies smaller than this are sent as they are: compressing them saves less than a packet.
const COMPRESS_FROM: usize = 1024;

/// Versions of the books' details, each shared by the books whose ids hash to it: a change to
/// one book invalidates the details of about 1/256 of the others, and the memory stays fixed.
const BOOK_STRIPES: usize = 256;

/// A JSON response body as sent, in each encoding asked for so far, with its entity tag.
pub struct CachedJson {
    /// The tag of the identity encoding, without quotes: a digest of the bytes, so that every
    /// replica gives the same page the same tag.
    tag: String,
    identity: Bytes,
    gzip: OnceLock<Option<Bytes>>,
    brotli: OnceLock<Option<Bytes>>,
}

impl CachedJson {
    pub fn new(identity: Vec<u8>) -> Self {
        let digest = Sha256::digest(&identity);
        let tag = digest
            .iter()
            .take(16)
            .map(|byte| format!("{byte:02x}"))
            .collect();
        Self {
            tag,
            identity: Bytes::from(identity),
            gzip: OnceLock::new(),
            brotli: OnceLock::new(),
        }
    }

    /// The body in `encoding`, compressed now if it is the first time; identity when
    /// compressing fails (it does not, on bytes in memory, but a response must not depend on it).
    fn body(&self, encoding: Encoding) -> (Bytes, Encoding) {
        let compressed = match encoding {
            Encoding::Identity => None,
            Encoding::Gzip => self
                .gzip
                .get_or_init(|| kept(compression::gzip(&self.identity)))
                .clone(),
            Encoding::Brotli => self
                .brotli
                .get_or_init(|| kept(compression::brotli(&self.identity)))
                .clone(),
        };
        match compressed {
            Some(bytes) => (bytes, encoding),
            None => (self.identity.clone(), Encoding::Identity),
        }
    }

    /// The response to `request`: `304` when its `If-None-Match` names this body in the
    /// encoding it gets, else `200` with the body, compressed when the client accepts it.
    /// Clients and shared caches may keep it, and must revalidate before each use (`no-cache`):
    /// a page shows stock counts, and a revalidation is answered from memory.
    pub fn respond(&self, request: &HeaderMap) -> Response {
        let available: &[Encoding] = if self.identity.len() >= COMPRESS_FROM {
            &[Encoding::Brotli, Encoding::Gzip]
        } else {
            &[]
        };
        let wanted = compression::negotiate(request, available);
        let etag = format!("\"{}{}\"", self.tag, wanted.etag_suffix());
        let mut headers = HeaderMap::new();
        if let Ok(value) = HeaderValue::from_str(&etag) {
            headers.insert(header::ETAG, value);
        }
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        headers.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
        if platform::conditional::none_match_hits(request, &etag) {
            return (StatusCode::NOT_MODIFIED, headers).into_response();
        }
        let (body, encoding) = self.body(wanted);
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Some(name) = encoding.header_value() {
            headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(name));
        }
        (StatusCode::OK, headers, body).into_response()
    }

    /// Bytes held for this body, counting room for both compressed forms (JSON compresses to
    /// well under a quarter of its size).
    fn weight(&self) -> u64 {
        let bytes = self.identity.len() + self.identity.len() / 2 + self.tag.len();
        u64::try_from(bytes).unwrap_or(u64::MAX)
    }
}

/// A compressed form, or none (logged) when compressing failed.
fn kept(compressed: std::io::Result<Vec<u8>>) -> Option<Bytes> {
    match compressed {
        Ok(bytes) => Some(Bytes::from(bytes)),
        Err(err) => {
            tracing::warn!(error = %err, "Cannot compress a catalogue page.");
            None
        }
    }
}

/// A response and the version of what it shows when it was made.
struct Entry {
    version: u64,
    body: Arc<CachedJson>,
}

/// The cache's counters, registered in the process's registry.
#[derive(Clone)]
pub struct CacheMetrics {
    lookups: IntCounterVec,
    evictions: IntCounter,
    bytes: IntGauge,
    entries: IntGauge,
}

impl CacheMetrics {
    pub fn new(registry: &platform::metrics::Metrics) -> Self {
        let metrics = Self::unregistered();
        registry.register(Box::new(metrics.lookups.clone()));
        registry.register(Box::new(metrics.evictions.clone()));
        registry.register(Box::new(metrics.bytes.clone()));
        registry.register(Box::new(metrics.entries.clone()));
        metrics
    }

    /// The same metrics, counted but exported nowhere (tests, tools).
    pub fn unregistered() -> Self {
        use platform::metrics::defined;
        Self {
            lookups: defined(IntCounterVec::new(
                Opts::new(
                    "catalog_cache_lookups_total",
                    "Catalogue pages and book details asked of the response cache, by result (hit or miss).",
                ),
                &["result"],
            )),
            evictions: defined(IntCounter::new(
                "catalog_cache_evictions_total",
                "Responses the cache dropped to stay within its bytes and entries.",
            )),
            bytes: defined(IntGauge::new(
                "catalog_cache_bytes",
                "Bytes the response cache holds, with room for compressed forms.",
            )),
            entries: defined(IntGauge::new(
                "catalog_cache_entries",
                "Responses the response cache holds.",
            )),
        }
    }

    /// Lookups so far with `result` (`hit` or `miss`).
    pub fn lookups(&self, result: &str) -> u64 {
        self.lookups.with_label_values(&[result]).get()
    }

    pub fn evictions(&self) -> u64 {
        self.evictions.get()
    }
}

/// The response cache of one catalogue process. Cloning shares it.
#[derive(Clone)]
pub struct PageCache {
    inner: Arc<Inner>,
}

struct Inner {
    pages: moka::sync::Cache<PageKey, Arc<Entry>>,
    enabled: bool,
    /// Bumped by every change: every list page may show any book.
    lists: AtomicU64,
    books: Vec<AtomicU64>,
    metrics: CacheMetrics,
}

impl PageCache {
    pub fn new(settings: CacheSettings, metrics: CacheMetrics) -> Self {
        // Each entry weighs at least its share of the bytes, so the bytes bound is also the
        // entries bound.
        let least_weight = settings.max_bytes / settings.max_entries.max(1);
        let evictions = metrics.evictions.clone();
        let pages = moka::sync::Cache::builder()
            .max_capacity(settings.max_bytes)
            .weigher(move |_key, entry: &Arc<Entry>| {
                u32::try_from(entry.body.weight().max(least_weight)).unwrap_or(u32::MAX)
            })
            .time_to_live(settings.max_age.max(Duration::from_millis(1)))
            .eviction_listener(move |_key, _entry, cause| {
                if cause == RemovalCause::Size {
                    evictions.inc();
                }
            })
            .build();
        Self {
            inner: Arc::new(Inner {
                pages,
                enabled: !settings.max_age.is_zero(),
                lists: AtomicU64::new(0),
                books: (0..BOOK_STRIPES).map(|_| AtomicU64::new(0)).collect(),
                metrics,
            }),
        }
    }

    /// The version of what `key` shows. Read it before reading the database for a page: a
    /// change committed after that makes the page's version old, so it is never served.
    pub fn version(&self, key: &PageKey) -> u64 {
        match key {
            PageKey::List(_) => self.inner.lists.load(Ordering::Acquire),
            PageKey::Book(id) => self.stripe(id).load(Ordering::Acquire),
        }
    }

    /// The response for `key`, if one of the current version is held.
    pub fn get(&self, key: &PageKey) -> Option<Arc<CachedJson>> {
        let found = self
            .inner
            .pages
            .get(key)
            .filter(|entry| entry.version == self.version(key))
            .map(|entry| entry.body.clone());
        let result = if found.is_some() { "hit" } else { "miss" };
        self.inner
            .metrics
            .lookups
            .with_label_values(&[result])
            .inc();
        found
    }

    /// Keeps `body` for `key`, made from what the database held at `version`; a body already
    /// out of date is not kept.
    pub fn insert(&self, key: PageKey, version: u64, body: CachedJson) -> Arc<CachedJson> {
        let body = Arc::new(body);
        if self.inner.enabled && version == self.version(&key) {
            self.inner.pages.insert(
                key,
                Arc::new(Entry {
                    version,
                    body: body.clone(),
                }),
            );
            self.record_size();
        }
        body
    }

    /// A book was added, changed (its fields, files, summary or stock) or deleted: its details
    /// and every list page are out of date. Call it once the change is committed, before
    /// answering the request that made it.
    pub fn book_changed(&self, book_id: &str) {
        self.stripe(book_id).fetch_add(1, Ordering::AcqRel);
        self.inner.lists.fetch_add(1, Ordering::AcqRel);
    }

    /// Holds no more than its bounds now (the cache applies them in the background otherwise);
    /// for tests and the metrics.
    pub fn settle(&self) {
        self.inner.pages.run_pending_tasks();
        self.record_size();
    }

    /// Sets the bytes and entries gauges to what the cache holds.
    fn record_size(&self) {
        let (bytes, entries) = self.size();
        let metrics = &self.inner.metrics;
        metrics.bytes.set(i64::try_from(bytes).unwrap_or(i64::MAX));
        metrics
            .entries
            .set(i64::try_from(entries).unwrap_or(i64::MAX));
    }

    /// Bytes and entries held (after [`settle`](Self::settle)).
    pub fn size(&self) -> (u64, u64) {
        (
            self.inner.pages.weighted_size(),
            self.inner.pages.entry_count(),
        )
    }

    pub fn metrics(&self) -> &CacheMetrics {
        &self.inner.metrics
    }

    fn stripe(&self, book_id: &str) -> &AtomicU64 {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        book_id.hash(&mut hasher);
        let index = usize::try_from(hasher.finish() % BOOK_STRIPES as u64).unwrap_or(0);
        &self.inner.books[index]
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn cache(settings: CacheSettings) -> PageCache {
        PageCache::new(settings, CacheMetrics::unregistered())
    }

    fn book(id: &str) -> PageKey {
        PageKey::Book(id.to_owned())
    }

    #[test]
    fn a_change_to_a_book_leaves_other_books_details_alone() {
        let cache = cache(CacheSettings::default());
        // Two ids on different stripes.
        let (a, b) = (
            "book-a",
            (0..)
                .map(|n| format!("book-{n}"))
                .find(|id| !std::ptr::eq(cache.stripe(id), cache.stripe("book-a")))
                .unwrap(),
        );
        for id in [a, b.as_str()] {
            let version = cache.version(&book(id));
            cache.insert(book(id), version, CachedJson::new(id.as_bytes().to_vec()));
        }
        cache.book_changed(a);
        assert!(cache.get(&book(a)).is_none());
        assert!(cache.get(&book(&b)).is_some());
    }

    #[test]
    fn a_page_made_before_a_change_committed_is_never_kept() {
        let cache = cache(CacheSettings::default());
        let version = cache.version(&book("a"));
        // The change commits while the page is being made from the old rows.
        cache.book_changed("a");
        cache.insert(book("a"), version, CachedJson::new(b"old".to_vec()));
        assert!(cache.get(&book("a")).is_none());
    }

    #[test]
    fn the_bytes_and_entries_bounds_hold() {
        let cache = cache(CacheSettings {
            max_bytes: 100_000,
            max_entries: 50,
            ..CacheSettings::default()
        });
        for n in 0..1_000 {
            let key = book(&format!("b{n}"));
            let version = cache.version(&key);
            cache.insert(key, version, CachedJson::new(vec![b'x'; 1_000]));
        }
        cache.settle();
        let (bytes, entries) = cache.size();
        assert!(bytes <= 100_000, "{bytes} bytes");
        assert!(entries <= 50, "{entries} entries");
        assert!(cache.metrics().evictions() > 0);
    }

    #[test]
    fn an_age_of_zero_keeps_nothing() {
        let cache = cache(CacheSettings {
            max_age: Duration::ZERO,
            ..CacheSettings::default()
        });
        cache.insert(book("a"), 0, CachedJson::new(b"{}".to_vec()));
        assert!(cache.get(&book("a")).is_none());
    }
}
