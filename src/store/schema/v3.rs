//! `CaseRecord` schema 3, frozen: the shape builds cc2cad7 up to the bump
//! to schema 4 wrote (the desk's turn progress as loose flags:
//! `lowerable`, `unclassified`, `asked_identity`, `approved`,
//! `coach_decided`, `escalated`, `coach_acked`, `booked`,
//! `payment_checked`, next to `rule` and `pending_tool`).
//!
//! Never change a type here: these are the bytes those builds put on disk.
//! Types that schema 3 kept unchanged from schema 2 are re-exported from
//! [`super::v2`]. `ProposalKind` gained `CoachVerdict` at its end within
//! schema 3 (appending a variant keeps older values readable), so this copy
//! has it.

use serde::{Deserialize, Serialize};

pub use super::v2::{
    ArmedTimer, CaseId, Claims, CustomerKey, Draft, HumanDecision, Identity, Intent, Language,
    Mode, Offer, PendingSend, PendingTool, State, Task, Tier, Timestamp, Turn, WaitingOn,
    WorkflowRef,
};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProposalKind {
    Faq { article: String, version: u32 },
    AskIdentity,
    Schedule,
    Payment { confirmed: bool },
    Invoice,
    Offer,
    Booked,
    Pending,
    DegradedNotice,
    Edited { by: String },
    CoachVerdict { approved: bool },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proposal {
    pub kind: ProposalKind,
    pub template: Option<String>,
    pub text: String,
    pub facts: Vec<String>,
}

/// `claims_read` was a `usize`, which bincode writes as a u64.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Desk {
    pub turn_text: String,
    pub claims_read: u64,
    pub intents: Vec<Intent>,
    pub rule: Option<String>,
    pub lowerable: bool,
    pub unclassified: bool,
    pub student: Option<String>,
    pub claims: Claims,
    pub verify_attempts: u32,
    pub asked_identity: bool,
    pub offer: Option<Offer>,
    pub task: Option<Task>,
    pub proposal: Option<Proposal>,
    pub decision: Option<HumanDecision>,
    pub approved: bool,
    pub coach_decided: bool,
    pub escalated: bool,
    pub coach_acked: bool,
    pub booked: bool,
    pub payment_checked: bool,
    pub pending_tool: Option<PendingTool>,
    pub qa_block: Option<String>,
    pub last_inbound_at: Option<Timestamp>,
    pub lane_posted: Option<Timestamp>,
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
    pub desk: Desk,
}
