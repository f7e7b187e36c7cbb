//! The sample catalogue (60 real books, facts only) loaded into an empty catalogue.

use platform::ApiError;
use sea_orm::{DatabaseConnection, EntityTrait, PaginatorTrait, TransactionTrait};
use serde::Deserialize;

use crate::books::{self, BookInput};
use crate::entity::book;

const SAMPLE: &str = include_str!("../data/books.json");

#[derive(Deserialize)]
struct SampleBook {
    title: String,
    authors: Vec<String>,
    isbn: String,
    publisher: String,
    format: String,
    genre: String,
    price: String,
    stock: i32,
}

/// A book the sample added, with the stock the sample gives it (inventory loads that).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeededBook {
    pub id: String,
    pub stock: i64,
}

/// Loads the sample catalogue if the catalogue is empty; returns the books it added.
pub async fn seed_if_empty(db: &DatabaseConnection) -> Result<Vec<SeededBook>, ApiError> {
    if book::Entity::find().count(db).await? > 0 {
        return Ok(Vec::new());
    }
    let sample: Vec<SampleBook> = serde_json::from_str(SAMPLE).map_err(ApiError::internal)?;
    let txn = db.begin().await?;
    let mut seeded = Vec::with_capacity(sample.len());
    for entry in &sample {
        let fields = BookInput {
            isbn: Some(entry.isbn.clone()),
            title: Some(entry.title.clone()),
            authors: Some(entry.authors.clone()),
            publisher: Some(entry.publisher.clone()),
            format: Some(entry.format.clone()),
            genre: Some(entry.genre.clone()),
            price: Some(entry.price.clone()),
            description: None,
        }
        .validate(true)?;
        let book = books::insert(&txn, fields, entry.stock.max(0)).await?;
        seeded.push(SeededBook {
            id: book.id,
            stock: i64::from(entry.stock.max(0)),
        });
    }
    txn.commit().await?;
    Ok(seeded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sample_book_is_valid() {
        let sample: Vec<SampleBook> = serde_json::from_str(SAMPLE).unwrap();
        assert_eq!(sample.len(), 60);
        let mut isbns = std::collections::HashSet::new();
        for entry in &sample {
            let fields = BookInput {
                isbn: Some(entry.isbn.clone()),
                title: Some(entry.title.clone()),
                authors: Some(entry.authors.clone()),
                publisher: Some(entry.publisher.clone()),
                format: Some(entry.format.clone()),
                genre: Some(entry.genre.clone()),
                price: Some(entry.price.clone()),
                description: None,
            }
            .validate(true)
            .unwrap_or_else(|err| panic!("{}: {err}", entry.title));
            assert!(
                isbns.insert(fields.isbn.unwrap().as_str().to_owned()),
                "duplicate ISBN {}",
                entry.isbn
            );
        }
    }
}
