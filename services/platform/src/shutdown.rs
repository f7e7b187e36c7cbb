//! Graceful shutdown: the signal to stop, and the readiness flag that turns false first.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::watch;

/// Completes on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %err, "Cannot listen for Ctrl-C.");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::error!(error = %err, "Cannot listen for SIGTERM.");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("Shutdown requested; draining.");
}

/// Whether the process is draining: `/readyz` answers 503 from the moment shutdown starts, so
/// load balancers stop sending new work before the listener closes.
#[derive(Clone, Default)]
pub struct Draining(Arc<AtomicBool>);

impl Draining {
    pub fn start(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn is_draining(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// A shutdown notice shared with background tasks: each awaits [`ShutdownToken::cancelled`] and
/// stops at its next safe point.
#[derive(Clone)]
pub struct ShutdownToken(watch::Receiver<bool>);

/// The sending half of [`ShutdownToken`]; clones trigger the same shutdown.
#[derive(Clone)]
pub struct ShutdownTrigger(Arc<watch::Sender<bool>>);

pub fn shutdown_pair() -> (ShutdownTrigger, ShutdownToken) {
    let (tx, rx) = watch::channel(false);
    (ShutdownTrigger(Arc::new(tx)), ShutdownToken(rx))
}

impl ShutdownTrigger {
    pub fn trigger(&self) {
        self.0.send_replace(true);
    }
}

impl ShutdownToken {
    /// Completes once shutdown was triggered (or every trigger is gone).
    pub async fn cancelled(&mut self) {
        let _ = self.0.wait_for(|stop| *stop).await;
    }

    pub fn is_cancelled(&self) -> bool {
        *self.0.borrow()
    }
}
