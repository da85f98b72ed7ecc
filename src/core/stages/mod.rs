//! The stages of a case, one module per declared state: each holds the
//! stage's step (what the machine runs in that state), its checks and its
//! capability, so following one stage means reading one module.
//!
//! | state | module | what it decides |
//! |---|---|---|
//! | `intake` | [`intake`] | the turn is collected (collect window) |
//! | `tier` | [`tier`] | intents, a published article, the tier table (`crate::policy::tier`, `config/tiers.toml`) |
//! | `verify` | [`verify`] | identity: registered number, or invoice and email (`crate::policy::identity`) |
//! | `execute` | [`execute`] | records read, replies drafted, tools called through a [`execute::ToolCall`] (booking idempotency, the reschedule rules) |
//! | `qa` | [`qa`] | a human's decision applied, the pre-send checklist ([`qa::check`]), auto-send or the lane |
//! | `send` | [`send`] | the [`send::Outbound`] built, the 24-hour window |
//! | `degraded` | [`degraded`] | waiting while a tool is unavailable |
//! | `close` | (in [`crate::core::machine`]) | waits for the customer; a new message reopens |
//!
//! The workflow file maps each stage's [`Outcome`] to the next state;
//! [`crate::core::machine`] runs the stages, keeps the timers and checks
//! every transition against the workflow. Only [`send`] can build an
//! [`send::Outbound`], the one value the engine's customer sender accepts,
//! and only [`execute`] a [`execute::ToolCall`], the one value the tools
//! accept: no other stage can reach a customer or write.

pub mod degraded;
pub mod execute;
pub mod intake;
pub mod qa;
pub mod send;
pub mod tier;
pub mod verify;
pub mod wording;

use serde::{Deserialize, Serialize};

use crate::core::machine::{MachineError, Run};
use crate::core::records::Student;
use crate::core::types::{Identity, State, WaitKind};

/// Most slots offered at once.
pub const MAX_OFFER: usize = 3;

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

/// What the stages share: the verified student's record and the
/// reschedule policy as of now.
impl Run<'_> {
    pub(in crate::core) fn student_record(&self) -> Result<Option<Student>, MachineError> {
        match &self.case.desk.student {
            Some(id) => self.facts.records.student(id).map_err(MachineError::from),
            None => Ok(None),
        }
    }

    pub(in crate::core) fn verified(&self) -> bool {
        matches!(
            self.case.identity,
            Identity::WaMatch | Identity::InvoiceEmail
        )
    }

    /// The turn also asks something its account intents do not cover
    /// (tag `also-asks:<intent>`), or its intent was read below even odds
    /// (tag `tentative:<intent>`), both set by the tier stage: its
    /// automatic answers wait on a person.
    pub(in crate::core) fn held_for_person(&self) -> bool {
        self.case
            .tags
            .iter()
            .any(|t| t.starts_with(tier::ASIDE_TAG) || t.starts_with(tier::TENTATIVE_TAG))
    }

    /// The reschedule policy (quota and cutoff) for moving the session of
    /// `student` that starts at `session`, as of now.
    pub(in crate::core) fn reschedule_policy(
        &self,
        student: &Student,
        session: crate::core::types::Timestamp,
    ) -> crate::policy::reschedule::Check {
        let p = self.facts.policy;
        crate::policy::reschedule::check(
            &student.reschedule_history,
            session,
            self.now(),
            p.timezone,
            p.reschedule_quota_per_month,
            p.cutoff,
        )
    }
}
