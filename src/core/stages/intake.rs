//! intake: the messages a customer sends within the collect window of each
//! other form one turn, from the case's first message on ("hi" followed by
//! the request is one turn; CONTRACT section 2, "Turns"). The stage waits on
//! the timer until the window has passed, then hands the turn to tier.
//! Which messages join a turn, and when, is the machine's
//! (`Run::absorb_inbound` in [`crate::core::machine`]).

use crate::core::machine::{Next, Run};
use crate::core::stages::Outcome;
use crate::core::types::{Timestamp, WaitingOn};

/// A turn keeps collecting for at most this many collect windows after its
/// first message.
pub(in crate::core) const MAX_COLLECT_WINDOWS: i64 = 8;

impl Run<'_> {
    pub(in crate::core) fn intake(&self) -> Next {
        if self.case.collect_until.is_some_and(|t| t > self.now()) {
            return Next::Wait(WaitingOn::Timer);
        }
        let n = self.case.turn.as_ref().map_or(0, |t| t.messages);
        Next::Go(Outcome::Ready, format!("turn of {n} message(s) collected"))
    }

    /// Collects the turn for the collect window after its latest message,
    /// but no longer than [`MAX_COLLECT_WINDOWS`] windows after the turn
    /// opened at `opened_at`, so a customer who keeps typing is still
    /// answered.
    pub(in crate::core) fn collect_from(&mut self, opened_at: Timestamp) {
        let window = self.facts.collect_window_ms;
        let until = self
            .now()
            .plus_millis(window)
            .min(opened_at.plus_millis(window * MAX_COLLECT_WINDOWS));
        self.case.collect_until = Some(until);
    }
}
