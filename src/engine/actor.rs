//! One case's actor: loads the case from the store, advances the pure
//! machine, commits, and only then runs the effect that came out.
//!
//! The actor keeps nothing between signals but a counter: every signal
//! re-reads the case, so a restarted actor and a fresh one behave the same.

use std::sync::Arc;

use ractor::{Actor, ActorProcessingErr, ActorRef};

use super::supervisor::SupervisorMsg;
use super::{Shared, clock};
use crate::core::case::CaseRecord;
use crate::core::machine::{self, Effect, Event, Facts, InboundFact, SEND_TOOL};
use crate::core::records::BOOK_TOOL;
use crate::core::types::CaseId;
use crate::store::{Commit, Committed, EffectOutcome, SendIntent, StoreError, ToolIntent};

/// Reloads allowed when the case was written by someone else meanwhile.
const MAX_CONFLICTS: usize = 16;

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
        drive(&state.args.shared, state.args.id).await?;
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
        let (mut event, mut done) = match carried.take() {
            Some((outcome, event)) => (event, Some(outcome)),
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
                .map(|(seq, m)| InboundFact { seq, text: m.text })
                .collect();
            shared.inject_faults(&inbound);
            let facts = Facts {
                now: clock::now(),
                inbound: &inbound,
                collect_window_ms: shared.settings.collect_window_ms,
                templates: &shared.templates,
                records: &*shared.store,
                policy: &shared.policy,
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
                        tool: BOOK_TOOL.into(),
                    }),
                }
            }
            // A resumed effect already has its intent record: run it, write nothing new.
            let resumed = matches!(retry_event, Event::ResumeEffect);
            let unchanged =
                advance.case == case && advance.transitions.is_empty() && done.is_none();
            if !unchanged {
                let carry = done.clone().map(|d| (d, retry_event));
                let commit = Commit {
                    case: advance.case.clone(),
                    transitions: advance.transitions,
                    sends: if resumed { Vec::new() } else { sends },
                    tools: if resumed { Vec::new() } else { tools },
                    done: done.take(),
                };
                match shared.store.commit(commit).await? {
                    Committed::Written { rev } => {
                        case = CaseRecord {
                            rev,
                            ..advance.case
                        };
                    }
                    Committed::Conflict => {
                        carried = carry;
                        break;
                    }
                }
                shared.timers.set(id, case.next_deadline());
            }
            let Some(effect) = advance.effects.into_iter().next() else {
                return Ok(());
            };
            let (outcome, next) = run_effect(shared, effect).await?;
            done = Some(outcome);
            event = next;
        }
    }
    Err(DriveError::Conflicts(id))
}

/// Runs one effect and says how it ended, for the store and the machine.
async fn run_effect(shared: &Shared, effect: Effect) -> Result<(EffectOutcome, Event), StoreError> {
    match effect {
        Effect::Send(out) => {
            let result = shared.sender.send(&out).await;
            let outcome = EffectOutcome {
                step: out.step(),
                provider_id: result.as_ref().ok().cloned(),
                error: result.as_ref().err().map(|e| e.to_string()),
            };
            let event = Event::EffectDone {
                step: out.step(),
                result: result.map(|_| ()).map_err(|e| e.to_string()),
            };
            Ok((outcome, event))
        }
        Effect::Tool(call) => {
            let answer = shared.tools.book(&call).await?;
            let receipt = answer.receipt();
            let outcome = EffectOutcome {
                step: call.step(),
                provider_id: None,
                error: (!receipt.ok).then(|| receipt.detail.clone()),
            };
            let event = Event::EffectDone {
                step: call.step(),
                result: if receipt.ok {
                    Ok(())
                } else {
                    Err(receipt.detail.clone())
                },
            };
            Ok((outcome, event))
        }
    }
}

async fn mark_stuck(shared: &Shared, id: CaseId, reason: String) -> Result<(), StoreError> {
    tracing::warn!(case = %id, %reason, "case stuck");
    shared
        .store
        .update_case(id, move |c| c.stuck = Some(reason))
        .await
        .map(|_| ())
}
