//! The domain events components exchange, with their kinds and schema versions. A payload's
//! shape changes only by adding optional fields; anything else is a new schema version.

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::messaging::Envelope;

/// An event type: its kind (routing key) and current schema version.
pub trait Event: Serialize + DeserializeOwned {
    const KIND: &'static str;
    const VERSION: u32;

    /// The event in an envelope, in the current trace.
    fn envelope(&self) -> Result<Envelope, serde_json::Error> {
        Envelope::new(Self::KIND, Self::VERSION, self)
    }

    /// Reads an envelope that must hold this event at the schema version this build knows; any
    /// other kind, another version or an unreadable payload is an error saying which, for the
    /// dead-letter queue (a consumer never guesses at a version it does not know).
    fn read(envelope: &Envelope) -> Result<Self, String> {
        if envelope.kind != Self::KIND || envelope.schema_version != Self::VERSION {
            return Err(format!(
                "expected {} v{}, got {} v{}",
                Self::KIND,
                Self::VERSION,
                envelope.kind,
                envelope.schema_version
            ));
        }
        envelope
            .decode()
            .map_err(|err| format!("unreadable {} payload: {err}", Self::KIND))
    }
}

/// One line of an order as the pipeline needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineRef {
    pub book_id: String,
    pub quantity: u32,
}

/// An order was placed and waits for stock (`pending`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderPlaced {
    pub order_id: String,
    pub user_id: String,
    pub lines: Vec<LineRef>,
    pub placed_at: DateTime<Utc>,
}

impl Event for OrderPlaced {
    const KIND: &'static str = "order.placed";
    const VERSION: u32 = 1;
}

impl OrderPlaced {
    /// The status of an order just placed. `order.placed` announces it: no
    /// `order.status_changed` is written for it.
    pub const STATUS: &'static str = "pending";
}

/// An order moved to a new status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderStatusChanged {
    pub order_id: String,
    pub user_id: String,
    pub status: String,
    pub reason: Option<String>,
    pub at: DateTime<Utc>,
}

impl Event for OrderStatusChanged {
    const KIND: &'static str = "order.status_changed";
    const VERSION: u32 = 1;
}

/// An order was cancelled: its reservation, if any, must be given back. Written next to the
/// `order.status_changed` of the cancellation, so that the consumer returning stock gets only
/// the changes it acts on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderCancelled {
    pub order_id: String,
    pub user_id: String,
    pub reason: Option<String>,
    pub at: DateTime<Utc>,
}

impl Event for OrderCancelled {
    const KIND: &'static str = "order.cancelled";
    const VERSION: u32 = 1;
}

/// A summary of a book's document is wanted: the document was uploaded, or an admin asked
/// again. Written by the catalogue next to the book's `pending` summary state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookSummaryRequested {
    pub book_id: String,
    /// The document to summarise; a request for a document since replaced is dropped.
    pub document_sha256: String,
    pub requested_at: DateTime<Utc>,
}

impl Event for BookSummaryRequested {
    const KIND: &'static str = "book.summary_requested";
    const VERSION: u32 = 1;
}

/// A book's summary was settled, ready or failed. Written by the catalogue when the worker
/// stores the outcome; the notification gateway tells the admins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookSummaryReady {
    pub book_id: String,
    /// `ready` or `failed`.
    pub status: String,
    /// What made the summary (`extractive` or `model`), when it is ready.
    pub method: Option<String>,
    /// Why it failed, when it did.
    pub reason: Option<String>,
    pub at: DateTime<Utc>,
}

impl Event for BookSummaryReady {
    const KIND: &'static str = "book.summary_ready";
    const VERSION: u32 = 1;
}

/// Sessions ended (logout, a replayed refresh token, a password change, a role change, a
/// deactivation): every process refuses their access tokens from now on. The users service
/// publishes it when a session ends, and again every few seconds for every session ended within
/// an access token's lifetime, so that a process that was not listening learns them too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionsEnded {
    pub session_ids: Vec<String>,
    /// When the last access token these sessions may have issued expires: they need not be
    /// remembered after it.
    pub refused_until: DateTime<Utc>,
}

