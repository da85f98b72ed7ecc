//! Test harness: runs the real `caseflow` binary on a temporary data dir and
//! talks to it over HTTP, the way an operator or a webhook would; or runs
//! the same desk in the test's process on a manual clock (`clocked.rs`), so
//! timers fire when the test moves the clock.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub mod clocked;
pub mod fake;

pub const TOKEN: &str = "test-admin-token-0123456789abcdef0123456789";
/// The ingest token every test server takes on `POST /v1/messages`.
pub const INGEST_TOKEN: &str = "test-ingest-token-0123456789abcdef012345";

pub struct Server {
    said: std::sync::atomic::AtomicU64,
    /// The `caseflow serve` process; `None` for a desk in this process.
    child: Option<Child>,
    /// The desk in this process with its manual clock (`start_clocked`).
    inproc: Option<clocked::InProcess>,
    pub base: String,
    pub dir: PathBuf,
    pub log: PathBuf,
    client: reqwest::Client,
}

/// Kills the server if the test ends (pass or panic) without stopping it:
/// no `caseflow serve` outlives its test.
impl Drop for Server {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child
            && let Ok(None) = child.try_wait()
        {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

pub fn repo_file(rel: &str) -> String {
    format!("{}/{rel}", env!("CARGO_MANIFEST_DIR"))
}

/// Writes a config for `dir` listening on port 0 (the bound port is read back
/// from `DIR/listen.addr`) with `engine_extra` in `[engine]` and `extra`
/// sections appended, and returns its path.
pub fn write_config(dir: &Path, engine_extra: &str, extra: &str) -> PathBuf {
    let path = dir.join("caseflow.toml");
    let text = format!(
        "mode = \"pilot\"\n[server]\nlisten = \"127.0.0.1:0\"\n[engine]\nworkflow = \"{}\"\ntemplates = \"{}\"\n{engine_extra}\n{extra}\n",
        repo_file("workflows/support.toml"),
        repo_file("config/templates.toml"),
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// Writes a config for `dir` whose workflow is `source` (saved as `dir/wf.toml`).
pub fn config_with_workflow(dir: &Path, source: &str) -> PathBuf {
    let wf = dir.join("wf.toml");
    std::fs::write(&wf, source).unwrap();
    let config = write_config(dir, "", "");
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace(&repo_file("workflows/support.toml"), wf.to_str().unwrap());
    std::fs::write(&config, text).unwrap();
    config
}

/// Waits for a server started on `data` to write the address it bound.
/// `child` is polled so a server that exits at start fails the test at once.
pub fn wait_listen_addr(data: &Path, child: &mut Child, log: &Path) -> String {
    let path = data.join("listen.addr");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(text) = std::fs::read_to_string(&path)
            && text.ends_with('\n')
        {
            return format!("http://{}", text.trim());
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "server exited at start ({status}); log:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        assert!(
            Instant::now() < deadline,
            "server did not bind; log:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

impl Server {
    /// Starts a server on `dir` (its store lives in `dir/data`).
    pub async fn start(dir: &Path, engine_extra: &str, extra: &str) -> Server {
        let config = write_config(dir, engine_extra, extra);
        Self::start_with_config(dir, &config).await
    }

    pub async fn start_with_config(dir: &Path, config: &Path) -> Server {
        Self::start_with_args(dir, config, &[]).await
    }

    /// Starts a server in `mode` on the demo records (`serve --demo`).
    pub async fn start_demo(dir: &Path, mode: &str) -> Server {
        Self::start_demo_with(dir, mode, "").await
    }

    /// As [`Server::start_demo`], with `extra` TOML sections in the config.
    pub async fn start_demo_with(dir: &Path, mode: &str, extra: &str) -> Server {
        let config = write_config(dir, "collect_window = \"50ms\"", extra);
        let text = std::fs::read_to_string(&config)
            .unwrap()
            .replace("mode = \"pilot\"", &format!("mode = \"{mode}\""));
        std::fs::write(&config, text).unwrap();
        Self::start_with_args(dir, &config, &["--demo"]).await
    }

    pub async fn start_with_args(dir: &Path, config: &Path, args: &[&str]) -> Server {
        Self::start_with_env(dir, config, args, &[]).await
    }

    /// As [`Server::start_with_args`], with environment changes: `(name,
    /// Some(value))` sets a variable, `(name, None)` removes it.
    pub async fn start_with_env(
        dir: &Path,
        config: &Path,
        args: &[&str],
        env: &[(&str, Option<&str>)],
    ) -> Server {
        static STARTS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = STARTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let data = dir.join("data");
        let _ = std::fs::remove_file(data.join("listen.addr"));
        let log = dir.join(format!("server-{n}.log"));
        let mut child = spawn(dir, config, &log, args, env);
        let base = wait_listen_addr(&data, &mut child, &log);
        let server = Server {
            said: Default::default(),
            child: Some(child),
            inproc: None,
            base,
            dir: dir.to_path_buf(),
            log,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(20))
                .build()
                .unwrap(),
        };
        server.wait_healthy().await;
        server
    }

    async fn wait_healthy(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = self
                .client
                .get(format!("{}/healthz", self.base))
                .send()
                .await
                && r.status().is_success()
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "server did not become healthy; log:\n{}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// The server process (a desk in this process has none).
    fn process(&mut self) -> &mut Child {
        self.child.as_mut().expect("a `caseflow serve` process")
    }

    pub fn pid(&self) -> i32 {
        self.child
            .as_ref()
            .expect("a `caseflow serve` process")
            .id() as i32
    }

    /// Waits for the process to exit by itself (e.g. a fault drill abort).
    pub async fn wait_exit(mut self) -> ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.process().try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "server did not exit");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// SIGKILL: no chance to flush or drain.
    pub fn kill9(mut self) {
        self.process().kill().unwrap();
        self.process().wait().unwrap();
    }

    /// SIGTERM, then waits for the exit (up to 30 s).
    pub fn terminate(mut self) -> ExitStatus {
        unsafe {
            libc::kill(self.pid(), libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.process().try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "server did not exit on SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    pub async fn post_raw(&self, body: &str) -> (u16, Value) {
        let r = self
            .client
            .post(format!("{}/v1/messages", self.base))
            .bearer_auth(INGEST_TOKEN)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn message(&self, from: &str, id: &str, text: &str) -> (u16, Value) {
        let body = json!({"channel": "whatsapp", "from": from, "message_id": id, "text": text});
        self.post_raw(&body.to_string()).await
    }

    pub async fn admin_get(&self, path: &str) -> (u16, Value) {
        let r = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn admin_post(&self, path: &str, body: Value) -> (u16, Value) {
        let r = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(TOKEN)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn case(&self, id: &str) -> Value {
        let (status, v) = self.admin_get(&format!("/admin/cases/{id}")).await;
        assert_eq!(status, 200, "GET case {id}: {v}");
        v
    }

    /// Every case the listing `query` shows, following `next_cursor` to
    /// the end: a first page leaves out the cases updated while it was
    /// read, and the next pages list them (CONTRACT section 4). A case
    /// listed twice is kept as last seen.
    pub async fn cases(&self, query: &str) -> Vec<Value> {
        let mut order: Vec<String> = Vec::new();
        let mut latest: std::collections::HashMap<String, Value> = Default::default();
        let mut cursor: Option<String> = None;
        loop {
            let more = cursor
                .as_ref()
                .map(|c| format!("&cursor={c}"))
                .unwrap_or_default();
            let (status, v) = self
                .admin_get(&format!("/admin/cases?limit=1000&{query}{more}"))
                .await;
            assert_eq!(status, 200, "{v}");
            for case in v["cases"].as_array().unwrap() {
                let id = case["id"].as_str().unwrap().to_string();
                if latest.insert(id.clone(), case.clone()).is_none() {
                    order.push(id);
                }
            }
            match v["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_string()),
                None => break,
            }
        }
        order
            .into_iter()
            .map(|id| latest.remove(&id).unwrap())
            .collect()
    }

    /// Waits until case `id` waits on `on` (e.g. "operator") and returns it.
    pub async fn wait_case_waiting(&self, id: &str, on: &str) -> Value {
        self.wait_for(
            &format!("case {id} to wait on {on}"),
            Duration::from_secs(10),
            || async {
                let c = self.case(id).await;
                (c["waiting_on"] == on).then_some(c)
            },
        )
        .await
    }

    /// Waits until case `id` rests: every message read, no decision
    /// pending, and waiting on the customer or a human; returns it.
    pub async fn settle(&self, id: &str) -> Value {
        self.wait_for(
            &format!("case {id} to settle"),
            Duration::from_secs(10),
            || async {
                let c = self.case(id).await;
                let resting = matches!(
                    c["waiting_on"].as_str(),
                    Some("customer" | "operator" | "coach")
                ) || c["state"] == "closed"
                    || c["state"] == "degraded";
                (resting && c["unread"] == 0 && c["decision_pending"] == false).then_some(c)
            },
        )
        .await
    }

    /// Posts a customer message and waits for its case to settle.
    pub async fn say(&self, from: &str, text: &str) -> Value {
        let n = self.said.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (status, body) = self.message(from, &format!("wamid.say.{n}"), text).await;
        assert_eq!(status, 202, "{body}");
        let id = body["case_id"].as_str().unwrap();
        if self.inproc.is_some() {
            self.collected(id).await;
        }
        self.settle(id).await
    }

    /// Posts a decision on case `id` and waits for the case to settle.
    pub async fn decide(&self, id: &str, body: Value) -> Value {
        let (status, v) = self
            .admin_post(&format!("/admin/cases/{id}/decision"), body)
            .await;
        assert_eq!(status, 202, "{v}");
        self.settle(id).await
    }

    /// Waits until the desk runs no case actor: every case woken so far
    /// has done all it would do and waits again. `GET /metrics` asks the
    /// case supervisor, after every wake-up sent before the request.
    pub async fn wait_idle(&self) {
        self.wait_for(
            "every case actor to be idle",
            Duration::from_secs(10),
            || async {
                let r = self
                    .client
                    .get(format!("{}/metrics", self.base))
                    .bearer_auth(TOKEN)
                    .send()
                    .await
                    .ok()?;
                let text = r.text().await.ok()?;
                let active = text
                    .lines()
                    .find_map(|l| l.strip_prefix("caseflow_active_actors "))?;
                (active.trim() == "0").then_some(())
            },
        )
        .await
    }

    /// Polls `check` until it returns Some or the deadline passes.
    pub async fn wait_for<T, F, Fut>(&self, what: &str, timeout: Duration, mut check: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(v) = check().await {
                return v;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; server log:\n{}",
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

fn spawn(
    dir: &Path,
    config: &Path,
    log: &Path,
    args: &[&str],
    env: &[(&str, Option<&str>)],
) -> Child {
    let log_file = std::fs::File::create(log).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_caseflow"));
    command
        .arg("serve")
        .arg("--config")
        .arg(config)
        .arg("--data-dir")
        .arg(dir.join("data"))
        .args(args)
        .env("CASEFLOW_ADMIN_TOKEN", TOKEN)
        .env("CASEFLOW_INGEST_TOKEN", INGEST_TOKEN)
        .env_remove("CASEFLOW_USERS_FILE")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(log_file);
    for (name, value) in env {
        match value {
            Some(v) => command.env(name, v),
            None => command.env_remove(name),
        };
    }
    command.spawn().expect("spawn caseflow")
}

/// Runs `caseflow` with `args` to completion.
pub fn run(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_caseflow"))
        .args(args)
        .output()
        .expect("run caseflow")
}
