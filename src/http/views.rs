//! JSON shapes of the admin API (CONTRACT section 4), built from store reads.

use serde_json::{Value, json};

use crate::core::case::{CaseRecord, DeliveryStatus, EffectRecord, LogEntry};
use crate::core::pending::{LaneSla, PendingAction};
use crate::core::stuck::stuck_reason;
use crate::core::types::Timestamp;
use crate::workflow::Workflow;

fn ts(t: Timestamp) -> String {
    t.to_rfc3339()
}

/// The list-view summary; the customer is masked.
pub fn summary(case: &CaseRecord, stuck: Option<&str>) -> Value {
    json!({
        "id": case.id.to_string(),
        "customer": case.customer.masked(),
        "state": case.state.as_str(),
        "tier": case.tier.map(|t| t.as_str()),
        "waiting_on": case.waiting_on.label(),
        "opened_at": ts(case.opened_at),
        "updated_at": ts(case.updated_at),
        "stuck": stuck.is_some(),
        "stuck_reason": stuck,
    })
}

/// The whole case: record, messages, transitions, tool calls, approvals.
pub fn full(
    case: &CaseRecord,
    history: &[(u64, LogEntry)],
    effects: &[EffectRecord],
    stuck: Option<&str>,
) -> Value {
    let mut h = HistoryView::default();
    for (seq, entry) in history {
        h.take(case, *seq, entry);
    }
    h.show_delivery_statuses();
    let tool_calls: Vec<Value> = effects.iter().map(tool_call_view).collect();
    // The contract's keys in the contract's order (CONTRACT section 4),
    // then what the desk adds.
    json!({
        "id": case.id.to_string(),
        "customer": case.customer.address,
        "channel": case.customer.channel.as_str(),
        "state": case.state.as_str(),
        "tier": case.tier.map(|t| t.as_str()),
        "waiting_on": case.waiting_on.label(),
        "identity": case.identity.as_str(),
        "mode": case.mode.as_str(),
        "workflow_version": case.workflow.version,
        "opened_at": ts(case.opened_at),
        "updated_at": ts(case.updated_at),
        "closed_at": case.closed_at.map(ts),
        "tags": case.tags,
        "messages": h.messages,
        "transitions": h.transitions,
        "tool_calls": tool_calls,
        "approvals": h.approvals,
        "pending_action": Value::Null,
        "stuck": stuck.is_some(),
        "stuck_reason": stuck,
        "workflow": case.workflow.name,
        "language": case.language.as_str(),
        "rule": case.desk.rule(),
        "intents": case.desk.intents.iter().map(|i| i.as_str()).collect::<Vec<_>>(),
        "qa_block": case.desk.qa_block,
        "pending_reply": case.desk.proposal.as_ref().map(|p| json!({
            "template": p.template,
            "text": p.text,
        })),
        "decision_pending": case.desk.decision.is_some(),
        "lane_notified": case.waiting_on.is_human() && case.desk.lane_posted == Some(case.wait_since),
        "unread": h.unread,
        "timers": case.timers.iter().map(|t| json!({"name": t.name, "due": ts(t.due)})).collect::<Vec<_>>(),
        "events": h.events,
    })
}

/// A case's log read into the lists the whole-case view shows.
#[derive(Default)]
struct HistoryView {
    messages: Vec<Value>,
    transitions: Vec<Value>,
    approvals: Vec<Value>,
    events: Vec<Value>,
    /// Inbound messages after the case's read cursor.
    unread: usize,
    deliveries: Deliveries,
}