impl Event for SessionsEnded {
    const KIND: &'static str = "session.ended";
    const VERSION: u32 = 1;
}

/// The units available of some books changed, all in one inventory transaction: a batch of
/// reservations announces every book it took from in one event rather than one event per book.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockChanged {
    /// The books and their new counts, each book once.
    pub books: Vec<StockLevel>,
    pub at: DateTime<Utc>,
}

/// A book's units available after a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockLevel {
    pub book_id: String,
    pub available: i64,
}

impl StockLevel {
    pub fn new(book_id: impl Into<String>, available: i64) -> Self {
        Self {
            book_id: book_id.into(),
            available,
        }
    }
}

impl Event for StockChanged {
    const KIND: &'static str = "stock.changed";
    const VERSION: u32 = 2;
}

/// Version 1 of `stock.changed`: one book per event. An inventory not yet upgraded still
/// writes it, so consumers read both.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct StockChangedV1 {
    book_id: String,
    available: i64,
    at: DateTime<Utc>,
}

impl StockChanged {
    /// The event in `envelope`, of version 2 or 1; `Err` says why it is not one.
    pub fn from_envelope(envelope: &Envelope) -> Result<Self, String> {
        if envelope.kind != Self::KIND {
            return Err(format!("expected {}, got {}", Self::KIND, envelope.kind));
        }
        let unreadable =
            |err: serde_json::Error| format!("unreadable {} payload: {err}", Self::KIND);
        match envelope.schema_version {
            Self::VERSION => envelope.decode().map_err(unreadable),
            1 => {
                let one: StockChangedV1 = envelope.decode().map_err(unreadable)?;
                Ok(Self {
                    books: vec![StockLevel::new(one.book_id, one.available)],
                    at: one.at,
                })
            }
            other => Err(format!(
                "expected {} v{} or v1, got v{other}",
                Self::KIND,
                Self::VERSION
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stock_changed_reads_both_versions() {
        let at = Utc::now();
        let event = StockChanged {
            books: vec![StockLevel::new("a", 3), StockLevel::new("b", 0)],
            at,
        };
        let read = StockChanged::from_envelope(&event.envelope().unwrap()).unwrap();
        assert_eq!(read, event);

        let v1 = Envelope::new(
            StockChanged::KIND,
            1,
            &serde_json::json!({ "book_id": "a", "available": 7, "at": at }),
        )
        .unwrap();
        let read = StockChanged::from_envelope(&v1).unwrap();
        assert_eq!(read.books, [StockLevel::new("a", 7)]);
        assert_eq!(read.at, at);
    }

    #[test]
    fn stock_changed_refuses_other_kinds_versions_and_shapes() {
        let event = StockChanged {
            books: vec![StockLevel::new("a", 3)],
            at: Utc::now(),
        };
        let mut envelope = event.envelope().unwrap();
        envelope.schema_version = 3;
        let err = StockChanged::from_envelope(&envelope).unwrap_err();
        assert!(err.contains("got v3"), "{err}");

        let mut envelope = event.envelope().unwrap();
        envelope.kind = OrderPlaced::KIND.into();
        assert!(StockChanged::from_envelope(&envelope).is_err());

        let mut envelope = event.envelope().unwrap();
        envelope.payload = b"[]".to_vec();
        let err = StockChanged::from_envelope(&envelope).unwrap_err();
        assert!(err.starts_with("unreadable stock.changed payload"), "{err}");
        // A version 1 body labelled version 2 is not read as either.
        let mut envelope = event.envelope().unwrap();
        envelope.payload = br#"{"book_id":"a","available":1,"at":"2026-12-01T00:00:00Z"}"#.to_vec();
        assert!(StockChanged::from_envelope(&envelope).is_err());
    }
}
