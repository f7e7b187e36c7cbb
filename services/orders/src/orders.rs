//! Orders as the domain sees them: placing one (validation against the catalogue, the
//! idempotency key, one transaction with its outbox events), reading and listing them, and
//! moving them through the state machine with their `order.status_changed` events.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, OnceLock};

use chrono::{DateTime, SubsecRound, Utc};
use contracts::Line;
use contracts::events::{Event, OrderCancelled, OrderPlaced, OrderStatusChanged};
use platform::batch::{Batcher, Unanswered};
use platform::db::plausible_id;
use platform::db::{IDS_PER_LOOKUP, ROWS_PER_INSERT, is_unique_violation};
use platform::error::FieldErrors;
use platform::messaging::Envelope;
use platform::money::Money;
use platform::outbox::Outbox;
use platform::pagination::PageRequest;
use platform::{ApiError, ErrorCode};
use sea_orm::sea_query::{CaseStatement, Expr, ExprTrait, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::catalog::{BookFacts, Catalog};
use crate::entity::{order, order_line};
use crate::limits::Limiter;
use crate::status::{Actor, OrderStatus, Transition, check_transition};

/// Most lines in one order.
pub const MAX_LINES: usize = 50;
/// Most units of one book in one order.
pub const MAX_QUANTITY: i64 = 100;
/// Longest failure or cancellation reason (the column's size).
pub const MAX_REASON: usize = 64;
/// Longest `Idempotency-Key` (the column's size).
pub const MAX_IDEMPOTENCY_KEY: usize = 100;

// ---------------------------------------------------------------------------------------------
// What clients send and see.

/// A new order. Only books and quantities: titles and prices come from the catalogue, and a
/// body that tries to send them is refused (unknown fields).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlaceOrder {
    /// 1 to 50 lines, each book at most once.
    #[schema(min_items = 1, max_items = 50)]
    pub lines: Vec<LineRequest>,
}

/// One line of a new order.
#[derive(Debug, Clone, Deserialize, ToSchema)]
// Named apart from inventory's `LineRequest`: one component name for both hid one of them.
#[schema(as = OrderLineRequest)]
#[serde(deny_unknown_fields)]
pub struct LineRequest {
    pub book_id: String,
    /// 1 to 100 units. Read as a wide integer so that 0 or 101 get a message naming the line
    /// rather than a type error.
    #[schema(minimum = 1, maximum = 100)]
    #[serde(deserialize_with = "platform::extract::whole_number")]
    pub quantity: i64,
}

/// An order as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OrderView {
    pub id: String,
    pub user_id: String,
    pub status: OrderStatus,
    /// Why the order failed or was cancelled, when known (e.g. `out_of_stock`).
    pub reason: Option<String>,
    pub lines: Vec<OrderLineView>,
    pub total: Money,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One line of an order, with the title and unit price copied at purchase time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OrderLineView {
    pub book_id: String,
    pub title: String,
    pub unit_price: Money,
    pub quantity: u32,
    pub line_total: Money,
}

pub use contracts::orders::StatusView;

// ---------------------------------------------------------------------------------------------
// Stored orders.

/// An order row with its lines, in line order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredOrder {
    pub row: order::Model,
    pub lines: Vec<order_line::Model>,
}

impl StoredOrder {
    pub fn status(&self) -> Result<OrderStatus, ApiError> {
        parse_status(&self.row.status)
    }

    pub fn status_view(&self) -> Result<StatusView, ApiError> {
        status_view(&self.row)
    }

    /// The lines as `(book_id, quantity)`, sorted: what an idempotent repeat is compared on.
    fn requested(&self) -> Vec<(String, i64)> {
        let mut lines: Vec<_> = self
            .lines
            .iter()
            .map(|line| (line.book_id.clone(), i64::from(line.quantity)))
            .collect();
        lines.sort();
        lines
    }
}

/// An order row's status alone.
pub fn status_view(row: &order::Model) -> Result<StatusView, ApiError> {
    Ok(StatusView {
        id: row.id.clone(),
        status: parse_status(&row.status)?,
        reason: row.reason.clone(),
        updated_at: row.updated_at,
    })
}

/// A stored status the state machine does not know is corrupt data, not the client's fault.
fn parse_status(text: &str) -> Result<OrderStatus, ApiError> {
    text.parse::<OrderStatus>()
        .map_err(|err| ApiError::internal(anyhow::anyhow!("stored order status {text:?}: {err}")))
}

fn money(cents: i64) -> Result<Money, ApiError> {
    Money::from_cents(cents)
        .map_err(|err| ApiError::internal(anyhow::anyhow!("stored amount {cents}: {err}")))
}

