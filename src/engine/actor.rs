//! One case's actor: loads the case from the store, advances the pure
//! machine, commits, and only then runs the effect that came out
//! (`effects.rs`), whose outcome is the next step's event.
//!
//! The actor keeps nothing between signals but a counter: every signal
//! re-reads the case, so a restarted actor and a fresh one behave the same.

use std::sync::Arc;
use std::time::Duration;

use ractor::{Actor, ActorProcessingErr, ActorRef};

use super::Shared;
use super::effects::{Ran, run_effect};
use super::supervisor::SupervisorMsg;
use crate::core::case::CaseRecord;
use crate::core::machine::admit::CaseEvent;
use crate::core::machine::{self, Effect, Event, Facts, InboundFact, SEND_TOOL};
use crate::core::types::{CaseId, State, Timestamp};
use crate::engine::retry;
use crate::store::{Commit, Committed, EffectOutcome, SendIntent, StoreError, ToolIntent};

/// Reloads allowed when the case was written by someone else meanwhile.
const MAX_CONFLICTS: usize = 16;
/// When a case looks again after the store refused a write.
const STORE_RETRY_MS: i64 = 2_000;

pub enum CaseMsg {
    /// Look at the case: something may have changed.
    Signal,
}

pub struct CaseActor;

pub struct CaseArgs {
    pub id: CaseId,
    pub shared: Arc<Shared>,
    pub supervisor: ActorRef<SupervisorMsg>,
}

pub struct CaseActorState {
    args: CaseArgs,
    handled: u64,
}

impl Actor for CaseActor {
    type Msg = CaseMsg;
    type State = CaseActorState;
    type Arguments = CaseArgs;

    async fn pre_start(
        &self,
        _myself: ActorRef<Self::Msg>,
        args: CaseArgs,
    ) -> Result<Self::State, ActorProcessingErr> {
        Ok(CaseActorState { args, handled: 0 })
    }

    async fn handle(
        &self,
        myself: ActorRef<Self::Msg>,
        CaseMsg::Signal: CaseMsg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        let (shared, id) = (&state.args.shared, state.args.id);
        match drive(shared, id).await {
            Ok(()) => {}
            // The store does not take writes now: nothing of this step was
            // kept. Not the case's fault, so no restart is counted; look
            // again shortly (the timer survives the store's recovery).
            Err(DriveError::Store(e)) if e.is_unavailable() => {
                tracing::warn!(case = %id, error = %e, "case waits for the store to take writes");
                shared
                    .timers
                    .set(id, Some(shared.clock.now().plus_millis(STORE_RETRY_MS)));
            }
            // Quarantined by recovery and shown by the admin API.
            Err(DriveError::Store(e @ StoreError::UnreadableCase { .. })) => {
                tracing::error!(case = %id, error = %e, "case record cannot be read; the case is left alone");
            }
            Err(e) => return Err(e.into()),
        }
        state.handled += 1;
        let _ = state.args.supervisor.cast(SupervisorMsg::Idle {
            case: state.args.id,
            actor: myself.get_id(),
            handled: state.handled,
        });
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DriveError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("case {0} kept changing under its actor")]
    Conflicts(CaseId),
}

/// An effect's outcome and the event it becomes, kept across a reload when
/// the commit that was to record it lost a race.
type Carried = Option<(EffectOutcome, Event)>;

/// Advances the case as far as it goes now.
async fn drive(shared: &Shared, id: CaseId) -> Result<(), DriveError> {
    let mut carried: Carried = None;
    for _ in 0..MAX_CONFLICTS {
        let Some((case, wf)) = runnable(shared, id)? else {
            return Ok(());
        };
        let (event, done) = match carried.take() {
            Some((outcome, event)) => (event, Some(outcome)),
            None => match first_event(shared, &case) {
                Some(event) => (event, None),
                None => return Ok(()),
            },
        };
        match run_steps(shared, &wf, case, event, done).await? {
            Steps::Finished => return Ok(()),
            Steps::Reload(carry) => carried = carry,
        }
    }
    Err(DriveError::Conflicts(id))
}

