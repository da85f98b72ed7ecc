//! `caseflow loadtest`: rehearses a campaign spike (or a steady day, or a
//! soak) against a running desk (`--target`) or one started in this process
//! on a temporary data directory. Simulated customers send a realistic mix
//! through `POST /v1/messages` (rapid-fire bursts, duplicate deliveries),
//! answer slot offers, and a simulated operator and coach decide after
//! configurable delays. At the end every case is read back: messages sent,
//! accepted, lost, duplicated; throughput; first-response and resolution
//! latency by tier; SLA breaches; stuck cases; the server's peak memory.

pub mod report;
pub mod scenario;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use tokio::sync::{Mutex, Semaphore};

use report::{Latencies, Report};
use scenario::{Conversation, Expect};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Profile {
    /// A normal day compressed: 300 customers over 2 minutes.
    Steady,
    /// A promotion: 5,000 customers within 60 s.
    Spike,
    /// Sustained load: 2,000 customers over 10 minutes.
    Soak,
}

impl Profile {
    fn defaults(self) -> (usize, Duration) {
        match self {
            Profile::Steady => (300, Duration::from_secs(120)),
            Profile::Spike => (5000, Duration::from_secs(60)),
            Profile::Soak => (2000, Duration::from_secs(600)),
        }
    }
}

/// The load test's options, as `caseflow loadtest` takes them.
#[derive(Debug, Clone, clap::Args)]
pub struct Options {
    /// A running desk; without it one is started in this process.
    #[arg(long)]
    pub target: Option<String>,
    /// The target's admin token.
    #[arg(long, env = "CASEFLOW_ADMIN_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// The target's ingest token, for `POST /v1/messages`.
    #[arg(long, env = "CASEFLOW_INGEST_TOKEN", hide_env_values = true)]
    pub ingest_token: Option<String>,
    #[arg(long, value_enum, default_value = "spike")]
    pub profile: Profile,
    /// Customers (default by profile: steady 300, spike 5000, soak 2000).
    #[arg(long)]
    pub customers: Option<usize>,
    /// Window in which they arrive (default: steady 2m, spike 60s, soak 10m).
    #[arg(long, value_parser = humantime::parse_duration)]
    pub duration: Option<Duration>,
    /// Share of first messages delivered twice (same message id).
    #[arg(long, default_value_t = 0.1)]
    pub duplicates: f64,
    /// The simulated operator decides after this long.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "2s")]
    pub operator_delay: Duration,
    /// The simulated coach decides after this long.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "5s")]
    pub coach_delay: Duration,
    /// Longest wait for the desk to come to rest after the last message.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "60s")]
    pub settle: Duration,
    /// Concurrent HTTP requests.
    #[arg(long, default_value_t = 128)]
    pub concurrency: usize,
    /// Run the in-process desk in production mode (default pilot).
    #[arg(long)]
    pub production: bool,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Also write the results as JSON.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
    /// In-process desk: share (0..1) of customer sends that fail as a 503.
    #[arg(long = "fail-sends", default_value_t = 0.0)]
    pub send_failure_rate: f64,
}

/// A desk started for the run, and its data directory (removed at the end).
struct Local {
    dir: PathBuf,
    _server: tokio::task::JoinHandle<()>,
    engine: Arc<crate::engine::Engine>,
}

