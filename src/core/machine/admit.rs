//! Changes to a case that come from outside its own run: a human's
//! decision, an operator's retry, the supervisor's quarantine, a run that
//! cannot go on, a provider's failed delivery, the inbound rate limit, the
//! post of a human wait to the lane's chat, the erasure of the customer's
//! data. Each is a [`CaseEvent`] the
//! machine admits or refuses; admitted, it leaves a [`TransitionRecord`]
//! (from and to the same state when the state does not move), so the case's
//! timeline shows every change.
//!
//! Pure: `admit(case, event, now)` reads nothing but its arguments. The
//! store applies the result in the same atomic write as its log and audit
//! entries; the engine and HTTP never assign case fields themselves.

use crate::core::case::{CaseRecord, DecisionRecord, Lane, TransitionRecord};
use crate::core::desk::{CaseDesk, DecisionKind, HumanDecision};
use crate::core::types::{CaseId, State, Tier, Timestamp, WaitingOn};

/// The tag of a case whose customer's data was erased.
pub const ERASED_TAG: &str = "erased";

/// Something that changes a case from outside its run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaseEvent {
    /// A human decides on the case waiting on their lane (CONTRACT section
    /// 4, decision). `lanes` are those `by` may decide; `asked_at` is the
    /// wait the decision answers (a chat button), `None` for "the current
    /// one".
    Decision {
        kind: DecisionKind,
        by: String,
        lanes: Vec<Lane>,
        text: Option<String>,
        asked_at: Option<Timestamp>,
    },
    /// An operator re-runs a stuck or quarantined case from its persisted
    /// state; `reason` is the one they gave (a bulk retry's).
    Retry { by: String, reason: Option<String> },
    /// The supervisor gave up restarting the case's actor.
    Quarantine { reason: String },
    /// The run cannot go on (e.g. the workflow refuses a transition); an
    /// operator must look.
    Stuck { reason: String },
    /// The provider reported that an outbound message was not delivered.
    DeliveryFailed { provider_id: String, reason: String },
    /// The sender is past the inbound rate limit: their messages are kept
    /// and flagged, without waking the case.
    RateLimited,
    /// The human wait that began at `wait_since` was posted to the lane's
    /// chat (so it is not posted again at start).
    LanePosted { wait_since: Timestamp },
    /// The customer's personal data is erased (CONTRACT section 4, erase;
    /// section 2, "Privacy"): an open case closes, its customer becomes
    /// `pseudonym`, and what it held for its run (turn, drafts, sends and
    /// calls in flight, timers, the desk) is dropped. Admitted on closed
    /// cases too, never refused; a case erased before changes nothing. The
    /// store erases the texts of the case's log and its indexes in the
    /// same write.
    Erase {
        pseudonym: String,
        ground: ErasureGround,
    },
    /// At start, an open case moves onto a newer version of its workflow by
    /// the migration that version declares: `to` is the new workflow,
    /// `state` the state the migration maps the case's state to. A case
    /// already on `to` changes nothing.
    Migrate {
        to: crate::workflow::WorkflowRef,
        state: State,
    },
}

/// Why a case's data is erased.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum ErasureGround {
    /// The data subject asked (UU PDP, Law 27/2022: deletion on request).
    Request,
    /// The case was closed longer than `[retention] closed_cases`.
    Retention,
}

impl ErasureGround {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// Why an event was refused.
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

/// An admitted event: the changed case, the transition that records it, and
/// for a decision the audited record of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Admitted {
    pub case: CaseRecord,
    pub transition: TransitionRecord,
    pub decision: Option<DecisionRecord>,
}

