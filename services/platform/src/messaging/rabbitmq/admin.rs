//! Dead-letter administration: listing, counting, redriving and purging; deleting the topology.

use chrono::Utc;
use lapin::Channel;
use lapin::options::{
    BasicAckOptions, BasicGetOptions, BasicNackOptions, ExchangeDeleteOptions, QueueDeclareOptions,
    QueueDeleteOptions, QueuePurgeOptions,
};
use lapin::types::{FieldTable, ShortString};

use super::settle::{header_string, header_time, header_u32, headers_of, read_delivery};
use super::{H_ATTEMPT, H_ERROR, H_FIRST_FAILURE, H_LAST_ERROR, RabbitBus, unavailable};
use crate::messaging::{BusError, DeadLetter, Envelope};

impl RabbitBus {
    /// Deletes every exchange and queue of the topology (test teardown, decommissioning).
    pub async fn delete_topology(&self) -> Result<(), BusError> {
        let channel = self.channel().await?;
        let declarations = self.0.topology.declarations();
        for queue in declarations.queues {
            channel
                .queue_delete(queue.name.into(), QueueDeleteOptions::default())
                .await
                .map_err(unavailable)?;
        }
        for exchange in declarations.exchanges {
            channel
                .exchange_delete(exchange.name.into(), ExchangeDeleteOptions::default())
                .await
                .map_err(unavailable)?;
        }
        let _ = channel.close(200, "topology deleted".into()).await;
        Ok(())
    }

    /// [`Bus::dead_letters`](crate::messaging::Bus::dead_letters), left in their queue.
    pub(super) async fn list_dead_letters(
        &self,
        consumer: &str,
        limit: usize,
    ) -> Result<Vec<DeadLetter>, BusError> {
        self.known(consumer)?;
        let channel = self.channel().await?;
        let messages = self
            .fetch(
                &channel,
                &self.0.topology.dead_letter_queue(consumer),
                limit,
            )
            .await?;
        let letters = messages.iter().map(dead_letter_of).collect();
        if let Some(last) = messages.last() {
            let requeue = BasicNackOptions {
                multiple: true,
                requeue: true,
            };
            last.nack(requeue).await.map_err(unavailable)?;
        }
        let _ = channel.close(200, "listing done".into()).await;
        Ok(letters)
    }

    /// [`Bus::dead_letter_count`](crate::messaging::Bus::dead_letter_count).
    pub(super) async fn count_dead_letters(&self, consumer: &str) -> Result<u64, BusError> {
        self.known(consumer)?;
        let channel = self.channel().await?;
        let queue = channel
            .queue_declare(
                self.0.topology.dead_letter_queue(consumer).into(),
                QueueDeclareOptions {
                    passive: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await
            .map_err(unavailable)?;
        let _ = channel.close(200, "count done".into()).await;
        Ok(u64::from(queue.message_count()))
    }

    /// [`Bus::redrive`](crate::messaging::Bus::redrive).
    pub(super) async fn redrive_dead_letters(
        &self,
        consumer: &str,
        limit: usize,
    ) -> Result<usize, BusError> {
        self.known(consumer)?;
        let channel = self.channel().await?;
        let messages = self
            .fetch(
                &channel,
                &self.0.topology.dead_letter_queue(consumer),
                limit,
            )
            .await?;
        let mut moved = 0;
        for message in &messages {
            // A fresh start: the failure history stays in the logs, not on the message.
            let mut headers = headers_of(&message.properties).inner().clone();
            for header in [
                H_ATTEMPT,
                H_FIRST_FAILURE,
                H_LAST_ERROR,
                H_ERROR,
                "x-death",
                "x-first-death-exchange",
                "x-first-death-queue",
                "x-first-death-reason",
                "x-last-death-exchange",
                "x-last-death-queue",
                "x-last-death-reason",
                "x-delivery-count",
            ] {
                headers.remove(&ShortString::from(header));
            }
            let properties = message
                .properties
                .clone()
                .with_headers(FieldTable::from(headers));
            self.publish_raw(
                "",
                &self.0.topology.queue(consumer),
                properties,
                &message.data,
            )
            .await?;
            message
                .ack(BasicAckOptions::default())
                .await
                .map_err(unavailable)?;
            moved += 1;
        }
        let _ = channel.close(200, "redrive done".into()).await;
        Ok(moved)
    }

    /// [`Bus::purge_dead_letters`](crate::messaging::Bus::purge_dead_letters).
    pub(super) async fn purge_dead_letter_queue(&self, consumer: &str) -> Result<u64, BusError> {
        self.known(consumer)?;
        let channel = self.channel().await?;
        let purged = channel
            .queue_purge(
                self.0.topology.dead_letter_queue(consumer).into(),
                QueuePurgeOptions::default(),
            )
            .await
            .map_err(unavailable)?;
        let _ = channel.close(200, "purge done".into()).await;
        Ok(u64::from(purged))
    }

    /// Takes up to `limit` messages from a queue, unacknowledged: the caller acks or returns them.
    async fn fetch(
        &self,
        channel: &Channel,
        queue: &str,
        limit: usize,
    ) -> Result<Vec<lapin::message::Delivery>, BusError> {
        let mut messages = Vec::new();
        while messages.len() < limit {
            match channel
                .basic_get(queue.into(), BasicGetOptions::default())
                .await
                .map_err(unavailable)?
            {
                Some(message) => messages.push(message.delivery),
                None => break,
            }
        }
        Ok(messages)
    }

    fn known(&self, consumer: &str) -> Result<(), BusError> {
        self.0
            .topology
            .consumer(consumer)
            .map(|_| ())
            .ok_or_else(|| BusError::UnknownConsumer(consumer.to_owned()))
    }
}

/// A dead letter as listed: the envelope as far as it can be read, and why it is there. A
/// message the broker dead-lettered itself (delivery limit) has no `x-error` of ours.
fn dead_letter_of(raw: &lapin::message::Delivery) -> DeadLetter {
    let headers = headers_of(&raw.properties);
    let envelope = match read_delivery(raw) {
        Ok(delivery) => delivery.envelope,
        Err(_) => Envelope {
            id: raw
                .properties
                .message_id()
                .as_ref()
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
            kind: raw
                .properties
                .kind()
                .as_ref()
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
            schema_version: 0,
            occurred_at: Utc::now(),
            traceparent: None,
            payload: raw.data.clone(),
        },
    };
    DeadLetter {
        error: header_string(&headers, H_ERROR)
            .unwrap_or_else(|| "delivery limit exceeded: the consumer never settled it".into()),
        attempts: header_u32(&headers, H_ATTEMPT)
            .or_else(|| header_u32(&headers, "x-delivery-count"))
            .unwrap_or(1),
        first_failure_at: header_time(&headers, H_FIRST_FAILURE),
        envelope,
    }
}
