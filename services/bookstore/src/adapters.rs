//! How services reach each other inside one process (`bookstore all`): the orders service's
//! catalogue port answered by the catalogue's own code instead of over HTTP.

use std::collections::HashMap;

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
    async fn books(&self, ids: &[String]) -> Result<HashMap<String, BookFacts>, ApiError> {
        catalog::books::find_many(&self.db, ids)
            .await?
            .into_iter()
            .map(|book| {
                let price = Money::from_cents(book.price_cents).map_err(ApiError::internal)?;
                Ok((
                    book.id,
                    BookFacts {
                        title: book.title,
                        price,
                    },
                ))
            })
            .collect()
    }
}
