//! What one case's stored history says happened, turn by turn: when each
//! turn started and was first answered and resolved, its tier and rule,
//! whether a human or the coach took it, what was sent and written.
//!
//! Pure: a [`CaseHistory`] in, a [`CaseFacts`] out. The facts are read from
//! the structure of the log (transitions between declared states, outbound
//! messages and their effect records, decisions), and from two reason
//! wordings the policy stages write: `rule <id>: <tier>` (tier stage, and the
//! booking's exception) and `the <lane> decides` (qa's acknowledgement).

use std::collections::HashMap;

use crate::core::case::{EffectStatus, Lane, LogEntry};
use crate::core::desk::{DecisionKind, ToolKind, tool_kind};
use crate::core::machine::SEND_TOOL;
use crate::core::types::{CaseId, Identity, State, Tier, Timestamp, WaitingOn};
use crate::store::scan::CaseHistory;

/// Longest turn text kept for the knowledge-gap words.
const TEXT_CAP: usize = 1024;

/// Templates whose sending shows the tier of the turn they answer.
fn template_tier(template: &str) -> Option<Tier> {
    match template {
        "wa.r0.faq" => Some(Tier::R0),
        "wa.r1.schedule" | "wa.r1.payment" | "wa.r1.invoice" => Some(Tier::R1),
        t if t.starts_with("wa.r2.") => Some(Tier::R2),
        t if t.starts_with("wa.r3.") => Some(Tier::R3),
        _ => None,
    }
}

/// Templates that state account facts: sending one is an account action.
fn is_account_template(template: &str) -> bool {
    matches!(
        template,
        "wa.r1.schedule"
            | "wa.r1.payment"
            | "wa.r1.invoice"
            | "wa.r2.reschedule.offer"
            | "wa.r2.reschedule.done"
            | "wa.payment.pending"
    )
}

/// The acknowledgements of the coach lane.
fn is_coach_ack(template: &str) -> bool {
    matches!(template, "wa.r3.escalation" | "wa.r3.refund")
}

/// `rule <id>: ... <tier>` → the rule id and the tier named last (None for
/// an unclassified turn).
pub fn rule_evidence(reason: &str) -> Option<(String, Option<Tier>)> {
    let rest = reason.strip_prefix("rule ")?;
    let (rule, tail) = rest.split_once(':')?;
    let tier = tail
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter_map(Tier::parse)
        .next_back();
    Some((rule.trim().to_string(), tier))
}

/// One customer turn: the messages answered together.
#[derive(Debug, Clone, PartialEq)]
pub struct TurnFacts {
    pub started_at: Timestamp,
    /// The customer's messages of the turn, joined (untrusted text).
    pub text: String,
    /// The tier the turn ended with; `None`: no rule classified it.
    pub tier: Option<Tier>,
    pub rule: Option<String>,
    /// When the first message after the turn started reached the provider.
    pub first_response_at: Option<Timestamp>,
    /// When the turn reached `close` (answered, or dropped by a human).
    pub resolved_at: Option<Timestamp>,
    /// A published article answered it (`wa.r0.faq` went out).
    pub answered_by_article: bool,
    pub to_operator: bool,
    /// It reached the coach lane (an R3, or escalated).
    pub to_coach: bool,
}

impl TurnFacts {
    fn new(started_at: Timestamp, text: &str) -> TurnFacts {
        let mut t = TurnFacts {
            started_at,
            text: String::new(),
            tier: None,
            rule: None,
            first_response_at: None,
            resolved_at: None,
            answered_by_article: false,
            to_operator: false,
            to_coach: false,
        };
        t.push_text(text);
        t
    }

    fn push_text(&mut self, text: &str) {
        if self.text.len() >= TEXT_CAP {
            return;
        }
        if !self.text.is_empty() {
            self.text.push('\n');
        }
        let room = TEXT_CAP - self.text.len();
        let mut end = text.len().min(room);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        self.text.push_str(&text[..end]);
    }

    /// A reschedule was asked for in this turn (not the choice of a slot).
    pub fn is_reschedule_request(&self) -> bool {
        self.rule
            .as_deref()
            .is_some_and(|r| r.contains("reschedule"))
    }
}

