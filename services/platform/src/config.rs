//! Configuration shared by every component: environment variables with CLI flags over them,
//! secrets also from files (`*_FILE`), and validation that names the variable at fault.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use axum::http::HeaderValue;

use crate::http::ConnectionLimits;
use crate::telemetry::LogFormat;

/// A configuration value that cannot be used. Displayed as one line naming the variable.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {var}: {message}")]
pub struct ConfigError {
    pub var: &'static str,
    pub message: String,
}

impl ConfigError {
    pub fn new(var: &'static str, message: impl Into<String>) -> Self {
        Self {
            var,
            message: message.into(),
        }
    }
}

/// Settings every process has.
#[derive(Debug, Clone, clap::Args)]
pub struct GlobalArgs {
    /// Log format: auto (text on a terminal, JSON otherwise), text or json.
    #[arg(
        long,
        env = "BOOKSTORE_LOG_FORMAT",
        default_value = "auto",
        global = true
    )]
    pub log_format: LogFormat,
}

/// Settings of a process that serves HTTP.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on (host:port).
    #[arg(long, env = "BOOKSTORE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Browser origins allowed to call the API with credentials, comma-separated.
    #[arg(long, env = "BOOKSTORE_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,
    /// Longest a request may take before it is answered 504.
    #[arg(long, env = "BOOKSTORE_REQUEST_TIMEOUT_SECONDS", default_value = "30")]
    pub request_timeout_seconds: String,
    /// How long readiness reports "draining" before the listener closes on shutdown.
    #[arg(long, env = "BOOKSTORE_DRAIN_SECONDS", default_value = "0")]
    pub drain_seconds: String,
    /// Time a client has to send a request's headers (and the longest a keep-alive connection
    /// may sit idle) before the connection is closed.
    #[arg(
        long,
        env = "BOOKSTORE_HEADER_READ_TIMEOUT_SECONDS",
        default_value = "10"
    )]
    pub header_read_timeout_seconds: String,
    /// Connections served at once (default: three quarters of the open-file limit).
    #[arg(long, env = "BOOKSTORE_MAX_CONNECTIONS")]
    pub max_connections: Option<String>,
}

/// Validated [`ServeArgs`].
#[derive(Debug, Clone)]
pub struct ServeSettings {
    pub listen: SocketAddr,
    pub cors_origins: Vec<HeaderValue>,
    pub request_timeout: Duration,
    pub drain_delay: Duration,
    pub connection_limits: ConnectionLimits,
}

impl ServeArgs {
    pub fn validate(&self) -> Result<ServeSettings, ConfigError> {
        let listen = self.listen.parse().map_err(|_| {
            ConfigError::new(
                "BOOKSTORE_LISTEN",
                format!(
                    "{:?} is not a host:port address such as 127.0.0.1:8080",
                    self.listen
                ),
            )
        })?;
        let cors_origins = self
            .cors_origins
            .iter()
            .map(|origin| origin.trim())
            .filter(|origin| !origin.is_empty())
            .map(|origin| {
                let valid = url::Url::parse(origin)
                    .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.path() == "/")
                    && !origin.ends_with('/');
                HeaderValue::from_str(origin)
                    .ok()
                    .filter(|_| valid)
                    .ok_or_else(|| {
                        ConfigError::new(
                            "BOOKSTORE_CORS_ORIGINS",
                            format!("{origin:?} is not an origin such as https://shop.example.com"),
                        )
                    })
            })
            .collect::<Result<_, _>>()?;
        Ok(ServeSettings {
            listen,
            cors_origins,
            request_timeout: seconds(
                "BOOKSTORE_REQUEST_TIMEOUT_SECONDS",
                &self.request_timeout_seconds,
                1,
            )?,
            drain_delay: seconds("BOOKSTORE_DRAIN_SECONDS", &self.drain_seconds, 0)?,
            connection_limits: ConnectionLimits {
                header_read_timeout: seconds(
                    "BOOKSTORE_HEADER_READ_TIMEOUT_SECONDS",
                    &self.header_read_timeout_seconds,
                    1,
                )?,
                max_connections: match &self.max_connections {
                    Some(value) => positive("BOOKSTORE_MAX_CONNECTIONS", value)? as usize,
                    None => ConnectionLimits::default_max_connections(),
                },
            },
        })
    }
}

/// The database of a component.
#[derive(Debug, Clone, clap::Args)]
pub struct DatabaseArgs {
    /// Database URL: sqlite://PATH, postgres://... or mysql://...
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// File holding the database URL (for secrets mounted as files).
    #[arg(long, env = "DATABASE_URL_FILE")]
    pub database_url_file: Option<PathBuf>,
    /// Connections in the pool.
    #[arg(long, env = "DATABASE_MAX_CONNECTIONS", default_value = "10")]
    pub database_max_connections: String,
}

impl DatabaseArgs {
    /// The configured URL, or `default` (the embedded database) when none is set. Without a
    /// default, a missing URL is an error.
    pub fn url(&self, default: Option<String>) -> Result<String, ConfigError> {
        let url = secret(
            "DATABASE_URL",
            self.database_url.clone(),
            self.database_url_file.as_ref(),
        )?
        .or(default)
        .ok_or_else(|| {
            ConfigError::new(
                "DATABASE_URL",
                "is required for this component (or DATABASE_URL_FILE)",
            )
        })?;
        if ![
            "sqlite:",
            "postgres://",
            "postgresql://",
            "mysql://",
            "mariadb://",
        ]
        .iter()
        .any(|p| url.starts_with(p))
        {
            return Err(ConfigError::new(
                "DATABASE_URL",
                "must start with sqlite:, postgres:// or mysql://",
            ));
        }
        Ok(url.replacen("mariadb://", "mysql://", 1))
    }

