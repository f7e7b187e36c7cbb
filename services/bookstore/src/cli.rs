//! The command line: `bookstore [all]`, one command per component, and the admin tools.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use std::time::Duration;

use platform::auth::{Role, ServiceToken};
use platform::config::{
    ConfigError, DatabaseArgs, GlobalArgs, ServeArgs, positive, seconds, secret,
};
use platform::messaging::RetryPolicy;
use platform::messaging::topology::Topology;
use users::UsersConfig;

#[derive(Debug, Parser)]
#[command(
    name = "bookstore",
    version,
    about = "An event-driven online bookstore.",
    propagate_version = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Every service in one process with embedded defaults (the default command).
    All(Box<AllArgs>),
    /// The users service alone (accounts and authentication).
    Users(UsersArgs),
    /// The catalogue service alone (with its stock read model fed from RabbitMQ).
    Catalog(CatalogArgs),
    /// The inventory service alone (with its outbox relay).
    Inventory(InventoryArgs),
    /// The orders service alone (with its outbox relay).
    Orders(OrdersArgs),
    /// The order worker alone (reserves stock and settles orders from RabbitMQ).
    Worker(WorkerArgs),
    /// The notification gateway alone (Socket.IO at /socket.io, status changes from RabbitMQ).
    Notifications(NotificationsArgs),
    /// The web shop alone: the storefront's files at `/` (the API is routed elsewhere).
    Storefront(StorefrontArgs),
    /// Apply, roll back or list schema migrations.
    Migrate {
        #[command(subcommand)]
        action: MigrateAction,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Print the OpenAPI document of the whole API (what `bookstore all` serves).
    Openapi,
    /// List, redrive or purge the dead letters of the RabbitMQ consumers.
    Dlq {
        #[command(subcommand)]
        action: DlqAction,
        #[command(flatten)]
        broker: BrokerArgs,
    },
    /// The Kubernetes operator, or (with a subcommand) the deployment files made from code.
    Operator(crate::commands::operator::OperatorArgs),
    /// Administrative tasks.
    Admin {
        #[command(subcommand)]
        action: AdminAction,
    },
}

#[derive(Debug, Subcommand)]
pub enum MigrateAction {
    /// Apply every pending migration.
    Up,
    /// Roll back the last `steps` migrations.
    Down {
        #[arg(long, default_value_t = 1)]
        steps: u32,
    },
    /// List migrations and whether each is applied.
    Status,
}

#[derive(Debug, Subcommand)]
pub enum AdminAction {
    /// Create an account with any role.
    CreateUser {
        #[arg(long)]
        email: String,
        /// The password (prefer --password-file or BOOKSTORE_NEW_USER_PASSWORD).
        #[arg(long, env = "BOOKSTORE_NEW_USER_PASSWORD", hide_env_values = true)]
        password: Option<String>,
        #[arg(long)]
        password_file: Option<PathBuf>,
        #[arg(long, default_value = "customer")]
        role: String,
        #[arg(long)]
        display_name: Option<String>,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Load the sample catalogue into an empty catalogue.
    Seed {
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum DlqAction {
    /// Count each consumer's dead letters and show the oldest, with their errors.
    List {
        /// Only this consumer (default: every consumer).
        #[arg(long)]
        consumer: Option<String>,
        /// Letters shown per consumer.
        #[arg(long, default_value_t = 10)]
        limit: usize,
    },
    /// Send dead letters back to their consumer's queue as fresh deliveries.
    Redrive {
        #[arg(long)]
        consumer: String,
        /// Most letters to move (default: all).
        #[arg(long)]
        limit: Option<usize>,
        /// Show what would move without moving it.
        #[arg(long)]
        dry_run: bool,
    },
    /// Delete a consumer's dead letters.
    Purge {
        #[arg(long)]
        consumer: String,
        /// Show how many would be deleted without deleting them.
        #[arg(long)]
        dry_run: bool,
    },
}

/// The message broker.
#[derive(Debug, Clone, Args)]
pub struct BrokerArgs {
    /// RabbitMQ URL, amqp://user:password@host:5672/vhost.
    #[arg(long, env = "AMQP_URL", hide_env_values = true)]
    pub amqp_url: Option<String>,
    #[arg(long, env = "AMQP_URL_FILE")]
    pub amqp_url_file: Option<PathBuf>,
    /// Prefix of every exchange and queue name, to share a broker between installations.
    #[arg(long, env = "BOOKSTORE_AMQP_NAMESPACE", default_value = "")]
    pub amqp_namespace: String,
    /// Back-off between attempts of a failing message, milliseconds, comma-separated; the last
    /// delay repeats. Every process sharing a broker must use the same tiers.
    #[arg(
        long,
        env = "BOOKSTORE_RETRY_DELAYS_MS",
        default_value = "1000,5000,30000,120000"
    )]
    pub retry_delays_ms: String,
    /// Attempts before a failing message goes to the dead-letter queue.
    #[arg(long, env = "BOOKSTORE_RETRY_MAX_ATTEMPTS", default_value = "8")]
    pub retry_max_attempts: String,
    /// Seconds a subscription's queue (a notification gateway's, say) waits for its process to
    /// come back after a lost connection; a longer absence is a gap its listeners are told of.
    #[arg(
        long,
        env = "BOOKSTORE_SUBSCRIPTION_EXPIRY_SECONDS",
        default_value = "60"
    )]
    pub subscription_expiry_seconds: String,
}

