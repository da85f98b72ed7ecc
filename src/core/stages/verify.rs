//! verify: identity by the registered number (`wa_match`), or by invoice
//! number and registered email of the same student, given over one message
//! or several (`invoice_email`); after the allowed attempts, `mismatch`
//! (CONTRACT section 2, "Identity"). Claims are read and matched by
//! `crate::policy::identity`. Once verified, the turn is tiered again with
//! the student's facts (reschedule quota and cutoff).

use crate::core::desk::{Proposal, ProposalKind};
use crate::core::machine::{MachineError, Next, Run};
use crate::core::stages::Outcome;
use crate::core::types::{Identity, Tier, WaitingOn};
use crate::policy::identity::{self, Verdict};
use crate::templates::TemplateId;

impl Run<'_> {
    pub(in crate::core) fn verify(&mut self) -> Result<Next, MachineError> {
        if self.case.desk.student.is_some() && self.verified() {
            self.redecide()?;
            return Ok(Next::Go(
                Outcome::Verified,
                "identity already verified".into(),
            ));
        }
        if self.match_registered_number()? {
            self.redecide()?;
            return Ok(Next::Go(
                Outcome::Verified,
                "the sender's number is the student's registered number".into(),
            ));
        }
        if self.case.identity == Identity::Mismatch {
            return Ok(Next::Go(
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
        // An answer to the identity question joins the turn, which is
        // tiered again (CONTRACT section 2, "Turns"): "ah ribet, refund aja"
        // or a threat goes to the coach instead of being asked again.
        if self.case.desk.asked_identity
            && !unread.trim().is_empty()
            && self.case.tier != Some(Tier::R3)
        {
            let det = self.detect_turn(&self.case.desk.turn_text);
            if det.intents.iter().any(|i| i.is_risky()) || det.risk_suspected() {
                self.redecide_with(det)?;
                if self.case.tier == Some(Tier::R3) {
                    self.case.desk.asked_identity = false;
                    return Ok(Next::Go(
                        Outcome::Unverified,
                        "the customer's answer carries a request for the coach: the turn is \
                         tiered R3"
                            .into(),
                    ));
                }
            }
        }
        let found = self.claims_in(&unread)?;
        let desk = &mut self.case.desk;
        let new_claim = found.invoice.is_some() || found.email.is_some();
        desk.claims.merge(found);
        if desk.claims.complete() {
            let invoice = desk.claims.invoice.clone().unwrap_or_default();
            let owner = self.facts.records.student_by_invoice(&invoice)?;
            match identity::verify(&self.case.desk.claims, owner.as_ref()) {
                Verdict::Match => {
                    self.case.identity = Identity::InvoiceEmail;
                    self.case.desk.student = owner.map(|s| s.id);
                    self.case.desk.asked_identity = false;
                    self.redecide()?;
                    return Ok(Next::Go(
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
                        return Ok(Next::Go(
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
            return Ok(Next::Wait(WaitingOn::Customer));
        }
        self.ask_identity("invoice number and registered email needed")
    }

    /// The invoice number and email in `text`; an invoice number in a shape
    /// of its own is whatever token matches a record.
    fn claims_in(&self, text: &str) -> Result<identity::Claims, MachineError> {
        let mut found = identity::extract(text);
        if found.invoice.is_none() {
            for c in identity::candidates(text) {
                let known = self.facts.records.student_by_invoice(&c)?;
                if known.is_some() {
                    found.invoice = Some(c);
                    break;
                }
            }
        }
        Ok(found)
    }

    /// Invoice number and registered email the customer gave of their own
    /// accord, before anyone asked (a turn the operator or the coach
    /// handles still shows who wrote it): the case is verified when both
    /// belong to the same student. Details that do not match are left for
    /// the verify stage, which counts attempts only once it has asked.
    /// Says whether it verified.
    pub(in crate::core) fn read_offered_identity(&mut self) -> Result<bool, MachineError> {
        if self.verified() && self.case.desk.student.is_some() {
            return Ok(false);
        }
        let found = self.claims_in(&self.case.desk.turn_text)?;
        let (Some(invoice), Some(_)) = (&found.invoice, &found.email) else {
            return Ok(false);
        };
        let owner = self.facts.records.student_by_invoice(invoice)?;
        if identity::verify(&found, owner.as_ref()) != Verdict::Match {
            return Ok(false);
        }
        self.case.identity = Identity::InvoiceEmail;
        self.case.desk.student = owner.map(|s| s.id);
        self.case.desk.claims_read = self.case.desk.turn_text.len();
        Ok(true)
    }

    /// The sender's number is a student's registered number: the case is
    /// verified (`wa_match`) whatever the tier, R3 included (CONTRACT
    /// section 2, "Identity"). Says whether it matched.
    pub(in crate::core) fn match_registered_number(&mut self) -> Result<bool, MachineError> {
        if self.case.identity == Identity::WaMatch && self.case.desk.student.is_some() {
            return Ok(true);
        }
        let by_phone = self
            .facts
            .records
            .student_by_phone(&self.case.customer.address)?;
        let Some(s) = by_phone else {
            return Ok(false);
        };
        self.case.identity = Identity::WaMatch;
        self.case.desk.student = Some(s.id);
        Ok(true)
    }

    fn ask_identity(&mut self, why: &str) -> Result<Next, MachineError> {
        let text = self
            .facts
            .templates
            .render(TemplateId::R1Verify, self.case.language, &[])?;
        self.case.desk.proposal = Some(Proposal {
            kind: ProposalKind::AskIdentity,
            template: Some(TemplateId::R1Verify.as_str().into()),
            text,
            facts: Vec::new(),
        });
        Ok(Next::Go(Outcome::Ask, format!("{why}: ask the customer")))
    }
}