impl TryFrom<StoredOrder> for OrderView {
    type Error = ApiError;

    fn try_from(order: StoredOrder) -> Result<Self, ApiError> {
        let status = order.status()?;
        let lines = order
            .lines
            .into_iter()
            .map(|line| {
                Ok(OrderLineView {
                    unit_price: money(line.unit_price_cents)?,
                    line_total: money(line.unit_price_cents * i64::from(line.quantity))?,
                    quantity: u32::try_from(line.quantity).map_err(ApiError::internal)?,
                    book_id: line.book_id,
                    title: line.title,
                })
            })
            .collect::<Result<_, ApiError>>()?;
        Ok(Self {
            total: money(order.row.total_cents)?,
            id: order.row.id,
            user_id: order.row.user_id,
            status,
            reason: order.row.reason,
            lines,
            created_at: order.row.created_at,
            updated_at: order.row.updated_at,
        })
    }
}

/// Now, to the microsecond: what every backend stores (MySQL would otherwise round the
/// nanoseconds), so an order read back equals the one answered when it was placed.
fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

// ---------------------------------------------------------------------------------------------
// Reading.

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
async fn with_lines(
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
        select = select.filter(order::Column::Status.eq(status.as_str()));
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
        .filter(order::Column::Status.is_in(statuses.iter().map(|status| status.as_str())))
        .filter(order::Column::Id.in_subquery(with_book))
        .order_by_desc(order::Column::CreatedAt)
        .order_by_desc(order::Column::Id)
        .one(db)
        .await?;
    one_with_lines(db, row).await
}

// ---------------------------------------------------------------------------------------------
// Placing.

/// Checks an `Idempotency-Key` header value (1 to 100 visible ASCII characters). Keys are
/// opaque and compared exactly (the column is byte-wise on every backend).
pub fn check_idempotency_key(raw: &[u8]) -> Result<String, ApiError> {
    let visible = raw.iter().all(|b| (0x21..=0x7e).contains(b));
    if raw.is_empty() || raw.len() > MAX_IDEMPOTENCY_KEY || !visible {
        return Err(ApiError::new(
            ErrorCode::BadRequest,
            format!(
                "the Idempotency-Key header must be 1 to {MAX_IDEMPOTENCY_KEY} visible ASCII characters"
            ),
        ));
    }
    Ok(String::from_utf8_lossy(raw).into_owned())
}

/// The requested lines as `(book_id, quantity)`, sorted like [`StoredOrder::requested`].
fn requested(request: &PlaceOrder) -> Vec<(String, i64)> {
    let mut lines: Vec<_> = request
        .lines
        .iter()
        .map(|line| (line.book_id.clone(), line.quantity))
        .collect();
    lines.sort();
    lines
}

/// The answer to a repeated key: the same order when the lines are the same (in any order),
/// else a conflict, since one key must never stand for two different purchases.
fn same_request_or_conflict(
    existing: StoredOrder,
    request: &PlaceOrder,
) -> Result<Placed, ApiError> {
    if existing.requested() == requested(request) {
        tracing::info!(order_id = %existing.row.id, "Idempotent repeat of an order.");
        Ok(Placed {
            order: existing,
            new: false,
        })
    } else {
        Err(ApiError::new(
            ErrorCode::Conflict,
            "this Idempotency-Key was already used for an order with different lines",
        ))
    }
}

/// Checks what can be checked without the catalogue; returns the lines worth looking up
/// (index and book id), recording every problem in `errors`.
fn check_shape(request: &PlaceOrder, errors: &mut FieldErrors) -> Vec<(usize, String)> {
    let mut seen = HashSet::new();
    let mut lookups = Vec::new();
    for (i, line) in request.lines.iter().enumerate() {
        if !(1..=MAX_QUANTITY).contains(&line.quantity) {
            errors.add(
                &format!("lines[{i}].quantity"),
                format!("must be a whole number from 1 to {MAX_QUANTITY}"),
            );
        }
        let book_id = line.book_id.as_str();
        if !plausible_id(book_id) {
            errors.add(&format!("lines[{i}].book_id"), "no such book");
        } else if !seen.insert(book_id) {
            errors.add(
                &format!("lines[{i}].book_id"),
                "appears in an earlier line; order each book once with the total quantity",
            );
        } else {
            lookups.push((i, book_id.to_owned()));
        }
    }
    lookups
}

