//! `caseflow eval FILE`: regression runs of scripted conversations
//! (CONTRACT section 6). Each conversation runs on a desk of its own, built
//! in this process by [`crate::app::open_desk`] on a throw-away data
//! directory with the configured workflow, policy, templates and mode, and
//! the records and knowledge base the file names (the demo records by
//! default). After every step the runner waits until the case rests, then
//! checks the step's expectations; the result is a pass/fail table.
//!
//! Steps go through the engine the way the HTTP handlers call it (ingest,
//! decision, payment notification, degraded switch): no network, no token.

pub mod file;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::Timelike;

use crate::config::Config;
use crate::core::case::{CaseRecord, InboundMessage, LogEntry};
use crate::core::desk::{ToolKind, tool_kind};
use crate::core::machine::SEND_TOOL;
use crate::core::types::{CaseId, Channel, CustomerKey, MessageId, State, WaitingOn};
use crate::engine::Engine;
use file::{Action, EvalFile, Expect, Step};

/// Longest wait for a case to rest after a step.
const REST_TIMEOUT: Duration = Duration::from_secs(20);
/// Conversations run at once (each on its own desk).
const PARALLEL: usize = 4;

/// The verdict on one step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Fail(Vec<String>),
    /// Marked pending (the code is behind the contract) and failed.
    PendingFail(String, Vec<String>),
    /// Marked pending but passes now: the mark can go.
    PendingPass(String),
}

#[derive(Debug, Clone)]
pub struct StepResult {
    pub conversation: String,
    pub step: usize,
    pub what: String,
    pub verdict: Verdict,
}

#[derive(Debug, Clone, Default)]
pub struct Scorecard {
    pub results: Vec<StepResult>,
}

impl Scorecard {
    pub fn failed(&self) -> usize {
        self.results
            .iter()
            .filter(|r| matches!(r.verdict, Verdict::Fail(_)))
            .count()
    }

    /// The pass/fail table, one line per step, then the totals.
    pub fn table(&self) -> String {
        let width = self
            .results
            .iter()
            .map(|r| r.conversation.chars().count())
            .max()
            .unwrap_or(12)
            .clamp(12, 64);
        let mut out = format!(
            "{:<width$}  {:>4}  {:<8}  {}\n",
            "conversation", "step", "result", "detail"
        );
        let (mut pass, mut fail, mut pending, mut fixed) = (0, 0, 0, 0);
        for r in &self.results {
            let name: String = r.conversation.chars().take(width).collect();
            let (label, detail) = match &r.verdict {
                Verdict::Pass => {
                    pass += 1;
                    ("pass", r.what.clone())
                }
                Verdict::Fail(why) => {
                    fail += 1;
                    ("FAIL", format!("{}: {}", r.what, why.join("; ")))
                }
                Verdict::PendingFail(note, why) => {
                    pending += 1;
                    (
                        "pending",
                        format!("{}: {} [pending: {note}]", r.what, why.join("; ")),
                    )
                }
                Verdict::PendingPass(note) => {
                    fixed += 1;
                    (
                        "passes",
                        format!(
                            "{} [marked pending ({note}) but passes: drop the mark]",
                            r.what
                        ),
                    )
                }
            };
            out.push_str(&format!(
                "{name:<width$}  {:>4}  {label:<8}  {detail}\n",
                r.step
            ));
        }
        out.push_str(&format!(
            "{pass} passed, {fail} failed, {pending} pending (contract ahead of the code), {fixed} pending now pass\n"
        ));
        out
    }
}

/// Runs the conversations of `files` with `config`; never fails on a
/// failed expectation (see [`Scorecard::failed`]), only on a file or desk
/// that cannot be read or started.
pub async fn run(files: &[PathBuf], config: &Config) -> anyhow::Result<Scorecard> {
    let mut loaded = Vec::new();
    for f in files {
        loaded.push(Arc::new(file::load(f)?));
    }
    wait_clear_of_midnight(config).await?;
    let gate = Arc::new(tokio::sync::Semaphore::new(PARALLEL));
    let mut tasks = Vec::new();
    for f in &loaded {
        for (i, _) in f.conversations.iter().enumerate() {
            let (f, config, gate) = (f.clone(), config.clone(), gate.clone());
            tasks.push(tokio::spawn(async move {
                let _permit = gate.acquire().await;
                run_conversation(&f, i, &config).await
            }));
        }
    }
    let mut scorecard = Scorecard::default();
    for t in tasks {
        scorecard
            .results
            .extend(t.await.context("an eval task panicked")??);
    }
    Ok(scorecard)
}

