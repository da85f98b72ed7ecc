//! verify: identity by the registered number, or by invoice number and
//! email of the same student over one message or several.

use crate::core::desk::{Proposal, ProposalKind};
use crate::core::machine::{MachineError, Run, Step};
use crate::core::stages::Outcome;
use crate::core::types::{Identity, WaitingOn};
use crate::policy::identity::{self, Verdict};
use crate::templates::TemplateId;

impl Run<'_> {
    pub(in crate::core::machine) fn verify(&mut self) -> Result<Step, MachineError> {
        if self.case.desk.student.is_some() && self.verified() {
            self.redecide()?;
            return Ok(Step::Go(
                Outcome::Verified,
                "identity already verified".into(),
            ));
        }
        if self.match_registered_number()? {
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
        let mut found = identity::extract(&unread);
        if found.invoice.is_none() {
            // An invoice number in another shape: whatever matches a record.
            for c in identity::candidates(&unread) {
                let known = self.facts.records.student_by_invoice(&c)?;
                if known.is_some() {
                    found.invoice = Some(c);
                    break;
                }
            }
        }
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

    /// The sender's number is a student's registered number: the case is
    /// verified (`wa_match`) whatever the tier, R3 included (CONTRACT
    /// section 2, "Identity"). Says whether it matched.
    pub(in crate::core::machine) fn match_registered_number(
        &mut self,
    ) -> Result<bool, MachineError> {
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

    pub(in crate::core::machine) fn ask_identity(
        &mut self,
        why: &str,
    ) -> Result<Step, MachineError> {
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
        Ok(Step::Go(Outcome::Ask, format!("{why}: ask the customer")))
    }
}
