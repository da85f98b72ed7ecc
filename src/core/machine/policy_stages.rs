//! The policy stages of the machine: tier, verify, execute and qa. They read
//! records through [`Facts::records`], decide by [`Facts::policy`], draft
//! proposals, and leave sending to the send stage and writing to the execute
//! stage's [`ToolCall`].

use chrono::TimeZone;

use super::{Effect, MachineError, Run, Step};
use crate::core::case::{Draft, Lane, Language, SendPurpose};
use crate::core::desk::{
    DecisionKind, HumanDecision, Offer, OfferedSlot, Proposal, ProposalKind, Task, ToolRequest,
};
use crate::core::records::{Booking, PaymentState, Student};
use crate::core::stages::Outcome;
use crate::core::stages::execute;
use crate::core::stages::qa::{self, Gate};
use crate::core::types::{Identity, Mode, Tier, Timestamp, WaitingOn};
use crate::policy::identity::{self, Verdict};
use crate::policy::intent::{self, Detection, Intent};
use crate::policy::kb;
use crate::policy::reschedule;
use crate::policy::tier::{Decision, TierFacts};

/// Most slots offered at once.
pub const MAX_OFFER: usize = 3;

impl Run<'_> {
    fn records_err(e: String) -> MachineError {
        MachineError::Records(e)
    }

    fn student_record(&self) -> Result<Option<Student>, MachineError> {
        match &self.case.desk.student {
            Some(id) => self.facts.records.student(id).map_err(Self::records_err),
            None => Ok(None),
        }
    }

    fn verified(&self) -> bool {
        matches!(
            self.case.identity,
            Identity::WaMatch | Identity::InvoiceEmail
        )
    }

    // ---- tier -------------------------------------------------------

    pub(super) fn tier(&mut self) -> Result<Step, MachineError> {
        let text = self.case.desk.turn_text.clone();
        if let Some(offer) = &self.case.desk.offer
            && let Some(i) = slot_choice(&text, offer.slots.len())
        {
            self.case.desk.task = Some(Task::Book(i));
            self.case.desk.intents = vec![Intent::Reschedule];
            self.case.desk.unclassified = false;
            self.case.desk.lowerable = false;
            self.case.desk.rule = Some("slot-choice".into());
            self.case.tier = Some(Tier::R2);
            return Ok(Step::Go(
                Outcome::Account,
                format!("rule slot-choice: option {} of the offer, R2", i + 1),
            ));
        }
        let det = intent::detect(&text);
        if det.injection {
            self.case.add_tag("injection");
        }
        for t in &det.triggers {
            self.case.add_tag(&format!("trigger:{t}"));
        }
        self.case.desk.intents = det.intents.clone();
        self.case.desk.offer = None;
        let articles = self
            .facts
            .records
            .published_articles()
            .map_err(Self::records_err)?;
        let kb_match = kb::best_match(&text, &articles, self.facts.policy.kb_threshold);
        let decision = self.decide(&det, kb_match.is_some())?;
        self.case.desk.proposal = None;
        self.case.desk.task = None;
        self.set_tier(&decision, true);
        let tier = self.case.tier;
        if tier == Some(Tier::R0)
            && let Some(m) = &kb_match
            && let Some(article) = articles.iter().find(|a| a.id == m.article_id)
        {
            let text = self.facts.templates.render(
                "wa.r0.faq",
                self.case.language,
                &[("answer", article.body.as_str())],
            )?;
            self.case
                .add_tag(&format!("kb:{}@v{}", article.id, article.version));
            self.case.desk.proposal = Some(Proposal {
                kind: ProposalKind::Faq {
                    article: article.id.clone(),
                    version: article.version,
                },
                template: Some("wa.r0.faq".into()),
                text,
                facts: vec![article.body.clone()],
            });
        }
        let reason = format!(
            "rule {}: {}{}",
            decision.rule,
            tier.map_or("unclassified", Tier::as_str),
            if det.injection {
                " (instruction-like text ignored)"
            } else {
                ""
            }
        );
        let account = det.intents.iter().any(|i| i.is_account());
        let hard_r3 = tier == Some(Tier::R3) && !decision.lowerable;
        if self.case.desk.unclassified || !account || hard_r3 {
            return Ok(Step::Go(Outcome::General, reason));
        }
        self.case.desk.task = det.intents.iter().find_map(|i| match i {
            Intent::Reschedule => Some(Task::OfferSlots),
            Intent::InvoiceResend => Some(Task::InvoiceResend),
            Intent::PaymentStatus => Some(Task::PaymentStatus),
            Intent::NextSession => Some(Task::NextSession),
            _ => None,
        });
        Ok(Step::Go(Outcome::Account, reason))
    }

    /// Evaluates the tier table on what is known now.
    fn decide(&self, det: &Detection, kb_match: bool) -> Result<Decision, MachineError> {
        let in_policy = self.reschedule_check()?.map(|c| c.in_policy());
        Ok(self.facts.policy.tiers.decide(&TierFacts {
            detection: det,
            kb_match,
            reschedule_in_policy: in_policy,
            identity_mismatch: self.case.identity == Identity::Mismatch,
        }))
    }

    /// Applies a table decision. Within a turn the tier only rises, unless
    /// it came from trigger words that facts may lower.
    fn set_tier(&mut self, d: &Decision, first: bool) {
        let desk = &mut self.case.desk;
        let new = if first || desk.lowerable {
            d.tier
        } else {
            match (self.case.tier, d.tier) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => b.or(a),
            }
        };
        desk.rule = Some(d.rule.clone());
        desk.lowerable = d.lowerable;
        desk.unclassified = new.is_none();
        self.case.tier = new;
        if new.is_none() {
            self.case.add_tag("unclassified");
        }
    }

    /// Re-decides with the facts identity made known.
    fn redecide(&mut self) -> Result<(), MachineError> {
        if matches!(self.case.desk.task, Some(Task::Book(_))) {
            return Ok(());
        }
        let det = Detection {
            intents: self.case.desk.intents.clone(),
            ..Detection::default()
        };
        let d = self.decide(&det, false)?;
        self.set_tier(&d, false);
        Ok(())
    }

    /// The reschedule policy for the student's next session, once known.
    fn reschedule_check(&self) -> Result<Option<reschedule::Check>, MachineError> {
        let Some(student) = self.student_record()? else {
            return Ok(None);
        };
        let Some(session) = student.next_session(self.now()) else {
            return Ok(None);
        };
        let p = self.facts.policy;
        Ok(Some(reschedule::check(
            &student.reschedule_history,
            session.starts_at,
            self.now(),
            p.timezone,
            p.reschedule_quota_per_month,
            p.cutoff,
        )))
    }

    // ---- verify -----------------------------------------------------

    pub(super) fn verify(&mut self) -> Result<Step, MachineError> {
        if self.case.desk.student.is_some() && self.verified() {
            self.redecide()?;
            return Ok(Step::Go(
                Outcome::Verified,
                "identity already verified".into(),
            ));
        }
        let by_phone = self
            .facts
            .records
            .student_by_phone(&self.case.customer.address)
            .map_err(Self::records_err)?;
        if let Some(s) = by_phone {
            self.case.identity = Identity::WaMatch;
            self.case.desk.student = Some(s.id);
            self.redecide()?;
            return Ok(Step::Go(
                Outcome::Verified,
                "the sender's number is the student's registered number".into(),
            ));
        }
        if self.case.identity == Identity::Mismatch {
            return Ok(Step::Go(
                Outcome::Unverified,
                "identity failed before: escalated".into(),
            ));
        }
        let desk = &mut self.case.desk;
        let unread = desk
            .turn_text
            .get(desk.claims_read..)
            .unwrap_or("")
            .to_string();
        desk.claims_read = desk.turn_text.len();
        let found = identity::extract(&unread);
        let new_claim = found.invoice.is_some() || found.email.is_some();
        desk.claims.merge(found);
        if desk.claims.complete() {
            let invoice = desk.claims.invoice.clone().unwrap_or_default();
            let owner = self
                .facts
                .records
                .student_by_invoice(&invoice)
                .map_err(Self::records_err)?;
            match identity::verify(&self.case.desk.claims, owner.as_ref()) {
                Verdict::Match => {
                    self.case.identity = Identity::InvoiceEmail;
                    self.case.desk.student = owner.map(|s| s.id);
                    self.case.desk.asked_identity = false;
                    self.redecide()?;
                    return Ok(Step::Go(
                        Outcome::Verified,
                        "invoice number and email belong to the same student".into(),
                    ));
                }
                Verdict::Mismatch | Verdict::Incomplete => {
                    let desk = &mut self.case.desk;
                    desk.verify_attempts += 1;
                    desk.claims = Default::default();
                    if desk.verify_attempts >= self.facts.policy.identity_attempts {
                        self.case.identity = Identity::Mismatch;
                        self.redecide()?;
                        return Ok(Step::Go(
                            Outcome::Unverified,
                            format!(
                                "identity failed {} times: escalated",
                                self.case.desk.verify_attempts
                            ),
                        ));
                    }
                    return self.ask_identity("the details do not match a student on record");
                }
            }
        }
        if self.case.desk.asked_identity && (new_claim || unread.trim().is_empty()) {
            // Half of the details came in, or nothing new: wait for the rest.
            return Ok(Step::Wait(WaitingOn::Customer));
        }
        self.ask_identity("invoice number and registered email needed")
    }

    fn ask_identity(&mut self, why: &str) -> Result<Step, MachineError> {
        let text = self
            .facts
            .templates
            .render("wa.r1.verify", self.case.language, &[])?;
        self.case.desk.proposal = Some(Proposal {
            kind: ProposalKind::AskIdentity,
            template: Some("wa.r1.verify".into()),
            text,
            facts: Vec::new(),
        });
        Ok(Step::Go(Outcome::Ask, format!("{why}: ask the customer")))
    }

    // ---- execute ----------------------------------------------------

    pub(super) fn execute(&mut self) -> Result<Step, MachineError> {
        if let Some(p) = &self.case.desk.pending_tool {
            return Ok(Step::Wait(WaitingOn::Tool(p.request.tool().into())));
        }
        if self.case.tier == Some(Tier::R3) || self.case.desk.unclassified {
            return Ok(Step::Go(
                Outcome::Done,
                "nothing runs before the coach decides".into(),
            ));
        }
        let Some(task) = self.case.desk.task else {
            return Ok(Step::Go(Outcome::Done, "no action to run".into()));
        };
        if let Some(tool) = self.facts.degraded {
            return self.degraded_notice(tool);
        }
        let Some(student) = self.student_record()? else {
            return Ok(self.block("the verified student is no longer on record"));
        };
        let stale = self.now().since(student.synced_at) > self.facts.policy.record_ttl_ms;
        if stale && !matches!(task, Task::Book(_)) {
            self.case.add_tag("stale_record");
            return self.pending_verification(task);
        }
        match task {
            Task::NextSession => self.propose_schedule(&student),
            Task::PaymentStatus => self.propose_payment(&student),
            Task::InvoiceResend => self.propose_invoice(&student),
            Task::OfferSlots => self.propose_offer(&student),
            Task::Book(i) => self.book(&student, i),
        }
    }

    fn block(&mut self, reason: &str) -> Step {
        self.case.desk.qa_block = Some(reason.to_string());
        self.case.desk.task = None;
        Step::Go(Outcome::Done, format!("{reason}: a human answers"))
    }

    fn propose(
        &mut self,
        kind: ProposalKind,
        template: &str,
        params: &[(&str, &str)],
        facts: Vec<String>,
        reason: String,
    ) -> Result<Step, MachineError> {
        let text = self
            .facts
            .templates
            .render(template, self.case.language, params)?;
        self.case.desk.proposal = Some(Proposal {
            kind,
            template: Some(template.into()),
            text,
            facts,
        });
        self.case.desk.task = None;
        Ok(Step::Go(Outcome::Done, reason))
    }

    fn pending_verification(&mut self, task: Task) -> Result<Step, MachineError> {
        let window = match self.case.language {
            Language::En => "2 hours",
            Language::Id => "2 jam",
        };
        let (template, params): (&str, Vec<(&str, &str)>) = match task {
            Task::PaymentStatus => ("wa.payment.pending", vec![]),
            _ => ("wa.degraded.pending", vec![("window", window)]),
        };
        self.propose(
            ProposalKind::Pending,
            template,
            &params,
            vec![window.to_string()],
            "records older than their TTL: pending verification, not fact".into(),
        )
    }

    /// A tool is down: tell the customer it is being verified, with the
    /// follow-up window; the task stays for when it is back.
    fn degraded_notice(&mut self, tool: &str) -> Result<Step, MachineError> {
        let window = match self.case.language {
            Language::En => "2 hours",
            Language::Id => "2 jam",
        };
        let text = self.facts.templates.render(
            "wa.degraded.pending",
            self.case.language,
            &[("window", window)],
        )?;
        self.case.desk.proposal = Some(Proposal {
            kind: ProposalKind::DegradedNotice,
            template: Some("wa.degraded.pending".into()),
            text,
            facts: vec![window.to_string()],
        });
        Ok(Step::Go(
            Outcome::Done,
            format!("degraded ({tool} unavailable): pending-verification notice, action paused"),
        ))
    }

    /// Waits while degraded; resumes the paused task when the tool is back.
    pub(super) fn degraded(&self) -> Step {
        match self.facts.degraded {
            Some(tool) => Step::Wait(WaitingOn::Tool(tool.to_string())),
            None => Step::Go(
                Outcome::Recovered,
                "the tool is back: the paused action resumes".into(),
            ),
        }
    }

    fn propose_schedule(&mut self, student: &Student) -> Result<Step, MachineError> {
        let Some(session) = student.next_session(self.now()) else {
            return Ok(self.block("no upcoming session on record"));
        };
        let (date, time) = when(
            session.starts_at,
            self.facts.policy.timezone,
            self.case.language,
        );
        let coach = session.coach.clone();
        self.propose(
            ProposalKind::Schedule,
            "wa.r1.schedule",
            &[
                ("date", &date),
                ("time", &time),
                ("coach", &coach),
                ("name", &student.name),
            ],
            vec![
                date.clone(),
                time.clone(),
                coach.clone(),
                student.name.clone(),
            ],
            format!("next session read: {} {}", date, time),
        )
    }

    fn invoice<'s>(&self, student: &'s Student) -> Option<&'s crate::core::records::Invoice> {
        let claimed = self
            .case
            .desk
            .claims
            .invoice
            .as_deref()
            .map(identity::invoice_key);
        claimed
            .and_then(|c| {
                student
                    .invoices
                    .iter()
                    .find(|i| identity::invoice_key(&i.number) == c)
            })
            .or_else(|| student.invoices.last())
    }

    fn propose_payment(&mut self, student: &Student) -> Result<Step, MachineError> {
        let Some(inv) = self.invoice(student).cloned() else {
            return Ok(self.block("no invoice on record"));
        };
        // The provider's state for the order wins over the record's status.
        let provider = self
            .facts
            .records
            .payment(&inv.order_id)
            .map_err(Self::records_err)?;
        let settled = matches!(provider, Some(s) if s != PaymentState::Pending);
        if self.facts.policy.provider_lookup && !settled && !self.case.desk.payment_checked {
            let call = execute::call(
                &mut self.case,
                ToolRequest::PaymentStatus {
                    order_id: inv.order_id.clone(),
                },
            );
            return Ok(Step::Emit(Effect::Tool(call)));
        }
        let state = match provider {
            Some(s) => Some(s),
            None => PaymentState::parse(&inv.status),
        };
        match state {
            None | Some(PaymentState::Pending) => self.propose(
                ProposalKind::Payment { confirmed: false },
                "wa.payment.pending",
                &[("invoice", &inv.number)],
                vec![inv.number.clone()],
                format!("invoice {} is not confirmed", inv.number),
            ),
            Some(state) => {
                let word = status_word(state, self.case.language);
                self.propose(
                    ProposalKind::Payment {
                        confirmed: state == PaymentState::Confirmed,
                    },
                    "wa.r1.payment",
                    &[("invoice", &inv.number), ("status", word)],
                    vec![inv.number.clone(), word.to_string()],
                    format!("invoice {} is {}", inv.number, state.as_str()),
                )
            }
        }
    }

    fn propose_invoice(&mut self, student: &Student) -> Result<Step, MachineError> {
        let Some(inv) = self.invoice(student).cloned() else {
            return Ok(self.block("no invoice on record"));
        };
        let amount = rupiah(inv.amount);
        self.propose(
            ProposalKind::Invoice,
            "wa.r1.invoice",
            &[("invoice", &inv.number), ("amount", &amount)],
            vec![inv.number.clone(), amount.clone()],
            format!("invoice {} read", inv.number),
        )
    }

    fn propose_offer(&mut self, student: &Student) -> Result<Step, MachineError> {
        let Some(session) = student.next_session(self.now()).cloned() else {
            return Ok(self.block("no upcoming session to reschedule"));
        };
        let p = self.facts.policy;
        let now = self.now();
        let candidates = self
            .facts
            .records
            .free_slots(now, 50)
            .map_err(Self::records_err)?;
        let slots: Vec<OfferedSlot> = candidates
            .into_iter()
            .filter(|s| s.starts_at != session.starts_at)
            .filter(|s| reschedule::before_cutoff(s.starts_at, now, p.timezone, p.cutoff))
            .take(MAX_OFFER)
            .map(|s| OfferedSlot {
                label: short_label(s.starts_at, p.timezone),
                starts_at: s.starts_at,
                coach: s.coach,
            })
            .collect();
        if slots.is_empty() {
            return Ok(self.block("no free slot to offer"));
        }
        let mut options = Vec::new();
        let mut facts = Vec::new();
        for (i, s) in slots.iter().enumerate() {
            let (date, time) = when(s.starts_at, p.timezone, self.case.language);
            options.push(format!("{}) {date} {time} ({})", i + 1, s.coach));
            facts.extend([date, time, s.coach.clone()]);
        }
        let n = slots.len();
        self.case.desk.offer = Some(Offer {
            session: session.id.clone(),
            slots,
        });
        self.propose(
            ProposalKind::Offer,
            "wa.r2.reschedule.offer",
            &[("options", &options.join("; "))],
            facts,
            format!("{n} free slot(s) offered for session {}", session.id),
        )
    }

    fn book(&mut self, student: &Student, index: usize) -> Result<Step, MachineError> {
        let Some(offer) = self.case.desk.offer.clone() else {
            return Ok(self.block("no slot offer to book from"));
        };
        let Some(slot) = offer.slots.get(index).cloned() else {
            return Ok(self.block("the chosen option is not in the offer"));
        };
        if self.case.mode == Mode::Pilot && !self.case.desk.approved {
            return Ok(Step::Go(
                Outcome::Done,
                "pilot: the booking waits for an operator's approval".into(),
            ));
        }
        let Some(session) = student.sessions.iter().find(|s| s.id == offer.session) else {
            return Ok(self.block("the session to move is no longer on record"));
        };
        let p = self.facts.policy;
        let check = reschedule::check(
            &student.reschedule_history,
            session.starts_at,
            self.now(),
            p.timezone,
            p.reschedule_quota_per_month,
            p.cutoff,
        );
        if !check.in_policy() {
            self.case.tier = Some(Tier::R3);
            self.case.desk.rule = Some("reschedule-exception".into());
            self.case.desk.task = None;
            return Ok(Step::Go(
                Outcome::Done,
                format!(
                    "rule reschedule-exception: {} used this month, before cutoff {}: R3",
                    check.used_this_month, check.before_cutoff
                ),
            ));
        }
        let call = execute::call(
            &mut self.case,
            ToolRequest::Book(Booking {
                student: student.id.clone(),
                session: session.id.clone(),
                slot_at: slot.starts_at,
                coach: slot.coach.clone(),
            }),
        );
        Ok(Step::Emit(Effect::Tool(call)))
    }

    /// A tool answered.
    pub(super) fn tool_done(&mut self, result: Result<(), String>) -> Result<(), MachineError> {
        let Some(pending) = self.case.desk.pending_tool.take() else {
            return Ok(());
        };
        if self.case.waiting_on.kind() == Some(crate::core::types::WaitKind::Tool) {
            self.case.waiting_on = WaitingOn::None;
        }
        let b = match pending.request {
            ToolRequest::PaymentStatus { order_id } => {
                // Answered or not, execute now replies from what is stored:
                // an unconfirmed state is "pending verification", never fact.
                self.case.desk.payment_checked = true;
                if result.is_err() {
                    self.case
                        .add_tag(&format!("payment_lookup_failed:{order_id}"));
                }
                return Ok(());
            }
            ToolRequest::Book(b) => b,
        };
        self.case.desk.task = None;
        self.case.desk.offer = None;
        match result {
            Ok(()) => {
                self.case.desk.booked = true;
                let (date, time) = when(b.slot_at, self.facts.policy.timezone, self.case.language);
                let text = self.facts.templates.render(
                    "wa.r2.reschedule.done",
                    self.case.language,
                    &[("date", &date), ("time", &time), ("coach", &b.coach)],
                )?;
                self.case.desk.proposal = Some(Proposal {
                    kind: ProposalKind::Booked,
                    template: Some("wa.r2.reschedule.done".into()),
                    text,
                    facts: vec![date, time, b.coach],
                });
            }
            Err(e) => {
                self.case.desk.qa_block = Some(format!("booking failed: {e}"));
            }
        }
        Ok(())
    }

    // ---- qa ---------------------------------------------------------

    pub(super) fn qa(&mut self) -> Result<Step, MachineError> {
        if let Some(d) = self.case.desk.decision.take()
            && let Some(step) = self.apply_human(d)?
        {
            return Ok(step);
        }
        if let Some(p) = self.case.desk.proposal.clone() {
            let gate = Gate {
                proposal: &p,
                tier: self.case.tier,
                identity: self.case.identity,
                coach_decided: self.case.desk.coach_decided,
                booked: self.case.desk.booked,
                since_customer_ms: self.case.desk.last_inbound_at.map(|t| self.now().since(t)),
            };
            match qa::check(&gate) {
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
                    return Ok(Step::Go(
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
        if self.case.desk.approved {
            return true;
        }
        let production = self.case.mode == Mode::Production;
        match p.kind {
            ProposalKind::AskIdentity | ProposalKind::DegradedNotice => true,
            ProposalKind::Faq { .. } => self.case.tier == Some(Tier::R0),
            ProposalKind::Schedule
            | ProposalKind::Payment { .. }
            | ProposalKind::Invoice
            | ProposalKind::Pending => production && self.verified(),
            ProposalKind::Offer | ProposalKind::Booked => production,
            ProposalKind::Edited { .. } => false,
        }
    }

    fn lane(&self) -> Lane {
        if self.case.tier == Some(Tier::R3) || self.case.desk.escalated {
            Lane::Coach
        } else {
            Lane::Operator
        }
    }

    /// Acknowledges the turn once, then waits on the lane's human.
    fn hold(&mut self) -> Result<Step, MachineError> {
        let lane = self.lane();
        let unacked = self.case.turn.as_ref().is_some_and(|t| !t.acked);
        let r3_unacked = self.case.tier == Some(Tier::R3)
            && !self.case.desk.coach_acked
            && self.case.turn.is_some();
        if unacked || r3_unacked {
            if lane == Lane::Coach {
                self.case.desk.coach_acked = true;
            }
            let template = match lane {
                Lane::Coach
                    if self
                        .case
                        .desk
                        .intents
                        .iter()
                        .any(|i| matches!(i, Intent::Refund | Intent::Cancel)) =>
                {
                    "wa.r3.refund"
                }
                Lane::Coach => "wa.r3.escalation",
                Lane::Operator => "wa.ack",
            };
            let text = self
                .facts
                .templates
                .render(template, self.case.language, &[])?;
            self.case.draft = Some(Draft {
                purpose: SendPurpose::Ack,
                template: Some(template.into()),
                text,
            });
            return Ok(Step::Go(
                Outcome::Acknowledge,
                format!(
                    "the {} decides: acknowledge the customer first",
                    lane.as_str()
                ),
            ));
        }
        Ok(Step::Wait(match lane {
            Lane::Operator => WaitingOn::Operator,
            Lane::Coach => WaitingOn::Coach,
        }))
    }

    /// Applies a human decision; `None` continues with the normal qa path.
    fn apply_human(&mut self, d: HumanDecision) -> Result<Option<Step>, MachineError> {
        let by = d.by.clone();
        if d.lane == Lane::Coach {
            self.case.desk.coach_decided = true;
        }
        match d.kind {
            DecisionKind::Approve => {
                self.case.desk.approved = true;
                if self.case.desk.proposal.is_none() && self.case.desk.task.is_some() {
                    return Ok(Some(Step::Go(
                        Outcome::Act,
                        format!("{by} approved the action"),
                    )));
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
                self.case.desk.approved = true;
                self.case.desk.proposal = Some(Proposal {
                    kind: ProposalKind::Edited { by },
                    template: None,
                    text: d.text.unwrap_or_default(),
                    facts,
                });
                Ok(None)
            }
            DecisionKind::Deny => {
                self.case.desk.proposal = None;
                self.case.desk.task = None;
                self.case.desk.offer = None;
                self.case.turn = None;
                self.case.desk.end_turn();
                Ok(Some(Step::Go(
                    Outcome::Drop,
                    format!("{by} denied: nothing is sent"),
                )))
            }
            DecisionKind::Escalate => {
                self.case.desk.escalated = true;
                self.case.desk.coach_decided = false;
                Ok(Some(Step::Wait(WaitingOn::Coach)))
            }
        }
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

/// The option number in a reply to a slot offer ("2", "nomor 2 ya kak").
/// Anything beyond the number and filler words is not a choice.
pub fn slot_choice(text: &str, offered: usize) -> Option<usize> {
    const FILLER: &[&str] = &[
        "slot", "nomor", "no", "number", "option", "opsi", "pilih", "pilihan", "yang", "ya", "kak",
        "ok", "oke", "the", "i", "choose", "take", "saya", "aku", "mau", "please", "aja", "deh",
        "min", "yg",
    ];
    let n = intent::normalize(text);
    let mut number = None;
    for w in n.split_whitespace() {
        if let Ok(k) = w.parse::<usize>() {
            if number.is_some() {
                return None;
            }
            number = Some(k);
        } else if !FILLER.contains(&w) {
            return None;
        }
    }
    number.filter(|k| (1..=offered).contains(k)).map(|k| k - 1)
}

/// Date and time of an instant in the business timezone, in the reply's
/// language: ("Friday 27 November 2026", "19:00").
pub fn when(t: Timestamp, tz: chrono_tz::Tz, lang: Language) -> (String, String) {
    use chrono::Datelike;
    let local = tz
        .timestamp_millis_opt(t.millis())
        .single()
        .expect("a UTC instant has one local time");
    let time = local.format("%H:%M").to_string();
    let date = match lang {
        Language::En => local.format("%A %-d %B %Y").to_string(),
        Language::Id => {
            const DAYS: [&str; 7] = [
                "Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu",
            ];
            const MONTHS: [&str; 12] = [
                "Januari",
                "Februari",
                "Maret",
                "April",
                "Mei",
                "Juni",
                "Juli",
                "Agustus",
                "September",
                "Oktober",
                "November",
                "Desember",
            ];
            format!(
                "{} {} {} {}",
                DAYS[local.weekday().num_days_from_monday() as usize],
                local.day(),
                MONTHS[local.month0() as usize],
                local.year()
            )
        }
    };
    (date, time)
}

/// A slot's short label in the business timezone: "27/11 19:00".
pub fn short_label(t: Timestamp, tz: chrono_tz::Tz) -> String {
    tz.timestamp_millis_opt(t.millis())
        .single()
        .expect("a UTC instant has one local time")
        .format("%d/%m %H:%M")
        .to_string()
}

/// An amount in rupiah: "Rp 450.000".
pub fn rupiah(amount: i64) -> String {
    let digits = amount.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push('.');
        }
        out.push(c);
    }
    format!("Rp {}{out}", if amount < 0 { "-" } else { "" })
}

fn status_word(state: PaymentState, lang: Language) -> &'static str {
    match (state, lang) {
        (PaymentState::Confirmed, Language::En) => "confirmed",
        (PaymentState::Confirmed, Language::Id) => "lunas",
        (PaymentState::Failed, Language::En) => "failed",
        (PaymentState::Failed, Language::Id) => "gagal",
        (PaymentState::Expired, Language::En) => "expired",
        (PaymentState::Expired, Language::Id) => "kedaluwarsa",
        (PaymentState::Refunded, Language::En) => "refunded",
        (PaymentState::Refunded, Language::Id) => "sudah dikembalikan",
        (PaymentState::Chargeback, Language::En) => "under a chargeback",
        (PaymentState::Chargeback, Language::Id) => "dalam proses chargeback",
        (PaymentState::Pending, Language::En) => "pending",
        (PaymentState::Pending, Language::Id) => "menunggu",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_choices_are_a_number_and_filler_only() {
        assert_eq!(slot_choice("2", 3), Some(1));
        assert_eq!(slot_choice("nomor 3 ya kak", 3), Some(2));
        assert_eq!(slot_choice("4", 3), None);
        assert_eq!(slot_choice("0", 3), None);
        assert_eq!(slot_choice("2 and I want a refund", 3), None);
        assert_eq!(slot_choice("1 or 2", 3), None);
    }

    #[test]
    fn dates_render_in_the_business_timezone_and_language() {
        // 2026-11-27 12:00 UTC is 19:00 in Jakarta.
        let t = Timestamp(1_795_780_800_000);
        let tz = chrono_tz::Asia::Jakarta;
        assert_eq!(
            when(t, tz, Language::En),
            ("Friday 27 November 2026".into(), "19:00".into())
        );
        assert_eq!(when(t, tz, Language::Id).0, "Jumat 27 November 2026");
        assert_eq!(rupiah(450_000), "Rp 450.000");
        assert_eq!(rupiah(1_250_000), "Rp 1.250.000");
    }
}
