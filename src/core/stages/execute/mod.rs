//! execute: the only stage that acts outside the case. It reads the
//! records and drafts the reply for the turn's task (schedule, payment,
//! invoice, slot offer: [`answers`]), or calls a tool: the booking of the
//! chosen slot ([`booking`]) or the payment provider's status read.
//!
//! Its capability is the [`ToolCall`]: the only value the engine's tools
//! accept (`crate::engine::tools`), and only this module can build one. No
//! other stage can change a record outside the case.
//!
//! A call carries the idempotency key `case / step` and is recorded on the
//! case ([`ToolProgress::InFlight`]) before it runs; after a crash it is run
//! again under the same key ([`recall`]). The booking backend keeps a
//! receipt per key (`Store::book` in `crate::store::records`, the
//! `tool_receipt` tree), so a call run twice answers what it did the first
//! time and books nothing twice. The rules a booking must pass (quota,
//! cutoff) are `crate::policy::reschedule`.
//!
//! ```compile_fail,E0451
//! // Outside this module a ToolCall cannot be built: every field is private.
//! use caseflow::core::stages::execute::ToolCall;
//! let c = ToolCall { step: 0, key: todo!(), request: todo!() };
//! ```
//!
//! ```compile_fail,E0603
//! // ...nor can another stage mint one through the module's functions:
//! let mut case: caseflow::core::case::CaseRecord = todo!();
//! let c = caseflow::core::stages::execute::call(&mut case, todo!());
//! ```

mod answers;
mod booking;

use super::wording::when;
use crate::core::case::{CaseRecord, Language};
use crate::core::desk::{PendingTool, Proposal, ProposalKind, Task, ToolProgress, ToolRequest};
use crate::core::machine::{MachineError, Next, Run};
use crate::core::stages::Outcome;
use crate::core::types::{IdempotencyKey, Tier, WaitingOn};
use crate::templates::TemplateId;

/// A write, ready for its tool. Built only by [`call`] and [`recall`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolCall {
    step: u32,
    key: IdempotencyKey,
    request: ToolRequest,
}

impl ToolCall {
    pub fn step(&self) -> u32 {
        self.step
    }

    /// Stable across retries and restarts: the tool dedupes by it.
    pub fn key(&self) -> &IdempotencyKey {
        &self.key
    }

    pub fn request(&self) -> &ToolRequest {
        &self.request
    }
}

/// A new call under a fresh idempotency key, marked pending on the case.
fn call(case: &mut CaseRecord, request: ToolRequest) -> ToolCall {
    let step = case.effect_seq;
    case.effect_seq += 1;
    case.desk.tool = ToolProgress::InFlight(PendingTool {
        step,
        request: request.clone(),
    });
    ToolCall {
        step,
        key: IdempotencyKey::for_step(case.id, step),
        request,
    }
}

/// The pending write again, under its original key.
pub(in crate::core) fn recall(case: &CaseRecord) -> Option<ToolCall> {
    let pending = case.desk.tool_in_flight()?;
    Some(ToolCall {
        step: pending.step,
        key: IdempotencyKey::for_step(case.id, pending.step),
        request: pending.request.clone(),
    })
}

impl Run<'_> {
    pub(in crate::core) fn execute(&mut self) -> Result<Next, MachineError> {
        if let Some(p) = self.case.desk.tool_in_flight() {
            return Ok(Next::Wait(WaitingOn::Tool(p.request.tool().into())));
        }
        if self.case.tier == Some(Tier::R3) || self.case.desk.unclassified() {
            return Ok(Next::Go(
                Outcome::Done,
                "nothing runs before the coach decides".into(),
            ));
        }
        let Some(task) = self.case.desk.task else {
            let why = match self.case.desk.tool {
                ToolProgress::Booked => "the booking is done; its confirmation goes to qa",
                _ => "no action to run",
            };
            return Ok(Next::Go(Outcome::Done, why.into()));
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

    fn block(&mut self, reason: &str) -> Next {
        self.case.desk.qa_block = Some(reason.to_string());
        self.case.desk.task = None;
        Next::Go(Outcome::Done, format!("{reason}: a human answers"))
    }

    fn propose(
        &mut self,
        kind: ProposalKind,
        template: TemplateId,
        params: &[(&str, &str)],
        facts: Vec<String>,
        reason: String,
    ) -> Result<Next, MachineError> {
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
        Ok(Next::Go(Outcome::Done, reason))
    }

    fn pending_verification(&mut self, task: Task) -> Result<Next, MachineError> {
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
    fn degraded_notice(&mut self, tool: &str) -> Result<Next, MachineError> {
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
        Ok(Next::Go(
            Outcome::Done,
            format!("degraded ({tool} unavailable): pending-verification notice, action paused"),
        ))
    }

    /// A tool answered.
    pub(in crate::core) fn tool_done(
        &mut self,
        result: Result<(), crate::core::machine::EffectError>,
    ) -> Result<(), MachineError> {
        let ToolProgress::InFlight(pending) = std::mem::take(&mut self.case.desk.tool) else {
            return Ok(());
        };
        if self.case.waiting_on.kind() == Some(crate::core::types::WaitKind::Tool) {
            self.case.waiting_on = WaitingOn::None;
        }
        let b = match pending.request {
            ToolRequest::PaymentStatus { order_id } => {
                // Answered or not, execute now replies from what is stored:
                // an unconfirmed state is "pending verification", never fact.
                self.case.desk.tool = ToolProgress::PaymentChecked;
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
                self.case.desk.tool = ToolProgress::Booked;
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
