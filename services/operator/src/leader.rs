//! Leader election through a `coordination.k8s.io` Lease: of the operator's replicas only the
//! one holding the Lease reconciles, the others wait to take it over, as client-go's leader
//! election does (same timings, same Lease fields).

use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, PostParams};
use platform::shutdown::ShutdownToken;

/// How long a Lease stays taken after its last renewal, as its holder writes it. A replica
/// takes over a Lease that nobody renewed for this long, e.g. when its holder's node was lost.
pub const LEASE_DURATION: Duration = Duration::from_secs(15);
/// How often a candidate tries to take the Lease and the leader renews it.
pub const RETRY_EVERY: Duration = Duration::from_secs(2);
/// How long the leader keeps reconciling without a successful renewal: less than the Lease's
/// duration, so it has stopped before anyone can take the Lease over.
pub const RENEW_DEADLINE: Duration = Duration::from_secs(10);

/// Which Lease, and who this instance is.
#[derive(Debug, Clone)]
pub struct LeaseSettings {
    pub namespace: String,
    pub name: String,
    /// The holder identity written into the Lease: the pod's name.
    pub identity: String,
}

/// The leader is gone from under this instance: it could not renew the Lease in time, or
/// another instance holds it.
#[derive(Debug, thiserror::Error)]
#[error("lost the leader Lease {namespace}/{name}: {reason}")]
pub struct LostLease {
    namespace: String,
    name: String,
    reason: &'static str,
}

/// One instance's part in the election.
pub struct Elector {
    api: Api<Lease>,
    settings: LeaseSettings,
    /// The Lease's resource version as last read, and when this instance first saw it. Expiry
    /// is judged on this instance's own clock (the record unchanged for the Lease's duration),
    /// never by comparing its clock with the holder's `renewTime`.
    observed: Option<(String, Instant)>,
    /// When the last successful write of the Lease as ours started: the Lease can be no older.
    renewed: Instant,
}

impl Elector {
    pub fn new(client: kube::Client, settings: LeaseSettings) -> Self {
        Self {
            api: Api::namespaced(client, &settings.namespace),
            settings,
            observed: None,
            renewed: Instant::now(),
        }
    }

    /// Waits until this instance holds the Lease; false if `shutdown` came first.
    pub async fn acquire(&mut self, shutdown: &mut ShutdownToken) -> bool {
        let mut waiting_logged = false;
        loop {
            match self.try_acquire_or_renew().await {
                Ok(true) => {
                    tracing::info!(lease = %self.settings.name, identity = %self.settings.identity, "Leading: this instance holds the Lease.");
                    return true;
                }
                Ok(false) if !waiting_logged => {
                    tracing::info!(lease = %self.settings.name, "Another instance leads; waiting to take over.");
                    waiting_logged = true;
                }
                Ok(false) => {}
                Err(err) => tracing::warn!(error = %err, "Cannot read or take the Lease."),
            }
            tokio::select! {
                () = shutdown.cancelled() => return false,
                () = tokio::time::sleep(RETRY_EVERY) => {}
            }
        }
    }

    /// Renews the Lease every [`RETRY_EVERY`] while this instance leads; returns once it no
    /// longer may lead: another instance holds the Lease, or [`RENEW_DEADLINE`] passed since
    /// the start of the last renewal that succeeded (no attempt runs past it).
    pub async fn keep(&mut self) -> LostLease {
        loop {
            let deadline = self.renewed + RENEW_DEADLINE;
            tokio::time::sleep_until((Instant::now() + RETRY_EVERY).min(deadline).into()).await;
            let limit = (Instant::now() + RETRY_EVERY).min(deadline);
            match tokio::time::timeout_at(limit.into(), self.try_acquire_or_renew()).await {
                Ok(Ok(true)) => {}
                Ok(Ok(false)) => return self.lost("another instance holds it"),
                Ok(Err(err)) => tracing::warn!(error = %err, "Cannot renew the Lease."),
                Err(_) => tracing::warn!("Renewing the Lease takes too long."),
            }
            if Instant::now() >= self.renewed + RENEW_DEADLINE {
                return self.lost("it could not be renewed in time");
            }
        }
    }

