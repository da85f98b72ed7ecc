//! What a human is asked to decide on a case: its pending action
//! (CONTRACT section 4, `pending_action`). Pure: the caller passes the
//! lane's SLA and the session the booking moves, read from the records.
//!
//! A case waiting on the operator or the coach asks them about one of three
//! things, in this order:
//! - a **reply** a stage drafted (the proposal qa holds back), with the
//!   session a slot offer is about;
//! - a **booking** the execute stage is about to make: the session it moves
//!   and the slot it takes (pilot mode books only once approved);
//! - an **escalation**: nothing is drafted (an R3 request, a turn no rule
//!   classified, a reply qa refused); `text` is then the customer's turn,
//!   untrusted data shown as such, and `reason` says why it is with a human.
//!
//! `due` is when the lane's SLA runs out: the wait's start plus the lane's
//! SLA from the workflow (`[sla] operator` / `coach`).

use crate::core::case::{CaseRecord, Lane};
use crate::core::desk::{OfferedSlot, Task};
use crate::core::records::Session;
use crate::core::types::{Timestamp, WaitingOn};

/// What the pending action is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum ActionKind {
    Reply,
    Booking,
    Escalation,
}

impl ActionKind {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// The session a booking or an offer moves: its id, and its time and
/// coach when the student's record still has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MovedSession {
    pub id: String,
    pub starts_at: Option<Timestamp>,
    pub coach: Option<String>,
}

/// The decision a case waits for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingAction {
    pub kind: ActionKind,
    pub lane: Lane,
    /// The drafted reply's template id, if it has one.
    pub template: Option<String>,
    /// The drafted reply; for an escalation, the customer's turn.
    pub text: Option<String>,
    pub session: Option<MovedSession>,
    /// The slot a booking takes.
    pub slot: Option<OfferedSlot>,
    /// When the lane's SLA runs out.
    pub due: Timestamp,
    /// Why a human decides: the tier rule, or what qa refused.
    pub reason: Option<String>,
}

/// The SLA of each human lane, in milliseconds (from the workflow).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LaneSla {
    pub operator_ms: i64,
    pub coach_ms: i64,
}

impl LaneSla {
    pub fn of(self, lane: Lane) -> i64 {
        match lane {
            Lane::Operator => self.operator_ms,
            Lane::Coach => self.coach_ms,
        }
    }
}

/// The lane a case waits on, if it waits on a human.
pub fn lane_of(case: &CaseRecord) -> Option<Lane> {
    match case.waiting_on {
        WaitingOn::Operator => Some(Lane::Operator),
        WaitingOn::Coach => Some(Lane::Coach),
        _ => None,
    }
}