/// Places an order for `user_id`: validates every line against the catalogue, copies titles
/// and prices from it, and writes the order (`pending`), its lines and `order.placed` in one
/// transaction. `order.placed` is also the announcement of the first status: no
/// `order.status_changed` is written for it. With an idempotency key, a repeat of the
/// same request (even a concurrent one) answers the order placed first. A new order must keep
/// the customer within their limits (`limits`).
#[tracing::instrument(skip_all, fields(user_id = %user_id))]
pub async fn place(
    db: &DatabaseConnection,
    writer: &OrderWriter,
    catalog: &dyn Catalog,
    limiter: &Limiter,
    user_id: &str,
    idempotency_key: Option<&str>,
    request: &PlaceOrder,
) -> Result<Placed, ApiError> {
    let mut errors = FieldErrors::new();
    if request.lines.is_empty() || request.lines.len() > MAX_LINES {
        errors.add("lines", format!("must have 1 to {MAX_LINES} lines"));
        return Err(ApiError::validation(errors));
    }
    let lookups = check_shape(request, &mut errors);

    // A repeat is answered before asking the catalogue: it must return the order as placed,
    // whatever the catalogue says (or whether it answers) now.
    if let Some(key) = idempotency_key
        && errors.is_empty()
        && let Some(existing) = find_by_idempotency_key(db, user_id, key).await?
    {
        return same_request_or_conflict(existing, request);
    }

    let mut facts: BTreeMap<usize, BookFacts> = BTreeMap::new();
    if !lookups.is_empty() {
        let ids: Vec<String> = lookups.iter().map(|(_, id)| id.clone()).collect();
        let mut found = match catalog.books(&ids).await {
            Ok(found) => found,
            Err(err) => {
                // When the request is refused anyway, tell the client what to fix rather than
                // that the catalogue is down.
                errors.into_validation()?;
                return Err(err);
            }
        };
        for (i, book_id) in lookups {
            match found.remove(&book_id) {
                Some(book) => {
                    facts.insert(i, book);
                }
                None => errors.add(&format!("lines[{i}].book_id"), "no such book"),
            }
        }
    }
    errors.into_validation()?;
    let wanted: Vec<(&str, i64)> = request
        .lines
        .iter()
        .map(|line| (line.book_id.as_str(), line.quantity))
        .collect();
    limiter.check(db, user_id, &wanted).await?;

    let order_id = uuid::Uuid::now_v7().to_string();
    let at = now();
    let mut lines = Vec::with_capacity(request.lines.len());
    let mut total: i64 = 0;
    for (i, line) in request.lines.iter().enumerate() {
        let book = facts
            .remove(&i)
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("line {i} was not looked up")))?;
        // At most 50 lines of 100 units at 1,000,000.00: far inside i64.
        total += book.price.cents() * line.quantity;
        lines.push(order_line::Model {
            order_id: order_id.clone(),
            line_no: i32::try_from(i).map_err(ApiError::internal)?,
            book_id: line.book_id.clone(),
            title: book.title,
            unit_price_cents: book.price.cents(),
            quantity: i32::try_from(line.quantity).map_err(ApiError::internal)?,
        });
    }
    // Amounts are capped (platform::money); an order above the cap is refused, not truncated.
    if Money::from_cents(total).is_err() {
        let mut errors = FieldErrors::new();
        errors.add(
            "lines",
            "the order's total must not exceed 1000000.00; split it into several orders",
        );
        return Err(ApiError::validation(errors));
    }
    let row = order::Model {
        id: order_id,
        user_id: user_id.to_owned(),
        status: OrderStatus::Pending.as_str().to_owned(),
        reason: None,
        total_cents: total,
        idempotency_key: idempotency_key.map(str::to_owned),
        created_at: at,
        updated_at: at,
    };
    let placed = StoredOrder { row, lines };

    match (writer.write(placed.clone()).await, idempotency_key) {
        (Ok(()), _) => {
            tracing::info!(order_id = %placed.row.id, total_cents = total, "Order placed.");
            Ok(Placed {
                order: placed,
                new: true,
            })
        }
        // A concurrent request with the same key committed first: answer its order.
        (Err(WriteError::Duplicate), Some(key)) => {
            match find_by_idempotency_key(db, user_id, key).await? {
                Some(existing) => same_request_or_conflict(existing, request),
                None => Err(ApiError::internal(anyhow::anyhow!(
                    "the order's idempotency key was taken, but by no order"
                ))),
            }
        }
        (Err(WriteError::Duplicate), None) => Err(ApiError::internal(anyhow::anyhow!(
            "a new order's id was taken"
        ))),
        (Err(WriteError::Database(err)), _) => Err(ApiError::internal(err)),
        (Err(WriteError::Unanswered(err)), _) => Err(ApiError::internal(err)),
    }
}