    /// Gives the Lease up (on a clean stop), so the next instance takes over at once instead of
    /// after [`LEASE_DURATION`]. Best effort: if it fails, the Lease simply expires.
    pub async fn release(&mut self) {
        let result = async {
            let Some(mut lease) = self.api.get_opt(&self.settings.name).await? else {
                return Ok(());
            };
            let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
            if spec.holder_identity.as_deref() != Some(self.settings.identity.as_str()) {
                return Ok(());
            }
            spec.holder_identity = None;
            spec.lease_duration_seconds = Some(1);
            spec.renew_time = Some(now());
            self.api
                .replace(&self.settings.name, &PostParams::default(), &lease)
                .await
                .map(|_| ())
        }
        .await;
        match result {
            Ok(()) => tracing::info!(lease = %self.settings.name, "Released the Lease."),
            Err(err) => tracing::warn!(error = %err, "Cannot release the Lease; it expires."),
        }
    }

    fn lost(&self, reason: &'static str) -> LostLease {
        LostLease {
            namespace: self.settings.namespace.clone(),
            name: self.settings.name.clone(),
            reason,
        }
    }

    /// One step of the election: takes the Lease when it is free, expired or already ours, and
    /// renews it then. Ok(false) while another instance holds it, or when another took it in
    /// the same moment (the write of a stale resource version conflicts).
    async fn try_acquire_or_renew(&mut self) -> Result<bool, kube::Error> {
        let started = Instant::now();
        let identity = self.settings.identity.clone();
        let Some(mut lease) = self.api.get_opt(&self.settings.name).await? else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(self.settings.name.clone()),
                    namespace: Some(self.settings.namespace.clone()),
                    ..ObjectMeta::default()
                },
                spec: Some(LeaseSpec {
                    holder_identity: Some(identity),
                    lease_duration_seconds: Some(lease_seconds()),
                    acquire_time: Some(now()),
                    renew_time: Some(now()),
                    lease_transitions: Some(0),
                    ..LeaseSpec::default()
                }),
            };
            let created = self.api.create(&PostParams::default(), &lease).await;
            return self.written(created, started);
        };
        let version = lease.metadata.resource_version.clone().unwrap_or_default();
        let first_seen = match &self.observed {
            Some((seen, at)) if *seen == version => *at,
            _ => Instant::now(),
        };
        self.observed = Some((version, first_seen));
        let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
        let holder = spec.holder_identity.clone().unwrap_or_default();
        let ours = holder == identity;
        let duration = Duration::from_secs(
            u64::try_from(spec.lease_duration_seconds.unwrap_or(0)).unwrap_or(0),
        );
        let free = holder.is_empty() || first_seen.elapsed() >= duration;
        if !ours && !free {
            return Ok(false);
        }
        if !ours {
            spec.acquire_time = Some(now());
            spec.lease_transitions = Some(spec.lease_transitions.unwrap_or(0).saturating_add(1));
        }
        spec.holder_identity = Some(identity);
        spec.lease_duration_seconds = Some(lease_seconds());
        spec.renew_time = Some(now());
        // The resource version read above travels with the object, so the write fails with a
        // conflict if anyone wrote the Lease in between.
        let written = self
            .api
            .replace(&self.settings.name, &PostParams::default(), &lease)
            .await;
        self.written(written, started)
    }

    /// Whether the write of the Lease as ours, started at `started`, went through: false when
    /// another instance's write came first (409: a stale resource version, or a Lease created
    /// in the meantime).
    fn written(
        &mut self,
        result: Result<Lease, kube::Error>,
        started: Instant,
    ) -> Result<bool, kube::Error> {
        match result {
            Ok(lease) => {
                let version = lease.metadata.resource_version.clone().unwrap_or_default();
                self.observed = Some((version, Instant::now()));
                self.renewed = started;
                Ok(true)
            }
            Err(kube::Error::Api(status)) if status.is_conflict() || status.is_already_exists() => {
                Ok(false)
            }
            Err(err) => Err(err),
        }
    }
}

fn lease_seconds() -> i32 {
    i32::try_from(LEASE_DURATION.as_secs()).unwrap_or(i32::MAX)
}

fn now() -> MicroTime {
    MicroTime(Timestamp::now())
}
