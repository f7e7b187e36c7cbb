//! Stock and reservations: the rules of inventory and their storage. Every change of a book's
//! `available` count writes `stock.changed` to `inventory_outbox` in the same transaction, and
//! stock only ever goes down through a conditional update (`available = available - q WHERE
//! available >= q`), so concurrent orders can never oversell it or drive it negative.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::Utc;
use platform::db::{Failure, IDS_PER_LOOKUP, ROWS_PER_INSERT, retrying};
use platform::error::FieldErrors;
use platform::events::{Event, StockChanged, StockLevel};
use platform::messaging::Envelope;
use platform::outbox::Outbox;
use platform::{ApiError, ErrorCode};
use sea_orm::sea_query::{CaseStatement, Expr, ExprTrait, OnConflict};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, SqliteTransactionMode, TransactionOptions, TransactionTrait,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::entity::{reservation, stock};

/// The most units a book may have (and the largest single adjustment).
pub const MAX_AVAILABLE: i64 = 1_000_000_000;
/// The most units of a book one order line may ask for.
pub const MAX_QUANTITY: i64 = 1000;
/// The most lines one reservation may have.
pub const MAX_LINES: usize = 50;
/// Ids are opaque, but they are stored in 36-character columns (a UUID in text form).
pub const MAX_ID_LENGTH: usize = 36;

/// Why a reservation was rejected.
pub const OUT_OF_STOCK: &str = "out_of_stock";

/// A book's stock as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StockView {
    pub book_id: String,
    /// Units available to order; 0 for a book inventory has never heard of.
    pub available: i64,
}

/// Where a reservation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReservationStatus {
    /// Every line's units were taken.
    Reserved,
    /// Nothing was taken (see `reason`).
    Rejected,
    /// The units were given back, or the order was released before inventory saw it.
    Released,
}

impl ReservationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reserved => "reserved",
            Self::Rejected => "rejected",
            Self::Released => "released",
        }
    }
}

impl std::str::FromStr for ReservationStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "reserved" => Ok(Self::Reserved),
            "rejected" => Ok(Self::Rejected),
            "released" => Ok(Self::Released),
            other => Err(format!("unknown reservation status {other:?}")),
        }
    }
}

/// Units of one book in a reservation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Line {
    pub book_id: String,
    pub quantity: i64,
}

/// Inventory's answer for an order. The first answer is the answer: a repeat returns it again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReservationView {
    pub order_id: String,
    pub status: ReservationStatus,
    /// `out_of_stock` when rejected, otherwise null.
    pub reason: Option<String>,
    /// What was asked for, one line per book (repeated books merged), sorted by book id; empty
    /// for an order released before it was ever reserved.
    pub lines: Vec<Line>,
}

impl TryFrom<reservation::Model> for ReservationView {
    type Error = ApiError;

    fn try_from(model: reservation::Model) -> Result<Self, ApiError> {
        Ok(Self {
            status: model
                .status
                .parse()
                .map_err(|err: String| ApiError::internal(anyhow::anyhow!(err)))?,
            lines: serde_json::from_str(&model.lines).map_err(ApiError::internal)?,
            order_id: model.order_id,
            reason: model.reason,
        })
    }
}

/// One line of a reservation request as a client sends it; checked by
/// [`ReservationRequest::validate`].
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
// Named apart from the orders service's `LineRequest`: one component name for both hid one.
#[schema(as = ReservationLineRequest)]
#[serde(deny_unknown_fields)]
pub struct LineRequest {
    /// The book, 1 to 36 characters, no spaces or control characters.
    #[schema(
        required = true,
        nullable = false,
        min_length = 1,
        max_length = 36,
        pattern = r"^[^\s\u0000-\u001F\u007F-\u009F]{1,36}$"
    )]
    pub book_id: Option<String>,
    /// Units, 1 to 1000.
    #[schema(required = true, nullable = false, minimum = 1, maximum = 1000)]
    #[serde(default, deserialize_with = "platform::extract::optional_whole_number")]
    pub quantity: Option<i64>,
}

