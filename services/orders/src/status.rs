//! The order state machine: the statuses an order can have and, in [`check_transition`], the one
//! place that decides who may move an order from which status to which (docs/pipeline.md,
//! "Order states").

pub use contracts::orders::OrderStatus;
use platform::{ApiError, ErrorCode};

/// Who asks for a transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// A bookstore service holding the service token (the order worker).
    Service,
    /// A user with the admin role (whoever owns the order).
    Admin,
    /// The customer who placed the order.
    Owner,
}

impl Actor {
    fn describe(self) -> &'static str {
        match self {
            Self::Service => "the order worker",
            Self::Admin => "an admin",
            Self::Owner => "the order's owner",
        }
    }
}

/// What an allowed transition does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// The status changes: write it and announce it (`order.status_changed`).
    Change,
    /// The order already has that status: nothing to write and no event, so that a retried
    /// request (the worker's at-least-once delivery) is harmless.
    NoOp,
}

/// Who may take each edge of the state machine; an edge not listed does not exist.
fn allowed_actors(from: OrderStatus, to: OrderStatus) -> &'static [Actor] {
    use OrderStatus::*;
    match (from, to) {
        (Pending, Completed) | (Pending, Failed) => &[Actor::Service],
        (Pending, Cancelled) => &[Actor::Owner, Actor::Admin],
        (Completed, Cancelled) | (Completed, Shipped) | (Shipped, Delivered) => &[Actor::Admin],
        _ => &[],
    }
}

/// Decides whether `actor` may move an order from `from` to `to`. The same status is a no-op
/// for anyone; every other move not in the table of docs/pipeline.md is a 409 whose detail names
/// both statuses (and who could have made it, when someone could).
pub fn check_transition(
    from: OrderStatus,
    to: OrderStatus,
    actor: Actor,
) -> Result<Transition, ApiError> {
    if from == to {
        return Ok(Transition::NoOp);
    }
    let allowed = allowed_actors(from, to);
    if allowed.contains(&actor) {
        return Ok(Transition::Change);
    }
    let detail = match allowed {
        [] => format!("an order cannot go from {from} to {to}"),
        [only] => format!(
            "only {} can move an order from {from} to {to}",
            only.describe()
        ),
        _ => format!(
            "{} cannot move an order from {from} to {to}",
            actor.describe()
        ),
    };
    Err(ApiError::new(ErrorCode::Conflict, detail))
}

#[cfg(test)]
mod tests {
    use super::*;
    use Actor::*;
    use OrderStatus::*;

    #[test]
    fn order_placed_announces_the_status_of_a_new_order() {
        // The gateway pushes `order.placed` as this status.
        assert_eq!(Pending, contracts::events::OrderPlaced::STATUS);
    }

    /// The table of docs/pipeline.md, written out independently of `allowed_actors`.
    const EDGES: [(OrderStatus, OrderStatus, Actor); 7] = [
        (Pending, Completed, Service),
        (Pending, Failed, Service),
        (Pending, Cancelled, Owner),
        (Pending, Cancelled, Admin),
        (Completed, Cancelled, Admin),
        (Completed, Shipped, Admin),
        (Shipped, Delivered, Admin),
    ];

    #[test]
    fn every_pair_for_every_actor_follows_the_table() {
        for from in OrderStatus::ALL {
            for to in OrderStatus::ALL {
                for actor in [Service, Admin, Owner] {
                    let result = check_transition(from, to, actor);
                    if from == to {
                        assert_eq!(
                            result.ok(),
                            Some(Transition::NoOp),
                            "{from}->{to} {actor:?}"
                        );
                    } else if EDGES.contains(&(from, to, actor)) {
                        assert_eq!(
                            result.ok(),
                            Some(Transition::Change),
                            "{from}->{to} {actor:?}"
                        );
                    } else {
                        let err = result.err().unwrap_or_else(|| {
                            panic!("{from}->{to} by {actor:?} should be refused")
                        });
                        assert_eq!(err.code, ErrorCode::Conflict);
                        let detail = err.detail.unwrap_or_default();
                        assert!(
                            detail.contains(from.as_str()) && detail.contains(to.as_str()),
                            "{detail}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn final_statuses_have_no_way_out() {
        for from in [Failed, Cancelled, Delivered] {
            for to in OrderStatus::ALL.into_iter().filter(|to| *to != from) {
                for actor in [Service, Admin, Owner] {
                    assert!(check_transition(from, to, actor).is_err());
                }
            }
        }
    }

    #[test]
    fn refusals_say_who_could() {
        let detail = |from, to, actor| {
            check_transition(from, to, actor)
                .err()
                .and_then(|err| err.detail)
                .unwrap_or_default()
        };
        assert_eq!(
            detail(Completed, Shipped, Service),
            "only an admin can move an order from completed to shipped"
        );
        assert_eq!(
            detail(Pending, Cancelled, Service),
            "the order worker cannot move an order from pending to cancelled"
        );
        assert_eq!(
            detail(Delivered, Pending, Admin),
            "an order cannot go from delivered to pending"
        );
    }
}
