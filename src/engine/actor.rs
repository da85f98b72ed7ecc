//! One case's actor: loads the case from the store, advances the pure
//! machine, commits, and only then runs the effect that came out.
//!
//! The actor keeps nothing between signals but a counter: every signal
//! re-reads the case, so a restarted actor and a fresh one behave the same.

use std::sync::Arc;

use ractor::{Actor, ActorProcessingErr, ActorRef};

use super::Shared;
use super::supervisor::SupervisorMsg;
use crate::channels::SendError;
use crate::core::case::CaseRecord;
use crate::core::machine::admit::CaseEvent;
use crate::core::machine::{self, Effect, EffectError, Event, Facts, InboundFact, SEND_TOOL};
use crate::core::stages::execute::ToolCall;
use std::time::Duration;

use crate::core::desk::ToolRequest;
use crate::core::records::PAYMENT_STATUS_TOOL;
use crate::core::stages::send::Outbound;
use crate::core::types::{CaseId, State, Timestamp};
use crate::engine::breaker::BreakerOpen;
use crate::engine::{in_doubt, retry};
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

/// Advances the case as far as it goes now.
async fn drive(shared: &Shared, id: CaseId) -> Result<(), DriveError> {
    let mut carried: Option<(EffectOutcome, Event)> = None;
    for _ in 0..MAX_CONFLICTS {
        let Some(mut case) = shared.store.case(id)? else {
            return Ok(());
        };
        if case.is_closed() || case.quarantined.is_some() {
            return Ok(());
        }
        let Some(wf) = shared.workflows.get(&case.workflow) else {
            // Shown as stuck by the admin API; nothing can run it here.
            return Ok(());
        };
        let pending = case.pending_send.is_some() || case.desk.pending_tool.is_some();
        let (mut event, mut done) = match carried.take() {
            Some((outcome, event)) => (event, Some(outcome)),
            // A stuck case stays where it is until an operator retries it,
            // but its due timers still fire (the first-response SLA hands it
            // to a human even while the send is stuck).
            None if case.stuck.is_some() && pending && timer_due(shared, &case) => {
                (Event::Wake, None)
            }
            None if case.stuck.is_some() => return Ok(()),
            None if case.pending_send.is_some() || case.desk.pending_tool.is_some() => {
                (Event::ResumeEffect, None)
            }
            None => (Event::Wake, None),
        };
        loop {
            let inbound: Vec<InboundFact> = shared
                .store
                .inbound_after(id, case.inbound_cursor)?
                .into_iter()
                .map(|(seq, m)| InboundFact {
                    seq,
                    text: m.text,
                    sent_at: m.sent_at,
                })
                .collect();
            shared.inject_faults(&inbound);
            let degraded = shared.degraded.tool_at(shared.clock.now());
            let degraded_tool = degraded.as_ref().map(|(t, _)| t.clone());
            let facts = Facts {
                now: shared.clock.now(),
                inbound: &inbound,
                collect_window_ms: shared.settings.collect_window_ms,
                templates: &shared.templates,
                records: &*shared.store,
                policy: &shared.policy,
                degraded: degraded_tool.as_deref(),
            };
            let retry_event = event.clone();
            let advance = match machine::advance(&wf, &case, event, &facts) {
                Ok(a) => a,
                Err(e) => {
                    mark_stuck(shared, id, e.to_string()).await?;
                    return Ok(());
                }
            };
            let mut sends = Vec::new();
            let mut tools = Vec::new();
            for effect in &advance.effects {
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
            // A resumed effect already has its intent record: run it, write nothing new.
            let resumed = matches!(retry_event, Event::ResumeEffect);
            let unchanged =
                advance.case == case && advance.transitions.is_empty() && done.is_none();
            if !unchanged {
                let carry = done.clone().map(|d| (d, retry_event));
                let transitions_seen: Vec<(State, State)> =
                    advance.transitions.iter().map(|t| (t.from, t.to)).collect();
                let commit = Commit {
                    case: advance.case.clone(),
                    transitions: advance.transitions,
                    sends: if resumed { Vec::new() } else { sends },
                    tools: if resumed { Vec::new() } else { tools },
                    done: done.take(),
                };
                match shared.store.commit(commit).await? {
                    Committed::Written { rev } => {
                        observe(&case, &advance.case, &transitions_seen);
                        let before = case.waiting_on.clone();
                        case = CaseRecord {
                            rev,
                            ..advance.case
                        };
                        if case.waiting_on.is_human() && case.waiting_on != before {
                            notify_lane(shared, &case);
                        }
                    }
                    Committed::Conflict => {
                        carried = carry;
                        break;
                    }
                }
                let mut wake = case.next_deadline();
                if case.state == crate::core::types::State::Degraded
                    && let Some((_, Some(until))) = &degraded
                {
                    // The breaker's window ends: look again then.
                    wake = Some(wake.map_or(*until, |w| w.min(*until)));
                }
                shared.timers.set(id, wake);
            }
            if case.stuck.is_some() && done.is_none() && !resumed {
                // Timers only: a stuck case runs no effect until retried.
                return Ok(());
            }
            let Some(effect) = advance.effects.into_iter().next() else {
                return Ok(());
            };
            let (outcome, next) = match run_with_timers(shared, &wf, &mut case, effect).await? {
                Ran::Done(outcome, next) => (outcome, next),
                Ran::Paused(due) => {
                    let wake = case.next_deadline().map_or(due, |d| d.min(due));
                    shared.timers.set(id, Some(wake));
                    return Ok(());
                }
            };
            done = Some(outcome);
            event = next;
        }
    }
    Err(DriveError::Conflicts(id))
}

/// How running an effect ended.
enum Ran {
    Done(EffectOutcome, Event),
    /// The tool is unavailable (breaker open): the case pauses until then.
    Paused(crate::core::types::Timestamp),
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
        let inbound: Vec<InboundFact> = shared
            .store
            .inbound_after(id, case.inbound_cursor)?
            .into_iter()
            .map(|(seq, m)| InboundFact {
                seq,
                text: m.text,
                sent_at: m.sent_at,
            })
            .collect();
        let degraded = shared.degraded.tool_at(shared.clock.now());
        let facts = Facts {
            now: shared.clock.now(),
            inbound: &inbound,
            collect_window_ms: shared.settings.collect_window_ms,
            templates: &shared.templates,
            records: &*shared.store,
            policy: &shared.policy,
            degraded: degraded.as_ref().map(|(t, _)| t.as_str()),
        };
        let advance = match machine::advance(wf, case, Event::Wake, &facts) {
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
        let seen: Vec<(State, State)> =
            advance.transitions.iter().map(|t| (t.from, t.to)).collect();
        let commit = Commit {
            case: advance.case.clone(),
            transitions: advance.transitions,
            sends: Vec::new(),
            tools: Vec::new(),
            done: None,
        };
        if let Committed::Written { rev } = shared.store.commit(commit).await? {
            observe(case, &advance.case, &seen);
            let before = case.waiting_on.clone();
            *case = CaseRecord {
                rev,
                ..advance.case
            };
            if case.waiting_on.is_human() && case.waiting_on != before {
                notify_lane(shared, case);
            }
            shared.timers.set(id, case.next_deadline());
            tracing::info!(case = %id, "timer fired while an effect is in flight");
            return Ok(true);
        }
    }
    Err(DriveError::Conflicts(id))
}

/// Runs one effect and says how it ended, for the store and the machine.
async fn run_effect(shared: &Shared, id: CaseId, effect: Effect) -> Result<Ran, StoreError> {
    match effect {
        Effect::Send(out) => run_send(shared, id, &out).await,
        Effect::Tool(call) => run_tool(shared, id, &call).await,
    }
}

impl Ran {
    /// An effect that ended: its completion for the store and its event for
    /// the machine, built from the same result.
    fn finished(
        step: u32,
        attempts: u32,
        provider_id: Option<String>,
        result: Result<(), EffectError>,
    ) -> Ran {
        let outcome = EffectOutcome {
            step,
            attempts,
            provider_id,
            error: result.as_ref().err().cloned(),
        };
        Ran::Done(outcome, Event::EffectDone { step, result })
    }
}

/// A customer send, retried within its budget; paused while the channel's
/// breaker is open.
async fn run_send(shared: &Shared, id: CaseId, out: &Outbound) -> Result<Ran, StoreError> {
    let step = out.step();
    Ok(match send_with_retry(shared, id, out).await? {
        retry::Outcome::Done { value, attempts } => {
            Ran::finished(step, attempts, Some(value), Ok(()))
        }
        retry::Outcome::Failed { error, attempts } => {
            let failed = EffectError::SendFailed {
                reason: error,
                attempts,
            };
            Ran::finished(step, attempts, None, Err(failed))
        }
        retry::Outcome::Paused { error, until } => {
            tracing::info!(case = %id, %error, wait_ms = until.as_millis() as u64, "send paused");
            Ran::Paused(shared.clock.now().plus_millis(until.as_millis() as i64))
        }
    })
}

/// A write tool call or a payment status read. A tool that cannot be
/// reached ends the call as failed: the stages answer from what is stored.
async fn run_tool(shared: &Shared, id: CaseId, call: &ToolCall) -> Result<Ran, StoreError> {
    let step = call.step();
    let (attempts, result) = match call.request() {
        ToolRequest::Book(booking) => {
            let answer = shared.tools.book(call, booking, shared.clock.now()).await?;
            if shared.settings.abort_after_tool_call {
                tracing::error!(case = %id, "fault injection: aborting after the tool call");
                std::process::abort();
            }
            let receipt = answer.receipt();
            let refused = (!receipt.ok).then(|| EffectError::ToolRefused(receipt.detail.clone()));
            (1, refused.map_or(Ok(()), Err))
        }
        ToolRequest::PaymentStatus { order_id } => {
            let failed = |reason, attempts| EffectError::ToolFailed { reason, attempts };
            match payment_status_with_retry(shared, id, step, order_id).await? {
                retry::Outcome::Done { attempts, .. } => (attempts, Ok(())),
                retry::Outcome::Failed { error, attempts } => {
                    (attempts, Err(failed(error, attempts)))
                }
                // Breaker open: answer from what is stored (pending
                // verification) rather than hold the customer.
                retry::Outcome::Paused { error, .. } => (0, Err(failed(error, 0))),
            }
        }
    };
    Ok(Ran::finished(step, attempts, None, result))
}

/// Asks the payment provider for an order's state, through its breaker and
/// retry budget, and applies the answer like a notification.
async fn payment_status_with_retry(
    shared: &Shared,
    id: CaseId,
    step: u32,
    order_id: &str,
) -> Result<retry::Outcome<(), String>, StoreError> {
    let tool = PAYMENT_STATUS_TOOL;
    let Some(client) = &shared.payments else {
        return Ok(retry::Outcome::Failed {
            error: "no payment provider configured".into(),
            attempts: 0,
        });
    };
    let cfg = shared.tool_config(tool);
    let outcome = retry::run(
        retry::RetryPolicy::from(&cfg),
        Duration::ZERO,
        0,
        || guarded(shared, tool, || client.status(order_id, shared.clock.now())),
        |attempt, error| record_failure(shared, tool, id, step, attempt, error),
    )
    .await;
    Ok(match outcome {
        retry::Outcome::Done {
            value: Some((state, event, gross)),
            attempts,
        } => {
            shared
                .store
                .apply_payment(order_id.to_string(), gross, state, event)
                .await?;
            retry::Outcome::Done {
                value: (),
                attempts,
            }
        }
        retry::Outcome::Done {
            value: None,
            attempts,
        } => retry::Outcome::Done {
            value: (),
            attempts,
        },
        retry::Outcome::Failed { error, attempts } => retry::Outcome::Failed { error, attempts },
        retry::Outcome::Paused { error, until } => retry::Outcome::Paused { error, until },
    })
}

/// One send through the circuit breaker, retried with backoff within the
/// tool's budget counted from the effect's first attempt.
async fn send_with_retry(
    shared: &Shared,
    id: CaseId,
    out: &Outbound,
) -> Result<retry::Outcome<String, String>, StoreError> {
    let tool = SEND_TOOL;
    let cfg = shared.tool_config(tool);
    let step = out.step();
    let (spent_ms, before) = match shared.store.effect(id, step)? {
        Some(r) => (shared.clock.now().since(r.started_at).max(0), r.attempts),
        None => (0, 0),
    };
    let confirms = shared.sender.confirms_by_status();
    if confirms && let Some(wamid) = earlier_send_settled(shared, id, out).await? {
        return Ok(retry::Outcome::Done {
            value: wamid,
            attempts: before.max(1),
        });
    }
    // Paced once per message (not per attempt): the number's throughput and
    // the per-recipient interval.
    if let Some(pace) = &shared.pace {
        pace.until_ready(&out.to().address).await;
    }
    let outcome = retry::run(
        retry::RetryPolicy::from(&cfg),
        Duration::from_millis(spent_ms as u64),
        before,
        || {
            guarded(shared, tool, || async {
                if confirms {
                    // Marked before the request leaves, so a crash in
                    // flight leaves the send in doubt, not forgotten.
                    shared
                        .store
                        .mark_in_doubt(id, step, shared.clock.now(), "attempt in flight".into())
                        .await
                        .map_err(|e| retry::Failure::Transient {
                            error: e.to_string(),
                            retry_after: None,
                        })?;
                }
                match shared.sender.send(out).await {
                    Ok(wamid) => Ok(wamid),
                    Err(SendError::InDoubt(reason)) if confirms => {
                        settle_in_doubt(shared, id, out, reason).await
                    }
                    Err(e) => {
                        if confirms {
                            // The provider answered: nothing is in doubt.
                            let _ = shared.store.clear_in_doubt(id, step).await;
                        }
                        Err(retry::Failure::from(e))
                    }
                }
            })
        },
        |attempt, error| record_failure(shared, tool, id, step, attempt, error),
    )
    .await;
    Ok(outcome)
}

/// Whether a send that may already have been made (a status with its key
/// came, or an attempt was in flight when the process stopped) went out:
/// the message id if so; `None` when it is to be made (again).
async fn earlier_send_settled(
    shared: &Shared,
    id: CaseId,
    out: &Outbound,
) -> Result<Option<String>, StoreError> {
    if let Some(wamid) = shared.store.status_for_key(out.key())? {
        return Ok(Some(wamid));
    }
    let Some(mark) = shared.store.in_doubt(id, out.step())? else {
        return Ok(None);
    };
    match settle(shared, id, out, mark.reason).await? {
        in_doubt::Settled::Sent(wamid) => Ok(Some(wamid)),
        in_doubt::Settled::NotSent => Ok(None),
    }
}

async fn settle(
    shared: &Shared,
    id: CaseId,
    out: &Outbound,
    reason: String,
) -> Result<in_doubt::Settled, StoreError> {
    tracing::warn!(case = %id, key = %out.key(), %reason, "send in doubt: waiting for a status with its key before sending again");
    let send = in_doubt::InDoubtSend {
        case: id,
        step: out.step(),
        key: out.key(),
    };
    in_doubt::settle(
        &shared.store,
        &*shared.clock,
        &shared.in_doubt,
        send,
        shared.settings.in_doubt_window,
        reason,
    )
    .await
}

/// One attempt whose outcome is unknown: settled as sent when a status
/// with its key comes within the window, else a transient failure (the
/// retry makes it again under the same key).
async fn settle_in_doubt(
    shared: &Shared,
    id: CaseId,
    out: &Outbound,
    reason: String,
) -> Result<String, retry::Failure<String>> {
    match settle(shared, id, out, reason.clone()).await {
        Ok(in_doubt::Settled::Sent(wamid)) => Ok(wamid),
        Ok(in_doubt::Settled::NotSent) => Err(retry::Failure::Transient {
            error: format!("{reason}; no status with its key within the in-doubt window"),
            retry_after: None,
        }),
        Err(e) => Err(retry::Failure::Transient {
            error: e.to_string(),
            retry_after: None,
        }),
    }
}

/// Stores a failed attempt of an effect (so its count survives a restart)
/// and counts it as a retry.
async fn record_failure(
    shared: &Shared,
    tool: &'static str,
    id: CaseId,
    step: u32,
    attempt: u32,
    error: String,
) {
    metrics::counter!("caseflow_tool_retries_total", "tool" => tool).increment(1);
    if let Err(e) = shared.store.record_attempt(id, step, attempt, error).await {
        tracing::error!(case = %id, error = %e, "cannot record a failed attempt");
    }
}

/// One attempt at `tool` through its circuit breaker: refused at once while
/// the breaker is open (the retry loop then pauses instead of using its
/// budget), and its outcome counted by the breaker. A permanent failure
/// counts as the tool being up: it answered, the request was wrong.
pub(crate) async fn guarded<T, E, F, Fut>(
    shared: &Shared,
    tool: &str,
    attempt: F,
) -> Result<T, retry::Failure<E>>
where
    E: std::fmt::Display + From<BreakerOpen>,
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<T, retry::Failure<E>>>,
{
    match shared.breakers.check(tool, shared.clock.now()) {
        Err(wait) => {
            let open = BreakerOpen { tool: tool.into() };
            return Err(retry::Failure::Unavailable {
                error: open.into(),
                until: wait,
            });
        }
        Ok(Some(changed)) => persist_breaker(shared, changed).await,
        Ok(None) => {}
    }
    let result = attempt().await;
    let changed = match &result {
        Ok(_) | Err(retry::Failure::Permanent(_)) => {
            shared.breakers.success(tool, shared.clock.now())
        }
        Err(retry::Failure::Transient { error, .. }) => {
            shared
                .breakers
                .failure(tool, &error.to_string(), shared.clock.now())
        }
        Err(retry::Failure::Unavailable { .. }) => None,
    };
    if let Some(changed) = changed {
        persist_breaker(shared, changed).await;
    }
    result
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
            retry::Outcome::Done { .. } => {
                let event = CaseEvent::LanePosted {
                    wait_since: case.wait_since,
                };
                let marked = store.admit(case.id, event, None, clock.now()).await;
                if let Err(e) = marked {
                    tracing::warn!(case = %case.id, error = %e, "approval posted but not marked; it may be posted again at start");
                }
            }
            retry::Outcome::Failed { error, attempts } => {
                tracing::error!(case = %case.id, %error, attempts, "approval post failed; the case is still listed at /admin/cases");
            }
            retry::Outcome::Paused { error, .. } => {
                tracing::error!(case = %case.id, %error, "approval post paused; the case is still listed at /admin/cases");
            }
        }
    });
}

