//! `caseflow store verify`: checks a stopped desk's store offline. sled's
//! config checksum, the acknowledgement journal against sled's commit mark
//! (lost acknowledged writes), the format version, every value decoding as
//! its kind, and every index pointing at what it names. Run it on a stopped
//! desk: sled takes its lock, and tidies its own files at open as it does
//! at every start; nothing of caseflow's is written unless `--accept-loss`
//! asks for it.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::time::Duration;

use super::codec::{Versioned, decode};
use super::journal::{AckRecord, Journal};
use super::{StoreError, WorkflowSource, audit, erase, keys, open, provider};
use crate::core::case::{CaseRecord, EffectRecord, LogEntry};
use crate::core::records::{Article, BreakerRecord, PaymentRecord, Slot, Student, ToolReceipt};
use crate::store::degraded::DegradedRecord;

/// Most problems listed one by one; the rest are counted.
const LISTED: usize = 20;

#[derive(Debug, Default)]
pub struct Verification {
    /// Values read, by kind.
    pub counts: BTreeMap<&'static str, u64>,
    /// Last committed group and writes through it, as sled holds them.
    pub held: (u64, u64),
    pub journal: Option<AckRecord>,
    pub problems: Vec<String>,
    pub more_problems: usize,
    /// The only damage is acknowledged writes missing (or a damaged journal).
    pub loss_only: bool,
}

impl Verification {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }

    fn problem(&mut self, p: String) {
        if self.problems.len() < LISTED {
            self.problems.push(p);
        } else {
            self.more_problems += 1;
        }
    }
}

impl fmt::Display for Verification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let counts: Vec<String> = self
            .counts
            .iter()
            .map(|(k, n)| format!("{n} {k}"))
            .collect();
        writeln!(f, "read: {}", counts.join(", "))?;
        writeln!(
            f,
            "committed: group {} ({} writes); journal: {}",
            self.held.0,
            self.held.1,
            match &self.journal {
                Some(j) => format!(
                    "group {} ({} writes){}",
                    j.seq,
                    j.writes,
                    if j.clean {
                        ", clean stop"
                    } else {
                        ", not stopped cleanly"
                    }
                ),
                None => "none".into(),
            }
        )?;
        if self.ok() {
            return writeln!(f, "store is sound");
        }
        for p in &self.problems {
            writeln!(f, "DAMAGE: {p}")?;
        }
        if self.more_problems > 0 {
            writeln!(f, "DAMAGE: ... and {} more", self.more_problems)?;
        }
        Ok(())
    }
}

/// Checks the store at `path` (a data dir's `store/`).
pub fn verify(path: &Path) -> Result<Verification, StoreError> {
    if !path.join("db").is_file() {
        return Err(StoreError::Open {
            path: path.display().to_string(),
            reason: "no store here (sled's `db` file is missing)".into(),
        });
    }
    let mut v = Verification::default();
    let mut loss_only = true;
    if let Err(e) = open::check_sled_conf(path) {
        v.problem(e.to_string());
        loss_only = false;
    }
    match open::read_journal(path) {
        Ok(j) => v.journal = j,
        Err(e) => v.problem(e.to_string()),
    }
    let db = open::sled_db(path, Duration::from_secs(2))?;
    v.held = open::commit_mark(&db)?;
    if let Err(e) = open::check_journal(path, v.journal, v.held) {
        v.problem(e.to_string());
    }
    if let Err(e) = check_format(&db, path) {
        v.problem(e);
        loss_only = false;
    }
    let before = v.problems.len() + v.more_problems;
    scan(&db, &mut v)?;
    if v.problems.len() + v.more_problems > before {
        loss_only = false;
    }
    v.loss_only = loss_only && !v.ok();
    Ok(v)
}

/// After an operator decided to go on with what is left: records the
/// store's present state as acknowledged.
pub fn accept_loss(path: &Path) -> Result<(u64, u64), StoreError> {
    let db = open::sled_db(path, Duration::from_secs(2))?;
    let held = open::commit_mark(&db)?;
    db.flush()?;
    drop(db);
    let record = AckRecord {
        seq: held.0,
        writes: held.1,
        writes_before: held.1,
        at_ms: chrono::Utc::now().timestamp_millis(),
        clean: true,
    };
    Journal::create(path, record).map_err(|e| StoreError::Open {
        path: path.display().to_string(),
        reason: format!("cannot write the journal: {e}"),
    })?;
    Ok(held)
}

