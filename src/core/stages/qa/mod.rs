//! qa, the gate before send: applies a human decision, runs the pre-send
//! checklist ([`checklist`]) on the proposal, and either hands it to send
//! (R0 always; R1/R2 in production or once approved) or acknowledges the
//! turn and waits on the lane's human (the operator, or for R3 and
//! escalations the coach). A failed check routes the case to that human
//! with the reason (`qa_block`).

mod checklist;

pub use checklist::{Gate, R3_SAFE, SERVICE_WINDOW_MS, check, fact_tokens, plain};

use super::wording::{rupiah, when};
use crate::core::case::{Draft, Lane, Language, SendPurpose};
use crate::core::desk::{DecisionKind, HumanDecision, Proposal, ProposalKind, ToolProgress};
use crate::core::machine::{MachineError, Next, Run};
use crate::core::stages::Outcome;
use crate::core::types::{Mode, Tier, WaitingOn};
use crate::policy::intent::Intent;
use crate::templates::TemplateId;

impl Run<'_> {
    pub(in crate::core) fn qa(&mut self) -> Result<Next, MachineError> {
        if let Some(d) = self.case.desk.decision.take()
            && let Some(next) = self.apply_human(d)?
        {
            return Ok(next);
        }
        if let Some(p) = self.case.desk.proposal.clone() {
            let gate = Gate {
                proposal: &p,
                tier: self.case.tier,
                identity: self.case.identity,
                coach_decided: self.case.desk.review.coach_decided(),
                booked: self.case.desk.tool == ToolProgress::Booked,
                since_customer_ms: self.case.desk.last_inbound_at.map(|t| self.now().since(t)),
            };
            match check(&gate) {
                Err(reason) => {
                    self.case.add_tag("qa_blocked");
                    self.case.desk.qa_block = Some(reason);
                }
                Ok(()) if self.auto_send(&p) => {
                    let purpose = match p.kind {
                        ProposalKind::AskIdentity => SendPurpose::Ask,
                        ProposalKind::DegradedNotice => SendPurpose::Notice,
                        _ => SendPurpose::Reply,
                    };
                    self.case.desk.proposal = None;
                    self.case.desk.qa_block = None;
                    self.case.draft = Some(Draft {
                        purpose,
                        template: p.template.clone(),
                        text: p.text,
                    });
                    return Ok(Next::Go(
                        Outcome::Reply,
                        format!(
                            "qa passed: {}",
                            p.template.as_deref().unwrap_or("a human's text")
                        ),
                    ));
                }
                Ok(()) => {}
            }
        }
        self.hold()
    }

    /// Whether a checked proposal may go out without a human.
    fn auto_send(&self, p: &Proposal) -> bool {
        if self.case.desk.review.approved() {
            return true;
        }
        let production = self.case.mode == Mode::Production;
        match p.kind {
            ProposalKind::AskIdentity | ProposalKind::DegradedNotice => true,
            ProposalKind::Faq { .. } => self.case.tier == Some(Tier::R0),
            ProposalKind::Schedule
            | ProposalKind::Payment { .. }
            | ProposalKind::Invoice
            | ProposalKind::Pending => production && self.verified() && !self.held_for_person(),
            ProposalKind::Offer | ProposalKind::Booked => production && !self.held_for_person(),
            ProposalKind::Edited { .. } | ProposalKind::CoachVerdict { .. } => false,
        }
    }

    pub(in crate::core) fn lane(&self) -> Lane {
        if self.case.tier == Some(Tier::R3) || self.case.desk.review.escalated() {
            Lane::Coach
        } else {
            Lane::Operator
        }
    }

    /// Acknowledges the turn once, then waits on the lane's human.
    fn hold(&mut self) -> Result<Next, MachineError> {
        let lane = self.lane();
        let unacked = self.case.turn.as_ref().is_some_and(|t| !t.acked);
        let r3_unacked = self.case.tier == Some(Tier::R3)
            && !self.case.desk.review.coach_acked()
            && self.case.turn.is_some();
        if unacked || r3_unacked {
            if lane == Lane::Coach {
                self.case.desk.review = self.case.desk.review.with_coach_ack();
            }
            let template = match lane {
                // The refund acknowledgement only when a refund or a
                // cancellation is the strongest request (not beside a
                // privacy request, a threat or abuse) and not read only
                // as a mention.
                Lane::Coach
                    if self.case.desk.intents.first().is_some_and(|i| {
                        matches!(i, Intent::Refund | Intent::Cancel)
                            && !self.case.tags.iter().any(|t| {
                                t.strip_prefix(super::tier::MENTIONED_TAG) == Some(i.as_str())
                            })
                    }) =>
                {
                    TemplateId::R3Refund
                }
                Lane::Coach => TemplateId::R3Escalation,
                Lane::Operator => TemplateId::Ack,
            };
            let text = self
                .facts
                .templates
                .render(template, self.case.language, &[])?;
            self.case.draft = Some(Draft {
                purpose: SendPurpose::Ack,
                template: Some(template.as_str().into()),
                text,
            });
            return Ok(Next::Go(
                Outcome::Acknowledge,
                format!(
                    "the {} decides: acknowledge the customer first",
                    lane.as_str()
                ),
            ));
        }
        Ok(Next::Wait(match lane {
            Lane::Operator => WaitingOn::Operator,
            Lane::Coach => WaitingOn::Coach,
        }))
    }

    /// Applies a human decision; `None` continues with the normal qa path.
    fn apply_human(&mut self, d: HumanDecision) -> Result<Option<Next>, MachineError> {
        let by = d.by.clone();
        let decided = self.case.desk.review.decided_on(d.lane);
        let nothing_drafted = self.case.desk.proposal.is_none() && self.case.desk.task.is_none();
        let coach_r3 = d.lane == Lane::Coach && self.case.tier == Some(Tier::R3);
        match d.kind {
            DecisionKind::Approve => {
                self.case.desk.review = decided;
                if self.case.desk.proposal.is_none() && self.case.desk.task.is_some() {
                    return Ok(Some(Next::Go(
                        Outcome::Act,
                        format!("{by} approved the action"),
                    )));
                }
                if coach_r3 && nothing_drafted {
                    self.case.desk.proposal = Some(self.coach_verdict(true)?);
                }
                Ok(None)
            }
            DecisionKind::Edit => {
                let mut facts = self
                    .case
                    .desk
                    .proposal
                    .take()
                    .map(|p| p.facts)
                    .unwrap_or_default();
                facts.extend(self.record_facts()?);
                self.case.desk.review = decided;
                self.case.desk.proposal = Some(Proposal {
                    kind: ProposalKind::Edited { by },
                    template: None,
                    text: d.text.unwrap_or_default(),
                    facts,
                });
                Ok(None)
            }
            DecisionKind::Deny if coach_r3 => {
                // The customer hears the policy and the alternatives.
                self.case.desk.task = None;
                self.case.desk.offer = None;
                self.case.desk.review = decided;
                self.case.desk.proposal = Some(self.coach_verdict(false)?);
                Ok(None)
            }
            DecisionKind::Deny => {
                self.case.desk.proposal = None;
                self.case.desk.task = None;
                self.case.desk.offer = None;
                self.case.turn = None;
                self.case.desk.end_turn();
                Ok(Some(Next::Go(
                    Outcome::Drop,
                    format!("{by} denied: nothing is sent"),
                )))
            }
            DecisionKind::Escalate => {
                self.case.desk.review = self.case.desk.review.escalate();
                Ok(Some(Next::Wait(WaitingOn::Coach)))
            }
        }
    }

    /// The coach's verdict as a reply: `wa.r3.approved`, or `wa.r3.denied`
    /// with the policy's reschedule quota.
    fn coach_verdict(&self, approved: bool) -> Result<Proposal, MachineError> {
        let quota = self.facts.policy.reschedule_quota_per_month.to_string();
        let template = if approved {
            TemplateId::R3Approved
        } else {
            TemplateId::R3Denied
        };
        let text = self.facts.templates.render(
            template,
            self.case.language,
            &[("quota", quota.as_str())],
        )?;
        Ok(Proposal {
            kind: ProposalKind::CoachVerdict { approved },
            template: Some(template.as_str().into()),
            text,
            facts: vec![quota],
        })
    }

    /// What the records say about the verified student, in reply wording:
    /// the facts a human's edited text may state.
    fn record_facts(&self) -> Result<Vec<String>, MachineError> {
        let Some(s) = self.student_record()? else {
            return Ok(Vec::new());
        };
        let tz = self.facts.policy.timezone;
        let mut out = vec![s.name.clone()];
        for session in &s.sessions {
            for lang in [Language::En, Language::Id] {
                let (d, t) = when(session.starts_at, tz, lang);
                out.extend([d, t]);
            }
            out.push(session.coach.clone());
        }
        for inv in &s.invoices {
            out.extend([inv.number.clone(), rupiah(inv.amount)]);
        }
        Ok(out)
    }
}
