//! The stages of a case, one per declared state, and the outcomes each can
//! produce. The workflow file maps outcomes to next states; the stage logic
//! (in [`crate::core::machine`]) decides which outcome applies.
//!
//! Only [`send`] can build an [`send::Outbound`], the one value the engine's
//! customer sender accepts: no other stage can reach a customer.

pub mod execute;
pub mod qa;
pub mod send;

use serde::{Deserialize, Serialize};

use crate::core::types::{State, WaitKind};

/// What a stage decided. The workflow maps it to the next state.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::EnumString,
)]
#[strum(serialize_all = "snake_case")]
pub enum Outcome {
    /// intake: the turn is collected.
    Ready,
    /// tier: the answer depends on the student's records.
    Account,
    /// tier: the answer does not depend on the student's records.
    General,
    /// verify: identity established (or not needed).
    Verified,
    /// verify: identity could not be established.
    Unverified,
    /// verify: the customer is asked for invoice number and email.
    Ask,
    /// execute: actions finished.
    Done,
    /// qa: a checked reply goes out.
    Reply,
    /// qa: acknowledge while a human decides.
    Acknowledge,
    /// qa: an approved action runs.
    Act,
    /// qa: nothing to send.
    Drop,
    /// send: the reply went out.
    Sent,
    /// send: the acknowledgement went out.
    Acknowledged,
    /// send: the verify question went out.
    Asked,
    /// send: a "pending verification" notice went out; the case pauses.
    Paused,
    /// degraded: the tools are back.
    Recovered,
    /// close: the customer wrote again.
    Reopen,
    /// qa or degraded: the customer wrote while the turn waited on a human
    /// (or a paused tool); the grown turn is tiered again (CONTRACT
    /// section 2, "Turns").
    Retier,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(s: &str) -> Option<Outcome> {
        s.parse().ok()
    }
}

/// The outcomes the stage of `state` can produce; a workflow must map each.
pub fn outcomes_of(state: State) -> &'static [Outcome] {
    match state {
        State::Intake => &[Outcome::Ready],
        State::Tier => &[Outcome::Account, Outcome::General],
        State::Verify => &[Outcome::Verified, Outcome::Unverified, Outcome::Ask],
        State::Execute => &[Outcome::Done],
        State::Qa => &[
            Outcome::Reply,
            Outcome::Acknowledge,
            Outcome::Act,
            Outcome::Drop,
        ],
        State::Send => &[
            Outcome::Sent,
            Outcome::Acknowledged,
            Outcome::Asked,
            Outcome::Paused,
        ],
        State::Degraded => &[Outcome::Recovered],
        State::Close => &[Outcome::Reopen],
        State::Closed => &[],
    }
}

/// Outcomes the stage of `state` produces only when the workflow maps them:
/// a workflow written before they existed stays valid, and its cases keep
/// the older behaviour.
pub fn optional_outcomes_of(state: State) -> &'static [Outcome] {
    match state {
        State::Qa | State::Degraded => &[Outcome::Retier],
        _ => &[],
    }
}

/// The waits the engine uses in `state`; a workflow must declare each.
pub fn engine_waits(state: State) -> &'static [WaitKind] {
    match state {
        State::Intake => &[WaitKind::Timer],
        State::Verify => &[WaitKind::Customer],
        State::Execute | State::Send | State::Degraded => &[WaitKind::Tool],
        State::Qa => &[WaitKind::Operator, WaitKind::Coach],
        State::Close => &[WaitKind::Customer],
        State::Tier | State::Closed => &[],
    }
}
