//! The stored degraded mode: the switch in force and every switch made
//! (who, when, why). The engine decides when to switch
//! (`src/engine/degraded.rs`); the store keeps the record.

use serde::{Deserialize, Serialize};

use super::codec::{Versioned, decode, encode};
use super::{Store, StoreError, keys};
use crate::core::types::Timestamp;

/// One switch of the mode, on or off: by a breaker or an operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DegradedSwitch {
    pub on: bool,
    /// The unavailable tool, or "manual".
    pub tool: String,
    pub reason: String,
    pub by: String,
    pub at: Timestamp,
    /// A breaker's switch lasts its open window: then the paused cases try
    /// the tool again (the breaker's half-open trial).
    pub until: Option<Timestamp>,
}

/// The stored mode: the switch in force (if on) and every switch made.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DegradedRecord {
    pub current: Option<DegradedSwitch>,
    pub history: Vec<DegradedSwitch>,
}

impl Versioned for DegradedRecord {
    const KIND: &'static str = "degraded mode";
    const TAG: u8 = 11;
    const VERSION: u16 = 1;
}

impl Store {
    /// The stored mode; `None` before the first switch.
    pub fn degraded(&self) -> Result<Option<DegradedRecord>, StoreError> {
        match self.db()?.get(keys::DEGRADED)? {
            Some(v) => Ok(Some(decode(&v)?)),
            None => Ok(None),
        }
    }

    /// Stores the degraded mode, with the audit entry of the switch made by
    /// a human, if any, in the same batch.
    pub async fn put_degraded(
        &self,
        record: DegradedRecord,
        audit: Option<super::audit::AuditRecord>,
    ) -> Result<(), StoreError> {
        let value = encode(&record)?;
        self.committer
            .run(move |tx| {
                tx.insert(keys::DEGRADED.to_vec(), value);
                if let Some(r) = audit {
                    super::audit::record(tx, r)?;
                }
                Ok(())
            })
            .await
    }
}