/// The body of `POST /api/v1/inventory/reservations`. Fields are optional here only so that a
/// missing one is reported by name with the others, instead of as a bare parse error.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReservationRequest {
    /// The order, 1 to 36 characters, no spaces or control characters: the idempotency key of
    /// the reservation.
    #[schema(
        required = true,
        nullable = false,
        min_length = 1,
        max_length = 36,
        pattern = r"^[^\s\u0000-\u001F\u007F-\u009F]{1,36}$"
    )]
    pub order_id: Option<String>,
    /// 1 to 50 lines; a book listed twice counts once with the quantities added.
    #[schema(required = true, nullable = false, min_items = 1, max_items = 50)]
    pub lines: Option<Vec<LineRequest>>,
}

/// The most reservations one batch may carry.
pub const MAX_BATCH: usize = 100;

/// The body of `POST /api/v1/inventory/reservations/batch`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReservationBatch {
    /// 1 to 100 reservations, decided in this order, each checked on its own.
    #[schema(required = true, nullable = false, min_items = 1, max_items = 100)]
    pub reservations: Option<Vec<ReservationRequest>>,
}

/// One reservation's outcome in a batch: inventory's answer, or the problem with its request
/// (which changed nothing).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BatchOutcome {
    pub reservation: Option<ReservationView>,
    pub problem: Option<platform::error::Problem>,
}

/// The answer to a batch: one outcome per reservation, in the order they were sent.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BatchAnswer {
    pub results: Vec<BatchOutcome>,
}

/// A validated reservation: lines merged per book and sorted by book id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidReservation {
    order_id: String,
    lines: Vec<Line>,
}

impl ValidReservation {
    pub fn order_id(&self) -> &str {
        &self.order_id
    }

    pub fn lines(&self) -> &[Line] {
        &self.lines
    }
}

impl ReservationRequest {
    /// Checks every field, reporting each problem under its name (`lines[0].quantity`).
    pub fn validate(&self) -> Result<ValidReservation, ApiError> {
        let mut errors = FieldErrors::new();
        let order_id = match self.order_id.as_deref() {
            Some(id) => errors.check("order_id", check_id(id)),
            None => {
                errors.add("order_id", "is required");
                None
            }
        };
        let mut merged: BTreeMap<String, i64> = BTreeMap::new();
        match self.lines.as_deref() {
            None => errors.add("lines", "is required"),
            Some(lines) if lines.is_empty() || lines.len() > MAX_LINES => {
                errors.add("lines", format!("must have 1 to {MAX_LINES} lines"));
            }
            Some(lines) => {
                for (i, line) in lines.iter().enumerate() {
                    let book_id = match line.book_id.as_deref() {
                        Some(id) => errors.check(&format!("lines[{i}].book_id"), check_id(id)),
                        None => {
                            errors.add(&format!("lines[{i}].book_id"), "is required");
                            None
                        }
                    };
                    let quantity = match line.quantity {
                        Some(q) if (1..=MAX_QUANTITY).contains(&q) => Some(q),
                        Some(_) => {
                            errors.add(
                                &format!("lines[{i}].quantity"),
                                format!("must be a whole number from 1 to {MAX_QUANTITY}"),
                            );
                            None
                        }
                        None => {
                            errors.add(&format!("lines[{i}].quantity"), "is required");
                            None
                        }
                    };
                    if let (Some(book_id), Some(quantity)) = (book_id, quantity) {
                        // At most 50 lines of at most 1000: the sum cannot overflow.
                        *merged.entry(book_id).or_default() += quantity;
                    }
                }
            }
        }
        errors.into_validation()?;
        Ok(ValidReservation {
            order_id: order_id.unwrap_or_default(),
            lines: merged
                .into_iter()
                .map(|(book_id, quantity)| Line { book_id, quantity })
                .collect(),
        })
    }
}

