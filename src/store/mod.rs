//! The embedded sled store: cases, their history, effect records, dedupe and
//! open-case indexes, and remembered workflow versions.
//!
//! Reads go straight to sled from any task. Writes go through the
//! [`committer::Committer`] and return only once flushed. The store knows
//! records and keys, never the rules of a case.

pub mod audit;
pub mod codec;
pub mod committer;
pub mod decisions;
pub mod degraded;
pub mod durable;
pub mod erase;
pub mod health;
pub mod journal;
pub mod keys;
mod open;
pub mod provider;
pub mod qa;
pub mod records;
pub mod scan;
pub mod schema;
mod unreadable;
pub mod verify;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::core::case::{
    CaseRecord, EffectRecord, EffectStatus, InboundMessage, LogEntry, OutboundMessage,
    TransitionRecord,
};
use crate::core::records::BreakerRecord;
use crate::core::types::{CaseId, CustomerKey, IdempotencyKey};
use codec::{CodecError, Versioned, decode, encode};
use committer::{Committer, Tx};
pub use durable::Durability;
use health::Health;
use open::DbSlot;
pub use open::{StoreFaults, StoreOptions};
pub use unreadable::{CaseEntry, UnreadableCase};

/// The layout version of the whole store (keys and record kinds). A binary
/// opens stores up to this version and refuses newer ones.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum StoreError {
    #[error("cannot open store at {path}: {reason}")]
    Open { path: String, reason: String },
    #[error("store at {path} has format v{found}; this binary reads up to v{known}")]
    FormatTooNew {
        path: String,
        found: u32,
        known: u32,
    },
    #[error("store at {path} holds data but no format version: not a caseflow store")]
    NoFormat { path: String },
    #[error("store: {0}")]
    Sled(String),
    #[error("store flush failed: {0}")]
    Flush(String),
    #[error("store file {file} is damaged: {reason}")]
    Damaged { file: String, reason: String },
    #[error(
        "store at {path} lost acknowledged writes: its journal says {acknowledged} writes in \
         {groups} groups were acknowledged (last at {at}), but it holds {held} writes in \
         {held_groups} groups: at least {} writes in {} groups are missing. Restore the data \
         dir from a backup, or accept the loss with `caseflow store verify --data-dir DIR \
         --accept-loss`",
        acknowledged.saturating_sub(*held),
        groups.saturating_sub(*held_groups)
    )]
    LostWrites {
        path: String,
        acknowledged: u64,
        groups: u64,
        held: u64,
        held_groups: u64,
        at: String,
    },
    /// This op's group could not be written (disk full, I/O error).
    #[error("store write failed: {0}")]
    WriteFailed(String),
    /// The store does not take writes now; it recovers by itself.
    #[error("{0}")]
    Unavailable(String),
    #[error("store writer stopped: {0}")]
    WriterStopped(String),
    #[error("store op panicked: {0}")]
    OpPanicked(String),
    #[error("case {case} has an unreadable record: {reason}")]
    UnreadableCase { case: CaseId, reason: String },
    #[error(transparent)]
    Codec(#[from] CodecError),
    #[error("store is closed")]
    Closed,
    #[error("case {0} not found")]
    NoCase(CaseId),
    /// The machine refused an event the store was asked to apply.
    #[error("case {case}: {refusal}")]
    Refused {
        case: CaseId,
        refusal: crate::core::machine::admit::Refusal,
    },
}

impl StoreError {
    /// The store could not write now but may later: the caller should try
    /// again (HTTP 503 with Retry-After).
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            StoreError::WriteFailed(_)
                | StoreError::Unavailable(_)
                | StoreError::WriterStopped(_)
                | StoreError::Closed
        )
    }
}

impl From<sled::Error> for StoreError {
    fn from(e: sled::Error) -> Self {
        match e {
            sled::Error::Corruption { at, .. } => StoreError::Sled(format!(
                "sled read corrupt data ({at:?}): the store's files were damaged; run \
                 `caseflow store verify` and restore the data dir from a backup"
            )),
            e => StoreError::Sled(e.to_string()),
        }
    }
}

impl Versioned for CaseRecord {
    const KIND: &'static str = "case";
    const TAG: u8 = 1;
    const VERSION: u16 = 4;

    fn upgrade(version: u16, payload: &[u8]) -> Result<Self, CodecError> {
        schema::upgrade_case(version, payload)
    }
}

impl Versioned for LogEntry {
    const KIND: &'static str = "log entry";
    const TAG: u8 = 2;
    const VERSION: u16 = 1;
}

