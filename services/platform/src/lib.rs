//! Shared plumbing for every bookstore component: configuration, telemetry, HTTP (errors,
//! extractors, health, metrics, shutdown), authentication, database connection and value types.

pub mod auth;
pub mod batch;
pub mod compression;
pub mod conditional;
pub mod config;
pub mod db;
pub mod error;
pub mod extract;
pub mod http;
pub mod messaging;
pub mod metrics;
pub mod money;
pub mod outbox;
pub mod pagination;
pub mod rate_limit;
pub mod readiness;
pub mod shutdown;
pub mod telemetry;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use error::{ApiError, ErrorCode};
