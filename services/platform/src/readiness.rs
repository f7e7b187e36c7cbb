//! Conditions besides the databases that `/readyz` waits for, such as a live subscription.

use tokio::sync::watch;

/// A named condition a background task opens while it works and closes while it cannot. The
/// process is not ready while any of its gates is closed.
#[derive(Debug, Clone)]
pub struct Gate {
    name: &'static str,
    open: watch::Sender<bool>,
}

impl Gate {
    /// A gate, closed until its task opens it.
    pub fn new(name: &'static str) -> Self {
        Self {
            name,
            open: watch::Sender::new(false),
        }
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    pub fn open(&self) {
        self.open.send_replace(true);
    }

    pub fn close(&self) {
        self.open.send_replace(false);
    }

    pub fn is_open(&self) -> bool {
        *self.open.borrow()
    }

    /// Returns once the gate is open (at once if it is).
    pub async fn opened(&self) {
        let mut open = self.open.subscribe();
        // The sender is `self`, which outlives the wait: it cannot be dropped meanwhile.
        let _ = open.wait_for(|open| *open).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waiting_for_a_gate_returns_once_it_opens() {
        let gate = Gate::new("test");
        let waiting = tokio::spawn({
            let gate = gate.clone();
            async move { gate.opened().await }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        gate.open();
        waiting.await.unwrap();
        assert!(gate.is_open());
        // An open gate answers at once.
        gate.opened().await;
        gate.close();
        assert!(!gate.is_open());
    }
}
