//! Whole-store reads for reports: every case with its history and effect
//! records, in one ordered pass.
//!
//! Case records, log entries and effect records are keyed by case id first,
//! so three forward scans advance together (a merge), instead of one prefix
//! scan per case. A report over 100k cases is one pass over three key
//! ranges. Reads only: nothing here writes.

use std::iter::Peekable;

use super::codec::decode;
use super::{Store, StoreError, keys};
use crate::core::case::{CaseRecord, EffectRecord, LogEntry};
use crate::core::types::CaseId;

/// One case as stored: its head record, its history in commit order (with
/// log sequence numbers) and the records of its side effects by step.
#[derive(Debug, Clone)]
pub struct CaseHistory {
    pub case: CaseRecord,
    pub log: Vec<(u64, LogEntry)>,
    pub effects: Vec<EffectRecord>,
}

type KvIter = Peekable<sled::Iter>;

impl Store {
    /// Visits every case with its history and effects, oldest case first
    /// (case ids are UUIDv7). `visit` returning false stops the scan.
    ///
    /// Errors: a record that does not decode (named by its kind) or a sled
    /// read error. On a running desk the three scans are not one snapshot:
    /// a case may show a log entry committed after its head record was read.
    pub fn scan_histories(
        &self,
        mut visit: impl FnMut(CaseHistory) -> bool,
    ) -> Result<(), StoreError> {
        let mut log = self.db()?.scan_prefix([keys::LOG]).peekable();
        let mut effects = self.db()?.scan_prefix([keys::EFFECT]).peekable();
        for kv in self.db()?.scan_prefix([keys::CASE]) {
            let (k, v) = kv?;
            let Some(id) = keys::case_id_from_case_key(&k) else {
                continue;
            };
            let case: CaseRecord = decode(&v)?;
            let log = take_for(&mut log, id, |k, v| {
                Ok::<_, StoreError>((keys::log_seq(k).unwrap_or(0), decode::<LogEntry>(v)?))
            })?;
            let effects = take_for(&mut effects, id, |_, v| decode::<EffectRecord>(v))?;
            if !visit(CaseHistory { case, log, effects }) {
                break;
            }
        }
        Ok(())
    }
}

/// Takes the entries of `id` from an iterator over keys `prefix, case id,
/// ...`; entries of cases before `id` (orphans) are skipped.
fn take_for<T, E>(
    iter: &mut KvIter,
    id: CaseId,
    mut read: impl FnMut(&[u8], &[u8]) -> Result<T, E>,
) -> Result<Vec<T>, StoreError>
where
    StoreError: From<E>,
{
    let want = id.0.as_bytes();
    let mut out = Vec::new();
    loop {
        let ordering = match iter.peek() {
            None => break,
            Some(Err(_)) => {
                if let Some(Err(e)) = iter.next() {
                    return Err(e.into());
                }
                continue;
            }
            Some(Ok((k, _))) => match k.get(1..17) {
                Some(case) => case.cmp(want.as_slice()),
                None => std::cmp::Ordering::Less,
            },
        };
        match ordering {
            std::cmp::Ordering::Less => {
                iter.next();
            }
            std::cmp::Ordering::Equal => {
                if let Some(Ok((k, v))) = iter.next() {
                    out.push(read(&k, &v)?);
                }
            }
            std::cmp::Ordering::Greater => break,
        }
    }
    Ok(out)
}

impl Store {
    /// Opens an existing store for a command that reads it (`caseflow
    /// report`): never creates one. sled 0.34.7 has no read-only open and
    /// takes an exclusive lock per store, so while a desk runs on it this
    /// fails with an error that says so.
    pub fn open_existing(path: &std::path::Path) -> Result<Store, StoreError> {
        if !path.join("db").is_file() {
            return Err(StoreError::Open {
                path: path.display().to_string(),
                reason: "no caseflow store here".into(),
            });
        }
        Store::open(path).map_err(|e| match e {
            StoreError::Open { path, reason } if reason.contains("could not acquire lock") => {
                StoreError::Open {
                    path,
                    reason: "a running desk holds it (sled allows one process per store and \
                             has no read-only open): stop the desk first, or ask the running \
                             desk for GET /admin/report"
                        .into(),
                }
            }
            other => other,
        })
    }
}
