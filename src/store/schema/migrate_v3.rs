//! Migration from the newest frozen case schema (3) to the live types
//! (schema 4, `crate::core::case::CaseRecord`).
//!
//! Schema 4 replaced the desk's loose flags with one typed value per
//! concern. The mapping is total: every combination of the old flags
//! lands on one value, and where the old flags said something no run of
//! the machine could produce, it lands on the value that asks a human
//! again rather than the one that lets a reply out.
//!
//! `Review`, from `approved` (A), `coach_decided` (D), `escalated` (E) and
//! `coach_acked` (K), first match wins:
//!
//! | old flags | `Review` | why |
//! |---|---|---|
//! | D and A | `CoachDecided { escalated: E }` | the coach decided; K is implied (no "the coach decides" ack after the coach has decided) |
//! | E (D false) | `Escalated { acked: K }` | A is dropped: an approval given before an escalation does not stand for the coach |
//! | A (D, E false) | `Approved` | K is dropped: the turn is on the operator's lane |
//! | K only | `CoachAcked` | |
//! | none, or D without A | `Open` | a coach decision that approved nothing ended its turn; read as undecided, so the coach decides again |
//!
//! `ToolProgress`, from `pending_tool` (P), `booked` (B) and
//! `payment_checked` (C): P gives `InFlight(P)` (the call is re-run under
//! its key after a restart; its answer sets B or C again), else B gives
//! `Booked`, else C gives `PaymentChecked`, else `Idle`.
//!
//! `Ruling`, from `rule` (R), `unclassified` (U) and `lowerable` (L): no R
//! gives `None` (no rule has fired; the flags are the defaults), else U
//! gives `Unclassified` (an unclassified turn has no tier to lower), else L
//! gives `Lowerable`, else `Firm`.
//!
//! When the live case record changes again, freeze it as `v4.rs` and
//! retarget the `CaseDesk`/`CaseRecord` conversions below to it (see `super`).

use super::v3;
use crate::core::case;
use crate::core::desk::{self, PendingTool, Review, Ruling, Standing, ToolProgress};
use crate::policy::identity::Claims;

impl From<v3::Proposal> for desk::Proposal {
    fn from(p: v3::Proposal) -> Self {
        use desk::ProposalKind as K;
        desk::Proposal {
            kind: match p.kind {
                v3::ProposalKind::Faq { article, version } => K::Faq { article, version },
                v3::ProposalKind::AskIdentity => K::AskIdentity,
                v3::ProposalKind::Schedule => K::Schedule,
                v3::ProposalKind::Payment { confirmed } => K::Payment { confirmed },
                v3::ProposalKind::Invoice => K::Invoice,
                v3::ProposalKind::Offer => K::Offer,
                v3::ProposalKind::Booked => K::Booked,
                v3::ProposalKind::Pending => K::Pending,
                v3::ProposalKind::DegradedNotice => K::DegradedNotice,
                v3::ProposalKind::Edited { by } => K::Edited { by },
                v3::ProposalKind::CoachVerdict { approved } => K::CoachVerdict { approved },
            },
            template: p.template,
            text: p.text,
            facts: p.facts,
        }
    }
}

/// The review of a schema-3 turn (see the table in the module docs).
pub fn review(approved: bool, coach_decided: bool, escalated: bool, coach_acked: bool) -> Review {
    match (approved, coach_decided, escalated, coach_acked) {
        (true, true, escalated, _) => Review::CoachDecided { escalated },
        (_, _, true, acked) => Review::Escalated { acked },
        (true, _, false, _) => Review::Approved,
        (false, _, false, true) => Review::CoachAcked,
        (false, _, false, false) => Review::Open,
    }
}

/// What a schema-3 turn's tools had done (see the module docs).
pub fn tool_progress(pending: Option<PendingTool>, booked: bool, checked: bool) -> ToolProgress {
    match (pending, booked, checked) {
        (Some(p), _, _) => ToolProgress::InFlight(p),
        (None, true, _) => ToolProgress::Booked,
        (None, false, true) => ToolProgress::PaymentChecked,
        (None, false, false) => ToolProgress::Idle,
    }
}

/// The ruling of a schema-3 desk (see the module docs).
pub fn ruling(rule: Option<String>, unclassified: bool, lowerable: bool) -> Option<Ruling> {
    let standing = match (unclassified, lowerable) {
        (true, _) => Standing::Unclassified,
        (false, true) => Standing::Lowerable,
        (false, false) => Standing::Firm,
    };
    rule.map(|rule| Ruling { rule, standing })
}

