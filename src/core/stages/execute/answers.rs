//! The execute stage's read-only answers: the next session, a payment's
//! state (the provider asked first when configured), an invoice, and free
//! slots offered for a reschedule (only slots before the cutoff).

use super::call;
use crate::core::desk::{Offer, OfferedSlot, ProposalKind, ToolProgress, ToolRequest};
use crate::core::machine::{Effect, MachineError, Next, Run};
use crate::core::records::{PaymentState, Student};
use crate::core::stages::MAX_OFFER;
use crate::core::stages::wording::{rupiah, short_label, status_word, when};
use crate::policy::identity;
use crate::policy::reschedule;
use crate::templates::TemplateId;

impl Run<'_> {
    pub(super) fn propose_schedule(&mut self, student: &Student) -> Result<Next, MachineError> {
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

    pub(super) fn invoice<'s>(
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

    pub(super) fn propose_payment(&mut self, student: &Student) -> Result<Next, MachineError> {
        let Some(inv) = self.invoice(student).cloned() else {
            return Ok(self.block("no invoice on record"));
        };
        // The provider's state for the order wins over the record's status.
        let provider = self.facts.records.payment(&inv.order_id)?;
        let settled = matches!(provider, Some(s) if s != PaymentState::Pending);
        let checked = self.case.desk.tool == ToolProgress::PaymentChecked;
        if self.facts.policy.provider_lookup && !settled && !checked {
            let call = call(
                &mut self.case,
                ToolRequest::PaymentStatus {
                    order_id: inv.order_id.clone(),
                },
            );
            return Ok(Next::Emit(Effect::Tool(call)));
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

    pub(super) fn propose_invoice(&mut self, student: &Student) -> Result<Next, MachineError> {
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

    pub(super) fn propose_offer(&mut self, student: &Student) -> Result<Next, MachineError> {
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
}