/// The rule for order and book ids: opaque, but short and printable. Whitespace is refused
/// because MariaDB ignores trailing spaces when comparing keys, so `"a "` would be `"a"` there.
pub fn check_id(id: &str) -> Result<String, String> {
    if id.is_empty() || id.chars().count() > MAX_ID_LENGTH {
        Err(format!("must be 1 to {MAX_ID_LENGTH} characters"))
    } else if id.chars().any(|c| c.is_control() || c.is_whitespace()) {
        Err("must not contain spaces or control characters".into())
    } else {
        Ok(id.to_owned())
    }
}

fn check_book_id(book_id: &str) -> Result<(), ApiError> {
    let mut errors = FieldErrors::new();
    errors.check("book_id", check_id(book_id));
    errors.into_validation()
}

fn check_available(field: &str, available: i64, errors: &mut FieldErrors) {
    if !(0..=MAX_AVAILABLE).contains(&available) {
        errors.add(
            field,
            format!("must be a whole number from 0 to {MAX_AVAILABLE}"),
        );
    }
}

/// The units available of a book; 0 for a book inventory has never heard of.
pub async fn get(db: &impl ConnectionTrait, book_id: &str) -> Result<StockView, ApiError> {
    check_book_id(book_id)?;
    let available = stock::Entity::find_by_id(book_id.to_owned())
        .one(db)
        .await?
        .map_or(0, |row| row.available);
    Ok(StockView {
        book_id: book_id.to_owned(),
        available,
    })
}

/// Sets the units available of a book (0 to 1,000,000,000).
pub async fn set<C>(
    db: &C,
    outbox: &Outbox,
    book_id: &str,
    available: i64,
) -> Result<StockView, ApiError>
where
    C: ConnectionTrait + TransactionTrait<Transaction = DatabaseTransaction>,
{
    let mut errors = FieldErrors::new();
    errors.check("book_id", check_id(book_id));
    check_available("available", available, &mut errors);
    errors.into_validation()?;
    let (view, events) = retrying(|| set_once(db, outbox, book_id, available)).await?;
    outbox.committed(events);
    Ok(view)
}