/// The case and its workflow, when there is something the actor may run:
/// not for a closed or quarantined case, nor one whose workflow this
/// binary does not know (the admin API shows it as stuck).
fn runnable(
    shared: &Shared,
    id: CaseId,
) -> Result<Option<(CaseRecord, Arc<crate::workflow::Workflow>)>, StoreError> {
    let Some(case) = shared.store.case(id)? else {
        return Ok(None);
    };
    if case.is_closed() || case.quarantined.is_some() {
        return Ok(None);
    }
    Ok(shared.workflows.get(&case.workflow).map(|wf| (case, wf)))
}

/// What a fresh look at the case starts with: re-running an effect whose
/// intent is recorded but not its completion, or a wake. A stuck case
/// stays where it is until an operator retries it, but its due timers
/// still fire (the first-response SLA hands it to a human even while the
/// send is stuck).
fn first_event(shared: &Shared, case: &CaseRecord) -> Option<Event> {
    let pending = case.pending_send.is_some() || case.desk.tool_in_flight().is_some();
    match (case.stuck.is_some(), pending) {
        (true, true) if timer_due(shared, case) => Some(Event::Wake),
        (true, _) => None,
        (false, true) => Some(Event::ResumeEffect),
        (false, false) => Some(Event::Wake),
    }
}

/// How a run of steps ended.
enum Steps {
    /// The case waits, closed, is stuck, or paused on a tool.
    Finished,
    /// Someone else wrote the case: reload it and go on with what is
    /// carried.
    Reload(Carried),
}

/// Advances, commits and runs effects until the case waits: each step's
/// effect outcome is the next step's event.
async fn run_steps(
    shared: &Shared,
    wf: &crate::workflow::Workflow,
    mut case: CaseRecord,
    mut event: Event,
    mut done: Option<EffectOutcome>,
) -> Result<Steps, DriveError> {
    let id = case.id;
    loop {
        let inbound = inbound_facts(shared, &case)?;
        shared.inject_faults(&inbound);
        let degraded = shared.degraded.tool_at(shared.clock.now());
        let tool = degraded.as_ref().map(|(t, _)| t.as_str());
        let resumed = matches!(event, Event::ResumeEffect);
        let advance = match advance_now(shared, wf, &case, event.clone(), &inbound, tool) {
            Ok(a) => a,
            Err(e) => {
                mark_stuck(shared, id, e.to_string()).await?;
                return Ok(Steps::Finished);
            }
        };
        let unchanged = advance.case == case && advance.transitions.is_empty() && done.is_none();
        if !unchanged {
            let carry = done.clone().map(|d| (d, event.clone()));
            // A resumed effect already has its intent record: write no new one.
            let (sends, tools) = if resumed {
                (Vec::new(), Vec::new())
            } else {
                intents(&advance.effects)
            };
            let commit = Commit {
                case: advance.case.clone(),
                transitions: advance.transitions,
                sends,
                tools,
                done: done.take(),
            };
            if !commit_step(shared, &mut case, commit).await? {
                return Ok(Steps::Reload(carry));
            }
            shared.timers.set(id, next_wake(&case, &degraded));
        }
        if case.stuck.is_some() && !resumed {
            // Timers only: a stuck case runs no effect until retried.
            return Ok(Steps::Finished);
        }
        let Some(effect) = advance.effects.into_iter().next() else {
            return Ok(Steps::Finished);
        };
        match run_with_timers(shared, wf, &mut case, effect).await? {
            Ran::Done(outcome, next) => {
                done = Some(outcome);
                event = next;
            }
            Ran::Paused(due) => {
                let wake = case.next_deadline().map_or(due, |d| d.min(due));
                shared.timers.set(id, Some(wake));
                return Ok(Steps::Finished);
            }
        }
    }
}

/// The case's messages not yet read into a turn.
fn inbound_facts(shared: &Shared, case: &CaseRecord) -> Result<Vec<InboundFact>, StoreError> {
    Ok(shared
        .store
        .inbound_after(case.id, case.inbound_cursor)?
        .into_iter()
        .map(|(seq, m)| InboundFact {
            seq,
            text: m.text,
            sent_at: m.sent_at,
        })
        .collect())
}

/// The pure machine on `case` with what is known now.
fn advance_now(
    shared: &Shared,
    wf: &crate::workflow::Workflow,
    case: &CaseRecord,
    event: Event,
    inbound: &[InboundFact],
    degraded: Option<&str>,
) -> Result<machine::Advance, machine::MachineError> {
    let facts = Facts {
        now: shared.clock.now(),
        inbound,
        collect_window_ms: shared.settings.collect_window_ms,
        templates: &shared.templates,
        records: &*shared.store,
        policy: &shared.policy,
        degraded,
    };
    machine::advance(wf, case, event, &facts)
}