/// The `order.placed` event of a stored order.
fn placed_event(order: &StoredOrder) -> OrderPlaced {
    OrderPlaced {
        order_id: order.row.id.clone(),
        user_id: order.row.user_id.clone(),
        lines: order
            .lines
            .iter()
            .map(|line| Line {
                book_id: line.book_id.clone(),
                quantity: u32::try_from(line.quantity).unwrap_or_default(),
            })
            .collect(),
        placed_at: order.row.created_at,
    }
}

/// Announces every pending order again. `bookstore all` calls it at start: its in-process bus
/// loses what it held when the process stopped, and the worker's handling is idempotent, so a
/// second `order.placed` for an order already handled changes nothing.
pub async fn republish_pending(
    db: &DatabaseConnection,
    outbox: &Outbox,
) -> Result<usize, ApiError> {
    let rows = order::Entity::find()
        .filter(order::Column::Status.eq(OrderStatus::Pending.as_str()))
        .all(db)
        .await?;
    let pending = with_lines(db, rows).await?;
    if pending.is_empty() {
        return Ok(0);
    }
    let events = pending
        .iter()
        .map(|order| placed_event(order).envelope().map_err(serialisation))
        .collect::<Result<Vec<_>, _>>()?;
    let txn = db.begin().await?;
    for chunk in events.chunks(ROWS_PER_INSERT) {
        outbox.add_all(&txn, chunk).await?;
    }
    txn.commit().await?;
    outbox.committed(events);
    Ok(pending.len())
}

/// The most orders one transaction writes.
const ORDERS_PER_WRITE: usize = 100;

/// Why a new order was not written.
#[derive(Debug, Clone)]
enum WriteError {
    /// Its id or its idempotency key was taken (by a concurrent request with the same key).
    Duplicate,
    /// The database failed; kept whole, so that an outage is told from a fault.
    Database(DbErr),
    /// The writer gave no answer.
    Unanswered(Unanswered),
}

impl From<Unanswered> for WriteError {
    fn from(err: Unanswered) -> Self {
        Self::Unanswered(err)
    }
}

/// Writes new orders with their events, gathering the orders placed at the same time into one
/// transaction: one write is in flight at a time, and the next carries every order that waited
/// meanwhile. Each order is still all stored or not at all.
#[derive(Clone)]
pub struct OrderWriter {
    db: DatabaseConnection,
    outbox: Outbox,
    /// Started on first use, inside the runtime.
    rounds: Arc<OnceLock<Batcher<StoredOrder, (), WriteError>>>,
}

impl OrderWriter {
    pub fn new(db: DatabaseConnection, outbox: Outbox) -> Self {
        Self {
            db,
            outbox,
            rounds: Arc::new(OnceLock::new()),
        }
    }

    async fn write(&self, order: StoredOrder) -> Result<(), WriteError> {
        let rounds = self.rounds.get_or_init(|| {
            let (db, outbox) = (self.db.clone(), self.outbox.clone());
            Batcher::start("new orders", ORDERS_PER_WRITE, move |orders| {
                let (db, outbox) = (db.clone(), outbox.clone());
                async move { Ok(write_round(&db, &outbox, orders).await) }
            })
        });
        rounds.call(order).await
    }
}

/// Writes one round of new orders in one transaction and hands their events to the relay. When
/// that fails and the round has several orders (a concurrent repeat of an idempotency key, say),
/// each is written alone, so only the one at fault fails.
async fn write_round(
    db: &DatabaseConnection,
    outbox: &Outbox,
    orders: Vec<StoredOrder>,
) -> Vec<Result<(), WriteError>> {
    let written = |result: Result<Vec<Envelope>, DbErr>| match result {
        Ok(events) => {
            outbox.committed(events);
            Ok(())
        }
        Err(err) if is_unique_violation(&err) => Err(WriteError::Duplicate),
        Err(err) => Err(WriteError::Database(err)),
    };
    let err = match write_new_orders(db, outbox, &orders).await {
        Err(err) if orders.len() > 1 => err,
        round => {
            let result = written(round);
            return orders.iter().map(|_| result.clone()).collect();
        }
    };
    tracing::debug!(error = %err, orders = orders.len(), "A round of new orders failed; writing each alone.");
    let mut results = Vec::with_capacity(orders.len());
    for order in &orders {
        results.push(written(
            write_new_orders(db, outbox, std::slice::from_ref(order)).await,
        ));
    }
    results
}

