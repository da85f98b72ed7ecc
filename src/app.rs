//! Wiring: from a config to a running desk (store, engine, HTTP router).
//! Used by `caseflow serve`, the integration tests and the load test.

use std::path::Path;
use std::sync::Arc;

use crate::channels::telegram::TelegramNotifier;
use crate::channels::whatsapp::WhatsappSender;
use crate::channels::{CustomerSender, RecordOnly};
use crate::config::Config;
use crate::engine::clock::{SharedClock, SystemClock};
use crate::engine::tools::MidtransClient;
use crate::engine::workflows::{EMBEDDED, Workflows};
use crate::engine::{Engine, Parts, Settings, recovery};
use crate::http::{AppState, router};
use crate::store::Store;
use crate::templates::Templates;
use crate::workflow::Workflow;

/// The template catalog built into the binary.
pub const EMBEDDED_TEMPLATES: &str = include_str!("../config/templates.toml");

/// A desk ready to serve: the running engine (case actors resumed), the
/// HTTP router over it, and what recovery found at start.
pub struct DeskServer {
    pub engine: Arc<Engine>,
    pub router: axum::Router,
    pub recovery: recovery::Report,
}

/// Reads the workflow named in config, or the built-in one.
pub fn load_workflow(config: &Config) -> anyhow::Result<Workflow> {
    let source = read_or_embedded(config.engine.workflow.as_deref(), EMBEDDED)?;
    let shown = config
        .engine
        .workflow
        .as_ref()
        .map_or("built-in workflow".to_string(), |p| p.display().to_string());
    Workflow::parse(&source).map_err(|e| anyhow::anyhow!("{shown}: {e}"))
}

fn read_or_embedded(path: Option<&Path>, embedded: &str) -> anyhow::Result<String> {
    match path {
        Some(p) => std::fs::read_to_string(p)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", p.display())),
        None => Ok(embedded.to_string()),
    }
}

/// Opens the store in `data_dir`, resumes its open cases and builds the
/// router. The returned desk is ready to serve, on the system clock.
pub async fn open_desk(
    config: &Config,
    data_dir: &Path,
    access: crate::http::auth::Access,
) -> anyhow::Result<DeskServer> {
    open_desk_with_clock(config, data_dir, access, SystemClock::shared()).await
}

/// As [`open_desk`], on `clock`: a [`ManualClock`](crate::engine::clock::ManualClock)
/// makes every timer of the desk (SLA, waits, in-doubt window, retention)
/// fire when a test moves it.
pub async fn open_desk_with_clock(
    config: &Config,
    data_dir: &Path,
    access: crate::http::auth::Access,
    clock: SharedClock,
) -> anyhow::Result<DeskServer> {
    crate::telemetry::install();
    let workflow = load_workflow(config)?;
    let templates_src = read_or_embedded(config.engine.templates.as_deref(), EMBEDDED_TEMPLATES)?;
    let templates = Templates::parse(&templates_src)?;
    let store = open_store(config, data_dir)?;
    let workflows = Workflows::load(&store, workflow).await?;
    let payments = payment_status_client(config)?;
    let mut policy = config.policy.build()?;
    policy.provider_lookup = payments.is_some();
    let wa = &config.channels.whatsapp;
    let (engine, recovery) = Engine::start(Parts {
        store: store.clone(),
        workflows,
        templates,
        settings: settings(config)?,
        sender: customer_sender(config)?,
        policy,
        tool_configs: config.tools.clone(),
        approvals: approval_lanes(config)?,
        limits: config.limits,
        pace: (!wa.api_base.trim().is_empty())
            .then(|| crate::engine::limits::OutboundLimiter::new(&config.limits)),
        payments,
        clock,
    })
    .await?;
    start_background_tasks(config, &engine, &store)?;
    let engine = Arc::new(engine);
    let state = app_state(config, engine.clone(), access);
    Ok(DeskServer {
        router: router(
            state,
            config.server.body_limit,
            config.server.webhook_body_limit,
        ),
        engine,
        recovery,
    })
}

/// The store under `data_dir/store`, with the configured durability and
/// fault drills.
fn open_store(config: &Config, data_dir: &Path) -> anyhow::Result<Arc<Store>> {
    let options = crate::store::StoreOptions {
        durability: config.store.durability,
        faults: crate::store::StoreFaults {
            fail_writes_while: config.faults.store_write_error_file.clone(),
            panic_writer_when: config.faults.store_writer_panic_file.clone(),
        },
    };
    Ok(Arc::new(Store::open_with(
        &data_dir.join("store"),
        options,
    )?))
}

/// The engine's settings from `[engine]`, the mode and the fault drills.
fn settings(config: &Config) -> anyhow::Result<Settings> {
    let e = &config.engine;
    Ok(Settings {
        mode: config.mode()?,
        collect_window_ms: e.collect_window.as_millis() as i64,
        stuck_after_ms: e.stuck_after.as_millis() as i64,
        restart_budget: e.restart_budget,
        restart_window: e.restart_window,
        panic_on_text: config
            .faults
            .panic_on_text
            .clone()
            .filter(|s| !s.is_empty()),
        abort_after_tool_call: config.faults.abort_after_tool_call,
        in_doubt_window: config.channels.whatsapp.in_doubt_window,
    })
}

/// The call timeout of `tool` (`[tools.<name>] timeout`, or the default).
fn tool_timeout(config: &Config, tool: &str) -> std::time::Duration {
    config.tools.get(tool).copied().unwrap_or_default().timeout
}

