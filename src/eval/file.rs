//! The eval file format (TOML): scripted conversations and what each step
//! must lead to. Parsing and validation only; errors name the conversation,
//! the step and the key.
//!
//! ```toml
//! description = "what these conversations prove"
//! mode = "pilot"                          # optional: overrides the config
//! [records]                               # optional, relative to this file;
//! students = "records/students.json"      # default: the demo records
//! slots = "../demo/slots.json"            # dates may be @D+n (business day)
//! kb = "../demo/kb.json"
//!
//! [[conversation]]
//! name = "R0: a price question is answered from the article"
//! customer = "+6287700000001"
//!
//! [[conversation.step]]
//! say = "berapa harga les vokal?"         # or a list sent back to back
//! at = "-25h"                             # optional: provider time offset
//! expect = { tier = "R0", state = "close", waiting_on = "customer",
//!            templates = ["wa.r0.faq"], writes = [], identity = "unverified" }
//! ```
//!
//! Other steps: `decide = "approve"|"edit"|"deny"|"escalate"` (with `by`,
//! and `text` for edit), `payment = { order_id, status, fraud_status }`
//! (a Midtrans notification), `degraded = true|false` (with `reason`).
//! `pending = "why"` marks a step whose expectations the contract asks for
//! but the code does not meet yet: its failure is reported, not counted.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::core::desk::DecisionKind;
use crate::core::types::{Mode, State, Tier};

