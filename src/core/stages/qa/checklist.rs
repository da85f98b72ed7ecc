//! The pre-send checklist: what every reply passes before the send stage
//! may emit it. Pure: it reads the proposal, the case's tier and identity, and
//! what tools reported this turn.
//!
//! 1. the tier is consistent with the kind of reply;
//! 2. identity is satisfied for account replies (R1 and up);
//! 3. an R2 reply never implies an exception;
//! 4. every fact in the text (times, dates, amounts, numbers) comes from a
//!    tool result or a knowledge-base article;
//! 5. commitment wording only after the tool reported success;
//! 6. R3 sends only acknowledgement and escalation templates until the
//!    coach decides.

use crate::core::desk::{Proposal, ProposalKind};
use crate::core::types::{Identity, Tier};
use crate::policy::intent::normalize;
use crate::templates::TemplateId;

/// Templates an R3 case may send before the coach decides.
pub const R3_SAFE: [TemplateId; 3] = [
    TemplateId::Ack,
    TemplateId::R3Refund,
    TemplateId::R3Escalation,
];

/// Everything the checklist looks at.
pub struct Gate<'a> {
    pub proposal: &'a Proposal,
    /// `None`: the turn is unclassified.
    pub tier: Option<Tier>,
    pub identity: crate::core::types::Identity,
    pub coach_decided: bool,
    /// The write tool reported success this turn.
    pub booked: bool,
    /// Time since the customer's last message, if known.
    pub since_customer_ms: Option<i64>,
}

/// WhatsApp's customer-service window: free-form text only within it.
pub const SERVICE_WINDOW_MS: i64 = 24 * 3600 * 1000;

const EXCEPTION_WORDS: &[&str] = &[
    "refund",
    "exception",
    "waive",
    "free of charge",
    "no charge",
    "compensation",
    "uang kembali",
    "dikembalikan",
    "pengecualian",
    "gratis",
    "kompensasi",
];

const COMMITMENT_WORDS: &[&str] = &[
    "rescheduled",
    "has been moved",
    "is moved",
    "booked",
    "confirmed",
    "dijadwalkan ulang",
    "sudah dipindah",
    "berhasil dipindah",
    "sudah dijadwalkan",
    "terkonfirmasi",
    "dikonfirmasi",
    "lunas",
];

const MONTHS: &[&str] = &[
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "jan",
    "feb",
    "mar",
    "apr",
    "jun",
    "jul",
    "aug",
    "sep",
    "oct",
    "nov",
    "dec",
    "januari",
    "februari",
    "maret",
    "mei",
    "juni",
    "juli",
    "agustus",
    "oktober",
    "desember",
    "agu",
    "okt",
    "des",
];

/// Runs the checklist; `Err` names the first check that failed.
pub fn check(gate: &Gate<'_>) -> Result<(), String> {
    let p = gate.proposal;
    let text = normalize(&p.text);
    let plain = plain(&p.text);
    let edited = matches!(p.kind, ProposalKind::Edited { .. });
    if p.template.is_none()
        && gate
            .since_customer_ms
            .is_some_and(|ms| ms > SERVICE_WINDOW_MS)
    {
        return Err(
            "outside the 24-hour customer-service window: only a template may be sent".into(),
        );
    }
    let Some(tier) = gate.tier else {
        if edited {
            return facts_sourced(p, &plain);
        }
        return Err("the turn is unclassified: only a human's text may answer it".into());
    };
    if tier == Tier::R3 && !gate.coach_decided {
        let safe = p
            .template
            .as_deref()
            .is_some_and(|t| R3_SAFE.iter().any(|s| s.as_str() == t));
        if !safe {
            return Err(
                "R3: only acknowledgement and escalation templates until the coach decides".into(),
            );
        }
    }
    let needed = match p.kind {
        ProposalKind::Faq { .. } => Some(Tier::R0),
        ProposalKind::Schedule
        | ProposalKind::Payment { .. }
        | ProposalKind::Invoice
        | ProposalKind::Pending
        | ProposalKind::DegradedNotice => Some(Tier::R1),
        ProposalKind::Offer | ProposalKind::Booked => Some(Tier::R2),
        ProposalKind::AskIdentity
        | ProposalKind::Edited { .. }
        | ProposalKind::CoachVerdict { .. } => None,
    };
    if let Some(needed) = needed {
        let consistent = match p.kind {
            ProposalKind::Faq { .. } => tier == Tier::R0,
            _ => tier >= needed,
        };
        if !consistent {
            return Err(format!(
                "tier {} is not consistent with a {} reply",
                tier.as_str(),
                kind_name(&p.kind)
            ));
        }
    }
    let account =
        needed.is_some_and(|t| t >= Tier::R1) || (edited && matches!(tier, Tier::R1 | Tier::R2));
    if account && !matches!(gate.identity, Identity::WaMatch | Identity::InvoiceEmail) {
        return Err(format!(
            "identity is {}: an account reply needs a verified customer",
            gate.identity.as_str()
        ));
    }
    if tier == Tier::R2
        && let Some(w) = EXCEPTION_WORDS.iter().find(|w| contains_phrase(&text, w))
    {
        return Err(format!("an R2 reply may not imply an exception (\"{w}\")"));
    }
    facts_sourced(p, &plain)?;
    let payment_confirmed = matches!(p.kind, ProposalKind::Payment { confirmed: true });
    if let Some(w) = COMMITMENT_WORDS.iter().find(|w| contains_phrase(&text, w)) {
        let backed = gate.booked || (payment_confirmed && is_payment_word(w));
        if !backed {
            return Err(format!(
                "commitment wording (\"{w}\") before a tool reported success"
            ));
        }
    }
    Ok(())
}

