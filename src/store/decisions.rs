//! Human decisions on a case: checked and recorded in one write, with the
//! audit entry, so a decision is either taken and audited or refused.

use super::audit::{self, Actor, AuditEntry};
use super::codec::{decode, encode};
use super::{Store, StoreError, keys, next_seq};
use crate::core::case::{CaseRecord, DecisionRecord, Lane, LogEntry};
use crate::core::desk::{DecisionKind, HumanDecision};
use crate::core::types::{CaseId, Tier, Timestamp, WaitingOn};

/// Why a decision was not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("case {0} not found")]
    NoCase(CaseId),
    #[error("case is closed")]
    Closed,
    #[error("case is not waiting on an operator or coach (waiting_on: {0})")]
    NotWaitingOnHuman(String),
    #[error("nothing is drafted to approve: use \"edit\" with the reply text")]
    NothingToApprove,
    #[error("the case is already with the coach")]
    AlreadyWithCoach,
    #[error("the case has moved on since this was asked")]
    Stale,
    #[error("the case waits on the {0} lane, which this user may not decide")]
    NotYourLane(&'static str),
}

impl Store {
    /// Records `kind` by `actor` on a case waiting on a human: the lane is
    /// the one the case waits on, and must be one of `lanes` (those the
    /// actor may decide, checked here so the lane cannot change between the
    /// check and the decision); the case is set running so its actor
    /// applies the decision. The audit index points at the decision record.
    #[allow(clippy::too_many_arguments)]
    pub async fn decide(
        &self,
        id: CaseId,
        kind: DecisionKind,
        actor: Actor,
        lanes: Vec<Lane>,
        text: Option<String>,
        now: Timestamp,
        asked_at: Option<Timestamp>,
    ) -> Result<Result<CaseRecord, Refusal>, StoreError> {
        self.committer
            .run(move |tx| {
                let key = keys::case(id);
                let Some(v) = tx.get(&key)? else {
                    return Ok(Err(Refusal::NoCase(id)));
                };
                let mut case: CaseRecord = decode(&v)?;
                if case.is_closed() {
                    return Ok(Err(Refusal::Closed));
                }
                let lane = match case.waiting_on {
                    WaitingOn::Operator => Lane::Operator,
                    WaitingOn::Coach => Lane::Coach,
                    ref other => return Ok(Err(Refusal::NotWaitingOnHuman(other.label()))),
                };
                if !lanes.contains(&lane) {
                    return Ok(Err(Refusal::NotYourLane(lane.as_str())));
                }
                let by = actor.name;
                if asked_at.is_some_and(|t| t != case.wait_since) {
                    return Ok(Err(Refusal::Stale));
                }
                let desk = &case.desk;
                // The coach may approve an R3 request with nothing drafted:
                // the customer then hears `wa.r3.approved`.
                let coach_r3 = lane == Lane::Coach && case.tier == Some(Tier::R3);
                if kind == DecisionKind::Approve
                    && !coach_r3
                    && desk.proposal.is_none()
                    && desk.task.is_none()
                {
                    return Ok(Err(Refusal::NothingToApprove));
                }
                if kind == DecisionKind::Escalate && lane == Lane::Coach {
                    return Ok(Err(Refusal::AlreadyWithCoach));
                }
                let record = DecisionRecord {
                    lane,
                    decision: kind,
                    by: by.clone(),
                    at: now,
                    text: text.clone(),
                    tier: case.tier,
                    rule: case.desk.rule.clone(),
                };
                let seq = next_seq(tx)?;
                tx.insert(keys::log(id, seq), encode(&LogEntry::Decision(record))?);
                let entry = AuditEntry::Decision {
                    case: id,
                    log_seq: seq,
                    role: actor.role,
                };
                audit::insert(tx, now, &entry)?;
                case.desk.decision = Some(HumanDecision {
                    lane,
                    kind,
                    by,
                    text,
                    at: now,
                });
                case.waiting_on = WaitingOn::None;
                case.wait_since = now;
                case.updated_at = now;
                case.rev += 1;
                tx.insert(key, encode(&case)?);
                Ok(Ok(case))
            })
            .await
    }
}
