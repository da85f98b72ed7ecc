//! The template catalog: stable ids, an English and a Bahasa Indonesia text
//! each, and rendering with named placeholders.
//!
//! Parsing and rendering are pure; the file is read by the caller.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;
use strum::IntoEnumIterator;

use crate::core::case::Language;

/// A template id: the contract's catalog (CONTRACT section 5) plus the ones
/// the engine adds. Ids are stable; the catalog file must define every one.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::EnumIter,
    strum::Display,
)]
pub enum TemplateId {
    #[strum(serialize = "wa.ack")]
    Ack,
    #[strum(serialize = "wa.r0.faq")]
    R0Faq,
    #[strum(serialize = "wa.r1.verify")]
    R1Verify,
    #[strum(serialize = "wa.r1.schedule")]
    R1Schedule,
    #[strum(serialize = "wa.r1.payment")]
    R1Payment,
    /// Not in the contract's catalog: an invoice sent again on request.
    #[strum(serialize = "wa.r1.invoice")]
    R1Invoice,
    #[strum(serialize = "wa.r2.reschedule.offer")]
    R2RescheduleOffer,
    #[strum(serialize = "wa.r2.reschedule.done")]
    R2RescheduleDone,
    #[strum(serialize = "wa.r3.escalation")]
    R3Escalation,
    #[strum(serialize = "wa.r3.refund")]
    R3Refund,
    #[strum(serialize = "wa.r3.approved")]
    R3Approved,
    #[strum(serialize = "wa.r3.denied")]
    R3Denied,
    #[strum(serialize = "wa.payment.pending")]
    PaymentPending,
    #[strum(serialize = "wa.degraded.pending")]
    DegradedPending,
    #[strum(serialize = "wa.closing")]
    Closing,
}

impl TemplateId {
    /// The id as written in the catalog and on the case ("wa.ack").
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TemplateError {
    #[error("template catalog is not valid TOML: {0}")]
    Syntax(String),
    #[error("template catalog lacks '{0}'")]
    Missing(String),
    #[error("template '{id}' has an empty {language} text")]
    Empty { id: String, language: &'static str },
    #[error("template '{id}': placeholder {{{name}}} has no value")]
    UnfilledPlaceholder { id: String, name: String },
    #[error(
        "template catalog has an unknown id '{0}' (known: wa.ack, wa.r0.faq, ... see CONTRACT section 5)"
    )]
    Unknown(String),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Texts {
    en: String,
    id: String,
    /// The name of the WhatsApp message template approved for this id (the
    /// same wording, `{{1}}`, `{{2}}`... for the placeholders in order), if
    /// one is: only such a template may reach a customer after the 24-hour
    /// customer-service window.
    #[serde(default)]
    whatsapp: Option<String>,
}

/// A rendered catalog text as an approved WhatsApp template message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovedTemplate {
    pub name: String,
    /// WhatsApp's language code of the text (`en`, `id`).
    pub language: &'static str,
    /// The placeholder values in the order they appear.
    pub parameters: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Templates {
    texts: HashMap<TemplateId, Texts>,
}

impl Templates {
    pub fn parse(source: &str) -> Result<Templates, TemplateError> {
        let texts: BTreeMap<String, Texts> =
            toml::from_str(source).map_err(|e| TemplateError::Syntax(e.to_string()))?;
        let mut known = HashMap::new();
        for (name, t) in texts {
            let id: TemplateId = name
                .parse()
                .map_err(|_| TemplateError::Unknown(name.clone()))?;
            known.insert(id, t);
        }
        for id in TemplateId::iter() {
            let t = known
                .get(&id)
                .ok_or_else(|| TemplateError::Missing(id.to_string()))?;
            for (language, text) in [("en", &t.en), ("id", &t.id)] {
                if text.trim().is_empty() {
                    return Err(TemplateError::Empty {
                        id: id.to_string(),
                        language,
                    });
                }
            }
        }
        Ok(Templates { texts: known })
    }

    /// The text of `id` in `language` with `{name}` placeholders filled.
    pub fn render(
        &self,
        id: TemplateId,
        language: Language,
        params: &[(&str, &str)],
    ) -> Result<String, TemplateError> {
        let texts = self
            .texts
            .get(&id)
            .ok_or_else(|| TemplateError::Missing(id.to_string()))?;
        let raw = match language {
            Language::En => &texts.en,
            Language::Id => &texts.id,
        };
        fill(id.as_str(), raw, params)
    }

