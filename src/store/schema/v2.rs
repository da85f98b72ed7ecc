//! `CaseRecord` schema 2, frozen: the shape the release built from commit
//! c5a7a42 wrote (the case record with the policy stages' `Desk`).
//!
//! Never change a type here: these are the bytes a released build put on
//! disk. A later schema that keeps one of these types unchanged re-exports
//! it from here instead of copying it (frozen types never change, so that
//! is safe).
//!
//! Builds from commit 3d340f9 up to the bump to schema 3 wrote one more
//! field at the very end of the payload (`Desk::lane_posted`) while still
//! tagging it schema 2; [`LateCaseRecord`] reads those.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timestamp(pub i64);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseId(pub uuid::Uuid);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Channel {
    Whatsapp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerKey {
    pub channel: Channel,
    pub address: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkflowRef {
    pub name: String,
    pub version: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Mode {
    Pilot,
    Production,
}

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
    Degraded,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum WaitingOn {
    None,
    Customer,
    Operator,
    Coach,
    Tool(String),
    Timer,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Tier {
    R0,
    R1,
    R2,
    R3,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Identity {
    WaMatch,
    InvoiceEmail,
    Unverified,
    Mismatch,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Language {
    En,
    Id,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Turn {
    pub opened_at: Timestamp,
    pub messages: u32,
    pub acked: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SendPurpose {
    Ack,
    Reply,
    Ask,
    Notice,
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
pub struct ArmedTimer {
    pub name: String,
    pub due: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Intent {
    LegalThreat,
    Harassment,
    Privacy,
    Refund,
    Cancel,
    Reschedule,
    InvoiceResend,
    PaymentStatus,
    NextSession,
    Faq,
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub invoice: Option<String>,
    pub email: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfferedSlot {
    pub starts_at: Timestamp,
    pub coach: String,
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offer {
    pub session: String,
    pub slots: Vec<OfferedSlot>,
}

/// `Book` held a `usize`, which bincode writes as a u64.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Task {
    NextSession,
    PaymentStatus,
    InvoiceResend,
    OfferSlots,
    Book(u64),
}

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
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proposal {
    pub kind: ProposalKind,
    pub template: Option<String>,
    pub text: String,
    pub facts: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Lane {
    Operator,
    Coach,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DecisionKind {
    Approve,
    Edit,
    Deny,
    Escalate,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HumanDecision {
    pub lane: Lane,
    pub kind: DecisionKind,
    pub by: String,
    pub text: Option<String>,
    pub at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Booking {
    pub student: String,
    pub session: String,
    pub slot_at: Timestamp,
    pub coach: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ToolRequest {
    Book(Booking),
    PaymentStatus { order_id: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingTool {
    pub step: u32,
    pub request: ToolRequest,
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

/// Schema 2 as builds 3d340f9..(bump to 3) wrote it: the release's record
/// followed by `Desk::lane_posted`, the last field of the payload. bincode
/// writes a struct as its fields in order, so this is exactly those bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LateCaseRecord {
    pub record: CaseRecord,
    pub lane_posted: Option<Timestamp>,
}

/// The fields every case schema starts with, in order. The admin API shows
/// these for a record whose full payload no longer decodes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseHead {
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
}
