//! The case supervisor: one actor per active case, restarted OTP-style.
//!
//! Signals for a case go through here; a case without an actor gets one.
//! A case actor that panics (or fails) is restarted from its persisted state
//! up to `restart_budget` times within `restart_window`; past that the case
//! is quarantined (stuck, with the reason) and no other case notices.
//! An actor that reports idle with nothing undelivered is stopped: waiting
//! cases cost no actor, only their timer entry.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ractor::{Actor, ActorId, ActorProcessingErr, ActorRef, RpcReplyPort, SupervisionEvent};

use super::Shared;
use super::actor::{CaseActor, CaseArgs, CaseMsg};
use crate::core::types::CaseId;

pub enum SupervisorMsg {
    /// Look at the case again (new message, timer, resume).
    Deliver(CaseId),
    /// The case's actor finished everything it was sent so far.
    Idle {
        case: CaseId,
        actor: ActorId,
        handled: u64,
    },
    /// An operator asked to re-run the case: its restart budget starts over.
    Retry(CaseId),
    /// Stop taking signals; answer once no case actor is running.
    Drain(RpcReplyPort<()>),
    Stats(RpcReplyPort<SupervisorStats>),
}

#[derive(Debug, Clone, Copy, Default)]
pub struct SupervisorStats {
    pub active: usize,
    pub restarts: u64,
    pub quarantined: u64,
}

pub struct CaseSupervisor;

struct Child {
    actor: ActorRef<CaseMsg>,
    sent: u64,
}

pub struct SupervisorState {
    shared: Arc<Shared>,
    children: HashMap<CaseId, Child>,
    by_actor: HashMap<ActorId, CaseId>,
    failures: HashMap<CaseId, VecDeque<Instant>>,
    draining: bool,
    drain_waiters: Vec<RpcReplyPort<()>>,
    stats: SupervisorStats,
}

impl Actor for CaseSupervisor {
    type Msg = SupervisorMsg;
    type State = SupervisorState;
    type Arguments = Arc<Shared>;

    async fn pre_start(
        &self,
        _myself: ActorRef<Self::Msg>,
        shared: Arc<Shared>,
    ) -> Result<Self::State, ActorProcessingErr> {
        Ok(SupervisorState {
            shared,
            children: HashMap::new(),
            by_actor: HashMap::new(),
            failures: HashMap::new(),
            draining: false,
            drain_waiters: Vec::new(),
            stats: SupervisorStats::default(),
        })
    }

    async fn handle(
        &self,
        myself: ActorRef<Self::Msg>,
        msg: Self::Msg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            SupervisorMsg::Deliver(case) => deliver(&myself, state, case).await,
            SupervisorMsg::Idle {
                case,
                actor,
                handled,
            } => {
                let idle = state
                    .children
                    .get(&case)
                    .is_some_and(|c| c.actor.get_id() == actor && c.sent == handled);
                if idle && let Some(child) = state.children.remove(&case) {
                    state.by_actor.remove(&actor);
                    child.actor.stop(None);
                    forget_old_failures(state, case);
                    answer_drain_waiters(state);
                }
            }
            SupervisorMsg::Retry(case) => {
                state.failures.remove(&case);
                deliver(&myself, state, case).await;
            }
            SupervisorMsg::Drain(reply) => {
                state.draining = true;
                state.drain_waiters.push(reply);
                answer_drain_waiters(state);
            }
            SupervisorMsg::Stats(reply) => {
                state.stats.active = state.children.len();
                let _ = reply.send(state.stats);
            }
        }
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        myself: ActorRef<Self::Msg>,
        event: SupervisionEvent,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        match event {
            SupervisionEvent::ActorFailed(cell, error) => {
                if let Some(case) = forget_actor(state, cell.get_id()) {
                    on_failure(&myself, state, case, error.to_string());
                }
            }
            SupervisionEvent::ActorTerminated(cell, _, _) => {
                forget_actor(state, cell.get_id());
            }
            _ => {}
        }
        answer_drain_waiters(state);
        Ok(())
    }
}