fn is_payment_word(w: &str) -> bool {
    matches!(w, "confirmed" | "terkonfirmasi" | "dikonfirmasi" | "lunas")
}

fn kind_name(kind: &ProposalKind) -> &'static str {
    match kind {
        ProposalKind::Faq { .. } => "FAQ",
        ProposalKind::AskIdentity => "verification",
        ProposalKind::Schedule => "schedule",
        ProposalKind::Payment { .. } => "payment",
        ProposalKind::Invoice => "invoice",
        ProposalKind::Offer => "slot offer",
        ProposalKind::Booked => "booking",
        ProposalKind::Pending => "pending-verification",
        ProposalKind::DegradedNotice => "degraded notice",
        ProposalKind::Edited { .. } => "edited",
        ProposalKind::CoachVerdict { .. } => "coach verdict",
    }
}

fn contains_phrase(text: &str, phrase: &str) -> bool {
    let padded = format!(" {text} ");
    padded.contains(&format!(" {phrase} "))
}

/// Lowercased words with the punctuation around them trimmed (inner
/// punctuation kept: 19:00, 450.000), single-spaced and padded.
pub fn plain(text: &str) -> String {
    let mut out = String::from(" ");
    for w in text.split_whitespace() {
        let w = w.trim_matches(|c: char| !c.is_alphanumeric());
        if !w.is_empty() {
            out.push_str(&w.to_lowercase());
            out.push(' ');
        }
    }
    out
}

/// Every fact token of the text must appear in the proposal's facts.
fn facts_sourced(p: &Proposal, text: &str) -> Result<(), String> {
    let sources = plain(&p.facts.join(" | "));
    for token in fact_tokens(text) {
        if !sources.contains(&format!(" {token} ")) {
            return Err(format!(
                "\"{token}\" is not backed by a tool result or an article"
            ));
        }
    }
    Ok(())
}