/// The intent records of the effects about to run.
fn intents(effects: &[Effect]) -> (Vec<SendIntent>, Vec<ToolIntent>) {
    let mut sends = Vec::new();
    let mut tools = Vec::new();
    for effect in effects {
        match effect {
            Effect::Send(out) => sends.push(SendIntent {
                step: out.step(),
                key: out.key().clone(),
                tool: SEND_TOOL.into(),
                template: out.template().map(str::to_string),
                text: out.text().to_string(),
            }),
            Effect::Tool(call) => tools.push(ToolIntent {
                step: call.step(),
                key: call.key().clone(),
                tool: call.request().tool().into(),
            }),
        }
    }
    (sends, tools)
}

/// Commits one step. Once written, `case` is the committed case with its
/// new rev, the step is counted in the metrics, and a case that now waits
/// on a human is posted to the lane. `false`: someone else wrote the case.
async fn commit_step(
    shared: &Shared,
    case: &mut CaseRecord,
    commit: Commit,
) -> Result<bool, StoreError> {
    let seen: Vec<(State, State)> = commit.transitions.iter().map(|t| (t.from, t.to)).collect();
    let next = commit.case.clone();
    let Committed::Written { rev } = shared.store.commit(commit).await? else {
        return Ok(false);
    };
    observe(case, &next, &seen);
    let before = case.waiting_on.clone();
    *case = CaseRecord { rev, ..next };
    if case.waiting_on.is_human() && case.waiting_on != before {
        notify_lane(shared, case);
    }
    Ok(true)
}

/// When the case is to be looked at again: its next deadline, or sooner
/// the end of a breaker's window for a case paused in degraded mode.
fn next_wake(
    case: &CaseRecord,
    degraded: &Option<(String, Option<Timestamp>)>,
) -> Option<Timestamp> {
    let wake = case.next_deadline();
    match degraded {
        Some((_, Some(until))) if case.state == State::Degraded => {
            Some(wake.map_or(*until, |w| w.min(*until)))
        }
        _ => wake,
    }
}

/// Whether one of the case's timers is due now.
fn timer_due(shared: &Shared, case: &CaseRecord) -> bool {
    let now = shared.clock.now();
    case.timers.iter().any(|t| t.due <= now)
}

/// Runs an effect while the case's timers keep firing: a timer that falls
/// due while a send or a tool call is in flight (or retrying) is fired
/// through the machine and committed at once, and the effect goes on.
async fn run_with_timers(
    shared: &Shared,
    wf: &crate::workflow::Workflow,
    case: &mut CaseRecord,
    effect: Effect,
) -> Result<Ran, DriveError> {
    let id = case.id;
    let run = run_effect(shared, id, effect);
    tokio::pin!(run);
    let mut firing = true;
    loop {
        let next = case.timers.iter().map(|t| t.due).min().filter(|_| firing);
        // Evaluated even when disabled (no timer): never polled then.
        let due = next.unwrap_or(Timestamp(i64::MAX));
        tokio::select! {
            ran = &mut run => return Ok(ran?),
            _ = shared.clock.sleep_until(due), if next.is_some() => {
                firing = fire_in_flight(shared, wf, case).await?;
            }
        }
    }
}

/// Fires the case's due timers while its effect is in flight. Returns
/// whether to keep watching the timers (false when firing made no progress).
async fn fire_in_flight(
    shared: &Shared,
    wf: &crate::workflow::Workflow,
    case: &mut CaseRecord,
) -> Result<bool, DriveError> {
    let id = case.id;
    for _ in 0..MAX_CONFLICTS {
        let Some(fresh) = shared.store.case(id)? else {
            return Ok(false);
        };
        *case = fresh;
        if case.is_closed() || !timer_due(shared, case) {
            return Ok(true);
        }
        let inbound = inbound_facts(shared, case)?;
        let degraded = shared.degraded.tool_at(shared.clock.now());
        let tool = degraded.as_ref().map(|(t, _)| t.as_str());
        let advance = match advance_now(shared, wf, case, Event::Wake, &inbound, tool) {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(case = %id, error = %e, "a timer could not fire while an effect is in flight");
                return Ok(false);
            }
        };
        if !advance.effects.is_empty() || advance.transitions.is_empty() {
            // Nothing to commit without running a second effect: the timer
            // fires once the effect in flight has finished.
            return Ok(false);
        }
        let commit = Commit {
            case: advance.case,
            transitions: advance.transitions,
            sends: Vec::new(),
            tools: Vec::new(),
            done: None,
        };
        if commit_step(shared, case, commit).await? {
            shared.timers.set(id, case.next_deadline());
            tracing::info!(case = %id, "timer fired while an effect is in flight");
            return Ok(true);
        }
    }
    Err(DriveError::Conflicts(id))
}

