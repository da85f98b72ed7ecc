//! execute: reads the records and drafts the reply, or calls a tool
//! through a `ToolCall` (the booking, the payment provider's status).

use super::MAX_OFFER;
use super::wording::{rupiah, short_label, status_word, when};
use crate::core::case::Language;
use crate::core::desk::{Offer, OfferedSlot, Proposal, ProposalKind, Task, ToolRequest};
use crate::core::machine::{Effect, EffectError, MachineError, Run, Step};
use crate::core::records::{Booking, PaymentState, Student};
use crate::core::stages::Outcome;
use crate::core::stages::execute;
use crate::core::types::{Mode, Tier, WaitingOn};
use crate::policy::identity::{self};
use crate::policy::reschedule;
use crate::templates::TemplateId;

impl Run<'_> {
    pub(in crate::core::machine) fn execute(&mut self) -> Result<Step, MachineError> {
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

    pub(in crate::core::machine) fn block(&mut self, reason: &str) -> Step {
        self.case.desk.qa_block = Some(reason.to_string());
        self.case.desk.task = None;
        Step::Go(Outcome::Done, format!("{reason}: a human answers"))
    }

    pub(in crate::core::machine) fn propose(
        &mut self,
        kind: ProposalKind,
        template: TemplateId,
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
            template: Some(template.as_str().into()),
            text,
            facts,
        });
        self.case.desk.task = None;
        Ok(Step::Go(Outcome::Done, reason))
    }

    pub(in crate::core::machine) fn pending_verification(
        &mut self,
        task: Task,
    ) -> Result<Step, MachineError> {
        let window = match self.case.language {
            Language::En => "2 hours",
            Language::Id => "2 jam",
        };
        let (template, params): (TemplateId, Vec<(&str, &str)>) = match task {
            Task::PaymentStatus => (TemplateId::PaymentPending, vec![]),
            _ => (TemplateId::DegradedPending, vec![("window", window)]),
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
    pub(in crate::core::machine) fn degraded_notice(
        &mut self,
        tool: &str,
    ) -> Result<Step, MachineError> {
        let window = match self.case.language {
            Language::En => "2 hours",
            Language::Id => "2 jam",
        };
        let text = self.facts.templates.render(
            TemplateId::DegradedPending,
            self.case.language,
            &[("window", window)],
        )?;
        self.case.desk.proposal = Some(Proposal {
            kind: ProposalKind::DegradedNotice,
            template: Some(TemplateId::DegradedPending.as_str().into()),
            text,
            facts: vec![window.to_string()],
        });
        Ok(Step::Go(
            Outcome::Done,
            format!("degraded ({tool} unavailable): pending-verification notice, action paused"),
        ))
    }

    /// Waits while degraded; resumes the paused task when the tool is back.
    pub(in crate::core::machine) fn degraded(&self) -> Step {
        match self.facts.degraded {
            Some(tool) => Step::Wait(WaitingOn::Tool(tool.to_string())),
            None => Step::Go(
                Outcome::Recovered,
                "the tool is back: the paused action resumes".into(),
            ),
        }
    }

    pub(in crate::core::machine) fn propose_schedule(
        &mut self,
        student: &Student,
    ) -> Result<Step, MachineError> {
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
            TemplateId::R1Schedule,
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

    pub(in crate::core::machine) fn invoice<'s>(
        &self,
        student: &'s Student,
    ) -> Option<&'s crate::core::records::Invoice> {
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

    pub(in crate::core::machine) fn propose_payment(
        &mut self,
        student: &Student,
    ) -> Result<Step, MachineError> {
        let Some(inv) = self.invoice(student).cloned() else {
            return Ok(self.block("no invoice on record"));
        };
        // The provider's state for the order wins over the record's status.
        let provider = self.facts.records.payment(&inv.order_id)?;
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
                TemplateId::PaymentPending,
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
                    TemplateId::R1Payment,
                    &[("invoice", &inv.number), ("status", word)],
                    vec![inv.number.clone(), word.to_string()],
                    format!("invoice {} is {}", inv.number, state.as_str()),
                )
            }
        }
    }

    pub(in crate::core::machine) fn propose_invoice(
        &mut self,
        student: &Student,
    ) -> Result<Step, MachineError> {
        let Some(inv) = self.invoice(student).cloned() else {
            return Ok(self.block("no invoice on record"));
        };
        let amount = rupiah(inv.amount);
        self.propose(
            ProposalKind::Invoice,
            TemplateId::R1Invoice,
            &[("invoice", &inv.number), ("amount", &amount)],
            vec![inv.number.clone(), amount.clone()],
            format!("invoice {} read", inv.number),
        )
    }

    pub(in crate::core::machine) fn propose_offer(
        &mut self,
        student: &Student,
    ) -> Result<Step, MachineError> {
        let Some(session) = student.next_session(self.now()).cloned() else {
            return Ok(self.block("no upcoming session to reschedule"));
        };
        let p = self.facts.policy;
        let now = self.now();
        let candidates = self.facts.records.free_slots(now, 50)?;
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
            TemplateId::R2RescheduleOffer,
            &[("options", &options.join("; "))],
            facts,
            format!("{n} free slot(s) offered for session {}", session.id),
        )
    }

    pub(in crate::core::machine) fn book(
        &mut self,
        student: &Student,
        index: usize,
    ) -> Result<Step, MachineError> {
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
        let check = self.reschedule_policy(student, session.starts_at);
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
    pub(in crate::core::machine) fn tool_done(
        &mut self,
        result: Result<(), EffectError>,
    ) -> Result<(), MachineError> {
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
                    TemplateId::R2RescheduleDone,
                    self.case.language,
                    &[("date", &date), ("time", &time), ("coach", &b.coach)],
                )?;
                self.case.desk.proposal = Some(Proposal {
                    kind: ProposalKind::Booked,
                    template: Some(TemplateId::R2RescheduleDone.as_str().into()),
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
}