    pub fn max_connections(&self) -> Result<u32, ConfigError> {
        match self.database_max_connections.parse::<u32>() {
            Ok(n) if (1..=1000).contains(&n) => Ok(n),
            _ => Err(ConfigError::new(
                "DATABASE_MAX_CONNECTIONS",
                "must be a whole number from 1 to 1000",
            )),
        }
    }
}

/// A secret from its variable or from the file its `_FILE` variable names (one of the two).
pub fn secret(
    var: &'static str,
    value: Option<String>,
    file: Option<&PathBuf>,
) -> Result<Option<String>, ConfigError> {
    match (value.filter(|v| !v.is_empty()), file) {
        (Some(_), Some(_)) => Err(ConfigError::new(
            var,
            format!("set {var} or {var}_FILE, not both"),
        )),
        (Some(value), None) => Ok(Some(value)),
        (None, Some(path)) => std::fs::read_to_string(path)
            .map(|text| Some(text.trim_end_matches(['\n', '\r']).to_owned()))
            .map_err(|err| {
                ConfigError::new(
                    var,
                    format!("cannot read {var}_FILE {}: {err}", path.display()),
                )
            }),
        (None, None) => Ok(None),
    }
}

/// Parses a whole number of seconds of at least `min`.
pub fn seconds(var: &'static str, raw: &str, min: u64) -> Result<Duration, ConfigError> {
    match raw.trim().parse::<u64>() {
        Ok(secs) if secs >= min && secs <= 86_400 * 366 => Ok(Duration::from_secs(secs)),
        _ => Err(ConfigError::new(
            var,
            format!("{raw:?} is not a whole number of seconds (at least {min})"),
        )),
    }
}

/// Parses a positive whole number.
pub fn positive(var: &'static str, raw: &str) -> Result<u32, ConfigError> {
    match raw.trim().parse::<u32>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(ConfigError::new(
            var,
            format!("{raw:?} is not a positive whole number"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serve_args(listen: &str, cors: &[&str]) -> ServeArgs {
        ServeArgs {
            listen: listen.into(),
            cors_origins: cors.iter().map(|s| s.to_string()).collect(),
            request_timeout_seconds: "30".into(),
            drain_seconds: "0".into(),
            header_read_timeout_seconds: "10".into(),
            max_connections: None,
        }
    }

    #[test]
    fn bad_values_name_their_variable() {
        let err = serve_args("nonsense", &[]).validate().unwrap_err();
        assert_eq!(err.var, "BOOKSTORE_LISTEN");
        assert!(!err.to_string().contains('\n'));
        let err = serve_args("127.0.0.1:0", &["not a url"])
            .validate()
            .unwrap_err();
        assert_eq!(err.var, "BOOKSTORE_CORS_ORIGINS");
        let err = serve_args("127.0.0.1:0", &["https://shop.example.com/path"])
            .validate()
            .unwrap_err();
        assert_eq!(err.var, "BOOKSTORE_CORS_ORIGINS");
        assert_eq!(seconds("X", "-1", 0).unwrap_err().var, "X");
        assert!(positive("Y", "0").is_err());
    }

    #[test]
    fn good_values_parse() {
        let settings = serve_args(
            "0.0.0.0:9000",
            &["https://shop.example.com", " http://localhost:5173"],
        )
        .validate()
        .unwrap();
        assert_eq!(settings.listen.port(), 9000);
        assert_eq!(settings.cors_origins.len(), 2);
    }

    #[test]
    fn secrets_come_from_the_variable_or_the_file_not_both() {
        let path = std::env::temp_dir().join(format!(
            "bookstore-secret-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::write(&path, "s3cret\n").unwrap();
        assert_eq!(
            secret("S", None, Some(&path)).unwrap().as_deref(),
            Some("s3cret")
        );
        assert_eq!(
            secret("S", Some("v".into()), None).unwrap().as_deref(),
            Some("v")
        );
        assert!(secret("S", Some("v".into()), Some(&path)).is_err());
        assert!(secret("S", None, Some(&path.with_extension("missing"))).is_err());
        let _ = std::fs::remove_file(path);
    }

    #[test]
    fn database_url_schemes_are_checked() {
        let args = |url: &str| DatabaseArgs {
            database_url: Some(url.into()),
            database_url_file: None,
            database_max_connections: "10".into(),
        };
        assert!(args("redis://x").url(None).is_err());
        assert_eq!(
            args("mariadb://root@h/db").url(None).unwrap(),
            "mysql://root@h/db"
        );
        let none = DatabaseArgs {
            database_url: None,
            database_url_file: None,
            database_max_connections: "10".into(),
        };
        assert_eq!(none.url(None).unwrap_err().var, "DATABASE_URL");
        assert_eq!(
            none.url(Some("sqlite://d.db".into())).unwrap(),
            "sqlite://d.db"
        );
    }
}