impl BrokerArgs {
    /// The broker URL, if one is configured.
    pub fn url(&self) -> Result<Option<String>, ConfigError> {
        let url = secret(
            "AMQP_URL",
            self.amqp_url.clone(),
            self.amqp_url_file.as_ref(),
        )?;
        match url {
            Some(url) if !(url.starts_with("amqp://") || url.starts_with("amqps://")) => Err(
                ConfigError::new("AMQP_URL", "must start with amqp:// or amqps://"),
            ),
            other => Ok(other),
        }
    }

    /// The broker URL of a component that cannot run without one.
    pub fn required_url(&self) -> Result<String, ConfigError> {
        self.url()?.ok_or_else(|| {
            ConfigError::new(
                "AMQP_URL",
                "is required for this command (or AMQP_URL_FILE)",
            )
        })
    }

    /// How long a subscription's queue outlives a lost connection.
    pub fn subscription_expiry(&self) -> Result<Duration, ConfigError> {
        seconds(
            "BOOKSTORE_SUBSCRIPTION_EXPIRY_SECONDS",
            &self.subscription_expiry_seconds,
            1,
        )
    }

    /// The standard topology with this configuration's namespace and retry policy.
    pub fn topology(&self) -> Result<Topology, ConfigError> {
        let delays = self
            .retry_delays_ms
            .split(',')
            .map(|ms| match ms.trim().parse::<u64>() {
                Ok(ms) if (1..=86_400_000).contains(&ms) => Ok(Duration::from_millis(ms)),
                _ => Err(ConfigError::new(
                    "BOOKSTORE_RETRY_DELAYS_MS",
                    format!("{ms:?} is not a delay in milliseconds (1 to 86400000)"),
                )),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let retry = RetryPolicy {
            delays,
            max_attempts: positive("BOOKSTORE_RETRY_MAX_ATTEMPTS", &self.retry_max_attempts)?,
        };
        let mut topology = contracts::consumers::topology(&self.namespace()?);
        for consumer in &mut topology.consumers {
            consumer.retry = retry.clone();
        }
        Ok(topology)
    }

    pub fn namespace(&self) -> Result<String, ConfigError> {
        let ns = &self.amqp_namespace;
        if ns.len() > 64
            || !ns
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err(ConfigError::new(
                "BOOKSTORE_AMQP_NAMESPACE",
                "at most 64 letters, digits, '-', '_' or '.'",
            ));
        }
        Ok(ns.clone())
    }
}

/// Where access-token keys come from.
#[derive(Debug, Clone, Args)]
pub struct KeyArgs {
    /// Ed25519 private key (PKCS#8 PEM) that signs access tokens.
    #[arg(long, env = "BOOKSTORE_JWT_PRIVATE_KEY", hide_env_values = true)]
    pub jwt_private_key: Option<String>,
    #[arg(long, env = "BOOKSTORE_JWT_PRIVATE_KEY_FILE")]
    pub jwt_private_key_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct VerifyArgs {
    /// Ed25519 public key (PEM) that verifies access tokens.
    #[arg(long, env = "BOOKSTORE_JWT_PUBLIC_KEY")]
    pub jwt_public_key: Option<String>,
    #[arg(long, env = "BOOKSTORE_JWT_PUBLIC_KEY_FILE")]
    pub jwt_public_key_file: Option<PathBuf>,
}

impl VerifyArgs {
    pub fn pem(&self) -> Result<String, ConfigError> {
        secret(
            "BOOKSTORE_JWT_PUBLIC_KEY",
            self.jwt_public_key.clone(),
            self.jwt_public_key_file.as_ref(),
        )?
        .ok_or_else(|| {
            ConfigError::new(
                "BOOKSTORE_JWT_PUBLIC_KEY",
                "is required (or BOOKSTORE_JWT_PUBLIC_KEY_FILE)",
            )
        })
    }
}

/// Tunables of the users service.
#[derive(Debug, Clone, Args)]
pub struct AuthArgs {
    #[arg(
        long,
        env = "BOOKSTORE_ACCESS_TOKEN_TTL_SECONDS",
        default_value = "900"
    )]
    pub access_token_ttl_seconds: String,
    /// A session unused this long ends (sliding expiry).
    #[arg(
        long,
        env = "BOOKSTORE_SESSION_IDLE_SECONDS",
        default_value = "1209600"
    )]
    pub session_idle_seconds: String,
    /// No session lasts longer than this.
    #[arg(long, env = "BOOKSTORE_SESSION_MAX_SECONDS", default_value = "7776000")]
    pub session_max_seconds: String,
    /// Sign-up and login attempts per client address per minute.
    #[arg(long, env = "BOOKSTORE_AUTH_RATE_PER_CLIENT", default_value = "30")]
    pub auth_rate_per_client: String,
    /// Login and sign-up attempts per account from one client per minute (ten times as many from
    /// all clients), and current-password checks per user per minute.
    #[arg(long, env = "BOOKSTORE_AUTH_RATE_PER_ACCOUNT", default_value = "10")]
    pub auth_rate_per_account: String,
    /// Trust the last X-Forwarded-For hop as the client address (only behind your own proxy).
    #[arg(long, env = "BOOKSTORE_TRUST_FORWARDED_FOR", default_value_t = false)]
    pub trust_forwarded_for: bool,
    /// Email of the first admin, created at start when absent.
    #[arg(long, env = "BOOKSTORE_ADMIN_EMAIL")]
    pub admin_email: Option<String>,
    #[arg(long, env = "BOOKSTORE_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<String>,
    #[arg(long, env = "BOOKSTORE_ADMIN_PASSWORD_FILE")]
    pub admin_password_file: Option<PathBuf>,
}

