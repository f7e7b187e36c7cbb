//! Settling a delivery (ack, retry through a delay tier, dead-letter) and reading its headers.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use lapin::BasicProperties;
use lapin::options::{BasicAckOptions, BasicNackOptions};
use lapin::types::{AMQPValue, FieldTable, ShortString};

use super::{
    H_ATTEMPT, H_ERROR, H_FIRST_FAILURE, H_LAST_ERROR, H_OCCURRED_AT, H_SCHEMA_VERSION,
    H_TRACEPARENT, RabbitBus, string,
};
use crate::messaging::{ConsumerSpec, Delivery, Envelope, Handler, Outcome, Settled};

impl RabbitBus {
    /// Handles one delivery and settles it: ack, retry through a delay queue, or dead-letter.
    pub(super) async fn process(
        &self,
        spec: &ConsumerSpec,
        handler: Arc<dyn Handler>,
        raw: lapin::message::Delivery,
    ) {
        let outcome = match read_delivery(&raw) {
            Ok(delivery) => {
                let attempt = delivery.attempt;
                let first_failure_at = delivery.first_failure_at;
                let outcome = crate::messaging::handle_in_trace(
                    handler,
                    delivery,
                    &spec.name,
                    &self.0.metrics,
                )
                .await;
                (outcome, attempt, first_failure_at)
            }
            Err(err) => (
                Outcome::Reject(format!("malformed message: {err}")),
                1,
                None,
            ),
        };
        let (outcome, attempt, first_failure_at) = outcome;
        let (settled, how) = match outcome {
            Outcome::Ack => (Ok(()), Settled::Ack),
            Outcome::Retry(error) if attempt < spec.retry.max_attempts => {
                let delay = spec.retry.delay_after(attempt);
                let queue = self.0.topology.retry_queue(&spec.name, delay);
                let mut headers = headers_of(&raw.properties);
                headers.insert(H_ATTEMPT.into(), AMQPValue::LongUInt(attempt + 1));
                headers.insert(
                    H_FIRST_FAILURE.into(),
                    string(&first_failure_at.unwrap_or_else(Utc::now).to_rfc3339()),
                );
                headers.insert(H_LAST_ERROR.into(), string(&truncate(&error)));
                let sent = self
                    .publish_raw(
                        "",
                        &queue,
                        raw.properties.clone().with_headers(headers),
                        &raw.data,
                    )
                    .await;
                (sent, Settled::Retry)
            }
            Outcome::Retry(error) | Outcome::Reject(error) => {
                tracing::warn!(consumer = %spec.name, message_id = ?raw.properties.message_id(), attempts = attempt, error = %error, "Message dead-lettered.");
                let mut headers = headers_of(&raw.properties);
                headers.insert(H_ATTEMPT.into(), AMQPValue::LongUInt(attempt));
                headers.insert(
                    H_FIRST_FAILURE.into(),
                    string(&first_failure_at.unwrap_or_else(Utc::now).to_rfc3339()),
                );
                headers.insert(H_ERROR.into(), string(&truncate(&error)));
                let exchange = self.0.topology.dead_letter_exchange();
                let sent = self
                    .publish_raw(
                        &exchange,
                        &spec.name,
                        raw.properties.clone().with_headers(headers),
                        &raw.data,
                    )
                    .await;
                (sent, Settled::DeadLetter)
            }
        };
        let result = match settled {
            Ok(()) => {
                self.0.metrics.settled(&spec.name, how);
                raw.ack(BasicAckOptions::default()).await
            }
            Err(err) => {
                // Could not hand the message on: give it back to the queue to be tried again.
                tracing::warn!(consumer = %spec.name, error = %err, "Could not settle a message; returning it to its queue.");
                raw.nack(BasicNackOptions {
                    requeue: true,
                    ..Default::default()
                })
                .await
            }
        };
        if let Err(err) = result {
            tracing::warn!(consumer = %spec.name, error = %err, "Acknowledgement failed; the broker will deliver the message again.");
        }
    }
}

fn truncate(error: &str) -> String {
    error.chars().take(2000).collect()
}

pub(super) fn headers_of(properties: &BasicProperties) -> FieldTable {
    properties.headers().clone().unwrap_or_default()
}

fn header<'a>(headers: &'a FieldTable, name: &str) -> Option<&'a AMQPValue> {
    headers.inner().get(&ShortString::from(name))
}

pub(super) fn header_string(headers: &FieldTable, name: &str) -> Option<String> {
    match header(headers, name)? {
        AMQPValue::LongString(s) => Some(String::from_utf8_lossy(s.as_bytes()).into_owned()),
        AMQPValue::ShortString(s) => Some(s.as_str().to_owned()),
        _ => None,
    }
}

pub(super) fn header_u32(headers: &FieldTable, name: &str) -> Option<u32> {
    match header(headers, name)? {
        AMQPValue::ShortShortUInt(n) => Some(u32::from(*n)),
        AMQPValue::ShortUInt(n) => Some(u32::from(*n)),
        AMQPValue::LongUInt(n) => Some(*n),
        AMQPValue::ShortShortInt(n) => u32::try_from(*n).ok(),
        AMQPValue::ShortInt(n) => u32::try_from(*n).ok(),
        AMQPValue::LongInt(n) => u32::try_from(*n).ok(),
        AMQPValue::LongLongInt(n) => u32::try_from(*n).ok(),
        _ => None,
    }
}

pub(super) fn header_time(headers: &FieldTable, name: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(&header_string(headers, name)?)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Reads an envelope and its delivery history from AMQP properties; a message without an id,
/// a type or a schema version is malformed.
pub(super) fn read_delivery(raw: &lapin::message::Delivery) -> Result<Delivery, String> {
    let properties = &raw.properties;
    let headers = headers_of(properties);
    let id = properties
        .message_id()
        .as_ref()
        .map(|s| s.as_str().to_owned())
        .filter(|s| !s.is_empty())
        .ok_or("no message id")?;
    let kind = properties
        .kind()
        .as_ref()
        .map(|s| s.as_str().to_owned())
        .filter(|s| !s.is_empty())
        .ok_or("no message type")?;
    let schema_version = header_u32(&headers, H_SCHEMA_VERSION).ok_or("no schema version")?;
    let occurred_at = header_time(&headers, H_OCCURRED_AT)
        .or_else(|| {
            let secs = properties.timestamp().as_ref().copied()?;
            DateTime::from_timestamp(i64::try_from(secs).ok()?, 0)
        })
        .unwrap_or_else(Utc::now);
    Ok(Delivery {
        envelope: Envelope {
            id,
            kind,
            schema_version,
            occurred_at,
            traceparent: header_string(&headers, H_TRACEPARENT),
            payload: raw.data.clone(),
        },
        attempt: header_u32(&headers, H_ATTEMPT).unwrap_or(1).max(1),
        first_failure_at: header_time(&headers, H_FIRST_FAILURE),
        last_error: header_string(&headers, H_LAST_ERROR),
    })
}
