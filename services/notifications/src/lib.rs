//! The real-time gateway: Socket.IO at `/socket.io` for clients holding an access token, each
//! socket in its user's room (admins also in the admin room), order status changes from the bus
//! pushed to the order's owner and the admins, once each, and settled book summaries pushed to
//! the admins.

mod metrics;
mod recent;
mod upgrade;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use contracts::events::{BookSummaryReady, Event, OrderPlaced, OrderStatusChanged};
use contracts::orders::OrderStatus;
use contracts::{BookId, OrderId, UserId};
use platform::auth::{Role, TokenVerifier};
use platform::messaging::{Delivery, Handler, Listener, Outcome};
use platform::shutdown::ShutdownToken;
use serde::{Deserialize, Serialize};
use socketioxide::SocketIo;
use socketioxide::extract::{SocketRef, State, TryData};
use socketioxide::handler::ConnectHandler;
use socketioxide::layer::SocketIoLayer;

pub use metrics::GatewayMetrics;
use recent::RecentIds;
pub use upgrade::trim_upgrade_request;

/// The event a client receives when one of its orders changes status.
pub const STATUS_EVENT: &str = "order_status_change";
/// The event admins receive when a book's summary is settled (ready or failed).
pub const SUMMARY_EVENT: &str = "book.summary_ready";
/// The event a client receives just before the gateway disconnects it because its access token
/// expired, or its session ended (logout, a password or role change, deactivation); it
/// reconnects with a fresh token, which an ended session cannot get.
pub const EXPIRED_EVENT: &str = "session_expired";
/// The event every client receives when the gateway may have missed status changes: its
/// subscription came back from a broker outage to find its queue gone (the outage outlasted the
/// queue's expiry, or the broker restarted), or first started after the client connected. The
/// client reads its orders again, as on `connect`.
pub const RESYNC_EVENT: &str = "resync";
/// Admins' sockets also join this room and so receive every order's changes.
const ADMIN_ROOM: &str = "admins";
/// How many recent event ids are remembered to drop duplicated deliveries.
const REMEMBERED_EVENTS: usize = 10_000;
/// Largest message a client may send; the gateway expects none, so this only bounds abuse.
const MAX_CLIENT_MESSAGE: usize = 16 * 1024;
/// Read buffer of each websocket, in bytes.
const WS_READ_BUFFER: usize = 256;
/// Packets queued for one socket; a socket that falls this far behind misses events (its client
/// can poll the order's status).
const SEND_BUFFER_PACKETS: usize = 32;
/// How often sockets with an expired token or an ended session are looked for.
const EXPIRY_SWEEP: Duration = Duration::from_secs(1);

/// What a client receives in `resync`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resync {
    pub reason: String,
}

/// What a client receives in `order_status_change`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusChange {
    /// The bus event's id: the same change delivered twice has the same id.
    pub event_id: String,
    pub order_id: OrderId,
    pub user_id: UserId,
    pub status: OrderStatus,
    pub reason: Option<String>,
    pub at: DateTime<Utc>,
}

/// What an admin receives in `book.summary_ready`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SummarySettled {
    /// The bus event's id: the same summary delivered twice has the same id.
    pub event_id: String,
    pub book_id: BookId,
    /// `ready` or `failed`.
    pub status: String,
    pub method: Option<String>,
    pub reason: Option<String>,
    pub at: DateTime<Utc>,
}

/// The handshake's `auth` object: `{ token: "<access token>" }`.
#[derive(Debug, Deserialize)]
struct HandshakeAuth {
    token: Option<String>,
}

/// Who a socket belongs to, kept on the socket from the handshake on.
#[derive(Debug, Clone)]
struct Identity {
    user_id: String,
    admin: bool,
    expires_at: i64,
    session_id: String,
}

/// Why a connection was refused; the client sees the message in its `connect_error`.
#[derive(Debug)]
enum Refusal {
    MissingToken,
    InvalidToken,
}

impl Refusal {
    fn label(&self) -> &'static str {
        match self {
            Self::MissingToken => "missing_token",
            Self::InvalidToken => "invalid_token",
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::MissingToken => "an access token is required: connect with auth { token }",
            Self::InvalidToken => "the access token is invalid or expired",
        })
    }
}

/// The gateway: the Socket.IO layer's handle plus what pushing needs. Cloning shares it.
#[derive(Clone)]
pub struct Gateway {
    io: SocketIo,
    metrics: GatewayMetrics,
    recent: Arc<Mutex<RecentIds>>,
    /// Knows the sessions ended since a socket connected.
    verifier: Arc<TokenVerifier>,
}

