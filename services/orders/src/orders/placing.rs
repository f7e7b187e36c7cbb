//! Placing orders: checking them against the catalogue, idempotency keys, and the batching writer.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, OnceLock};

use contracts::events::{Event, OrderPlaced};
use contracts::{BookId, Line};
use platform::batch::{Batcher, Unanswered};
use platform::db::{ROWS_PER_INSERT, is_unique_violation, retrying_transient};
use platform::error::FieldErrors;
use platform::messaging::Envelope;
use platform::money::Money;
use platform::outbox::Outbox;
use platform::{ApiError, ErrorCode};
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, TransactionTrait};

use super::storage::{StoredOrder, find_by_idempotency_key, now, with_lines};
use super::views::PlaceOrder;
use super::{MAX_IDEMPOTENCY_KEY, MAX_LINES, MAX_QUANTITY};
use crate::catalog::{BookFacts, Catalog};
use crate::entity::{order, order_line};
use crate::limits::Limiter;
use crate::status::OrderStatus;

/// What placing answered: the order, and whether this request created it (not a repeat).
#[derive(Debug)]
pub struct Placed {
    pub order: StoredOrder,
    pub new: bool,
}

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

/// The requested lines, sorted like [`StoredOrder::requested`]. Only a request whose
/// quantities were checked (1 to 100) is compared, so each converts.
fn requested(request: &PlaceOrder) -> Vec<Line> {
    let mut lines: Vec<Line> = request
        .lines
        .iter()
        .map(|line| Line {
            book_id: line.book_id.as_str().into(),
            quantity: u32::try_from(line.quantity).unwrap_or_default(),
        })
        .collect();
    lines.sort_by(|a, b| a.book_id.cmp(&b.book_id));
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
fn check_shape(request: &PlaceOrder, errors: &mut FieldErrors) -> Vec<(usize, BookId)> {
    let mut seen = HashSet::new();
    let mut lookups = Vec::new();
    for (i, line) in request.lines.iter().enumerate() {
        if !(1..=MAX_QUANTITY).contains(&line.quantity) {
            errors.add(
                &format!("lines[{i}].quantity"),
                format!("must be a whole number from 1 to {MAX_QUANTITY}"),
            );
        }
        match BookId::parse(&line.book_id) {
            Err(_) => errors.add(&format!("lines[{i}].book_id"), "no such book"),
            Ok(book_id) if seen.contains(&book_id) => errors.add(
                &format!("lines[{i}].book_id"),
                "appears in an earlier line; order each book once with the total quantity",
            ),
            Ok(book_id) => {
                seen.insert(book_id.clone());
                lookups.push((i, book_id));
            }
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
        let ids: Vec<BookId> = lookups.iter().map(|(_, id)| id.clone()).collect();
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
        status: OrderStatus::Pending,
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
        order_id: order.row.id.clone().into(),
        user_id: order.row.user_id.clone().into(),
        lines: order.lines(),
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
        .filter(order::Column::Status.eq(OrderStatus::Pending))
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
    retrying_transient(|| add_events(db, outbox, &events)).await?;
    outbox.committed(events);
    Ok(pending.len())
}

/// Adds `events` to the outbox in one transaction of their own.
async fn add_events(
    db: &DatabaseConnection,
    outbox: &Outbox,
    events: &[Envelope],
) -> Result<(), DbErr> {
    let txn = db.begin().await?;
    for chunk in events.chunks(ROWS_PER_INSERT) {
        outbox.add_all(&txn, chunk).await?;
    }
    txn.commit().await
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

    retrying_transient(|| insert_new_orders(db, outbox, &rows, &lines, &events)).await?;
    Ok(events)
}

/// The transaction of [`write_new_orders`].
async fn insert_new_orders(
    db: &DatabaseConnection,
    outbox: &Outbox,
    rows: &[order::ActiveModel],
    lines: &[order_line::ActiveModel],
    events: &[Envelope],
) -> Result<(), DbErr> {
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
    txn.commit().await
}

fn serialisation(err: serde_json::Error) -> DbErr {
    DbErr::Custom(format!("cannot serialise an event: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::orders::LineRequest;

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
