//! The least privileges the operator needs, as a ClusterRole generated into the chart: read
//! Bookstores and write their status; apply (create and patch) the objects it owns and watch
//! them; delete only the autoscalers it replaces; publish events. It reads and watches Secrets
//! only to hash the data of those the pods read into their template, so that a change rolls
//! them; it never writes one. Its leader Lease is granted apart, by name and in its own
//! namespace only (the chart's `operator-rbac.yaml`), since these rules may be bound
//! cluster-wide.

use k8s_openapi::api::rbac::v1::{ClusterRole, PolicyRule};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::crd::GROUP;

fn rule(group: &str, resources: &[&str], verbs: &[&str]) -> PolicyRule {
    PolicyRule {
        api_groups: Some(vec![group.to_owned()]),
        resources: Some(resources.iter().map(|r| (*r).to_owned()).collect()),
        verbs: verbs.iter().map(|v| (*v).to_owned()).collect(),
        ..PolicyRule::default()
    }
}

/// Reading and watching, for the controller's caches.
const WATCH: [&str; 3] = ["get", "list", "watch"];
/// Server-side apply: a PATCH, which creates the object when it does not exist yet.
const APPLY: [&str; 5] = ["get", "list", "watch", "create", "patch"];
const APPLY_AND_DELETE: [&str; 6] = ["get", "list", "watch", "create", "patch", "delete"];

/// The ClusterRole `bookstore-operator`. Bind it with a ClusterRoleBinding to watch every
/// namespace, or with a RoleBinding in one namespace together with
/// `BOOKSTORE_OPERATOR_NAMESPACE`.
pub fn cluster_role() -> ClusterRole {
    ClusterRole {
        metadata: ObjectMeta {
            name: Some("bookstore-operator".to_owned()),
            labels: Some(
                [
                    ("app.kubernetes.io/name", "bookstore"),
                    ("app.kubernetes.io/component", "operator"),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            ),
            ..ObjectMeta::default()
        },
        rules: Some(vec![
            rule(GROUP, &["bookstores"], &WATCH),
            rule(GROUP, &["bookstores/status"], &["get", "patch"]),
            rule("", &["configmaps", "services"], &APPLY),
            rule("apps", &["deployments"], &APPLY),
            rule("batch", &["jobs"], &APPLY),
            rule("policy", &["poddisruptionbudgets"], &APPLY),
            rule(
                "autoscaling",
                &["horizontalpodautoscalers"],
                &APPLY_AND_DELETE,
            ),
            rule(
                "keda.sh",
                &["scaledobjects", "triggerauthentications"],
                &APPLY_AND_DELETE,
            ),
            rule("", &["secrets"], &WATCH),
            rule("events.k8s.io", &["events"], &["create", "patch"]),
        ]),
        ..ClusterRole::default()
    }
}

/// The ClusterRole as YAML, with the header of a generated file.
pub fn cluster_role_yaml() -> Result<String, serde_yaml::Error> {
    let body = serde_yaml::to_string(&cluster_role())?;
    Ok(format!(
        "# Generated from services/operator/src/rbac.rs by `cargo xtask codegen`; do not edit.\n{body}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_operator_only_reads_secrets_and_deletes_only_autoscalers() {
        let rules = cluster_role().rules.unwrap();
        for rule in &rules {
            let resources = rule.resources.as_ref().unwrap();
            assert!(!resources.iter().any(|r| r == "*"));
            assert!(!rule.verbs.iter().any(|v| v == "*"));
            if resources.iter().any(|r| r == "secrets") {
                assert_eq!(resources, &["secrets"]);
                assert_eq!(rule.verbs, WATCH);
            }
            if rule.verbs.iter().any(|v| v == "delete") {
                assert!(resources.iter().all(|r| {
                    [
                        "horizontalpodautoscalers",
                        "scaledobjects",
                        "triggerauthentications",
                    ]
                    .contains(&r.as_str())
                }));
            }
        }
    }
}