/// Admits `event` on `case` at `now`, or says why not. `Ok(None)`: the
/// event changes nothing (a second rate-limit flag, a post of a wait that
/// has already ended), so nothing is written.
pub fn admit(
    case: &CaseRecord,
    event: CaseEvent,
    now: Timestamp,
) -> Result<Option<Admitted>, Refusal> {
    if case.is_closed() && !matches!(event, CaseEvent::RateLimited | CaseEvent::Erase { .. }) {
        return Err(Refusal::Closed);
    }
    let mut next = case.clone();
    let mut decision = None;
    let reason = match event {
        CaseEvent::Decision {
            kind,
            by,
            lanes,
            text,
            asked_at,
        } => {
            let record = admit_decision(&mut next, kind, by, &lanes, text, asked_at, now)?;
            let reason = format!(
                "{} by {} on the {} lane",
                record.decision.as_str(),
                record.by,
                record.lane.as_str()
            );
            decision = Some(record);
            reason
        }
        CaseEvent::Retry { by, reason } => {
            let quarantined = next.quarantined.take();
            let stuck = next.stuck.take();
            let why = reason.map(|r| format!(": {r}")).unwrap_or_default();
            match quarantined.or(stuck) {
                Some(was) => format!("retried by {by}{why} (was: {was})"),
                None => format!("retried by {by}{why}"),
            }
        }
        CaseEvent::Quarantine { reason } => {
            next.quarantined = Some(reason.clone());
            format!("quarantined: {reason}")
        }
        CaseEvent::Stuck { reason } => {
            if next.stuck.as_deref() == Some(reason.as_str()) {
                return Ok(None);
            }
            next.stuck = Some(reason.clone());
            format!("stuck: {reason}")
        }
        CaseEvent::DeliveryFailed {
            provider_id,
            reason,
        } => {
            let why = format!("delivery of message {provider_id} failed: {reason}");
            next.add_tag("delivery_failed");
            next.stuck = Some(why.clone());
            why
        }
        CaseEvent::RateLimited => {
            if next.tags.iter().any(|t| t == "rate_limited") {
                return Ok(None);
            }
            next.add_tag("rate_limited");
            "sender past the inbound rate limit: messages kept without a wake".into()
        }
        CaseEvent::LanePosted { wait_since } => {
            if next.wait_since != wait_since || next.desk.lane_posted == Some(wait_since) {
                return Ok(None);
            }
            next.desk.lane_posted = Some(wait_since);
            format!("posted to the {} lane's chat", next.waiting_on.label())
        }
        CaseEvent::Erase { pseudonym, ground } => {
            if next.tags.iter().any(|t| t == ERASED_TAG) {
                return Ok(None);
            }
            erase(&mut next, pseudonym, now);
            let ground = ground.as_str();
            if case.is_closed() {
                format!("the customer's data erased ({ground})")
            } else {
                format!("closed by erasure of the customer's data ({ground})")
            }
        }
        CaseEvent::Migrate { to, state } => {
            if next.workflow == to {
                return Ok(None);
            }
            let reason = format!("migrated from {} to {}", next.workflow, to);
            next.workflow = to;
            next.state = state;
            reason
        }
    };
    next.updated_at = now;
    let transition = TransitionRecord {
        from: case.state,
        to: next.state,
        at: now,
        reason,
    };
    Ok(Some(Admitted {
        case: next,
        transition,
        decision,
    }))
}

/// Closes the case if open and drops the customer's address and everything
/// the case held for its run: nothing of it runs again.
fn erase(case: &mut CaseRecord, pseudonym: String, now: Timestamp) {
    if !case.is_closed() {
        case.state = State::Closed;
        case.closed_at = Some(now);
    }
    case.customer.address = pseudonym;
    case.waiting_on = WaitingOn::None;
    case.wait_since = now;
    case.timers.clear();
    case.collect_until = None;
    case.turn = None;
    case.draft = None;
    case.pending_send = None;
    case.stuck = None;
    case.quarantined = None;
    case.desk = CaseDesk::default();
    case.add_tag(ERASED_TAG);
}

