//! Moving a renamed consumer's queues, and the messages they hold, to its successor's.

use lapin::Connection;
use lapin::options::{
    BasicAckOptions, BasicGetOptions, BasicPublishOptions, ConfirmSelectOptions, QueueDeleteOptions,
};
use lapin::types::FieldTable;

use super::{queue_counts, unavailable};
use crate::messaging::BusError;
use crate::messaging::topology::{LeftBehind, Moved, Topology};

/// Moves what a renamed consumer left behind to its successor, as the successor starts
/// consuming. The old main queue is unbound first, so that from then on every new event goes to
/// the successor only. Its queues are then emptied and deleted in order, unless a process of
/// the earlier version still consumes the old main queue: it drains what it holds, and the next
/// start of the successor moves the rest. The move stops at the first queue it cannot delete,
/// so a main queue always outlives the retry tiers that feed it. A queue already gone is done.
pub(super) async fn move_left_behind(
    connection: &Connection,
    topology: &Topology,
    left: &LeftBehind,
) -> Result<(), BusError> {
    if let Some((_, consumers)) = queue_counts(connection, &left.main).await? {
        let channel = connection.create_channel().await.map_err(unavailable)?;
        for routing_key in &left.bindings {
            channel
                .queue_unbind(
                    left.main.as_str().into(),
                    topology.events_exchange().as_str().into(),
                    routing_key.as_str().into(),
                    FieldTable::default(),
                )
                .await
                .map_err(unavailable)?;
        }
        let _ = channel.close(200, "renamed queue unbound".into()).await;
        if consumers > 0 {
            tracing::info!(queue = %left.main, consumers, "A renamed consumer's queue is still read by an earlier version; it is moved once its readers have stopped.");
            return Ok(());
        }
    }
    for moved in &left.queues {
        if !move_queue(connection, moved).await? {
            tracing::info!(queue = %moved.queue, "A renamed consumer's queue could not be emptied yet; it is moved on a later start.");
            break;
        }
    }
    Ok(())
}

/// Empties one queue into its destination, each message confirmed by the broker before the
/// original is acknowledged (never lost, at worst moved twice), and deletes it. Quorum queues
/// refuse a conditional delete, so emptiness is checked just before. `false`: the queue is
/// still there (a reader appeared, or a message arrived).
async fn move_queue(connection: &Connection, moved: &Moved) -> Result<bool, BusError> {
    if queue_counts(connection, &moved.queue).await?.is_none() {
        return Ok(true);
    }
    let channel = connection.create_channel().await.map_err(unavailable)?;
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .map_err(unavailable)?;
    let mut count = 0_u64;
    while let Some(message) = channel
        .basic_get(moved.queue.as_str().into(), BasicGetOptions::default())
        .await
        .map_err(unavailable)?
    {
        let confirm = channel
            .basic_publish(
                "".into(),
                moved.destination.as_str().into(),
                BasicPublishOptions::default(),
                &message.data,
                message.properties.clone(),
            )
            .await
            .map_err(unavailable)?
            .await
            .map_err(unavailable)?;
        if !confirm.is_ack() {
            return Err(BusError::Refused(format!(
                "the broker did not confirm a message moved to {}",
                moved.destination
            )));
        }
        message
            .ack(BasicAckOptions::default())
            .await
            .map_err(unavailable)?;
        count += 1;
    }
    let deleted = queue_counts(connection, &moved.queue).await? == Some((0, 0));
    if deleted {
        channel
            .queue_delete(moved.queue.as_str().into(), QueueDeleteOptions::default())
            .await
            .map_err(unavailable)?;
    }
    let _ = channel.close(200, "renamed queue moved".into()).await;
    tracing::info!(queue = %moved.queue, destination = %moved.destination, moved = count, deleted, "Moved a renamed consumer's queue.");
    Ok(deleted)
}
