//! The `caseflow` command: serve the desk, check a workflow, load-test,
//! report, evaluate scripted conversations, manage users, verify a store.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use caseflow::app;
use caseflow::config::Config;
use caseflow::store::health::Condition;
use caseflow::workflow::Workflow;

#[derive(Parser)]
#[command(
    name = "caseflow",
    version,
    about = "Durable customer-support case engine"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the desk: ingest, case actors, admin API.
    Serve {
        /// Config file (TOML). Missing default file: built-in defaults.
        #[arg(long, default_value = "config/default.toml")]
        config: PathBuf,
        /// Data directory (store, admin token). Overrides [store] path.
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Listen address. Overrides [server] listen.
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// Load the demo data under config/demo/ into an empty store.
        #[arg(long)]
        demo: bool,
    },
    /// Validate a declared workflow file.
    Check {
        #[arg(default_value = "workflows/support.toml")]
        file: PathBuf,
    },
    /// Rehearse a campaign spike (or a steady day, or a soak) against a
    /// desk: --target URL, or one started here on a temporary data dir.
    Loadtest(caseflow::loadtest::Options),
    /// Offline store tools (run on a stopped desk).
    Store {
        #[command(subcommand)]
        command: StoreCommand,
    },
    /// Run scripted conversations (CONTRACT section 6) through the
    /// configured workflow, policy and templates on throw-away stores;
    /// prints a pass/fail table and exits non-zero on any failure.
    Eval {
        /// Eval files (TOML), e.g. config/eval/*.toml.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Config file: mode, policy, workflow, templates.
        #[arg(long, default_value = "config/default.toml")]
        config: PathBuf,
    },
    /// The weekly dashboard (CONTRACT section 6) from a store, per ISO
    /// week and for the period. The desk must be stopped: sled allows one
    /// process per store (a running desk answers GET /admin/report).
    Report {
        /// Config file: the business timezone and the data directory.
        #[arg(long, default_value = "config/default.toml")]
        config: PathBuf,
        /// Data directory. Overrides [store] path.
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// First day, YYYY-MM-DD in the business timezone (default: the
        /// Monday three weeks before --to's week).
        #[arg(long)]
        from: Option<String>,
        /// Last day, YYYY-MM-DD (default: today).
        #[arg(long)]
        to: Option<String>,
        /// Write the self-contained HTML page (charts) here.
        #[arg(long)]
        html: Option<PathBuf>,
        /// Write the figures as JSON here.
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// Intent detection: measure it on labelled corpora, explain a text.
    #[command(subcommand)]
    Intents(caseflow::intents_cmd::IntentsCommand),
    /// Manage the users file (CASEFLOW_USERS_FILE).
    #[command(subcommand)]
    Users(UsersCommand),
}

#[derive(Subcommand)]
enum StoreCommand {
    /// Check a store: sled's files, lost acknowledged writes, every value
    /// and index. Exits non-zero on damage.
    Verify {
        /// The data directory (the one given to `serve`).
        #[arg(long)]
        data_dir: PathBuf,
        /// After lost writes were reported and you chose to go on with what
        /// is left: record the store's present state as acknowledged.
        #[arg(long)]
        accept_loss: bool,
    },
}

#[derive(Subcommand)]
enum UsersCommand {
    /// Add a user: prints a new random token once and stores only its
    /// SHA-256 in the users file (created with mode 0600 if missing).
    Add {
        /// The user's name, as decisions and the audit record it.
        name: String,
        /// viewer, operator, coach or admin.
        #[arg(long)]
        role: String,
        /// The users file [default: $CASEFLOW_USERS_FILE].
        #[arg(long, env = "CASEFLOW_USERS_FILE")]
        file: Option<PathBuf>,
    },
}

