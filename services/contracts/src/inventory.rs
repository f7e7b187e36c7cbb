//! Inventory's side of the pipeline: the bodies of `POST /api/v1/inventory/reservations/batch`,
//! through which the order worker reserves the stock of placed orders.

use platform::error::Problem;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{Line, OrderId};

/// Why a reservation was rejected, and so why its order failed: a line wants more units than
/// are available.
pub const OUT_OF_STOCK: &str = "out_of_stock";

/// Where a reservation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(
    feature = "entity",
    derive(sea_orm::EnumIter, sea_orm::DeriveActiveEnum)
)]
#[cfg_attr(
    feature = "entity",
    sea_orm(
        rs_type = "String",
        db_type = "String(sea_orm::sea_query::StringLen::N(16))",
        rename_all = "snake_case"
    )
)]
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

/// Inventory's answer for an order. The first answer is the answer: a repeat returns it again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReservationView {
    pub order_id: OrderId,
    pub status: ReservationStatus,
    /// `out_of_stock` when rejected, otherwise null.
    pub reason: Option<String>,
    /// What was asked for, one line per book (repeated books merged), sorted by book id; empty
    /// for an order released before it was ever reserved.
    pub lines: Vec<Line>,
}

/// One line of a reservation request as a client sends it; checked by
/// inventory's validation.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
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

/// One reservation of a batch: an order's lines. Fields are optional here only so that a missing
/// one is reported by name with the others, instead of as a bare parse error.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
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
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
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
    pub problem: Option<Problem>,
}

/// The answer to a batch: one outcome per reservation, in the order they were sent.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BatchAnswer {
    pub results: Vec<BatchOutcome>,
}

impl ReservationRequest {
    /// The request for an order's `lines`, every field given.
    pub fn new(order_id: &OrderId, lines: &[Line]) -> Self {
        Self {
            order_id: Some(order_id.to_string()),
            lines: Some(
                lines
                    .iter()
                    .map(|line| LineRequest {
                        book_id: Some(line.book_id.to_string()),
                        quantity: Some(i64::from(line.quantity)),
                    })
                    .collect(),
            ),
        }
    }
}
