//! `bookstore`: parse the command line, set up logging, run the command.

use bookstore::cli::{Cli, Command};
use bookstore::commands;
use clap::Parser;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let telemetry = platform::telemetry::init(cli.global.log_format, service_name(&cli.command));
    let result = match cli.command {
        None => match Cli::try_parse_from(["bookstore", "all"]) {
            Ok(Cli {
                command: Some(Command::All(args)),
                ..
            }) => commands::all(*args).await,
            _ => Err(anyhow::anyhow!(
                "cannot read the configuration of `bookstore all`"
            )),
        },
        Some(Command::All(args)) => commands::all(*args).await,
        Some(Command::Users(args)) => commands::users(args).await,
        Some(Command::Catalog(args)) => commands::catalog(args).await,
        Some(Command::Inventory(args)) => commands::inventory(args).await,
        Some(Command::Orders(args)) => commands::orders(args).await,
        Some(Command::Worker(args)) => commands::worker(args).await,
        Some(Command::Notifications(args)) => commands::notifications(args).await,
        Some(Command::Storefront(args)) => commands::storefront(args).await,
        Some(Command::Migrate { action, database }) => commands::migrate(action, database).await,
        Some(Command::Admin { action }) => commands::admin(action).await,
        Some(Command::Openapi) => commands::openapi(),
        Some(Command::Dlq { action, broker }) => commands::dlq(action, broker).await,
        Some(Command::Operator(args)) => commands::operator(args).await,
    };
    telemetry.shutdown();
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::from(if err.is::<platform::config::ConfigError>() {
                2
            } else {
                1
            })
        }
    }
}

/// The name a process's traces carry (`bookstore-<name>`).
fn service_name(command: &Option<Command>) -> &'static str {
    match command {
        None | Some(Command::All(_)) => "all",
        Some(Command::Users(_)) => "users",
        Some(Command::Catalog(_)) => "catalog",
        Some(Command::Inventory(_)) => "inventory",
        Some(Command::Orders(_)) => "orders",
        Some(Command::Worker(_)) => "worker",
        Some(Command::Notifications(_)) => "notifications",
        Some(Command::Storefront(_)) => "storefront",
        Some(Command::Migrate { .. }) => "migrate",
        Some(Command::Admin { .. }) => "admin",
        Some(Command::Openapi) => "openapi",
        Some(Command::Dlq { .. }) => "dlq",
        Some(Command::Operator(_)) => "operator",
    }
}