/// The first admin's credentials, when configured.
#[derive(Debug, Clone)]
pub struct AdminBootstrap {
    pub email: String,
    pub password: String,
}

impl AuthArgs {
    pub fn users_config(&self) -> Result<UsersConfig, ConfigError> {
        let config = UsersConfig {
            access_ttl: seconds(
                "BOOKSTORE_ACCESS_TOKEN_TTL_SECONDS",
                &self.access_token_ttl_seconds,
                30,
            )?,
            refresh_idle: seconds(
                "BOOKSTORE_SESSION_IDLE_SECONDS",
                &self.session_idle_seconds,
                60,
            )?,
            refresh_absolute: seconds(
                "BOOKSTORE_SESSION_MAX_SECONDS",
                &self.session_max_seconds,
                60,
            )?,
            rate_per_client: positive(
                "BOOKSTORE_AUTH_RATE_PER_CLIENT",
                &self.auth_rate_per_client,
            )?,
            rate_per_account: positive(
                "BOOKSTORE_AUTH_RATE_PER_ACCOUNT",
                &self.auth_rate_per_account,
            )?,
            trust_forwarded_for: self.trust_forwarded_for,
        };
        if config.refresh_absolute < config.refresh_idle {
            return Err(ConfigError::new(
                "BOOKSTORE_SESSION_MAX_SECONDS",
                "must not be shorter than BOOKSTORE_SESSION_IDLE_SECONDS",
            ));
        }
        Ok(config)
    }

