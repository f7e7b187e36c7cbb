//! Stored orders: an order row with its lines, and reading, finding and listing them.

use std::collections::HashMap;

use chrono::{DateTime, SubsecRound, Utc};
use contracts::Line;
use platform::ApiError;
use platform::db::plausible_id;
use platform::pagination::PageRequest;
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};

use super::views::{StatusView, status_view};
use crate::entity::{order, order_line};
use crate::status::OrderStatus;

/// An order row with its lines, in line order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredOrder {
    pub row: order::Model,
    pub lines: Vec<order_line::Model>,
}

impl StoredOrder {
    pub fn status(&self) -> OrderStatus {
        self.row.status
    }

    pub fn status_view(&self) -> StatusView {
        status_view(&self.row)
    }

    /// The lines as the pipeline sees them (a book and its units), in line order: what
    /// `order.placed` carries. A stored quantity is 1 to 100, so it always converts.
    pub(super) fn lines(&self) -> Vec<Line> {
        self.lines
            .iter()
            .map(|line| Line {
                book_id: line.book_id.clone().into(),
                quantity: u32::try_from(line.quantity).unwrap_or_default(),
            })
            .collect()
    }

    /// The lines sorted by book (each book appears once): what an idempotent repeat is
    /// compared on.
    pub(super) fn requested(&self) -> Vec<Line> {
        let mut lines = self.lines();
        lines.sort_by(|a, b| a.book_id.cmp(&b.book_id));
        lines
    }
}

/// Now, to the microsecond: what every backend stores (MySQL would otherwise round the
/// nanoseconds), so an order read back equals the one answered when it was placed.
pub(super) fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// The lines of `order_ids`, grouped by order, each group in line order.
async fn lines_of(
    db: &impl ConnectionTrait,
    order_ids: Vec<String>,
) -> Result<HashMap<String, Vec<order_line::Model>>, ApiError> {
    if order_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = order_line::Entity::find()
        .filter(order_line::Column::OrderId.is_in(order_ids))
        .order_by_asc(order_line::Column::OrderId)
        .order_by_asc(order_line::Column::LineNo)
        .all(db)
        .await?;
    let mut grouped: HashMap<String, Vec<order_line::Model>> = HashMap::new();
    for row in rows {
        grouped.entry(row.order_id.clone()).or_default().push(row);
    }
    Ok(grouped)
}

/// Attaches their lines to order rows, keeping the rows' order.
pub(super) async fn with_lines(
    db: &impl ConnectionTrait,
    rows: Vec<order::Model>,
) -> Result<Vec<StoredOrder>, ApiError> {
    let mut lines = lines_of(db, rows.iter().map(|row| row.id.clone()).collect()).await?;
    Ok(rows
        .into_iter()
        .map(|row| StoredOrder {
            lines: lines.remove(&row.id).unwrap_or_default(),
            row,
        })
        .collect())
}

async fn one_with_lines(
    db: &impl ConnectionTrait,
    row: Option<order::Model>,
) -> Result<Option<StoredOrder>, ApiError> {
    match row {
        Some(row) => Ok(Some(stored(db, row).await?)),
        None => Ok(None),
    }
}

/// An order row with its lines, for answering with the whole order.
pub async fn stored(db: &impl ConnectionTrait, row: order::Model) -> Result<StoredOrder, ApiError> {
    with_lines(db, vec![row])
        .await?
        .pop()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("an order row went missing")))
}

/// One order with its lines.
pub async fn find(
    db: &impl ConnectionTrait,
    order_id: &str,
) -> Result<Option<StoredOrder>, ApiError> {
    if !plausible_id(order_id) {
        return Ok(None);
    }
    let row = order::Entity::find_by_id(order_id.to_owned())
        .one(db)
        .await?;
    one_with_lines(db, row).await
}

/// The order `user_id` placed with `key`, if any.
pub async fn find_by_idempotency_key(
    db: &impl ConnectionTrait,
    user_id: &str,
    key: &str,
) -> Result<Option<StoredOrder>, ApiError> {
    let row = order::Entity::find()
        .filter(order::Column::UserId.eq(user_id))
        .filter(order::Column::IdempotencyKey.eq(key))
        .one(db)
        .await?;
    one_with_lines(db, row).await
}

/// Which orders a list shows.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub user_id: Option<String>,
    pub status: Option<OrderStatus>,
}

/// One page of orders, newest first (ties broken by id, so pages never overlap or skip), and
/// how many match in all.
pub async fn list(
    db: &impl ConnectionTrait,
    filter: &ListFilter,
    page: PageRequest,
) -> Result<(Vec<StoredOrder>, u64), ApiError> {
    let mut select = order::Entity::find();
    if let Some(user_id) = &filter.user_id {
        // A user id that can be no id owns no order.
        if !plausible_id(user_id) {
            return Ok((Vec::new(), 0));
        }
        select = select.filter(order::Column::UserId.eq(user_id.as_str()));
    }
    if let Some(status) = filter.status {
        select = select.filter(order::Column::Status.eq(status));
    }
    let total = select.clone().count(db).await?;
    let rows = select
        .order_by_desc(order::Column::CreatedAt)
        .order_by_desc(order::Column::Id)
        .offset(page.offset())
        .limit(page.limit)
        .all(db)
        .await?;
    Ok((with_lines(db, rows).await?, total))
}

/// `user_id`'s newest order in one of `statuses` with a line for `book_id`.
pub async fn newest_with_book(
    db: &impl ConnectionTrait,
    user_id: &str,
    book_id: &str,
    statuses: &[OrderStatus],
) -> Result<Option<StoredOrder>, ApiError> {
    if !plausible_id(book_id) {
        return Ok(None);
    }
    let with_book = Query::select()
        .column(order_line::Column::OrderId)
        .from(order_line::Entity)
        .and_where(Expr::col(order_line::Column::BookId).eq(book_id))
        .to_owned();
    let row = order::Entity::find()
        .filter(order::Column::UserId.eq(user_id))
        .filter(order::Column::Status.is_in(statuses.iter().copied()))
        .filter(order::Column::Id.in_subquery(with_book))
        .order_by_desc(order::Column::CreatedAt)
        .order_by_desc(order::Column::Id)
        .one(db)
        .await?;
    one_with_lines(db, row).await
}