async fn set_once<C>(
    db: &C,
    outbox: &Outbox,
    book_id: &str,
    available: i64,
) -> Result<(StockView, Vec<Envelope>), Failure>
where
    C: ConnectionTrait + TransactionTrait<Transaction = DatabaseTransaction>,
{
    let txn = begin_write(db).await?;
    let now = Utc::now();
    stock::Entity::insert(stock::ActiveModel {
        book_id: Set(book_id.to_owned()),
        available: Set(available),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(stock::Column::BookId)
            .update_columns([stock::Column::Available, stock::Column::UpdatedAt])
            .to_owned(),
    )
    .exec_without_returning(&txn)
    .await?;
    let events = record(&txn, outbox, vec![StockLevel::new(book_id, available)]).await?;
    txn.commit().await?;
    let view = StockView {
        book_id: book_id.to_owned(),
        available,
    };
    Ok((view, events))
}

/// Adds `delta` units to a book (removes them when negative). A result below zero, or above
/// the maximum, is a 409 and changes nothing.
pub async fn adjust<C>(
    db: &C,
    outbox: &Outbox,
    book_id: &str,
    delta: i64,
) -> Result<StockView, ApiError>
where
    C: ConnectionTrait + TransactionTrait<Transaction = DatabaseTransaction>,
{
    let mut errors = FieldErrors::new();
    errors.check("book_id", check_id(book_id));
    // Bounding the delta first keeps every sum below in range: no i64 overflow is possible.
    if delta == 0 || !(-MAX_AVAILABLE..=MAX_AVAILABLE).contains(&delta) {
        errors.add(
            "delta",
            format!(
                "must be a whole number from -{MAX_AVAILABLE} to {MAX_AVAILABLE}, other than 0"
            ),
        );
    }
    errors.into_validation()?;
    let (view, events) = retrying(|| adjust_once(db, outbox, book_id, delta)).await?;
    outbox.committed(events);
    Ok(view)
}

async fn adjust_once<C>(
    db: &C,
    outbox: &Outbox,
    book_id: &str,
    delta: i64,
) -> Result<(StockView, Vec<Envelope>), Failure>
where
    C: ConnectionTrait + TransactionTrait<Transaction = DatabaseTransaction>,
{
    let txn = begin_write(db).await?;
    let now = Utc::now();
    if delta > 0 {
        // A book never heard of has 0 units: give it its row so the update below applies.
        stock::Entity::insert(stock::ActiveModel {
            book_id: Set(book_id.to_owned()),
            available: Set(0),
            updated_at: Set(now),
        })
        .on_conflict(
            OnConflict::column(stock::Column::BookId)
                .do_nothing_on([stock::Column::BookId])
                .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
    }
    // The bound is checked by the same statement that changes the row, so a concurrent
    // change cannot slip in between a check and the write.
    let mut update = stock::Entity::update_many()
        .col_expr(
            stock::Column::Available,
            Expr::col(stock::Column::Available).add(delta),
        )
        .col_expr(stock::Column::UpdatedAt, Expr::value(now))
        .filter(stock::Column::BookId.eq(book_id));
    update = if delta > 0 {
        update.filter(stock::Column::Available.lte(MAX_AVAILABLE - delta))
    } else {
        update.filter(stock::Column::Available.gte(-delta))
    };
    if update.exec(&txn).await?.rows_affected != 1 {
        let detail = if delta > 0 {
            format!("the book would have more than {MAX_AVAILABLE} units")
        } else {
            "the book has fewer units than that: stock cannot go below zero".to_owned()
        };
        return Err(Failure::Api(ApiError::conflict(
            ErrorCode::Conflict,
            detail,
        )));
    }
    let available = current(&txn, book_id).await?;
    let events = record(&txn, outbox, vec![StockLevel::new(book_id, available)]).await?;
    txn.commit().await?;
    let view = StockView {
        book_id: book_id.to_owned(),
        available,
    };
    Ok((view, events))
}

/// Inventory's answer to a reservation request, and whether this request gave it (rather than
/// repeating the first answer).
#[derive(Debug)]
pub struct Answer {
    pub view: ReservationView,
    pub first: bool,
}

/// Reserves every line of an order or none. Keyed by order id: a repeat (even with other lines)
/// returns the first answer and changes nothing.
pub async fn reserve<C>(
    db: &C,
    outbox: &Outbox,
    request: &ValidReservation,
) -> Result<Answer, ApiError>
where
    C: ConnectionTrait + TransactionTrait<Transaction = DatabaseTransaction>,
{
    let mut answers = reserve_all(db, outbox, std::slice::from_ref(request)).await?;
    answers
        .pop()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("a reservation went unanswered")))
}

/// Reserves several orders in one transaction, deciding them in the order given: each takes
/// every line or nothing, exactly as [`reserve`] would one after the other. Answers come in the
/// same order; an order listed twice gets the first answer twice.
pub async fn reserve_all<C>(
    db: &C,
    outbox: &Outbox,
    requests: &[ValidReservation],
) -> Result<Vec<Answer>, ApiError>
where
    C: ConnectionTrait + TransactionTrait<Transaction = DatabaseTransaction>,
{
    let (answers, events) = retrying(|| reserve_all_once(db, outbox, requests)).await?;
    outbox.committed(events);
    Ok(answers)
}