/// Orders, their lines and the `order.placed` of each, in one transaction: either all are
/// stored or none. Returns the events, for the relay once committed.
async fn write_new_orders(
    db: &DatabaseConnection,
    outbox: &Outbox,
    orders: &[StoredOrder],
) -> Result<Vec<Envelope>, DbErr> {
    let events = orders
        .iter()
        .map(|order| placed_event(order).envelope().map_err(serialisation))
        .collect::<Result<Vec<_>, _>>()?;
    let rows: Vec<order::ActiveModel> = orders
        .iter()
        .map(|order| order::ActiveModel::from(order.row.clone()))
        .collect();
    let lines: Vec<order_line::ActiveModel> = orders
        .iter()
        .flat_map(|order| {
            order
                .lines
                .iter()
                .cloned()
                .map(order_line::ActiveModel::from)
        })
        .collect();

    // The first statement of the transaction writes, so SQLite takes its write lock at once
    // (waiting for it) instead of failing to upgrade a read lock under contention.
    let txn = db.begin().await?;
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        order::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(&txn)
            .await?;
    }
    for chunk in lines.chunks(ROWS_PER_INSERT) {
        order_line::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(&txn)
            .await?;
    }
    for chunk in events.chunks(ROWS_PER_INSERT) {
        outbox.add_all(&txn, chunk).await?;
    }
    txn.commit().await?;
    Ok(events)
}

fn serialisation(err: serde_json::Error) -> DbErr {
    DbErr::Custom(format!("cannot serialise an event: {err}"))
}

// ---------------------------------------------------------------------------------------------
// Transitions.

/// The outcome of a transition: the order's row as it is now, and whether this call changed it.
#[derive(Debug, Clone)]
pub struct Transitioned {
    pub row: order::Model,
    /// The status before: the same as the order's when nothing changed.
    pub from: OrderStatus,
    pub changed: bool,
}

/// A status asked for one order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusChange {
    pub order_id: String,
    pub to: OrderStatus,
    pub reason: Option<String>,
}

/// What placing answered: the order, and whether this request created it (not a repeat).
#[derive(Debug)]
pub struct Placed {
    pub order: StoredOrder,
    pub new: bool,
}

/// Checks a reason against the status it comes with: `failed` needs one, `cancelled` may have
/// one, no other status has one. 1 to 64 characters without control characters.
pub fn check_reason(to: OrderStatus, reason: Option<&str>) -> Result<Option<String>, ApiError> {
    let mut errors = FieldErrors::new();
    let reason = reason.map(str::trim);
    let checked = match (to, reason) {
        (OrderStatus::Failed, None) => {
            errors.add("reason", "is required when the status is failed");
            None
        }
        (OrderStatus::Failed | OrderStatus::Cancelled, Some(text)) => {
            if text.is_empty() || text.chars().count() > MAX_REASON {
                errors.add("reason", format!("must be 1 to {MAX_REASON} characters"));
            } else if text.chars().any(char::is_control) {
                errors.add("reason", "must not contain control characters");
            }
            Some(text.to_owned())
        }
        (_, Some(_)) => {
            errors.add("reason", "only a failed or cancelled order has a reason");
            None
        }
        (_, None) => None,
    };
    errors.into_validation()?;
    Ok(checked)
}

/// How often a change of one order may lose to other changes of that order before it is given
/// up as contended (503, try again). Each loss follows a real change, and the state machine has
/// no cycles, so a few suffice.
const TRANSITION_ATTEMPTS: usize = 6;

/// Moves one order to `to` on behalf of `actor` (the caller has already established that the
/// actor may see the order): [`transition_all`] for one order.
#[tracing::instrument(skip(db, outbox, reason))]
pub async fn transition(
    db: &DatabaseConnection,
    outbox: &Outbox,
    order_id: &str,
    to: OrderStatus,
    reason: Option<String>,
    actor: Actor,
) -> Result<Transitioned, ApiError> {
    let change = StatusChange {
        order_id: order_id.to_owned(),
        to,
        reason,
    };
    transition_all(db, outbox, std::slice::from_ref(&change), actor)
        .await?
        .pop()
        .unwrap_or_else(|| {
            Err(ApiError::internal(anyhow::anyhow!(
                "a transition went unanswered"
            )))
        })
}

/// A change of [`transition_all`] not decided yet.
struct OpenChange {
    /// Its index in the changes asked for.
    index: usize,
    /// Its checked reason.
    reason: Option<String>,
    /// The status it was last written against, when that write did not apply.
    lost_against: Option<OrderStatus>,
    /// How often another change of the order came first: its own attempt budget.
    beaten: usize,
}

