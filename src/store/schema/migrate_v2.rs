//! Migration from case schema 2 to schema 3 (frozen to frozen, [`super::v3`]),
//! and the leaf conversions from the schema-2 types to the live ones, which
//! serve every later frozen schema that re-exports those leaf types.
//!
//! Schema 3 added `Desk::lane_posted`: a schema-2 record has none, so a case
//! waiting on a human is posted to its lane's chat again at start (at least
//! once per human wait, as the recovery promises).

use super::{v2, v3};
use crate::core::case::{self, Language, SendPurpose};
use crate::core::desk::{self, DecisionKind, Task, ToolRequest};
use crate::core::records::Booking;
use crate::core::types::{self as live, Channel, Identity, Mode, State, Tier, WaitingOn};
use crate::policy::intent::Intent;
use crate::workflow::WorkflowRef;

impl From<v2::Timestamp> for live::Timestamp {
    fn from(t: v2::Timestamp) -> Self {
        live::Timestamp(t.0)
    }
}

impl From<v2::CaseId> for live::CaseId {
    fn from(id: v2::CaseId) -> Self {
        live::CaseId(id.0)
    }
}

impl From<v2::CustomerKey> for live::CustomerKey {
    fn from(c: v2::CustomerKey) -> Self {
        live::CustomerKey {
            channel: match c.channel {
                v2::Channel::Whatsapp => Channel::Whatsapp,
            },
            address: c.address,
        }
    }
}

impl From<v2::WorkflowRef> for WorkflowRef {
    fn from(w: v2::WorkflowRef) -> Self {
        WorkflowRef {
            name: w.name,
            version: w.version,
        }
    }
}

impl From<v2::Mode> for Mode {
    fn from(m: v2::Mode) -> Self {
        match m {
            v2::Mode::Pilot => Mode::Pilot,
            v2::Mode::Production => Mode::Production,
        }
    }
}

impl From<v2::State> for State {
    fn from(s: v2::State) -> Self {
        match s {
            v2::State::Intake => State::Intake,
            v2::State::Tier => State::Tier,
            v2::State::Verify => State::Verify,
            v2::State::Execute => State::Execute,
            v2::State::Qa => State::Qa,
            v2::State::Send => State::Send,
            v2::State::Close => State::Close,
            v2::State::Closed => State::Closed,
            v2::State::Degraded => State::Degraded,
        }
    }
}

impl From<v2::WaitingOn> for WaitingOn {
    fn from(w: v2::WaitingOn) -> Self {
        match w {
            v2::WaitingOn::None => WaitingOn::None,
            v2::WaitingOn::Customer => WaitingOn::Customer,
            v2::WaitingOn::Operator => WaitingOn::Operator,
            v2::WaitingOn::Coach => WaitingOn::Coach,
            v2::WaitingOn::Tool(t) => WaitingOn::Tool(t),
            v2::WaitingOn::Timer => WaitingOn::Timer,
        }
    }
}

impl From<v2::Tier> for Tier {
    fn from(t: v2::Tier) -> Self {
        match t {
            v2::Tier::R0 => Tier::R0,
            v2::Tier::R1 => Tier::R1,
            v2::Tier::R2 => Tier::R2,
            v2::Tier::R3 => Tier::R3,
        }
    }
}

impl From<v2::Identity> for Identity {
    fn from(i: v2::Identity) -> Self {
        match i {
            v2::Identity::WaMatch => Identity::WaMatch,
            v2::Identity::InvoiceEmail => Identity::InvoiceEmail,
            v2::Identity::Unverified => Identity::Unverified,
            v2::Identity::Mismatch => Identity::Mismatch,
        }
    }
}

impl From<v2::Language> for Language {
    fn from(l: v2::Language) -> Self {
        match l {
            v2::Language::En => Language::En,
            v2::Language::Id => Language::Id,
        }
    }
}

impl From<v2::Turn> for case::Turn {
    fn from(t: v2::Turn) -> Self {
        case::Turn {
            opened_at: t.opened_at.into(),
            messages: t.messages,
            acked: t.acked,
        }
    }
}

impl From<v2::Draft> for case::Draft {
    fn from(d: v2::Draft) -> Self {
        case::Draft {
            purpose: match d.purpose {
                v2::SendPurpose::Ack => SendPurpose::Ack,
                v2::SendPurpose::Reply => SendPurpose::Reply,
                v2::SendPurpose::Ask => SendPurpose::Ask,
                v2::SendPurpose::Notice => SendPurpose::Notice,
            },
            template: d.template,
            text: d.text,
        }
    }
}

impl From<v2::PendingSend> for case::PendingSend {
    fn from(p: v2::PendingSend) -> Self {
        case::PendingSend {
            step: p.step,
            draft: p.draft.into(),
        }
    }
}

impl From<v2::ArmedTimer> for case::ArmedTimer {
    fn from(t: v2::ArmedTimer) -> Self {
        case::ArmedTimer {
            name: t.name,
            due: t.due.into(),
        }
    }
}

impl From<v2::Intent> for Intent {
    fn from(i: v2::Intent) -> Self {
        match i {
            v2::Intent::LegalThreat => Intent::LegalThreat,
            v2::Intent::Harassment => Intent::Harassment,
            v2::Intent::Privacy => Intent::Privacy,
            v2::Intent::Refund => Intent::Refund,
            v2::Intent::Cancel => Intent::Cancel,
            v2::Intent::Reschedule => Intent::Reschedule,
            v2::Intent::InvoiceResend => Intent::InvoiceResend,
            v2::Intent::PaymentStatus => Intent::PaymentStatus,
            v2::Intent::NextSession => Intent::NextSession,
            v2::Intent::Faq => Intent::Faq,
            v2::Intent::Other => Intent::Other,
        }
    }
}

