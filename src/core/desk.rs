//! What the policy stages remember on a case between wakes: the turn's text
//! and intents, the rule that fired, identity progress, the slot offer, the
//! reply a stage proposed, a human's decision and the write in flight.

use serde::{Deserialize, Serialize};

use crate::core::case::Lane;
use crate::core::records::Booking;
use crate::core::types::Timestamp;
use crate::policy::identity::Claims;
use crate::policy::intent::Intent;

/// Longest turn text kept on the case; what is beyond is still in the log.
pub const TURN_TEXT_CAP: usize = 4096;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Desk {
    /// The current turn's messages, joined (untrusted data).
    pub turn_text: String,
    /// How much of `turn_text` identity has already read claims from.
    pub claims_read: usize,
    /// Intents of the current turn, strongest first.
    pub intents: Vec<Intent>,
    /// The tier rule that fired last.
    pub rule: Option<String>,
    /// The tier came from trigger words that facts may still lower.
    pub lowerable: bool,
    /// No rule classified the turn: a human answers it.
    pub unclassified: bool,
    /// The student this case is verified as.
    pub student: Option<String>,
    pub claims: Claims,
    pub verify_attempts: u32,
    /// The customer was asked for invoice and email and has not answered.
    pub asked_identity: bool,
    /// Slots offered to the customer, by number.
    pub offer: Option<Offer>,
    /// What the execute stage is to do this turn.
    pub task: Option<Task>,
    /// A reply drafted by a stage, not yet cleared by qa.
    pub proposal: Option<Proposal>,
    /// A human decision not yet applied.
    pub decision: Option<HumanDecision>,
    /// A human approved this turn's reply or action.
    pub approved: bool,
    /// The coach decided on this turn (R3 may then send more than an ack).
    pub coach_decided: bool,
    /// The case was escalated to the coach lane.
    pub escalated: bool,
    /// The customer was told this turn waits for the coach.
    pub coach_acked: bool,
    /// A write tool reported success this turn.
    pub booked: bool,
    /// The payment provider was asked this turn (answer or not).
    pub payment_checked: bool,
    /// The write in flight: its effect step and what it does.
    pub pending_tool: Option<PendingTool>,
    /// Why qa blocked the last proposal.
    pub qa_block: Option<String>,
    /// When the customer last wrote: free-form replies only within 24 h.
    pub last_inbound_at: Option<Timestamp>,
    /// The human wait (its `wait_since`) last posted to the lane's chat.
    pub lane_posted: Option<Timestamp>,
}

impl Desk {
    /// Forgets the finished turn; identity, the offer and the student stay.
    pub fn end_turn(&mut self) {
        self.turn_text.clear();
        self.claims_read = 0;
        self.intents.clear();
        self.unclassified = false;
        self.task = None;
        self.proposal = None;
        self.decision = None;
        self.approved = false;
        self.coach_decided = false;
        self.escalated = false;
        self.coach_acked = false;
        self.booked = false;
        self.payment_checked = false;
        self.qa_block = None;
    }

    pub fn push_text(&mut self, text: &str) {
        if !self.turn_text.is_empty() {
            self.turn_text.push('\n');
        }
        let room = TURN_TEXT_CAP.saturating_sub(self.turn_text.len());
        let mut end = text.len().min(room);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        self.turn_text.push_str(&text[..end]);
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfferedSlot {
    pub starts_at: Timestamp,
    pub coach: String,
    /// Short label for a list row ("27/11 19:00").
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offer {
    pub session: String,
    pub slots: Vec<OfferedSlot>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Task {
    NextSession,
    PaymentStatus,
    InvoiceResend,
    OfferSlots,
    /// Book the offered slot with this index.
    Book(usize),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProposalKind {
    /// An R0 answer from a published article.
    Faq {
        article: String,
        version: u32,
    },
    AskIdentity,
    Schedule,
    Payment {
        confirmed: bool,
    },
    Invoice,
    Offer,
    /// The booking tool reported success.
    Booked,
    /// Records too old: "pending verification" wording, ends the turn.
    Pending,
    /// A tool is unavailable: "pending verification" with a follow-up
    /// window; the case pauses and resumes when the tool is back.
    DegradedNotice,
    /// A human's text.
    Edited {
        by: String,
    },
    /// The coach's verdict on an R3 request with nothing drafted:
    /// `wa.r3.approved` or `wa.r3.denied` (CONTRACT section 2, "Refunds").
    CoachVerdict {
        approved: bool,
    },
}

/// A reply a stage drafted, with the facts it was built from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proposal {
    pub kind: ProposalKind,
    pub template: Option<String>,
    pub text: String,
    /// Tool results and article text the reply may state.
    pub facts: Vec<String>,
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::EnumString,
)]
#[strum(serialize_all = "snake_case")]
pub enum DecisionKind {
    Approve,
    Edit,
    Deny,
    Escalate,
}

impl DecisionKind {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(s: &str) -> Option<DecisionKind> {
        s.parse().ok()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HumanDecision {
    pub lane: Lane,
    pub kind: DecisionKind,
    pub by: String,
    pub text: Option<String>,
    pub at: Timestamp,
}

/// What a tool call asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ToolRequest {
    /// Write: move a session to a slot.
    Book(Booking),
    /// Read: ask the payment provider for an order's state.
    PaymentStatus { order_id: String },
}

/// Whether a tool changes something outside the case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum ToolKind {
    Read,
    Write,
}

impl ToolKind {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// Every tool a case can call, declared read or write: the registry.
pub const TOOLS: [(&str, ToolKind); 3] = [
    (crate::core::records::BOOK_TOOL, ToolKind::Write),
    (crate::core::records::PAYMENT_STATUS_TOOL, ToolKind::Read),
    (crate::core::machine::SEND_TOOL, ToolKind::Write),
];

/// The declared kind of a tool by name, if it is one.
pub fn tool_kind(name: &str) -> Option<ToolKind> {
    TOOLS.iter().find(|(n, _)| *n == name).map(|(_, k)| *k)
}

impl ToolRequest {
    pub fn kind(&self) -> ToolKind {
        match self {
            ToolRequest::Book(_) => ToolKind::Write,
            ToolRequest::PaymentStatus { .. } => ToolKind::Read,
        }
    }

    /// The tool's name, as shown in `waiting_on` and tool calls.
    pub fn tool(&self) -> &'static str {
        match self {
            ToolRequest::Book(_) => crate::core::records::BOOK_TOOL,
            ToolRequest::PaymentStatus { .. } => crate::core::records::PAYMENT_STATUS_TOOL,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingTool {
    pub step: u32,
    pub request: ToolRequest,
}
