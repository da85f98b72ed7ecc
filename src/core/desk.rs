//! What the policy stages remember on a case between wakes: the turn's text
//! and intents, the rule that fired, identity progress, the slot offer, the
//! reply a stage proposed, a human's decision and the turn's review, and
//! what its tools did (the call in flight included).

use serde::{Deserialize, Serialize};

use crate::core::case::Lane;
use crate::core::records::Booking;
use crate::core::types::Timestamp;
use crate::policy::identity::Claims;
use crate::policy::intent::Intent;

/// Longest turn text kept on the case and tiered, in bytes: room for
/// several messages of the longest a customer may send
/// (`inbound::MAX_TEXT_CHARS`, up to 4 bytes a character), so a request at
/// the end of a long message is read. What is beyond is still in the log.
pub const TURN_TEXT_CAP: usize = 1 << 20;

/// The policy progress of a case. What could contradict itself as loose
/// flags is one value each: the turn's standing with the humans
/// ([`Review`]), what its tools have done ([`ToolProgress`]), and the rule
/// its tier came from ([`Ruling`]). Facts that are independent of those
/// stay separate fields.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CaseDesk {
    /// The current turn's messages, joined (untrusted data).
    pub turn_text: String,
    /// How much of `turn_text` identity has already read claims from.
    pub claims_read: usize,
    /// Intents of the current turn, strongest first.
    pub intents: Vec<Intent>,
    /// The tier rule that fired last, and how firmly its tier holds. Kept
    /// after the turn (views and decision records show it) until the next
    /// turn is tiered.
    pub ruling: Option<Ruling>,
    /// The student this case is verified as.
    pub student: Option<String>,
    pub claims: Claims,
    pub verify_attempts: u32,
    /// The customer was asked for invoice and email and has not given both.
    /// The verify stage's own fact, independent of the turn's review and
    /// tools: it lasts until identity is verified, across turns.
    pub asked_identity: bool,
    /// Slots offered to the customer, by number.
    pub offer: Option<Offer>,
    /// What the execute stage is to do this turn.
    pub task: Option<Task>,
    /// A reply drafted by a stage, not yet cleared by qa.
    pub proposal: Option<Proposal>,
    /// A human decision admitted but not yet applied by qa.
    pub decision: Option<HumanDecision>,
    /// Where the turn stands with the operator and the coach.
    pub review: Review,
    /// What the turn's tools have done, including the call in flight.
    pub tool: ToolProgress,
    /// Why qa blocked the last proposal.
    pub qa_block: Option<String>,
    /// When the customer last wrote: free-form replies only within 24 h.
    pub last_inbound_at: Option<Timestamp>,
    /// The human wait (its `wait_since`) last posted to the lane's chat.
    pub lane_posted: Option<Timestamp>,
}

impl CaseDesk {
    /// Forgets the finished turn; identity, the offer, the student and the
    /// ruling stay. A tool call still in flight stays too: its answer is
    /// still awaited under its key.
    pub fn end_turn(&mut self) {
        self.turn_text.clear();
        self.claims_read = 0;
        self.intents.clear();
        self.task = None;
        self.proposal = None;
        self.decision = None;
        self.review = Review::Open;
        if !matches!(self.tool, ToolProgress::InFlight(_)) {
            self.tool = ToolProgress::Idle;
        }
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

    /// The id of the tier rule that fired last.
    pub fn rule(&self) -> Option<&str> {
        self.ruling.as_ref().map(|r| r.rule.as_str())
    }

    /// No rule classified the turn: a human answers it.
    pub fn unclassified(&self) -> bool {
        self.ruling
            .as_ref()
            .is_some_and(|r| r.standing == Standing::Unclassified)
    }

    /// The tier came from trigger words that facts may still lower.
    pub fn lowerable(&self) -> bool {
        self.ruling
            .as_ref()
            .is_some_and(|r| r.standing == Standing::Lowerable)
    }

    /// The tool call in flight, if any.
    pub fn tool_in_flight(&self) -> Option<&PendingTool> {
        match &self.tool {
            ToolProgress::InFlight(p) => Some(p),
            _ => None,
        }
    }
}

/// The tier rule that fired for the turn, and how firmly its tier holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ruling {
    /// The rule's id in the tier table (`config/tiers.toml`), or a rule of
    /// the stages themselves (`slot-choice`, `risk-suspected`).
    pub rule: String,
    pub standing: Standing,
}

/// How firmly a ruling's tier holds for the rest of the turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Standing {
    /// Within the turn the tier only rises (CONTRACT section 2, "Turns").
    Firm,
    /// An R3 from trigger words that facts (the student's records) may
    /// still lower (`lowerable` in the tier table).
    Lowerable,
    /// No rule gave a tier: a human answers the turn. There is no tier to
    /// lower, so an unclassified ruling is never lowerable.
    Unclassified,
}