    pub fn admin(&self) -> Result<Option<AdminBootstrap>, ConfigError> {
        let password = secret(
            "BOOKSTORE_ADMIN_PASSWORD",
            self.admin_password.clone(),
            self.admin_password_file.as_ref(),
        )?;
        match (self.admin_email.clone().filter(|e| !e.is_empty()), password) {
            (Some(email), Some(password)) => Ok(Some(AdminBootstrap { email, password })),
            (None, None) => Ok(None),
            (Some(_), None) => Err(ConfigError::new(
                "BOOKSTORE_ADMIN_PASSWORD",
                "is required when BOOKSTORE_ADMIN_EMAIL is set",
            )),
            (None, Some(_)) => Err(ConfigError::new(
                "BOOKSTORE_ADMIN_EMAIL",
                "is required when BOOKSTORE_ADMIN_PASSWORD is set",
            )),
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct AllArgs {
    #[command(flatten)]
    pub serve: ServeArgs,
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Folder for the embedded database, keys and uploads.
    #[arg(long, env = "BOOKSTORE_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    #[command(flatten)]
    pub keys: KeyArgs,
    #[command(flatten)]
    pub auth: AuthArgs,
    #[command(flatten)]
    pub tuning: WorkerTuning,
    #[command(flatten)]
    pub outbox: OutboxArgs,
    #[command(flatten)]
    pub order_limits: OrderLimitArgs,
    #[command(flatten)]
    pub object_store: ObjectStoreArgs,
    #[command(flatten)]
    pub summaries: SummaryArgs,
    #[command(flatten)]
    pub catalog_cache: CatalogCacheArgs,
}

#[derive(Debug, Clone, Args)]
pub struct UsersArgs {
    #[command(flatten)]
    pub serve: ServeArgs,
    #[command(flatten)]
    pub database: DatabaseArgs,
    #[command(flatten)]
    pub keys: KeyArgs,
    /// Where the users service announces ended sessions.
    #[command(flatten)]
    pub broker: BrokerArgs,
    #[command(flatten)]
    pub auth: AuthArgs,
}

#[derive(Debug, Clone, Args)]
pub struct CatalogArgs {
    #[command(flatten)]
    pub serve: ServeArgs,
    #[command(flatten)]
    pub database: DatabaseArgs,
    #[command(flatten)]
    pub verify: VerifyArgs,
    #[command(flatten)]
    pub broker: BrokerArgs,
    #[command(flatten)]
    pub object_store: ObjectStoreArgs,
    #[command(flatten)]
    pub service_token: ServiceTokenArgs,
    #[command(flatten)]
    pub outbox: OutboxArgs,
    #[command(flatten)]
    pub catalog_cache: CatalogCacheArgs,
    /// Base URL of the orders service, asked whether a customer bought a book before its
    /// document is handed out.
    #[arg(long, env = "BOOKSTORE_ORDERS_URL")]
    pub orders_url: String,
}

#[derive(Debug, Clone, Args)]
pub struct InventoryArgs {
    #[command(flatten)]
    pub serve: ServeArgs,
    #[command(flatten)]
    pub database: DatabaseArgs,
    #[command(flatten)]
    pub verify: VerifyArgs,
    #[command(flatten)]
    pub service_token: ServiceTokenArgs,
    #[command(flatten)]
    pub broker: BrokerArgs,
    #[command(flatten)]
    pub outbox: OutboxArgs,
}

#[derive(Debug, Clone, Args)]
pub struct OrdersArgs {
    #[command(flatten)]
    pub serve: ServeArgs,
    #[command(flatten)]
    pub database: DatabaseArgs,
    #[command(flatten)]
    pub verify: VerifyArgs,
    #[command(flatten)]
    pub service_token: ServiceTokenArgs,
    #[command(flatten)]
    pub broker: BrokerArgs,
    #[command(flatten)]
    pub outbox: OutboxArgs,
    #[command(flatten)]
    pub order_limits: OrderLimitArgs,
    /// Base URL of the catalogue service, where order lines are checked and priced.
    #[arg(long, env = "BOOKSTORE_CATALOG_URL")]
    pub catalog_url: String,
}

#[derive(Debug, Clone, Args)]
pub struct NotificationsArgs {
    #[command(flatten)]
    pub serve: ServeArgs,
    #[command(flatten)]
    pub verify: VerifyArgs,
    #[command(flatten)]
    pub broker: BrokerArgs,
}

#[derive(Debug, Args)]
pub struct StorefrontArgs {
    #[command(flatten)]
    pub serve: ServeArgs,
}

/// The service token that internal calls carry.
#[derive(Debug, Clone, Args)]
pub struct ServiceTokenArgs {
    /// Shared secret of service-to-service calls (at least 32 characters).
    #[arg(long, env = "BOOKSTORE_SERVICE_TOKEN", hide_env_values = true)]
    pub service_token: Option<String>,
    #[arg(long, env = "BOOKSTORE_SERVICE_TOKEN_FILE")]
    pub service_token_file: Option<PathBuf>,
}

impl ServiceTokenArgs {
    /// The configured token; `bookstore all` generates one when none is set.
    pub fn token(&self) -> Result<Option<ServiceToken>, ConfigError> {
        secret(
            "BOOKSTORE_SERVICE_TOKEN",
            self.service_token.clone(),
            self.service_token_file.as_ref(),
        )?
        .map(|raw| {
            ServiceToken::new(&raw).map_err(|err| ConfigError::new("BOOKSTORE_SERVICE_TOKEN", err))
        })
        .transpose()
    }

    pub fn required(&self) -> Result<ServiceToken, ConfigError> {
        self.token()?.ok_or_else(|| {
            ConfigError::new(
                "BOOKSTORE_SERVICE_TOKEN",
                "is required (or BOOKSTORE_SERVICE_TOKEN_FILE)",
            )
        })
    }
}

/// How long the outbox relays keep published events.
#[derive(Debug, Clone, Args)]
pub struct OutboxArgs {
    /// Seconds a published event stays in its outbox table, for inspection, before the relay
    /// deletes it (checked every minute; 0 deletes events at the first check after publishing).
    #[arg(
        long,
        env = "BOOKSTORE_OUTBOX_RETENTION_SECONDS",
        default_value = "86400"
    )]
    pub outbox_retention_seconds: String,
}

impl OutboxArgs {
    pub fn retention(&self) -> Result<Duration, ConfigError> {
        seconds(
            "BOOKSTORE_OUTBOX_RETENTION_SECONDS",
            &self.outbox_retention_seconds,
            0,
        )
    }
}

/// Where the catalogue keeps uploaded covers and documents.
#[derive(Debug, Clone, Args)]
pub struct ObjectStoreArgs {
    /// `s3://bucket[/prefix]` for an S3-compatible bucket, or a folder (`file:///path` or a
    /// plain path). Required by `bookstore catalog`; `bookstore all` uses `<data dir>/objects`.
    #[arg(long, env = "BOOKSTORE_OBJECT_STORE_URL")]
    pub object_store_url: Option<String>,
    /// The S3-compatible store's address, for anything but AWS (e.g. `http://minio:9000`).
    #[arg(long, env = "BOOKSTORE_S3_ENDPOINT")]
    pub s3_endpoint: Option<String>,
    /// The bucket's region (any value for stores that have none).
    #[arg(long, env = "BOOKSTORE_S3_REGION", default_value = "us-east-1")]
    pub s3_region: String,
    /// Access key id; unset, the store is called without credentials.
    #[arg(long, env = "BOOKSTORE_S3_ACCESS_KEY_ID")]
    pub s3_access_key_id: Option<String>,
    #[arg(long, env = "BOOKSTORE_S3_SECRET_ACCESS_KEY", hide_env_values = true)]
    pub s3_secret_access_key: Option<String>,
    #[arg(long, env = "BOOKSTORE_S3_SECRET_ACCESS_KEY_FILE")]
    pub s3_secret_access_key_file: Option<PathBuf>,
}

impl ObjectStoreArgs {
    /// The configured location, or `default` when none is set (an error without a default).
    pub fn location(
        &self,
        default: Option<PathBuf>,
    ) -> Result<catalog::storage::StorageLocation, ConfigError> {
        const VAR: &str = "BOOKSTORE_OBJECT_STORE_URL";
        if let Some(endpoint) = &self.s3_endpoint {
            service_url("BOOKSTORE_S3_ENDPOINT", endpoint)?;
        }
        let Some(url) = self
            .object_store_url
            .as_deref()
            .filter(|url| !url.is_empty())
        else {
            return default
                .map(catalog::storage::StorageLocation::Folder)
                .ok_or_else(|| {
                    ConfigError::new(
                        VAR,
                        "is required: s3://bucket[/prefix], or a folder that every replica shares",
                    )
                });
        };
        let secret = secret(
            "BOOKSTORE_S3_SECRET_ACCESS_KEY",
            self.s3_secret_access_key.clone(),
            self.s3_secret_access_key_file.as_ref(),
        )?;
        catalog::storage::StorageLocation::parse(url, |bucket, prefix| {
            catalog::storage::S3Settings {
                bucket,
                prefix,
                endpoint: self.s3_endpoint.clone(),
                region: self.s3_region.clone(),
                access_key_id: self.s3_access_key_id.clone(),
                secret_access_key: secret,
            }
        })
        .map_err(|err| ConfigError::new(VAR, err))
    }
}

/// The catalogue's response cache.
#[derive(Debug, Clone, Args)]
pub struct CatalogCacheArgs {
    /// Mebibytes of list pages and book details the catalogue keeps, compressed forms included.
    #[arg(long, env = "BOOKSTORE_CATALOG_CACHE_MAX_MIB", default_value = "64")]
    pub catalog_cache_max_mib: String,
    /// List pages and book details the catalogue keeps.
    #[arg(
        long,
        env = "BOOKSTORE_CATALOG_CACHE_MAX_ENTRIES",
        default_value = "10000"
    )]
    pub catalog_cache_max_entries: String,
    /// Longest a kept page is served: how long a replica may show a page that another process
    /// has changed since. 0 turns the cache off.
    #[arg(
        long,
        env = "BOOKSTORE_CATALOG_CACHE_MAX_AGE_SECONDS",
        default_value = "2"
    )]
    pub catalog_cache_max_age_seconds: String,
}

