//! The audit index: every human and admin action in time order — who
//! (name and role), when, what, and the policy it touched — for
//! `GET /admin/audit` (CONTRACT section 4).
//!
//! A decision's audit record is the case's own [`DecisionRecord`] (the
//! `approvals` of the case, with tier and rule); the index points at it
//! rather than copying it. Every other action (retries, degraded switches,
//! records and knowledge-base changes, exports, erasures, retention) is
//! recorded here whole. An entry is written in the same atomic batch as the
//! action it records, so an action is never taken without its entry.
//!
//! Entries hold no customer personal data: customers appear only by case
//! id or by the pseudonym of an erasure, so the audit outlives erasure.
//!
//! [`DecisionRecord`]: crate::core::case::DecisionRecord

use serde::{Deserialize, Serialize};

use super::codec::{Versioned, decode, encode};
use super::committer::Tx;
use super::{Store, StoreError, keys};
use crate::core::case::LogEntry;
use crate::core::types::{CaseId, Timestamp};

/// Who acted: the authenticated name and role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub name: String,
    pub role: String,
}

impl Actor {
    pub fn new(name: impl Into<String>, role: impl Into<String>) -> Actor {
        Actor {
            name: name.into(),
            role: role.into(),
        }
    }
}

/// What was done. Variants are only ever appended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AuditAction {
    Retry,
    Degraded,
    Students,
    Slots,
    Articles,
    Export,
    Erase,
    Retention,
    /// A post-send audit sample was drawn.
    QaSample,
    /// Post-send audit labels were recorded.
    QaLabels,
}

impl AuditAction {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::Retry => "retry",
            AuditAction::Degraded => "degraded",
            AuditAction::Students => "records.students",
            AuditAction::Slots => "records.slots",
            AuditAction::Articles => "kb",
            AuditAction::Export => "export",
            AuditAction::Erase => "erase",
            AuditAction::Retention => "retention",
            AuditAction::QaSample => "qa.sample",
            AuditAction::QaLabels => "qa.labels",
        }
    }
}

/// An action recorded whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub at: Timestamp,
    pub actor: Actor,
    pub action: AuditAction,
    /// What it acted on: a case id, article ids, an erasure's pseudonym.
    pub target: Option<String>,
    /// The policy it touched ("tier R3, rule refund-request", "UU PDP").
    pub policy: Option<String>,
    /// What it did, in a sentence; never customer personal data.
    pub detail: String,
}

/// One stored entry of the index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AuditEntry {
    /// A decision, recorded as the case's log entry `log_seq`.
    Decision {
        case: CaseId,
        log_seq: u64,
        role: String,
    },
    Action(AuditRecord),
}

impl Versioned for AuditEntry {
    const KIND: &'static str = "audit entry";
    const TAG: u8 = 20;
    const VERSION: u16 = 1;
}

/// An entry as `GET /admin/audit` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditView {
    /// The entry's position: pass it as `cursor` to continue after it.
    pub id: String,
    pub at: String,
    pub by: String,
    pub role: String,
    pub action: String,
    pub target: Option<String>,
    pub policy: Option<String>,
    pub detail: String,
}

/// A page of the audit, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditPage {
    pub entries: Vec<AuditView>,
    pub next_cursor: Option<String>,
}

/// The entry a cursor names, if it is one (16 bytes in hex).
pub fn parse_cursor(cursor: &str) -> Option<Vec<u8>> {
    hex::decode(cursor).ok().filter(|b| b.len() == 16)
}

/// Adds an entry at `at` to the op's writes.
pub(crate) fn insert(tx: &mut Tx<'_>, at: Timestamp, entry: &AuditEntry) -> Result<(), StoreError> {
    let seq = tx.generate_id()?;
    tx.insert(keys::audit(at, seq), encode(entry)?);
    Ok(())
}

/// Adds a whole record to the op's writes.
pub(crate) fn record(tx: &mut Tx<'_>, r: AuditRecord) -> Result<(), StoreError> {
    let at = r.at;
    insert(tx, at, &AuditEntry::Action(r))
}

/// "tier R3, rule refund-request", from what a case stood under.
pub fn policy_of(tier: Option<crate::core::types::Tier>, rule: Option<&str>) -> Option<String> {
    match (tier, rule) {
        (None, None) => None,
        (t, r) => Some(format!(
            "tier {}, rule {}",
            t.map_or("none", |t| t.as_str()),
            r.unwrap_or("none")
        )),
    }
}

impl Store {
    /// Records an action on its own (for actions that change nothing
    /// stored, such as an export).
    pub async fn audit(&self, r: AuditRecord) -> Result<(), StoreError> {
        self.committer.run(move |tx| record(tx, r)).await
    }