/// Records use dates relative to the run's day; a run that starts in the
/// last minutes of the business day (or the first, when "today" records
/// are just behind) waits for the day to settle, so no session slips into
/// the past mid-run.
async fn wait_clear_of_midnight(config: &Config) -> anyhow::Result<()> {
    let tz = config.policy.build()?.timezone;
    loop {
        let local = chrono::Utc::now().with_timezone(&tz);
        let minute = local.hour() * 60 + local.minute();
        if (5..(23 * 60 + 55)).contains(&minute) {
            return Ok(());
        }
        eprintln!(
            "eval: waiting for the business day to settle (dates in the records are relative to today)"
        );
        tokio::time::sleep(Duration::from_secs(15)).await;
    }
}

/// A temporary data directory, removed when dropped.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn run_conversation(
    f: &EvalFile,
    index: usize,
    config: &Config,
) -> anyhow::Result<Vec<StepResult>> {
    let convo = &f.conversations[index];
    let scratch =
        Scratch(std::env::temp_dir().join(format!("caseflow-eval-{}", uuid::Uuid::now_v7())));
    std::fs::create_dir_all(&scratch.0)?;
    let mut config = config.clone();
    if let Some(mode) = f.mode {
        config.mode = Some(mode.as_str().to_string());
    }
    let access = crate::http::auth::Access::new(
        &hex::encode(rand::random::<[u8; 24]>()),
        &hex::encode(rand::random::<[u8; 24]>()),
    );
    let desk = crate::app::open_desk(&config, &scratch.0, access).await?;
    let engine = desk.engine;
    load_records(&engine, f, config.policy.build()?.timezone).await?;
    let mut run = Run {
        engine: &engine,
        customer: CustomerKey {
            channel: Channel::Whatsapp,
            address: convo.customer.clone(),
        },
        case: None,
        seen_out: HashSet::new(),
        seen_writes: HashSet::new(),
        said: 0,
        tag: format!(
            "{}.{index}",
            f.path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("eval")
        ),
    };
    let mut results = Vec::new();
    for (i, step) in convo.steps.iter().enumerate() {
        let problems = run.step(step).await;
        results.push(StepResult {
            conversation: convo.name.clone(),
            step: i + 1,
            what: describe(step),
            verdict: match (&step.pending, problems.is_empty()) {
                (None, true) => Verdict::Pass,
                (None, false) => Verdict::Fail(problems),
                (Some(n), true) => Verdict::PendingPass(n.clone()),
                (Some(n), false) => Verdict::PendingFail(n.clone(), problems),
            },
        });
    }
    engine.drain(Duration::from_secs(5)).await;
    drop(engine);
    Ok(results)
}

fn describe(step: &Step) -> String {
    match &step.action {
        Action::Say { texts, .. } => {
            let joined = texts.join(" / ");
            let short: String = joined.chars().take(40).collect();
            if short.len() < joined.len() {
                format!("say \"{short}…\"")
            } else {
                format!("say \"{short}\"")
            }
        }
        Action::Decide { kind, .. } => format!("decide {}", kind.as_str()),
        Action::Payment {
            order_id, status, ..
        } => format!("payment {order_id} {status}"),
        Action::Degraded { on, .. } => format!("degraded {}", if *on { "on" } else { "off" }),
    }
}

