//! `CaseRecord` schema 1, frozen: the shape builds 5c84552..441bbb2 wrote,
//! before the policy stages (no `Desk`; fewer states and send purposes).
//! Never change a type here. Types that schema 2 kept unchanged are
//! re-exported from [`super::v2`].

use serde::{Deserialize, Serialize};

use super::v2;
pub use super::v2::{
    ArmedTimer, CaseId, CustomerKey, Identity, Language, Mode, Tier, Timestamp, Turn, WaitingOn,
    WorkflowRef,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum State {
    Intake,
    Tier,
    Verify,
    Execute,
    Qa,
    Send,
    Close,
    Closed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SendPurpose {
    Ack,
    Reply,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Draft {
    pub purpose: SendPurpose,
    pub template: Option<String>,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingSend {
    pub step: u32,
    pub draft: Draft,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseRecord {
    pub id: CaseId,
    pub customer: CustomerKey,
    pub workflow: WorkflowRef,
    pub mode: Mode,
    pub state: State,
    pub waiting_on: WaitingOn,
    pub wait_since: Timestamp,
    pub tier: Option<Tier>,
    pub identity: Identity,
    pub language: Language,
    pub tags: Vec<String>,
    pub opened_at: Timestamp,
    pub updated_at: Timestamp,
    pub closed_at: Option<Timestamp>,
    pub turn: Option<Turn>,
    pub collect_until: Option<Timestamp>,
    pub draft: Option<Draft>,
    pub pending_send: Option<PendingSend>,
    pub timers: Vec<ArmedTimer>,
    pub first_response_at: Option<Timestamp>,
    pub effect_seq: u32,
    pub inbound_cursor: u64,
    pub quarantined: Option<String>,
    pub stuck: Option<String>,
    pub rev: u64,
}

// ---- migration 1 -> 2: frozen to frozen, never changes ----

impl From<State> for v2::State {
    fn from(s: State) -> v2::State {
        match s {
            State::Intake => v2::State::Intake,
            State::Tier => v2::State::Tier,
            State::Verify => v2::State::Verify,
            State::Execute => v2::State::Execute,
            State::Qa => v2::State::Qa,
            State::Send => v2::State::Send,
            State::Close => v2::State::Close,
            State::Closed => v2::State::Closed,
        }
    }
}

impl From<Draft> for v2::Draft {
    fn from(d: Draft) -> v2::Draft {
        v2::Draft {
            purpose: match d.purpose {
                SendPurpose::Ack => v2::SendPurpose::Ack,
                SendPurpose::Reply => v2::SendPurpose::Reply,
            },
            template: d.template,
            text: d.text,
        }
    }
}

/// A schema-1 case has no policy progress: its desk starts empty.
impl From<CaseRecord> for v2::CaseRecord {
    fn from(v: CaseRecord) -> v2::CaseRecord {
        v2::CaseRecord {
            id: v.id,
            customer: v.customer,
            workflow: v.workflow,
            mode: v.mode,
            state: v.state.into(),
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
            draft: v.draft.map(Into::into),
            pending_send: v.pending_send.map(|p| v2::PendingSend {
                step: p.step,
                draft: p.draft.into(),
            }),
            timers: v.timers,
            first_response_at: v.first_response_at,
            effect_seq: v.effect_seq,
            inbound_cursor: v.inbound_cursor,
            quarantined: v.quarantined,
            stuck: v.stuck,
            rev: v.rev,
            desk: v2::Desk {
                turn_text: String::new(),
                claims_read: 0,
                intents: Vec::new(),
                rule: None,
                lowerable: false,
                unclassified: false,
                student: None,
                claims: v2::Claims {
                    invoice: None,
                    email: None,
                },
                verify_attempts: 0,
                asked_identity: false,
                offer: None,
                task: None,
                proposal: None,
                decision: None,
                approved: false,
                coach_decided: false,
                escalated: false,
                coach_acked: false,
                booked: false,
                payment_checked: false,
                pending_tool: None,
                qa_block: None,
                last_inbound_at: None,
            },
        }
    }
}