/// Writes the checked changes `writes` (each with the status it was checked against) in one
/// statement, each conditional on its order still having the status it was checked against;
/// whether every one of them applied. One statement locks its rows in the index's order, so two
/// calls changing the same orders cannot deadlock.
async fn update_statuses(
    txn: &impl ConnectionTrait,
    changes: &[StatusChange],
    writes: &[(OpenChange, OrderStatus)],
    at: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let (mut to, mut reason, mut from) = (
        CaseStatement::new(),
        CaseStatement::new(),
        CaseStatement::new(),
    );
    for (open, checked) in writes {
        let change = &changes[open.index];
        let this_order = || Expr::col(order::Column::Id).eq(change.order_id.as_str());
        to = to.case(this_order(), change.to.as_str());
        reason = reason.case(this_order(), open.reason.clone());
        from = from.case(this_order(), checked.as_str());
    }
    let updated = order::Entity::update_many()
        .col_expr(order::Column::Status, to.into())
        .col_expr(order::Column::Reason, reason.into())
        .col_expr(order::Column::UpdatedAt, Expr::value(at))
        .filter(
            order::Column::Id.is_in(
                writes
                    .iter()
                    .map(|(open, _)| changes[open.index].order_id.as_str()),
            ),
        )
        .filter(Expr::col(order::Column::Status).eq(from))
        .exec(txn)
        .await?;
    Ok(updated.rows_affected == writes.len() as u64)
}

/// Charges the changes whose last write did not apply: those whose order has another status
/// now lost to another change. If none can be seen to have changed (which a conditional update
/// that did not apply should rule out), all of them are charged, so that the loop always ends.
fn charge_lost_writes(
    open: &mut [OpenChange],
    changes: &[StatusChange],
    rows: &HashMap<String, order::Model>,
) {
    let changed_meanwhile = |change: &OpenChange| {
        change.lost_against.is_some_and(|from| {
            rows.get(&changes[change.index].order_id)
                .is_none_or(|row| row.status != from.as_str())
        })
    };
    let blame_all = !open.iter().any(changed_meanwhile);
    for change in open.iter_mut() {
        if change.lost_against.is_some() && (blame_all || changed_meanwhile(change)) {
            change.beaten += 1;
        }
        change.lost_against = None;
    }
}