/// A time a case waited on a human lane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HumanWait {
    pub lane: Lane,
    pub since: Timestamp,
    /// When the lane decided; `None` while still waiting.
    pub decided_at: Option<Timestamp>,
}

/// An account-specific action: a write tool call or a reply stating
/// account facts, and whether identity was verified before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountAction {
    pub at: Timestamp,
    pub what: String,
    pub verified: bool,
}

/// A reply that answered a turn (the send that took the case to `close`).
#[derive(Debug, Clone, PartialEq)]
pub struct SentReply {
    pub seq: u64,
    pub sent_at: Timestamp,
    pub template: Option<String>,
    pub text: String,
    pub tier: Option<Tier>,
}

/// A reschedule asked for, and when its booking succeeded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RescheduleRequest {
    pub at: Timestamp,
    pub booked_at: Option<Timestamp>,
}

/// Everything the report reads from one case.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseFacts {
    pub id: CaseId,
    /// The customer's address (number or business-scoped id): for reopen
    /// matching only, never shown.
    pub customer: String,
    pub opened_at: Timestamp,
    pub qa_blocked: bool,
    pub student: Option<String>,
    pub turns: Vec<TurnFacts>,
    pub waits: Vec<HumanWait>,
    pub actions: Vec<AccountAction>,
    pub replies: Vec<SentReply>,
    pub reschedules: Vec<RescheduleRequest>,
    /// When a "payment not yet confirmed" follow-up went out.
    pub payment_follow_ups: Vec<Timestamp>,
    /// Declared SLA timers other than the first response (a privacy
    /// deadline) that fired on this case, when they fired.
    pub timer_breaches: Vec<(String, Timestamp)>,
}

/// What is learned about the open turn's tier, last evidence winning.
enum Evidence {
    Rule(String, Option<Tier>),
    Tier(Tier),
}

fn apply(turn: &mut TurnFacts, e: Evidence) {
    match e {
        Evidence::Rule(rule, tier) => {
            turn.rule = Some(rule);
            turn.tier = tier;
        }
        Evidence::Tier(t) => turn.tier = Some(t),
    }
}

