//! A desk in the test's own process on a manual clock: the same config,
//! router and HTTP surface as `caseflow serve` (served on 127.0.0.1, port
//! 0), but every timer (SLA, waits, collect window, in-doubt window,
//! breaker window, retention) fires when the test moves the clock with
//! [`Server::advance`], so a 72-hour deadline takes no real time. Stopped
//! with the test: the listener on drop, the engine with the runtime.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use caseflow::engine::Engine;
use caseflow::engine::clock::{Clock, ManualClock};
use serde_json::Value;

use super::{INGEST_TOKEN, Server, TOKEN};

/// The in-process desk behind a [`Server`] started by
/// [`Server::start_clocked`].
pub struct InProcess {
    pub clock: Arc<ManualClock>,
    pub engine: Arc<Engine>,
    collect_window: Duration,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    serving: tokio::task::JoinHandle<()>,
}

impl Drop for InProcess {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.serving.abort();
    }
}

impl Server {
    /// Opens the desk of `config` on `dir/data` in this process, on a
    /// manual clock standing at the current time, with the demo records
    /// when `demo`; serves it on 127.0.0.1 (port 0) under the test tokens.
    pub async fn start_clocked(dir: &Path, config: &Path, demo: bool) -> Server {
        let config = caseflow::config::Config::load(config).expect("config");
        let data = dir.join("data");
        std::fs::create_dir_all(&data).unwrap();
        let clock = ManualClock::starting_now();
        let access = caseflow::http::auth::Access::new(TOKEN, INGEST_TOKEN);
        let desk = caseflow::app::open_desk_with_clock(&config, &data, access, clock.clone())
            .await
            .expect("desk opens");
        if demo {
            let tz = config.policy.build().unwrap().timezone;
            caseflow::app::load_demo(&desk.engine, tz).await.unwrap();
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let limits = caseflow::http::server::ConnectionLimits::from_config(&config.server);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let serving = tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            let _ = caseflow::http::server::serve(listener, desk.router, limits, shutdown).await;
        });
        let server = Server {
            said: Default::default(),
            child: None,
            inproc: Some(InProcess {
                clock,
                engine: desk.engine,
                collect_window: config.engine.collect_window,
                stop: Some(stop),
                serving,
            }),
            base,
            dir: dir.to_path_buf(),
            log: dir.join("in-process.log"),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(20))
                .build()
                .unwrap(),
        };
        server.wait_healthy().await;
        server
    }

    fn in_process(&self) -> &InProcess {
        self.inproc
            .as_ref()
            .expect("a desk in this process (Server::start_clocked)")
    }

    /// The desk's manual clock.
    pub fn clock(&self) -> &Arc<ManualClock> {
        &self.in_process().clock
    }

    /// The in-process desk's engine.
    pub fn engine(&self) -> &Arc<Engine> {
        &self.in_process().engine
    }

    /// Moves the desk's clock forward: the timers now due fire.
    pub fn advance(&self, by: Duration) {
        self.clock().advance(by);
    }

    /// The current time on the desk's clock, as RFC 3339 parses it.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::from_timestamp_millis(self.clock().now().millis()).unwrap()
    }

    /// Waits until case `id` has read its messages into the turn, then
    /// moves the clock past the collect window so the turn is tiered.
    pub async fn collected(&self, id: &str) -> Value {
        let c = self
            .wait_for(
                &format!("case {id} to read its messages"),
                Duration::from_secs(10),
                || async {
                    let c = self.case(id).await;
                    (c["unread"] == 0).then_some(c)
                },
            )
            .await;
        self.advance(self.in_process().collect_window);
        c
    }
}

/// The due time of the timer `name` armed on case `c`, if armed.
pub fn timer_due(c: &Value, name: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    c["timers"]
        .as_array()?
        .iter()
        .find(|t| t["name"] == name)
        .and_then(|t| t["due"].as_str())
        .and_then(|d| chrono::DateTime::parse_from_rfc3339(d).ok())
        .map(|d| d.to_utc())
}

/// When case `c` opened.
pub fn opened_at(c: &Value) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(c["opened_at"].as_str().unwrap())
        .unwrap()
        .to_utc()
}