/// The pending action of `case`, or `None` when it does not wait on a
/// human (or is closed). `session` is the student's record of the session
/// the case's slot offer is about, when the caller found it.
pub fn pending_action(
    case: &CaseRecord,
    sla: LaneSla,
    session: Option<&Session>,
) -> Option<PendingAction> {
    if case.is_closed() {
        return None;
    }
    let lane = lane_of(case)?;
    let desk = &case.desk;
    let moved = desk.offer.as_ref().map(|o| MovedSession {
        id: o.session.clone(),
        starts_at: session.filter(|s| s.id == o.session).map(|s| s.starts_at),
        coach: session
            .filter(|s| s.id == o.session)
            .map(|s| s.coach.clone()),
    });
    let reason = desk
        .qa_block
        .clone()
        .or_else(|| desk.rule().map(str::to_string));
    let due = case.wait_since.plus_millis(sla.of(lane));
    let base = PendingAction {
        kind: ActionKind::Escalation,
        lane,
        template: None,
        text: None,
        session: None,
        slot: None,
        due,
        reason,
    };
    if let Some(p) = &desk.proposal {
        return Some(PendingAction {
            kind: ActionKind::Reply,
            template: p.template.clone(),
            text: Some(p.text.clone()),
            session: moved,
            ..base
        });
    }
    if let Some(Task::Book(i)) = desk.task
        && let Some(slot) = desk.offer.as_ref().and_then(|o| o.slots.get(i))
    {
        return Some(PendingAction {
            kind: ActionKind::Booking,
            session: moved,
            slot: Some(slot.clone()),
            ..base
        });
    }
    let turn = desk.turn_text.trim();
    Some(PendingAction {
        text: (!turn.is_empty()).then(|| turn.to_string()),
        ..base
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::desk::{Offer, Proposal, ProposalKind};
    use crate::core::types::{CaseId, Channel, CustomerKey, Mode, State, Tier};
    use crate::workflow::Workflow;

    const SLA: LaneSla = LaneSla {
        operator_ms: 30 * 60_000,
        coach_ms: 8 * 3_600_000,
    };

    fn case(waiting_on: WaitingOn) -> CaseRecord {
        let wf = Workflow::parse(include_str!("../../workflows/support.toml")).unwrap();
        let mut c = CaseRecord::open(
            CaseId(uuid::Uuid::nil()),
            CustomerKey {
                channel: Channel::Whatsapp,
                address: "+6281234567890".into(),
            },
            wf.reference(),
            State::Qa,
            Mode::Pilot,
            Timestamp(0),
        );
        c.waiting_on = waiting_on;
        c.wait_since = Timestamp(1_000);
        c
    }

    fn offer() -> Offer {
        Offer {
            session: "S-1".into(),
            slots: vec![
                OfferedSlot {
                    starts_at: Timestamp(10_000),
                    coach: "Dewi".into(),
                    label: "27/11 19:00".into(),
                },
                OfferedSlot {
                    starts_at: Timestamp(20_000),
                    coach: "Budi".into(),
                    label: "28/11 19:00".into(),
                },
            ],
        }
    }

    fn session() -> Session {
        Session {
            id: "S-1".into(),
            starts_at: Timestamp(5_000),
            coach: "Dewi".into(),
        }
    }

    #[test]
    fn nothing_is_pending_unless_a_human_is_waited_on() {
        for w in [
            WaitingOn::None,
            WaitingOn::Customer,
            WaitingOn::Timer,
            WaitingOn::Tool("calendar.book".into()),
        ] {
            assert_eq!(pending_action(&case(w.clone()), SLA, None), None, "{w:?}");
        }
        let mut closed = case(WaitingOn::Operator);
        closed.state = State::Closed;
        assert_eq!(pending_action(&closed, SLA, None), None);
    }

    #[test]
    fn a_drafted_reply_is_asked_with_its_template_and_the_lane_sla() {
        let mut c = case(WaitingOn::Operator);
        c.desk.proposal = Some(Proposal {
            kind: ProposalKind::Schedule,
            template: Some("wa.r1.schedule".into()),
            text: "Your next lesson is Friday".into(),
            facts: vec![],
        });
        let p = pending_action(&c, SLA, None).unwrap();
        assert_eq!(p.kind, ActionKind::Reply);
        assert_eq!(p.lane, Lane::Operator);
        assert_eq!(p.template.as_deref(), Some("wa.r1.schedule"));
        assert_eq!(p.text.as_deref(), Some("Your next lesson is Friday"));
        assert_eq!(p.due, Timestamp(1_000 + 30 * 60_000));
        assert_eq!((p.session, p.slot), (None, None));
    }

    #[test]
    fn a_slot_offer_names_the_session_it_moves() {
        let mut c = case(WaitingOn::Operator);
        c.desk.offer = Some(offer());
        c.desk.proposal = Some(Proposal {
            kind: ProposalKind::Offer,
            template: Some("wa.r2.reschedule.offer".into()),
            text: "1) ... 2) ...".into(),
            facts: vec![],
        });
        let p = pending_action(&c, SLA, Some(&session())).unwrap();
        assert_eq!(p.kind, ActionKind::Reply);
        let s = p.session.unwrap();
        assert_eq!(
            (s.id.as_str(), s.starts_at, s.coach.as_deref()),
            ("S-1", Some(Timestamp(5_000)), Some("Dewi"))
        );
        assert_eq!(p.slot, None);
    }

    #[test]
    fn a_booking_names_the_session_it_moves_and_the_slot_it_takes() {
        let mut c = case(WaitingOn::Operator);
        c.desk.offer = Some(offer());
        c.desk.task = Some(Task::Book(1));
        let p = pending_action(&c, SLA, Some(&session())).unwrap();
        assert_eq!(p.kind, ActionKind::Booking);
        assert_eq!(p.session.unwrap().id, "S-1");
        let slot = p.slot.unwrap();
        assert_eq!(
            (slot.starts_at, slot.coach.as_str()),
            (Timestamp(20_000), "Budi")
        );
        assert_eq!((p.template, p.text), (None, None));
    }

    #[test]
    fn a_session_no_longer_on_record_is_named_by_id_alone() {
        let mut c = case(WaitingOn::Operator);
        c.desk.offer = Some(offer());
        c.desk.task = Some(Task::Book(0));
        let other = Session {
            id: "S-9".into(),
            ..session()
        };
        let s = pending_action(&c, SLA, Some(&other))
            .unwrap()
            .session
            .unwrap();
        assert_eq!((s.id.as_str(), s.starts_at, s.coach), ("S-1", None, None));
    }

    #[test]
    fn a_booking_outside_the_offer_is_an_escalation() {
        let mut c = case(WaitingOn::Operator);
        c.desk.offer = Some(offer());
        c.desk.task = Some(Task::Book(7));
        c.desk.turn_text = "7".into();
        let p = pending_action(&c, SLA, None).unwrap();
        assert_eq!(p.kind, ActionKind::Escalation);
        assert_eq!(p.slot, None);
    }

    #[test]
    fn an_r3_request_with_nothing_drafted_is_an_escalation_to_the_coach() {
        let mut c = case(WaitingOn::Coach);
        c.tier = Some(Tier::R3);
        c.desk.ruling = Some(crate::core::desk::Ruling {
            rule: "refund-request".into(),
            standing: crate::core::desk::Standing::Firm,
        });
        c.desk.turn_text = "  saya mau refund \n".into();
        let p = pending_action(&c, SLA, None).unwrap();
        assert_eq!(p.kind, ActionKind::Escalation);
        assert_eq!(p.lane, Lane::Coach);
        assert_eq!(p.text.as_deref(), Some("saya mau refund"));
        assert_eq!(p.reason.as_deref(), Some("refund-request"));
        assert_eq!(p.due, Timestamp(1_000 + 8 * 3_600_000));
    }

    #[test]
    fn what_qa_refused_is_the_reason_before_the_rule() {
        let mut c = case(WaitingOn::Operator);
        c.desk.ruling = Some(crate::core::desk::Ruling {
            rule: "schedule-question".into(),
            standing: crate::core::desk::Standing::Firm,
        });
        c.desk.qa_block = Some("no upcoming session to reschedule".into());
        let p = pending_action(&c, SLA, None).unwrap();
        assert_eq!(
            p.reason.as_deref(),
            Some("no upcoming session to reschedule")
        );
        assert_eq!(p.text, None, "an empty turn is no text");
    }
}