impl CatalogCacheArgs {
    pub fn settings(&self) -> Result<catalog::cache::CacheSettings, ConfigError> {
        Ok(catalog::cache::CacheSettings {
            max_bytes: u64::from(positive(
                "BOOKSTORE_CATALOG_CACHE_MAX_MIB",
                &self.catalog_cache_max_mib,
            )?) * 1024
                * 1024,
            max_entries: u64::from(positive(
                "BOOKSTORE_CATALOG_CACHE_MAX_ENTRIES",
                &self.catalog_cache_max_entries,
            )?),
            max_age: seconds(
                "BOOKSTORE_CATALOG_CACHE_MAX_AGE_SECONDS",
                &self.catalog_cache_max_age_seconds,
                0,
            )?,
        })
    }
}

/// What one customer may hold and place.
#[derive(Debug, Clone, Args)]
pub struct OrderLimitArgs {
    /// Units of one book a customer may hold in open orders (pending, or completed and not yet
    /// shipped).
    #[arg(
        long,
        env = "BOOKSTORE_ORDER_MAX_UNITS_PER_BOOK",
        default_value = "100"
    )]
    pub order_max_units_per_book: String,
    /// Units of all books a customer may hold in open orders.
    #[arg(long, env = "BOOKSTORE_ORDER_MAX_UNITS", default_value = "500")]
    pub order_max_units: String,
    /// Orders one customer may have pending at once.
    #[arg(long, env = "BOOKSTORE_ORDER_MAX_PENDING", default_value = "20")]
    pub order_max_pending: String,
    /// New orders one customer may place a minute (counted in each process).
    #[arg(long, env = "BOOKSTORE_ORDER_RATE_PER_MINUTE", default_value = "60")]
    pub order_rate_per_minute: String,
}

