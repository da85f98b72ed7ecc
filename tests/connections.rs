//! Connection hygiene (CONTRACT section 3), against the real binary with
//! short limits: a request header must come in time, idle keep-alive
//! connections are closed, connections past the cap get a clear 503, and
//! the open-file soft limit is raised to the hard limit.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{Server, write_config};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn start(dir: &Path, server: &str) -> Server {
    let config = write_config(dir, "", "");
    let text = std::fs::read_to_string(&config).unwrap().replace(
        "[server]\nlisten = \"127.0.0.1:0\"\n",
        &format!("[server]\nlisten = \"127.0.0.1:0\"\n{server}\n"),
    );
    std::fs::write(&config, text).unwrap();
    Server::start_with_config(dir, &config).await
}

fn addr(s: &Server) -> String {
    s.base.trim_start_matches("http://").to_string()
}

/// Reads until the server closes the connection (EOF or reset); returns
/// what was read and when the close came.
async fn read_to_close(stream: &mut TcpStream, within: Duration) -> (Vec<u8>, Instant) {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (out, Instant::now()),
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Err(_) => panic!("the server kept the connection open past {within:?}"),
        }
    }
}

/// Reads one whole response (head and `content-length` body).
async fn read_response(stream: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&out).to_string();
        if let Some(end) = text.find("\r\n\r\n") {
            let len = text[..end]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().unwrap())
                })
                .unwrap_or(0);
            if out.len() >= end + 4 + len {
                return text;
            }
        }
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
            .await
            .expect("a response in time")
            .unwrap();
        assert!(n > 0, "closed before the response: {text}");
        out.extend_from_slice(&buf[..n]);
    }
}

const HEALTH: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: caseflow\r\n\r\n";

#[tokio::test(flavor = "multi_thread")]
async fn slow_headers_and_idle_keep_alive_connections_are_closed() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(
        dir.path(),
        "header_read_timeout = \"400ms\"\nidle_timeout = \"1500ms\"",
    )
    .await;
    let log = s.log_text();
    assert!(log.contains("400ms") && log.contains("1.5s"), "{log}");

    // Half a header, then nothing: closed after the header timeout.
    let mut half = TcpStream::connect(addr(&s)).await.unwrap();
    let sent = Instant::now();
    half.write_all(b"GET /healthz HTTP/1.1\r\nHost: caseflow\r\n")
        .await
        .unwrap();
    let (got, closed) = read_to_close(&mut half, Duration::from_secs(5)).await;
    assert!(got.is_empty(), "no answer to half a request");
    let waited = closed - sent;
    assert!(
        waited >= Duration::from_millis(380),
        "closed too soon: {waited:?}"
    );

    // Connected and silent: the same.
    let mut silent = TcpStream::connect(addr(&s)).await.unwrap();
    let opened = Instant::now();
    let (_, closed) = read_to_close(&mut silent, Duration::from_secs(5)).await;
    assert!(closed - opened >= Duration::from_millis(380));

    // A keep-alive connection: a second request in the idle window is
    // served; idle past the header timeout it stays open; idle past the
    // idle timeout it is closed.
    let mut kept = TcpStream::connect(addr(&s)).await.unwrap();
    kept.write_all(HEALTH).await.unwrap();
    assert!(read_response(&mut kept).await.starts_with("HTTP/1.1 200"));
    kept.write_all(HEALTH).await.unwrap();
    assert!(read_response(&mut kept).await.starts_with("HTTP/1.1 200"));
    let idle_from = Instant::now();
    let mut buf = [0u8; 16];
    let early = tokio::time::timeout(Duration::from_millis(900), kept.read(&mut buf)).await;
    assert!(
        early.is_err(),
        "closed while idle for less than the idle timeout"
    );
    let (_, closed) = read_to_close(&mut kept, Duration::from_secs(5)).await;
    let idle = closed - idle_from;
    assert!(idle >= Duration::from_millis(1400), "closed after {idle:?}");

    // A keep-alive request that starts but does not finish its header.
    let mut stalled = TcpStream::connect(addr(&s)).await.unwrap();
    stalled.write_all(HEALTH).await.unwrap();
    read_response(&mut stalled).await;
    stalled.write_all(b"GET /healthz HT").await.unwrap();
    let started = Instant::now();
    let (_, closed) = read_to_close(&mut stalled, Duration::from_secs(5)).await;
    let waited = closed - started;
    assert!(
        waited >= Duration::from_millis(380) && waited < Duration::from_millis(1400),
        "a started header gets the header timeout, not the idle one: {waited:?}"
    );

    // The desk is still fine.
    let (status, _) = s.admin_get("/admin/cases").await;
    assert_eq!(status, 200);
    s.terminate();
}