#[derive(Debug, thiserror::Error)]
pub enum EvalFileError {
    #[error("cannot read {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("{path}: {reason}")]
    Parse { path: String, reason: String },
    #[error("{path}: conversation '{conversation}', step {step}: {reason}")]
    Step {
        path: String,
        conversation: String,
        step: usize,
        reason: String,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    description: String,
    mode: Option<String>,
    #[serde(default)]
    records: RawRecords,
    #[serde(default)]
    conversation: Vec<RawConversation>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRecords {
    students: Option<PathBuf>,
    slots: Option<PathBuf>,
    kb: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConversation {
    name: String,
    customer: String,
    #[serde(default)]
    step: Vec<RawStep>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Texts {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    say: Option<Texts>,
    at: Option<String>,
    decide: Option<String>,
    by: Option<String>,
    text: Option<String>,
    payment: Option<RawPayment>,
    degraded: Option<bool>,
    reason: Option<String>,
    pending: Option<String>,
    #[serde(default)]
    expect: Expect,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPayment {
    order_id: String,
    status: String,
    fraud_status: Option<String>,
}

/// What must hold once the case rests after a step. Unset keys are not
/// checked; `templates` and `writes` are what happened during the step,
/// exactly and in order (an outbound message without a template is
/// `"text"`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// "R0".."R3", or "none" before or without a tier.
    pub tier: Option<String>,
    pub state: Option<String>,
    /// "none", "customer", "operator", "coach", "timer", "tool:<name>".
    pub waiting_on: Option<String>,
    /// The human lane the case waits on: "operator", "coach" or "none".
    pub lane: Option<String>,
    pub identity: Option<String>,
    pub templates: Option<Vec<String>>,
    pub writes: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Customer messages sent back to back; provider time offset.
    Say {
        texts: Vec<String>,
        offset_ms: Option<i64>,
    },
    Decide {
        kind: DecisionKind,
        by: Option<String>,
        text: Option<String>,
    },
    Payment {
        order_id: String,
        status: String,
        fraud_status: Option<String>,
    },
    Degraded {
        on: bool,
        reason: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub action: Action,
    pub expect: Expect,
    pub pending: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Conversation {
    pub name: String,
    pub customer: String,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EvalFile {
    pub path: PathBuf,
    pub description: String,
    pub mode: Option<Mode>,
    pub students: Option<PathBuf>,
    pub slots: Option<PathBuf>,
    pub kb: Option<PathBuf>,
    pub conversations: Vec<Conversation>,
}

/// A signed duration: "-25h", "+90s", "2m".
pub fn parse_offset(s: &str) -> Option<i64> {
    let s = s.trim();
    let (sign, rest) = match s.strip_prefix('-') {
        Some(r) => (-1, r),
        None => (1, s.strip_prefix('+').unwrap_or(s)),
    };
    let d: Duration = humantime::parse_duration(rest.trim()).ok()?;
    Some(sign * d.as_millis() as i64)
}

fn check_expect(e: &Expect) -> Result<(), String> {
    if let Some(t) = &e.tier
        && t != "none"
        && Tier::parse(t).is_none()
    {
        return Err(format!("expect.tier must be R0..R3 or none, not '{t}'"));
    }
    if let Some(s) = &e.state
        && State::parse(s).is_none()
    {
        return Err(format!("expect.state: unknown state '{s}'"));
    }
    if let Some(l) = &e.lane
        && !["operator", "coach", "none"].contains(&l.as_str())
    {
        return Err(format!(
            "expect.lane must be operator, coach or none, not '{l}'"
        ));
    }
    if let Some(i) = &e.identity
        && !["wa_match", "invoice_email", "unverified", "mismatch"].contains(&i.as_str())
    {
        return Err(format!("expect.identity: unknown identity '{i}'"));
    }
    Ok(())
}

fn step(raw: RawStep) -> Result<Step, String> {
    let kinds = [
        raw.say.is_some(),
        raw.decide.is_some(),
        raw.payment.is_some(),
        raw.degraded.is_some(),
    ];
    if kinds.iter().filter(|k| **k).count() != 1 {
        return Err("a step does exactly one of say, decide, payment, degraded".into());
    }
    check_expect(&raw.expect)?;
    let action = if let Some(say) = raw.say {
        let texts = match say {
            Texts::One(t) => vec![t],
            Texts::Many(ts) => ts,
        };
        if texts.is_empty() || texts.iter().any(|t| t.trim().is_empty()) {
            return Err("`say` needs non-empty text".into());
        }
        let offset_ms = match raw.at.as_deref() {
            None => None,
            Some(a) => Some(parse_offset(a).ok_or_else(|| {
                format!("`at` must be an offset such as \"-25h\" or \"+90s\", not '{a}'")
            })?),
        };
        Action::Say { texts, offset_ms }
    } else if let Some(d) = raw.decide {
        let kind = DecisionKind::parse(&d).ok_or_else(|| {
            format!("`decide` must be approve, edit, deny or escalate, not '{d}'")
        })?;
        if kind == DecisionKind::Edit && raw.text.as_deref().is_none_or(|t| t.trim().is_empty()) {
            return Err("`decide = \"edit\"` needs `text`".into());
        }
        Action::Decide {
            kind,
            by: raw.by,
            text: raw.text,
        }
    } else if let Some(p) = raw.payment {
        if crate::policy::payments::state_of(&p.status, p.fraud_status.as_deref()).is_none() {
            return Err(format!(
                "payment.status '{}' is not a Midtrans transaction_status",
                p.status
            ));
        }
        Action::Payment {
            order_id: p.order_id,
            status: p.status,
            fraud_status: p.fraud_status,
        }
    } else {
        Action::Degraded {
            on: raw.degraded.unwrap_or(false),
            reason: raw.reason.unwrap_or_else(|| "eval".into()),
        }
    };
    Ok(Step {
        action,
        expect: raw.expect,
        pending: raw.pending,
    })
}

/// Reads and checks an eval file.
pub fn load(path: &Path) -> Result<EvalFile, EvalFileError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| EvalFileError::Read {
        path: shown.clone(),
        reason: e.to_string(),
    })?;
    let raw: RawFile = toml::from_str(&text).map_err(|e| EvalFileError::Parse {
        path: shown.clone(),
        reason: e.to_string(),
    })?;
    let mode = match raw.mode.as_deref() {
        None => None,
        Some(m) => Some(Mode::parse(m).ok_or_else(|| EvalFileError::Parse {
            path: shown.clone(),
            reason: format!("`mode` must be pilot or production, not '{m}'"),
        })?),
    };
    if raw.conversation.is_empty() {
        return Err(EvalFileError::Parse {
            path: shown,
            reason: "no [[conversation]]".into(),
        });
    }
    let base = path.parent().unwrap_or(Path::new("."));
    let mut conversations = Vec::new();
    for c in raw.conversation {
        if c.step.is_empty() {
            return Err(EvalFileError::Step {
                path: shown,
                conversation: c.name,
                step: 0,
                reason: "no [[conversation.step]]".into(),
            });
        }
        let mut steps = Vec::new();
        for (i, s) in c.step.into_iter().enumerate() {
            steps.push(step(s).map_err(|reason| EvalFileError::Step {
                path: shown.clone(),
                conversation: c.name.clone(),
                step: i + 1,
                reason,
            })?);
        }
        conversations.push(Conversation {
            name: c.name,
            customer: c.customer,
            steps,
        });
    }
    Ok(EvalFile {
        path: path.to_path_buf(),
        description: raw.description,
        mode,
        students: raw.records.students.map(|p| base.join(p)),
        slots: raw.records.slots.map(|p| base.join(p)),
        kb: raw.records.kb.map(|p| base.join(p)),
        conversations,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<EvalFile, EvalFileError> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("e.toml");
        std::fs::write(&p, text).unwrap();
        load(&p)
    }

    #[test]
    fn offsets_are_signed_durations() {
        assert_eq!(parse_offset("-25h"), Some(-25 * 3_600_000));
        assert_eq!(parse_offset("+90s"), Some(90_000));
        assert_eq!(parse_offset("2m"), Some(120_000));
        assert_eq!(parse_offset("soon"), None);
    }

    #[test]
    fn a_file_reads_into_steps_and_bad_steps_are_named() {
        let ok = parse(
            r#"
mode = "production"
[[conversation]]
name = "c"
customer = "+62811"
[[conversation.step]]
say = ["halo", "harga?"]
at = "-1h"
expect = { tier = "R0", templates = ["wa.r0.faq"] }
[[conversation.step]]
decide = "edit"
text = "ok"
pending = "contract ahead"
"#,
        )
        .unwrap();
        assert_eq!(ok.mode, Some(Mode::Production));
        let c = &ok.conversations[0];
        assert_eq!(
            c.steps[0].action,
            Action::Say {
                texts: vec!["halo".into(), "harga?".into()],
                offset_ms: Some(-3_600_000)
            }
        );
        assert_eq!(c.steps[1].pending.as_deref(), Some("contract ahead"));

        let bad = |step: &str| {
            parse(&format!(
                "[[conversation]]\nname = \"c\"\ncustomer = \"+62811\"\n[[conversation.step]]\n{step}\n"
            ))
            .unwrap_err()
            .to_string()
        };
        assert!(bad("decide = \"maybe\"").contains("`decide`"));
        assert!(bad("decide = \"edit\"").contains("needs `text`"));
        assert!(bad("say = \"a\"\ndecide = \"approve\"").contains("exactly one"));
        assert!(bad("say = \"a\"\nexpect = { tier = \"R9\" }").contains("expect.tier"));
        assert!(
            bad("payment = { order_id = \"o\", status = \"paid-ish\" }").contains("payment.status")
        );
        assert!(bad("say = \"a\"\nexpect = { colour = \"red\" }").contains("colour"));
    }
}
