//! The one-shot commands: migrations, admin tasks, dead letters and the OpenAPI document.

use anyhow::Context;
use migration::{Migrator, MigratorTrait};
use platform::config::{ConfigError, DatabaseArgs, secret};
use platform::messaging::rabbitmq::RabbitBus;
use platform::messaging::{Bus, DeadLetter};
use platform::outbox::Outbox;
use sea_orm::DatabaseConnection;

use super::{api_error, connect, require_current_schema};
use crate::cli::{self, AdminAction, BrokerArgs, DlqAction, MigrateAction};
use crate::shop;

/// `bookstore migrate up|down|status`.
pub async fn migrate(action: MigrateAction, database: DatabaseArgs) -> anyhow::Result<()> {
    let db = connect(&database, None).await?;
    match action {
        MigrateAction::Up => {
            let pending = Migrator::get_pending_migrations(&db).await?;
            println!("{} migration(s) to apply.", pending.len());
            for migration in pending {
                println!("  applying {}", migration.name());
                Migrator::up(&db, Some(1))
                    .await
                    .with_context(|| format!("migration {} failed", migration.name()))?;
            }
            println!("Schema is up to date.");
        }
        MigrateAction::Down { steps } => {
            let applied = Migrator::get_applied_migrations(&db).await?;
            for migration in applied.iter().rev().take(steps as usize) {
                println!("  rolling back {}", migration.name());
                Migrator::down(&db, Some(1))
                    .await
                    .with_context(|| format!("rollback of {} failed", migration.name()))?;
            }
            println!(
                "Rolled back {} migration(s).",
                applied.len().min(steps as usize)
            );
        }
        MigrateAction::Status => {
            for migration in Migrator::get_migration_with_status(&db).await? {
                println!(
                    "{:<8} {}",
                    format!("{:?}", migration.status()).to_lowercase(),
                    migration.name()
                );
            }
        }
    }
    Ok(())
}

/// `bookstore admin ...`.
pub async fn admin(action: AdminAction) -> anyhow::Result<()> {
    match action {
        AdminAction::CreateUser {
            email,
            password,
            password_file,
            role,
            display_name,
            database,
        } => {
            let role = cli::role(&role)?;
            let password = secret(
                "BOOKSTORE_NEW_USER_PASSWORD",
                password,
                password_file.as_ref(),
            )?
            .ok_or_else(|| ConfigError::new("--password", "is required (or --password-file)"))?;
            let db = connect(&database, None).await?;
            require_current_schema(&db).await?;
            let account = users::accounts::NewAccount::validate(
                &email,
                &password,
                display_name.as_deref(),
                role,
            )
            .map_err(api_error)?;
            let user = users::accounts::create(&db, account)
                .await
                .map_err(api_error)?;
            println!("Created {} {} ({}).", role.as_str(), user.email, user.id);
        }
        AdminAction::Seed { database } => {
            let db = connect(&database, None).await?;
            require_current_schema(&db).await?;
            let added = seed_sample(&db, &Outbox::new(inventory::OUTBOX_TABLE)).await?;
            if added == 0 {
                println!("The catalogue is not empty; nothing loaded.");
            } else {
                println!("Loaded {added} books.");
            }
        }
    }
    Ok(())
}

/// `bookstore dlq list|redrive|purge`: the dead letters of the RabbitMQ consumers.
pub async fn dlq(action: DlqAction, broker: BrokerArgs) -> anyhow::Result<()> {
    let topology = broker.topology()?;
    let bus = RabbitBus::new(&broker.required_url()?, topology.clone());
    let known = |name: &str| -> anyhow::Result<()> {
        if topology.consumer(name).is_some() {
            return Ok(());
        }
        let names: Vec<&str> = topology.consumers.iter().map(|c| c.name.as_str()).collect();
        Err(ConfigError::new(
            "--consumer",
            format!("unknown consumer {name:?}; consumers: {}", names.join(", ")),
        )
        .into())
    };
    match action {
        DlqAction::List { consumer, limit } => {
            if let Some(name) = &consumer {
                known(name)?;
            }
            for spec in topology
                .consumers
                .iter()
                .filter(|c| consumer.as_ref().is_none_or(|name| &c.name == name))
            {
                let count = bus.dead_letter_count(&spec.name).await?;
                println!("{}: {count} dead letter(s)", spec.name);
                for letter in bus.dead_letters(&spec.name, limit).await? {
                    print_letter(&letter);
                }
            }
        }
        DlqAction::Redrive {
            consumer,
            limit,
            dry_run,
        } => {
            known(&consumer)?;
            let limit = limit.unwrap_or(usize::MAX);
            if dry_run {
                let letters = bus.dead_letters(&consumer, limit).await?;
                println!(
                    "Would redrive {} dead letter(s) of {consumer}:",
                    letters.len()
                );
                letters.iter().for_each(print_letter);
            } else {
                let moved = bus.redrive(&consumer, limit).await?;
                println!("Redrove {moved} dead letter(s) of {consumer}.");
            }
        }
        DlqAction::Purge { consumer, dry_run } => {
            known(&consumer)?;
            if dry_run {
                println!(
                    "Would purge {} dead letter(s) of {consumer}.",
                    bus.dead_letter_count(&consumer).await?
                );
            } else {
                println!(
                    "Purged {} dead letter(s) of {consumer}.",
                    bus.purge_dead_letters(&consumer).await?
                );
            }
        }
    }
    Ok(())
}

fn print_letter(letter: &DeadLetter) {
    let first_failure = letter
        .first_failure_at
        .map(|t| t.to_rfc3339())
        .unwrap_or_else(|| "-".into());
    println!(
        "  {} {} attempts={} first_failure={} error={}",
        letter.envelope.id, letter.envelope.kind, letter.attempts, first_failure, letter.error
    );
}

/// `bookstore openapi`: the API description on standard output.
pub fn openapi() -> anyhow::Result<()> {
    let mut document = shop::openapi_document()?;
    // The committed copy (docs/openapi.json) says where it comes from.
    document.extensions = Some(
        utoipa::openapi::extensions::ExtensionsBuilder::new()
            .add(
                "x-generated",
                "by `cargo xtask codegen` from the code; do not edit",
            )
            .build(),
    );
    println!("{}", document.to_pretty_json()?);
    Ok(())
}

/// Loads the sample catalogue into an empty catalogue, and its stock into inventory.
pub(super) async fn seed_sample(
    db: &DatabaseConnection,
    inventory_outbox: &Outbox,
) -> anyhow::Result<usize> {
    let books = catalog::seed::seed_if_empty(db)
        .await
        .map_err(api_error)
        .context("cannot load the sample catalogue")?;
    let stock: Vec<(String, i64)> = books
        .iter()
        .map(|book| (book.id.clone(), book.stock))
        .collect();
    inventory::stock::seed(db, inventory_outbox, &stock)
        .await
        .map_err(api_error)
        .context("cannot load the sample stock")?;
    Ok(books.len())
}