/// Where the current turn stands with the humans who decide it: whether it
/// was escalated, whether the customer was told the coach decides, and who
/// decided. One value, so that combinations that mean nothing (an approval
/// kept through an escalation, a coach decision on a turn nobody reviewed)
/// cannot be stored. Reset when the turn ends.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Review {
    /// No human has decided, nothing was escalated, and the customer has
    /// not been told the coach decides.
    #[default]
    Open,
    /// The customer was told the coach decides (an R3 acknowledgement);
    /// the coach has not decided yet.
    CoachAcked,
    /// The operator escalated the turn to the coach, who has not decided
    /// yet; an approval the operator gave before is void. `acked`: the
    /// customer has since been told the coach decides (the turn rose to R3).
    Escalated { acked: bool },
    /// The operator approved the turn's reply or action (or wrote it): it
    /// goes out once qa passes it.
    Approved,
    /// The coach decided (approved, edited, or denied an R3 request with
    /// the policy): the reply may say more than an acknowledgement.
    /// `escalated`: the turn reached the coach by escalation, so it stays
    /// on the coach's lane whatever its tier.
    CoachDecided { escalated: bool },
}

impl Review {
    /// A human approved (or wrote) the turn's reply or action.
    pub fn approved(self) -> bool {
        matches!(self, Review::Approved | Review::CoachDecided { .. })
    }

    /// The coach decided on this turn (R3 may then send more than an ack).
    pub fn coach_decided(self) -> bool {
        matches!(self, Review::CoachDecided { .. })
    }

    /// The turn is on the coach's lane whatever its tier.
    pub fn escalated(self) -> bool {
        matches!(
            self,
            Review::Escalated { .. } | Review::CoachDecided { escalated: true }
        )
    }

    /// The customer need not be told (again) that the coach decides: they
    /// were told, or the coach has already decided.
    pub fn coach_acked(self) -> bool {
        matches!(
            self,
            Review::CoachAcked | Review::Escalated { acked: true } | Review::CoachDecided { .. }
        )
    }

    /// After the customer was told the coach decides. An operator's
    /// approval does not survive the move to the coach.
    pub fn with_coach_ack(self) -> Review {
        match self {
            Review::Open | Review::CoachAcked | Review::Approved => Review::CoachAcked,
            Review::Escalated { .. } => Review::Escalated { acked: true },
            decided @ Review::CoachDecided { .. } => decided,
        }
    }

    /// After a human on `lane` approved, edited, or (the coach, on R3)
    /// denied with the policy.
    pub fn decided_on(self, lane: Lane) -> Review {
        match lane {
            Lane::Operator => Review::Approved,
            Lane::Coach => Review::CoachDecided {
                escalated: self.escalated(),
            },
        }
    }

    /// After the operator escalated the turn to the coach.
    pub fn escalate(self) -> Review {
        Review::Escalated {
            acked: self.coach_acked(),
        }
    }
}

/// What the turn's tools have done, in the only order it moves: nothing, a
/// call in flight, then what its answer allows. Reset when the turn ends,
/// except a call still in flight.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ToolProgress {
    /// No tool has answered this turn.
    #[default]
    Idle,
    /// A call is in flight: its effect step and what it does. After a crash
    /// it is run again under the same key.
    InFlight(PendingTool),
    /// The payment provider was asked this turn (answered or not): execute
    /// replies from what is stored and does not ask again.
    PaymentChecked,
    /// The booking tool reported success this turn: the reply may say so
    /// (qa's commitment check).
    Booked,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_review_moves_only_to_what_its_decisions_allow() {
        use Review::*;
        // The operator approves, then escalates: the approval is void.
        let r = Open.decided_on(Lane::Operator);
        assert!(r.approved() && !r.escalated());
        let r = r.escalate();
        assert_eq!(r, Escalated { acked: false });
        assert!(!r.approved());
        // The turn rises to R3 and the customer is told; the coach decides
        // and the turn stays on the coach's lane.
        let r = r.with_coach_ack();
        assert_eq!(r, Escalated { acked: true });
        let r = r.decided_on(Lane::Coach);
        assert_eq!(r, CoachDecided { escalated: true });
        assert!(r.approved() && r.coach_decided() && r.escalated() && r.coach_acked());
        // An R3 turn: acknowledged, then decided by the coach.
        let r = Open.with_coach_ack();
        assert_eq!(r, CoachAcked);
        assert!(!r.approved() && !r.coach_decided());
        assert_eq!(r.decided_on(Lane::Coach), CoachDecided { escalated: false });
        // Nothing acknowledges a decided turn again.
        assert_eq!(
            CoachDecided { escalated: false }.with_coach_ack(),
            CoachDecided { escalated: false }
        );
    }

    #[test]
    fn the_end_of_a_turn_keeps_only_a_call_in_flight() {
        let mut desk = CaseDesk {
            tool: ToolProgress::Booked,
            review: Review::Approved,
            ..CaseDesk::default()
        };
        desk.end_turn();
        assert_eq!((desk.tool, desk.review), (ToolProgress::Idle, Review::Open));
        let call = PendingTool {
            step: 2,
            request: ToolRequest::PaymentStatus {
                order_id: "ORD-1".into(),
            },
        };
        desk.tool = ToolProgress::InFlight(call.clone());
        desk.end_turn();
        assert_eq!(desk.tool_in_flight(), Some(&call));
    }
}