/// Times (19:00, 19.00), dates (27 november), amounts and numbers of three
/// or more digits: what a reply must not invent.
pub fn fact_tokens(normalized: &str) -> Vec<String> {
    let words: Vec<&str> = normalized.split_whitespace().collect();
    let mut out = Vec::new();
    for (i, w) in words.iter().enumerate() {
        let w = w.trim_matches(|c: char| !c.is_alphanumeric());
        let digits = w.chars().filter(char::is_ascii_digit).count();
        if digits == 0 {
            continue;
        }
        let is_time = w.len() <= 5
            && w.contains([':', '.'])
            && w.split([':', '.']).all(|part| {
                !part.is_empty() && part.len() <= 2 && part.chars().all(|c| c.is_ascii_digit())
            });
        let next_is_month = words
            .get(i + 1)
            .map(|n| n.trim_matches(|c: char| !c.is_alphanumeric()))
            .is_some_and(|n| MONTHS.contains(&n));
        if is_time || digits >= 3 {
            out.push(w.to_string());
        } else if next_is_month && w.chars().all(|c| c.is_ascii_digit()) {
            let month = words[i + 1].trim_matches(|c: char| !c.is_alphanumeric());
            out.push(format!("{w} {month}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proposal(
        kind: ProposalKind,
        template: Option<&str>,
        text: &str,
        facts: &[&str],
    ) -> Proposal {
        Proposal {
            kind,
            template: template.map(str::to_string),
            text: text.into(),
            facts: facts.iter().map(|f| f.to_string()).collect(),
        }
    }

    fn gate<'a>(p: &'a Proposal, tier: Option<Tier>, identity: Identity) -> Gate<'a> {
        Gate {
            proposal: p,
            tier,
            identity,
            coach_decided: false,
            booked: false,
            since_customer_ms: Some(60_000),
        }
    }

    #[test]
    fn a_sourced_schedule_reply_for_a_verified_customer_passes() {
        let p = proposal(
            ProposalKind::Schedule,
            Some("wa.r1.schedule"),
            "Your next session is on Friday 27 November 2026 at 19:00 with Dewi.",
            &["Friday 27 November 2026", "19:00", "Dewi"],
        );
        assert_eq!(check(&gate(&p, Some(Tier::R1), Identity::WaMatch)), Ok(()));
        let err = check(&gate(&p, Some(Tier::R1), Identity::Unverified)).unwrap_err();
        assert!(err.contains("identity"), "{err}");
        let err = check(&gate(&p, Some(Tier::R0), Identity::WaMatch)).unwrap_err();
        assert!(err.contains("tier R0"), "{err}");
    }

    #[test]
    fn an_invented_time_date_or_amount_is_blocked() {
        for text in [
            "Your session moved to 20:00.",
            "See you on 28 november!",
            "You owe Rp 500.000.",
        ] {
            let p = proposal(
                ProposalKind::Edited { by: "op".into() },
                None,
                text,
                &["Friday 27 November 2026 19:00", "Rp 450.000"],
            );
            let err = check(&gate(&p, Some(Tier::R1), Identity::WaMatch)).unwrap_err();
            assert!(err.contains("not backed"), "{text}: {err}");
        }
    }

    #[test]
    fn commitment_wording_needs_the_tool_success() {
        let p = proposal(
            ProposalKind::Edited { by: "op".into() },
            None,
            "Done, your lesson is rescheduled.",
            &[],
        );
        let mut g = gate(&p, Some(Tier::R2), Identity::InvoiceEmail);
        assert!(check(&g).unwrap_err().contains("commitment"));
        g.booked = true;
        assert_eq!(check(&g), Ok(()));
        let paid = proposal(
            ProposalKind::Payment { confirmed: true },
            Some("wa.r1.payment"),
            "The payment for invoice INV-001 is confirmed.",
            &["INV-001", "confirmed"],
        );
        assert_eq!(
            check(&gate(&paid, Some(Tier::R1), Identity::WaMatch)),
            Ok(())
        );
        let unpaid = proposal(
            ProposalKind::Payment { confirmed: false },
            Some("wa.r1.payment"),
            "The payment for invoice INV-001 is confirmed.",
            &["INV-001"],
        );
        assert!(check(&gate(&unpaid, Some(Tier::R1), Identity::WaMatch)).is_err());
    }

    #[test]
    fn an_r2_reply_never_implies_an_exception() {
        let p = proposal(
            ProposalKind::Edited { by: "op".into() },
            None,
            "We moved it and the fee is waived as an exception",
            &[],
        );
        let mut g = gate(&p, Some(Tier::R2), Identity::WaMatch);
        g.booked = true;
        assert!(check(&g).unwrap_err().contains("exception"));
    }

    #[test]
    fn r3_sends_only_safe_templates_until_the_coach_decides() {
        let text = "We will refund you.";
        let p = proposal(ProposalKind::Edited { by: "op".into() }, None, text, &[]);
        let mut g = gate(&p, Some(Tier::R3), Identity::Unverified);
        assert!(check(&g).unwrap_err().contains("R3"));
        g.coach_decided = true;
        assert_eq!(check(&g), Ok(()));
    }

    #[test]
    fn unclassified_turns_take_only_human_text() {
        let p = proposal(
            ProposalKind::Faq {
                article: "a".into(),
                version: 1,
            },
            Some("wa.r0.faq"),
            "Lessons are 60 minutes.",
            &["Lessons are 60 minutes."],
        );
        assert!(check(&gate(&p, None, Identity::Unverified)).is_err());
    }

    #[test]
    fn free_text_after_the_24_hour_window_is_blocked() {
        let p = proposal(
            ProposalKind::Edited { by: "coach".into() },
            None,
            "Sorry for the wait.",
            &[],
        );
        let mut g = gate(&p, Some(Tier::R3), Identity::WaMatch);
        g.coach_decided = true;
        assert_eq!(check(&g), Ok(()));
        g.since_customer_ms = Some(SERVICE_WINDOW_MS + 1);
        assert!(check(&g).unwrap_err().contains("24-hour"));
    }

    #[test]
    fn fact_tokens_find_times_dates_and_numbers() {
        assert_eq!(
            fact_tokens(&plain("Jumat, 27 Nov jam 19.00 (Rp 450.000), slot 2.")),
            vec!["27 nov", "19.00", "450.000"]
        );
    }
}
