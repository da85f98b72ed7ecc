//! Cases whose record no longer decodes: kept apart so that one bad record
//! never stops the desk. Recovery quarantines them, the admin API lists
//! them as stuck (`unreadable record: ...`) and shows what can still be
//! read: the leading fields of the record, the history, the tool calls.

use super::codec::decode;
use super::{Store, StoreError, keys, schema};
use crate::core::case::{CaseRecord, LogEntry};
use crate::core::types::CaseId;

/// A stored case as far as it can be read.
#[derive(Debug, Clone)]
pub enum CaseEntry {
    Readable(Box<CaseRecord>),
    Unreadable(UnreadableCase),
}

/// A case record whose bytes do not decode: quarantined (never run), shown
/// by the admin API with what its leading fields still say.
#[derive(Debug, Clone)]
pub struct UnreadableCase {
    pub id: CaseId,
    /// The leading fields (customer, state, ...) when they still decode.
    pub head: Option<schema::v2::CaseHead>,
    pub reason: String,
}

impl UnreadableCase {
    /// The stuck reason shown for it.
    pub fn stuck_reason(&self) -> String {
        format!("unreadable record: {}", self.reason)
    }
}

impl CaseEntry {
    fn from_bytes(id: CaseId, bytes: &[u8]) -> CaseEntry {
        match decode::<CaseRecord>(bytes) {
            Ok(case) => CaseEntry::Readable(Box::new(case)),
            Err(e) => CaseEntry::Unreadable(UnreadableCase {
                id,
                head: (bytes.len() >= 3)
                    .then(|| {
                        let version = u16::from_be_bytes([bytes[1], bytes[2]]);
                        schema::case_head(version, &bytes[3..])
                    })
                    .flatten(),
                reason: e.to_string(),
            }),
        }
    }
}

impl Store {
    /// The case as far as it can be read: the record, or what is left of
    /// an unreadable one.
    pub fn case_entry(&self, id: CaseId) -> Result<Option<CaseEntry>, StoreError> {
        Ok(self
            .db()?
            .get(keys::case(id))?
            .map(|v| CaseEntry::from_bytes(id, &v)))
    }

    /// The case's history, skipping entries that do not decode; with how
    /// many were skipped (for showing an unreadable case).
    pub fn history_lenient(&self, id: CaseId) -> Result<(Vec<(u64, LogEntry)>, usize), StoreError> {
        let mut entries = Vec::new();
        let mut skipped = 0;
        for kv in self.db()?.scan_prefix(keys::log_prefix(id)) {
            let (k, v) = kv?;
            match decode(&v) {
                Ok(entry) => entries.push((keys::log_seq(&k).unwrap_or(0), entry)),
                Err(_) => skipped += 1,
            }
        }
        Ok((entries, skipped))
    }

    /// Visits every case, readable or not, newest first, until `visit`
    /// returns false.
    pub fn scan_case_entries(
        &self,
        mut visit: impl FnMut(CaseEntry) -> bool,
    ) -> Result<(), StoreError> {
        for kv in self.db()?.scan_prefix([keys::CASE]).rev() {
            let (k, v) = kv?;
            let Some(id) = keys::case_id_from_case_key(&k) else {
                continue;
            };
            if !visit(CaseEntry::from_bytes(id, &v)) {
                break;
            }
        }
        Ok(())
    }
}