/// How replies leave: recorded only (the embedded default, optionally with
/// the random-failure drill), or the WhatsApp Cloud API when `api_base` is
/// set (CONTRACT section 3).
fn customer_sender(config: &Config) -> anyhow::Result<Arc<dyn CustomerSender>> {
    let wa = &config.channels.whatsapp;
    if !wa.api_base.trim().is_empty() {
        let timeout = tool_timeout(config, crate::core::machine::SEND_TOOL);
        return Ok(Arc::new(WhatsappSender::new(
            &wa.api_base,
            &wa.phone_number_id,
            &wa.access_token,
            timeout,
        )?));
    }
    let rate = config.faults.send_failure_rate;
    if rate > 0.0 {
        tracing::warn!(rate, "fault injection: customer sends fail at random");
        return Ok(Arc::new(crate::channels::Flaky {
            inner: RecordOnly,
            rate,
        }));
    }
    Ok(Arc::new(RecordOnly))
}

/// The Telegram lanes' chats, when a bot is configured.
fn approval_lanes(config: &Config) -> anyhow::Result<Option<Arc<TelegramNotifier>>> {
    let tg = &config.channels.telegram;
    if tg.api_base.trim().is_empty() || tg.bot_token.is_empty() {
        return Ok(None);
    }
    let timeout = tool_timeout(config, crate::engine::actor::TELEGRAM_TOOL);
    Ok(Some(Arc::new(TelegramNotifier::new(
        &tg.api_base,
        &tg.bot_token,
        &tg.operator_chat_id,
        &tg.coach_chat_id,
        timeout,
    )?)))
}

/// The Midtrans status API, when `[midtrans]` names one.
fn payment_status_client(config: &Config) -> anyhow::Result<Option<MidtransClient>> {
    let mt = &config.midtrans;
    if mt.api_base.trim().is_empty() || mt.server_key.is_empty() {
        return Ok(None);
    }
    let timeout = tool_timeout(config, crate::core::records::PAYMENT_STATUS_TOOL);
    Ok(Some(MidtransClient::new(
        &mt.api_base,
        &mt.server_key,
        timeout,
    )?))
}

/// The Notion sync (when configured) and the retention sweep, on the
/// engine's clock.
fn start_background_tasks(
    config: &Config,
    engine: &Engine,
    store: &Arc<Store>,
) -> anyhow::Result<()> {
    if config.notion.enabled() {
        let timeout = tool_timeout(config, crate::engine::notion::NOTION_TOOL);
        let source = crate::engine::notion::NotionSource::new(&config.notion, timeout)?;
        engine.start_notion_sync(source, config.notion.sync_interval);
    }
    crate::engine::retention::spawn(Arc::downgrade(store), config.retention, engine.clock());
    Ok(())
}

/// What every HTTP handler shares: the engine, who may call, and the
/// webhooks' secrets.
fn app_state(config: &Config, engine: Arc<Engine>, access: crate::http::auth::Access) -> AppState {
    let wa = &config.channels.whatsapp;
    AppState {
        engine,
        access: Arc::new(access),
        webhooks: Arc::new(crate::http::webhooks::WebhookSecrets {
            whatsapp_app_secret: wa.app_secret.clone(),
            whatsapp_verify_token: wa.verify_token.clone(),
            midtrans_server_key: config.midtrans.server_key.clone(),
            telegram_secret_token: config.channels.telegram.secret_token.clone(),
        }),
    }
}

/// The demo records under `config/demo/`, built into the binary.
const DEMO_STUDENTS: &str = include_str!("../config/demo/students.json");
const DEMO_SLOTS: &str = include_str!("../config/demo/slots.json");
const DEMO_KB: &str = include_str!("../config/demo/kb.json");

/// What `--demo` loaded.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DemoLoaded {
    pub students: usize,
    pub slots: usize,
    pub articles: usize,
}

/// Loads the demo records into an empty store; a store that already holds
/// students or cases is left as it is (`None`).
pub async fn load_demo(
    engine: &Engine,
    timezone: chrono_tz::Tz,
) -> anyhow::Result<Option<DemoLoaded>> {
    let store = engine.store();
    let mut busy = false;
    store.scan_cases(|_| {
        busy = true;
        false
    })?;
    if busy || store.has_students()? {
        return Ok(None);
    }
    let now = engine.now();
    let today = chrono::DateTime::from_timestamp_millis(now.millis())
        .unwrap_or_default()
        .with_timezone(&timezone)
        .date_naive();
    let students =
        crate::http::records::parse_students(relative_dates(DEMO_STUDENTS, today).as_bytes())
            .map_err(|e| anyhow::anyhow!("config/demo/students.json: {}", e.message()))?;
    let slots = crate::http::records::parse_slots(relative_dates(DEMO_SLOTS, today).as_bytes())
        .map_err(|e| anyhow::anyhow!("config/demo/slots.json: {}", e.message()))?;
    let articles = crate::http::records::parse_articles(DEMO_KB.as_bytes())
        .map_err(|e| anyhow::anyhow!("config/demo/kb.json: {}", e.message()))?;
    let loaded = DemoLoaded {
        students: students.len(),
        slots: slots.len(),
        articles: articles.len(),
    };
    store.upsert_students(students, now).await?;
    store.add_slots(slots).await?;
    store.put_articles(articles).await?;
    Ok(Some(loaded))
}

/// Replaces `@D+n` / `@D-n` with the date n days from `today`.
pub fn relative_dates(text: &str, today: chrono::NaiveDate) -> String {
    let mut out = text.to_string();
    for n in (0..=60i64).rev() {
        for (sign, days) in [('+', n), ('-', -n)] {
            let token = format!("@D{sign}{n}");
            if out.contains(&token) {
                let date = today + chrono::Duration::days(days);
                out = out.replace(&token, &date.format("%Y-%m-%d").to_string());
            }
        }
    }
    out
}
