//! Wiring: from a config to a running desk (store, engine, HTTP router).
//! Used by `caseflow serve`, the integration tests and the load test.

use std::path::{Path, PathBuf};
use std::sync::Arc;

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

pub struct Desk {
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
    admin_token: &str,
) -> anyhow::Result<Desk> {
    let workflow = load_workflow(config)?;
    let templates_src = read_or_embedded(config.engine.templates.as_deref(), EMBEDDED_TEMPLATES)?;
    let templates = Templates::parse(&templates_src)?;
    let store = Arc::new(Store::open(&data_dir.join("store"))?);
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
    };
    let sender: Arc<dyn CustomerSender> = Arc::new(RecordOnly);
    let (engine, recovery) = Engine::start(Parts {
        store,
        workflows,
        templates,
        settings,
        sender,
        policy: config.policy.build()?,
    })
    .await?;
    let engine = Arc::new(engine);
    let state = AppState {
        engine: engine.clone(),
        admin_token: Arc::from(admin_token),
    };
    Ok(Desk {
        router: router(state, config.server.body_limit),
        engine,
        recovery,
    })
}

/// The admin token: `CASEFLOW_ADMIN_TOKEN`, else the one in
/// `DIR/admin.token`, else a new one written there with mode 0600.
pub fn admin_token(data_dir: &Path) -> anyhow::Result<(String, Option<PathBuf>)> {
    if let Ok(t) = std::env::var("CASEFLOW_ADMIN_TOKEN")
        && !t.trim().is_empty()
    {
        return Ok((t.trim().to_string(), None));
    }
    let path = data_dir.join("admin.token");
    if let Ok(existing) = std::fs::read_to_string(&path)
        && existing.trim().len() >= 32
    {
        return Ok((existing.trim().to_string(), Some(path)));
    }
    let token = hex::encode(rand::random::<[u8; 32]>());
    write_private(&path, &token)?;
    Ok((token, Some(path)))
}

fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(contents.as_bytes())?;
    f.sync_all()?;
    Ok(())
}
