//! Moving a renamed consumer's queues, and the messages they hold, to its successor's.

use lapin::Connection;
use lapin::options::{
    BasicAckOptions, BasicGetOptions, BasicPublishOptions, ConfirmSelectOptions, QueueDeleteOptions,
};
use lapin::types::FieldTable;

use super::{queue_counts, unavailable};
use crate::messaging::BusError;
use crate::messaging::topology::{LeftBehind, Moved, Topology};

/// Moves a renamed consumer's queues to its successor's, unless a process of the earlier
/// version still consumes them (then they are left for a later connection). Each queue is
/// unbound so that nothing new arrives, each message it holds is republished to the destination
/// and confirmed before the original is acknowledged (never lost, at worst moved twice), and the
/// queue is deleted once it is empty.
pub(super) async fn move_left_behind(
    connection: &Connection,
    topology: &Topology,
    left: &LeftBehind,
) -> Result<(), BusError> {
    match queue_counts(connection, &left.main).await? {
        None => return Ok(()),
        Some((_, consumers)) if consumers > 0 => {
            tracing::info!(queue = %left.main, consumers, "A renamed consumer's queue is still in use; it is moved once its readers have stopped.");
            return Ok(());
        }
        Some(_) => {}
    }
    for moved in &left.queues {
        move_queue(connection, topology, moved).await?;
    }
    Ok(())
}

/// Empties one queue into its destination and deletes it (quorum queues refuse a conditional
/// delete, so emptiness is checked just before; nothing can arrive any more once unbound).
async fn move_queue(
    connection: &Connection,
    topology: &Topology,
    moved: &Moved,
) -> Result<(), BusError> {
    if queue_counts(connection, &moved.queue).await?.is_none() {
        return Ok(());
    }
    let channel = connection.create_channel().await.map_err(unavailable)?;
    for routing_key in &moved.bindings {
        channel
            .queue_unbind(
                moved.queue.as_str().into(),
                topology.events_exchange().as_str().into(),
                routing_key.as_str().into(),
                FieldTable::default(),
            )
            .await
            .map_err(unavailable)?;
    }
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
    if queue_counts(connection, &moved.queue).await? == Some((0, 0)) {
        channel
            .queue_delete(moved.queue.as_str().into(), QueueDeleteOptions::default())
            .await
            .map_err(unavailable)?;
    }
    let _ = channel.close(200, "renamed queue moved".into()).await;
    tracing::info!(queue = %moved.queue, destination = %moved.destination, moved = count, "Moved a renamed consumer's queue.");
    Ok(())
}