/// The tool name of the approval lanes' chat.
pub const TELEGRAM_TOOL: &str = "telegram";

/// Tools whose outage does not degrade answers: the customer channel itself
/// (cases pause on it directly) and the lanes' chat.
const NOT_DEGRADING: [&str; 2] = [SEND_TOOL, TELEGRAM_TOOL];

pub(crate) async fn persist_breaker(shared: &Shared, record: crate::core::records::BreakerRecord) {
    use crate::core::records::BreakerState;
    if !NOT_DEGRADING.contains(&record.tool.as_str()) {
        let on = match record.state {
            BreakerState::Open => Some(true),
            BreakerState::Closed => Some(false),
            BreakerState::HalfOpen => None,
        };
        if let Some(on) = on {
            let reason = format!("circuit breaker {}", record.state.as_str());
            let open_for = shared.tool_config(&record.tool).open_for;
            let until = on.then(|| record.changed_at.plus_millis(open_for.as_millis() as i64));
            if let Err(e) = crate::engine::set_degraded(
                shared,
                on,
                record.tool.clone(),
                reason,
                "breaker".into(),
                until,
            )
            .await
            {
                tracing::error!(error = %e, "cannot switch degraded mode");
            }
        }
    }
    if let Err(e) = shared.store.put_breaker(record).await {
        tracing::error!(error = %e, "cannot store a breaker state");
    }
}

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
