//! Gathers the calls that concurrent tasks make to another service into batches: each request
//! carries every call that was waiting when the previous request returned, so under load one
//! request (and one transaction behind it) serves many tasks, and alone a call goes out at once.

use std::future::Future;

use tokio::sync::{mpsc, oneshot};
use tracing::Instrument;

/// Why a call got no answer of its own from its batch; the batcher's error type is built from it.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Unanswered {
    #[error("the batch sender has stopped")]
    Stopped,
    #[error("{name}: {answers} answers for {calls} calls")]
    Miscounted {
        name: &'static str,
        answers: usize,
        calls: usize,
    },
}

/// A call waiting for its batch: what to send, the span of the task it is for, and where its
/// answer goes.
type Waiting<T, R, E> = (T, tracing::Span, oneshot::Sender<Result<R, E>>);

/// Sends calls of one kind in batches of at most `max`, one batch at a time.
pub struct Batcher<T, R, E> {
    calls: mpsc::UnboundedSender<Waiting<T, R, E>>,
}

impl<T, R, E> Batcher<T, R, E>
where
    T: Send + 'static,
    R: Send + 'static,
    E: From<Unanswered> + Clone + Send + 'static,
{
    /// Starts the task that sends batches with `send`, which answers every call of a batch, in
    /// order, or fails the whole batch. The task ends when the batcher is dropped. Needs a Tokio
    /// runtime.
    pub fn start<F, Fut>(name: &'static str, max: usize, send: F) -> Self
    where
        F: Fn(Vec<T>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<Vec<Result<R, E>>, E>> + Send,
    {
        let (calls, mut waiting) = mpsc::unbounded_channel::<Waiting<T, R, E>>();
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
                // The request continues the trace of the first task and links the others.
                let span = tracing::info_span!(parent: &batch[0].1, "batch", name, size);
                for (item, task_span, reply) in batch {
                    crate::telemetry::link(&span, &task_span);
                    items.push(item);
                    replies.push(reply);
                }
                let answers = match send(items).instrument(span).await {
                    Ok(answers) if answers.len() == size => answers,
                    Ok(answers) => {
                        let err = E::from(Unanswered::Miscounted {
                            name,
                            answers: answers.len(),
                            calls: size,
                        });
                        (0..size).map(|_| Err(err.clone())).collect()
                    }
                    Err(err) => (0..size).map(|_| Err(err.clone())).collect(),
                };
                for (reply, answer) in replies.into_iter().zip(answers) {
                    // A task that stopped waiting (shutdown) no longer needs its answer.
                    let _ = reply.send(answer);
                }
            }
        });
        Self { calls }
    }

    /// Sends `item` with the next batch and waits for its answer.
    pub async fn call(&self, item: T) -> Result<R, E> {
        let (reply, answer) = oneshot::channel();
        self.calls
            .send((item, tracing::Span::current(), reply))
            .map_err(|_| E::from(Unanswered::Stopped))?;
        answer.await.map_err(|_| E::from(Unanswered::Stopped))?
    }
}