impl HistoryView {
    /// Takes one log entry.
    fn take(&mut self, case: &CaseRecord, seq: u64, entry: &LogEntry) {
        match entry {
            LogEntry::Inbound(m) => {
                if seq > case.inbound_cursor {
                    self.unread += 1;
                }
                self.messages.push(json!({
                    "direction": "in",
                    "text": m.text,
                    "template": Value::Null,
                    "at": ts(m.sent_at.unwrap_or(m.received_at)),
                    "provider_id": m.message_id.0,
                }));
            }
            LogEntry::Outbound(m) => self.messages.push(json!({
                "direction": "out",
                "text": m.text,
                "template": m.template,
                "at": ts(m.at),
                "provider_id": m.provider_id,
                "idempotency_key": m.key.0,
            })),
            LogEntry::Transition(t) => self.transitions.push(json!({
                "from": t.from.as_str(),
                "to": t.to.as_str(),
                "at": ts(t.at),
                "reason": t.reason,
            })),
            LogEntry::Approval(a) => self.approvals.push(json!({
                "lane": a.lane.as_str(),
                "decision": a.decision,
                "by": a.by,
                "at": ts(a.at),
                "text": a.text,
            })),
            LogEntry::Decision(d) => self.approvals.push(json!({
                "lane": d.lane.as_str(),
                "decision": d.decision.as_str(),
                "by": d.by,
                "at": ts(d.at),
                "text": d.text,
                "tier": d.tier.map(|t| t.as_str()),
                "rule": d.rule,
            })),
            LogEntry::Delivery(d) => {
                if let Some(status) = DeliveryStatus::parse(&d.status) {
                    self.deliveries
                        .add(&d.provider_id, None, status, d.error.clone());
                }
            }
            LogEntry::Status(st) => self.deliveries.add(
                &st.provider_id,
                st.key.as_ref(),
                st.status,
                st.error.clone(),
            ),
            LogEntry::Note(n) => self.events.push(json!({
                "kind": n.kind.as_str(),
                "text": n.text,
                "refers_to": n.refers_to.as_ref().map(|r| r.0.clone()),
                "at": ts(n.sent_at.unwrap_or(n.received_at)),
                "provider_id": n.message_id.0,
            })),
        }
    }

    /// Each outbound message's delivery status and error, from the
    /// statuses seen for its message id or its idempotency key.
    fn show_delivery_statuses(&mut self) {
        for m in self.messages.iter_mut().filter(|m| m["direction"] == "out") {
            let known = self
                .deliveries
                .of(m["provider_id"].as_str(), m["idempotency_key"].as_str());
            let (status, error) = match known {
                Some((s, e)) => (Value::from(s.as_str()), e.map_or(Value::Null, Value::from)),
                None if m["provider_id"].is_null() => (Value::from("pending"), Value::Null),
                None => (Value::from("accepted"), Value::Null),
            };
            m["status"] = status;
            m["error"] = error;
        }
    }
}

/// One effect as `tool_calls[]` shows it.
fn tool_call_view(e: &EffectRecord) -> Value {
    json!({
        "tool": e.tool,
        "idempotency_key": e.key.0,
        "status": e.status.as_str(),
        "attempts": e.attempts,
        "last_error": e.last_error,
        "started_at": ts(e.started_at),
        "finished_at": e.finished_at.map(ts),
    })
}

/// The list-view summary of a case whose record does not decode: stuck,
/// with what its leading fields still say (null where they do not).
pub fn unreadable_summary(u: &crate::store::UnreadableCase) -> Value {
    let head = u.head.clone().map(Head::from);
    json!({
        "id": u.id.to_string(),
        "customer": head.as_ref().map(|h| h.customer.masked()),
        "state": head.as_ref().map(|h| h.state.as_str()),
        "tier": head.as_ref().and_then(|h| h.tier).map(|t| t.as_str()),
        "waiting_on": head.as_ref().map(|h| h.waiting_on.label()),
        "opened_at": head.as_ref().map(|h| ts(h.opened_at)),
        "updated_at": head.as_ref().map(|h| ts(h.updated_at)),
        "stuck": true,
        "stuck_reason": u.stuck_reason(),
        "unreadable": true,
    })
}

/// The whole view of an unreadable case, as far as it goes: its leading
/// fields (null when even those do not decode), and the messages,
/// transitions and tool calls of its history.
pub fn unreadable_full(
    u: &crate::store::UnreadableCase,
    history: &[(u64, LogEntry)],
    skipped: usize,
    effects: &[EffectRecord],
) -> Value {
    let head = u.head.clone().map(Head::from);
    let case = placeholder_case(u);
    let mut view = full(&case, history, effects, Some(&u.stuck_reason()));
    if head.is_none() {
        for key in [
            "customer",
            "state",
            "tier",
            "waiting_on",
            "identity",
            "mode",
            "workflow",
            "workflow_version",
            "opened_at",
            "updated_at",
        ] {
            view[key] = Value::Null;
        }
    }
    for key in [
        "unread",
        "rule",
        "pending_reply",
        "language",
        "lane_notified",
    ] {
        view[key] = Value::Null;
    }
    view["unreadable"] = json!(true);
    view["unreadable_history_entries"] = json!(skipped);
    view
}