/// Reads the facts of one case from its stored history.
pub fn case_facts(h: &CaseHistory) -> CaseFacts {
    let case = &h.case;
    let sent: HashMap<u64, Timestamp> = h
        .effects
        .iter()
        .filter(|e| e.status == EffectStatus::Done)
        .filter_map(|e| Some((e.log_seq?, e.finished_at?)))
        .collect();
    let mut facts = CaseFacts {
        id: case.id,
        customer: case.customer.address.clone(),
        opened_at: case.opened_at,
        qa_blocked: case.tags.iter().any(|t| t == "qa_blocked"),
        student: case.desk.student.clone(),
        turns: Vec::new(),
        waits: Vec::new(),
        actions: Vec::new(),
        replies: Vec::new(),
        reschedules: Vec::new(),
        payment_follow_ups: Vec::new(),
        timer_breaches: Vec::new(),
    };
    let mut turn: Option<TurnFacts> = None;
    let mut verified_at: Option<Timestamp> = None;
    let mut into_qa_at: Option<Timestamp> = None;
    let mut last_decision_at: Option<Timestamp> = None;
    // The last outbound message: (seq, sent at, template, text).
    let mut last_out: Option<(u64, Option<Timestamp>, Option<String>, String)> = None;
    // Replies of the open turn, given the turn's tier when it ends.
    let mut open_replies: Vec<SentReply> = Vec::new();
    let mut account_replies: Vec<(Timestamp, String)> = Vec::new();

    let close_turn =
        |turn: &mut Option<TurnFacts>, open_replies: &mut Vec<SentReply>, facts: &mut CaseFacts| {
            if let Some(t) = turn.take() {
                for mut r in open_replies.drain(..) {
                    r.tier = t.tier;
                    facts.replies.push(r);
                }
                if t.is_reschedule_request() {
                    facts.reschedules.push(RescheduleRequest {
                        at: t.started_at,
                        booked_at: None,
                    });
                }
                facts.turns.push(t);
            }
        };

    for (seq, entry) in &h.log {
        match entry {
            LogEntry::Inbound(m) => match &mut turn {
                Some(t) => t.push_text(&m.text),
                None => turn = Some(TurnFacts::new(m.received_at, &m.text)),
            },
            LogEntry::Outbound(o) => {
                let sent_at = sent.get(seq).copied();
                if let Some(t) = &mut turn {
                    if t.first_response_at.is_none() {
                        t.first_response_at = sent_at;
                    }
                    if let Some(template) = &o.template {
                        if let Some(tier) = template_tier(template) {
                            apply(t, Evidence::Tier(tier));
                        }
                        if template == "wa.r0.faq" && sent_at.is_some() {
                            t.answered_by_article = true;
                        }
                        if is_coach_ack(template) {
                            t.to_coach = true;
                        }
                    }
                }
                if let Some(template) = &o.template {
                    if is_account_template(template) {
                        account_replies.push((o.at, template.clone()));
                    }
                    if template == "wa.payment.pending"
                        && let Some(at) = sent_at
                    {
                        facts.payment_follow_ups.push(at);
                    }
                }
                last_out = Some((*seq, sent_at, o.template.clone(), o.text.clone()));
            }
            LogEntry::Transition(tr) => {
                if let Some(t) = &mut turn {
                    if let Some((rule, tier)) = rule_evidence(&tr.reason) {
                        apply(t, Evidence::Rule(rule, tier));
                    }
                    if tr.reason.contains("the coach decides") {
                        t.to_coach = true;
                    }
                    if tr.reason.contains("the operator decides") {
                        t.to_operator = true;
                    }
                }
                if let Some(timer) = tr
                    .reason
                    .strip_prefix("timer ")
                    .and_then(|r| r.strip_suffix(" fired"))
                    && timer != "first_response"
                    && case
                        .tags
                        .iter()
                        .any(|t| t.strip_prefix("sla_breach:") == Some(timer))
                {
                    facts.timer_breaches.push((timer.to_string(), tr.at));
                }
                if tr.from == State::Verify && tr.to == State::Execute {
                    verified_at.get_or_insert(tr.at);
                }
                if tr.to == State::Qa {
                    into_qa_at = Some(tr.at);
                }
                if tr.from == State::Close && tr.to == State::Intake && turn.is_none() {
                    turn = Some(TurnFacts::new(tr.at, ""));
                }
                let resolves = tr.to == State::Close && matches!(tr.from, State::Send | State::Qa);
                if resolves {
                    if tr.from == State::Send
                        && let Some((seq, Some(sent_at), template, text)) = last_out.take()
                    {
                        open_replies.push(SentReply {
                            seq,
                            sent_at,
                            template,
                            text,
                            tier: None,
                        });
                    }
                    if let Some(t) = &mut turn {
                        t.resolved_at = Some(tr.at);
                    }
                    close_turn(&mut turn, &mut open_replies, &mut facts);
                }
                if tr.to == State::Closed {
                    close_turn(&mut turn, &mut open_replies, &mut facts);
                }
            }
            LogEntry::Decision(d) => {
                let since = [
                    into_qa_at,
                    last_decision_at,
                    turn.as_ref().map(|t| t.started_at),
                ]
                .into_iter()
                .flatten()
                .filter(|t| *t <= d.at)
                .max()
                .unwrap_or(d.at);
                facts.waits.push(HumanWait {
                    lane: d.lane,
                    since,
                    decided_at: Some(d.at),
                });
                last_decision_at = Some(d.at);
                if let Some(t) = &mut turn {
                    match d.lane {
                        Lane::Operator => t.to_operator = true,
                        Lane::Coach => t.to_coach = true,
                    }
                    if d.decision == DecisionKind::Escalate {
                        t.to_coach = true;
                    }
                    if let Some(tier) = d.tier {
                        apply(t, Evidence::Tier(tier));
                    }
                }
            }
            LogEntry::Approval(a) => {
                if let Some(t) = &mut turn {
                    match a.lane {
                        Lane::Operator => t.to_operator = true,
                        Lane::Coach => t.to_coach = true,
                    }
                }
            }
            LogEntry::Delivery(_) | LogEntry::Note(_) | LogEntry::Status(_) => {}
        }
    }
    // The last turn's tier is the case record's: evidence in the log can
    // miss a re-decision that wrote no reason (identity made facts known).
    if let Some(t) = &mut turn {
        t.tier = case.tier;
        match case.waiting_on {
            WaitingOn::Operator => t.to_operator = true,
            WaitingOn::Coach => t.to_coach = true,
            _ => {}
        }
    } else if let Some(last) = facts.turns.last_mut() {
        last.tier = case.tier;
        let since = last.started_at;
        for r in facts.replies.iter_mut().filter(|r| r.sent_at >= since) {
            r.tier = case.tier;
        }
    }
    close_turn(&mut turn, &mut open_replies, &mut facts);
    let lane = match case.waiting_on {
        WaitingOn::Operator => Some(Lane::Operator),
        WaitingOn::Coach => Some(Lane::Coach),
        _ => None,
    };
    if let Some(lane) = lane
        && !case.is_closed()
    {
        facts.waits.push(HumanWait {
            lane,
            since: case.wait_since,
            decided_at: None,
        });
    }

    let identity_ok = matches!(case.identity, Identity::WaMatch | Identity::InvoiceEmail);
    let verified = |at: Timestamp| identity_ok && verified_at.is_some_and(|v| v <= at);
    for (at, template) in account_replies {
        facts.actions.push(AccountAction {
            at,
            what: template,
            verified: verified(at),
        });
    }
    for e in &h.effects {
        if e.tool != SEND_TOOL && tool_kind(&e.tool) == Some(ToolKind::Write) {
            facts.actions.push(AccountAction {
                at: e.started_at,
                what: e.tool.clone(),
                verified: verified(e.started_at),
            });
        }
    }
    pair_bookings(&mut facts, h);
    facts
}

