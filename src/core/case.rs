//! The case record and its history entries: plain data, persisted by the
//! store and shown by the admin API.

use serde::{Deserialize, Serialize};

use crate::core::desk::{CaseDesk, DecisionKind};
use crate::core::types::{
    CaseId, CustomerKey, IdempotencyKey, Identity, MessageId, Mode, State, Tier, Timestamp,
    WaitingOn,
};
use crate::workflow::WorkflowRef;

/// The language a reply is written in: the customer's.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default, strum::IntoStaticStr,
)]
#[strum(serialize_all = "snake_case")]
pub enum Language {
    #[default]
    En,
    Id,
}

impl Language {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// Why something is being sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SendPurpose {
    /// An acknowledgement while a human decides: the case goes back to qa.
    Ack,
    /// The turn's answer: the case goes to close.
    Reply,
    /// A question the verify stage waits on (invoice and email).
    Ask,
    /// A "pending verification" notice while a tool is unavailable.
    Notice,
}

/// A message qa has cleared for the send stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Draft {
    pub purpose: SendPurpose,
    pub template: Option<String>,
    pub text: String,
}

/// The send in flight: its effect step and the draft it carries, so a send
/// interrupted by a crash is re-run under the same idempotency key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingSend {
    pub step: u32,
    pub draft: Draft,
}

/// The customer's current turn: messages taken together for one answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Turn {
    pub opened_at: Timestamp,
    pub messages: u32,
    pub acked: bool,
}

/// A declared timer armed on a case, with its persisted deadline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArmedTimer {
    pub name: String,
    pub due: Timestamp,
}

/// The head record of a case: everything the machine needs to continue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// A reopened case collects messages until this instant.
    pub collect_until: Option<Timestamp>,
    pub draft: Option<Draft>,
    pub pending_send: Option<PendingSend>,
    pub timers: Vec<ArmedTimer>,
    pub first_response_at: Option<Timestamp>,
    /// Number of the next side effect; with the case id it makes the
    /// effect's idempotency key.
    pub effect_seq: u32,
    /// Highest log sequence of an inbound message taken into a turn.
    pub inbound_cursor: u64,
    /// Set when the case's actor failed past its restart budget.
    pub quarantined: Option<String>,
    /// Set when the case cannot go on by itself (e.g. a send failed).
    pub stuck: Option<String>,
    /// Bumped by every write; a write that expects another rev is refused.
    pub rev: u64,
    /// Policy progress of the current turn.
    pub desk: CaseDesk,
}

impl CaseRecord {
    /// A new case in the workflow's initial state.
    pub fn open(
        id: CaseId,
        customer: CustomerKey,
        workflow: WorkflowRef,
        initial: State,
        mode: Mode,
        now: Timestamp,
    ) -> CaseRecord {
        CaseRecord {
            id,
            customer,
            workflow,
            mode,
            state: initial,
            waiting_on: WaitingOn::None,
            wait_since: now,
            tier: None,
            identity: Identity::Unverified,
            language: Language::En,
            tags: Vec::new(),
            opened_at: now,
            updated_at: now,
            closed_at: None,
            turn: None,
            collect_until: None,
            draft: None,
            pending_send: None,
            timers: Vec::new(),
            first_response_at: None,
            effect_seq: 0,
            inbound_cursor: 0,
            quarantined: None,
            stuck: None,
            rev: 0,
            desk: CaseDesk::default(),
        }
    }

    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    /// The earliest instant at which a timer of this case falls due.
    pub fn next_deadline(&self) -> Option<Timestamp> {
        self.timers
            .iter()
            .map(|t| t.due)
            .chain(self.collect_until)
            .min()
    }