/// Moves several orders, each to its own status, on behalf of `actor`; one answer per change,
/// in order. The state machine decides each; every update is conditional on the status it was
/// checked against, so of two concurrent transitions of an order only one can win and the
/// other is re-checked against the winner's status. The changes that pass are written, with
/// their `order.status_changed` (and `order.cancelled`) events, in one transaction. Each change
/// has its own budget of [`TRANSITION_ATTEMPTS`] losses: an order that keeps changing is
/// answered 503 `unavailable` (transient, try again), never a conflict, and never because of
/// other orders of the batch.
pub async fn transition_all(
    db: &DatabaseConnection,
    outbox: &Outbox,
    changes: &[StatusChange],
    actor: Actor,
) -> Result<Vec<Result<Transitioned, ApiError>>, ApiError> {
    let mut answers: Vec<Option<Result<Transitioned, ApiError>>> =
        changes.iter().map(|_| None).collect();
    let mut open = Vec::with_capacity(changes.len());
    for (index, change) in changes.iter().enumerate() {
        match check_reason(change.to, change.reason.as_deref()) {
            Ok(reason) => open.push(OpenChange {
                index,
                reason,
                lost_against: None,
                beaten: 0,
            }),
            Err(err) => answers[index] = Some(Err(err)),
        }
    }
    while !open.is_empty() {
        // Read outside the transaction on purpose: the conditional updates are what guard the
        // changes, and starting with a write lets SQLite take its write lock directly.
        let rows = current_rows(
            db,
            open.iter()
                .map(|change| changes[change.index].order_id.as_str()),
        )
        .await?;
        charge_lost_writes(&mut open, changes, &rows);
        let mut writes = Vec::new();
        // A second change of an order in the same call waits for the next round, to be checked
        // against the first one's outcome.
        let mut planned = HashSet::new();
        let mut next_round = Vec::new();
        for open_change in open.drain(..) {
            let i = open_change.index;
            let change = &changes[i];
            let Some(row) = rows.get(&change.order_id) else {
                answers[i] = Some(Err(ApiError::not_found("order")));
                continue;
            };
            let from = parse_status(&row.status)?;
            match check_transition(from, change.to, actor) {
                Ok(Transition::NoOp) => {
                    answers[i] = Some(Ok(Transitioned {
                        row: row.clone(),
                        from,
                        changed: false,
                    }));
                }
                Ok(Transition::Change) if open_change.beaten >= TRANSITION_ATTEMPTS => {
                    answers[i] = Some(Err(ApiError::unavailable(
                        "the order kept changing while its status was being set; try again",
                        1,
                    )));
                }
                Ok(Transition::Change) if !planned.insert(change.order_id.as_str()) => {
                    next_round.push(open_change);
                }
                Ok(Transition::Change) => writes.push((open_change, from)),
                Err(err) => answers[i] = Some(Err(err)),
            }
        }
        open = next_round;
        if writes.is_empty() {
            continue;
        }
        let at = now();
        let txn = db.begin().await?;
        if !update_statuses(&txn, changes, &writes, at).await? {
            // Some order's status changed since it was read: nothing is written, and every
            // change is checked again against the statuses as they are now.
            txn.rollback().await?;
            open.extend(writes.into_iter().map(|(mut change, from)| {
                change.lost_against = Some(from);
                change
            }));
            continue;
        }
        let mut events = Vec::with_capacity(writes.len());
        for (open_change, from) in writes {
            let i = open_change.index;
            let change = &changes[i];
            let reason = open_change.reason;
            let mut row = rows.get(&change.order_id).cloned().ok_or_else(|| {
                ApiError::internal(anyhow::anyhow!("order {} was not read", change.order_id))
            })?;
            events.extend(status_events(&row, change.to, reason.as_deref(), at)?);
            tracing::info!(order_id = %row.id, %from, to = %change.to, ?actor, "Order status changed.");
            row.status = change.to.as_str().to_owned();
            row.reason = reason;
            row.updated_at = at;
            answers[i] = Some(Ok(Transitioned {
                row,
                from,
                changed: true,
            }));
        }
        outbox.add_all(&txn, &events).await?;
        txn.commit().await?;
        outbox.committed(events);
    }
    Ok(answers
        .into_iter()
        .map(|answer| {
            answer.unwrap_or_else(|| {
                Err(ApiError::internal(anyhow::anyhow!(
                    "a transition went unanswered"
                )))
            })
        })
        .collect())
}

/// The rows of the orders named, by id; ids that cannot exist are not looked up.
async fn current_rows<'a>(
    db: &impl ConnectionTrait,
    order_ids: impl Iterator<Item = &'a str>,
) -> Result<HashMap<String, order::Model>, ApiError> {
    let ids: Vec<&str> = order_ids
        .filter(|id| plausible_id(id))
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let mut rows = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(IDS_PER_LOOKUP) {
        for row in order::Entity::find()
            .filter(order::Column::Id.is_in(chunk.iter().copied()))
            .all(db)
            .await?
        {
            rows.insert(row.id.clone(), row);
        }
    }
    Ok(rows)
}