impl From<v2::Offer> for desk::Offer {
    fn from(o: v2::Offer) -> Self {
        desk::Offer {
            session: o.session,
            slots: o
                .slots
                .into_iter()
                .map(|s| desk::OfferedSlot {
                    starts_at: s.starts_at.into(),
                    coach: s.coach,
                    label: s.label,
                })
                .collect(),
        }
    }
}

impl From<v2::Task> for Task {
    fn from(t: v2::Task) -> Self {
        match t {
            v2::Task::NextSession => Task::NextSession,
            v2::Task::PaymentStatus => Task::PaymentStatus,
            v2::Task::InvoiceResend => Task::InvoiceResend,
            v2::Task::OfferSlots => Task::OfferSlots,
            v2::Task::Book(i) => Task::Book(usize::try_from(i).unwrap_or(usize::MAX)),
        }
    }
}

impl From<v2::Proposal> for v3::Proposal {
    fn from(p: v2::Proposal) -> Self {
        v3::Proposal {
            kind: match p.kind {
                v2::ProposalKind::Faq { article, version } => {
                    v3::ProposalKind::Faq { article, version }
                }
                v2::ProposalKind::AskIdentity => v3::ProposalKind::AskIdentity,
                v2::ProposalKind::Schedule => v3::ProposalKind::Schedule,
                v2::ProposalKind::Payment { confirmed } => v3::ProposalKind::Payment { confirmed },
                v2::ProposalKind::Invoice => v3::ProposalKind::Invoice,
                v2::ProposalKind::Offer => v3::ProposalKind::Offer,
                v2::ProposalKind::Booked => v3::ProposalKind::Booked,
                v2::ProposalKind::Pending => v3::ProposalKind::Pending,
                v2::ProposalKind::DegradedNotice => v3::ProposalKind::DegradedNotice,
                v2::ProposalKind::Edited { by } => v3::ProposalKind::Edited { by },
            },
            template: p.template,
            text: p.text,
            facts: p.facts,
        }
    }
}

impl From<v2::Lane> for case::Lane {
    fn from(l: v2::Lane) -> Self {
        match l {
            v2::Lane::Operator => case::Lane::Operator,
            v2::Lane::Coach => case::Lane::Coach,
        }
    }
}

impl From<v2::HumanDecision> for desk::HumanDecision {
    fn from(d: v2::HumanDecision) -> Self {
        desk::HumanDecision {
            lane: d.lane.into(),
            kind: match d.kind {
                v2::DecisionKind::Approve => DecisionKind::Approve,
                v2::DecisionKind::Edit => DecisionKind::Edit,
                v2::DecisionKind::Deny => DecisionKind::Deny,
                v2::DecisionKind::Escalate => DecisionKind::Escalate,
            },
            by: d.by,
            text: d.text,
            at: d.at.into(),
        }
    }
}

impl From<v2::PendingTool> for desk::PendingTool {
    fn from(p: v2::PendingTool) -> Self {
        desk::PendingTool {
            step: p.step,
            request: match p.request {
                v2::ToolRequest::Book(b) => ToolRequest::Book(Booking {
                    student: b.student,
                    session: b.session,
                    slot_at: b.slot_at.into(),
                    coach: b.coach,
                }),
                v2::ToolRequest::PaymentStatus { order_id } => {
                    ToolRequest::PaymentStatus { order_id }
                }
            },
        }
    }
}

/// Schema 2 to 3: `lane_posted` as the late schema-2 builds wrote it, or
/// `None` (unknown).
fn desk(d: v2::Desk, lane_posted: Option<v2::Timestamp>) -> v3::Desk {
    v3::Desk {
        turn_text: d.turn_text,
        claims_read: d.claims_read,
        intents: d.intents,
        rule: d.rule,
        lowerable: d.lowerable,
        unclassified: d.unclassified,
        student: d.student,
        claims: d.claims,
        verify_attempts: d.verify_attempts,
        asked_identity: d.asked_identity,
        offer: d.offer,
        task: d.task,
        proposal: d.proposal.map(Into::into),
        decision: d.decision,
        approved: d.approved,
        coach_decided: d.coach_decided,
        escalated: d.escalated,
        coach_acked: d.coach_acked,
        booked: d.booked,
        payment_checked: d.payment_checked,
        pending_tool: d.pending_tool,
        qa_block: d.qa_block,
        last_inbound_at: d.last_inbound_at,
        lane_posted,
    }
}

/// A schema-2 record (as the release wrote it) in the schema-3 shape.
pub fn case_record(v: v2::CaseRecord, lane_posted: Option<v2::Timestamp>) -> v3::CaseRecord {
    v3::CaseRecord {
        id: v.id,
        customer: v.customer,
        workflow: v.workflow,
        mode: v.mode,
        state: v.state,
        waiting_on: v.waiting_on,
        wait_since: v.wait_since,
        tier: v.tier,
        identity: v.identity,
        language: v.language,
        tags: v.tags,
        opened_at: v.opened_at,
        updated_at: v.updated_at,
        closed_at: v.closed_at,
        turn: v.turn,
        collect_until: v.collect_until,
        draft: v.draft,
        pending_send: v.pending_send,
        timers: v.timers,
        first_response_at: v.first_response_at,
        effect_seq: v.effect_seq,
        inbound_cursor: v.inbound_cursor,
        quarantined: v.quarantined,
        stuck: v.stuck,
        rev: v.rev,
        desk: desk(v.desk, lane_posted),
    }
}
