//! The catalogue as the orders service sees it: a port ([`Catalog`]) answering "does this book
//! exist, and what are its title and price now", and its HTTP adapter ([`HttpCatalog`]) for
//! split deployments. `bookstore all` plugs in an in-process implementation instead.

use std::time::Duration;

use async_trait::async_trait;
use platform::money::Money;
use platform::{ApiError, ErrorCode};
use reqwest::{StatusCode, Url};
use serde::Deserialize;

/// What an order copies from the catalogue at purchase time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookFacts {
    pub title: String,
    pub price: Money,
}

/// Looks books up in the catalogue.
#[async_trait]
pub trait Catalog: Send + Sync {
    /// The book's current title and price; `Ok(None)` when the catalogue has no such book. An
    /// unreachable or misbehaving catalogue is an error (503), never "no such book": a customer
    /// must not be told that a book does not exist because the catalogue was briefly down.
    async fn book(&self, id: &str) -> Result<Option<BookFacts>, ApiError>;
}

/// How long one catalogue lookup may take before the order is refused with a 503.
const TIMEOUT: Duration = Duration::from_secs(5);

/// The catalogue service over HTTP: `GET {base_url}/api/v1/books/{id}`.
#[derive(Debug, Clone)]
pub struct HttpCatalog {
    base_url: Url,
    client: reqwest::Client,
}

/// The part of the catalogue's book JSON that an order needs (other fields are ignored).
#[derive(Deserialize)]
struct BookJson {
    title: String,
    price: Money,
}

fn unavailable(detail: &str) -> ApiError {
    ApiError::new(
        ErrorCode::Unavailable,
        format!("the catalogue cannot be reached to check the books ({detail}); try again later"),
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
    /// lookup still has its own time limit.
    pub fn with_client(base_url: &str, client: reqwest::Client) -> anyhow::Result<Self> {
        let base_url = Url::parse(base_url)
            .map_err(|err| anyhow::anyhow!("bad catalogue URL {base_url:?}: {err}"))?;
        if base_url.cannot_be_a_base() || !matches!(base_url.scheme(), "http" | "https") {
            anyhow::bail!("bad catalogue URL {base_url}: must be an http(s) URL");
        }
        Ok(Self { base_url, client })
    }

    /// The URL of one book. The id is one path segment, percent-encoded, so that no id can
    /// reach another path of the catalogue.
    fn book_url(&self, id: &str) -> Result<Url, ApiError> {
        let mut url = self.base_url.clone();
        url.set_query(None);
        url.path_segments_mut()
            .map_err(|()| ApiError::internal(anyhow::anyhow!("catalogue URL cannot be a base")))?
            .pop_if_empty()
            .extend(["api", "v1", "books", id]);
        Ok(url)
    }
}

#[async_trait]
impl Catalog for HttpCatalog {
    #[tracing::instrument(skip(self), fields(book_id = %id))]
    async fn book(&self, id: &str) -> Result<Option<BookFacts>, ApiError> {
        let url = self.book_url(id)?;
        let response = platform::telemetry::propagate(self.client.get(url).timeout(TIMEOUT))
            .send()
            .await
            .map_err(|err| {
                tracing::warn!(error = %err, "Catalogue lookup failed.");
                unavailable(if err.is_timeout() {
                    "it did not answer in time"
                } else {
                    "no connection"
                })
            })?;
        match response.status() {
            StatusCode::OK => {}
            StatusCode::NOT_FOUND => return Ok(None),
            status => {
                tracing::warn!(%status, "Catalogue lookup answered an error.");
                return Err(unavailable(&format!("it answered {}", status.as_u16())));
            }
        }
        let book: BookJson = response.json().await.map_err(|err| {
            tracing::warn!(error = %err, "Catalogue lookup answered an unreadable book.");
            unavailable("it answered an unreadable book")
        })?;
        Ok(Some(BookFacts {
            title: book.title,
            price: book.price,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn book_urls_keep_the_base_path_and_encode_the_id() {
        let catalog = HttpCatalog::new("http://catalog:8080/").unwrap();
        assert_eq!(
            catalog.book_url("abc").unwrap().as_str(),
            "http://catalog:8080/api/v1/books/abc"
        );
        let catalog = HttpCatalog::new("http://gateway/shop").unwrap();
        assert_eq!(
            catalog.book_url("../users/me?x=1#y").unwrap().as_str(),
            "http://gateway/shop/api/v1/books/..%2Fusers%2Fme%3Fx=1%23y"
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