impl OrderLimitArgs {
    pub fn limits(&self) -> Result<orders::limits::OrderLimits, ConfigError> {
        Ok(orders::limits::OrderLimits {
            units_per_book: i64::from(positive(
                "BOOKSTORE_ORDER_MAX_UNITS_PER_BOOK",
                &self.order_max_units_per_book,
            )?),
            units: i64::from(positive(
                "BOOKSTORE_ORDER_MAX_UNITS",
                &self.order_max_units,
            )?),
            pending_orders: u64::from(positive(
                "BOOKSTORE_ORDER_MAX_PENDING",
                &self.order_max_pending,
            )?),
            orders_per_minute: positive(
                "BOOKSTORE_ORDER_RATE_PER_MINUTE",
                &self.order_rate_per_minute,
            )?,
        })
    }
}

/// How the worker processes messages.
#[derive(Debug, Clone, Args)]
pub struct WorkerTuning {
    /// Messages one worker process handles at once.
    // The worker batches the calls of the messages it holds, so this also caps its batches:
    // with 16, a backlog was worked off in batches too small to keep up with placing.
    #[arg(long, env = "BOOKSTORE_WORKER_CONCURRENCY", default_value = "64")]
    pub worker_concurrency: String,
    /// Longest a call to inventory or orders may take before it is retried later.
    #[arg(
        long,
        env = "BOOKSTORE_WORKER_CALL_TIMEOUT_SECONDS",
        default_value = "5"
    )]
    pub worker_call_timeout_seconds: String,
}

