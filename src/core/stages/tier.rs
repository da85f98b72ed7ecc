//! tier: intent detection (`crate::policy::intent`), the knowledge base
//! (`crate::policy::kb`) and the tier decision table (`crate::policy::tier`,
//! rules in `config/tiers.toml`) decide the turn's tier and rule; account
//! questions go on to verify, the rest to qa. Within a turn the tier only
//! rises, unless facts lower a trigger word's R3; a turn that grew while a
//! human decided is tiered again and never falls (CONTRACT section 2).
//! A reply that picks a slot of the offer ("2") is a booking, R2.

use crate::core::desk::{Proposal, ProposalKind, Ruling, Standing, Task};
use crate::core::machine::{MachineError, Next, Run};
use crate::core::stages::Outcome;
use crate::core::types::{Identity, Tier};
use crate::policy::intent::{self, Detection, Intent};
use crate::policy::kb;
use crate::policy::reschedule;
use crate::policy::tier::{Decision, TierFacts};
use crate::templates::TemplateId;

/// The rule recorded when a suspected risky request sends a turn to the
/// coach.
pub const RISK_SUSPECTED_RULE: &str = "risk-suspected";

/// The tag prefix of a risky intent read only as a mention by the rules
/// (see `tag_mentions`).
pub const MENTIONED_TAG: &str = "mentioned:";

/// The tag prefix of a request a part of the turn reads as, beside its
/// account intents (`Detection::aside`): production holds the automatic
/// answer for the operator. Kept for the current turn only.
pub const ASIDE_TAG: &str = "also-asks:";

/// Tag of a turn whose intent the classifier named below even odds
/// ([`crate::policy::intent::Detection::tentative`]): `tentative:<intent>`.
/// Its automatic answers wait on a person, like those of `also-asks:`.
pub const TENTATIVE_TAG: &str = "tentative:";

