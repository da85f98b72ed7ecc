//! Applies an event the machine admitted (`core::machine::admit`) in one
//! atomic write: the changed case, the transition that records it, a
//! decision's record and the audit entry. The rule is the machine's; the
//! store only stores, so an event is either applied, logged and audited
//! together, or refused and nothing is written.

use super::audit::{self, Actor, AuditAction, AuditEntry, AuditRecord};
use super::codec::{decode, encode};
use super::committer::Tx;
use super::{Store, StoreError, keys, next_seq};
use crate::core::case::{CaseRecord, LogEntry};
use crate::core::machine::admit::{self, Admitted, CaseEvent};
use crate::core::types::{CaseId, Timestamp};

pub use crate::core::machine::admit::Refusal;

impl Store {
    /// Admits `event` on case `id` at `now` and writes what it changes.
    /// `actor` is the person behind a decision or retry, for the audit.
    /// `Ok(Ok(None))`: the event changed nothing and nothing was written.
    pub async fn admit(
        &self,
        id: CaseId,
        event: CaseEvent,
        actor: Option<Actor>,
        now: Timestamp,
    ) -> Result<Result<Option<CaseRecord>, Refusal>, StoreError> {
        self.committer
            .run(move |tx| {
                let key = keys::case(id);
                let Some(v) = tx.get(&key)? else {
                    return Ok(Err(Refusal::NoCase(id)));
                };
                let case: CaseRecord = decode(&v)?;
                match admit::admit(&case, event, now) {
                    Err(refusal) => Ok(Err(refusal)),
                    Ok(None) => Ok(Ok(None)),
                    Ok(Some(admitted)) => write_admitted(tx, admitted, actor, now).map(Ok),
                }
            })
            .await
    }
}

/// Writes an admitted event inside an open batch; returns the stored case.
pub(super) fn write_admitted(
    tx: &mut Tx<'_>,
    admitted: Admitted,
    actor: Option<Actor>,
    now: Timestamp,
) -> Result<Option<CaseRecord>, StoreError> {
    let Admitted {
        mut case,
        transition,
        decision,
    } = admitted;
    let id = case.id;
    let why = transition.reason.clone();
    let seq = next_seq(tx)?;
    tx.insert(
        keys::log(id, seq),
        encode(&LogEntry::Transition(transition))?,
    );
    match (decision, actor) {
        (Some(record), actor) => {
            let seq = next_seq(tx)?;
            tx.insert(keys::log(id, seq), encode(&LogEntry::Decision(record))?);
            let role = actor.map_or_else(|| "system".to_string(), |a| a.role);
            audit::insert(
                tx,
                now,
                &AuditEntry::Decision {
                    case: id,
                    log_seq: seq,
                    role,
                },
            )?;
        }
        (None, Some(actor)) => audit::record(
            tx,
            AuditRecord {
                at: now,
                actor,
                action: AuditAction::Retry,
                target: Some(id.to_string()),
                policy: audit::policy_of(case.tier, case.desk.rule()),
                detail: format!(
                    "re-run from {} (waiting on {}); {why}",
                    case.state,
                    case.waiting_on.label()
                ),
            },
        )?,
        (None, None) => {}
    }
    case.rev += 1;
    tx.insert(keys::case(id), encode(&case)?);
    Ok(Some(case))
}
