//! Status transitions: moving orders through the state machine, with their events.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use contracts::events::{Event, OrderCancelled, OrderStatusChanged};
use platform::ApiError;
use platform::db::{IDS_PER_LOOKUP, plausible_id, retrying_transient};
use platform::error::FieldErrors;
use platform::messaging::Envelope;
use platform::outbox::Outbox;
use sea_orm::sea_query::{CaseStatement, Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter,
    TransactionTrait,
};

use super::MAX_REASON;
use super::storage::now;
use crate::entity::order;
use crate::status::{Actor, OrderStatus, Transition, check_transition};

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
                .is_none_or(|row| row.status != from)
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

/// Writes the checked changes and their events in one transaction, unless an order's status
/// changed since it was read: then nothing is written and the answer is `false`.
async fn write_statuses(
    db: &DatabaseConnection,
    outbox: &Outbox,
    changes: &[StatusChange],
    writes: &[(OpenChange, OrderStatus)],
    at: DateTime<Utc>,
    events: &[Envelope],
) -> Result<bool, DbErr> {
    let txn = db.begin().await?;
    if !update_statuses(&txn, changes, writes, at).await? {
        txn.rollback().await?;
        return Ok(false);
    }
    outbox.add_all(&txn, events).await?;
    txn.commit().await?;
    Ok(true)
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
            let from = row.status;
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
        // What each change writes and answers, built before the transaction so that a
        // transient failure of the write can simply run it again.
        let mut events = Vec::with_capacity(writes.len());
        let mut changed = Vec::with_capacity(writes.len());
        for (open_change, from) in &writes {
            let change = &changes[open_change.index];
            let reason = open_change.reason.clone();
            let mut row = rows.get(&change.order_id).cloned().ok_or_else(|| {
                ApiError::internal(anyhow::anyhow!("order {} was not read", change.order_id))
            })?;
            events.extend(status_events(&row, change.to, reason.as_deref(), at)?);
            row.status = change.to;
            row.reason = reason;
            row.updated_at = at;
            changed.push((open_change.index, *from, row));
        }
        let written =
            retrying_transient(|| write_statuses(db, outbox, changes, &writes, at, &events))
                .await?;
        if !written {
            // Some order's status changed since it was read: nothing is written, and every
            // change is checked again against the statuses as they are now.
            open.extend(writes.into_iter().map(|(mut change, from)| {
                change.lost_against = Some(from);
                change
            }));
            continue;
        }
        outbox.committed(events);
        for (i, from, row) in changed {
            tracing::info!(order_id = %row.id, %from, to = %row.status, ?actor, "Order status changed.");
            answers[i] = Some(Ok(Transitioned {
                row,
                from,
                changed: true,
            }));
        }
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
            order_id: order.id.clone().into(),
            user_id: order.user_id.clone().into(),
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
                order_id: order.id.clone().into(),
                user_id: order.user_id.clone().into(),
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
            status,
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
}
