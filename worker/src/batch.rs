//! Gathers the calls the worker's concurrent handlers make into batches: each request carries
//! every call that was waiting when the previous request returned, so under load one request
//! (and one transaction behind it) serves many messages, and alone a call goes out at once.

use std::future::Future;

use tokio::sync::{mpsc, oneshot};
use tracing::Instrument;

use crate::CallError;

/// A call waiting for its batch: what to send, the span of the message it is for, and where
/// its answer goes.
type Waiting<T, R> = (T, tracing::Span, oneshot::Sender<Result<R, CallError>>);

/// Sends calls of one kind in batches of at most `max`, one batch at a time.
pub struct Batcher<T, R> {
    calls: mpsc::UnboundedSender<Waiting<T, R>>,
}

impl<T: Send + 'static, R: Send + 'static> Batcher<T, R> {
    /// Starts the task that sends batches with `send`, which answers every call of a batch, in
    /// order, or fails the whole batch. The task ends when the batcher is dropped.
    pub fn start<F, Fut>(name: &'static str, max: usize, send: F) -> Self
    where
        F: Fn(Vec<T>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<Vec<Result<R, CallError>>, CallError>> + Send,
    {
        let (calls, mut waiting) = mpsc::unbounded_channel::<Waiting<T, R>>();
        tokio::spawn(async move {
            while let Some(first) = waiting.recv().await {
                let mut batch = vec![first];
                while batch.len() < max {
                    match waiting.try_recv() {
                        Ok(call) => batch.push(call),
                        Err(_) => break,
                    }
                }
                let size = batch.len();
                let mut items = Vec::with_capacity(size);
                let mut replies = Vec::with_capacity(size);
                // The request continues the trace of the first message and links the others.
                let span = tracing::info_span!(parent: &batch[0].1, "batch", name, size);
                for (item, message_span, reply) in batch {
                    platform::telemetry::link(&span, &message_span);
                    items.push(item);
                    replies.push(reply);
                }
                let answers = match send(items).instrument(span).await {
                    Ok(answers) if answers.len() == size => answers,
                    Ok(answers) => {
                        let err = CallError::Retry(format!(
                            "{name}: {} answers for {size} calls",
                            answers.len()
                        ));
                        (0..size).map(|_| Err(err.clone())).collect()
                    }
                    Err(err) => (0..size).map(|_| Err(err.clone())).collect(),
                };
                for (reply, answer) in replies.into_iter().zip(answers) {
                    // A handler that stopped waiting (shutdown) no longer needs its answer.
                    let _ = reply.send(answer);
                }
            }
        });
        Self { calls }
    }

    /// Sends `item` with the next batch and waits for its answer.
    pub async fn call(&self, item: T) -> Result<R, CallError> {
        let (reply, answer) = oneshot::channel();
        self.calls
            .send((item, tracing::Span::current(), reply))
            .map_err(|_| CallError::Retry("the batch sender has stopped".into()))?;
        answer
            .await
            .map_err(|_| CallError::Retry("the batch sender dropped the call".into()))?
    }
}
