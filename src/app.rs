//! Wiring: from a config to a running desk (store, engine, HTTP router).
//! Used by `caseflow serve`, the integration tests and the load test.

use std::path::Path;
use std::sync::Arc;

use crate::channels::whatsapp::WhatsappSender;
use crate::channels::{CustomerSender, RecordOnly};
use crate::config::Config;
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
/// router. The returned desk is ready to serve.
pub async fn open_desk(
    config: &Config,
    data_dir: &Path,
    access: crate::http::auth::Access,
) -> anyhow::Result<DeskServer> {
    crate::telemetry::install();
    let workflow = load_workflow(config)?;
    let templates_src = read_or_embedded(config.engine.templates.as_deref(), EMBEDDED_TEMPLATES)?;
    let templates = Templates::parse(&templates_src)?;
    let store = Arc::new(Store::open_with(
        &data_dir.join("store"),
        crate::store::StoreOptions {
            durability: config.store.durability,
            faults: crate::store::StoreFaults {
                fail_writes_while: config.faults.store_write_error_file.clone(),
                panic_writer_when: config.faults.store_writer_panic_file.clone(),
            },
        },
    )?);
    let weak_store = Arc::downgrade(&store);
    let workflows = Workflows::load(&store, workflow).await?;
    let e = &config.engine;
    let settings = Settings {
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
    };
    let wa = &config.channels.whatsapp;
    let rate = config.faults.send_failure_rate;
    let sender: Arc<dyn CustomerSender> = if wa.api_base.trim().is_empty() {
        if rate > 0.0 {
            tracing::warn!(rate, "fault injection: customer sends fail at random");
            Arc::new(crate::channels::Flaky {
                inner: RecordOnly,
                rate,
            })
        } else {
            Arc::new(RecordOnly)
        }
    } else {
        let timeout = config
            .tools
            .get(crate::core::machine::SEND_TOOL)
            .copied()
            .unwrap_or_default()
            .timeout;
        Arc::new(WhatsappSender::new(
            &wa.api_base,
            &wa.phone_number_id,
            &wa.access_token,
            timeout,
        )?)
    };
    let tg = &config.channels.telegram;
    let approvals = if tg.api_base.trim().is_empty() || tg.bot_token.is_empty() {
        None
    } else {
        let timeout = config
            .tools
            .get(crate::engine::actor::TELEGRAM_TOOL)
            .copied()
            .unwrap_or_default()
            .timeout;
        Some(Arc::new(crate::channels::telegram::TelegramNotifier::new(
            &tg.api_base,
            &tg.bot_token,
            &tg.operator_chat_id,
            &tg.coach_chat_id,
            timeout,
        )?))
    };
    let mt = &config.midtrans;
    let payments = if mt.api_base.trim().is_empty() || mt.server_key.is_empty() {
        None
    } else {
        let timeout = config
            .tools
            .get(crate::core::records::PAYMENT_STATUS_TOOL)
            .copied()
            .unwrap_or_default()
            .timeout;
        Some(crate::engine::tools::MidtransClient::new(
            &mt.api_base,
            &mt.server_key,
            timeout,
        )?)
    };
    let mut policy = config.policy.build()?;
    policy.provider_lookup = payments.is_some();
    let (engine, recovery) = Engine::start(Parts {
        store,
        workflows,
        templates,
        settings,
        sender,
        policy,
        tool_configs: config.tools.clone(),
        approvals,
        limits: config.limits,
        pace: (!wa.api_base.trim().is_empty())
            .then(|| crate::engine::limits::OutboundLimiter::new(&config.limits)),
        payments,
    })
    .await?;
    if config.notion.enabled() {
        let timeout = config
            .tools
            .get(crate::engine::notion::NOTION_TOOL)
            .copied()
            .unwrap_or_default()
            .timeout;
        let source = crate::engine::notion::NotionSource::new(&config.notion, timeout)?;
        engine.start_notion_sync(source, config.notion.sync_interval);
    }
    crate::engine::retention::spawn(weak_store, config.retention);
    let engine = Arc::new(engine);
    let state = AppState {
        engine: engine.clone(),
        access: Arc::new(access),
        webhooks: Arc::new(crate::http::webhooks::WebhookSecrets {
            whatsapp_app_secret: wa.app_secret.clone(),
            whatsapp_verify_token: wa.verify_token.clone(),
            midtrans_server_key: config.midtrans.server_key.clone(),
            telegram_secret_token: config.channels.telegram.secret_token.clone(),
        }),
    };
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
    let today = chrono::Utc::now().with_timezone(&timezone).date_naive();
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
    store
        .upsert_students(students, crate::engine::clock::now())
        .await?;
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