/// A stand-in record for an unreadable case, built from the leading fields
/// that still decode (defaults where they do not), so it can be listed,
/// ordered and shown like the others; it is never run.
pub fn placeholder_case(u: &crate::store::UnreadableCase) -> CaseRecord {
    use crate::core::types::{Channel, CustomerKey, Mode, State};
    let head = u.head.clone().map(Head::from);
    let customer = CustomerKey {
        channel: Channel::Whatsapp,
        address: String::new(),
    };
    let mut case = CaseRecord::open(
        u.id,
        head.as_ref().map_or(customer, |h| h.customer.clone()),
        head.as_ref().map_or_else(
            || crate::workflow::WorkflowRef {
                name: String::new(),
                version: 0,
            },
            |h| h.workflow.clone(),
        ),
        head.as_ref().map_or(State::Intake, |h| h.state),
        head.as_ref().map_or(Mode::Pilot, |h| h.mode),
        head.as_ref().map_or(Timestamp(0), |h| h.opened_at),
    );
    if let Some(h) = &head {
        case.waiting_on = h.waiting_on.clone();
        case.tier = h.tier;
        case.identity = h.identity;
        case.tags = h.tags.clone();
        case.updated_at = h.updated_at;
        case.closed_at = h.closed_at;
    }
    case.inbound_cursor = u64::MAX;
    case
}

/// The leading fields of an unreadable record, in live types.
struct Head {
    customer: crate::core::types::CustomerKey,
    workflow: crate::workflow::WorkflowRef,
    mode: crate::core::types::Mode,
    state: crate::core::types::State,
    waiting_on: crate::core::types::WaitingOn,
    tier: Option<crate::core::types::Tier>,
    identity: crate::core::types::Identity,
    tags: Vec<String>,
    opened_at: Timestamp,
    updated_at: Timestamp,
    closed_at: Option<Timestamp>,
}

impl From<crate::store::schema::v2::CaseHead> for Head {
    fn from(h: crate::store::schema::v2::CaseHead) -> Head {
        Head {
            customer: h.customer.into(),
            workflow: h.workflow.into(),
            mode: h.mode.into(),
            state: h.state.into(),
            waiting_on: h.waiting_on.into(),
            tier: h.tier.map(Into::into),
            identity: h.identity.into(),
            tags: h.tags,
            opened_at: h.opened_at.into(),
            updated_at: h.updated_at.into(),
            closed_at: h.closed_at.map(Into::into),
        }
    }
}

/// `pending_action` of the case view (CONTRACT section 4): what a human is
/// asked to decide, and when the lane's SLA runs out.
pub fn pending_action(p: Option<&PendingAction>) -> Value {
    let Some(p) = p else {
        return Value::Null;
    };
    json!({
        "kind": p.kind.as_str(),
        "lane": p.lane.as_str(),
        "template": p.template,
        "text": p.text,
        "session": p.session.as_ref().map(|s| json!({
            "id": s.id,
            "starts_at": s.starts_at.map(ts),
            "coach": s.coach,
        })),
        "slot": p.slot.as_ref().map(|s| json!({
            "starts_at": ts(s.starts_at),
            "coach": s.coach,
            "label": s.label,
        })),
        "due": ts(p.due),
        "reason": p.reason,
    })
}

/// The whole case as `GET /admin/cases/{id}` answers it, read from the
/// store: record, history, tool calls, sends in doubt and the pending
/// action. `None` when there is no such case.
pub fn read_case(
    engine: &crate::engine::Engine,
    id: crate::core::types::CaseId,
) -> Result<Option<Value>, crate::store::StoreError> {
    let store = engine.store();
    let case = match store.case_entry(id)? {
        None => return Ok(None),
        Some(crate::store::CaseEntry::Unreadable(u)) => {
            let (history, skipped) = store.history_lenient(id)?;
            let effects = store.effects(id).unwrap_or_default();
            return Ok(Some(unreadable_full(&u, &history, skipped, &effects)));
        }
        Some(crate::store::CaseEntry::Readable(case)) => *case,
    };
    let history = store.history(id)?;
    let effects = store.effects(id)?;
    let wf = engine.workflows().get(&case.workflow);
    let now = engine.now();
    let stuck = stuck_of(&case, wf.as_deref(), now, engine.settings().stuck_after_ms);
    let mut in_doubt = Vec::new();
    for e in &effects {
        if e.status == crate::core::case::EffectStatus::Intent
            && let Some(mark) = store.in_doubt(id, e.step)?
        {
            in_doubt.push((e.key.clone(), mark));
        }
    }
    let mut view = full(&case, &history, &effects, stuck.as_deref());
    show_in_doubt(&mut view, &in_doubt);
    let action = match wf.as_deref() {
        Some(wf) => pending_of(engine, &case, wf)?,
        None => None,
    };
    view["pending_action"] = pending_action(action.as_ref());
    Ok(Some(view))
}