/// Marks each reschedule request booked by the first successful booking
/// after it (and before the next request).
fn pair_bookings(facts: &mut CaseFacts, h: &CaseHistory) {
    let mut booked: Vec<Timestamp> = h
        .effects
        .iter()
        .filter(|e| e.tool == crate::core::records::BOOK_TOOL && e.status == EffectStatus::Done)
        .filter_map(|e| e.finished_at)
        .collect();
    booked.sort();
    let n = facts.reschedules.len();
    for i in 0..n {
        let from = facts.reschedules[i].at;
        let until = facts.reschedules.get(i + 1).map(|r| r.at);
        facts.reschedules[i].booked_at = booked
            .iter()
            .copied()
            .find(|b| *b >= from && until.is_none_or(|u| *b < u));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::case::{
        CaseRecord, DecisionRecord, EffectRecord, InboundMessage, OutboundMessage, TransitionRecord,
    };
    use crate::core::types::{Channel, CustomerKey, IdempotencyKey, MessageId, Mode};

    fn history(identity: Identity, log: Vec<LogEntry>, effects: Vec<EffectRecord>) -> CaseHistory {
        let id = CaseId(uuid::Uuid::from_u128(1));
        let mut case = CaseRecord::open(
            id,
            CustomerKey {
                channel: Channel::Whatsapp,
                address: "+62811".into(),
            },
            crate::workflow::WorkflowRef {
                name: "support".into(),
                version: 3,
            },
            State::Intake,
            Mode::Pilot,
            Timestamp(0),
        );
        case.identity = identity;
        case.tier = Some(Tier::R2);
        case.state = State::Close;
        case.waiting_on = WaitingOn::Customer;
        CaseHistory {
            case,
            log: log
                .into_iter()
                .enumerate()
                .map(|(i, e)| (i as u64 + 1, e))
                .collect(),
            effects,
        }
    }

    fn t(from: State, to: State, at: i64, reason: &str) -> LogEntry {
        LogEntry::Transition(TransitionRecord {
            from,
            to,
            at: Timestamp(at),
            reason: reason.into(),
        })
    }

    fn booking(at: i64) -> EffectRecord {
        EffectRecord {
            key: IdempotencyKey("k/1".into()),
            step: 1,
            tool: crate::core::records::BOOK_TOOL.into(),
            status: EffectStatus::Done,
            attempts: 1,
            log_seq: None,
            started_at: Timestamp(at),
            finished_at: Some(Timestamp(at + 5)),
            last_error: None,
        }
    }

    fn turn_log(verified_at: Option<i64>) -> Vec<LogEntry> {
        let mut log = vec![
            LogEntry::Inbound(InboundMessage {
                message_id: MessageId("m1".into()),
                text: "mau ganti jadwal".into(),
                sent_at: None,
                received_at: Timestamp(100),
            }),
            t(
                State::Tier,
                State::Verify,
                110,
                "rule reschedule-pending-facts: R2",
            ),
        ];
        if let Some(at) = verified_at {
            log.push(t(State::Verify, State::Execute, at, "identity"));
        }
        log.extend([
            t(State::Execute, State::Qa, 130, "done"),
            t(
                State::Qa,
                State::Send,
                140,
                "the operator decides: acknowledge the customer first",
            ),
            LogEntry::Decision(DecisionRecord {
                lane: Lane::Operator,
                decision: DecisionKind::Approve,
                by: "rina".into(),
                at: Timestamp(100 + 31 * 60_000),
                text: None,
                tier: Some(Tier::R2),
                rule: None,
            }),
            LogEntry::Outbound(OutboundMessage {
                key: IdempotencyKey("k/2".into()),
                template: Some("wa.r2.reschedule.done".into()),
                text: "Done".into(),
                at: Timestamp(200_000_000),
                provider_id: None,
            }),
            t(
                State::Send,
                State::Close,
                200_000_010,
                "wa.r2.reschedule.done sent",
            ),
        ]);
        log
    }

    #[test]
    fn account_actions_before_identity_is_verified_are_counted() {
        let verified = case_facts(&history(
            Identity::WaMatch,
            turn_log(Some(120)),
            vec![booking(150)],
        ));
        assert!(
            verified.actions.iter().all(|a| a.verified),
            "{:?}",
            verified.actions
        );
        assert_eq!(
            verified.actions.len(),
            2,
            "the booking and the account reply"
        );
        let unverified = case_facts(&history(
            Identity::Unverified,
            turn_log(None),
            vec![booking(150)],
        ));
        assert_eq!(unverified.actions.iter().filter(|a| !a.verified).count(), 2);
        // Verified only after the booking: still an unverified action.
        let late = case_facts(&history(
            Identity::WaMatch,
            turn_log(Some(160)),
            vec![booking(150)],
        ));
        assert_eq!(late.actions.iter().filter(|a| !a.verified).count(), 1);
    }

    #[test]
    fn a_turn_reads_its_tier_lane_wait_and_booked_reschedule() {
        let f = case_facts(&history(
            Identity::WaMatch,
            turn_log(Some(120)),
            vec![booking(150)],
        ));
        assert_eq!(f.turns.len(), 1);
        let turn = &f.turns[0];
        assert_eq!(turn.tier, Some(Tier::R2));
        assert_eq!(turn.rule.as_deref(), Some("reschedule-pending-facts"));
        assert!(turn.to_operator && !turn.to_coach);
        assert_eq!(turn.resolved_at, Some(Timestamp(200_000_010)));
        assert_eq!(f.waits.len(), 1);
        assert_eq!(
            f.waits[0].since,
            Timestamp(130),
            "the wait starts when qa is entered"
        );
        assert_eq!(
            f.reschedules,
            vec![RescheduleRequest {
                at: Timestamp(100),
                booked_at: Some(Timestamp(155))
            }]
        );
    }

    #[test]
    fn rule_reasons_give_the_rule_and_the_tier_named_last() {
        assert_eq!(
            rule_evidence("rule published-faq: R0"),
            Some(("published-faq".into(), Some(Tier::R0)))
        );
        assert_eq!(
            rule_evidence("rule unclassified: unclassified (instruction-like text ignored)"),
            Some(("unclassified".into(), None))
        );
        assert_eq!(
            rule_evidence("rule reschedule-exception: 2 used this month, before cutoff true: R3"),
            Some(("reschedule-exception".into(), Some(Tier::R3)))
        );
        assert_eq!(rule_evidence("the operator decides"), None);
    }

    #[test]
    fn a_missed_privacy_deadline_counts_as_a_breach_of_its_timer() {
        let mut log = turn_log(Some(120));
        log.push(t(
            State::Close,
            State::Qa,
            300,
            "timer privacy_deadline fired",
        ));
        log.push(t(State::Close, State::Qa, 310, "timer follow_up fired"));
        let mut h = history(Identity::WaMatch, log, Vec::new());
        h.case.tags.push("sla_breach:privacy_deadline".into());
        let f = case_facts(&h);
        assert_eq!(
            f.timer_breaches,
            vec![("privacy_deadline".to_string(), Timestamp(300))]
        );
    }
}
