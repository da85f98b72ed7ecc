//! Running a case's effects once their intent is committed: a customer
//! send (paced, through the channel's breaker and the retry module, a send
//! in doubt settled by a status with its key before it is made again) or a
//! tool call (the local booking, the payment provider's status read). Each
//! ends as an [`EffectOutcome`] for the store and an [`Event::EffectDone`]
//! for the machine, built in one place ([`Ran::finished`]).
//!
//! Breakers gate every attempt here ([`guarded`]); a breaker that opens or
//! closes on a records tool switches degraded mode ([`persist_breaker`]).

use std::time::Duration;

use super::Shared;
use super::actor::TELEGRAM_TOOL;
use crate::channels::SendError;
use crate::core::desk::ToolRequest;
use crate::core::machine::{Effect, EffectError, Event, SEND_TOOL};
use crate::core::records::PAYMENT_STATUS_TOOL;
use crate::core::stages::execute::ToolCall;
use crate::core::stages::send::Outbound;
use crate::core::types::CaseId;
use crate::engine::breaker::BreakerOpen;
use crate::engine::{in_doubt, retry};
use crate::store::{EffectOutcome, StoreError};

/// How running an effect ended.
pub(super) enum Ran {
    Done(EffectOutcome, Event),
    /// The tool is unavailable (breaker open): the case pauses until then.
    Paused(crate::core::types::Timestamp),
}

/// Runs one effect and says how it ended, for the store and the machine.
pub(super) async fn run_effect(
    shared: &Shared,
    id: CaseId,
    effect: Effect,
) -> Result<Ran, StoreError> {
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
        retry::Attempts::Done { value, attempts } => {
            Ran::finished(step, attempts, Some(value), Ok(()))
        }
        retry::Attempts::Failed { error, attempts } => {
            let failed = EffectError::SendFailed {
                reason: error,
                attempts,
            };
            Ran::finished(step, attempts, None, Err(failed))
        }
        retry::Attempts::Paused { error, until } => {
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
                retry::Attempts::Done { attempts, .. } => (attempts, Ok(())),
                retry::Attempts::Failed { error, attempts } => {
                    (attempts, Err(failed(error, attempts)))
                }
                // Breaker open: answer from what is stored (pending
                // verification) rather than hold the customer.
                retry::Attempts::Paused { error, .. } => (0, Err(failed(error, 0))),
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
) -> Result<retry::Attempts<(), String>, StoreError> {
    let tool = PAYMENT_STATUS_TOOL;
    let Some(client) = &shared.payments else {
        return Ok(retry::Attempts::Failed {
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
        retry::Attempts::Done {
            value: Some((state, event, gross)),
            attempts,
        } => {
            shared
                .store
                .apply_payment(order_id.to_string(), gross, state, event)
                .await?;
            retry::Attempts::Done {
                value: (),
                attempts,
            }
        }
        retry::Attempts::Done {
            value: None,
            attempts,
        } => retry::Attempts::Done {
            value: (),
            attempts,
        },
        retry::Attempts::Failed { error, attempts } => retry::Attempts::Failed { error, attempts },
        retry::Attempts::Paused { error, until } => retry::Attempts::Paused { error, until },
    })
}

/// One send through the circuit breaker, retried with backoff within the
/// tool's budget counted from the effect's first attempt.
async fn send_with_retry(
    shared: &Shared,
    id: CaseId,
    out: &Outbound,
) -> Result<retry::Attempts<String, String>, StoreError> {
    let tool = SEND_TOOL;
    let cfg = shared.tool_config(tool);
    let step = out.step();
    let (spent_ms, before) = match shared.store.effect(id, step)? {
        Some(r) => (shared.clock.now().since(r.started_at).max(0), r.attempts),
        None => (0, 0),
    };
    let confirms = shared.sender.confirms_by_status();
    if confirms && let Some(wamid) = earlier_send_settled(shared, id, out).await? {
        return Ok(retry::Attempts::Done {
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