/// One attempt of [`reserve_all`]: the answers and the events it committed.
///
/// Every stock row the orders name is locked first, in book id order, so concurrent calls
/// (which lock in the same order) cannot deadlock, and the counts read stay true until the
/// commit: the decisions are then made in memory, and each book's row is written once with
/// what the whole call took from it, guarded again by `available >= taken`.
async fn reserve_all_once<C>(
    db: &C,
    outbox: &Outbox,
    requests: &[ValidReservation],
) -> Result<(Vec<Answer>, Vec<Envelope>), Failure>
where
    C: ConnectionTrait + TransactionTrait<Transaction = DatabaseTransaction>,
{
    let txn = begin_write(db).await?;
    let now = Utc::now();
    let book_ids: Vec<&str> = requests
        .iter()
        .flat_map(|request| request.lines.iter().map(|line| line.book_id.as_str()))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut available: BTreeMap<String, i64> = BTreeMap::new();
    for chunk in book_ids.chunks(IDS_PER_LOOKUP) {
        let rows = stock::Entity::find()
            .filter(stock::Column::BookId.is_in(chunk.iter().copied()))
            .order_by_asc(stock::Column::BookId)
            .lock_exclusive()
            .all(&txn)
            .await?;
        available.extend(rows.into_iter().map(|row| (row.book_id, row.available)));
    }
    // Read after the stock locks: a concurrent reservation of the same order (same books) has
    // committed by now, so its answer is found here. One of an order with no stocked book, or a
    // release recording an unseen order, can still slip in: inserting then fails on the primary
    // key, and the next attempt finds it.
    let order_ids: Vec<&str> = requests.iter().map(|r| r.order_id.as_str()).collect();
    let mut decided: HashMap<String, ReservationView> = HashMap::new();
    for chunk in order_ids.chunks(IDS_PER_LOOKUP) {
        for row in reservation::Entity::find()
            .filter(reservation::Column::OrderId.is_in(chunk.iter().copied()))
            .all(&txn)
            .await?
        {
            decided.insert(row.order_id.clone(), row.try_into()?);
        }
    }

    let mut answers = Vec::with_capacity(requests.len());
    let mut new_rows = Vec::new();
    let mut taken: BTreeMap<&str, i64> = BTreeMap::new();
    for request in requests {
        if let Some(view) = decided.get(&request.order_id) {
            answers.push(Answer {
                view: view.clone(),
                first: false,
            });
            continue;
        }
        // No row (a book never stocked) counts as none available.
        let fits = request.lines.iter().all(|line| {
            available
                .get(&line.book_id)
                .is_some_and(|units| *units >= line.quantity)
        });
        if fits {
            for line in &request.lines {
                if let Some(units) = available.get_mut(&line.book_id) {
                    *units -= line.quantity;
                }
                *taken.entry(line.book_id.as_str()).or_default() += line.quantity;
            }
        }
        let view = ReservationView {
            order_id: request.order_id.clone(),
            status: if fits {
                ReservationStatus::Reserved
            } else {
                ReservationStatus::Rejected
            },
            reason: (!fits).then(|| OUT_OF_STOCK.to_owned()),
            lines: request.lines.clone(),
        };
        new_rows.push(reservation::ActiveModel {
            order_id: Set(view.order_id.clone()),
            status: Set(view.status.as_str().to_owned()),
            reason: Set(view.reason.clone()),
            lines: Set(serde_json::to_string(&view.lines).map_err(ApiError::internal)?),
            created_at: Set(now),
            updated_at: Set(now),
        });
        decided.insert(view.order_id.clone(), view.clone());
        answers.push(Answer { view, first: true });
    }

    for chunk in new_rows.chunks(ROWS_PER_INSERT) {
        match reservation::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(&txn)
            .await
        {
            Ok(_) => {}
            Err(err) if platform::db::is_unique_violation(&err) => {
                return Err(Failure::Retry(err));
            }
            Err(err) => return Err(err.into()),
        }
    }
    if !taken.is_empty() {
        // Every book's row in one statement: each takes its own units.
        let mut units_of = CaseStatement::new();
        for (book_id, units) in &taken {
            units_of = units_of.case(Expr::col(stock::Column::BookId).eq(*book_id), *units);
        }
        let updated = stock::Entity::update_many()
            .col_expr(
                stock::Column::Available,
                Expr::col(stock::Column::Available).sub(units_of.clone()),
            )
            .col_expr(stock::Column::UpdatedAt, Expr::value(now))
            .filter(stock::Column::BookId.is_in(taken.keys().copied()))
            .filter(Expr::col(stock::Column::Available).gte(units_of))
            .exec(&txn)
            .await?;
        if updated.rows_affected != taken.len() as u64 {
            return Err(Failure::Api(ApiError::internal(anyhow::anyhow!(
                "the stock of {} books changed under their locks",
                taken.len() as u64 - updated.rows_affected
            ))));
        }
    }
    let levels = taken
        .keys()
        .map(|&book_id| {
            StockLevel::new(book_id, available.get(book_id).copied().unwrap_or_default())
        })
        .collect();
    let events = record(&txn, outbox, levels).await?;
    txn.commit().await?;
    Ok((answers, events))
}