/// Loads the file's records (or the demo records) into the fresh store.
async fn load_records(engine: &Engine, f: &EvalFile, tz: chrono_tz::Tz) -> anyhow::Result<()> {
    if f.students.is_none() && f.slots.is_none() && f.kb.is_none() {
        crate::app::load_demo(engine, tz).await?;
        return Ok(());
    }
    let today = chrono::Utc::now().with_timezone(&tz).date_naive();
    let read = |p: &Path| -> anyhow::Result<String> {
        let text =
            std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?;
        Ok(crate::app::relative_dates(&text, today))
    };
    let store = engine.store();
    if let Some(p) = &f.students {
        let students = crate::http::records::parse_students(read(p)?.as_bytes())
            .map_err(|e| anyhow::anyhow!("{}: {}", p.display(), e.message()))?;
        store.upsert_students(students, engine.now()).await?;
    }
    if let Some(p) = &f.slots {
        let slots = crate::http::records::parse_slots(read(p)?.as_bytes())
            .map_err(|e| anyhow::anyhow!("{}: {}", p.display(), e.message()))?;
        store.add_slots(slots).await?;
    }
    if let Some(p) = &f.kb {
        let articles = crate::http::records::parse_articles(read(p)?.as_bytes())
            .map_err(|e| anyhow::anyhow!("{}: {}", p.display(), e.message()))?;
        store.put_articles(articles).await?;
    }
    Ok(())
}

/// One conversation in progress.
struct Run<'a> {
    engine: &'a Engine,
    customer: CustomerKey,
    case: Option<CaseId>,
    /// Log sequences of outbound messages already seen.
    seen_out: HashSet<u64>,
    /// Effect steps of write tool calls already seen.
    seen_writes: HashSet<u32>,
    said: usize,
    tag: String,
}

