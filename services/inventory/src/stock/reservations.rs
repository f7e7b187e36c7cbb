//! Reservations: their requests and answers, and reserving and releasing the units of orders.

use std::collections::{BTreeMap, HashMap};

use chrono::Utc;
use contracts::events::StockLevel;
use platform::ApiError;
use platform::db::{Failure, IDS_PER_LOOKUP, ROWS_PER_INSERT, retrying};
use platform::error::FieldErrors;
use platform::messaging::Envelope;
use platform::outbox::Outbox;
use sea_orm::sea_query::{CaseStatement, Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, TransactionTrait,
};

pub use contracts::inventory::{
    BatchAnswer, BatchOutcome, LineRequest, MAX_BATCH, ReservationBatch, ReservationRequest,
    ReservationStatus, ReservationView,
};
pub use contracts::{BookId, Line, OrderId};

use super::{MAX_LINES, MAX_QUANTITY, OUT_OF_STOCK, begin_write, check_id, current, record};
use crate::entity::{reservation, stock};

/// A stored reservation as inventory answers it.
pub fn stored_view(model: reservation::Model) -> Result<ReservationView, ApiError> {
    Ok(ReservationView {
        status: model.status,
        lines: serde_json::from_str(&model.lines).map_err(ApiError::internal)?,
        order_id: model.order_id.into(),
        reason: model.reason,
    })
}

/// A validated reservation: lines merged per book and sorted by book id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidReservation {
    order_id: OrderId,
    lines: Vec<Line>,
}

impl ValidReservation {
    pub fn order_id(&self) -> &OrderId {
        &self.order_id
    }

    pub fn lines(&self) -> &[Line] {
        &self.lines
    }
}

/// Checks every field of a reservation request, reporting each problem under its name
/// (`lines[0].quantity`).
pub fn validate(request: &ReservationRequest) -> Result<ValidReservation, ApiError> {
    let mut errors = FieldErrors::new();
    let order_id = match request.order_id.as_deref() {
        Some(id) => errors.check("order_id", OrderId::parse(id)),
        None => {
            errors.add("order_id", "is required");
            None
        }
    };
    let mut merged: BTreeMap<BookId, u32> = BTreeMap::new();
    match request.lines.as_deref() {
        None => errors.add("lines", "is required"),
        Some(lines) if lines.is_empty() || lines.len() > MAX_LINES => {
            errors.add("lines", format!("must have 1 to {MAX_LINES} lines"));
        }
        Some(lines) => {
            for (i, line) in lines.iter().enumerate() {
                let book_id = match line.book_id.as_deref() {
                    Some(id) => errors.check(&format!("lines[{i}].book_id"), BookId::parse(id)),
                    None => {
                        errors.add(&format!("lines[{i}].book_id"), "is required");
                        None
                    }
                };
                let quantity = match line.quantity {
                    Some(q) if (1..=MAX_QUANTITY).contains(&q) => u32::try_from(q).ok(),
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
    // Without errors, the order id was given and valid.
    let order_id = order_id.ok_or_else(|| {
        ApiError::internal(anyhow::anyhow!("a valid reservation without its order"))
    })?;
    Ok(ValidReservation {
        order_id,
        lines: merged
            .into_iter()
            .map(|(book_id, quantity)| Line { book_id, quantity })
            .collect(),
    })
}

/// Inventory's answer to a reservation request, and whether this request gave it (rather than
/// repeating the first answer).
#[derive(Debug)]
pub struct Answer {
    pub view: ReservationView,
    pub first: bool,
}

/// Reserves several orders in one transaction, deciding them in the order given: each takes
/// every line or nothing. Keyed by order id: a repeat (even with other lines) gets the first
/// answer and changes nothing. Answers come in the same order; an order listed twice gets the
/// first answer twice.
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
    let mut decided: HashMap<OrderId, ReservationView> = HashMap::new();
    for chunk in order_ids.chunks(IDS_PER_LOOKUP) {
        for row in reservation::Entity::find()
            .filter(reservation::Column::OrderId.is_in(chunk.iter().copied()))
            .all(&txn)
            .await?
        {
            decided.insert(row.order_id.clone().into(), stored_view(row)?);
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
                .get(line.book_id.as_str())
                .is_some_and(|units| *units >= i64::from(line.quantity))
        });
        if fits {
            for line in &request.lines {
                if let Some(units) = available.get_mut(line.book_id.as_str()) {
                    *units -= i64::from(line.quantity);
                }
                *taken.entry(line.book_id.as_str()).or_default() += i64::from(line.quantity);
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
            order_id: Set(view.order_id.to_string()),
            status: Set(view.status),
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
            status: Set(ReservationStatus::Released),
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
                        order_id: order_id.into(),
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
    if stored.status != ReservationStatus::Reserved {
        return Ok((stored_view(stored)?, Vec::new()));
    }
    let txn = begin_write(db).await?;
    // Only the release that moves the row out of `reserved` returns the units: a concurrent
    // duplicate finds nothing to move and gives back nothing.
    let moved = reservation::Entity::update_many()
        .col_expr(
            reservation::Column::Status,
            Expr::value(ReservationStatus::Released),
        )
        .col_expr(reservation::Column::UpdatedAt, Expr::value(now))
        .filter(reservation::Column::OrderId.eq(order_id))
        .filter(reservation::Column::Status.eq(ReservationStatus::Reserved))
        .exec(&txn)
        .await?;
    if moved.rows_affected != 1 {
        return Err(Failure::Retry(DbErr::Custom(
            "the reservation changed while releasing it".into(),
        )));
    }
    let mut view = stored_view(stored)?;
    view.status = ReservationStatus::Released;
    // The last count of each book, should the order list a book twice.
    let mut counts: BTreeMap<&str, i64> = BTreeMap::new();
    for line in &view.lines {
        let updated = stock::Entity::update_many()
            .col_expr(
                stock::Column::Available,
                Expr::col(stock::Column::Available).add(i64::from(line.quantity)),
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
        counts.insert(
            line.book_id.as_str(),
            current(&txn, line.book_id.as_str()).await?,
        );
    }
    let levels = counts
        .into_iter()
        .map(|(book_id, n)| StockLevel::new(book_id, n))
        .collect();
    let events = record(&txn, outbox, levels).await?;
    txn.commit().await?;
    Ok((view, events))
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

#[cfg(test)]
mod tests {
    use platform::ErrorCode;

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
        let valid = validate(&request(
            Some("order-1"),
            Some(vec![
                (Some("b"), Some(2)),
                (Some("a"), Some(1)),
                (Some("b"), Some(3)),
            ]),
        ))
        .unwrap();
        assert_eq!(valid.order_id().as_str(), "order-1");
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
        let err = validate(&request(
            Some(""),
            Some(vec![
                (Some("ok"), Some(0)),
                (None, Some(1001)),
                (Some(&"x".repeat(37)), None),
                (Some("tab\there"), Some(-5)),
            ]),
        ))
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
        let err = validate(&request(None, None)).unwrap_err();
        assert_eq!(fields(&err), ["lines", "order_id"]);
        let err = validate(&request(Some("o"), Some(vec![]))).unwrap_err();
        assert_eq!(fields(&err), ["lines"]);
        let many = (0..51).map(|_| (Some("a"), Some(1))).collect();
        let err = validate(&request(Some("o"), Some(many))).unwrap_err();
        assert_eq!(fields(&err), ["lines"]);
        let fifty = (0..50).map(|_| (Some("a"), Some(1000))).collect();
        let valid = validate(&request(Some(&"o".repeat(36)), Some(fifty))).unwrap();
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
