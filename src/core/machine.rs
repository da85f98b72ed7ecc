//! The case state machine as a pure function:
//! `advance(workflow, case, event, facts) -> (case', transitions, effects)`.
//!
//! No clock, store or network in here: `facts.now` is the time, inbound texts
//! arrive in `facts`, and side effects leave as [`Effect`] values that the
//! engine runs only after it has persisted the returned case. Every
//! transition is checked against the declared workflow; one it does not
//! declare is an error, never a silent move.
//!
//! This module runs the stages (each in its own module under
//! [`crate::core::stages`]), takes the customer's messages into turns,
//! fires due timers and routes an effect's completion to its stage;
//! [`admit`] takes the changes that come from outside a run.

pub mod admit;

use crate::core::case::{ArmedTimer, CaseRecord, TransitionRecord, Turn};
use crate::core::language;
use crate::core::records::{Records, RecordsError};
use crate::core::stages::Outcome;
use crate::core::stages::execute::{self, ToolCall};
use crate::core::stages::send::Outbound;
use crate::core::types::{State, Timestamp, WaitingOn};
use crate::policy::Policy;
use crate::templates::{TemplateError, Templates};
use crate::workflow::Workflow;

pub use crate::core::stages::send::SEND_TOOL;

/// An inbound message not yet taken into a turn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundFact {
    pub seq: u64,
    pub text: String,
    /// When the customer sent it, as the provider timestamps it.
    pub sent_at: Option<Timestamp>,
}

/// What the engine knows when it advances a case.
pub struct Facts<'a> {
    pub now: Timestamp,
    pub inbound: &'a [InboundFact],
    pub collect_window_ms: i64,
    pub templates: &'a Templates,
    pub records: &'a dyn Records,
    pub policy: &'a Policy,
    /// The tool that is unavailable (breaker open, or declared by an
    /// operator); account answers and actions pause while it is set.
    pub degraded: Option<&'a str>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Something may have changed: new messages, a due timer, a restart.
    Wake,
    /// The effect of step `step` finished.
    EffectDone {
        step: u32,
        result: Result<(), EffectError>,
    },
    /// The pending effect's intent is recorded but not its completion:
    /// run it again under the same key.
    ResumeEffect,
}

/// How an effect failed, as the engine tells the machine
/// ([`Event::EffectDone`]) and the store records it (the effect's
/// `last_error`, as its text).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EffectError {
    /// A send that failed for good (the provider refused it) or ran out of
    /// its retry budget; `reason` is the last attempt's error.
    #[error("{reason} (after {attempts} attempt(s))")]
    SendFailed { reason: String, attempts: u32 },
    /// A write tool answered that it did not do it: its receipt's detail
    /// (a slot taken meanwhile).
    #[error("{0}")]
    ToolRefused(String),
    /// A tool call that failed, ran out of its budget, or was not tried
    /// because its breaker is open.
    #[error("{reason}")]
    ToolFailed { reason: String, attempts: u32 },
}

/// A side effect for the engine to run after persisting the case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    Send(Outbound),
    /// A write tool call, from the execute stage.
    Tool(ToolCall),
}

