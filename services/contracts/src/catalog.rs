//! The catalogue's side of placing an order: `POST /api/v1/books/lookup`, through which the
//! orders service reads the titles and prices of the books being ordered.

use platform::money::Money;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::BookId;

/// The most ids one look-up may carry.
pub const MAX_LOOKUP: usize = 100;

/// The body of `POST /api/v1/books/lookup`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Lookup {
    /// 1 to 100 book ids; repeats count once.
    #[schema(min_items = 1, max_items = 100)]
    pub ids: Vec<BookId>,
}

/// The answer to a look-up as the orders service reads it: of each book found, what an order
/// copies at purchase time. The catalogue answers its whole book view (other fields are
/// ignored here); its tests check that its answer reads as this.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct LookedUpBooks {
    /// The books of the ids that name one, in no particular order.
    pub books: Vec<LookedUpBook>,
}

/// A book found by a look-up: its id, and its title and price now.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct LookedUpBook {
    pub id: BookId,
    pub title: String,
    pub price: Money,
}