/// A user error (a missing file, a bad config, a refused token) prints one
/// line naming what is wrong, with its causes, and exits 1: never a
/// backtrace, whatever `RUST_BACKTRACE` says. Bad arguments print one line
/// and exit 2.
fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("caseflow: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<()> {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if e.use_stderr() => {
            // One line naming what is wrong, not a page of usage.
            let text = e.to_string();
            let what: Vec<&str> = text
                .lines()
                .take_while(|l| !l.trim().is_empty())
                .map(str::trim)
                .collect();
            eprintln!("{} (see `caseflow --help`)", what.join(" "));
            std::process::exit(2);
        }
        Err(e) => e.exit(),
    };
    match cli.command {
        Command::Check { file } => check(&file),
        Command::Intents(cmd) => caseflow::intents_cmd::run(cmd),
        Command::Store {
            command:
                StoreCommand::Verify {
                    data_dir,
                    accept_loss,
                },
        } => verify(&data_dir, accept_loss),
        Command::Users(UsersCommand::Add { name, role, file }) => {
            let file = file.context("name the users file with --file or CASEFLOW_USERS_FILE")?;
            let token = caseflow::http::credentials::add_user(&file, &name, &role)?;
            eprintln!(
                "added {name} ({role}) to {}; the token below is shown only this once. \
                 A running desk reads the users file at start: restart it.",
                file.display()
            );
            println!("{token}");
            Ok(())
        }
        Command::Loadtest(opts) => {
            init_tracing("error");
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            let report = runtime.block_on(caseflow::loadtest::run(opts))?;
            print!("{}", report.table());
            if report.failed() {
                anyhow::bail!(
                    "{} message(s) lost and {} duplicated",
                    report.lost,
                    report.duplicated
                );
            }
            Ok(())
        }
        Command::Eval { files, config } => {
            init_tracing("error");
            let config = load_config(&config)?;
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            let scorecard = runtime.block_on(caseflow::eval::run(&files, &config))?;
            print!("{}", scorecard.table());
            let failed = scorecard.failed();
            if failed > 0 {
                anyhow::bail!("{failed} eval step(s) failed");
            }
            Ok(())
        }
        Command::Report {
            config,
            data_dir,
            from,
            to,
            html,
            json,
        } => {
            init_tracing("warn");
            report(config, data_dir, from, to, html, json)
        }
        Command::Serve {
            config,
            data_dir,
            listen,
            demo,
        } => {
            init_tracing("info");
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            runtime.block_on(serve(config, data_dir, listen, demo))
        }
    }
}

/// Logs to stderr at `default` unless RUST_LOG says otherwise.
fn init_tracing(default: &str) {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default)),
        )
        .with_writer(std::io::stderr)
        // Colour only for a terminal: a log redirected to a file stays text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

/// `caseflow store verify`: prints what it read and any damage; exit 1 on
/// damage (after `--accept-loss`, 0 when lost writes were the only damage).
fn verify(data_dir: &std::path::Path, accept_loss: bool) -> anyhow::Result<()> {
    init_tracing("warn");
    if !data_dir.is_dir() {
        anyhow::bail!("--data-dir {}: no such directory", data_dir.display());
    }
    let path = data_dir.join("store");
    let report = caseflow::store::verify::verify(&path)
        .with_context(|| format!("cannot verify {}", path.display()))?;
    print!("{report}");
    if report.ok() {
        return Ok(());
    }
    if accept_loss && report.loss_only {
        let (seq, writes) = caseflow::store::verify::accept_loss(&path)?;
        println!(
            "accepted: the journal now records group {seq} ({writes} writes) as acknowledged; \
             the desk will start on what is left"
        );
        return Ok(());
    }
    if accept_loss {
        eprintln!("not accepted: the store has damage other than lost writes");
    }
    eprintln!("{}: store is damaged", path.display());
    std::process::exit(1);
}

fn check(file: &PathBuf) -> anyhow::Result<()> {
    let source =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    match Workflow::parse(&source) {
        Ok(wf) => {
            println!(
                "{}: workflow {} is valid ({} timers)",
                file.display(),
                wf.reference(),
                wf.timers().len()
            );
            Ok(())
        }
        Err(e) => {
            eprintln!("{}: {e}", file.display());
            std::process::exit(1);
        }
    }
}

