//! The case state machine as a pure function:
//! `advance(workflow, case, event, facts) -> (case', transitions, effects)`.
//!
//! No clock, store or network in here: `facts.now` is the time, inbound texts
//! arrive in `facts`, and side effects leave as [`Effect`] values that the
//! engine runs only after it has persisted the returned case. Every
//! transition is checked against the declared workflow; one it does not
//! declare is an error, never a silent move.

mod policy_stages;

use crate::core::case::{ArmedTimer, CaseRecord, SendPurpose, TransitionRecord, Turn};
use crate::core::language;
use crate::core::records::Records;
use crate::core::stages::Outcome;
use crate::core::stages::execute::{self, ToolCall};
use crate::core::stages::send::{self, Outbound};
use crate::core::types::{State, Timestamp, WaitingOn};
use crate::policy::Policy;
use crate::templates::{TemplateError, Templates};
use crate::workflow::Workflow;

/// The tool through which customer messages leave.
pub const SEND_TOOL: &str = "whatsapp";

/// An inbound message not yet taken into a turn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundFact {
    pub seq: u64,
    pub text: String,
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
        result: Result<(), String>,
    },
    /// The pending effect's intent is recorded but not its completion:
    /// run it again under the same key.
    ResumeEffect,
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
    Records(String),
}

const MAX_STEPS: usize = 32;

/// A turn keeps collecting for at most this many collect windows after its
/// first message.
const MAX_COLLECT_WINDOWS: i64 = 8;

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
        run.absorb_inbound()?;
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

/// What one stage decided.
enum Step {
    Go(Outcome, String),
    Wait(WaitingOn),
    Emit(Effect),
}

struct Run<'a> {
    wf: &'a Workflow,
    facts: &'a Facts<'a>,
    case: CaseRecord,
    transitions: Vec<TransitionRecord>,
    effects: Vec<Effect>,
    /// Set when a grown turn is tiered again: the tier it had, below which
    /// the new decision may not go.
    retier_floor: Option<Option<crate::core::types::Tier>>,
}

impl Run<'_> {
    fn now(&self) -> Timestamp {
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

    /// Collects the turn for the collect window after its latest message,
    /// but no longer than [`MAX_COLLECT_WINDOWS`] windows after the turn
    /// opened at `opened_at`, so a customer who keeps typing is still
    /// answered.
    fn collect_from(&mut self, opened_at: Timestamp) {
        let window = self.facts.collect_window_ms;
        let until = self
            .now()
            .plus_millis(window)
            .min(opened_at.plus_millis(window * MAX_COLLECT_WINDOWS));
        self.case.collect_until = Some(until);
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
                if let Some(out) = send::reemit(&self.case) {
                    self.effects.push(Effect::Send(out));
                } else if let Some(call) = execute::recall(&self.case) {
                    self.effects.push(Effect::Tool(call));
                }
                Ok(())
            }
            Event::EffectDone { step, result } => self.effect_done(step, result),
        }
    }

    fn effect_done(&mut self, step: u32, result: Result<(), String>) -> Result<(), MachineError> {
        if self
            .case
            .desk
            .pending_tool
            .as_ref()
            .is_some_and(|p| p.step == step)
        {
            return self.tool_done(result);
        }
        let Some(pending) = self.case.pending_send.clone().filter(|p| p.step == step) else {
            return Ok(());
        };
        if let Err(error) = result {
            self.case.stuck = Some(format!("send of step {step} failed: {error}"));
            return Ok(());
        }
        self.case.pending_send = None;
        self.case.stuck = None;
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

    /// Fires at most one due timer: the transition it makes re-arms the rest.
    /// Timers wait while an effect is in flight, so a send is never abandoned.
    fn fire_due_timers(&mut self) {
        let now = self.now();
        if self.case.collect_until.is_some_and(|t| t <= now) {
            self.case.collect_until = None;
            if self.case.waiting_on == WaitingOn::Timer {
                self.case.waiting_on = WaitingOn::None;
            }
        }
        if self.case.pending_send.is_some()
            || self.case.desk.pending_tool.is_some()
            || !self.effects.is_empty()
        {
            return;
        }
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
        if def.until_outbound {
            self.case.add_tag(&format!("sla_breach:{}", def.name));
        }
        let target = def.target;
        self.enter(target, format!("timer {} fired", armed.name));
    }

    fn run_stages(&mut self) -> Result<(), MachineError> {
        if self.case.state == State::Degraded
            && let WaitingOn::Tool(tool) = &self.case.waiting_on
            && self.facts.degraded != Some(tool.as_str())
        {
            self.case.waiting_on = WaitingOn::None;
        }
        for _ in 0..MAX_STEPS {
            if self.case.waiting_on != WaitingOn::None
                || !self.effects.is_empty()
                || self.case.is_closed()
            {
                return Ok(());
            }
            let step = match self.case.state {
                State::Intake => self.intake(),
                State::Tier => self.tier()?,
                State::Verify => self.verify()?,
                State::Execute => self.execute()?,
                State::Qa => self.qa()?,
                State::Send => self.send()?,
                State::Close => Step::Wait(WaitingOn::Customer),
                State::Degraded => self.degraded(),
                State::Closed => return Ok(()),
            };
            match step {
                Step::Go(outcome, reason) => self.goto(outcome, reason)?,
                Step::Wait(on) => self.wait(on)?,
                Step::Emit(effect) => {
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

    fn intake(&self) -> Step {
        if self.case.collect_until.is_some_and(|t| t > self.now()) {
            return Step::Wait(WaitingOn::Timer);
        }
        let n = self.case.turn.as_ref().map_or(0, |t| t.messages);
        Step::Go(Outcome::Ready, format!("turn of {n} message(s) collected"))
    }

    fn send(&mut self) -> Result<Step, MachineError> {
        if self.case.pending_send.is_some() {
            return Ok(Step::Wait(WaitingOn::Tool(SEND_TOOL.into())));
        }
        let out = send::emit(&mut self.case).ok_or(MachineError::NothingToSend)?;
        Ok(Step::Emit(Effect::Send(out)))
    }

    fn goto(&mut self, outcome: Outcome, reason: String) -> Result<(), MachineError> {
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
                && !(def.until_outbound && self.case.first_response_at.is_some());
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

    fn disarm_until_outbound(&mut self) {
        let wf = self.wf;
        self.case
            .timers
            .retain(|t| !wf.timer(&t.name).is_some_and(|d| d.until_outbound));
    }
}

#[cfg(test)]
mod tests;
