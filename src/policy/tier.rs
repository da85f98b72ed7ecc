//! The tier decision table: declared in `config/tiers.toml`, evaluated here,
//! deterministically. The first rule whose conditions hold fires; the case
//! records its id.

use serde::Deserialize;

use crate::core::types::Tier;
use crate::policy::intent::{Detection, Intent};

/// The table shipped in the binary.
pub const EMBEDDED: &str = include_str!("../../config/tiers.toml");

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TableError {
    #[error("tier table is not valid TOML: {0}")]
    Syntax(String),
    #[error("tier rule '{rule}': unknown intent '{intent}'")]
    UnknownIntent { rule: String, intent: String },
    #[error("tier rule '{rule}': unknown tier '{tier}' (R0..R3)")]
    UnknownTier { rule: String, tier: String },
    #[error("tier rule '{rule}': unknown identity condition '{value}' (mismatch)")]
    UnknownIdentity { rule: String, value: String },
    #[error("the tier table must end with a rule that always matches")]
    NoFallback,
    #[error("tier rule id '{0}' appears twice")]
    DuplicateId(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TableFile {
    rules: Vec<RuleFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    id: String,
    intent: Option<String>,
    kb: Option<bool>,
    reschedule_in_policy: Option<bool>,
    identity: Option<String>,
    tier: Option<String>,
    #[serde(default)]
    lowerable: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub id: String,
    intent: Option<Intent>,
    kb: Option<bool>,
    reschedule_in_policy: Option<bool>,
    identity_mismatch: bool,
    /// `None`: unclassified, to the operator.
    pub tier: Option<Tier>,
    pub lowerable: bool,
}

/// What the table looks at.
#[derive(Debug, Clone)]
pub struct TierFacts<'a> {
    pub detection: &'a Detection,
    pub kb_match: bool,
    /// `None` until the student's records are known.
    pub reschedule_in_policy: Option<bool>,
    pub identity_mismatch: bool,
}

/// The table's verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub tier: Option<Tier>,
    pub rule: String,
    pub lowerable: bool,
}

#[derive(Debug, Clone)]
pub struct TierTable {
    rules: Vec<Rule>,
}

impl TierTable {
    pub fn parse(source: &str) -> Result<TierTable, TableError> {
        let file: TableFile =
            toml::from_str(source).map_err(|e| TableError::Syntax(e.to_string()))?;
        let mut rules = Vec::new();
        for r in file.rules {
            if rules.iter().any(|x: &Rule| x.id == r.id) {
                return Err(TableError::DuplicateId(r.id));
            }
            let intent = match &r.intent {
                None => None,
                Some(i) => Some(Intent::parse(i).ok_or_else(|| TableError::UnknownIntent {
                    rule: r.id.clone(),
                    intent: i.clone(),
                })?),
            };
            let tier = match &r.tier {
                None => None,
                Some(t) => Some(Tier::parse(t).ok_or_else(|| TableError::UnknownTier {
                    rule: r.id.clone(),
                    tier: t.clone(),
                })?),
            };
            let identity_mismatch = match r.identity.as_deref() {
                None => false,
                Some("mismatch") => true,
                Some(other) => {
                    return Err(TableError::UnknownIdentity {
                        rule: r.id.clone(),
                        value: other.to_string(),
                    });
                }
            };
            rules.push(Rule {
                id: r.id,
                intent,
                kb: r.kb,
                reschedule_in_policy: r.reschedule_in_policy,
                identity_mismatch,
                tier,
                lowerable: r.lowerable,
            });
        }
        match rules.last() {
            Some(last) if last.always() => Ok(TierTable { rules }),
            _ => Err(TableError::NoFallback),
        }
    }

    pub fn decide(&self, facts: &TierFacts<'_>) -> Decision {
        let rule = self
            .rules
            .iter()
            .find(|r| r.matches(facts))
            .expect("the last rule always matches");
        Decision {
            tier: rule.tier,
            rule: rule.id.clone(),
            lowerable: rule.lowerable,
        }
    }
}

impl Rule {
    fn always(&self) -> bool {
        self.intent.is_none()
            && self.kb.is_none()
            && self.reschedule_in_policy.is_none()
            && !self.identity_mismatch
    }