/// Reads the config file, or the built-in defaults when the default file
/// is missing.
fn load_config(config_path: &std::path::Path) -> anyhow::Result<Config> {
    if config_path.exists() {
        Ok(Config::load(config_path)?)
    } else if config_path == std::path::Path::new("config/default.toml") {
        tracing::info!("no config/default.toml here: running on built-in defaults");
        Ok(Config::default())
    } else {
        anyhow::bail!("config file {} does not exist", config_path.display());
    }
}

fn report(
    config_path: PathBuf,
    data_dir: Option<PathBuf>,
    from: Option<String>,
    to: Option<String>,
    html: Option<PathBuf>,
    json: Option<PathBuf>,
) -> anyhow::Result<()> {
    use caseflow::report::period::{Period, local_date, parse_date};
    let config = load_config(&config_path)?;
    let tz = config.policy.build()?.timezone;
    let now = {
        use caseflow::engine::clock::Clock;
        caseflow::engine::clock::SystemClock.now()
    };
    let period = Period::new(
        parse_date("from", from.as_deref())?,
        parse_date("to", to.as_deref())?,
        local_date(now, tz),
        tz,
    )?;
    let data_dir = data_dir.unwrap_or_else(|| config.store.path.clone());
    let store = caseflow::store::Store::open_existing(&data_dir.join("store"))?;
    let started = std::time::Instant::now();
    let report = caseflow::report::compute(&store, period, now)?;
    let elapsed = started.elapsed();
    drop(store);
    if let Some(path) = &json {
        std::fs::write(path, serde_json::to_string_pretty(&report)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if let Some(path) = &html {
        std::fs::write(path, caseflow::report::html::render(&report))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    let mut text = format!(
        "caseflow report {} to {} ({}), {} cases read in {} ms\n",
        report.from,
        report.to,
        report.timezone,
        report.cases_read,
        elapsed.as_millis()
    );
    for (name, value) in caseflow::report::html::rows(&report.period) {
        text.push_str(&format!("  {name:<48} {value}\n"));
    }
    if !report.kb_gaps.is_empty() {
        text.push_str("  knowledge gaps (word: turns):\n");
        for g in report.kb_gaps.iter().take(10) {
            text.push_str(&format!("    {}: {}\n", g.word, g.turns));
        }
    }
    // A closed pipe (`| head`) is not an error of the report.
    let _ = std::io::Write::write_all(&mut std::io::stdout(), text.as_bytes());
    Ok(())
}

async fn serve(
    config_path: PathBuf,
    data_dir: Option<PathBuf>,
    listen: Option<SocketAddr>,
    demo: bool,
) -> anyhow::Result<()> {
    let config = load_config(&config_path)?;
    let open_files = match caseflow::http::server::raise_open_file_limit() {
        Ok((before, after)) => {
            tracing::info!(before, after, "open-file limit raised to the hard limit");
            after
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot raise the open-file limit");
            1024
        }
    };
    // The address first: a desk refused for a busy address leaves no data
    // directory behind (connections wait in the backlog while cases resume).
    let addr = listen.unwrap_or(config.server.listen);
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| {
        format!(
            "cannot listen on {addr} (is another desk running there? stop it, or give \
                 this one its own --listen and --data-dir)"
        )
    })?;
    let data_dir = data_dir.unwrap_or_else(|| config.store.path.clone());
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("cannot create data dir {}", data_dir.display()))?;
    let credentials = caseflow::http::credentials::load(&data_dir)?;
    log_credentials(&credentials);
    let desk = app::open_desk(&config, &data_dir, credentials.access).await?;
    let r = desk.recovery;
    tracing::info!(
        open = r.open,
        woken = r.woken,
        passivated = r.passivated,
        quarantined = r.quarantined,
        unreadable = r.unreadable,
        unknown_workflow = r.unknown_workflow,
        migrated = r.migrated,
        elapsed_ms = r.elapsed_ms as u64,
        "open cases resumed"
    );
    if demo {
        let tz = config.policy.build()?.timezone;
        match app::load_demo(&desk.engine, tz).await? {
            Some(l) => tracing::info!(
                students = l.students,
                slots = l.slots,
                articles = l.articles,
                "demo records loaded; README.md has a walk-through"
            ),
            None => tracing::info!("store already holds data: demo records not loaded"),
        }
    }
    let bound = listener.local_addr()?;
    write_listen_addr(&data_dir, bound)?;
    let mut limits = caseflow::http::server::ConnectionLimits::from_config(&config.server);
    limits.max_connections =
        caseflow::http::server::effective_cap(limits.max_connections, open_files);
    tracing::info!(
        addr = %bound,
        max_connections = limits.max_connections,
        header_read_timeout = ?limits.header_read_timeout,
        idle_timeout = ?limits.idle_timeout,
        "caseflow listening"
    );
    let store = desk.engine.store_handle();
    let stopped = std::sync::Arc::new(std::sync::Mutex::new(None::<String>));
    let shutdown = {
        let stopped = stopped.clone();
        let mut health = store.health().subscribe();
        async move {
            tokio::select! {
                _ = shutdown_signal() => {}
                c = health.wait_for(|c| matches!(c, Condition::Stopped { .. })) => {
                    if let Ok(c) = c && let Condition::Stopped { reason } = &*c {
                        *stopped.lock().unwrap_or_else(|p| p.into_inner()) = Some(reason.clone());
                    }
                }
            }
        }
    };
    caseflow::http::server::serve(listener, desk.router, limits, shutdown).await?;
    if let Some(reason) = stopped.lock().unwrap_or_else(|p| p.into_inner()).take() {
        // Serving without a store helps no one: exit, so that the
        // supervisor restarts the process on the same data dir.
        tracing::error!(%reason, "store writer stopped; exiting for a restart");
        anyhow::bail!("store writer stopped: {reason}");
    }
    tracing::info!("draining in-flight cases");
    let drained = desk.engine.drain(config.engine.drain_timeout).await;
    if let Err(e) = store.close() {
        tracing::error!(error = %e, "final flush failed");
        anyhow::bail!("final flush failed: {e}");
    }
    tracing::info!(drained, "stopped");
    Ok(())
}

/// Says where each token came from (never the token itself).
fn log_credentials(c: &caseflow::http::credentials::Loaded) {
    use caseflow::http::credentials::TokenSource;
    for (what, source) in [("admin token", &c.admin), ("ingest token", &c.ingest)] {
        match source {
            TokenSource::Env(var) => tracing::info!(from = var, "{what} from the environment"),
            TokenSource::File(path) => {
                tracing::info!(path = %path.display(), "{what} is in this file")
            }
            TokenSource::Generated(path) => {
                tracing::info!(path = %path.display(), "{what} generated into this file (mode 0600)")
            }
        }
    }
    match &c.users_file {
        Some(path) => tracing::info!(
            path = %path.display(),
            users = c.access.users().len(),
            coach = c.access.has_coach(),
            "users file read"
        ),
        None => tracing::info!(
            "no users file (CASEFLOW_USERS_FILE): the admin token records the body's `by`"
        ),
    }
}

/// Writes the bound address to `DIR/listen.addr` (atomically: a temp file
/// renamed), so a script or test that asked for port 0 learns the port.
fn write_listen_addr(data_dir: &std::path::Path, addr: SocketAddr) -> anyhow::Result<()> {
    let path = data_dir.join("listen.addr");
    let tmp = data_dir.join("listen.addr.tmp");
    std::fs::write(&tmp, format!("{addr}\n"))
        .and_then(|()| std::fs::rename(&tmp, &path))
        .with_context(|| format!("cannot write {}", path.display()))
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    let mut int = signal(SignalKind::interrupt()).expect("SIGINT handler");
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}
