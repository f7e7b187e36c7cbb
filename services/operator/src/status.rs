//! The Bookstore's status conditions (Ready, Progressing, MigrationFailed, Degraded,
//! ReconcileFailed), worked out from the migration and the Deployments as the API server
//! returned them, and from a pass that failed.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

pub const READY: &str = "Ready";
pub const PROGRESSING: &str = "Progressing";
pub const MIGRATION_FAILED: &str = "MigrationFailed";
pub const DEGRADED: &str = "Degraded";
/// True while the last pass failed to apply or read something (its reason says what kind of
/// failure, its message the API server's answer); False once a pass succeeds.
pub const RECONCILE_FAILED: &str = "ReconcileFailed";
/// The conditions alerts watch: one of them True means the installation needs someone.
pub const FAILURES: [&str; 3] = [MIGRATION_FAILED, DEGRADED, RECONCILE_FAILED];

/// Where the migration of the version asked for stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Migration {
    /// Done in an earlier pass (the status records the version as current).
    Done,
    /// The Job succeeded in this pass: the new version may roll.
    Succeeded,
    /// The Job is still running (or waiting to be scheduled).
    Running { job: String },
    /// The Job gave up; the message says why.
    Failed { job: String, message: String },
}

impl Migration {
    /// Reads a migration Job as the API server returned it.
    pub fn of_job(job: &Job) -> Self {
        let name = job.metadata.name.clone().unwrap_or_default();
        let status = job.status.clone().unwrap_or_default();
        if status.succeeded.unwrap_or(0) > 0 {
            return Self::Succeeded;
        }
        let failed =
            status.conditions.unwrap_or_default().into_iter().find(|c| {
                (c.type_ == "Failed" || c.type_ == "FailureTarget") && c.status == "True"
            });
        match failed {
            Some(condition) => Self::Failed {
                job: name,
                message: condition
                    .message
                    .or(condition.reason)
                    .unwrap_or_else(|| "the Job failed".to_owned()),
            },
            None => Self::Running { job: name },
        }
    }

    pub fn is_done(&self) -> bool {
        matches!(self, Self::Done | Self::Succeeded)
    }
}

/// How one Deployment is doing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rollout {
    Available,
    Progressing,
    /// The Deployment controller reports a failure (quota, deadline exceeded).
    Failing(String),
}

impl Rollout {
    pub fn of_deployment(deployment: &Deployment) -> Self {
        let desired = deployment.spec.replicas.unwrap_or(1);
        let Some(status) = &deployment.status else {
            return Self::Progressing;
        };
        let conditions = status.conditions.clone().unwrap_or_default();
        let failing = conditions.iter().find(|c| {
            let (type_, status) = (c.type_.as_deref(), c.status.as_deref());
            (type_ == Some("ReplicaFailure") && status == Some("True"))
                || (type_ == Some("Progressing")
                    && status == Some("False")
                    && c.reason.as_deref() == Some("ProgressDeadlineExceeded"))
        });
        if let Some(condition) = failing {
            return Self::Failing(
                condition
                    .message
                    .clone()
                    .or_else(|| condition.type_.clone())
                    .unwrap_or_else(|| "the Deployment reports a failure".to_owned()),
            );
        }
        let generation = deployment.metadata.generation.unwrap_or(0);
        let observed = status.observed_generation.unwrap_or(0) >= generation;
        let updated = status.updated_replicas.unwrap_or(0) >= desired;
        let available = status.available_replicas.unwrap_or(0) >= desired;
        // Pods of the previous ReplicaSet still running mean the rollout is not over.
        let no_old_pods = status.replicas.unwrap_or(0) <= desired;
        if observed && updated && available && no_old_pods {
            Self::Available
        } else {
            Self::Progressing
        }
    }
}

/// What the conditions are computed from.
pub struct Observed<'a> {
    pub generation: Option<i64>,
    pub version: &'a str,
    pub migration: &'a Migration,
    /// Each component's rollout; empty when no Deployment was applied (first install waiting
    /// for its migration).
    pub rollouts: &'a [(&'static str, Rollout)],
}