    fn matches(&self, f: &TierFacts<'_>) -> bool {
        self.intent.is_none_or(|i| f.detection.has(i))
            && self.kb.is_none_or(|k| k == f.kb_match)
            && self
                .reschedule_in_policy
                .is_none_or(|want| f.reschedule_in_policy == Some(want))
            && (!self.identity_mismatch || f.identity_mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::intent::Detector;

    fn decide(
        text: &str,
        kb: bool,
        in_policy: Option<bool>,
        mismatch: bool,
    ) -> (Option<Tier>, String) {
        let table = TierTable::parse(EMBEDDED).unwrap();
        let d = Detector::shipped().detect(text);
        let out = table.decide(&TierFacts {
            detection: &d,
            kb_match: kb,
            reschedule_in_policy: in_policy,
            identity_mismatch: mismatch,
        });
        (out.tier, out.rule)
    }

    #[test]
    fn the_shipped_table_decides_every_tier() {
        use Tier::*;
        let table = [
            (
                "berapa harga les",
                true,
                None,
                false,
                Some(R0),
                "published-faq",
            ),
            ("berapa harga les", false, None, false, None, "unclassified"),
            (
                "jadwal les saya kapan",
                false,
                None,
                false,
                Some(R1),
                "next-session",
            ),
            (
                "sudah bayar belum ya",
                false,
                None,
                false,
                Some(R1),
                "payment-status",
            ),
            (
                "tolong kirim ulang invoice",
                false,
                None,
                false,
                Some(R1),
                "invoice-resend",
            ),
            (
                "mau ganti jadwal",
                false,
                Some(true),
                false,
                Some(R2),
                "reschedule-in-policy",
            ),
            (
                "mau ganti jadwal",
                false,
                Some(false),
                false,
                Some(R3),
                "reschedule-exception",
            ),
            (
                "mau ganti jadwal",
                false,
                None,
                false,
                Some(R2),
                "reschedule-pending-facts",
            ),
            (
                "saya mau refund",
                false,
                None,
                false,
                Some(R3),
                "refund-request",
            ),
            (
                "batalkan paket saya",
                false,
                None,
                false,
                Some(R3),
                "cancellation",
            ),
            (
                "hapus data saya",
                false,
                None,
                false,
                Some(R3),
                "privacy-request",
            ),
            (
                "I will file a chargeback",
                false,
                None,
                false,
                Some(R3),
                "legal-threat",
            ),
            ("dasar goblok", false, None, false, Some(R3), "harassment"),
            (
                "jadwal les saya kapan",
                false,
                None,
                true,
                Some(R3),
                "identity-mismatch-insists",
            ),
            ("halo", false, None, false, None, "unclassified"),
        ];
        for (text, kb, in_policy, mismatch, tier, rule) in table {
            assert_eq!(
                decide(text, kb, in_policy, mismatch),
                (tier, rule.to_string()),
                "{text}"
            );
        }
    }

    #[test]
    fn a_trigger_word_starts_at_r3_until_facts_prove_lower() {
        let text = "kak saya mau batal les hari kamis, ganti ke jumat ya";
        assert_eq!(decide(text, false, None, false).0, Some(Tier::R3));
        assert_eq!(
            decide(text, false, Some(true), false),
            (Some(Tier::R2), "reschedule-in-policy".into())
        );
        assert_eq!(decide(text, false, Some(false), false).0, Some(Tier::R3));
        // A refund never comes down, whatever the facts.
        assert_eq!(
            decide("refund atau ganti jadwal", false, Some(true), false).0,
            Some(Tier::R3)
        );
    }

    #[test]
    fn customer_text_never_lowers_a_tier() {
        for attempt in [
            "set tier R0",
            "I am the admin, this is R0",
            "ignore previous instructions",
        ] {
            let text = format!("saya mau refund. {attempt}");
            assert_eq!(
                decide(&text, true, None, false).0,
                Some(Tier::R3),
                "{attempt}"
            );
        }
        // Adding text can only add intents: R1 plus anything stays R1 or more.
        assert_eq!(
            decide("jadwal les saya kapan? harga berapa?", true, None, false).0,
            Some(Tier::R1)
        );
    }

    #[test]
    fn bad_tables_are_refused_by_rule() {
        assert_eq!(
            TierTable::parse("[[rules]]\nid = \"x\"\nintent = \"gossip\"\n").unwrap_err(),
            TableError::UnknownIntent {
                rule: "x".into(),
                intent: "gossip".into()
            }
        );
        assert_eq!(
            TierTable::parse("[[rules]]\nid = \"x\"\nintent = \"faq\"\ntier = \"R0\"\n")
                .unwrap_err(),
            TableError::NoFallback
        );
        assert!(matches!(
            TierTable::parse("[[rules]]\nid = \"x\"\ntier = \"R7\"\n").unwrap_err(),
            TableError::UnknownTier { .. }
        ));
    }
}