/// Gives back the units of an order's reservation. A rejected or released reservation is left
/// as it is; an order inventory has never seen is recorded as released (with no lines), so a
/// reservation arriving late for a cancelled order takes nothing.
pub async fn release<C>(
    db: &C,
    outbox: &Outbox,
    order_id: &str,
) -> Result<ReservationView, ApiError>
where
    C: ConnectionTrait + TransactionTrait<Transaction = DatabaseTransaction>,
{
    let mut errors = FieldErrors::new();
    errors.check("order_id", check_id(order_id));
    errors.into_validation()?;
    let (view, events) = retrying(|| release_once(db, outbox, order_id)).await?;
    outbox.committed(events);
    Ok(view)
}

async fn release_once<C>(
    db: &C,
    outbox: &Outbox,
    order_id: &str,
) -> Result<(ReservationView, Vec<Envelope>), Failure>
where
    C: ConnectionTrait + TransactionTrait<Transaction = DatabaseTransaction>,
{
    let now = Utc::now();
    let Some(stored) = find_reservation(db, order_id).await? else {
        let txn = begin_write(db).await?;
        let inserted = reservation::Entity::insert(reservation::ActiveModel {
            order_id: Set(order_id.to_owned()),
            status: Set(ReservationStatus::Released.as_str().to_owned()),
            reason: Set(None),
            lines: Set("[]".to_owned()),
            created_at: Set(now),
            updated_at: Set(now),
        })
        .exec_without_returning(&txn)
        .await;
        return match inserted {
            Ok(_) => {
                txn.commit().await?;
                Ok((
                    ReservationView {
                        order_id: order_id.to_owned(),
                        status: ReservationStatus::Released,
                        reason: None,
                        lines: Vec::new(),
                    },
                    Vec::new(),
                ))
            }
            // A reservation (or another release) got there first: release that instead.
            Err(err) if platform::db::is_unique_violation(&err) => Err(Failure::Retry(err)),
            Err(err) => Err(err.into()),
        };
    };
    if stored.status != ReservationStatus::Reserved.as_str() {
        return Ok((stored.try_into()?, Vec::new()));
    }
    let txn = begin_write(db).await?;
    // Only the release that moves the row out of `reserved` returns the units: a concurrent
    // duplicate finds nothing to move and gives back nothing.
    let moved = reservation::Entity::update_many()
        .col_expr(
            reservation::Column::Status,
            Expr::value(ReservationStatus::Released.as_str()),
        )
        .col_expr(reservation::Column::UpdatedAt, Expr::value(now))
        .filter(reservation::Column::OrderId.eq(order_id))
        .filter(reservation::Column::Status.eq(ReservationStatus::Reserved.as_str()))
        .exec(&txn)
        .await?;
    if moved.rows_affected != 1 {
        return Err(Failure::Retry(DbErr::Custom(
            "the reservation changed while releasing it".into(),
        )));
    }
    let mut view = ReservationView::try_from(stored)?;
    view.status = ReservationStatus::Released;
    // The last count of each book, should the order list a book twice.
    let mut counts: BTreeMap<&str, i64> = BTreeMap::new();
    for line in &view.lines {
        let updated = stock::Entity::update_many()
            .col_expr(
                stock::Column::Available,
                Expr::col(stock::Column::Available).add(line.quantity),
            )
            .col_expr(stock::Column::UpdatedAt, Expr::value(now))
            .filter(stock::Column::BookId.eq(line.book_id.as_str()))
            .exec(&txn)
            .await?;
        if updated.rows_affected != 1 {
            // Reserved units came from a row that exists; rows are never deleted.
            return Err(Failure::Api(ApiError::internal(anyhow::anyhow!(
                "no stock row for book {} of reservation {order_id}",
                line.book_id
            ))));
        }
        counts.insert(&line.book_id, current(&txn, &line.book_id).await?);
    }
    let levels = counts
        .into_iter()
        .map(|(book_id, n)| StockLevel::new(book_id, n))
        .collect();
    let events = record(&txn, outbox, levels).await?;
    txn.commit().await?;
    Ok((view, events))
}

