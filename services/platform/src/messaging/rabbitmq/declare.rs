//! Declaring the topology's exchanges, queues and bindings on the broker.

use lapin::options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{Channel, ExchangeKind};

use super::{string, unavailable};
use crate::messaging::BusError;
use crate::messaging::topology::{ArgValue, ExchangeType, Topology};

/// Declares the exchanges, queues and bindings of the topology (idempotent), exactly as
/// [`Topology::declarations`] lists them: the broker definitions are generated from the same list.
pub(super) async fn declare(channel: &Channel, topology: &Topology) -> Result<(), BusError> {
    let declarations = topology.declarations();
    let durable = ExchangeDeclareOptions {
        durable: true,
        ..Default::default()
    };
    for exchange in &declarations.exchanges {
        let kind = match exchange.kind {
            ExchangeType::Topic => ExchangeKind::Topic,
            ExchangeType::Direct => ExchangeKind::Direct,
        };
        channel
            .exchange_declare(
                exchange.name.as_str().into(),
                kind,
                durable,
                FieldTable::default(),
            )
            .await
            .map_err(unavailable)?;
    }
    let durable_queue = QueueDeclareOptions {
        durable: true,
        ..Default::default()
    };
    for queue in &declarations.queues {
        let mut args = FieldTable::default();
        for (key, value) in &queue.arguments {
            let value = match value {
                ArgValue::Str(text) => string(text),
                ArgValue::Int(number) => AMQPValue::LongUInt(*number),
            };
            args.insert((*key).into(), value);
        }
        channel
            .queue_declare(queue.name.as_str().into(), durable_queue, args)
            .await
            .map_err(unavailable)?;
    }
    for binding in &declarations.bindings {
        channel
            .queue_bind(
                binding.queue.as_str().into(),
                binding.exchange.as_str().into(),
                binding.routing_key.as_str().into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(unavailable)?;
    }
    Ok(())
}
