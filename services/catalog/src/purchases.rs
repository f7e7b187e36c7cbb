//! Who has bought a book, as the catalogue needs to know before it hands out a document: a port
//! ([`Purchases`]) and its HTTP adapter ([`HttpPurchases`]) asking the orders service with the
//! caller's own token, so the answer is about the caller and no one else. `bookstore all` plugs
//! in an in-process implementation instead.

use std::time::Duration;

use async_trait::async_trait;
use platform::{ApiError, ErrorCode};
use reqwest::{StatusCode, Url};

/// The signed-in customer asking, with the bearer token they sent.
pub struct Buyer<'a> {
    pub user_id: &'a str,
    /// The `Authorization` header's value, passed on unchanged.
    pub authorization: &'a str,
}

#[async_trait]
pub trait Purchases: Send + Sync {
    /// Whether `buyer` has an order containing `book_id` that bought it (completed, shipped or
    /// delivered). An unreachable orders service is an error (503), never "not bought".
    async fn has_bought(&self, buyer: &Buyer<'_>, book_id: &str) -> Result<bool, ApiError>;
}

/// How long the orders service may take to answer.
const TIMEOUT: Duration = Duration::from_secs(5);

/// The orders service over HTTP: `GET {base_url}/api/v1/orders/bought?book_id=…`.
pub struct HttpPurchases {
    bought_url: Url,
    client: reqwest::Client,
}

impl HttpPurchases {
    pub fn new(base_url: &Url) -> anyhow::Result<Self> {
        Ok(Self {
            bought_url: base_url.join("/api/v1/orders/bought")?,
            client: reqwest::Client::builder().timeout(TIMEOUT).build()?,
        })
    }
}

fn unavailable(detail: impl std::fmt::Display) -> ApiError {
    ApiError::unavailable(
        format!(
            "the orders service cannot be reached to check the purchase ({detail}); try again later"
        ),
        1,
    )
}

#[async_trait]
impl Purchases for HttpPurchases {
    async fn has_bought(&self, buyer: &Buyer<'_>, book_id: &str) -> Result<bool, ApiError> {
        let mut url = self.bought_url.clone();
        url.query_pairs_mut().append_pair("book_id", book_id);
        let response = self
            .client
            .get(url)
            .header(reqwest::header::AUTHORIZATION, buyer.authorization)
            .send()
            .await
            .map_err(unavailable)?;
        match response.status() {
            StatusCode::OK => Ok(true),
            StatusCode::NOT_FOUND => Ok(false),
            // The token was good enough for the catalogue but not for orders (e.g. it expired
            // in between): the caller's problem, said the same way.
            StatusCode::UNAUTHORIZED => Err(ApiError::new(
                ErrorCode::InvalidToken,
                "the access token was refused; sign in again",
            )),
            status => Err(unavailable(format!("it answered {status}"))),
        }
    }
}