fn desk(d: v3::Desk) -> desk::CaseDesk {
    desk::CaseDesk {
        turn_text: d.turn_text,
        claims_read: usize::try_from(d.claims_read).unwrap_or(usize::MAX),
        intents: d.intents.into_iter().map(Into::into).collect(),
        ruling: ruling(d.rule, d.unclassified, d.lowerable),
        student: d.student,
        claims: Claims {
            invoice: d.claims.invoice,
            email: d.claims.email,
        },
        verify_attempts: d.verify_attempts,
        asked_identity: d.asked_identity,
        offer: d.offer.map(Into::into),
        task: d.task.map(Into::into),
        proposal: d.proposal.map(Into::into),
        decision: d.decision.map(Into::into),
        review: review(d.approved, d.coach_decided, d.escalated, d.coach_acked),
        tool: tool_progress(d.pending_tool.map(Into::into), d.booked, d.payment_checked),
        qa_block: d.qa_block,
        last_inbound_at: d.last_inbound_at.map(Into::into),
        lane_posted: d.lane_posted.map(Into::into),
    }
}

/// A schema-3 record in the live shape.
pub fn case_record(v: v3::CaseRecord) -> case::CaseRecord {
    case::CaseRecord {
        id: v.id.into(),
        customer: v.customer.into(),
        workflow: v.workflow.into(),
        mode: v.mode.into(),
        state: v.state.into(),
        waiting_on: v.waiting_on.into(),
        wait_since: v.wait_since.into(),
        tier: v.tier.map(Into::into),
        identity: v.identity.into(),
        language: v.language.into(),
        tags: v.tags,
        opened_at: v.opened_at.into(),
        updated_at: v.updated_at.into(),
        closed_at: v.closed_at.map(Into::into),
        turn: v.turn.map(Into::into),
        collect_until: v.collect_until.map(Into::into),
        draft: v.draft.map(Into::into),
        pending_send: v.pending_send.map(Into::into),
        timers: v.timers.into_iter().map(Into::into).collect(),
        first_response_at: v.first_response_at.map(Into::into),
        effect_seq: v.effect_seq,
        inbound_cursor: v.inbound_cursor,
        quarantined: v.quarantined,
        stuck: v.stuck,
        rev: v.rev,
        desk: desk(v.desk),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::desk::ToolRequest;

    /// Every one of the 16 old combinations, with where it lands.
    #[test]
    fn every_combination_of_the_review_flags_maps() {
        let cd = |escalated| Review::CoachDecided { escalated };
        let esc = |acked| Review::Escalated { acked };
        // (approved, coach_decided, escalated, coach_acked) -> review
        let table = [
            ((false, false, false, false), Review::Open),
            ((false, false, false, true), Review::CoachAcked),
            ((false, false, true, false), esc(false)),
            ((false, false, true, true), esc(true)),
            ((false, true, false, false), Review::Open),
            ((false, true, false, true), Review::CoachAcked),
            ((false, true, true, false), esc(false)),
            ((false, true, true, true), esc(true)),
            ((true, false, false, false), Review::Approved),
            ((true, false, false, true), Review::Approved),
            ((true, false, true, false), esc(false)),
            ((true, false, true, true), esc(true)),
            ((true, true, false, false), cd(false)),
            ((true, true, false, true), cd(false)),
            ((true, true, true, false), cd(true)),
            ((true, true, true, true), cd(true)),
        ];
        for ((a, d, e, k), want) in table {
            let got = review(a, d, e, k);
            assert_eq!(
                got, want,
                "approved {a}, coach_decided {d}, escalated {e}, coach_acked {k}"
            );
            // What the machine reads back never grants more than the flags did.
            assert!(!got.approved() || a, "{got:?} approves more than the flags");
            assert!(
                !got.coach_decided() || d,
                "{got:?} decides more than the flags"
            );
            assert_eq!(got.escalated(), e, "{got:?}: the lane is kept");
        }
    }

    #[test]
    fn every_combination_of_the_tool_flags_maps() {
        let p = PendingTool {
            step: 3,
            request: ToolRequest::PaymentStatus {
                order_id: "ORD-1".into(),
            },
        };
        for booked in [false, true] {
            for checked in [false, true] {
                assert_eq!(
                    tool_progress(Some(p.clone()), booked, checked),
                    ToolProgress::InFlight(p.clone()),
                    "a call in flight is never lost ({booked}, {checked})"
                );
            }
        }
        assert_eq!(tool_progress(None, true, true), ToolProgress::Booked);
        assert_eq!(tool_progress(None, true, false), ToolProgress::Booked);
        assert_eq!(
            tool_progress(None, false, true),
            ToolProgress::PaymentChecked
        );
        assert_eq!(tool_progress(None, false, false), ToolProgress::Idle);
    }

    #[test]
    fn every_combination_of_the_tier_flags_maps() {
        for u in [false, true] {
            for l in [false, true] {
                assert_eq!(ruling(None, u, l), None);
            }
        }
        let r = |standing| {
            Some(Ruling {
                rule: "cancellation".into(),
                standing,
            })
        };
        let rule = || Some("cancellation".to_string());
        assert_eq!(ruling(rule(), false, false), r(Standing::Firm));
        assert_eq!(ruling(rule(), false, true), r(Standing::Lowerable));
        assert_eq!(ruling(rule(), true, false), r(Standing::Unclassified));
        assert_eq!(ruling(rule(), true, true), r(Standing::Unclassified));
    }
}