/// The pending action of `case`, with the session its offer is about read
/// from the student's record.
pub fn pending_of(
    engine: &crate::engine::Engine,
    case: &CaseRecord,
    wf: &Workflow,
) -> Result<Option<PendingAction>, crate::store::StoreError> {
    let sla = LaneSla {
        operator_ms: wf.operator_sla_ms,
        coach_ms: wf.coach_sla_ms,
    };
    let session = match (&case.desk.student, &case.desk.offer) {
        (Some(student), Some(offer)) => engine
            .store()
            .student(student)?
            .and_then(|s| s.sessions.into_iter().find(|x| x.id == offer.session)),
        _ => None,
    };
    Ok(crate::core::pending::pending_action(
        case,
        sla,
        session.as_ref(),
    ))
}

/// What the provider reported about each outbound message: statuses only
/// move forward (accepted < sent < delivered < read; failed is final),
/// whatever order they arrived in. A status is matched by message id, or
/// by the idempotency key it echoed when it came before the send's answer.
#[derive(Default)]
struct Deliveries {
    by_id: std::collections::HashMap<String, (DeliveryStatus, Option<String>)>,
    by_key: std::collections::HashMap<String, (DeliveryStatus, Option<String>)>,
}

impl Deliveries {
    fn add(
        &mut self,
        provider_id: &str,
        key: Option<&crate::core::types::IdempotencyKey>,
        status: DeliveryStatus,
        error: Option<String>,
    ) {
        let merge = |slot: &mut (DeliveryStatus, Option<String>)| {
            let next = slot.0.advance(status);
            if next == DeliveryStatus::Failed
                && status == DeliveryStatus::Failed
                && slot.1.is_none()
            {
                slot.1 = error.clone();
            }
            slot.0 = next;
        };
        merge(
            self.by_id
                .entry(provider_id.to_string())
                .or_insert((status, None)),
        );
        if let Some(k) = key {
            merge(self.by_key.entry(k.0.clone()).or_insert((status, None)));
        }
    }

    fn of(
        &self,
        provider_id: Option<&str>,
        key: Option<&str>,
    ) -> Option<(DeliveryStatus, Option<String>)> {
        let a = provider_id.and_then(|p| self.by_id.get(p)).cloned();
        let b = key.and_then(|k| self.by_key.get(k)).cloned();
        match (a, b) {
            (Some(a), Some(b)) => Some(if a.0.advance(b.0) == a.0 { a } else { b }),
            (a, b) => a.or(b),
        }
    }
}

/// Marks the outbound messages whose send is in doubt (the outcome of an
/// attempt is unknown and no status with its key came yet).
pub fn show_in_doubt(
    view: &mut Value,
    in_doubt: &[(
        crate::core::types::IdempotencyKey,
        crate::store::provider::InDoubt,
    )],
) {
    let Some(messages) = view["messages"].as_array_mut() else {
        return;
    };
    for m in messages {
        let Some((_, mark)) = in_doubt
            .iter()
            .find(|(k, _)| m["idempotency_key"].as_str() == Some(k.0.as_str()))
        else {
            continue;
        };
        if m["provider_id"].is_null() && m["status"] == "pending" {
            m["status"] = Value::from("in_doubt");
            m["in_doubt"] = json!({"since": ts(mark.since), "reason": mark.reason});
        }
    }
}

pub fn stuck_of(
    case: &CaseRecord,
    wf: Option<&Workflow>,
    now: Timestamp,
    stuck_after_ms: i64,
) -> Option<String> {
    stuck_reason(case, wf, now, stuck_after_ms)
}