/// The rules a decision must pass (CONTRACT sections 2 and 4): the case
/// waits on a human lane the decider may decide, the decision answers the
/// current wait, approve has something to approve (the coach may approve
/// an R3 request with nothing drafted: the customer then hears
/// `wa.r3.approved`), and escalate leaves the operator lane. Admitted, the
/// decision is pending on the case, which runs again to apply it.
fn admit_decision(
    case: &mut CaseRecord,
    kind: DecisionKind,
    by: String,
    lanes: &[Lane],
    text: Option<String>,
    asked_at: Option<Timestamp>,
    now: Timestamp,
) -> Result<DecisionRecord, Refusal> {
    let lane = match case.waiting_on {
        WaitingOn::Operator => Lane::Operator,
        WaitingOn::Coach => Lane::Coach,
        ref other => return Err(Refusal::NotWaitingOnHuman(other.label())),
    };
    if !lanes.contains(&lane) {
        return Err(Refusal::NotYourLane(lane.as_str()));
    }
    if asked_at.is_some_and(|t| t != case.wait_since) {
        return Err(Refusal::Stale);
    }
    let coach_r3 = lane == Lane::Coach && case.tier == Some(Tier::R3);
    let nothing_drafted = case.desk.proposal.is_none() && case.desk.task.is_none();
    if kind == DecisionKind::Approve && !coach_r3 && nothing_drafted {
        return Err(Refusal::NothingToApprove);
    }
    if kind == DecisionKind::Escalate && lane == Lane::Coach {
        return Err(Refusal::AlreadyWithCoach);
    }
    let record = DecisionRecord {
        lane,
        decision: kind,
        by: by.clone(),
        at: now,
        text: text.clone(),
        tier: case.tier,
        rule: case.desk.rule().map(str::to_string),
    };
    case.desk.decision = Some(HumanDecision {
        lane,
        kind,
        by,
        text,
        at: now,
    });
    case.waiting_on = WaitingOn::None;
    case.wait_since = now;
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::types::{Channel, CustomerKey, Mode, State};
    use crate::workflow::Workflow;

    fn waiting(on: WaitingOn, tier: Option<Tier>) -> CaseRecord {
        let wf = Workflow::parse(include_str!("../../../workflows/support.toml")).unwrap();
        let mut c = CaseRecord::open(
            CaseId(uuid::Uuid::nil()),
            CustomerKey {
                channel: Channel::Whatsapp,
                address: "+6281234567890".into(),
            },
            wf.reference(),
            State::Qa,
            Mode::Pilot,
            Timestamp(1_000),
        );
        c.waiting_on = on;
        c.wait_since = Timestamp(1_000);
        c.tier = tier;
        c
    }

    fn decision(kind: DecisionKind, lanes: &[Lane]) -> CaseEvent {
        CaseEvent::Decision {
            kind,
            by: "dewi".into(),
            lanes: lanes.to_vec(),
            text: None,
            asked_at: None,
        }
    }

    #[test]
    fn a_migration_moves_the_case_onto_the_new_workflow_once_and_leaves_a_transition() {
        let case = waiting(WaitingOn::Operator, Some(Tier::R1));
        let to = crate::workflow::WorkflowRef {
            name: case.workflow.name.clone(),
            version: case.workflow.version + 1,
        };
        let now = Timestamp(9_000);
        let moved = admit(
            &case,
            CaseEvent::Migrate {
                to: to.clone(),
                state: State::Tier,
            },
            now,
        )
        .unwrap()
        .unwrap();
        assert_eq!(moved.case.workflow, to);
        assert_eq!(moved.case.state, State::Tier);
        assert_eq!(moved.case.updated_at, now);
        assert_eq!(
            (moved.transition.from, moved.transition.to),
            (State::Qa, State::Tier)
        );
        assert!(
            moved.transition.reason.starts_with("migrated from"),
            "{}",
            moved.transition.reason
        );
        let again = CaseEvent::Migrate {
            to,
            state: State::Tier,
        };
        assert_eq!(admit(&moved.case, again, now), Ok(None));
    }

    #[test]
    fn decision_rules_table() {
        use DecisionKind::*;
        use Lane::*;
        let both = [Operator, Coach];
        let cases: Vec<(&str, CaseRecord, CaseEvent, Result<(), Refusal>)> = vec![
            (
                "operator approves a draft",
                {
                    let mut c = waiting(WaitingOn::Operator, Some(Tier::R1));
                    c.desk.task = Some(crate::core::desk::Task::NextSession);
                    c
                },
                decision(Approve, &[Operator]),
                Ok(()),
            ),
            (
                "nothing drafted for the operator",
                waiting(WaitingOn::Operator, None),
                decision(Approve, &both),
                Err(Refusal::NothingToApprove),
            ),
            (
                "the coach approves an R3 with nothing drafted",
                waiting(WaitingOn::Coach, Some(Tier::R3)),
                decision(Approve, &[Coach]),
                Ok(()),
            ),
            (
                "an operator on the coach lane",
                waiting(WaitingOn::Coach, Some(Tier::R3)),
                decision(Deny, &[Operator]),
                Err(Refusal::NotYourLane("coach")),
            ),
            (
                "escalate from the coach lane",
                waiting(WaitingOn::Coach, Some(Tier::R3)),
                decision(Escalate, &both),
                Err(Refusal::AlreadyWithCoach),
            ),
            (
                "nobody is asked",
                waiting(WaitingOn::Customer, Some(Tier::R1)),
                decision(Deny, &both),
                Err(Refusal::NotWaitingOnHuman("customer".into())),
            ),
            (
                "an answer to an earlier wait",
                waiting(WaitingOn::Operator, None),
                CaseEvent::Decision {
                    kind: Deny,
                    by: "rina".into(),
                    lanes: both.to_vec(),
                    text: None,
                    asked_at: Some(Timestamp(999)),
                },
                Err(Refusal::Stale),
            ),
        ];
        for (name, case, event, want) in cases {
            let got = admit(&case, event, Timestamp(2_000));
            match want {
                Ok(()) => {
                    let a = got
                        .unwrap_or_else(|e| panic!("{name}: refused: {e}"))
                        .unwrap();
                    assert_eq!(a.case.waiting_on, WaitingOn::None, "{name}");
                    assert!(a.case.desk.decision.is_some(), "{name}");
                    assert_eq!(a.transition.from, a.transition.to, "{name}");
                    assert!(a.decision.is_some(), "{name}");
                }
                Err(e) => assert_eq!(got.unwrap_err(), e, "{name}"),
            }
        }
    }

    #[test]
    fn every_admitted_change_leaves_a_transition_and_repeats_change_nothing() {
        let case = waiting(WaitingOn::Operator, None);
        let now = Timestamp(5_000);
        let q = admit(&case, CaseEvent::Quarantine { reason: "x".into() }, now)
            .unwrap()
            .unwrap();
        assert_eq!(q.case.quarantined.as_deref(), Some("x"));
        assert_eq!(q.transition.reason, "quarantined: x");
        let r = admit(
            &q.case,
            CaseEvent::Retry {
                by: "rina".into(),
                reason: None,
            },
            now,
        )
        .unwrap()
        .unwrap();
        assert_eq!(r.case.quarantined, None);
        assert_eq!(r.transition.reason, "retried by rina (was: x)");
        let f = admit(
            &case,
            CaseEvent::DeliveryFailed {
                provider_id: "wamid.1".into(),
                reason: "131026".into(),
            },
            now,
        )
        .unwrap()
        .unwrap();
        assert!(f.case.stuck.as_deref().unwrap().contains("wamid.1"));
        assert!(f.case.tags.iter().any(|t| t == "delivery_failed"));
        let limited = admit(&case, CaseEvent::RateLimited, now).unwrap().unwrap();
        assert_eq!(admit(&limited.case, CaseEvent::RateLimited, now), Ok(None));
        let posted = admit(
            &case,
            CaseEvent::LanePosted {
                wait_since: case.wait_since,
            },
            now,
        )
        .unwrap()
        .unwrap();
        assert_eq!(posted.case.desk.lane_posted, Some(case.wait_since));
        assert_eq!(
            admit(
                &posted.case,
                CaseEvent::LanePosted {
                    wait_since: case.wait_since
                },
                now
            ),
            Ok(None)
        );
        let mut closed = case.clone();
        closed.state = State::Closed;
        closed.closed_at = Some(now);
        assert_eq!(
            admit(
                &closed,
                decision(DecisionKind::Deny, &[Lane::Operator]),
                now
            ),
            Err(Refusal::Closed)
        );
    }

    #[test]
    fn an_erasure_closes_the_case_drops_its_run_and_happens_once() {
        let mut case = waiting(WaitingOn::Coach, Some(Tier::R3));
        case.desk.turn_text = "hapus data saya kak".into();
        case.timers.push(crate::core::case::ArmedTimer {
            name: "coach_sla".into(),
            due: Timestamp(9_000),
        });
        let erase = |ground| CaseEvent::Erase {
            pseudonym: "subject-0a1b".into(),
            ground,
        };
        let now = Timestamp(5_000);
        let a = admit(&case, erase(ErasureGround::Request), now)
            .unwrap()
            .unwrap();
        assert!(a.case.is_closed());
        assert_eq!(a.case.closed_at, Some(now));
        assert_eq!(a.case.customer.address, "subject-0a1b");
        assert_eq!(a.case.desk, CaseDesk::default());
        assert!(a.case.timers.is_empty());
        assert_eq!(a.case.waiting_on, WaitingOn::None);
        assert!(a.case.tags.iter().any(|t| t == ERASED_TAG));
        assert_eq!(
            (a.transition.from, a.transition.to),
            (State::Qa, State::Closed)
        );
        assert_eq!(
            a.transition.reason,
            "closed by erasure of the customer's data (request)"
        );
        assert_eq!(a.decision, None);
        // Erased once: a second erasure (or retention) changes nothing.
        assert_eq!(
            admit(&a.case, erase(ErasureGround::Retention), now),
            Ok(None)
        );
        // A closed case is erased too; it keeps its close time, and the
        // transition records the erasure without a move.
        let mut closed = case.clone();
        closed.state = State::Closed;
        closed.closed_at = Some(Timestamp(1_500));
        let b = admit(&closed, erase(ErasureGround::Retention), now)
            .unwrap()
            .unwrap();
        assert_eq!(b.case.closed_at, Some(Timestamp(1_500)));
        assert_eq!(
            (b.transition.from, b.transition.to),
            (State::Closed, State::Closed)
        );
        assert_eq!(
            b.transition.reason,
            "the customer's data erased (retention)"
        );
    }
}
