//! send: the only stage that reaches a customer. It turns the draft qa
//! cleared into an [`Outbound`], the one value the engine's customer sender
//! takes (`crate::channels`), under the idempotency key `case / step`; after
//! a crash the same message is sent again under the same key
//! (`Run::resend`). Outside the 24-hour customer-service window only an
//! approved WhatsApp template may go out; a draft without one goes back to
//! qa and waits on the lane's human (CONTRACT section 2, "WhatsApp rules").
//! When the send completes, the turn is acknowledged (an ack, a notice, the
//! verify question) or answered and ended.
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
//!
//! ```compile_fail,E0603
//! // ...nor can another stage mint one through the module's functions:
//! let mut case: caseflow::core::case::CaseRecord = todo!();
//! let o = caseflow::core::stages::send::emit(&mut case, None);
//! ```

use crate::core::case::{CaseRecord, Draft, PendingSend, SendPurpose};
use crate::core::machine::{Effect, MachineError, Next, Run};
use crate::core::stages::Outcome;
use crate::core::stages::qa::SERVICE_WINDOW_MS;
use crate::core::types::{CustomerKey, IdempotencyKey, State, WaitingOn};
use crate::templates::TemplateId;

/// The tool through which customer messages leave.
pub const SEND_TOOL: &str = "whatsapp";

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
fn emit(case: &mut CaseRecord, wa_template: Option<WaTemplate>) -> Option<Outbound> {
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
fn reemit(case: &CaseRecord, wa_template: Option<WaTemplate>) -> Option<Outbound> {
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

impl Run<'_> {
    pub(in crate::core) fn send(&mut self) -> Result<Next, MachineError> {
        if self.case.pending_send.is_some() {
            return Ok(Next::Wait(WaitingOn::Tool(SEND_TOOL.into())));
        }
        let draft = self
            .case
            .draft
            .as_ref()
            .ok_or(MachineError::NothingToSend)?;
        let template = self.window_template(draft);
        if self.window_closed() && template.is_none() {
            return Ok(self.hold_outside_window());
        }
        let out = emit(&mut self.case, template).ok_or(MachineError::NothingToSend)?;
        Ok(Next::Emit(Effect::Send(out)))
    }

    /// After the 24-hour window only an approved template may go out: a
    /// draft without one is not sent, and the case goes back to qa, where it
    /// waits on the lane's human with the reason (nothing else can be sent
    /// until the customer writes again).
    fn hold_outside_window(&mut self) -> Next {
        let draft = self.case.draft.take();
        let what = draft
            .as_ref()
            .and_then(|d| d.template.clone())
            .unwrap_or_else(|| "a human's text".into());
        let last = self
            .case
            .desk
            .last_inbound_at
            .map_or_else(String::new, |t| t.to_rfc3339());
        let drafted: String = draft
            .map(|d| d.text.chars().take(300).collect())
            .unwrap_or_default();
        let reason = format!(
            "outside the 24-hour customer-service window (the customer last wrote at {last}): {what} has no approved WhatsApp template, so it was not sent; drafted: {drafted}"
        );
        self.case.add_tag("window_closed");
        self.case.desk.qa_block = Some(reason);
        if let Some(turn) = &mut self.case.turn {
            turn.acked = true;
        }
        Next::Go(
            Outcome::Acknowledged,
            format!(
                "{what} not sent: the 24-hour window is closed and it has no approved template"
            ),
        )
    }

    /// The send of `step` finished: on success the turn is acknowledged
    /// (an ack, a notice, the verify question) or answered and ended; a
    /// failure leaves the case stuck for an operator.
    pub(in crate::core) fn send_done(
        &mut self,
        step: u32,
        result: Result<(), crate::core::machine::EffectError>,
    ) -> Result<(), MachineError> {
        let Some(pending) = self.case.pending_send.clone().filter(|p| p.step == step) else {
            return Ok(());
        };
        if let Err(error) = result {
            self.case.stuck = Some(format!("send of step {step} failed: {error}"));
            return Ok(());
        }
        // A stuck mark set meanwhile (a failed delivery reported while the
        // send was in flight) stays for the operator.
        self.case.pending_send = None;
        if self.case.first_response_at.is_none() {
            self.case.first_response_at = Some(self.now());
        }
        self.disarm_until_outbound();
        let outcome = match pending.draft.purpose {
            SendPurpose::Ack => {
                if let Some(turn) = &mut self.case.turn {
                    turn.acked = true;
                }
                Outcome::Acknowledged
            }
            SendPurpose::Notice => {
                if let Some(turn) = &mut self.case.turn {
                    turn.acked = true;
                }
                Outcome::Paused
            }
            SendPurpose::Ask => {
                if let Some(turn) = &mut self.case.turn {
                    turn.acked = true;
                }
                self.case.desk.asked_identity = true;
                Outcome::Asked
            }
            SendPurpose::Reply => {
                self.case.turn = None;
                self.case.desk.end_turn();
                Outcome::Sent
            }
        };
        if self.case.state == State::Send {
            let what = pending.draft.template.unwrap_or_else(|| "reply".into());
            self.goto(outcome, format!("{what} sent"))?;
        }
        Ok(())
    }

    /// The pending send again, under its original key (for a send whose
    /// intent was recorded but whose completion was not), as an approved
    /// template if the window has closed since.
    pub(in crate::core) fn resend(&self) -> Option<Outbound> {
        let template = self
            .case
            .pending_send
            .as_ref()
            .and_then(|p| self.window_template(&p.draft));
        reemit(&self.case, template)
    }

    /// Whether the 24-hour customer-service window is closed now.
    pub(in crate::core) fn window_closed(&self) -> bool {
        self.case
            .desk
            .last_inbound_at
            .is_some_and(|t| self.now().since(t) > SERVICE_WINDOW_MS)
    }

    /// The approved template `draft` goes out as when the window is closed;
    /// `None` when it is open (free-form is allowed) or there is none.
    fn window_template(&self, draft: &Draft) -> Option<WaTemplate> {
        if !self.window_closed() {
            return None;
        }
        let id = draft.template.as_deref()?;
        self.facts
            .templates
            .approved(id, self.case.language, &draft.text)
    }
}