#[derive(Debug)]
pub struct Advance {
    pub case: CaseRecord,
    pub transitions: Vec<TransitionRecord>,
    pub effects: Vec<Effect>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum MachineError {
    #[error("workflow {workflow}: state '{state}' has no transition for outcome '{outcome}'")]
    UndeclaredTransition {
        workflow: String,
        state: &'static str,
        outcome: &'static str,
    },
    #[error("workflow {workflow}: state '{state}' does not declare the wait '{wait}'")]
    UndeclaredWait {
        workflow: String,
        state: &'static str,
        wait: String,
    },
    #[error("state 'send' has nothing to send")]
    NothingToSend,
    #[error("template: {0}")]
    Template(#[from] TemplateError),
    #[error("no wait reached after {0} steps")]
    Runaway(usize),
    #[error("records: {0}")]
    Records(#[from] RecordsError),
}

const MAX_STEPS: usize = 32;

/// Advances `case` by `event` until it waits, emits an effect, or closes.
pub fn advance(
    wf: &Workflow,
    case: &CaseRecord,
    event: Event,
    facts: &Facts<'_>,
) -> Result<Advance, MachineError> {
    let mut run = Run {
        wf,
        facts,
        case: case.clone(),
        transitions: Vec::new(),
        effects: Vec::new(),
        retier_floor: None,
    };
    if !run.case.is_closed() {
        run.sync_timers();
        let (cursor, last_customer) = (run.case.inbound_cursor, run.case.desk.last_inbound_at);
        run.absorb_inbound()?;
        run.note_customer_time(cursor, last_customer);
        run.apply(event)?;
        run.fire_due_timers();
        run.run_stages()?;
        // Messages that arrived while an effect ran join once the case can
        // take them again.
        while run.absorb_inbound()? {
            run.run_stages()?;
        }
    }
    if run.case != *case {
        run.case.updated_at = facts.now;
    }
    Ok(Advance {
        case: run.case,
        transitions: run.transitions,
        effects: run.effects,
    })
}

/// What one stage decided comes next: move on by an outcome (with the
/// reason the transition records), wait, or emit an effect and wait for it.
pub(in crate::core) enum Next {
    Go(Outcome, String),
    Wait(WaitingOn),
    Emit(Effect),
}

/// One run of [`advance`]: the case as it changes, and what the run has
/// produced so far. The stages (`crate::core::stages`) are steps of it.
pub(in crate::core) struct Run<'a> {
    pub(in crate::core) wf: &'a Workflow,
    pub(in crate::core) facts: &'a Facts<'a>,
    pub(in crate::core) case: CaseRecord,
    pub(in crate::core) transitions: Vec<TransitionRecord>,
    pub(in crate::core) effects: Vec<Effect>,
    /// Set when a grown turn is tiered again: the tier it had, below which
    /// the new decision may not go.
    pub(in crate::core) retier_floor: Option<Option<crate::core::types::Tier>>,
}

impl Run<'_> {
    pub(in crate::core) fn now(&self) -> Timestamp {
        self.facts.now
    }

    /// Takes the case's unread messages into its turn, when the case can
    /// take them: while it collects (intake), waits on the customer, on a
    /// human, or on a paused tool, or rests closed. While a stage's effect is
    /// in flight, messages stay unread and join when the effect has ended,
    /// so no message is folded into a turn that is already being answered.
    /// Says whether it took any.
    fn absorb_inbound(&mut self) -> Result<bool, MachineError> {
        if !self.takes_inbound() {
            return Ok(false);
        }
        let fresh: Vec<&InboundFact> = self
            .facts
            .inbound
            .iter()
            .filter(|m| m.seq > self.case.inbound_cursor)
            .collect();
        let Some(last) = fresh.last() else {
            return Ok(false);
        };
        self.case.inbound_cursor = last.seq;
        self.case.desk.last_inbound_at = Some(self.facts.now);
        let joined: String = fresh
            .iter()
            .map(|m| m.text.as_str())
            .collect::<Vec<_>>()
            .join("\n");
        let count = fresh.len() as u32;
        if self.case.state == State::Close {
            self.case.desk.end_turn();
            self.case.desk.push_text(&joined);
            self.case.language = language::detect(&joined, self.case.language);
            self.case.turn = Some(self.new_turn(count));
            self.collect_from(self.now());
            self.goto(
                Outcome::Reopen,
                format!("customer wrote again ({count} message(s))"),
            )?;
            return Ok(true);
        }
        self.case.desk.push_text(&joined);
        let Some(turn) = &mut self.case.turn else {
            // The case's first message opens its first turn, collected for
            // the window like any other.
            self.case.turn = Some(self.new_turn(count));
            self.case.language = language::detect(&joined, self.case.language);
            self.collect_from(self.now());
            return Ok(true);
        };
        turn.messages += count;
        let opened_at = turn.opened_at;
        match (self.case.state, &self.case.waiting_on) {
            (State::Intake, _) => self.collect_from(opened_at),
            (State::Verify, WaitingOn::Customer) => self.case.waiting_on = WaitingOn::None,
            (State::Qa | State::Degraded, _)
                if self.wf.next(self.case.state, Outcome::Retier).is_some() =>
            {
                self.retier_floor = Some(self.case.tier);
                let waited = self.case.waiting_on.label();
                self.goto(
                    Outcome::Retier,
                    format!("customer wrote while waiting on {waited}: the turn is tiered again"),
                )?;
            }
            _ => {}
        }
        Ok(true)
    }

    /// Whether unread messages can join the case now (see
    /// [`Run::absorb_inbound`]).
    fn takes_inbound(&self) -> bool {
        matches!(
            (self.case.state, &self.case.waiting_on),
            (State::Intake | State::Close, _)
                | (State::Verify, WaitingOn::Customer)
                | (State::Qa, WaitingOn::Operator | WaitingOn::Coach)
                | (State::Degraded, WaitingOn::Tool(_))
        )
    }

    /// The 24-hour customer-service window runs from the customer's last
    /// message as the provider timestamped it, not from when it arrived
    /// (CONTRACT section 2, WhatsApp rules).
    fn note_customer_time(&mut self, cursor_before: u64, before: Option<Timestamp>) {
        let cursor = self.case.inbound_cursor;
        let latest = self
            .facts
            .inbound
            .iter()
            .filter(|m| m.seq > cursor_before && m.seq <= cursor)
            .map(|m| m.sent_at.unwrap_or(self.facts.now).min(self.facts.now))
            .max();
        if let Some(at) = latest {
            self.case.desk.last_inbound_at = Some(before.map_or(at, |b| b.max(at)));
        }
    }

    fn new_turn(&self, messages: u32) -> Turn {
        Turn {
            opened_at: self.now(),
            messages,
            acked: false,
        }
    }

    fn apply(&mut self, event: Event) -> Result<(), MachineError> {
        match event {
            Event::Wake => Ok(()),
            Event::ResumeEffect => {
                if let Some(out) = self.resend() {
                    self.effects.push(Effect::Send(out));
                } else if let Some(call) = execute::recall(&self.case) {
                    self.effects.push(Effect::Tool(call));
                }
                Ok(())
            }
            Event::EffectDone { step, result } => self.effect_done(step, result),
        }
    }

    /// The effect of `step` finished: the execute stage's tool call or the
    /// send stage's message.
    fn effect_done(
        &mut self,
        step: u32,
        result: Result<(), EffectError>,
    ) -> Result<(), MachineError> {
        if self
            .case
            .desk
            .tool_in_flight()
            .is_some_and(|p| p.step == step)
        {
            return self.tool_done(result);
        }
        self.send_done(step, result)
    }

    /// Fires at most one due timer: the transition it makes re-arms the rest.
    /// A timer fires in every state it is armed in, also while an effect is
    /// in flight or retrying (CONTRACT section 2, "Timers always fire"): the
    /// effect goes on, and when its target has a human lane the case waits
    /// there, so no second message is drafted while the first is pending.
    fn fire_due_timers(&mut self) {
        let now = self.now();
        if self.case.collect_until.is_some_and(|t| t <= now) {
            self.case.collect_until = None;
            if self.case.waiting_on == WaitingOn::Timer {
                self.case.waiting_on = WaitingOn::None;
            }
        }
        if !self.effects.is_empty() {
            // An effect re-emitted by this step runs first; the timer fires
            // on the next look, while it is in flight.
            return;
        }
        let in_flight =
            self.case.pending_send.is_some() || self.case.desk.tool_in_flight().is_some();
        let due = self
            .case
            .timers
            .iter()
            .filter(|t| t.due <= now)
            .min_by_key(|t| t.due)
            .cloned();
        let Some(armed) = due else { return };
        self.case.timers.retain(|t| t.name != armed.name);
        let Some(def) = self.wf.timer(&armed.name) else {
            return;
        };
        if def.is_sla() {
            self.case.add_tag(&format!("{SLA_BREACH}{}", def.name));
        }
        let target = def.target;
        self.enter(target, format!("timer {} fired", armed.name));
        if in_flight {
            let lane = match self.lane() {
                crate::core::case::Lane::Operator => WaitingOn::Operator,
                crate::core::case::Lane::Coach => WaitingOn::Coach,
            };
            if lane.kind().is_some_and(|k| self.wf.may_wait(target, k)) {
                self.case.waiting_on = lane;
            }
        }
    }

    fn run_stages(&mut self) -> Result<(), MachineError> {
        self.release_degraded_wait();
        for _ in 0..MAX_STEPS {
            if self.case.waiting_on != WaitingOn::None
                || !self.effects.is_empty()
                || self.case.is_closed()
            {
                return Ok(());
            }
            let next = match self.case.state {
                State::Intake => self.intake(),
                State::Tier => self.tier()?,
                State::Verify => self.verify()?,
                State::Execute => self.execute()?,
                State::Qa => self.qa()?,
                State::Send => self.send()?,
                State::Close => Next::Wait(WaitingOn::Customer),
                State::Degraded => self.degraded(),
                State::Closed => return Ok(()),
            };
            match next {
                Next::Go(outcome, reason) => self.goto(outcome, reason)?,
                Next::Wait(on) => self.wait(on)?,
                Next::Emit(effect) => {
                    let tool = match &effect {
                        Effect::Send(_) => SEND_TOOL,
                        Effect::Tool(call) => call.request().tool(),
                    };
                    self.effects.push(effect);
                    self.wait(WaitingOn::Tool(tool.into()))?;
                }
            }
        }
        Err(MachineError::Runaway(MAX_STEPS))
    }

    pub(in crate::core) fn goto(
        &mut self,
        outcome: Outcome,
        reason: String,
    ) -> Result<(), MachineError> {
        let from = self.case.state;
        let to = self
            .wf
            .next(from, outcome)
            .ok_or_else(|| MachineError::UndeclaredTransition {
                workflow: self.wf.reference().to_string(),
                state: from.as_str(),
                outcome: outcome.as_str(),
            })?;
        self.enter(to, reason);
        Ok(())
    }

    fn enter(&mut self, to: State, reason: String) {
        let now = self.now();
        self.transitions.push(TransitionRecord {
            from: self.case.state,
            to,
            at: now,
            reason,
        });
        self.case.state = to;
        self.case.waiting_on = WaitingOn::None;
        self.case.wait_since = now;
        if to == State::Closed {
            self.case.closed_at = Some(now);
            self.case.timers.clear();
            self.case.collect_until = None;
        }
        self.sync_timers();
    }

    fn wait(&mut self, on: WaitingOn) -> Result<(), MachineError> {
        let kind = on.kind().expect("a wait has a kind");
        if !self.wf.may_wait(self.case.state, kind) {
            return Err(MachineError::UndeclaredWait {
                workflow: self.wf.reference().to_string(),
                state: self.case.state.as_str(),
                wait: kind.as_str().to_string(),
            });
        }
        if self.case.waiting_on != on {
            self.case.waiting_on = on;
            self.case.wait_since = self.now();
        }
        Ok(())
    }

    /// Arms the declared timers of the current state and disarms the others.
    fn sync_timers(&mut self) {
        let (state, now) = (self.case.state, self.now());
        for def in self.wf.timers() {
            let armed = self.case.timers.iter().any(|t| t.name == def.name);
            let wanted = def.armed_in.contains(&state)
                && !(def.until_outbound && self.case.first_response_at.is_some())
                // An SLA is breached once: the transition its timer makes
                // (often into a state it is armed in) does not arm it again.
                && !(def.is_sla() && breached(&self.case.tags, &def.name))
                && def
                    .intent
                    .is_none_or(|i| self.case.desk.intents.contains(&i));
            if wanted && !armed {
                self.case.timers.push(ArmedTimer {
                    name: def.name.clone(),
                    due: now.plus_millis(def.after_ms),
                });
            } else if !wanted && armed {
                self.case.timers.retain(|t| t.name != def.name);
            }
        }
    }

    pub(in crate::core) fn disarm_until_outbound(&mut self) {
        let wf = self.wf;
        self.case
            .timers
            .retain(|t| !wf.timer(&t.name).is_some_and(|d| d.until_outbound));
    }
}

/// The tag an SLA timer leaves when it fires: `sla_breach:<timer>`.
const SLA_BREACH: &str = "sla_breach:";

/// Whether `tags` record a breach of the SLA timer `name`.
fn breached(tags: &[String], name: &str) -> bool {
    tags.iter()
        .any(|t| t.strip_prefix(SLA_BREACH) == Some(name))
}

#[cfg(test)]
mod tests;
