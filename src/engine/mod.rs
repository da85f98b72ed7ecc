//! The engine: case actors under a supervisor, durable timers, recovery at
//! start, and the operations the HTTP layer calls (ingest, retry, drain).
//!
//! The engine owns the only [`CustomerSender`]; it hands it to nothing but
//! the send effect of a case actor.

pub mod actor;
pub mod breaker;
pub mod clock;
pub mod degraded;
pub mod effects;
pub mod in_doubt;
pub mod limits;
pub mod notion;
pub mod recovery;
pub mod retention;
pub mod retry;
pub mod supervisor;
pub mod timers;
pub mod tools;
pub mod workflows;

use std::sync::Arc;
use std::time::Duration;

use ractor::{Actor, ActorRef};

use crate::channels::CustomerSender;
use crate::channels::telegram::TelegramNotifier;
use crate::config::ToolConfig;
use crate::core::case::{CaseRecord, InboundMessage};
use crate::core::desk::DecisionKind;
use crate::core::machine::InboundFact;
use crate::core::machine::admit::CaseEvent;
use crate::core::types::{CaseId, CustomerKey, Mode};
use crate::policy::Policy;
use crate::store::decisions::Refusal;
use crate::store::{Ingest, Ingested, Store, StoreError};
use crate::templates::Templates;
use supervisor::{CaseSupervisor, SupervisorMsg, SupervisorStats};
use timers::TimerHandle;
use workflows::Workflows;

/// Engine settings, from config.
#[derive(Debug, Clone)]
pub struct Settings {
    pub mode: Mode,
    pub collect_window_ms: i64,
    pub stuck_after_ms: i64,
    pub restart_budget: u32,
    pub restart_window: Duration,
    /// Chaos drill: inbound text containing this makes the case's actor panic.
    pub panic_on_text: Option<String>,
    /// Chaos drill: abort the process right after a write tool call.
    pub abort_after_tool_call: bool,
    /// How long a send in doubt waits for a status carrying its key before
    /// it may be made again.
    pub in_doubt_window: Duration,
}

/// What every case actor shares.
pub struct Shared {
    pub store: Arc<Store>,
    pub workflows: Workflows,
    pub templates: Templates,
    pub settings: Settings,
    pub timers: TimerHandle,
    pub sender: Arc<dyn CustomerSender>,
    pub tools: tools::WriteTools,
    pub policy: Policy,
    pub breakers: breaker::Breakers,
    pub tool_configs: std::collections::BTreeMap<String, ToolConfig>,
    /// Posts cases waiting on a human to the lanes' chats, when configured.
    pub approvals: Option<Arc<TelegramNotifier>>,
    pub degraded: degraded::Degraded,
    pub pace: Option<limits::OutboundLimiter>,
    /// The payment provider's status API, when configured.
    pub payments: Option<tools::MidtransClient>,
    /// Cases waiting to hear whether a send in doubt was made.
    pub in_doubt: in_doubt::Waiters,
    /// Where the engine reads the time and waits for due times.
    pub clock: clock::SharedClock,
}

impl Shared {
    /// The call settings of `tool` (defaults when not configured).
    pub fn tool_config(&self, tool: &str) -> ToolConfig {
        self.tool_configs.get(tool).copied().unwrap_or_default()
    }