    /// Up to `limit` entries, oldest first, from `since` and after the
    /// entry `after` (a previous page's `next_cursor`, see [`parse_cursor`]).
    pub fn audit_page(
        &self,
        since: Option<Timestamp>,
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<AuditPage, StoreError> {
        let mut start = match since {
            Some(t) => keys::audit(t, 0),
            None => vec![keys::AUDIT],
        };
        if let Some(after) = after {
            let mut key = vec![keys::AUDIT];
            key.extend_from_slice(after);
            key.push(0);
            start = start.max(key);
        }
        let end = vec![keys::AUDIT + 1];
        let mut entries = Vec::new();
        let mut next_cursor = None;
        for kv in self.db()?.range(start..end) {
            let (k, v) = kv?;
            if entries.len() == limit {
                next_cursor = entries.last().map(|e: &AuditView| e.id.clone());
                break;
            }
            let id = hex::encode(&k[1..]);
            let at = keys::audit_at(&k).unwrap_or(Timestamp(0));
            entries.push(self.view(id, at, decode(&v)?)?);
        }
        Ok(AuditPage {
            entries,
            next_cursor,
        })
    }

    fn view(&self, id: String, at: Timestamp, entry: AuditEntry) -> Result<AuditView, StoreError> {
        Ok(match entry {
            AuditEntry::Action(r) => AuditView {
                id,
                at: r.at.to_rfc3339(),
                by: r.actor.name,
                role: r.actor.role,
                action: r.action.as_str().into(),
                target: r.target,
                policy: r.policy,
                detail: r.detail,
            },
            AuditEntry::Decision {
                case,
                log_seq,
                role,
            } => {
                let logged = match self.db()?.get(keys::log(case, log_seq))? {
                    Some(v) => Some(decode::<LogEntry>(&v)?),
                    None => None,
                };
                match logged {
                    Some(LogEntry::Decision(d)) => AuditView {
                        id,
                        at: d.at.to_rfc3339(),
                        by: d.by,
                        role,
                        action: "decision".into(),
                        target: Some(case.to_string()),
                        policy: policy_of(d.tier, d.rule.as_deref()),
                        detail: format!("{} on the {} lane", d.decision.as_str(), d.lane.as_str()),
                    },
                    _ => AuditView {
                        id,
                        at: at.to_rfc3339(),
                        by: String::new(),
                        role,
                        action: "decision".into(),
                        target: Some(case.to_string()),
                        policy: None,
                        detail: "the decision's record is missing from the case".into(),
                    },
                }
            }
        })
    }
}

impl Store {
    /// [`Store::upsert_students`] by a person, audited with the ids stored
    /// and ignored.
    pub async fn upsert_students_by(
        &self,
        students: Vec<crate::core::records::Student>,
        now: Timestamp,
        actor: Actor,
    ) -> Result<super::records::Upserted, StoreError> {
        self.committer
            .run(move |tx| {
                let out = super::records::upsert_in(tx, students, now, false)?;
                record(
                    tx,
                    AuditRecord {
                        at: now,
                        actor,
                        action: AuditAction::Students,
                        target: Some(list(&out.stored)),
                        policy: Some("student records (monotonic rev)".into()),
                        detail: format!(
                            "{} stored, {} ignored (rev not newer){}",
                            out.stored.len(),
                            out.ignored.len(),
                            if out.ignored.is_empty() {
                                String::new()
                            } else {
                                format!(": {}", list(&out.ignored))
                            }
                        ),
                    },
                )?;
                Ok(out)
            })
            .await
    }

    /// [`Store::add_slots`] by a person, audited.
    pub async fn add_slots_by(
        &self,
        slots: Vec<crate::core::records::Slot>,
        now: Timestamp,
        actor: Actor,
    ) -> Result<usize, StoreError> {
        self.committer
            .run(move |tx| {
                let offered = slots.len();
                let added = super::records::add_slots_in(tx, slots)?;
                record(
                    tx,
                    AuditRecord {
                        at: now,
                        actor,
                        action: AuditAction::Slots,
                        target: None,
                        policy: Some("free calendar slots".into()),
                        detail: format!("{added} of {offered} slot(s) added"),
                    },
                )?;
                Ok(added)
            })
            .await
    }

    /// [`Store::put_articles`] by a person, audited with each article's id,
    /// version and status.
    pub async fn put_articles_by(
        &self,
        articles: Vec<crate::core::records::Article>,
        now: Timestamp,
        actor: Actor,
    ) -> Result<usize, StoreError> {
        self.committer
            .run(move |tx| {
                let ids: Vec<String> = articles
                    .iter()
                    .map(|a| {
                        let status = match a.status {
                            crate::core::records::ArticleStatus::Published => "published",
                            crate::core::records::ArticleStatus::Draft => "draft",
                        };
                        format!("{}@v{} {status}", a.id, a.version)
                    })
                    .collect();
                let n = super::records::put_articles_in(tx, articles)?;
                record(
                    tx,
                    AuditRecord {
                        at: now,
                        actor,
                        action: AuditAction::Articles,
                        target: Some(list(&ids)),
                        policy: Some("knowledge base (only published versions answer R0)".into()),
                        detail: format!("{n} article version(s) stored"),
                    },
                )?;
                Ok(n)
            })
            .await
    }
}

/// The first ids of a list, comma-separated, with a count of the rest.
fn list(ids: &[String]) -> String {
    const SHOWN: usize = 20;
    let mut out = ids
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if ids.len() > SHOWN {
        out.push_str(&format!(" and {} more", ids.len() - SHOWN));
    }
    out
}
