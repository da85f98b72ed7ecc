//! Whether the store takes writes, for `/healthz`, ingest's 503 and the
//! process's exit: healthy, failing (writes fail now; the writer retries by
//! itself and clears this when they succeed again), or stopped (the writer
//! cannot go on: the process should exit so its supervisor restarts it).

use std::time::SystemTime;

use tokio::sync::watch;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    Healthy,
    /// Writes fail (disk full, I/O error); retried by the writer.
    Failing {
        reason: String,
        since: SystemTime,
    },
    /// The writer ended; nothing more is written by this process.
    Stopped {
        reason: String,
    },
}

/// Shared between the writer thread and the readers of the condition.
#[derive(Debug)]
pub struct Health {
    tx: watch::Sender<Condition>,
}

impl Default for Health {
    fn default() -> Self {
        Health {
            tx: watch::channel(Condition::Healthy).0,
        }
    }
}

impl Health {
    pub fn condition(&self) -> Condition {
        self.tx.borrow().clone()
    }

    /// `Err` with the reason while the store does not take writes.
    pub fn check(&self) -> Result<(), String> {
        match &*self.tx.borrow() {
            Condition::Healthy => Ok(()),
            Condition::Failing { reason, since } => {
                let secs = since.elapsed().map(|d| d.as_secs()).unwrap_or(0);
                Err(format!(
                    "store writes are failing (for {secs} s, retried by itself): {reason}"
                ))
            }
            Condition::Stopped { reason } => Err(format!("store writer stopped: {reason}")),
        }
    }

    /// Changes to the condition, e.g. to exit when the writer stopped.
    pub fn subscribe(&self) -> watch::Receiver<Condition> {
        self.tx.subscribe()
    }

    pub(crate) fn failing(&self, reason: String) {
        self.tx.send_modify(|c| match c {
            Condition::Stopped { .. } => {}
            Condition::Failing { reason: r, .. } => *r = reason,
            Condition::Healthy => {
                *c = Condition::Failing {
                    reason,
                    since: SystemTime::now(),
                }
            }
        });
    }

    pub(crate) fn healthy(&self) {
        self.tx.send_modify(|c| {
            if matches!(c, Condition::Failing { .. }) {
                *c = Condition::Healthy;
            }
        });
    }

    pub(crate) fn stopped(&self, reason: String) {
        self.tx.send_replace(Condition::Stopped { reason });
    }
}
