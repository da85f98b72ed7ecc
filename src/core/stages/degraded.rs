//! degraded: the case waits while a tool its answer needs is unavailable
//! (breaker open, or declared by an operator), after the execute stage told
//! the customer "pending verification" with a follow-up window. When the
//! tool is back the paused task resumes by itself (CONTRACT section 2,
//! "Degraded mode"); a customer who writes meanwhile has the grown turn
//! tiered again.

use crate::core::machine::{Next, Run};
use crate::core::stages::Outcome;
use crate::core::types::{State, WaitingOn};

impl Run<'_> {
    /// Waits while degraded; resumes the paused task when the tool is back.
    pub(in crate::core) fn degraded(&self) -> Next {
        match self.facts.degraded {
            Some(tool) => Next::Wait(WaitingOn::Tool(tool.to_string())),
            None => Next::Go(
                Outcome::Recovered,
                "the tool is back: the paused action resumes".into(),
            ),
        }
    }

    /// Ends the wait on a paused tool that is no longer unavailable, so the
    /// stage runs and resumes the task.
    pub(in crate::core) fn release_degraded_wait(&mut self) {
        if self.case.state == State::Degraded
            && let WaitingOn::Tool(tool) = &self.case.waiting_on
            && self.facts.degraded != Some(tool.as_str())
        {
            self.case.waiting_on = WaitingOn::None;
        }
    }
}
