//! Degraded mode: while a tool the answers need is unavailable (its breaker
//! is open, or an operator declared it), R0 answers and acknowledgements go
//! on, account answers and actions get a "pending verification" notice and
//! pause in the `degraded` state. Turning it off wakes the paused cases.
//!
//! The state and every switch (who, when, why) are stored, so a restart
//! keeps the mode and the audit.

use std::sync::RwLock;

use crate::core::types::{State, Timestamp};
use crate::store::{Store, StoreError};

pub use crate::store::degraded::{DegradedRecord, DegradedSwitch};

/// Most switches kept in the audit.
const HISTORY_CAP: usize = 1000;

pub struct Degraded {
    record: RwLock<DegradedRecord>,
}

impl Degraded {
    pub fn load(store: &Store) -> Result<Degraded, StoreError> {
        Ok(Degraded {
            record: RwLock::new(store.degraded()?.unwrap_or_default()),
        })
    }

    /// The unavailable tool while degraded at `now`, and until when.
    pub fn tool_at(&self, now: Timestamp) -> Option<(String, Option<Timestamp>)> {
        let r = self.record.read().unwrap_or_else(|p| p.into_inner());
        r.current
            .as_ref()
            .filter(|c| c.until.is_none_or(|u| u > now))
            .map(|c| (c.tool.clone(), c.until))
    }

    pub fn snapshot(&self) -> DegradedRecord {
        self.record
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Switches the mode and stores it. Returns false when it was already
    /// so (nothing stored). An automatic switch off only clears the same
    /// tool's switch; an operator's switch stays until an operator lifts it.
    pub async fn switch(
        &self,
        store: &Store,
        switch: DegradedSwitch,
        audit: Option<crate::store::audit::AuditRecord>,
    ) -> Result<bool, StoreError> {
        let next = {
            let r = self.record.read().unwrap_or_else(|p| p.into_inner());
            let mut next = r.clone();
            match (&r.current, switch.on) {
                // A breaker that opens again renews its window.
                (Some(cur), true) if cur.by == "breaker" && switch.by == "breaker" => {}
                (Some(_), true) | (None, false) => return Ok(false),
                (Some(cur), false) if switch.by == "breaker" && cur.tool != switch.tool => {
                    return Ok(false);
                }
                _ => {}
            }
            next.current = switch.on.then(|| switch.clone());
            next.history.push(switch);
            if next.history.len() > HISTORY_CAP {
                next.history.remove(0);
            }
            next
        };
        store.put_degraded(next.clone(), audit).await?;
        *self.record.write().unwrap_or_else(|p| p.into_inner()) = next;
        Ok(true)
    }
}

/// Open cases paused in the degraded state.
pub fn paused_cases(store: &Store) -> Result<Vec<crate::core::types::CaseId>, StoreError> {
    let mut out = Vec::new();
    for id in store.open_case_ids()? {
        let paused = match store.case(id) {
            Ok(case) => case.is_some_and(|c| c.state == State::Degraded),
            // Quarantined at start; it pauses nothing.
            Err(StoreError::UnreadableCase { .. }) => false,
            Err(e) => return Err(e),
        };
        if paused {
            out.push(id);
        }
    }
    Ok(out)
}