    fn inject_faults(&self, inbound: &[InboundFact]) {
        if let Some(marker) = self.settings.panic_on_text.as_deref()
            && inbound.iter().any(|m| m.text.contains(marker))
        {
            panic!("fault injection: inbound text carries the panic marker");
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot start the case supervisor: {0}")]
    Supervisor(String),
    #[error("case {0} not found")]
    NoCase(CaseId),
    #[error("case {0} is closed")]
    Closed(CaseId),
}

pub struct Engine {
    shared: Arc<Shared>,
    supervisor: ActorRef<SupervisorMsg>,
    inbound: limits::InboundLimiter,
}

/// The parts the engine is built from.
pub struct Parts {
    pub store: Arc<Store>,
    pub workflows: Workflows,
    pub templates: Templates,
    pub settings: Settings,
    pub sender: Arc<dyn CustomerSender>,
    pub policy: Policy,
    pub tool_configs: std::collections::BTreeMap<String, ToolConfig>,
    pub approvals: Option<Arc<TelegramNotifier>>,
    pub limits: limits::LimitsConfig,
    /// Outbound pacing, for a real provider (not for record-only sends).
    pub pace: Option<limits::OutboundLimiter>,
    pub payments: Option<tools::MidtransClient>,
    /// The time source: [`clock::SystemClock`] in production.
    pub clock: clock::SharedClock,
}

impl Engine {
    /// Starts the supervisor and timers, then resumes every open case.
    pub async fn start(parts: Parts) -> Result<(Engine, recovery::Report), EngineError> {
        let (timer_handle, timer_task) = timers::channel();
        let breakers = breaker::Breakers::new(
            parts
                .tool_configs
                .iter()
                .map(|(k, v)| (k.clone(), breaker::BreakerConfig::from(v)))
                .collect(),
            parts.store.breakers()?,
        );
        let now = parts.clock.now();
        breakers.register(crate::core::machine::SEND_TOOL, now);
        breakers.register(crate::core::records::BOOK_TOOL, now);
        if parts.payments.is_some() {
            breakers.register(crate::core::records::PAYMENT_STATUS_TOOL, now);
        }
        let shared = Arc::new(Shared {
            store: parts.store.clone(),
            workflows: parts.workflows,
            templates: parts.templates,
            settings: parts.settings,
            timers: timer_handle,
            sender: parts.sender,
            tools: tools::WriteTools::local(parts.store.clone()),
            policy: parts.policy,
            breakers,
            tool_configs: parts.tool_configs,
            approvals: parts.approvals,
            degraded: degraded::Degraded::load(&parts.store)?,
            pace: parts.pace,
            payments: parts.payments,
            in_doubt: in_doubt::Waiters::default(),
            clock: parts.clock,
        });
        let (supervisor, _) = Actor::spawn(None, CaseSupervisor, shared.clone())
            .await
            .map_err(|e| EngineError::Supervisor(e.to_string()))?;
        timer_task.spawn(supervisor.clone(), shared.clock.clone());
        let engine = Engine {
            shared,
            supervisor,
            inbound: limits::InboundLimiter::new(&parts.limits),
        };
        let report = recovery::resume_open_cases(&engine.shared, &engine.supervisor).await?;
        Ok((engine, report))
    }

    pub fn store(&self) -> &Store {
        &self.shared.store
    }

    /// The current time on the engine's clock: what HTTP handlers stamp
    /// records and audit entries with.
    pub fn now(&self) -> crate::core::types::Timestamp {
        self.shared.clock.now()
    }

    /// The engine's clock, for tasks that run beside it (retention).
    pub fn clock(&self) -> clock::SharedClock {
        self.shared.clock.clone()
    }

    /// The store, to keep beyond the engine (e.g. to close it at exit).
    pub fn store_handle(&self) -> Arc<Store> {
        self.shared.store.clone()
    }

    pub fn workflows(&self) -> &Workflows {
        &self.shared.workflows
    }

    pub fn settings(&self) -> &Settings {
        &self.shared.settings
    }

    /// The policy in force (timezone, quota, cutoff, tier table).
    pub fn policy(&self) -> &Policy {
        &self.shared.policy
    }

    /// Stores an inbound message durably, then wakes its case.
    pub async fn ingest(
        &self,
        customer: CustomerKey,
        message: InboundMessage,
    ) -> Result<Ingested, StoreError> {
        let address = customer.address.clone();
        let wf = self.shared.workflows.current().clone();
        let mode = self.shared.settings.mode;
        let now = self.now();
        let open = {
            let customer = customer.clone();
            move |id| CaseRecord::open(id, customer, wf.reference(), wf.initial, mode, now)
        };
        let outcome = self
            .shared
            .store
            .ingest(Ingest { customer, message }, open)
            .await?;
        if let Ingested::Accepted { case, .. } = outcome {
            if self.inbound.allow(&address) {
                let _ = self.supervisor.cast(SupervisorMsg::Deliver(case));
            } else {
                // Stored, flagged, and read with the sender's next turn: no
                // extra replies for a flood.
                tracing::warn!(case = %case, "sender past the inbound rate limit: message stored without a wake");
                if let Err(refusal) = self
                    .store()
                    .admit(case, CaseEvent::RateLimited, None, self.now())
                    .await?
                {
                    tracing::warn!(%case, %refusal, "rate limit flag not recorded");
                }
            }
        }
        Ok(outcome)
    }

    /// Clears a case's quarantine or stuck mark and re-runs it from its
    /// persisted state (an interrupted send re-runs under its own key).
    /// Audited under `actor`.
    pub async fn retry(
        &self,
        id: CaseId,
        actor: crate::store::audit::Actor,
    ) -> Result<CaseRecord, EngineError> {
        self.retry_because(id, actor, None).await
    }

    /// As [`Engine::retry`], with the reason the operator gave (a bulk
    /// retry's) written into the case's audit entry.
    pub async fn retry_because(
        &self,
        id: CaseId,
        actor: crate::store::audit::Actor,
        reason: Option<String>,
    ) -> Result<CaseRecord, EngineError> {
        let case = self.store().case(id)?.ok_or(EngineError::NoCase(id))?;
        if case.is_closed() {
            return Err(EngineError::Closed(id));
        }
        let event = CaseEvent::Retry {
            by: actor.name.clone(),
            reason,
        };
        let case = match self
            .store()
            .admit(id, event, Some(actor), self.now())
            .await?
        {
            Ok(Some(case)) => case,
            Ok(None) => unreachable!("a retry always leaves a transition"),
            Err(Refusal::Closed) => return Err(EngineError::Closed(id)),
            Err(_) => return Err(EngineError::NoCase(id)),
        };
        let pending = case
            .pending_send
            .as_ref()
            .map(|p| p.step)
            .or(case.desk.tool_in_flight().map(|p| p.step));
        if let Some(step) = pending {
            self.store()
                .restart_effect_budget(id, step, self.now())
                .await?;
        }
        let _ = self.supervisor.cast(SupervisorMsg::Retry(id));
        Ok(case)
    }

    /// Records a human decision by `actor` on one of `lanes` (those the
    /// actor may decide) and wakes the case to apply it.
    pub async fn decide(
        &self,
        id: CaseId,
        kind: DecisionKind,
        actor: crate::store::audit::Actor,
        lanes: Vec<crate::core::case::Lane>,
        text: Option<String>,
        asked_at: Option<crate::core::types::Timestamp>,
    ) -> Result<Result<CaseRecord, Refusal>, StoreError> {
        let event = CaseEvent::Decision {
            kind,
            by: actor.name.clone(),
            lanes,
            text,
            asked_at,
        };
        let out = self
            .store()
            .admit(id, event, Some(actor), self.now())
            .await?;
        Ok(match out {
            Ok(Some(case)) => {
                let _ = self.supervisor.cast(SupervisorMsg::Deliver(id));
                Ok(case)
            }
            Ok(None) => unreachable!("an admitted decision always changes the case"),
            Err(refusal) => Err(refusal),
        })
    }

    /// A status callback carrying `key` was stored: a send of that key in
    /// doubt is settled at once.
    pub fn status_arrived(&self, key: &crate::core::types::IdempotencyKey) {
        self.shared.in_doubt.arrived(key);
    }

    pub fn approvals(&self) -> Option<&Arc<TelegramNotifier>> {
        self.shared.approvals.as_ref()
    }

    /// Switches degraded mode by hand; switching it off wakes the paused
    /// cases. Returns false when it was already so.
    pub async fn set_degraded(
        &self,
        on: bool,
        reason: String,
        actor: crate::store::audit::Actor,
    ) -> Result<bool, StoreError> {
        let audit = crate::store::audit::AuditRecord {
            at: self.now(),
            actor: actor.clone(),
            action: crate::store::audit::AuditAction::Degraded,
            target: None,
            policy: Some("degraded mode".into()),
            detail: format!("switched {}: {reason}", if on { "on" } else { "off" }),
        };
        set_degraded_audited(
            &self.shared,
            on,
            "manual".into(),
            reason,
            actor.name,
            None,
            Some(audit),
        )
        .await
    }

    pub fn degraded(&self) -> degraded::DegradedRecord {
        self.shared.degraded.snapshot()
    }

    /// Starts syncing student records from Notion in the background.
    pub fn start_notion_sync(&self, source: notion::NotionSource, interval: Duration) {
        self.shared
            .breakers
            .register(notion::NOTION_TOOL, self.now());
        notion::spawn(self.shared.clone(), source, interval);
    }

    /// Every tool's breaker state.
    pub fn tools(&self) -> Vec<crate::core::records::BreakerRecord> {
        self.shared.breakers.snapshot()
    }

    pub async fn stats(&self) -> SupervisorStats {
        ractor::call!(self.supervisor, SupervisorMsg::Stats).unwrap_or_default()
    }

    /// Stops taking signals and waits (up to `timeout`) for running cases
    /// to reach a wait; then flushes the store. Returns false on timeout.
    pub async fn drain(&self, timeout: Duration) -> bool {
        let supervisor = self.supervisor.clone();
        let drained = tokio::time::timeout(timeout, async move {
            ractor::call!(supervisor, SupervisorMsg::Drain)
        })
        .await
        .is_ok_and(|r| r.is_ok());
        if let Err(e) = self.shared.store.flush() {
            tracing::error!(error = %e, "final flush failed");
        }
        self.supervisor.stop(None);
        drained
    }
}

/// Switches degraded mode and, when it ends, wakes every paused case.
pub async fn set_degraded(
    shared: &Shared,
    on: bool,
    tool: String,
    reason: String,
    by: String,
    until: Option<crate::core::types::Timestamp>,
) -> Result<bool, StoreError> {
    set_degraded_audited(shared, on, tool, reason, by, until, None).await
}

/// As [`set_degraded`], with the audit entry of a human's switch written
/// with it (only when the switch changes the mode).
async fn set_degraded_audited(
    shared: &Shared,
    on: bool,
    tool: String,
    reason: String,
    by: String,
    until: Option<crate::core::types::Timestamp>,
    audit: Option<crate::store::audit::AuditRecord>,
) -> Result<bool, StoreError> {
    let switch = degraded::DegradedSwitch {
        on,
        tool,
        reason,
        by,
        at: shared.clock.now(),
        until,
    };
    let changed = shared.degraded.switch(&shared.store, switch, audit).await?;
    if changed {
        tracing::warn!(on, "degraded mode switched");
    }
    if changed && !on {
        // A wake, not a deadline of now: a paused case still committing
        // its own next deadline must not take it back.
        for id in degraded::paused_cases(&shared.store)? {
            shared.timers.wake(id);
        }
    }
    Ok(changed)
}