async fn deliver(myself: &ActorRef<SupervisorMsg>, state: &mut SupervisorState, case: CaseId) {
    if state.draining {
        // The case is durable; it resumes at the next start.
        return;
    }
    if let Some(child) = state.children.get_mut(&case) {
        if child.actor.cast(CaseMsg::Signal).is_ok() {
            child.sent += 1;
            return;
        }
        // The actor is stopping: forget it and start a new one below.
        let id = child.actor.get_id();
        state.children.remove(&case);
        state.by_actor.remove(&id);
    }
    let args = CaseArgs {
        id: case,
        shared: state.shared.clone(),
        supervisor: myself.clone(),
    };
    match Actor::spawn_linked(None, CaseActor, args, myself.get_cell()).await {
        Ok((actor, _)) => {
            let sent = u64::from(actor.cast(CaseMsg::Signal).is_ok());
            state.by_actor.insert(actor.get_id(), case);
            state.children.insert(case, Child { actor, sent });
        }
        Err(e) => {
            tracing::warn!(%case, error = %e, "case actor did not start; retrying shortly");
            ractor::time::send_after(Duration::from_millis(100), myself.get_cell(), move || {
                SupervisorMsg::Deliver(case)
            });
        }
    }
}

fn forget_actor(state: &mut SupervisorState, actor: ActorId) -> Option<CaseId> {
    let case = state.by_actor.remove(&actor)?;
    if state
        .children
        .get(&case)
        .is_some_and(|c| c.actor.get_id() == actor)
    {
        state.children.remove(&case);
    }
    Some(case)
}

fn on_failure(
    myself: &ActorRef<SupervisorMsg>,
    state: &mut SupervisorState,
    case: CaseId,
    error: String,
) {
    let settings = &state.shared.settings;
    let now = Instant::now();
    let failures = state.failures.entry(case).or_default();
    failures.push_back(now);
    while failures
        .front()
        .is_some_and(|t| now.duration_since(*t) > settings.restart_window)
    {
        failures.pop_front();
    }
    if failures.len() as u32 <= settings.restart_budget {
        state.stats.restarts += 1;
        metrics::counter!("caseflow_actor_restarts_total").increment(1);
        tracing::warn!(%case, %error, restart = failures.len(), "case actor failed; restarting from the store");
        let _ = myself.cast(SupervisorMsg::Deliver(case));
        return;
    }
    let reason = format!(
        "actor failed {} times within {}s; last failure: {error}",
        failures.len(),
        settings.restart_window.as_secs()
    );
    state.failures.remove(&case);
    state.stats.quarantined += 1;
    metrics::counter!("caseflow_quarantines_total").increment(1);
    tracing::error!(%case, %reason, "case quarantined");
    let store = state.shared.store.clone();
    let now = state.shared.clock.now();
    tokio::spawn(async move {
        let event = crate::core::machine::admit::CaseEvent::Quarantine { reason };
        match store.admit(case, event, None, now).await {
            Ok(Ok(_)) => {}
            Ok(Err(refusal)) => tracing::warn!(%case, %refusal, "quarantine not recorded"),
            Err(e) => tracing::error!(%case, error = %e, "could not record the quarantine"),
        }
    });
}

fn forget_old_failures(state: &mut SupervisorState, case: CaseId) {
    let window = state.shared.settings.restart_window;
    if state
        .failures
        .get(&case)
        .and_then(|f| f.back())
        .is_some_and(|t| t.elapsed() > window)
    {
        state.failures.remove(&case);
    }
}

fn answer_drain_waiters(state: &mut SupervisorState) {
    if state.draining && state.children.is_empty() {
        for waiter in state.drain_waiters.drain(..) {
            let _ = waiter.send(());
        }
    }
}
