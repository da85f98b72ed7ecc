//! The send stage: the only code that can produce an [`Outbound`], the value
//! the engine's customer sender takes. Other stages can draft a reply; only
//! this one turns a draft into something that reaches a customer.
//!
//! ```compile_fail,E0451
//! // Outside this module an Outbound cannot be built: every field is private.
//! use caseflow::core::stages::send::Outbound;
//! let o = Outbound {
//!     step: 0,
//!     key: todo!(),
//!     to: todo!(),
//!     template: None,
//!     text: String::new(),
//!     options: vec![],
//!     wa_template: None,
//! };
//! ```

use crate::core::case::{CaseRecord, Draft, PendingSend};
use crate::core::types::{CustomerKey, IdempotencyKey};
use crate::templates::TemplateId;

/// An approved WhatsApp template message: what may reach a customer after
/// the 24-hour customer-service window.
pub type WaTemplate = crate::templates::ApprovedTemplate;

/// A customer-facing message, ready for the sender. Built only by [`emit`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outbound {
    step: u32,
    key: IdempotencyKey,
    to: CustomerKey,
    template: Option<String>,
    text: String,
    options: Vec<ListOption>,
    wa_template: Option<WaTemplate>,
}

/// A choice the customer can tap (a slot offer as a list message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListOption {
    /// What comes back when tapped: the option's number.
    pub id: String,
    pub title: String,
    pub description: String,
}

impl Outbound {
    pub fn step(&self) -> u32 {
        self.step
    }

    pub fn key(&self) -> &IdempotencyKey {
        &self.key
    }

    pub fn to(&self) -> &CustomerKey {
        &self.to
    }

    pub fn template(&self) -> Option<&str> {
        self.template.as_deref()
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// Tappable options (empty for a plain text message).
    pub fn options(&self) -> &[ListOption] {
        &self.options
    }

    /// The approved template to send instead of free-form text (set only
    /// outside the 24-hour window).
    pub fn wa_template(&self) -> Option<&WaTemplate> {
        self.wa_template.as_ref()
    }
}

/// Turns the case's cleared draft into an outbound message under a fresh
/// idempotency key, and marks it pending. `None` when nothing is drafted.
pub(in crate::core) fn emit(
    case: &mut CaseRecord,
    wa_template: Option<WaTemplate>,
) -> Option<Outbound> {
    let draft = case.draft.take()?;
    let step = case.effect_seq;
    case.effect_seq += 1;
    case.pending_send = Some(PendingSend {
        step,
        draft: draft.clone(),
    });
    Some(build(case, step, draft, wa_template))
}

/// The pending send again, under its original key: for a send whose intent
/// was recorded but whose completion was not.
pub(in crate::core) fn reemit(
    case: &CaseRecord,
    wa_template: Option<WaTemplate>,
) -> Option<Outbound> {
    let pending = case.pending_send.as_ref()?;
    Some(build(
        case,
        pending.step,
        pending.draft.clone(),
        wa_template,
    ))
}

fn build(case: &CaseRecord, step: u32, draft: Draft, wa_template: Option<WaTemplate>) -> Outbound {
    let options = match (&case.desk.offer, draft.template.as_deref()) {
        (Some(offer), Some(t)) if t == TemplateId::R2RescheduleOffer.as_str() => offer
            .slots
            .iter()
            .enumerate()
            .map(|(i, s)| ListOption {
                id: format!("{}", i + 1),
                title: format!("{}) {}", i + 1, s.label),
                description: s.coach.clone(),
            })
            .collect(),
        _ => Vec::new(),
    };
    Outbound {
        options: if wa_template.is_some() {
            Vec::new()
        } else {
            options
        },
        wa_template,
        step,
        key: IdempotencyKey::for_step(case.id, step),
        to: case.customer.clone(),
        template: draft.template,
        text: draft.text,
    }
}
