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

/// What the index is told.
enum Command {
    /// A case's next deadline (`None`: it has none).
    Set(CaseId, Option<Timestamp>),
    /// Wake a case now, whatever its deadline (a later `Set` from the case
    /// itself cannot take the wake back).
    Wake(CaseId),
}

#[derive(Clone)]
pub struct TimerHandle {
    tx: mpsc::UnboundedSender<Command>,
}

pub struct TimerTask {
    rx: mpsc::UnboundedReceiver<Command>,
}

pub fn channel() -> (TimerHandle, TimerTask) {
    let (tx, rx) = mpsc::unbounded_channel();
    (TimerHandle { tx }, TimerTask { rx })
}

impl TimerHandle {
    /// Sets (or with `None` clears) the case's next deadline.
    pub fn set(&self, case: CaseId, due: Option<Timestamp>) {
        let _ = self.tx.send(Command::Set(case, due));
    }

    /// Wakes the case now, keeping its deadline: it re-checks what it waits
    /// for (degraded mode ended, say) even if it is still committing a
    /// deadline of its own.
    pub fn wake(&self, case: CaseId) {
        let _ = self.tx.send(Command::Wake(case));
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
    mut rx: mpsc::UnboundedReceiver<Command>,
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
            cmd = rx.recv() => match cmd {
                None => return,
                Some(Command::Wake(case)) => {
                    let _ = supervisor.cast(SupervisorMsg::Deliver(case));
                }
                Some(Command::Set(case, due)) => {
                    if let Some(old) = by_case.remove(&case) {
                        by_due.remove(&(old, case));
                    }
                    if let Some(due) = due {
                        by_case.insert(case, due);
                        by_due.insert((due, case));
                    }
                }
            },
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
