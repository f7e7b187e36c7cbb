//! Telling every process which sessions ended, so that their access tokens stop working within
//! seconds: at once when a session ends, and again every few seconds for every session ended
//! within an access token's lifetime (for a process that was starting or cut off from the bus).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use contracts::events::{Event, SessionsEnded};
use platform::auth::TokenVerifier;
use platform::messaging::Bus;
use platform::shutdown::ShutdownToken;
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QuerySelect};

use crate::entity::refresh_token;

/// How often the sessions ended recently are announced again. A process that missed an
/// announcement refuses the session's tokens at most this long (plus delivery) after it is
/// listening again.
pub const REPEAT_EVERY: Duration = Duration::from_secs(5);

/// Seconds past an access token's expiry that verifiers still accept it (their clock leeway).
const VERIFIER_LEEWAY: Duration = Duration::from_secs(5);

/// Announces ended sessions on the bus and to this process's own verifier.
#[derive(Clone)]
pub struct SessionEndings {
    bus: Arc<dyn Bus>,
    verifier: Arc<TokenVerifier>,
    /// How long an access token of an ended session may still be presented: its lifetime and
    /// the verifiers' leeway.
    refused_for: chrono::Duration,
}

impl SessionEndings {
    pub fn new(bus: Arc<dyn Bus>, verifier: Arc<TokenVerifier>, access_ttl: Duration) -> Self {
        Self {
            bus,
            verifier,
            refused_for: chrono::Duration::from_std(access_ttl + VERIFIER_LEEWAY)
                .unwrap_or(chrono::Duration::hours(1)),
        }
    }

    /// Refuses the sessions' access tokens here at once, and tells the other processes. The
    /// sessions are already revoked in the database, which the repeated announcements read: a
    /// publish that fails (the broker is down) is made good by the next one.
    pub async fn announce(&self, session_ids: Vec<String>) {
        if session_ids.is_empty() {
            return;
        }
        let ended = SessionsEnded {
            session_ids,
            refused_until: self.refused_until(Utc::now()),
        };
        self.verifier.end_sessions(
            ended.session_ids.iter().cloned(),
            ended.refused_until.timestamp(),
        );
        self.publish(&ended).await;
    }

    /// Announces every session ended within an access token's lifetime, every `every`
    /// ([`REPEAT_EVERY`] in the shop), until `shutdown`.
    pub async fn repeat(
        self,
        db: DatabaseConnection,
        every: Duration,
        mut shutdown: ShutdownToken,
    ) {
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(every) => {}
            }
            let now = Utc::now();
            match self.ended_since(&db, now).await {
                Ok(session_ids) if session_ids.is_empty() => {}
                Ok(session_ids) => {
                    let ended = SessionsEnded {
                        session_ids,
                        refused_until: self.refused_until(now),
                    };
                    self.publish(&ended).await;
                }
                Err(err) => {
                    tracing::warn!(error = %err, "Cannot read the sessions ended recently.");
                }
            }
        }
    }

    fn refused_until(&self, ended_at: DateTime<Utc>) -> DateTime<Utc> {
        ended_at + self.refused_for
    }

    /// The sessions revoked since their last access token could still be presented.
    async fn ended_since(
        &self,
        db: &DatabaseConnection,
        now: DateTime<Utc>,
    ) -> Result<Vec<String>, DbErr> {
        let since = now - self.refused_for;
        refresh_token::Entity::find()
            .select_only()
            .column(refresh_token::Column::FamilyId)
            .distinct()
            .filter(refresh_token::Column::RevokedAt.gt(since))
            .into_tuple()
            .all(db)
            .await
    }

    async fn publish(&self, ended: &SessionsEnded) {
        let envelope = match ended.envelope() {
            Ok(envelope) => envelope,
            Err(err) => {
                tracing::error!(error = %err, "Cannot encode the ended sessions.");
                return;
            }
        };
        if let Err(err) = self.bus.publish(&envelope).await {
            tracing::warn!(
                sessions = ended.session_ids.len(),
                error = %err,
                "Cannot announce ended sessions now; they are announced again within seconds."
            );
        }
    }
}