#[derive(Debug, Clone, Args)]
pub struct WorkerArgs {
    #[command(flatten)]
    pub serve: ServeArgs,
    #[command(flatten)]
    pub broker: BrokerArgs,
    #[command(flatten)]
    pub service_token: ServiceTokenArgs,
    #[command(flatten)]
    pub tuning: WorkerTuning,
    /// Base URL of the inventory service.
    #[arg(long, env = "BOOKSTORE_INVENTORY_URL")]
    pub inventory_url: String,
    /// Base URL of the orders service.
    #[arg(long, env = "BOOKSTORE_ORDERS_URL")]
    pub orders_url: String,
    /// Base URL of the catalogue service, where documents are read and summaries stored.
    #[arg(long, env = "BOOKSTORE_CATALOG_URL")]
    pub catalog_url: String,
    #[command(flatten)]
    pub summaries: SummaryArgs,
}

/// What writes books' summaries: a model behind an OpenAI-compatible API, or else the built-in
/// extractive summariser.
#[derive(Debug, Clone, Args)]
pub struct SummaryArgs {
    /// Base URL of an OpenAI-compatible API (`https://api.openai.com/v1`,
    /// `http://llama:8080/v1`). With it or a key, summaries come from that model; with neither,
    /// from the built-in extractive summariser.
    #[arg(long, env = "OPENAI_BASE_URL")]
    pub openai_base_url: Option<String>,
    /// The API key.
    #[arg(long, env = "OPENAI_API_KEY", hide_env_values = true)]
    pub openai_api_key: Option<String>,
    #[arg(long, env = "OPENAI_API_KEY_FILE")]
    pub openai_api_key_file: Option<PathBuf>,
    /// The model's name.
    #[arg(long, env = "BOOKSTORE_SUMMARY_MODEL", default_value = "gpt-4o-mini")]
    pub summary_model: String,
    /// Longest one call to the model may take.
    #[arg(long, env = "BOOKSTORE_SUMMARY_TIMEOUT_SECONDS", default_value = "120")]
    pub summary_timeout_seconds: String,
    /// Estimated tokens of document text per call.
    #[arg(long, env = "BOOKSTORE_SUMMARY_CHUNK_TOKENS", default_value = "1500")]
    pub summary_chunk_tokens: String,
    /// The most chunks of one book the model reads.
    #[arg(long, env = "BOOKSTORE_SUMMARY_MAX_CHUNKS", default_value = "24")]
    pub summary_max_chunks: String,
    /// The most tokens of one answer of the model.
    #[arg(
        long,
        env = "BOOKSTORE_SUMMARY_MAX_OUTPUT_TOKENS",
        default_value = "400"
    )]
    pub summary_max_output_tokens: String,
    /// Calls to the model one process makes at once.
    #[arg(long, env = "BOOKSTORE_SUMMARY_CONCURRENCY", default_value = "2")]
    pub summary_concurrency: String,
}