impl Versioned for EffectRecord {
    const KIND: &'static str = "effect";
    const TAG: u8 = 3;
    const VERSION: u16 = 1;
}

impl Versioned for BreakerRecord {
    const KIND: &'static str = "breaker";
    const TAG: u8 = 9;
    const VERSION: u16 = 1;
}

/// A remembered workflow definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkflowSource {
    pub source: String,
}

impl Versioned for WorkflowSource {
    const KIND: &'static str = "workflow";
    const TAG: u8 = 4;
    const VERSION: u16 = 1;
}

/// An inbound message to take in.
#[derive(Debug, Clone)]
pub struct Ingest {
    pub customer: CustomerKey,
    pub message: InboundMessage,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ingested {
    Accepted {
        case: CaseId,
        opened: bool,
    },
    Duplicate {
        case: CaseId,
    },
    /// The message id is already stored for another sender: nothing is
    /// stored, and that sender's case is not named.
    Conflict,
}

/// An outbound message about to be handed to its tool.
#[derive(Debug, Clone)]
pub struct SendIntent {
    pub step: u32,
    pub key: IdempotencyKey,
    pub tool: String,
    pub template: Option<String>,
    pub text: String,
}

/// How an earlier effect ended.
#[derive(Debug, Clone)]
pub struct EffectOutcome {
    pub step: u32,
    /// Attempts made in all (at least 1).
    pub attempts: u32,
    pub provider_id: Option<String>,
    /// Stored as its text (the effect record's `last_error`).
    pub error: Option<crate::core::machine::EffectError>,
}

/// One atomic step of a case: its new record, what happened, what is about
/// to happen. `case.rev` must equal the stored rev.
#[derive(Debug, Clone)]
pub struct Commit {
    pub case: CaseRecord,
    pub transitions: Vec<TransitionRecord>,
    pub sends: Vec<SendIntent>,
    /// Write tool calls about to run: their intent records.
    pub tools: Vec<ToolIntent>,
    pub done: Option<EffectOutcome>,
}

/// A write tool call about to run.
#[derive(Debug, Clone)]
pub struct ToolIntent {
    pub step: u32,
    pub key: IdempotencyKey,
    pub tool: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Committed {
    /// Written and flushed; the case's new rev.
    Written { rev: u64 },
    /// Someone else wrote the case, or a message arrived for a case about to
    /// close: reload and advance again.
    Conflict,
}

pub struct Store {
    db: Arc<DbSlot>,
    committer: Committer,
    /// The writer thread; joined on close so the sled lock is released when
    /// the store is gone. It returns how its final flush went.
    writer: Mutex<Option<std::thread::JoinHandle<Result<(), StoreError>>>>,
    health: Arc<Health>,
    path: PathBuf,
}

impl Drop for Store {
    fn drop(&mut self) {
        let _ = self.close();
    }
}

impl Store {
    /// Opens (or creates) the store at `path` with the default options
    /// (`fsync` durability).
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        Self::open_with(path, StoreOptions::default())
    }