/// Gives each listed book its units unless inventory already has a row for it (so restarting
/// the shop never overwrites live stock); returns how many books it added.
pub async fn seed<C, S>(db: &C, outbox: &Outbox, stock: &[(S, i64)]) -> Result<usize, ApiError>
where
    C: ConnectionTrait + TransactionTrait<Transaction = DatabaseTransaction>,
    S: AsRef<str>,
{
    let mut errors = FieldErrors::new();
    for (i, (book_id, available)) in stock.iter().enumerate() {
        errors.check(&format!("[{i}].book_id"), check_id(book_id.as_ref()));
        check_available(&format!("[{i}].available"), *available, &mut errors);
    }
    errors.into_validation()?;
    let (added, events) = retrying(|| seed_once(db, outbox, stock)).await?;
    outbox.committed(events);
    Ok(added)
}

/// One attempt of [`seed`]: how many books it added, and the events announcing them.
async fn seed_once<C, S>(
    db: &C,
    outbox: &Outbox,
    stock: &[(S, i64)],
) -> Result<(usize, Vec<Envelope>), Failure>
where
    C: ConnectionTrait + TransactionTrait<Transaction = DatabaseTransaction>,
    S: AsRef<str>,
{
    let txn = begin_write(db).await?;
    let now = Utc::now();
    let ids: Vec<&str> = stock.iter().map(|(id, _)| id.as_ref()).collect();
    let mut known: HashSet<String> = HashSet::new();
    for chunk in ids.chunks(IDS_PER_LOOKUP) {
        let rows = stock::Entity::find()
            .filter(stock::Column::BookId.is_in(chunk.iter().copied()))
            .all(&txn)
            .await?;
        known.extend(rows.into_iter().map(|row| row.book_id));
    }
    let mut levels = Vec::new();
    for (book_id, available) in stock {
        let book_id = book_id.as_ref();
        // `known` also catches a book listed twice: the first listing wins.
        if !known.insert(book_id.to_owned()) {
            continue;
        }
        let inserted = stock::Entity::insert(stock::ActiveModel {
            book_id: Set(book_id.to_owned()),
            available: Set(*available),
            updated_at: Set(now),
        })
        .exec_without_returning(&txn)
        .await;
        match inserted {
            Ok(_) => {}
            // Another process seeded the same book meanwhile: start over, skipping it.
            Err(err) if platform::db::is_unique_violation(&err) => {
                return Err(Failure::Retry(err));
            }
            Err(err) => return Err(err.into()),
        }
        levels.push(StockLevel::new(book_id, *available));
    }
    let added = levels.len();
    let events = record(&txn, outbox, levels).await?;
    txn.commit().await?;
    Ok((added, events))
}

/// A reservation as stored, if any.
async fn find_reservation(
    db: &impl ConnectionTrait,
    order_id: &str,
) -> Result<Option<reservation::Model>, DbErr> {
    reservation::Entity::find_by_id(order_id.to_owned())
        .one(db)
        .await
}

/// The units of a book as this transaction sees them (after its own change).
async fn current(txn: &DatabaseTransaction, book_id: &str) -> Result<i64, Failure> {
    stock::Entity::find_by_id(book_id.to_owned())
        .one(txn)
        .await?
        .map(|row| row.available)
        .ok_or_else(|| {
            Failure::Api(ApiError::internal(anyhow::anyhow!(
                "stock row of book {book_id} vanished inside its transaction"
            )))
        })
}

/// Writes `stock.changed` with the new counts, in the transaction that changed them, and returns
/// it for the relay once committed: one event for the whole transaction (one per
/// `IDS_PER_LOOKUP` books, so that a consumer can apply each in one statement), none when no
/// count changed. Each book is listed once.
async fn record(
    txn: &DatabaseTransaction,
    outbox: &Outbox,
    levels: Vec<StockLevel>,
) -> Result<Vec<Envelope>, Failure> {
    // Its time is taken here, after the rows were changed and while the transaction holds
    // their locks, so successive changes of one book carry increasing times and the catalogue
    // can keep the newest.
    let at = Utc::now();
    let events = levels
        .chunks(IDS_PER_LOOKUP)
        .map(|books| {
            StockChanged {
                books: books.to_vec(),
                at,
            }
            .envelope()
            .map_err(ApiError::internal)
        })
        .collect::<Result<Vec<_>, _>>()?;
    outbox.add_all(txn, &events).await?;
    Ok(events)
}