impl SummaryArgs {
    pub fn summariser(&self) -> Result<worker::summaries::Summariser, ConfigError> {
        let api_key = secret(
            "OPENAI_API_KEY",
            self.openai_api_key.clone(),
            self.openai_api_key_file.as_ref(),
        )?;
        let base_url = match self
            .openai_base_url
            .as_deref()
            .filter(|url| !url.is_empty())
        {
            Some(url) => Some(service_url("OPENAI_BASE_URL", url)?),
            None => None,
        };
        if base_url.is_none() && api_key.is_none() {
            return Ok(worker::summaries::Summariser::Extractive);
        }
        if self.summary_model.trim().is_empty() {
            return Err(ConfigError::new(
                "BOOKSTORE_SUMMARY_MODEL",
                "must name a model",
            ));
        }
        Ok(worker::summaries::Summariser::Model(
            worker::summaries::model::ModelSettings {
                base_url: base_url.unwrap_or_else(|| "https://api.openai.com/v1".to_owned()),
                api_key,
                model: self.summary_model.trim().to_owned(),
                timeout: seconds(
                    "BOOKSTORE_SUMMARY_TIMEOUT_SECONDS",
                    &self.summary_timeout_seconds,
                    1,
                )?,
                chunk_tokens: positive(
                    "BOOKSTORE_SUMMARY_CHUNK_TOKENS",
                    &self.summary_chunk_tokens,
                )? as usize,
                max_chunks: positive("BOOKSTORE_SUMMARY_MAX_CHUNKS", &self.summary_max_chunks)?
                    as usize,
                max_output_tokens: positive(
                    "BOOKSTORE_SUMMARY_MAX_OUTPUT_TOKENS",
                    &self.summary_max_output_tokens,
                )?,
                concurrency: positive("BOOKSTORE_SUMMARY_CONCURRENCY", &self.summary_concurrency)?
                    as usize,
            },
        ))
    }
}

/// A base URL of another service, checked and without a trailing slash.
pub fn service_url(var: &'static str, raw: &str) -> Result<String, ConfigError> {
    match url::Url::parse(raw) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {
            Ok(raw.trim_end_matches('/').to_owned())
        }
        _ => Err(ConfigError::new(
            var,
            format!("{raw:?} is not an http(s) URL such as http://orders:8080"),
        )),
    }
}

/// Parses a role name for `admin create-user`.
pub fn role(raw: &str) -> Result<Role, ConfigError> {
    raw.parse()
        .map_err(|err: String| ConfigError::new("--role", err))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn no_subcommand_means_all() {
        let cli = Cli::try_parse_from(["bookstore"]).unwrap();
        assert!(cli.command.is_none());
    }
}
