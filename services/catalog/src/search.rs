//! Catalogue search: parsing the list parameters, filtering, sorting and genre facets.

use platform::ApiError;
use platform::db::{contains, starts_with};
use platform::error::FieldErrors;
use platform::money::Money;
use platform::pagination::{PageParams, PageRequest};
use sea_orm::sea_query::{CaseStatement, Expr, ExprTrait, Order};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Select};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::books::Format;
use crate::entity::book;
use crate::isbn::Isbn;

/// The list parameters as sent; each is checked and a bad one is a 400 naming it.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Free text matched against title, authors and ISBN (every word must match): 1 to 10
    /// words, at most 200 characters, no control characters.
    #[param(
        max_length = 200,
        pattern = r"^[ \u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*[^\s\u0000-\u001F\u007F-\u009F]+(?:[ \u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]+[^\s\u0000-\u001F\u007F-\u009F]+){0,9}[ \u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$"
    )]
    pub q: Option<String>,
    /// Exact genre, case-insensitive: at most 64 characters, not only spaces, no control
    /// characters.
    #[param(
        min_length = 1,
        max_length = 64,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub genre: Option<String>,
    /// Part of an author's name, case-insensitive: at most 100 characters, not only spaces, no
    /// control characters.
    #[param(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub author: Option<String>,
    /// hardcover, paperback, ebook or audiobook.
    #[param(inline, value_type = Option<Format>)]
    pub format: Option<String>,
    /// Lowest price, inclusive ("10.00").
    #[param(value_type = Option<Money>)]
    pub min_price: Option<String>,
    /// Highest price, inclusive ("30.00"), not below `min_price`.
    #[param(value_type = Option<Money>)]
    pub max_price: Option<String>,
    /// `true`: only books with units available; `false`: only those without.
    #[param(value_type = Option<bool>)]
    pub in_stock: Option<String>,
    /// relevance (default with `q`, and only with `q`), title (default otherwise), price_asc,
    /// price_desc, newest.
    #[param(inline, value_type = Option<Sort>)]
    pub sort: Option<String>,
    /// Page number, 1 to 10000 (default 1).
    #[param(value_type = Option<u64>, minimum = 1, maximum = 10000)]
    pub page: Option<String>,
    /// Items per page, 1 to 100 (default 20).
    #[param(value_type = Option<u64>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum Sort {
    Relevance,
    Title,
    PriceAsc,
    PriceDesc,
    Newest,
}

impl std::str::FromStr for Sort {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "relevance" => Ok(Self::Relevance),
            "title" => Ok(Self::Title),
            "price_asc" => Ok(Self::PriceAsc),
            "price_desc" => Ok(Self::PriceDesc),
            "newest" => Ok(Self::Newest),
            _ => Err("must be one of relevance, title, price_asc, price_desc, newest".into()),
        }
    }
}

/// Validated search parameters: also the response cache's key of a list page, so that requests
/// that differ only in how they are written share one entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Search {
    words: Vec<String>,
    genre: Option<String>,
    author: Option<String>,
    format: Option<Format>,
    min_price: Option<Money>,
    max_price: Option<Money>,
    in_stock: Option<bool>,
    sort: Sort,
    pub page: PageRequest,
}

/// The most words of a search (`q`), and its longest text in characters.
pub const MAX_WORDS: usize = 10;
pub const MAX_QUERY: usize = 200;
/// The longest `author` filter (the longest `genre` is a genre's own limit).
pub const MAX_AUTHOR_FILTER: usize = 100;

/// A search word as stored: any ISBN form ("978-0-7023-1872-6", "0521402301") becomes the stored
/// ISBN-13, and other hyphenated digit runs lose their hyphens.
fn search_word(word: &str) -> String {
    if let Ok(isbn) = Isbn::parse(word) {
        return isbn.as_str().to_owned();
    }
    let digits = word.replace('-', "");
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        digits
    } else {
        word.to_owned()
    }
}

fn bounded_text(value: &str, max: usize) -> Result<String, String> {
    let value = value.trim();
    if value.is_empty() {
        Err("must not be empty".into())
    } else if value.chars().count() > max {
        Err(format!("must be at most {max} characters"))
    } else if value.chars().any(|c| c.is_control()) {
        // No stored text has them, and PostgreSQL refuses a NUL byte outright.
        Err("must not contain control characters".into())
    } else {
        Ok(value.to_lowercase())
    }
}