    pub fn add_tag(&mut self, tag: &str) {
        if !self.tags.iter().any(|t| t == tag) {
            self.tags.push(tag.to_string());
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboundMessage {
    pub message_id: MessageId,
    pub text: String,
    /// When the customer sent it (provider time), if given.
    pub sent_at: Option<Timestamp>,
    pub received_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboundMessage {
    pub key: IdempotencyKey,
    pub template: Option<String>,
    pub text: String,
    pub at: Timestamp,
    /// The provider's id once sent; `None` while unsent.
    pub provider_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransitionRecord {
    pub from: State,
    pub to: State,
    pub at: Timestamp,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum Lane {
    Operator,
    Coach,
}

impl Lane {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalRecord {
    pub lane: Lane,
    pub decision: String,
    pub by: String,
    pub at: Timestamp,
    pub text: Option<String>,
}

/// A human decision on a case, as audited: who, when, what, and under
/// which tier and rule the case stood.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionRecord {
    pub lane: Lane,
    pub decision: DecisionKind,
    pub by: String,
    pub at: Timestamp,
    pub text: Option<String>,
    pub tier: Option<Tier>,
    pub rule: Option<String>,
}

/// One entry of a case's history, in commit order. New kinds are added at
/// the end, so older entries keep decoding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum LogEntry {
    Inbound(InboundMessage),
    Outbound(OutboundMessage),
    Transition(TransitionRecord),
    /// Reserved by schema 1; decisions are written as [`LogEntry::Decision`].
    Approval(ApprovalRecord),
    Decision(DecisionRecord),
    /// A provider's status callback for an outbound message (written by
    /// older releases; new callbacks are [`LogEntry::Status`]).
    Delivery(DeliveryRecord),
    /// Something the customer did that is kept on the case but takes no
    /// part in a turn (a reaction, an edit, a system notice).
    Note(InboundNote),
    /// A provider's status callback for an outbound message, with the
    /// idempotency key it echoed.
    Status(StatusRecord),
}

/// What kind of customer event a [`InboundNote`] records. None of them
/// opens, reopens or wakes a case (CONTRACT section 2, WhatsApp inbound shapes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum NoteKind {
    /// An emoji reaction to a message (an empty emoji removes it).
    Reaction,
    /// The customer opened the chat for the first time (`request_welcome`).
    RequestWelcome,
    /// A system notice (changed number, changed user id).
    System,
    /// The customer edited an earlier message.
    Edit,
    /// The customer deleted (revoked) an earlier message.
    Revoke,
}

impl NoteKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NoteKind::Reaction => "reaction",
            NoteKind::RequestWelcome => "request_welcome",
            NoteKind::System => "system",
            NoteKind::Edit => "edit",
            NoteKind::Revoke => "revoke",
        }
    }
}

/// A customer event recorded on a case without waking it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboundNote {
    pub message_id: MessageId,
    pub kind: NoteKind,
    /// The message it is about (the reacted-to, edited or deleted one).
    pub refers_to: Option<MessageId>,
    /// The emoji, the edited text or the notice's wording (untrusted).
    pub text: String,
    pub sent_at: Option<Timestamp>,
    pub received_at: Timestamp,
}

/// Where a message's delivery stands, in the only order it may move:
/// accepted < sent < delivered < read; failed is final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum DeliveryStatus {
    Accepted,
    Sent,
    Delivered,
    Read,
    Failed,
}

impl DeliveryStatus {
    pub fn parse(s: &str) -> Option<DeliveryStatus> {
        Some(match s {
            "accepted" => DeliveryStatus::Accepted,
            "sent" => DeliveryStatus::Sent,
            "delivered" => DeliveryStatus::Delivered,
            "read" => DeliveryStatus::Read,
            "failed" => DeliveryStatus::Failed,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Accepted => "accepted",
            DeliveryStatus::Sent => "sent",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Read => "read",
            DeliveryStatus::Failed => "failed",
        }
    }

    /// The status after `next` arrives on a message at `self`: statuses
    /// only move forward, and nothing moves a failed message.
    pub fn advance(self, next: DeliveryStatus) -> DeliveryStatus {
        if self == DeliveryStatus::Failed {
            self
        } else {
            self.max(next)
        }
    }
}

/// A provider status callback as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusRecord {
    /// The provider's message id (wamid).
    pub provider_id: String,
    pub status: DeliveryStatus,
    /// The provider's timestamp of the status.
    pub at: Timestamp,
    /// `code title` of the first error, for a failed status.
    pub error: Option<String>,
    /// The idempotency key the send carried (`biz_opaque_callback_data`).
    pub key: Option<IdempotencyKey>,
    pub received_at: Timestamp,
}

/// What the provider reported about an outbound message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryRecord {
    pub provider_id: String,
    /// sent, delivered, read or failed.
    pub status: String,
    pub at: Timestamp,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum EffectStatus {
    /// Recorded before the call: the call may or may not have happened.
    Intent,
    Done,
    Failed,
}

impl EffectStatus {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// The intent/done record of one side effect, keyed by its idempotency key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EffectRecord {
    pub key: IdempotencyKey,
    pub step: u32,
    pub tool: String,
    pub status: EffectStatus,
    pub attempts: u32,
    /// The log entry this effect produced (an outbound message), if any.
    pub log_seq: Option<u64>,
    pub started_at: Timestamp,
    pub finished_at: Option<Timestamp>,
    pub last_error: Option<String>,
}