/// The events of moving `order` to `to` at `at`: `order.status_changed`, and `order.cancelled`
/// for a cancellation (for the consumer that returns its stock).
fn status_events(
    order: &order::Model,
    to: OrderStatus,
    reason: Option<&str>,
    at: DateTime<Utc>,
) -> Result<Vec<Envelope>, ApiError> {
    let mut events = vec![
        OrderStatusChanged {
            order_id: order.id.clone(),
            user_id: order.user_id.clone(),
            status: to,
            reason: reason.map(str::to_owned),
            at,
        }
        .envelope()
        .map_err(ApiError::internal)?,
    ];
    if to == OrderStatus::Cancelled {
        events.push(
            OrderCancelled {
                order_id: order.id.clone(),
                user_id: order.user_id.clone(),
                reason: reason.map(str::to_owned),
                at,
            }
            .envelope()
            .map_err(ApiError::internal)?,
        );
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, status: OrderStatus) -> (String, order::Model) {
        let at = Utc::now();
        let model = order::Model {
            id: id.to_owned(),
            user_id: "u".to_owned(),
            status: status.as_str().to_owned(),
            reason: None,
            total_cents: 100,
            idempotency_key: None,
            created_at: at,
            updated_at: at,
        };
        (id.to_owned(), model)
    }

    fn open(index: usize, lost_against: Option<OrderStatus>) -> OpenChange {
        OpenChange {
            index,
            reason: None,
            lost_against,
            beaten: 0,
        }
    }

    #[test]
    fn a_lost_write_is_charged_to_the_orders_that_changed_only() {
        // A batch of three whose write did not apply because order b was cancelled meanwhile:
        // b's change is charged, a's and c's keep their whole budget (once one shared budget
        // ran out for the whole batch, and orders nobody touched were refused).
        let changes: Vec<StatusChange> = ["a", "b", "c"]
            .into_iter()
            .map(|id| StatusChange {
                order_id: id.to_owned(),
                to: OrderStatus::Completed,
                reason: None,
            })
            .collect();
        let rows: HashMap<_, _> = [
            row("a", OrderStatus::Pending),
            row("b", OrderStatus::Cancelled),
            row("c", OrderStatus::Pending),
        ]
        .into_iter()
        .collect();
        let mut open_changes: Vec<OpenChange> = (0..3).map(|i| open(i, None)).collect();
        for _ in 0..TRANSITION_ATTEMPTS {
            // Each round, the batch's write was checked against `pending` and did not apply.
            for change in &mut open_changes {
                change.lost_against = Some(OrderStatus::Pending);
            }
            charge_lost_writes(&mut open_changes, &changes, &rows);
        }
        let beaten: Vec<usize> = open_changes.iter().map(|c| c.beaten).collect();
        assert_eq!(beaten, [0, TRANSITION_ATTEMPTS, 0]);
        assert!(open_changes.iter().all(|c| c.lost_against.is_none()));
    }

    #[test]
    fn a_lost_write_with_no_visible_change_charges_every_change_so_the_loop_ends() {
        let changes = vec![StatusChange {
            order_id: "a".to_owned(),
            to: OrderStatus::Completed,
            reason: None,
        }];
        let rows: HashMap<_, _> = [row("a", OrderStatus::Pending)].into_iter().collect();
        let mut open_changes = vec![open(0, Some(OrderStatus::Pending))];
        charge_lost_writes(&mut open_changes, &changes, &rows);
        assert_eq!(open_changes[0].beaten, 1);
        // A change that did not lose is never charged.
        let mut fresh = vec![open(0, None)];
        charge_lost_writes(&mut fresh, &changes, &rows);
        assert_eq!(fresh[0].beaten, 0);
    }

    #[test]
    fn idempotency_keys_are_visible_ascii_up_to_100() {
        assert_eq!(check_idempotency_key(b"Abc-123").unwrap(), "Abc-123");
        assert!(check_idempotency_key(&[b'k'; 100]).is_ok());
        for bad in [
            &b""[..],
            &[b'k'; 101],
            b"has space",
            b"tab\t",
            "é".as_bytes(),
            b"\x7f",
        ] {
            assert_eq!(
                check_idempotency_key(bad).unwrap_err().code,
                ErrorCode::BadRequest,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn reasons_follow_their_status() {
        assert!(check_reason(OrderStatus::Failed, None).is_err());
        assert_eq!(
            check_reason(OrderStatus::Failed, Some(" out_of_stock ")).unwrap(),
            Some("out_of_stock".into())
        );
        assert_eq!(check_reason(OrderStatus::Cancelled, None).unwrap(), None);
        assert!(check_reason(OrderStatus::Cancelled, Some("changed my mind")).is_ok());
        assert!(check_reason(OrderStatus::Completed, Some("x")).is_err());
        assert!(check_reason(OrderStatus::Failed, Some(&"x".repeat(65))).is_err());
        assert!(check_reason(OrderStatus::Failed, Some(&"é".repeat(64))).is_ok());
        assert!(check_reason(OrderStatus::Failed, Some("  ")).is_err());
        assert!(check_reason(OrderStatus::Failed, Some("a\nb")).is_err());
        assert_eq!(check_reason(OrderStatus::Shipped, None).unwrap(), None);
    }

    #[test]
    fn shape_errors_name_each_line() {
        let line = |book_id: &str, quantity| LineRequest {
            book_id: book_id.into(),
            quantity,
        };
        let request = PlaceOrder {
            lines: vec![
                line("a", 1),
                line("b", 0),
                line("a", 2),
                line("c", 101),
                line("", 1),
                line(&"x".repeat(37), 1),
            ],
        };
        let mut errors = FieldErrors::new();
        let lookups = check_shape(&request, &mut errors);
        assert_eq!(
            lookups,
            vec![(0, "a".into()), (1, "b".into()), (3, "c".into())]
        );
        let problem = ApiError::validation(errors).to_problem(None);
        let fields: Vec<_> = problem.errors.keys().cloned().collect();
        assert_eq!(
            fields,
            [
                "lines[1].quantity",
                "lines[2].book_id",
                "lines[3].quantity",
                "lines[4].book_id",
                "lines[5].book_id"
            ]
        );
    }
}