impl ListQuery {
    pub fn validate(&self) -> Result<Search, ApiError> {
        let mut errors = FieldErrors::new();
        let page = PageParams {
            page: self.page.clone(),
            limit: self.limit.clone(),
        }
        .validate(&mut errors);
        let q = self
            .q
            .as_deref()
            .and_then(|v| errors.check("q", bounded_text(v, MAX_QUERY)));
        let words: Vec<String> = q
            .map(|q| q.split_whitespace().map(search_word).collect())
            .unwrap_or_default();
        if words.len() > MAX_WORDS {
            errors.add("q", format!("must have at most {MAX_WORDS} words"));
        }
        let min_price = self
            .min_price
            .as_deref()
            .and_then(|v| errors.check("min_price", v.parse::<Money>()));
        let max_price = self
            .max_price
            .as_deref()
            .and_then(|v| errors.check("max_price", v.parse::<Money>()));
        if let (Some(min), Some(max)) = (min_price, max_price)
            && min > max
        {
            errors.add("max_price", "must not be below min_price");
        }
        let sort = match self.sort.as_deref() {
            Some(raw) => errors
                .check("sort", raw.parse::<Sort>())
                .unwrap_or(Sort::Title),
            None if !words.is_empty() => Sort::Relevance,
            None => Sort::Title,
        };
        if sort == Sort::Relevance && words.is_empty() {
            errors.add("sort", "relevance needs a search text in q");
        }
        let search = Search {
            genre: self
                .genre
                .as_deref()
                .and_then(|v| errors.check("genre", bounded_text(v, crate::books::MAX_GENRE))),
            author: self
                .author
                .as_deref()
                .and_then(|v| errors.check("author", bounded_text(v, MAX_AUTHOR_FILTER))),
            format: self
                .format
                .as_deref()
                .and_then(|v| errors.check("format", v.parse::<Format>())),
            in_stock: self.in_stock.as_deref().and_then(|v| {
                errors.check(
                    "in_stock",
                    v.parse::<bool>().map_err(|_| "must be true or false"),
                )
            }),
            words,
            min_price,
            max_price,
            sort,
            page,
        };
        errors.into_invalid_parameters()?;
        Ok(search)
    }
}

impl Search {
    /// Every filter but the genre: the base of the genre facets.
    fn condition_without_genre(&self) -> Condition {
        let mut condition = Condition::all();
        for word in &self.words {
            condition = condition.add(Expr::col(book::Column::SearchText).like(contains(word)));
        }
        if let Some(author) = &self.author {
            condition = condition.add(Expr::col(book::Column::AuthorsKey).like(contains(author)));
        }
        if let Some(format) = self.format {
            condition = condition.add(book::Column::Format.eq(format.as_str()));
        }
        if let Some(min) = self.min_price {
            condition = condition.add(book::Column::PriceCents.gte(min.cents()));
        }
        if let Some(max) = self.max_price {
            condition = condition.add(book::Column::PriceCents.lte(max.cents()));
        }
        match self.in_stock {
            Some(true) => condition = condition.add(book::Column::Available.gt(0)),
            Some(false) => condition = condition.add(book::Column::Available.lte(0)),
            None => {}
        }
        condition
    }

    fn condition(&self) -> Condition {
        let condition = self.condition_without_genre();
        match &self.genre {
            Some(genre) => condition.add(book::Column::GenreKey.eq(genre.as_str())),
            None => condition,
        }
    }

    /// The filtered books, without ordering.
    pub fn filtered(&self) -> Select<book::Entity> {
        book::Entity::find().filter(self.condition())
    }

    /// The filtered books in the requested order, ties broken by id so pages never overlap.
    /// Ids are UUIDv7 and grow with time, so `newest` breaks its ties newest first: books stamped
    /// with the same time (a clock coarser than the column) would otherwise come oldest first.
    pub fn ordered(&self) -> Select<book::Entity> {
        let select = self.filtered();
        let select = match self.sort {
            Sort::Relevance => {
                let phrase = self.words.join(" ");
                let rank = CaseStatement::new()
                    .case(Expr::col(book::Column::TitleKey).eq(phrase.as_str()), 0)
                    .case(
                        Expr::col(book::Column::TitleKey).like(starts_with(&phrase)),
                        1,
                    )
                    .case(Expr::col(book::Column::TitleKey).like(contains(&phrase)), 2)
                    .case(
                        Expr::col(book::Column::AuthorsKey).like(contains(&phrase)),
                        3,
                    )
                    .finally(4);
                select
                    .order_by(Into::<Expr>::into(rank), Order::Asc)
                    .order_by_asc(book::Column::TitleKey)
            }
            Sort::Title => select.order_by_asc(book::Column::TitleKey),
            Sort::PriceAsc => select.order_by_asc(book::Column::PriceCents),
            Sort::PriceDesc => select.order_by_desc(book::Column::PriceCents),
            Sort::Newest => select.order_by_desc(book::Column::CreatedAt),
        };
        match self.sort {
            Sort::Newest => select.order_by_desc(book::Column::Id),
            _ => select.order_by_asc(book::Column::Id),
        }
    }

    /// Books per genre under every filter except the genre itself, so a client can show how many
    /// books each genre choice would give.
    pub fn genre_facets(&self) -> sea_orm::Selector<sea_orm::SelectModel<GenreCount>> {
        book::Entity::find()
            .select_only()
            // Genres differing only in case count as one, shown with one of their spellings.
            .column_as(book::Column::Genre.min(), "genre")
            .column_as(book::Column::Id.count(), "count")
            .filter(self.condition_without_genre())
            .group_by(book::Column::GenreKey)
            .order_by_asc(book::Column::GenreKey)
            .into_model::<GenreCount>()
    }
}

/// How many books of a genre match.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, sea_orm::FromQueryResult)]
pub struct GenreCount {
    pub genre: String,
    pub count: i64,
}