/// Sets the gauges that describe the desk now, from the store.
pub fn desk_gauges(engine: &crate::engine::Engine) -> Result<(), crate::store::StoreError> {
    let counts = OpenCases::count(engine)?;
    counts.set_gauges();
    breaker_gauges(engine);
    let degraded = engine.degraded().current.is_some();
    metrics::gauge!("caseflow_degraded").set(if degraded { 1.0 } else { 0.0 });
    if let Some(rss) = crate::telemetry::rss_bytes() {
        metrics::gauge!("caseflow_process_resident_memory_bytes").set(rss as f64);
    }
    if let Some(peak) = crate::telemetry::peak_rss_bytes() {
        metrics::gauge!("caseflow_process_peak_resident_memory_bytes").set(peak as f64);
    }
    Ok(())
}

/// The open cases counted by state and tier, by what they wait on, and
/// how many are stuck or quarantined (an unreadable record is both).
#[derive(Default)]
struct OpenCases {
    by_state_tier: std::collections::HashMap<(&'static str, &'static str), u64>,
    waiting: std::collections::HashMap<&'static str, u64>,
    open: u64,
    stuck: u64,
    quarantined: u64,
}

impl OpenCases {
    /// One pass over the open cases in the store.
    fn count(engine: &crate::engine::Engine) -> Result<OpenCases, crate::store::StoreError> {
        let store = engine.store();
        let now = engine.now();
        let stuck_after = engine.settings().stuck_after_ms;
        let mut c = OpenCases::default();
        for id in store.open_case_ids()? {
            let case = match store.case(id) {
                Ok(Some(case)) => case,
                Ok(None) => continue,
                Err(crate::store::StoreError::UnreadableCase { .. }) => {
                    c.open += 1;
                    c.quarantined += 1;
                    c.stuck += 1;
                    continue;
                }
                Err(e) => return Err(e),
            };
            c.open += 1;
            let tier = case.tier.map_or("none", |t| t.as_str());
            *c.by_state_tier
                .entry((case.state.as_str(), tier))
                .or_default() += 1;
            let on = case.waiting_on.kind().map_or("none", |k| k.as_str());
            *c.waiting.entry(on).or_default() += 1;
            if case.quarantined.is_some() {
                c.quarantined += 1;
            }
            let wf = engine.workflows().get(&case.workflow);
            if stuck_of(&case, wf.as_deref(), now, stuck_after).is_some() {
                c.stuck += 1;
            }
        }
        Ok(c)
    }

    /// Every state × tier and every wait is set, zero included, so a
    /// series that drops to nothing reads 0 rather than its last value.
    fn set_gauges(&self) {
        use crate::core::types::{State, Tier};
        for state in <State as strum::IntoEnumIterator>::iter() {
            for tier in [
                "none",
                Tier::R0.as_str(),
                Tier::R1.as_str(),
                Tier::R2.as_str(),
                Tier::R3.as_str(),
            ] {
                let n = self
                    .by_state_tier
                    .get(&(state.as_str(), tier))
                    .copied()
                    .unwrap_or(0);
                metrics::gauge!("caseflow_open_cases", "state" => state.as_str(), "tier" => tier)
                    .set(n as f64);
            }
        }
        for kind in ["none", "customer", "operator", "coach", "tool", "timer"] {
            let n = self.waiting.get(kind).copied().unwrap_or(0);
            metrics::gauge!("caseflow_open_cases_waiting", "on" => kind).set(n as f64);
        }
        metrics::gauge!("caseflow_open_cases_total").set(self.open as f64);
        metrics::gauge!("caseflow_stuck_cases").set(self.stuck as f64);
        metrics::gauge!("caseflow_quarantined_cases").set(self.quarantined as f64);
    }
}

/// Each tool's breaker: state (0 closed, 1 half open, 2 open) and failures.
fn breaker_gauges(engine: &crate::engine::Engine) {
    for b in engine.tools() {
        let v = match b.state {
            crate::core::records::BreakerState::Closed => 0.0,
            crate::core::records::BreakerState::HalfOpen => 1.0,
            crate::core::records::BreakerState::Open => 2.0,
        };
        metrics::gauge!("caseflow_breaker_state", "tool" => b.tool.clone()).set(v);
        metrics::gauge!("caseflow_breaker_failures", "tool" => b.tool).set(b.failures as f64);
    }
}