/// Starts a transaction that will write. On SQLite it takes the write lock at once (waiting for
/// it if need be): a transaction that reads first and writes later could otherwise fail at once
/// with "database is locked" when another writer got in between.
async fn begin_write<C>(db: &C) -> Result<DatabaseTransaction, DbErr>
where
    C: TransactionTrait<Transaction = DatabaseTransaction>,
{
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..TransactionOptions::default()
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(
        order_id: Option<&str>,
        lines: Option<Vec<(Option<&str>, Option<i64>)>>,
    ) -> ReservationRequest {
        ReservationRequest {
            order_id: order_id.map(str::to_owned),
            lines: lines.map(|lines| {
                lines
                    .into_iter()
                    .map(|(book_id, quantity)| LineRequest {
                        book_id: book_id.map(str::to_owned),
                        quantity,
                    })
                    .collect()
            }),
        }
    }

    fn fields(err: &ApiError) -> Vec<String> {
        err.errors.keys().cloned().collect()
    }

    #[test]
    fn lines_are_merged_per_book_and_sorted() {
        let valid = request(
            Some("order-1"),
            Some(vec![
                (Some("b"), Some(2)),
                (Some("a"), Some(1)),
                (Some("b"), Some(3)),
            ]),
        )
        .validate()
        .unwrap();
        assert_eq!(valid.order_id(), "order-1");
        assert_eq!(
            valid.lines(),
            [
                Line {
                    book_id: "a".into(),
                    quantity: 1
                },
                Line {
                    book_id: "b".into(),
                    quantity: 5
                },
            ]
        );
    }

    #[test]
    fn every_bad_field_is_named() {
        let err = request(
            Some(""),
            Some(vec![
                (Some("ok"), Some(0)),
                (None, Some(1001)),
                (Some(&"x".repeat(37)), None),
                (Some("tab\there"), Some(-5)),
            ]),
        )
        .validate()
        .unwrap_err();
        assert_eq!(err.code, ErrorCode::ValidationFailed);
        assert_eq!(
            fields(&err),
            [
                "lines[0].quantity",
                "lines[1].book_id",
                "lines[1].quantity",
                "lines[2].book_id",
                "lines[2].quantity",
                "lines[3].book_id",
                "lines[3].quantity",
                "order_id",
            ]
        );
    }

    #[test]
    fn line_count_is_bounded_and_fields_are_required() {
        let err = request(None, None).validate().unwrap_err();
        assert_eq!(fields(&err), ["lines", "order_id"]);
        let err = request(Some("o"), Some(vec![])).validate().unwrap_err();
        assert_eq!(fields(&err), ["lines"]);
        let many = (0..51).map(|_| (Some("a"), Some(1))).collect();
        let err = request(Some("o"), Some(many)).validate().unwrap_err();
        assert_eq!(fields(&err), ["lines"]);
        let fifty = (0..50).map(|_| (Some("a"), Some(1000))).collect();
        let valid = request(Some(&"o".repeat(36)), Some(fifty))
            .validate()
            .unwrap();
        assert_eq!(valid.lines()[0].quantity, 50_000);
    }

    #[test]
    fn statuses_round_trip() {
        for status in [
            ReservationStatus::Reserved,
            ReservationStatus::Rejected,
            ReservationStatus::Released,
        ] {
            assert_eq!(status.as_str().parse::<ReservationStatus>(), Ok(status));
            assert_eq!(
                serde_json::to_value(status).unwrap(),
                serde_json::json!(status.as_str())
            );
        }
        assert!("pending".parse::<ReservationStatus>().is_err());
    }
}