    /// `text`, rendered from `id` in `language`, as the approved WhatsApp
    /// template of `id`: `None` when `id` has none, or when `text` is not a
    /// rendering of it (a human's edit).
    pub fn approved(&self, id: &str, language: Language, text: &str) -> Option<ApprovedTemplate> {
        let id: TemplateId = id.parse().ok()?;
        let texts = self.texts.get(&id)?;
        let name = texts.whatsapp.clone().filter(|n| !n.trim().is_empty())?;
        let (raw, code) = match language {
            Language::En => (&texts.en, "en"),
            Language::Id => (&texts.id, "id"),
        };
        Some(ApprovedTemplate {
            name,
            language: code,
            parameters: unfill(raw, text)?,
        })
    }
}

/// The placeholder values that turn `raw` into `text`, in order; `None`
/// when `text` is not a rendering of `raw`. WhatsApp refuses template
/// parameters with line breaks or tabs, so those become spaces.
fn unfill(raw: &str, text: &str) -> Option<Vec<String>> {
    let mut literals = Vec::new();
    let mut rest = raw;
    while let Some(open) = rest.find('{') {
        let close = rest[open..].find('}')? + open;
        literals.push(&rest[..open]);
        rest = &rest[close + 1..];
    }
    literals.push(rest);
    let (first, last) = (literals[0], literals[literals.len() - 1]);
    if literals.len() == 1 {
        return (raw == text).then(Vec::new);
    }
    let body = text.strip_prefix(first)?.strip_suffix(last)?;
    let mut values = Vec::new();
    let mut at = body;
    for lit in &literals[1..literals.len() - 1] {
        if lit.is_empty() {
            return None;
        }
        let end = at.find(lit)?;
        values.push(&at[..end]);
        at = &at[end + lit.len()..];
    }
    values.push(at);
    Some(
        values
            .into_iter()
            .map(|v| v.replace(['\n', '\t', '\r'], " "))
            .collect(),
    )
}

fn fill(id: &str, raw: &str, params: &[(&str, &str)]) -> Result<String, TemplateError> {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            out.push_str(&rest[open..]);
            return Ok(out);
        };
        let name = &after[..close];
        let value = params
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| *v)
            .ok_or_else(|| TemplateError::UnfilledPlaceholder {
                id: id.to_string(),
                name: name.to_string(),
            })?;
        out.push_str(value);
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHIPPED: &str = include_str!("../config/templates.toml");

    #[test]
    fn shipped_catalog_has_every_contract_id_in_both_languages() {
        let t = Templates::parse(SHIPPED).expect("shipped catalog parses");
        for id in TemplateId::iter() {
            assert!(t.texts.contains_key(&id), "{id}");
        }
        for contract in [
            "wa.ack",
            "wa.r0.faq",
            "wa.r1.verify",
            "wa.r1.schedule",
            "wa.r1.payment",
            "wa.r2.reschedule.offer",
            "wa.r2.reschedule.done",
            "wa.r3.escalation",
            "wa.r3.refund",
            "wa.r3.approved",
            "wa.r3.denied",
            "wa.payment.pending",
            "wa.degraded.pending",
            "wa.closing",
        ] {
            let id: TemplateId = contract.parse().expect("a contract id is a TemplateId");
            assert_eq!(id.as_str(), contract);
        }
    }

    #[test]
    fn an_unknown_id_in_the_catalog_is_refused_by_name() {
        let err = Templates::parse(&format!(
            "{SHIPPED}\n[\"wa.r3.aproved\"]\nen = \"a\"\nid = \"b\"\n"
        ))
        .unwrap_err();
        assert_eq!(err, TemplateError::Unknown("wa.r3.aproved".into()));
    }

    #[test]
    fn renders_in_the_customers_language_with_placeholders() {
        let t = Templates::parse(SHIPPED).unwrap();
        let en = t
            .render(
                TemplateId::DegradedPending,
                Language::En,
                &[("window", "2 hours")],
            )
            .unwrap();
        assert!(en.contains("within 2 hours"), "{en}");
        let id = t
            .render(
                TemplateId::DegradedPending,
                Language::Id,
                &[("window", "2 jam")],
            )
            .unwrap();
        assert!(id.contains("dalam 2 jam"), "{id}");
    }

    #[test]
    fn a_missing_placeholder_value_is_an_error_not_a_blank() {
        let t = Templates::parse(SHIPPED).unwrap();
        let err = t
            .render(TemplateId::R1Payment, Language::En, &[])
            .unwrap_err();
        assert!(matches!(err, TemplateError::UnfilledPlaceholder { .. }));
    }

    #[test]
    fn a_rendered_text_reads_back_as_its_approved_template() {
        let catalog = SHIPPED.replace(
            "[\"wa.r1.schedule\"]\n",
            "[\"wa.r1.schedule\"]\nwhatsapp = \"next_session\"\n",
        );
        let t = Templates::parse(&catalog).unwrap();
        let text = t
            .render(
                TemplateId::R1Schedule,
                Language::Id,
                &[
                    ("date", "Kamis, 27 Nov"),
                    ("time", "19.00"),
                    ("coach", "Dewi"),
                ],
            )
            .unwrap();
        let a = t.approved("wa.r1.schedule", Language::Id, &text).unwrap();
        assert_eq!(a.name, "next_session");
        assert_eq!(a.language, "id");
        assert_eq!(a.parameters, ["Kamis, 27 Nov", "19.00", "Dewi"]);
        assert_eq!(
            t.approved("wa.r1.schedule", Language::Id, "a human's own words"),
            None
        );
        assert_eq!(
            t.approved("wa.ack", Language::En, "x"),
            None,
            "no name: none"
        );
    }

    #[test]
    fn a_catalog_missing_a_contract_id_is_refused_by_name() {
        let err = Templates::parse("[\"wa.ack\"]\nen = \"a\"\nid = \"b\"\n").unwrap_err();
        assert_eq!(err, TemplateError::Missing("wa.r0.faq".into()));
    }
}
