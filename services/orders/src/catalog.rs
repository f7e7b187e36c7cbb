//! The catalogue as the orders service sees it: a port ([`Catalog`]) answering "do these books
//! exist, and what are their titles and prices now", and its HTTP adapter ([`HttpCatalog`]) for
//! split deployments, which looks up the books of the orders being placed at the same time in
//! one request. `bookstore all` plugs in an in-process implementation instead.

use std::collections::{BTreeSet, HashMap};
use std::sync::OnceLock;
use std::time::Duration;

use async_trait::async_trait;
use contracts::BookId;
use contracts::catalog::{LookedUpBooks, Lookup};
use platform::ApiError;
use platform::batch::{Batcher, Unanswered};
use platform::error::DEPENDENCY_RETRY_AFTER_SECS;
use platform::money::Money;
use reqwest::{StatusCode, Url};

/// What an order copies from the catalogue at purchase time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookFacts {
    pub title: String,
    pub price: Money,
}

/// Looks books up in the catalogue.
#[async_trait]
pub trait Catalog: Send + Sync {
    /// The current title and price of each of these books that exists, by id; a book the
    /// catalogue does not have is left out. An unreachable or misbehaving catalogue is an error
    /// (503), never "no such book": a customer must not be told that a book does not exist
    /// because the catalogue was briefly down.
    async fn books(&self, ids: &[BookId]) -> Result<HashMap<BookId, BookFacts>, ApiError>;
}

/// How long one catalogue look-up may take before the orders waiting on it are refused with a
/// 503.
const TIMEOUT: Duration = Duration::from_secs(5);

/// The most ids the catalogue answers in one look-up.
const LOOKUP_IDS: usize = contracts::catalog::MAX_LOOKUP;

/// The most orders whose books one round of look-ups gathers.
const ORDERS_PER_ROUND: usize = 100;

/// Why a look-up failed, for the 503 of every order waiting on it.
#[derive(Debug, Clone)]
struct Unavailable(String);

impl From<Unanswered> for Unavailable {
    fn from(_: Unanswered) -> Self {
        Self("the look-up was abandoned".into())
    }
}

/// The catalogue service over HTTP: `POST {base_url}/api/v1/books/lookup`.
pub struct HttpCatalog {
    lookup_url: Url,
    client: reqwest::Client,
    /// Started on first use, inside the runtime.
    rounds: OnceLock<Batcher<Vec<BookId>, HashMap<BookId, BookFacts>, Unavailable>>,
}

fn unavailable(detail: &str) -> ApiError {
    ApiError::unavailable(
        format!("the catalogue cannot be reached to check the books ({detail}); try again later"),
        DEPENDENCY_RETRY_AFTER_SECS,
    )
}

impl HttpCatalog {
    /// A catalogue at `base_url` (e.g. `http://catalog:8080`), with a client of its own.
    pub fn new(base_url: &str) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .connect_timeout(TIMEOUT)
            .build()?;
        Self::with_client(base_url, client)
    }

    /// A catalogue at `base_url` reached through `client` (sharing its connection pool). Every
    /// look-up still has its own time limit.
    pub fn with_client(base_url: &str, client: reqwest::Client) -> anyhow::Result<Self> {
        let base_url = Url::parse(base_url)
            .map_err(|err| anyhow::anyhow!("bad catalogue URL {base_url:?}: {err}"))?;
        if base_url.cannot_be_a_base() || !matches!(base_url.scheme(), "http" | "https") {
            anyhow::bail!("bad catalogue URL {base_url}: must be an http(s) URL");
        }
        Ok(Self {
            lookup_url: lookup_url(&base_url)?,
            client,
            rounds: OnceLock::new(),
        })
    }

    fn rounds(&self) -> &Batcher<Vec<BookId>, HashMap<BookId, BookFacts>, Unavailable> {
        self.rounds.get_or_init(|| {
            let (url, client) = (self.lookup_url.clone(), self.client.clone());
            Batcher::start("catalogue look-ups", ORDERS_PER_ROUND, move |orders| {
                let (url, client) = (url.clone(), client.clone());
                async move { look_up(&client, &url, orders).await }
            })
        })
    }
}

/// The look-up URL under the catalogue's base URL (keeping its path).
fn lookup_url(base_url: &Url) -> anyhow::Result<Url> {
    let mut url = base_url.clone();
    url.set_query(None);
    url.path_segments_mut()
        .map_err(|()| anyhow::anyhow!("catalogue URL cannot be a base"))?
        .pop_if_empty()
        .extend(["api", "v1", "books", "lookup"]);
    Ok(url)
}

/// One round: the books of several orders, looked up together (at most [`LOOKUP_IDS`] per
/// request), each order answered with its own.
async fn look_up(
    client: &reqwest::Client,
    url: &Url,
    orders: Vec<Vec<BookId>>,
) -> Result<Vec<Result<HashMap<BookId, BookFacts>, Unavailable>>, Unavailable> {
    let ids: Vec<&BookId> = orders
        .iter()
        .flatten()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut found: HashMap<BookId, BookFacts> = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(LOOKUP_IDS) {
        let request = client.post(url.clone()).timeout(TIMEOUT).json(&Lookup {
            ids: chunk.iter().map(|id| (*id).clone()).collect(),
        });
        let response = platform::telemetry::propagate(request)
            .send()
            .await
            .map_err(|err| {
                tracing::warn!(error = %err, "Catalogue look-up failed.");
                Unavailable(
                    if err.is_timeout() {
                        "it did not answer in time"
                    } else {
                        "no connection"
                    }
                    .into(),
                )
            })?;
        let status = response.status();
        if status != StatusCode::OK {
            tracing::warn!(%status, "Catalogue look-up answered an error.");
            return Err(Unavailable(format!("it answered {}", status.as_u16())));
        }
        let answer: LookedUpBooks = response.json().await.map_err(|err| {
            tracing::warn!(error = %err, "Catalogue look-up answered unreadable books.");
            Unavailable("it answered unreadable books".into())
        })?;
        found.extend(answer.books.into_iter().map(|book| {
            (
                book.id,
                BookFacts {
                    title: book.title,
                    price: book.price,
                },
            )
        }));
    }
    Ok(orders
        .into_iter()
        .map(|ids| {
            Ok(ids
                .into_iter()
                .filter_map(|id| found.get(&id).cloned().map(|facts| (id, facts)))
                .collect())
        })
        .collect())
}

#[async_trait]
impl Catalog for HttpCatalog {
    #[tracing::instrument(skip_all, fields(books = ids.len()))]
    async fn books(&self, ids: &[BookId]) -> Result<HashMap<BookId, BookFacts>, ApiError> {
        self.rounds()
            .call(ids.to_vec())
            .await
            .map_err(|Unavailable(detail)| unavailable(&detail))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lookup_url_keeps_the_base_path() {
        let catalog = HttpCatalog::new("http://catalog:8080/").unwrap();
        assert_eq!(
            catalog.lookup_url.as_str(),
            "http://catalog:8080/api/v1/books/lookup"
        );
        let catalog = HttpCatalog::new("http://gateway/shop?x=1").unwrap();
        assert_eq!(
            catalog.lookup_url.as_str(),
            "http://gateway/shop/api/v1/books/lookup"
        );
    }

    #[test]
    fn only_http_base_urls_are_accepted() {
        assert!(HttpCatalog::new("not a url").is_err());
        assert!(HttpCatalog::new("mailto:books@example.com").is_err());
        assert!(HttpCatalog::new("ftp://catalog").is_err());
        assert!(HttpCatalog::new("https://catalog.example").is_ok());
    }
}
