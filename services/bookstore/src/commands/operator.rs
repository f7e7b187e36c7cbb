//! `bookstore operator`: the Kubernetes operator, and the deployment files generated from code
//! (the CRD, the operator's ClusterRole, the RabbitMQ definitions) that `cargo xtask codegen`
//! writes into the chart.

use clap::{Args, Subcommand};
use platform::config::ServeArgs;
use platform::messaging::topology::Topology;

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
            let definitions = Topology::standard("").definitions();
            format!("{}\n", serde_json::to_string_pretty(&definitions)?)
        }
        None => {
            let settings = operator::Settings {
                serve: args.serve.validate()?,
                namespace: args.namespace.filter(|ns| !ns.is_empty()),
                instance: args.instance.filter(|i| !i.is_empty()),
            };
            return operator::run(settings).await;
        }
    };
    print!("{text}");
    Ok(())
}