impl Run<'_> {
    /// Runs a step, waits for the case to rest and checks the expectations.
    async fn step(&mut self, step: &Step) -> Vec<String> {
        if let Err(e) = self.act(&step.action).await {
            return vec![e];
        }
        let Some(id) = self.case else {
            if step.expect == Expect::default() {
                return Vec::new();
            }
            return vec!["no case yet to check: a customer must `say` something first".into()];
        };
        let leaving_degraded = matches!(step.action, Action::Degraded { on: false, .. });
        let case = match self.rest(id, leaving_degraded).await {
            Ok(c) => c,
            Err(e) => return vec![e],
        };
        self.check(&case, &step.expect)
    }

    async fn act(&mut self, action: &Action) -> Result<(), String> {
        let store = self.engine.store();
        match action {
            Action::Say { texts, offset_ms } => {
                for text in texts {
                    self.said += 1;
                    let now = self.engine.now();
                    let message = InboundMessage {
                        message_id: MessageId(format!("wamid.eval.{}.{}", self.tag, self.said)),
                        text: text.clone(),
                        sent_at: offset_ms.map(|o| now.plus_millis(o)),
                        received_at: now,
                    };
                    let out = self
                        .engine
                        .ingest(self.customer.clone(), message)
                        .await
                        .map_err(|e| format!("ingest failed: {e}"))?;
                    self.case = Some(match out {
                        crate::store::Ingested::Accepted { case, .. }
                        | crate::store::Ingested::Duplicate { case } => case,
                        crate::store::Ingested::Conflict => {
                            return Err("message id already stored for another sender".into());
                        }
                    });
                }
                Ok(())
            }
            Action::Decide { kind, by, text } => {
                let id = self.case.ok_or("no case to decide on")?;
                let lane = store
                    .case(id)
                    .map_err(|e| e.to_string())?
                    .map(|c| c.waiting_on.label())
                    .unwrap_or_default();
                let by = by.clone().unwrap_or_else(|| format!("eval-{lane}"));
                let role = if lane == "coach" { "coach" } else { "operator" };
                let actor = crate::store::audit::Actor::new(by, role);
                let lanes = vec![
                    crate::core::case::Lane::Operator,
                    crate::core::case::Lane::Coach,
                ];
                match self
                    .engine
                    .decide(id, *kind, actor, lanes, text.clone(), None)
                    .await
                {
                    Ok(Ok(_)) => Ok(()),
                    Ok(Err(refusal)) => Err(format!("decision refused: {refusal}")),
                    Err(e) => Err(format!("decision failed: {e}")),
                }
            }
            Action::Payment {
                order_id,
                status,
                fraud_status,
            } => {
                let to = crate::policy::payments::state_of(status, fraud_status.as_deref())
                    .ok_or("unknown transaction_status")?;
                let event = crate::core::records::PaymentEvent {
                    transaction_status: status.clone(),
                    status_code: "200".into(),
                    fraud_status: fraud_status.clone(),
                    at: self.engine.now(),
                    applied: false,
                };
                store
                    .apply_payment(order_id.clone(), "0".into(), to, event)
                    .await
                    .map(|_| ())
                    .map_err(|e| format!("payment notification failed: {e}"))
            }
            Action::Degraded { on, reason } => self
                .engine
                .set_degraded(
                    *on,
                    reason.clone(),
                    crate::store::audit::Actor::new("eval", "admin"),
                )
                .await
                .map(|_| ())
                .map_err(|e| format!("degraded switch failed: {e}")),
        }
    }

    /// Waits until the case has read every message, applied any decision,
    /// has no effect in flight and waits on the customer or a human (or is
    /// closed, or paused in degraded mode).
    async fn rest(&self, id: CaseId, leaving_degraded: bool) -> Result<CaseRecord, String> {
        let store = self.engine.store();
        let deadline = Instant::now() + REST_TIMEOUT;
        loop {
            let case = store
                .case(id)
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("case {id} vanished"))?;
            let unread = store
                .inbound_after(id, case.inbound_cursor)
                .map_err(|e| e.to_string())?
                .len();
            let resting = matches!(
                case.waiting_on,
                WaitingOn::Customer | WaitingOn::Operator | WaitingOn::Coach
            ) || case.is_closed()
                || (case.state == State::Degraded && !leaving_degraded);
            let idle = case.pending_send.is_none() && case.desk.tool_in_flight().is_none();
            if resting
                && idle
                && unread == 0
                && case.desk.decision.is_none()
                && case.stuck.is_none()
            {
                return Ok(case);
            }
            if case.stuck.is_some() || case.quarantined.is_some() {
                return Err(format!(
                    "case stuck: {}",
                    case.stuck.or(case.quarantined).unwrap_or_default()
                ));
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "case did not come to rest within {} s (state {}, waiting on {})",
                    REST_TIMEOUT.as_secs(),
                    case.state,
                    case.waiting_on.label()
                ));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    fn check(&mut self, case: &CaseRecord, e: &Expect) -> Vec<String> {
        let store = self.engine.store();
        let mut problems = Vec::new();
        let mut expect = |what: &str, want: &Option<String>, got: String| {
            if let Some(w) = want
                && *w != got
            {
                problems.push(format!("{what}: expected {w}, got {got}"));
            }
        };
        expect(
            "tier",
            &e.tier,
            case.tier.map_or("none".into(), |t| t.as_str().into()),
        );
        expect("state", &e.state, case.state.as_str().into());
        expect("waiting_on", &e.waiting_on, case.waiting_on.label());
        let lane = match case.waiting_on {
            WaitingOn::Operator => "operator",
            WaitingOn::Coach => "coach",
            _ => "none",
        };
        expect("lane", &e.lane, lane.into());
        expect("identity", &e.identity, case.identity.as_str().into());
        let history = store.history(case.id).unwrap_or_default();
        let sent: Vec<String> = history
            .iter()
            .filter_map(|(seq, entry)| match entry {
                LogEntry::Outbound(o) if self.seen_out.insert(*seq) => {
                    Some(o.template.clone().unwrap_or_else(|| "text".into()))
                }
                _ => None,
            })
            .collect();
        if let Some(want) = &e.templates
            && *want != sent
        {
            problems.push(format!("templates: expected {want:?}, got {sent:?}"));
        }
        let mut effects = store.effects(case.id).unwrap_or_default();
        effects.sort_by_key(|f| f.step);
        let writes: Vec<String> = effects
            .iter()
            .filter(|f| f.tool != SEND_TOOL && tool_kind(&f.tool) == Some(ToolKind::Write))
            .filter(|f| self.seen_writes.insert(f.step))
            .map(|f| f.tool.clone())
            .collect();
        if let Some(want) = &e.writes
            && *want != writes
        {
            problems.push(format!("writes: expected {want:?}, got {writes:?}"));
        }
        problems
    }
}
