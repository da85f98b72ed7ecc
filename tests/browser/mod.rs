//! A real headless Chromium for console tests, driven over WebDriver
//! (Debian's `chromium` and `chromium-driver`, as `.ci/run` installs them).
//!
//! [`Browser::start`] runs `chromedriver` on a free port in its own process
//! group, with a fresh empty profile directory; dropping the [`Browser`]
//! kills the group and any Chromium process still using that profile, so
//! nothing outlives the test, pass or fail. Without Chromium installed the
//! start fails with the command that installs it: a browser test never
//! passes without a browser.
#![allow(dead_code)]

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

const INSTALL: &str = "the console's browser tests need Chromium and its WebDriver: \
     `apt-get update && apt-get install -y chromium chromium-driver` (CI's .ci/run installs them)";

/// A phone-sized viewport: width and height in CSS pixels.
pub const PHONE: (u32, u32) = (390, 844);
/// A laptop-sized window.
pub const DESKTOP: (u32, u32) = (1280, 900);

fn find_binary(env: &str, candidates: &[&str]) -> Option<PathBuf> {
    if let Ok(p) = std::env::var(env) {
        return Some(PathBuf::from(p));
    }
    candidates.iter().map(PathBuf::from).find(|p| p.is_file())
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

pub struct Browser {
    pub client: Client,
    driver: Child,
    profile: tempfile::TempDir,
    pub viewport: (u32, u32),
}

impl Drop for Browser {
    fn drop(&mut self) {
        let pgid = self.driver.id() as i32;
        // The driver's group holds the driver and the browser it started.
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
        let _ = self.driver.wait();
        kill_using(self.profile.path());
    }
}

/// Kills every process whose command line names `profile` (a Chromium
/// that left the driver's process group).
fn kill_using(profile: &Path) {
    let needle = profile.to_string_lossy().to_string();
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return;
    };
    for p in procs.flatten() {
        let Ok(pid) = p.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(cmd) = std::fs::read(p.path().join("cmdline")) else {
            continue;
        };
        if String::from_utf8_lossy(&cmd).contains(&needle) {
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
    }
}

impl Browser {
    /// Starts Chromium headless with a `width` x `height` viewport; a width
    /// under 600 emulates a phone (touch, device metrics, mobile viewport).
    pub async fn start(viewport: (u32, u32)) -> Browser {
        let driver = find_binary("CHROMEDRIVER", &["/usr/bin/chromedriver"]);
        Browser::start_with(viewport, driver).await
    }

    /// As [`Browser::start`], with the WebDriver binary given (`None`: not
    /// installed).
    pub async fn start_with(viewport: (u32, u32), driver_bin: Option<PathBuf>) -> Browser {
        let driver_bin = driver_bin.unwrap_or_else(|| panic!("chromedriver not found: {INSTALL}"));
        let chromium = find_binary(
            "CHROMIUM",
            &["/usr/bin/chromium", "/usr/bin/chromium-browser"],
        )
        .unwrap_or_else(|| panic!("chromium not found: {INSTALL}"));
        let profile = tempfile::tempdir().unwrap();
        let port = free_port();
        let log = profile.path().join("chromedriver.log");
        let mut driver = Command::new(&driver_bin)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .arg(format!("--log-path={}", log.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}; {INSTALL}", driver_bin.display()));
        let url = format!("http://127.0.0.1:{port}");
        wait_ready(&url, &mut driver).await;
        let user_data = profile.path().join("user-data");
        std::fs::create_dir(&user_data).unwrap();
        let mut args = vec![
            "--headless=new".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--no-first-run".into(),
            "--disable-dev-shm-usage".into(),
            "--hide-scrollbars".into(),
            format!("--user-data-dir={}", user_data.display()),
            format!("--window-size={},{}", viewport.0, viewport.1),
        ];
        args.push("--lang=en-US".into());
        let mut options = json!({
            "binary": chromium.to_string_lossy(),
            "args": args,
        });
        if viewport.0 < 600 {
            options["mobileEmulation"] = json!({
                "deviceMetrics": {"width": viewport.0, "height": viewport.1, "pixelRatio": 2.0, "touch": true},
                "userAgent": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Mobile Safari/537.36",
            });
        }
        let mut caps = serde_json::Map::new();
        caps.insert("goog:chromeOptions".into(), options);
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&url)
            .await;
        let client = match client {
            Ok(c) => c,
            Err(e) => {
                let driver_log = std::fs::read_to_string(&log).unwrap_or_default();
                let tail: String = driver_log
                    .lines()
                    .rev()
                    .take(30)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect::<Vec<_>>()
                    .join("\n");
                unsafe {
                    libc::kill(-(driver.id() as i32), libc::SIGKILL);
                }
                let _ = driver.wait();
                panic!("Chromium did not start ({e}); {INSTALL}\nchromedriver log:\n{tail}");
            }
        };
        Browser {
            client,
            driver,
            profile,
            viewport,
        }
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.unwrap();
    }

    /// The first element matching `css`, waiting up to 20 s for it.
    pub async fn find(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element {css}: {e}"))
    }

    /// The texts of every element matching `css` now (no wait).
    pub async fn find_all_text(&self, css: &str) -> Vec<String> {
        let mut out = Vec::new();
        for e in self.client.find_all(Locator::Css(css)).await.unwrap() {
            out.push(e.text().await.unwrap_or_default());
        }
        out
    }

    /// The text of the first element matching `css`; an element replaced
    /// by a navigation meanwhile is found again.
    pub async fn text(&self, css: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            match self.find(css).await.text().await {
                Ok(t) => return t,
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => panic!("text of {css}: {e}"),
            }
        }
    }

    /// Waits (up to 20 s) for the first element matching `css` to read
    /// `expected` (after a navigation to the same URL, say).
    pub async fn wait_text(&self, css: &str, expected: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let got = self.text(css).await;
            if got == expected {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{css} reads {got:?}, never {expected:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Runs `script` in the page and answers its result.
    pub async fn js(&self, script: &str) -> Value {
        self.client.execute(script, vec![]).await.unwrap()
    }

    /// Waits (up to 20 s) for the page's URL to contain `part`.
    pub async fn wait_url(&self, part: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let url = self.client.current_url().await.unwrap().to_string();
            if url.contains(part) {
                return url;
            }
            assert!(
                Instant::now() < deadline,
                "url {url} never contained {part}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Whether the page scrolls sideways (wider than the viewport).
    pub async fn scrolls_sideways(&self) -> (bool, Value) {
        let v = self
            .js("return {scroll: document.documentElement.scrollWidth, \
                 body: document.body.scrollWidth, inner: window.innerWidth};")
            .await;
        let inner = v["inner"].as_f64().unwrap_or(0.0);
        let wide = v["scroll"].as_f64().unwrap_or(0.0) > inner
            || v["body"].as_f64().unwrap_or(0.0) > inner;
        (wide, v)
    }

    /// Saves a screenshot of the viewport as `dir/name.png`.
    pub async fn screenshot(&self, dir: &Path, name: &str) -> PathBuf {
        std::fs::create_dir_all(dir).unwrap();
        let png = self.client.screenshot().await.unwrap();
        assert!(png.starts_with(b"\x89PNG"), "a screenshot is a PNG");
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        path
    }

    /// Ends the WebDriver session (the drop kills what is left).
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}

async fn wait_ready(url: &str, driver: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let http = reqwest::Client::new();
    loop {
        if let Ok(r) = http.get(format!("{url}/status")).send().await
            && let Ok(v) = r.json::<Value>().await
            && v["value"]["ready"] == true
        {
            return;
        }
        if let Ok(Some(status)) = driver.try_wait() {
            panic!("chromedriver exited at start ({status}); {INSTALL}");
        }
        assert!(
            Instant::now() < deadline,
            "chromedriver did not become ready; {INSTALL}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Where screenshots of a test run are kept.
pub fn screenshot_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap_or(Path::new("."))
        .join("console-screenshots")
}
