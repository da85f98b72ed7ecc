//! Durable timers, in memory: each case's next persisted deadline, and a task
//! that wakes the case when it falls due. The deadlines themselves live in
//! the case records; this index is rebuilt from them at start, so a timer that
//! fell due while the server was down fires at once.
//!
//! Delivery is at least once: the case re-checks its own deadlines.

use std::collections::{BTreeSet, HashMap};

use ractor::ActorRef;
use tokio::sync::mpsc;

use super::clock::SharedClock;
use super::supervisor::SupervisorMsg;
use crate::core::types::{CaseId, Timestamp};

#[derive(Clone)]
pub struct TimerHandle {
    tx: mpsc::UnboundedSender<(CaseId, Option<Timestamp>)>,
}

pub struct TimerTask {
    rx: mpsc::UnboundedReceiver<(CaseId, Option<Timestamp>)>,
}

pub fn channel() -> (TimerHandle, TimerTask) {
    let (tx, rx) = mpsc::unbounded_channel();
    (TimerHandle { tx }, TimerTask { rx })
}

impl TimerHandle {
    /// Sets (or with `None` clears) the case's next deadline.
    pub fn set(&self, case: CaseId, due: Option<Timestamp>) {
        let _ = self.tx.send((case, due));
    }
}

impl TimerTask {
    /// Runs the index, waking cases as `clock` reaches their deadlines.
    pub fn spawn(
        self,
        supervisor: ActorRef<SupervisorMsg>,
        clock: SharedClock,
    ) -> tokio::task::JoinHandle<()> {
        tokio::spawn(run(self.rx, supervisor, clock))
    }
}

async fn run(
    mut rx: mpsc::UnboundedReceiver<(CaseId, Option<Timestamp>)>,
    supervisor: ActorRef<SupervisorMsg>,
    clock: SharedClock,
) {
    let mut by_due: BTreeSet<(Timestamp, CaseId)> = BTreeSet::new();
    let mut by_case: HashMap<CaseId, Timestamp> = HashMap::new();
    loop {
        let next = by_due.first().map(|(due, _)| *due);
        // Evaluated even when disabled (no deadline): never polled then.
        let due = next.unwrap_or(Timestamp(i64::MAX));
        tokio::select! {
            cmd = rx.recv() => {
                let Some((case, due)) = cmd else { return };
                if let Some(old) = by_case.remove(&case) {
                    by_due.remove(&(old, case));
                }
                if let Some(due) = due {
                    by_case.insert(case, due);
                    by_due.insert((due, case));
                }
            }
            _ = clock.sleep_until(due), if next.is_some() => {
                let now = clock.now();
                while let Some(&(due, case)) = by_due.first() {
                    if due > now {
                        break;
                    }
                    by_due.pop_first();
                    by_case.remove(&case);
                    let _ = supervisor.cast(SupervisorMsg::Deliver(case));
                }
            }
        }
    }
}