/// The four conditions, keeping each one's last transition time while its status stays.
pub fn conditions(observed: &Observed<'_>, previous: &[Condition], now: Time) -> Vec<Condition> {
    let failing: Vec<String> = observed
        .rollouts
        .iter()
        .filter_map(|(name, rollout)| match rollout {
            Rollout::Failing(message) => Some(format!("{name}: {message}")),
            _ => None,
        })
        .collect();
    let rolling: Vec<&str> = observed
        .rollouts
        .iter()
        .filter(|(_, rollout)| *rollout != Rollout::Available)
        .map(|(name, _)| *name)
        .collect();
    let version = observed.version;
    let all_available =
        observed.migration.is_done() && !observed.rollouts.is_empty() && rolling.is_empty();

    let ready = if all_available {
        (
            true,
            "AllComponentsAvailable",
            format!("version {version} is available"),
        )
    } else {
        match observed.migration {
            Migration::Failed { job, .. } => (
                false,
                "MigrationFailed",
                format!("the migration Job {job} of version {version} failed"),
            ),
            Migration::Running { job } => (
                false,
                "MigrationRunning",
                format!("waiting for the migration Job {job} of version {version}"),
            ),
            Migration::Done | Migration::Succeeded => (
                false,
                "ComponentsNotAvailable",
                format!("not yet available: {}", rolling.join(", ")),
            ),
        }
    };
    let progressing = match observed.migration {
        Migration::Running { job } => (
            true,
            "MigrationRunning",
            format!("running the migration Job {job} of version {version}"),
        ),
        Migration::Failed { .. } => (
            false,
            "MigrationFailed",
            format!("version {version} does not roll out until its migration succeeds"),
        ),
        Migration::Done | Migration::Succeeded if !rolling.is_empty() => (
            true,
            "RollingOut",
            format!("rolling out version {version}: {}", rolling.join(", ")),
        ),
        Migration::Done | Migration::Succeeded => (
            false,
            "RolloutComplete",
            format!("version {version} is rolled out"),
        ),
    };
    let migration_failed = match observed.migration {
        Migration::Failed { job, message } => (
            true,
            "JobFailed",
            format!("the migration Job {job} failed: {message}; delete it to run it again"),
        ),
        _ => (false, "NoFailure", "no migration failed".to_owned()),
    };
    let degraded = if failing.is_empty() {
        (
            false,
            "NoFailure",
            "no component reports a failure".to_owned(),
        )
    } else {
        (true, "ComponentsFailing", failing.join("; "))
    };

    [
        (READY, ready),
        (PROGRESSING, progressing),
        (MIGRATION_FAILED, migration_failed),
        (DEGRADED, degraded),
        (
            RECONCILE_FAILED,
            (false, "Reconciled", "every object was applied".to_owned()),
        ),
    ]
    .into_iter()
    .map(|(type_, (status, reason, message))| {
        condition(
            previous,
            type_,
            status,
            reason,
            message,
            observed.generation,
            &now,
        )
    })
    .collect()
}

/// The conditions after a pass that failed: those of the last pass that got through, with
/// `ReconcileFailed` True for `generation`, saying why.
pub fn failed_pass(
    previous: &[Condition],
    generation: Option<i64>,
    reason: &str,
    message: &str,
    now: Time,
) -> Vec<Condition> {
    let failed = condition(
        previous,
        RECONCILE_FAILED,
        true,
        reason,
        message.to_owned(),
        generation,
        &now,
    );
    previous
        .iter()
        .filter(|c| c.type_ != RECONCILE_FAILED)
        .cloned()
        .chain(std::iter::once(failed))
        .collect()
}

/// One condition, keeping its last transition time while its status stays.
fn condition(
    previous: &[Condition],
    type_: &str,
    status: bool,
    reason: &str,
    message: String,
    generation: Option<i64>,
    now: &Time,
) -> Condition {
    let status = if status { "True" } else { "False" }.to_owned();
    let last_transition_time = previous
        .iter()
        .find(|c| c.type_ == type_ && c.status == status)
        .map(|c| c.last_transition_time.clone())
        .unwrap_or_else(|| now.clone());
    Condition {
        type_: type_.to_owned(),
        status,
        reason: reason.to_owned(),
        message,
        observed_generation: generation,
        last_transition_time,
    }
}

/// Whether the condition of `type_` is True.
pub fn is_true(conditions: &[Condition], type_: &str) -> bool {
    conditions
        .iter()
        .any(|c| c.type_ == type_ && c.status == "True")
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::apps::v1::{DeploymentSpec, DeploymentStatus};
    use k8s_openapi::jiff::Timestamp;

    fn deployment(replicas: i32, updated: i32, available: i32, total: i32) -> Deployment {
        Deployment {
            spec: DeploymentSpec {
                replicas: Some(replicas),
                ..DeploymentSpec::default()
            },
            status: Some(DeploymentStatus {
                replicas: Some(total),
                updated_replicas: Some(updated),
                available_replicas: Some(available),
                ..DeploymentStatus::default()
            }),
            ..Deployment::default()
        }
    }

    #[test]
    fn a_rollout_is_over_when_every_pod_is_new_and_available() {
        assert_eq!(
            Rollout::of_deployment(&deployment(2, 2, 2, 2)),
            Rollout::Available
        );
        assert_eq!(
            Rollout::of_deployment(&deployment(2, 2, 2, 3)),
            Rollout::Progressing
        );
        assert_eq!(
            Rollout::of_deployment(&deployment(2, 1, 2, 2)),
            Rollout::Progressing
        );
        assert_eq!(
            Rollout::of_deployment(&Deployment::default()),
            Rollout::Progressing
        );
    }

    #[test]
    fn transition_times_stay_while_a_status_stays() {
        let earlier = Time(Timestamp::from_second(1_000).unwrap());
        let now = Time(Timestamp::from_second(2_000).unwrap());
        let rollouts = [("users", Rollout::Available)];
        let observed = Observed {
            generation: Some(3),
            version: "1.0.0",
            migration: &Migration::Done,
            rollouts: &rollouts,
        };
        let first = conditions(&observed, &[], earlier.clone());
        let again = conditions(&observed, &first, now.clone());
        assert!(again.iter().all(|c| c.last_transition_time == earlier));
        assert!(is_true(&again, READY));
        let failing = [("users", Rollout::Failing("quota".into()))];
        let degraded = conditions(
            &Observed {
                rollouts: &failing,
                ..observed
            },
            &again,
            now.clone(),
        );
        let condition = degraded.iter().find(|c| c.type_ == DEGRADED).unwrap();
        assert_eq!(condition.status, "True");
        assert_eq!(condition.last_transition_time, now);
        assert_eq!(condition.observed_generation, Some(3));
    }
}