#[tokio::test(flavor = "multi_thread")]
async fn past_the_connection_cap_a_connection_gets_a_503_and_is_closed() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(
        dir.path(),
        "max_connections = 4\nheader_read_timeout = \"20s\"",
    )
    .await;
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(TcpStream::connect(addr(&s)).await.unwrap());
    }
    let mut extra = TcpStream::connect(addr(&s)).await.unwrap();
    let _ = extra.write_all(HEALTH).await;
    let (got, _) = read_to_close(&mut extra, Duration::from_secs(5)).await;
    let text = String::from_utf8_lossy(&got);
    assert!(
        text.starts_with("HTTP/1.1 503 Service Unavailable"),
        "{text}"
    );
    assert!(
        text.to_ascii_lowercase().contains("retry-after: 1"),
        "{text}"
    );
    assert!(text.contains("too many connections (limit 4)"), "{text}");
    // A held connection goes away: a new one is served again. (The first
    // ones were accepted; the harness's own keep-alive connection may hold
    // a slot too, so the last may have been refused.)
    drop(held.remove(0));
    s.wait_for(
        "a free connection slot",
        Duration::from_secs(10),
        || async {
            let mut c = TcpStream::connect(addr(&s)).await.ok()?;
            c.write_all(HEALTH).await.ok()?;
            let (got, _) = read_to_close_or_response(&mut c).await;
            got.starts_with("HTTP/1.1 200").then_some(())
        },
    )
    .await;
    drop(held);
    s.terminate();
}

/// Reads a whole response, or until the connection closes.
async fn read_to_close_or_response(stream: &mut TcpStream) -> (String, ()) {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(Ok(n)) = tokio::time::timeout(Duration::from_secs(2), stream.read(&mut buf)).await
    {
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&out);
        if text.contains("\r\n\r\n{") && text.ends_with('}') {
            break;
        }
    }
    (String::from_utf8_lossy(&out).to_string(), ())
}

/// Kills the child when the test ends.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_open_file_soft_limit_is_raised_to_the_hard_limit_and_caps_connections() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "", "");
    let log_path = dir.path().join("server.log");
    // Started with a low soft limit, as a shell with `ulimit -Sn 512` would.
    let child = std::process::Command::new("sh")
        .arg("-c")
        .arg("ulimit -Sn 512 && exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_caseflow"))
        .args(["serve", "--config"])
        .arg(&config)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .env("CASEFLOW_ADMIN_TOKEN", common::TOKEN)
        .env("CASEFLOW_INGEST_TOKEN", common::INGEST_TOKEN)
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .unwrap();
    let mut child = Killed(child);
    common::wait_listen_addr(&dir.path().join("data"), &mut child.0, &log_path);
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", child.0.id())).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    let numbers: Vec<u64> = line
        .split_whitespace()
        .skip(3)
        .take(2)
        .map(|n| n.parse().unwrap())
        .collect();
    assert_eq!(numbers[0], numbers[1], "soft = hard: {line}");
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(log.contains("open-file limit raised"), "{log}");
    assert!(log.contains("before=512"), "{log}");
    if numbers[1] < 1024 + 128 {
        // The cap stays under the limit.
        assert!(
            log.contains(&format!("max_connections={}", numbers[1] - 128)),
            "{log}"
        );
    }
}