pub async fn run(opts: Options) -> anyhow::Result<Report> {
    let (customers, window) = {
        let (c, d) = opts.profile.defaults();
        (opts.customers.unwrap_or(c), opts.duration.unwrap_or(d))
    };
    let (base, token, ingest_token, local) = match &opts.target {
        Some(t) => {
            let token = opts
                .token
                .clone()
                .context("--target needs the admin token in CASEFLOW_ADMIN_TOKEN")?;
            let ingest = opts
                .ingest_token
                .clone()
                .context("--target needs the ingest token in CASEFLOW_INGEST_TOKEN")?;
            (t.trim_end_matches('/').to_string(), token, ingest, None)
        }
        None => {
            let (base, token, ingest, local) =
                start_local(opts.production, opts.send_failure_rate).await?;
            (base, token, ingest, Some(local))
        }
    };
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(opts.concurrency)
        .build()?;
    let desk = DeskClient {
        client,
        base,
        token,
        ingest_token,
    };
    seed(&desk, customers, opts.seed).await?;

    let mut rng = rand::rngs::StdRng::seed_from_u64(opts.seed);
    let plan: Vec<(usize, u64, Conversation)> = (0..customers)
        .map(|i| {
            let offset = rng.random_range(0..window.as_millis().max(1) as u64);
            (i, offset, scenario::conversation(&mut rng))
        })
        .collect();
    let total_messages: u64 = plan.iter().map(|(_, _, c)| c.messages.len() as u64).sum();
    let bar = (!opts.quiet).then(|| {
        let bar = indicatif::ProgressBar::new(total_messages);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{elapsed_precise} [{bar:40}] {pos}/{len} messages {per_sec}",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        bar
    });

    let stop = Arc::new(AtomicBool::new(false));
    let humans = tokio::spawn(simulate_humans(
        desk.clone(),
        opts.operator_delay,
        opts.coach_delay,
        stop.clone(),
    ));
    let started = Instant::now();
    let log = Arc::new(Mutex::new(SendLog {
        started: Some(started),
        ..SendLog::default()
    }));
    let gate = Arc::new(Semaphore::new(opts.concurrency.max(1)));
    let counter = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::with_capacity(customers);
    for (i, offset, convo) in plan {
        let (desk, log, gate, bar, counter) = (
            desk.clone(),
            log.clone(),
            gate.clone(),
            bar.clone(),
            counter.clone(),
        );
        let dup_roll: f64 = rng.random();
        let duplicates = opts.duplicates;
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep_until(
                tokio::time::Instant::from_std(started) + Duration::from_millis(offset),
            )
            .await;
            customer(
                i,
                convo,
                dup_roll < duplicates,
                &desk,
                &log,
                &gate,
                bar.as_ref(),
                &counter,
            )
            .await;
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let send_window = started.elapsed();
    if let Some(bar) = &bar {
        bar.finish();
    }
    wait_for_rest(&desk, opts.settle).await;
    stop.store(true, Ordering::Relaxed);
    let decisions = humans.await.unwrap_or(0);
    let log = Arc::try_unwrap(log)
        .map_err(|_| anyhow::anyhow!("send log still shared"))?
        .into_inner();
    let mut report = verify(&desk, log, send_window, decisions, opts.concurrency).await?;
    report.retries = scrape(&desk, "caseflow_tool_retries_total").await;
    if let Some(local) = local {
        drop(local.engine);
        let _ = std::fs::remove_dir_all(&local.dir);
    }
    if let Some(path) = &opts.json {
        std::fs::write(path, serde_json::to_string_pretty(&report)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(report)
}

/// The desk under test, as its HTTP clients reach it: base URL and tokens.
#[derive(Clone)]
struct DeskClient {
    client: reqwest::Client,
    base: String,
    token: String,
    ingest_token: String,
}

impl DeskClient {
    async fn admin_get(&self, path: &str) -> anyhow::Result<Value> {
        let r = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await?;
        anyhow::ensure!(r.status().is_success(), "GET {path}: HTTP {}", r.status());
        Ok(r.json().await?)
    }

    async fn admin_post(&self, path: &str, body: &Value) -> anyhow::Result<(u16, Value)> {
        let r = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await?;
        let status = r.status().as_u16();
        Ok((status, r.json().await.unwrap_or(Value::Null)))
    }
}

async fn start_local(
    production: bool,
    send_failure_rate: f64,
) -> anyhow::Result<(String, String, String, Local)> {
    let dir = std::env::temp_dir().join(format!("caseflow-loadtest-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir)?;
    let mut config = crate::config::Config::default();
    if production {
        config.mode = Some("production".into());
    }
    config.faults.send_failure_rate = send_failure_rate;
    // Injected failures are retried quickly and never open the breaker for
    // long: the run measures recovery, not an outage.
    config.tools.insert(
        crate::core::machine::SEND_TOOL.to_string(),
        crate::config::ToolConfig {
            retry_initial: Duration::from_millis(20),
            retry_max_interval: Duration::from_millis(200),
            failure_threshold: 50,
            open_for: Duration::from_secs(1),
            ..Default::default()
        },
    );
    let token = hex::encode(rand::random::<[u8; 24]>());
    let ingest = hex::encode(rand::random::<[u8; 24]>());
    let access = crate::http::auth::Access::new(&token, &ingest);
    let desk = crate::app::open_desk(&config, &dir, access).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let router = desk.router;
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Ok((
        base,
        token,
        ingest,
        Local {
            dir,
            _server: server,
            engine: desk.engine,
        },
    ))
}

fn phone(i: usize) -> String {
    format!("+62813{:07}", i)
}

/// Seeds a student per customer, free slots and the knowledge base.
async fn seed(desk: &DeskClient, customers: usize, seed: u64) -> anyhow::Result<()> {
    let now = chrono::Utc::now();
    let kb: Value = serde_json::from_str(include_str!("../../config/demo/kb.json"))?;
    let (status, v) = desk.admin_post("/admin/kb", &kb).await?;
    anyhow::ensure!(
        status == 200,
        "seeding the knowledge base: HTTP {status} {v}"
    );
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed ^ 0x5eed);
    // Chunks stay well under the server's default 64 KiB body limit.
    for chunk in (0..customers).collect::<Vec<_>>().chunks(100) {
        let students: Vec<Value> = chunk
            .iter()
            .map(|&i| {
                let days = rng.random_range(2..10);
                let starts = (now + chrono::Duration::days(days)).to_rfc3339();
                let status = if rng.random_bool(0.8) { "settlement" } else { "pending" };
                json!({
                    "id": format!("lt-{i}"), "name": format!("Student {i}"), "phone": phone(i),
                    "email": format!("student{i}@example.com"), "rev": 1,
                    "invoices": [{"number": format!("INV-LT-{i}"), "order_id": format!("LT-{i}"),
                                  "amount": 450000, "status": status}],
                    "sessions": [{"id": format!("S-{i}"), "starts_at": starts, "coach": "Coach Dewi"}],
                    "reschedule_history": []
                })
            })
            .collect();
        let (status, v) = desk
            .admin_post("/admin/records/students", &Value::Array(students))
            .await?;
        anyhow::ensure!(status == 200, "seeding students: HTTP {status} {v}");
    }
    let slots: Vec<Value> = (0..(customers / 3 + 30))
        .map(|k| {
            let at = now
                + chrono::Duration::days(2 + (k as i64 % 20))
                + chrono::Duration::minutes(k as i64 * 7 % 600);
            json!({"starts_at": at.to_rfc3339(), "coach": format!("Coach {}", k % 7)})
        })
        .collect();
    for chunk in slots.chunks(200) {
        let (status, v) = desk
            .admin_post("/admin/records/slots", &Value::Array(chunk.to_vec()))
            .await?;
        anyhow::ensure!(status == 200, "seeding slots: HTTP {status} {v}");
    }
    Ok(())
}

/// What the customers sent and what the desk answered.
#[derive(Default)]
pub struct SendLog {
    /// message id -> (case id, expected tier)
    pub accepted: HashMap<String, (String, Expect)>,
    pub sent: u64,
    pub duplicates_sent: u64,
    pub duplicate_answers: u64,
    pub errors: u64,
    pub cases: HashMap<String, Expect>,
    /// Accepted messages per second since the start.
    pub per_second: HashMap<u64, u64>,
    pub started: Option<Instant>,
}

#[allow(clippy::too_many_arguments)]
async fn customer(
    i: usize,
    convo: Conversation,
    duplicate: bool,
    desk: &DeskClient,
    log: &Mutex<SendLog>,
    gate: &Semaphore,
    bar: Option<&indicatif::ProgressBar>,
    counter: &AtomicU64,
) {
    let from = phone(i);
    let mut case_id = None;
    let mut messages = convo.messages.clone();
    for (n, (delay, text)) in messages.drain(..).enumerate() {
        if delay > 0 {
            tokio::time::sleep(Duration::from_millis(delay)).await;
        }
        let id = format!(
            "wamid.lt.{i}.{n}.{}",
            counter.fetch_add(1, Ordering::Relaxed)
        );
        let sends = if duplicate && n == 0 { 2 } else { 1 };
        for k in 0..sends {
            if let Some(c) =
                post_message(desk, gate, &from, &id, &text, convo.expect, log, k > 0).await
            {
                case_id = Some(c);
            }
        }
        if let Some(bar) = bar {
            bar.inc(1);
        }
    }
    let (Some(option), Some(case)) = (convo.answers_offer, case_id) else {
        return;
    };
    // Answer the slot offer once it arrives (after the operator's approval
    // in pilot); give up after two minutes.
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let Ok(c) = desk.admin_get(&format!("/admin/cases/{case}")).await else {
            continue;
        };
        let offered = c["messages"].as_array().is_some_and(|m| {
            m.iter()
                .any(|m| m["template"] == crate::templates::TemplateId::R2RescheduleOffer.as_str())
        });
        if offered {
            let id = format!("wamid.lt.{i}.choice");
            post_message(
                desk,
                gate,
                &from,
                &id,
                &option.to_string(),
                convo.expect,
                log,
                false,
            )
            .await;
            return;
        }
        if c["tier"] == "R3" || c["state"] == "closed" {
            return;
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn post_message(
    desk: &DeskClient,
    gate: &Semaphore,
    from: &str,
    id: &str,
    text: &str,
    expect: Expect,
    log: &Mutex<SendLog>,
    redelivery: bool,
) -> Option<String> {
    let _permit = gate.acquire().await.ok()?;
    let body = json!({"channel": "whatsapp", "from": from, "message_id": id, "text": text});
    let result = desk
        .client
        .post(format!("{}/v1/messages", desk.base))
        .bearer_auth(&desk.ingest_token)
        .json(&body)
        .send()
        .await;
    let mut log = log.lock().await;
    log.sent += 1;
    if redelivery {
        log.duplicates_sent += 1;
    }
    let r = match result {
        Ok(r) => r,
        Err(_) => {
            log.errors += 1;
            return None;
        }
    };
    let status = r.status().as_u16();
    let v: Value = r.json().await.unwrap_or(Value::Null);
    let case = v["case_id"].as_str().map(str::to_string);
    match (status, &case) {
        (202, Some(c)) => {
            let second = log.started.map_or(0, |s| s.elapsed().as_secs());
            *log.per_second.entry(second).or_default() += 1;
            log.accepted.insert(id.to_string(), (c.clone(), expect));
            log.cases.entry(c.clone()).or_insert(expect);
        }
        (200, Some(_)) => log.duplicate_answers += 1,
        _ => log.errors += 1,
    }
    case
}

/// Approves (or, with nothing drafted, writes) after the lane's delay.
async fn simulate_humans(
    desk: DeskClient,
    operator_delay: Duration,
    coach_delay: Duration,
    stop: Arc<AtomicBool>,
) -> u64 {
    let mut decided: HashSet<(String, String)> = HashSet::new();
    let mut count = 0;
    while !stop.load(Ordering::Relaxed) {
        for (lane, delay) in [("operator", operator_delay), ("coach", coach_delay)] {
            let Ok(v) = desk
                .admin_get(&format!("/admin/cases?waiting_on={lane}&limit=1000"))
                .await
            else {
                continue;
            };
            let now = chrono::Utc::now();
            for c in v["cases"].as_array().into_iter().flatten() {
                let (Some(id), Some(updated)) = (c["id"].as_str(), c["updated_at"].as_str()) else {
                    continue;
                };
                let waited = chrono::DateTime::parse_from_rfc3339(updated)
                    .map(|t| now.signed_duration_since(t).to_std().unwrap_or_default())
                    .unwrap_or_default();
                if waited < delay || !decided.insert((id.to_string(), updated.to_string())) {
                    continue;
                }
                let by = format!("loadtest-{lane}");
                let path = format!("/admin/cases/{id}/decision");
                let approve = json!({"decision": "approve", "by": by});
                let decided_ok = match desk.admin_post(&path, &approve).await {
                    Ok((202, _)) => true,
                    Ok((409, _)) => {
                        let text = if lane == "coach" {
                            "Baik kak, coach kami sudah meninjau dan akan menghubungi kakak hari ini."
                        } else {
                            "Terima kasih kak, kami bantu cek ya."
                        };
                        let edit = json!({"decision": "edit", "by": by, "text": text});
                        matches!(desk.admin_post(&path, &edit).await, Ok((202, _)))
                    }
                    _ => false,
                };
                if decided_ok {
                    count += 1;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    count
}

/// Waits until no case is running (every case waits on the customer, a
/// human or its timers), up to `settle`.
async fn wait_for_rest(desk: &DeskClient, settle: Duration) {
    let deadline = Instant::now() + settle;
    while Instant::now() < deadline {
        let mut running = 0;
        for w in [
            "none",
            "tool:whatsapp",
            "tool:calendar.book",
            "operator",
            "coach",
        ] {
            if let Ok(v) = desk
                .admin_get(&format!("/admin/cases?waiting_on={w}&limit=1000"))
                .await
            {
                running += v["cases"].as_array().map_or(0, Vec::len);
            }
        }
        if running == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn parse_at(v: &Value) -> Option<chrono::DateTime<chrono::FixedOffset>> {
    chrono::DateTime::parse_from_rfc3339(v.as_str()?).ok()
}

/// Reads every case back and checks the log against it.
async fn verify(
    desk: &DeskClient,
    log: SendLog,
    send_window: Duration,
    decisions: u64,
    concurrency: usize,
) -> anyhow::Result<Report> {
    let gate = Arc::new(Semaphore::new(concurrency.clamp(1, 64)));
    let mut reads = Vec::new();
    for id in log.cases.keys() {
        let (desk, gate, id) = (desk.clone(), gate.clone(), id.clone());
        reads.push(tokio::spawn(async move {
            let _p = gate.acquire().await.ok()?;
            desk.admin_get(&format!("/admin/cases/{id}")).await.ok()
        }));
    }
    let mut cases = Vec::new();
    for r in reads {
        if let Ok(Some(c)) = r.await {
            cases.push(c);
        }
    }
    let mut seen: HashMap<String, u32> = HashMap::new();
    let mut first = Latencies::default();
    let mut resolution = Latencies::default();
    let (mut breaches, mut stuck) = (0u64, 0u64);
    for c in &cases {
        let tier = c["tier"].as_str().unwrap_or("unclassified").to_string();
        let msgs = c["messages"].as_array().cloned().unwrap_or_default();
        for m in msgs.iter().filter(|m| m["direction"] == "in") {
            if let Some(id) = m["provider_id"].as_str() {
                *seen.entry(id.to_string()).or_default() += 1;
            }
        }
        let first_in = msgs
            .iter()
            .find(|m| m["direction"] == "in")
            .and_then(|m| parse_at(&m["at"]));
        let first_out = msgs
            .iter()
            .find(|m| m["direction"] == "out")
            .and_then(|m| parse_at(&m["at"]));
        if let (Some(i), Some(o)) = (first_in, first_out) {
            first.record(&tier, (o - i).num_milliseconds().max(0) as u64);
        }
        let resolved = matches!(c["state"].as_str(), Some("close" | "closed"));
        let last_out = msgs
            .iter()
            .rev()
            .find(|m| m["direction"] == "out")
            .and_then(|m| parse_at(&m["at"]));
        if let (true, Some(i), Some(o)) = (resolved, first_in, last_out) {
            resolution.record(&tier, (o - i).num_milliseconds().max(0) as u64);
        }
        if c["tags"].as_array().is_some_and(|t| {
            t.iter()
                .any(|t| t.as_str().is_some_and(|t| t.starts_with("sla_breach")))
        }) {
            breaches += 1;
        }
        if c["stuck"] == true {
            stuck += 1;
        }
    }
    let lost = log
        .accepted
        .keys()
        .filter(|id| !seen.contains_key(*id))
        .count() as u64;
    let duplicated = seen.values().filter(|n| **n > 1).count() as u64;
    let peak_rss = peak_rss(desk).await;
    Ok(Report {
        messages_sent: log.sent,
        duplicate_deliveries_sent: log.duplicates_sent,
        accepted: log.accepted.len() as u64,
        answered_duplicate: log.duplicate_answers,
        errors: log.errors,
        lost,
        duplicated,
        cases: cases.len() as u64,
        send_window_s: send_window.as_secs_f64(),
        throughput_per_s: log.accepted.len() as f64 / send_window.as_secs_f64().max(0.001),
        peak_accepted_per_s: log.per_second.values().copied().max().unwrap_or(0),
        first_response_ms: first.summary(),
        resolution_ms: resolution.summary(),
        sla_breaches: breaches,
        stuck_at_end: stuck,
        human_decisions: decisions,
        server_peak_rss_bytes: peak_rss,
        retries: 0,
    })
}

/// The sum of a counter's series in the desk's metrics.
async fn scrape(desk: &DeskClient, name: &str) -> u64 {
    let Ok(r) = desk
        .client
        .get(format!("{}/metrics", desk.base))
        .bearer_auth(&desk.token)
        .send()
        .await
    else {
        return 0;
    };
    let text = r.text().await.unwrap_or_default();
    text.lines()
        .filter(|l| l.starts_with(name) && !l.starts_with('#'))
        .filter_map(|l| l.split_whitespace().last()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

async fn peak_rss(desk: &DeskClient) -> Option<u64> {
    let r = desk
        .client
        .get(format!("{}/metrics", desk.base))
        .bearer_auth(&desk.token)
        .send()
        .await
        .ok()?;
    let text = r.text().await.ok()?;
    text.lines()
        .find(|l| l.starts_with("caseflow_process_peak_resident_memory_bytes "))?
        .split_whitespace()
        .nth(1)?
        .parse::<f64>()
        .ok()
        .map(|v| v as u64)
}