    /// Opens (or creates) the store at `path`: checks sled's config file,
    /// the format version and the acknowledgement journal. Refuses a store
    /// that lost acknowledged writes, naming how many.
    pub fn open_with(path: &Path, options: StoreOptions) -> Result<Store, StoreError> {
        open::open_store(path, options)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn committer(&self) -> &Committer {
        &self.committer
    }

    /// Whether the store takes writes (for `/healthz`), and changes to it.
    pub fn health(&self) -> &Arc<Health> {
        &self.health
    }

    /// The sled handle for a read; `Unavailable` while the store reopens.
    pub(crate) fn db(&self) -> Result<sled::Db, StoreError> {
        self.db.get()
    }

    /// Flushes everything written so far (used at shutdown).
    pub fn flush(&self) -> Result<(), StoreError> {
        self.health.check().map_err(StoreError::Flush)?;
        self.db()?.flush()?;
        Ok(())
    }

    /// Stops the writer after what it has: final flush and sync, journal
    /// marked clean. `Err` when that did not succeed (the exit status of a
    /// stopping server says so). Later ops answer `Closed`.
    pub fn close(&self) -> Result<(), StoreError> {
        self.committer.close();
        let writer = self.writer.lock().unwrap_or_else(|p| p.into_inner()).take();
        let result = match writer {
            Some(handle) => handle
                .join()
                .unwrap_or_else(|_| Err(StoreError::WriterStopped("the writer panicked".into()))),
            None => Ok(()),
        };
        self.db.set(None);
        result
    }

    /// The case record; `Err(UnreadableCase)` when its bytes do not decode
    /// (the rest of the store is not affected: see [`Store::case_entry`]).
    pub fn case(&self, id: CaseId) -> Result<Option<CaseRecord>, StoreError> {
        match self.db()?.get(keys::case(id))? {
            Some(v) => decode(&v)
                .map(Some)
                .map_err(|e| StoreError::UnreadableCase {
                    case: id,
                    reason: e.to_string(),
                }),
            None => Ok(None),
        }
    }

    /// The case's history in commit order, with log sequence numbers.
    pub fn history(&self, id: CaseId) -> Result<Vec<(u64, LogEntry)>, StoreError> {
        self.db()?
            .scan_prefix(keys::log_prefix(id))
            .map(|kv| {
                let (k, v) = kv?;
                Ok((keys::log_seq(&k).unwrap_or(0), decode(&v)?))
            })
            .collect()
    }

    /// Inbound messages of the case logged after `cursor`.
    pub fn inbound_after(
        &self,
        id: CaseId,
        cursor: u64,
    ) -> Result<Vec<(u64, InboundMessage)>, StoreError> {
        let start = keys::log(id, cursor.saturating_add(1));
        let end = keys::log(id, u64::MAX);
        let mut out = Vec::new();
        for kv in self.db()?.range(start..=end) {
            let (k, v) = kv?;
            if let LogEntry::Inbound(m) = decode(&v)? {
                out.push((keys::log_seq(&k).unwrap_or(0), m));
            }
        }
        Ok(out)
    }

    pub fn effects(&self, id: CaseId) -> Result<Vec<EffectRecord>, StoreError> {
        self.db()?
            .scan_prefix(keys::effect_prefix(id))
            .map(|kv| Ok(decode(&kv?.1)?))
            .collect()
    }

    pub fn effect(&self, id: CaseId, step: u32) -> Result<Option<EffectRecord>, StoreError> {
        match self.db()?.get(keys::effect(id, step))? {
            Some(v) => Ok(Some(decode(&v)?)),
            None => Ok(None),
        }
    }

    /// Ids of all open cases, from the open-case index.
    pub fn open_case_ids(&self) -> Result<Vec<CaseId>, StoreError> {
        self.db()?
            .scan_prefix([keys::OPEN])
            .map(|kv| {
                let (_, v) = kv?;
                keys::case_id_from_value(&v)
                    .ok_or_else(|| StoreError::Sled("open-case index holds a bad case id".into()))
            })
            .collect()
    }

    /// Visits every readable case record, newest first, until `visit`
    /// returns false. Unreadable records are skipped (see
    /// [`Store::scan_case_entries`]).
    pub fn scan_cases(&self, mut visit: impl FnMut(CaseRecord) -> bool) -> Result<(), StoreError> {
        self.scan_case_entries(|entry| match entry {
            CaseEntry::Readable(case) => visit(*case),
            CaseEntry::Unreadable(_) => true,
        })
    }

    /// Every workflow definition the store remembers.
    pub fn workflow_sources(&self) -> Result<Vec<String>, StoreError> {
        self.db()?
            .scan_prefix([keys::WORKFLOW])
            .map(|kv| Ok(decode::<WorkflowSource>(&kv?.1)?.source))
            .collect()
    }

    pub fn workflow_source(&self, name: &str, version: u32) -> Result<Option<String>, StoreError> {
        match self.db()?.get(keys::workflow(name, version))? {
            Some(v) => Ok(Some(decode::<WorkflowSource>(&v)?.source)),
            None => Ok(None),
        }
    }

    pub async fn put_workflow(
        &self,
        name: String,
        version: u32,
        source: String,
    ) -> Result<(), StoreError> {
        let value = encode(&WorkflowSource { source })?;
        self.committer
            .run(move |tx| {
                tx.insert(keys::workflow(&name, version), value);
                Ok(())
            })
            .await
    }

    /// Takes in one inbound message: deduplicated by message id, appended to
    /// the customer's open case (opened with `open_case` if there is none).
    pub async fn ingest<F>(&self, ingest: Ingest, open_case: F) -> Result<Ingested, StoreError>
    where
        F: FnOnce(CaseId) -> CaseRecord + Send + 'static,
    {
        self.committer
            .run(move |tx| {
                let dedupe = keys::dedupe(&ingest.customer, &ingest.message.message_id);
                if let Some(seen) = provider::seen_message(tx, &dedupe, &ingest.customer)? {
                    return Ok(match seen {
                        provider::Seen::Same(Some(case)) => Ingested::Duplicate { case },
                        provider::Seen::Same(None) | provider::Seen::OtherSender => {
                            Ingested::Conflict
                        }
                    });
                }
                // A message whose case was erased: a late redelivery, not news.
                let (customer, id) = (&ingest.customer, &ingest.message.message_id);
                if let Some(answer) = erase::erased_redelivery(tx, customer, id)? {
                    return Ok(answer);
                }
                let open_key = keys::open(&ingest.customer);
                let (case, opened) = match tx.get(&open_key)? {
                    Some(v) => (
                        keys::case_id_from_value(&v).ok_or_else(|| {
                            StoreError::Sled("open-case index holds a bad case id".into())
                        })?,
                        false,
                    ),
                    None => {
                        let id = CaseId(uuid::Uuid::now_v7());
                        tx.insert(open_key, id.0.as_bytes().to_vec());
                        tx.insert(keys::case(id), encode(&open_case(id))?);
                        (id, true)
                    }
                };
                tx.insert(dedupe, case.0.as_bytes().to_vec());
                let seq = next_seq(tx)?;
                let entry = LogEntry::Inbound(ingest.message);
                tx.insert(keys::log(case, seq), encode(&entry)?);
                Ok(Ingested::Accepted { case, opened })
            })
            .await
    }

    /// Writes one step of a case atomically: record, transitions, send
    /// intents and the completion of an earlier effect.
    pub async fn commit(&self, commit: Commit) -> Result<Committed, StoreError> {
        self.committer.run(move |tx| apply_commit(tx, commit)).await
    }

    /// Records a failed attempt of an effect that will be retried (or has
    /// used up its budget), so the count survives a restart.
    pub async fn record_attempt(
        &self,
        id: CaseId,
        step: u32,
        attempts: u32,
        error: String,
    ) -> Result<(), StoreError> {
        self.update_effect(id, step, move |e| {
            e.attempts = attempts;
            e.last_error = Some(error);
        })
        .await
    }

    /// Changes an effect record, if it exists.
    async fn update_effect<F>(&self, id: CaseId, step: u32, change: F) -> Result<(), StoreError>
    where
        F: FnOnce(&mut EffectRecord) + Send + 'static,
    {
        self.committer
            .run(move |tx| {
                let key = keys::effect(id, step);
                if let Some(v) = tx.get(&key)? {
                    let mut effect: EffectRecord = decode(&v)?;
                    change(&mut effect);
                    tx.insert(key, encode(&effect)?);
                }
                Ok(())
            })
            .await
    }

    /// Gives an interrupted effect a fresh retry budget (an operator's retry).
    pub async fn restart_effect_budget(
        &self,
        id: CaseId,
        step: u32,
        now: crate::core::types::Timestamp,
    ) -> Result<(), StoreError> {
        self.update_effect(id, step, move |e| e.started_at = now)
            .await
    }

    /// Stores a circuit breaker's state.
    pub async fn put_breaker(&self, record: BreakerRecord) -> Result<(), StoreError> {
        let value = encode(&record)?;
        self.committer
            .run(move |tx| {
                tx.insert(keys::breaker(&record.tool), value);
                Ok(())
            })
            .await
    }

    pub fn breakers(&self) -> Result<Vec<BreakerRecord>, StoreError> {
        self.db()?
            .scan_prefix([keys::BREAKER])
            .map(|kv| Ok(decode(&kv?.1)?))
            .collect()
    }

    /// Changes a case record outside its actor (quarantine, retry). Bumps the
    /// rev, so a concurrent actor write is refused and re-read.
    #[cfg(test)]
    pub async fn update_case<F>(&self, id: CaseId, change: F) -> Result<CaseRecord, StoreError>
    where
        F: FnOnce(&mut CaseRecord) + Send + 'static,
    {
        self.committer
            .run(move |tx| {
                let key = keys::case(id);
                let mut case: CaseRecord = decode(&tx.get(&key)?.ok_or(StoreError::NoCase(id))?)?;
                change(&mut case);
                case.rev += 1;
                tx.insert(key, encode(&case)?);
                Ok(case)
            })
            .await
    }
}

fn apply_commit(tx: &mut Tx<'_>, commit: Commit) -> Result<Committed, StoreError> {
    let Commit {
        mut case,
        transitions,
        sends,
        tools,
        done,
    } = commit;
    let key = keys::case(case.id);
    let stored: CaseRecord = decode(&tx.get(&key)?.ok_or(StoreError::NoCase(case.id))?)?;
    if stored.rev != case.rev {
        return Ok(Committed::Conflict);
    }
    if case.is_closed() && has_inbound_after(tx, case.id, case.inbound_cursor)? {
        return Ok(Committed::Conflict);
    }
    for t in transitions {
        let seq = next_seq(tx)?;
        tx.insert(keys::log(case.id, seq), encode(&LogEntry::Transition(t))?);
    }
    // A status that came before the send's answer may change the case
    // beyond this step: its stored rev then runs ahead of the writer's, so
    // the writer's next write is refused and it reads the case again.
    let mut changed_here = false;
    if let Some(done) = done {
        changed_here = complete_effect(tx, &mut case, done)?;
    }
    for s in sends {
        let seq = next_seq(tx)?;
        let message = OutboundMessage {
            key: s.key.clone(),
            template: s.template,
            text: s.text,
            at: case.updated_at,
            provider_id: None,
        };
        tx.insert(
            keys::log(case.id, seq),
            encode(&LogEntry::Outbound(message))?,
        );
        let effect = EffectRecord {
            key: s.key,
            step: s.step,
            tool: s.tool,
            status: EffectStatus::Intent,
            attempts: 0,
            log_seq: Some(seq),
            started_at: case.updated_at,
            finished_at: None,
            last_error: None,
        };
        tx.insert(keys::effect(case.id, s.step), encode(&effect)?);
    }
    for t in tools {
        let effect = EffectRecord {
            key: t.key,
            step: t.step,
            tool: t.tool,
            status: EffectStatus::Intent,
            attempts: 0,
            log_seq: None,
            started_at: case.updated_at,
            finished_at: None,
            last_error: None,
        };
        tx.insert(keys::effect(case.id, t.step), encode(&effect)?);
    }
    if case.is_closed() {
        let open_key = keys::open(&case.customer);
        if tx.get(&open_key)?.as_deref() == Some(case.id.0.as_bytes().as_slice()) {
            tx.remove(open_key);
        }
    }
    case.rev += 1;
    let rev = case.rev;
    if changed_here {
        case.rev += 1;
    }
    tx.insert(key, encode(&case)?);
    Ok(Committed::Written { rev })
}

/// Records how an effect ended; `true` when statuses kept for its message
/// changed `case`.
fn complete_effect(
    tx: &mut Tx<'_>,
    case: &mut CaseRecord,
    done: EffectOutcome,
) -> Result<bool, StoreError> {
    let fkey = keys::effect(case.id, done.step);
    let Some(v) = tx.get(&fkey)? else {
        return Ok(false);
    };
    tx.remove(keys::in_doubt(case.id, done.step));
    let mut changed = false;
    let mut effect: EffectRecord = decode(&v)?;
    effect.finished_at = Some(case.updated_at);
    effect.attempts = effect.attempts.max(done.attempts);
    match done.error {
        Some(e) => {
            effect.status = EffectStatus::Failed;
            effect.last_error = Some(e.to_string());
        }
        None => effect.status = EffectStatus::Done,
    }
    if let (Some(seq), Some(pid)) = (effect.log_seq, done.provider_id) {
        let mut index = case.id.0.as_bytes().to_vec();
        index.extend_from_slice(&seq.to_be_bytes());
        tx.insert(keys::provider_message(&pid), index);
        changed = provider::apply_early(tx, case, &pid)?;
        let lkey = keys::log(case.id, seq);
        if let Some(lv) = tx.get(&lkey)?
            && let LogEntry::Outbound(mut m) = decode(&lv)?
        {
            m.provider_id = Some(pid);
            tx.insert(lkey, encode(&LogEntry::Outbound(m))?);
        }
    }
    tx.insert(fkey, encode(&effect)?);
    Ok(changed)
}

/// The next log sequence number. Starts at 1: 0 is the cursor of a case
/// that has read nothing yet.
fn next_seq(tx: &Tx<'_>) -> Result<u64, StoreError> {
    Ok(tx.generate_id()? + 1)
}

fn has_inbound_after(tx: &Tx<'_>, id: CaseId, cursor: u64) -> Result<bool, StoreError> {
    let start = keys::log(id, cursor.saturating_add(1));
    let end = keys::log(id, u64::MAX);
    for (_, v) in tx.range(&start, &end)? {
        if let LogEntry::Inbound(_) = decode(&v)? {
            return Ok(true);
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod tests_faults;