fn check_format(db: &sled::Db, path: &Path) -> Result<(), String> {
    match db.get(keys::FORMAT).map_err(|e| e.to_string())? {
        None => Err(format!(
            "{} has no format version: it is empty or not a caseflow store",
            path.display()
        )),
        Some(v) => {
            let found = <[u8; 4]>::try_from(v.as_ref()).map(u32::from_be_bytes);
            match found {
                Ok(n) if n <= super::FORMAT_VERSION => Ok(()),
                Ok(n) => Err(format!("format v{n} is newer than this binary reads")),
                Err(_) => Err("the format version is not 4 bytes".into()),
            }
        }
    }
}

fn check<T: Versioned>(v: &mut Verification, key: &[u8], value: &[u8]) {
    *v.counts.entry(T::KIND).or_default() += 1;
    if let Err(e) = decode::<T>(value) {
        v.problem(format!("{} at key {}: {e}", T::KIND, shown(key)));
    }
}

fn scan(db: &sled::Db, v: &mut Verification) -> Result<(), StoreError> {
    for kv in db.iter() {
        let (k, value) = kv?;
        let Some(&prefix) = k.first() else { continue };
        match prefix {
            keys::CASE => check::<CaseRecord>(v, &k, &value),
            keys::LOG => check::<LogEntry>(v, &k, &value),
            keys::EFFECT => check::<EffectRecord>(v, &k, &value),
            keys::WORKFLOW => check::<WorkflowSource>(v, &k, &value),
            keys::STUDENT => check::<Student>(v, &k, &value),
            keys::SLOT => check::<Slot>(v, &k, &value),
            keys::ARTICLE => check::<Article>(v, &k, &value),
            keys::TOOL => check::<ToolReceipt>(v, &k, &value),
            keys::BREAKER => check::<BreakerRecord>(v, &k, &value),
            keys::PAYMENT => check::<PaymentRecord>(v, &k, &value),
            keys::EARLY_STATUS => check::<provider::EarlyStatuses>(v, &k, &value),
            keys::IN_DOUBT => check::<provider::InDoubt>(v, &k, &value),
            keys::KEPT_NOTE => check::<provider::KeptNote>(v, &k, &value),
            keys::REJECTED => check::<provider::RejectedInbound>(v, &k, &value),
            keys::AUDIT => check::<audit::AuditEntry>(v, &k, &value),
            keys::ERASURE => check::<erase::ErasureRecord>(v, &k, &value),
            keys::QA_SAMPLE => check::<crate::store::qa::QaSample>(v, &k, &value),
            keys::QA_LABEL => check::<crate::store::qa::QaLabel>(v, &k, &value),
            keys::STATUS_BY_KEY | keys::ERASED_MESSAGE => {
                *v.counts.entry("index entry").or_default() += 1;
            }
            keys::DEDUPE | keys::OPEN | keys::PROVIDER => {
                *v.counts.entry("index entry").or_default() += 1;
                let case = value.get(..16).and_then(keys::case_id_from_value);
                match case {
                    // A note kept without a case names the nil id.
                    Some(id) if id.0.is_nil() && prefix == keys::DEDUPE => {}
                    Some(id) if db.contains_key(keys::case(id))? => {}
                    Some(id) => v.problem(format!(
                        "index {} names case {id}, which is missing",
                        shown(&k)
                    )),
                    None => v.problem(format!("index {} holds no case id", shown(&k))),
                }
            }
            keys::PHONE | keys::INVOICE => {
                *v.counts.entry("index entry").or_default() += 1;
                if !db.contains_key(keys::student(&String::from_utf8_lossy(&value)))? {
                    v.problem(format!("index {} names a missing student", shown(&k)));
                }
            }
            b'm' if &k[..] == keys::DEGRADED => check::<DegradedRecord>(v, &k, &value),
            b'm' if &k[..] == keys::PSEUDONYM_KEY => check::<erase::PseudonymKey>(v, &k, &value),
            b'm' => {}
            _ => v.problem(format!("unknown key {}", shown(&k))),
        }
    }
    Ok(())
}

/// A key for a message: printable bytes as they are, the rest in hex.
fn shown(key: &[u8]) -> String {
    key.iter()
        .map(|&b| {
            if b.is_ascii_graphic() {
                (b as char).to_string()
            } else {
                format!("\\x{b:02x}")
            }
        })
        .collect()
}