impl Gateway {
    /// The gateway and the layer that serves `/socket.io` in front of the process's routes.
    pub fn new(
        verifier: Arc<TokenVerifier>,
        registry: &platform::metrics::Metrics,
    ) -> (SocketIoLayer, Self) {
        let metrics = GatewayMetrics::new(registry);
        let (layer, io) = SocketIo::builder()
            .with_state(verifier.clone())
            .with_state(metrics.clone())
            .max_payload(MAX_CLIENT_MESSAGE as u64)
            .ws_max_message_size(MAX_CLIENT_MESSAGE)
            .ws_max_frame_size(MAX_CLIENT_MESSAGE)
            // Clients send next to nothing and receive a few small events: small per-socket
            // buffers keep an idle socket cheap.
            .ws_read_buffer_size(WS_READ_BUFFER)
            .max_buffer_size(SEND_BUFFER_PACKETS)
            .build_layer();
        io.ns("/", on_connect.with(authenticate));
        let gateway = Self {
            io,
            metrics,
            recent: Arc::new(Mutex::new(RecentIds::new(REMEMBERED_EVENTS))),
            verifier,
        };
        (layer, gateway)
    }

    /// The event kinds the gateway subscribes to: `order.placed` announces an order's first
    /// status (`pending`), `order.status_changed` every later one.
    pub fn bindings() -> Vec<String> {
        vec![
            OrderPlaced::KIND.to_owned(),
            OrderStatusChanged::KIND.to_owned(),
            BookSummaryReady::KIND.to_owned(),
        ]
    }

    /// Tells and disconnects sockets whose access token has expired or whose session has
    /// ended, until shutdown.
    pub async fn expire_sessions(&self, mut shutdown: ShutdownToken) {
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(EXPIRY_SWEEP) => {}
            }
            let now = Utc::now().timestamp();
            for socket in self.io.sockets() {
                let Some(identity) = socket.extensions.get::<Identity>() else {
                    continue;
                };
                let reason = if self.verifier.session_ended(&identity.session_id) {
                    "the session ended; log in again"
                } else if identity.expires_at <= now {
                    "the access token expired; reconnect with a fresh one"
                } else {
                    continue;
                };
                let _ = socket.emit(EXPIRED_EVENT, &serde_json::json!({ "reason": reason }));
                let _ = socket.disconnect();
            }
        }
    }

    /// Disconnects every client (at shutdown).
    pub async fn close(&self) {
        self.io.close().await;
    }

    /// Whether an event id was pushed before; remembers it either way.
    fn seen_before(&self, event_id: &str) -> bool {
        self.recent
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .check_and_insert(event_id)
    }
}

#[async_trait::async_trait]
impl Handler for Gateway {
    async fn handle(&self, delivery: &Delivery) -> Outcome {
        let envelope = &delivery.envelope;
        // Checked for its schema version like every other consumer: a version this build does
        // not know is dead-lettered, not guessed at.
        let change = match envelope.kind.as_str() {
            OrderPlaced::KIND => OrderPlaced::read(envelope).map(|placed| OrderStatusChanged {
                order_id: placed.order_id,
                user_id: placed.user_id,
                status: OrderPlaced::STATUS,
                reason: None,
                at: placed.placed_at,
            }),
            OrderStatusChanged::KIND => OrderStatusChanged::read(envelope),
            BookSummaryReady::KIND => return self.summary_settled(delivery).await,
            _ => return Outcome::Ack,
        };
        let change = match change {
            Ok(change) => change,
            Err(err) => return Outcome::Reject(err),
        };
        if self.seen_before(&envelope.id) {
            self.metrics.duplicates.inc();
            return Outcome::Ack;
        }
        let message = StatusChange {
            event_id: envelope.id.clone(),
            order_id: change.order_id,
            user_id: change.user_id,
            status: change.status,
            reason: change.reason,
            at: change.at,
        };
        // One broadcast to both rooms: a socket in both (an admin's own order) gets it once.
        let rooms = [user_room(message.user_id.as_str()), ADMIN_ROOM.to_owned()];
        if let Err(err) = self.io.to(rooms).emit(STATUS_EVENT, &message).await {
            // Only the sockets named in the error (closing, or too far behind) missed it; sending
            // again would give the others a duplicate.
            tracing::warn!(order_id = %message.order_id, error = %err, "Some sockets could not be sent a status change.");
        }
        self.metrics.pushed(message.status.as_str(), message.at);
        tracing::debug!(order_id = %message.order_id, status = %message.status, "Pushed a status change.");
        Outcome::Ack
    }
}

