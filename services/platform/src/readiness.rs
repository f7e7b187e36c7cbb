//! Conditions besides the databases that `/readyz` waits for, such as a live subscription.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A named condition a background task opens while it works and closes while it cannot. The
/// process is not ready while any of its gates is closed.
#[derive(Debug, Clone)]
pub struct Gate {
    name: &'static str,
    open: Arc<AtomicBool>,
}

impl Gate {
    /// A gate, closed until its task opens it.
    pub fn new(name: &'static str) -> Self {
        Self {
            name,
            open: Arc::new(AtomicBool::new(false)),
        }
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    pub fn open(&self) {
        self.open.store(true, Ordering::Release);
    }

    pub fn close(&self) {
        self.open.store(false, Ordering::Release);
    }

    pub fn is_open(&self) -> bool {
        self.open.load(Ordering::Acquire)
    }
}