impl Run<'_> {
    pub(in crate::core) fn tier(&mut self) -> Result<Next, MachineError> {
        let text = self.case.desk.turn_text.clone();
        self.case
            .tags
            .retain(|t| !t.starts_with(ASIDE_TAG) && !t.starts_with(TENTATIVE_TAG));
        if let Some(offer) = &self.case.desk.offer
            && let Some(i) = slot_choice(&text, offer.slots.len())
        {
            self.case.desk.task = Some(Task::Book(i));
            self.case.desk.intents = vec![Intent::Reschedule];
            self.case.desk.ruling = Some(Ruling {
                rule: "slot-choice".into(),
                standing: Standing::Firm,
            });
            self.case.tier = Some(Tier::R2);
            return Ok(Next::Go(
                Outcome::Account,
                format!("rule slot-choice: option {} of the offer, R2", i + 1),
            ));
        }
        if !self.match_registered_number()? {
            self.read_offered_identity()?;
        }
        let det = self.detect_turn(&text);
        if det.injection {
            self.case.add_tag("injection");
        }
        for t in &det.triggers {
            self.case.add_tag(&format!("trigger:{t}"));
        }
        self.tag_mentions(&det);
        if let Some(aside) = det.aside {
            self.case.add_tag(&format!("{ASIDE_TAG}{}", aside.as_str()));
        }
        if det.tentative() {
            self.case
                .add_tag(&format!("{TENTATIVE_TAG}{}", det.primary().as_str()));
        }
        self.case.desk.intents = det.intents.clone();
        self.case.desk.offer = None;
        let articles = self.facts.records.published_articles()?;
        // Only a turn that is a general question and nothing else may be
        // answered from an article (CONTRACT section 2, R0).
        let kb_match = if det.may_answer_from_kb() {
            kb::best_match(
                &self.facts.policy.detector,
                &text,
                &articles,
                self.facts.policy.kb_threshold,
            )
        } else {
            None
        };
        let decision = self.decide(&det, kb_match.is_some())?;
        self.case.desk.proposal = None;
        self.case.desk.task = None;
        self.set_tier(&decision, true);
        let tier = self.case.tier;
        if tier == Some(Tier::R0)
            && let Some(m) = &kb_match
            && let Some(article) = articles.iter().find(|a| a.id == m.article_id)
        {
            // One language per reply: the template in the language of the
            // answer the article has for this customer.
            let (answer, lang) = article.answer(self.case.language);
            let text =
                self.facts
                    .templates
                    .render(TemplateId::R0Faq, lang, &[("answer", answer)])?;
            self.case
                .add_tag(&format!("kb:{}@v{}", article.id, article.version));
            self.case.desk.proposal = Some(Proposal {
                kind: ProposalKind::Faq {
                    article: article.id.clone(),
                    version: article.version,
                },
                template: Some(TemplateId::R0Faq.as_str().into()),
                text,
                facts: vec![answer.to_string()],
            });
        }
        let reason = format!(
            "rule {}: {}{}{}{}",
            decision.rule,
            tier.map_or("unclassified", Tier::as_str),
            if det.injection {
                " (instruction-like text ignored)"
            } else {
                ""
            },
            det.aside.map_or(String::new(), |i| format!(
                " (a part also asks: {}; a person answers)",
                i.as_str()
            )),
            if det.tentative() {
                " (read below even odds; a person answers)"
            } else {
                ""
            }
        );
        let account = det.intents.iter().any(|i| i.is_account());
        let hard_r3 = tier == Some(Tier::R3) && !decision.lowerable;
        if self.case.desk.unclassified() || !account || hard_r3 {
            return Ok(Next::Go(Outcome::General, reason));
        }
        self.case.desk.task = det.intents.iter().find_map(|i| match i {
            Intent::Reschedule => Some(Task::OfferSlots),
            Intent::InvoiceResend => Some(Task::InvoiceResend),
            Intent::PaymentStatus => Some(Task::PaymentStatus),
            Intent::NextSession => Some(Task::NextSession),
            _ => None,
        });
        Ok(Next::Go(Outcome::Account, reason))
    }

    /// Tags `mentioned:<intent>` each risky intent the rules read only as a
    /// mention (negated, quoted, asked about) though the classifier took it
    /// for a request: the coach gets the turn, and the customer the neutral
    /// acknowledgement rather than one announcing that request.
    fn tag_mentions(&mut self, det: &Detection) {
        for i in det.intents.iter().filter(|i| det.suspected.contains(i)) {
            self.case.add_tag(&format!("{MENTIONED_TAG}{}", i.as_str()));
        }
    }

    /// Evaluates the tier table on what is known now. A turn that may carry
    /// a risky request the detector could not establish (a misspelt,
    /// negated, quoted or hinted refund, cancellation, threat, abuse or
    /// privacy request) goes to the coach whatever the table says: when the
    /// engine is not sure, a human decides (CONTRACT section 2, "Trigger
    /// words").
    fn decide(&mut self, det: &Detection, kb_match: bool) -> Result<Decision, MachineError> {
        let in_policy = self.reschedule_check()?.map(|c| c.in_policy());
        let decision = self.facts.policy.tiers.decide(&TierFacts {
            detection: det,
            kb_match,
            reschedule_in_policy: in_policy,
            identity_mismatch: self.case.identity == Identity::Mismatch,
        });
        if !det.risk_suspected() || decision.tier == Some(Tier::R3) {
            return Ok(decision);
        }
        for i in &det.suspected {
            self.case.add_tag(&format!("suspected:{}", i.as_str()));
        }
        Ok(Decision {
            tier: Some(Tier::R3),
            rule: RISK_SUSPECTED_RULE.into(),
            lowerable: false,
        })
    }

    /// Applies a table decision. Within a turn the tier only rises, unless
    /// it came from trigger words that facts may lower; a turn tiered again
    /// after it grew never goes below the tier it had (CONTRACT section 2,
    /// "Turns").
    fn set_tier(&mut self, d: &Decision, first: bool) {
        let desk = &mut self.case.desk;
        let mut new = if first || desk.lowerable() {
            d.tier
        } else {
            match (self.case.tier, d.tier) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => b.or(a),
            }
        };
        if let Some(Some(floor)) = self.retier_floor {
            new = Some(new.map_or(floor, |t| t.max(floor)));
        }
        desk.ruling = Some(Ruling {
            rule: d.rule.clone(),
            standing: match (d.tier, d.lowerable) {
                (None, _) => Standing::Unclassified,
                (Some(_), true) => Standing::Lowerable,
                (Some(_), false) => Standing::Firm,
            },
        });
        self.case.tier = new;
        if new.is_none() {
            self.case.add_tag("unclassified");
        }
    }

    /// What a turn asks: intent detection, except for a turn of stand-ins
    /// for messages without words (audio, stickers, locations, ...), which
    /// asks nothing the desk can read and goes to the operator.
    pub(in crate::core) fn detect_turn(&self, text: &str) -> Detection {
        if crate::core::inbound::only_stand_ins(text) {
            Detection::default()
        } else {
            self.facts.policy.detector.detect(text)
        }
    }

    /// Re-decides with the facts identity made known, on the whole turn as
    /// it stands: text the customer added while asked for identity can
    /// raise the tier too.
    pub(in crate::core) fn redecide(&mut self) -> Result<(), MachineError> {
        let det = self.detect_turn(&self.case.desk.turn_text);
        self.redecide_with(det)
    }

    /// [`Run::redecide`] with the turn's detection already made.
    pub(in crate::core) fn redecide_with(
        &mut self,
        mut det: Detection,
    ) -> Result<(), MachineError> {
        if matches!(self.case.desk.task, Some(Task::Book(_))) {
            return Ok(());
        }
        for i in &self.case.desk.intents {
            if !det.intents.contains(i) {
                det.intents.push(*i);
            }
        }
        det.intents.sort();
        self.tag_mentions(&det);
        // A request beside the account ones is judged when the turn is
        // tiered (`tier`), not here: what the customer adds while asked
        // for identity is mostly its details ("my invoice is INV-…"),
        // which read like an invoice request.
        self.case.desk.intents = det.intents.clone();
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
        Ok(Some(self.reschedule_policy(&student, session.starts_at)))
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
}