#[async_trait::async_trait]
impl Listener for Gateway {
    /// Tells every connected client to read its orders again: changes published while the
    /// subscription was away are lost to this gateway.
    async fn missed(&self) {
        let message = Resync {
            reason: "live updates were interrupted; read your orders again".into(),
        };
        if let Err(err) = self.io.emit(RESYNC_EVENT, &message).await {
            tracing::warn!(error = %err, "Some sockets could not be told to read their orders again.");
        }
    }
}

impl Gateway {
    /// Tells the admins that a book's summary is settled.
    async fn summary_settled(&self, delivery: &Delivery) -> Outcome {
        let envelope = &delivery.envelope;
        let settled = match BookSummaryReady::read(envelope) {
            Ok(settled) => settled,
            Err(err) => return Outcome::Reject(err),
        };
        if self.seen_before(&envelope.id) {
            self.metrics.duplicates.inc();
            return Outcome::Ack;
        }
        let message = SummarySettled {
            event_id: envelope.id.clone(),
            book_id: settled.book_id,
            status: settled.status,
            method: settled.method,
            reason: settled.reason,
            at: settled.at,
        };
        if let Err(err) = self.io.to(ADMIN_ROOM).emit(SUMMARY_EVENT, &message).await {
            tracing::warn!(book_id = %message.book_id, error = %err, "Some admins could not be told of a summary.");
        }
        Outcome::Ack
    }
}

fn user_room(user_id: &str) -> String {
    format!("user:{user_id}")
}

/// Connect middleware: a valid access token in the handshake or no connection.
async fn authenticate(
    socket: SocketRef,
    State(verifier): State<Arc<TokenVerifier>>,
    State(metrics): State<GatewayMetrics>,
    TryData(auth): TryData<HandshakeAuth>,
) -> Result<(), Refusal> {
    let result = match auth.ok().and_then(|auth| auth.token) {
        None => Err(Refusal::MissingToken),
        Some(token) => verifier.verify(&token).map_err(|_| Refusal::InvalidToken),
    };
    match result {
        Ok(claims) => {
            socket.extensions.insert(Identity {
                user_id: claims.sub,
                admin: claims.role == Role::Admin,
                expires_at: claims.exp,
                session_id: claims.sid,
            });
            Ok(())
        }
        Err(refusal) => {
            metrics.refused(refusal.label());
            Err(refusal)
        }
    }
}

async fn on_connect(socket: SocketRef, State(metrics): State<GatewayMetrics>) {
    let Some(identity) = socket.extensions.get::<Identity>() else {
        // The middleware lets no socket through without an identity.
        let _ = socket.disconnect();
        return;
    };
    socket.join(user_room(&identity.user_id));
    if identity.admin {
        socket.join(ADMIN_ROOM);
    }
    metrics.sockets.inc();
    socket.on_disconnect(async |State(metrics): State<GatewayMetrics>| {
        metrics.sockets.dec();
    });
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn delivery(envelope: platform::messaging::Envelope) -> Delivery {
        Delivery {
            envelope,
            attempt: 1,
            first_failure_at: None,
            last_error: None,
        }
    }

    #[tokio::test]
    async fn events_of_an_unknown_schema_version_are_dead_lettered() {
        let keys = platform::auth::KeyPair::generate();
        let verifier = Arc::new(TokenVerifier::new(&keys.public()).unwrap());
        let (_layer, gateway) = Gateway::new(verifier, &platform::metrics::Metrics::new());
        let change = OrderStatusChanged {
            order_id: "o-1".into(),
            user_id: "u-1".into(),
            status: OrderStatus::Completed,
            reason: None,
            at: chrono::Utc::now(),
        };
        let known = delivery(change.envelope().unwrap());
        assert_eq!(gateway.handle(&known).await, Outcome::Ack);
        let mut future = delivery(change.envelope().unwrap());
        future.envelope.schema_version = OrderStatusChanged::VERSION + 1;
        let outcome = gateway.handle(&future).await;
        let got = format!(
            "got order.status_changed v{}",
            OrderStatusChanged::VERSION + 1
        );
        assert!(
            matches!(&outcome, Outcome::Reject(reason) if reason.contains(&got)),
            "{outcome:?}"
        );
    }
}
