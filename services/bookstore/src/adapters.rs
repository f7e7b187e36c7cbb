//! How services reach each other inside one process (`bookstore all`): the orders service's
//! catalogue port and the catalogue's purchases port, answered by the other service's own code
//! instead of over HTTP.

use std::collections::HashMap;

use catalog::purchases::{Buyer, Purchases};
use contracts::BookId;
use orders::catalog::{BookFacts, Catalog};
use platform::ApiError;
use platform::money::Money;
use sea_orm::DatabaseConnection;

/// The catalogue, in process.
pub struct LocalCatalog {
    db: DatabaseConnection,
}

impl LocalCatalog {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

#[async_trait::async_trait]
impl Catalog for LocalCatalog {
    async fn books(&self, ids: &[BookId]) -> Result<HashMap<BookId, BookFacts>, ApiError> {
        catalog::books::find_many(&self.db, ids)
            .await?
            .into_iter()
            .map(|book| {
                let price = Money::from_cents(book.price_cents).map_err(ApiError::internal)?;
                Ok((
                    BookId::from(book.id),
                    BookFacts {
                        title: book.title,
                        price,
                    },
                ))
            })
            .collect()
    }
}

/// The orders service's record of purchases, in process.
pub struct LocalPurchases {
    db: DatabaseConnection,
}

impl LocalPurchases {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

#[async_trait::async_trait]
impl Purchases for LocalPurchases {
    async fn has_bought(&self, buyer: &Buyer<'_>, book_id: &str) -> Result<bool, ApiError> {
        let order = orders::orders::newest_with_book(
            &self.db,
            buyer.user_id,
            book_id,
            &orders::status::OrderStatus::BOUGHT,
        )
        .await?;
        Ok(order.is_some())
    }
}
