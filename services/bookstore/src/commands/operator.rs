//! `bookstore operator`: the Kubernetes operator, and the deployment files generated from code
//! (the CRD, the operator's ClusterRole, the RabbitMQ definitions) that `cargo xtask codegen`
//! writes into the chart.

use anyhow::Context as _;
use clap::{Args, Subcommand};
use platform::config::ServeArgs;

#[derive(Debug, Clone, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct OperatorArgs {
    #[command(subcommand)]
    pub print: Option<OperatorPrint>,
    #[command(flatten)]
    pub serve: ServeArgs,
    /// Reconcile the Bookstores of this namespace only (default: every namespace).
    #[arg(long, env = "BOOKSTORE_OPERATOR_NAMESPACE")]
    pub namespace: Option<String>,
    /// Name of this instance in the events it publishes (the pod's name).
    #[arg(long, env = "BOOKSTORE_OPERATOR_INSTANCE")]
    pub instance: Option<String>,
    /// Reconcile only while holding this coordination.k8s.io Lease (leader election, so that
    /// several replicas are safe); needs `--instance` as the holder's identity.
    #[arg(long, env = "BOOKSTORE_OPERATOR_LEASE", requires = "instance")]
    pub lease: Option<String>,
    /// Namespace of the Lease (default: `--namespace`).
    #[arg(long, env = "BOOKSTORE_OPERATOR_LEASE_NAMESPACE")]
    pub lease_namespace: Option<String>,
}

/// A generated file, printed to standard output.
#[derive(Debug, Clone, Subcommand)]
pub enum OperatorPrint {
    /// The Bookstore CustomResourceDefinition (YAML).
    Crd,
    /// The ClusterRole of the operator's least privileges (YAML).
    Rbac,
    /// The RabbitMQ definitions of the standard topology (JSON), for the broker to load at boot.
    RabbitmqDefinitions,
}

pub async fn operator(args: OperatorArgs) -> anyhow::Result<()> {
    let text = match args.print {
        Some(OperatorPrint::Crd) => operator::crd::crd_yaml()?,
        Some(OperatorPrint::Rbac) => operator::rbac::cluster_role_yaml()?,
        Some(OperatorPrint::RabbitmqDefinitions) => {
            let definitions = contracts::consumers::topology("").definitions();
            format!("{}\n", serde_json::to_string_pretty(&definitions)?)
        }
        None => {
            let namespace = args.namespace.filter(|ns| !ns.is_empty());
            let instance = args.instance.filter(|i| !i.is_empty());
            let lease = match args.lease.filter(|l| !l.is_empty()) {
                None => None,
                Some(name) => Some(operator::leader::LeaseSettings {
                    namespace: args
                        .lease_namespace
                        .filter(|ns| !ns.is_empty())
                        .or_else(|| namespace.clone())
                        .context(
                            "the Lease needs a namespace: set BOOKSTORE_OPERATOR_LEASE_NAMESPACE",
                        )?,
                    identity: instance.clone().context(
                        "the Lease needs this instance's name: set BOOKSTORE_OPERATOR_INSTANCE",
                    )?,
                    name,
                }),
            };
            let settings = operator::Settings {
                serve: args.serve.validate()?,
                namespace,
                instance,
                lease,
            };
            return operator::run(settings).await;
        }
    };
    print!("{text}");
    Ok(())
}