/// Records what a committed step means for the metrics: transitions, the
/// first response, a resolved turn, SLA breaches.
fn observe(before: &CaseRecord, after: &CaseRecord, transitions: &[(State, State)]) {
    for (from, to) in transitions {
        metrics::counter!("caseflow_transitions_total", "from" => from.as_str(), "to" => to.as_str())
            .increment(1);
    }
    let tier = after.tier.map_or("none", |t| t.as_str());
    if before.first_response_at.is_none()
        && let Some(at) = after.first_response_at
    {
        let secs = at.since(after.opened_at).max(0) as f64 / 1000.0;
        metrics::histogram!("caseflow_first_response_seconds", "tier" => tier).record(secs);
    }
    let resolved = transitions
        .iter()
        .any(|(from, to)| *from == State::Send && *to == State::Close);
    if resolved && let Some(turn) = &before.turn {
        let secs = after.updated_at.since(turn.opened_at).max(0) as f64 / 1000.0;
        metrics::histogram!("caseflow_resolution_seconds", "tier" => tier).record(secs);
    }
    for tag in &after.tags {
        if let Some(timer) = tag.strip_prefix("sla_breach:")
            && !before.tags.contains(tag)
        {
            metrics::counter!("caseflow_sla_breaches_total", "timer" => timer.to_string())
                .increment(1);
        }
    }
}

/// Posts a case that now waits on a human to the lane's chat, retried
/// with backoff in the background; the case does not wait for it.
///
/// Once posted, the case records for which wait it was posted, so a post
/// lost to a crash is made again at start (at least once per wait).
pub(crate) fn notify_lane(shared: &Shared, case: &CaseRecord) {
    let Some(notifier) = shared.approvals.clone() else {
        return;
    };
    let store = shared.store.clone();
    let clock = shared.clock.clone();
    let lane = match case.waiting_on {
        crate::core::types::WaitingOn::Coach => crate::core::case::Lane::Coach,
        _ => crate::core::case::Lane::Operator,
    };
    let policy = retry::RetryPolicy::from(&shared.tool_config(TELEGRAM_TOOL));
    let case = case.clone();
    tokio::spawn(async move {
        let out = retry::run(
            policy,
            Duration::ZERO,
            0,
            || async {
                notifier.post_approval(&case, lane).await.map_err(|error| {
                    retry::Failure::Transient {
                        error,
                        retry_after: None,
                    }
                })
            },
            |_, _| async {},
        )
        .await;
        match out {
            retry::Attempts::Done { .. } => {
                let event = CaseEvent::LanePosted {
                    wait_since: case.wait_since,
                };
                let marked = store.admit(case.id, event, None, clock.now()).await;
                if let Err(e) = marked {
                    tracing::warn!(case = %case.id, error = %e, "approval posted but not marked; it may be posted again at start");
                }
            }
            retry::Attempts::Failed { error, attempts } => {
                tracing::error!(case = %case.id, %error, attempts, "approval post failed; the case is still listed at /admin/cases");
            }
            retry::Attempts::Paused { error, .. } => {
                tracing::error!(case = %case.id, %error, "approval post paused; the case is still listed at /admin/cases");
            }
        }
    });
}

/// The tool name of the approval lanes' chat.
pub const TELEGRAM_TOOL: &str = "telegram";

async fn mark_stuck(shared: &Shared, id: CaseId, reason: String) -> Result<(), StoreError> {
    tracing::warn!(case = %id, %reason, "case stuck");
    if let Err(refusal) = shared
        .store
        .admit(id, CaseEvent::Stuck { reason }, None, shared.clock.now())
        .await?
    {
        tracing::warn!(case = %id, %refusal, "stuck mark not recorded");
    }
    Ok(())
}
