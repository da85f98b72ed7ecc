//! Storage fault drills against the real binary: damaged sled files after a
//! clean stop, a disk that fills and frees (an injected fault, and a real
//! write error from a file-size limit), a writer that cannot go on, and an
//! unreadable case record.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{INGEST_TOKEN, Server, TOKEN};
use serde_json::Value;

/// Posts `n` messages from `customers` senders; returns the acknowledged ids.
async fn post(server: &Server, prefix: &str, n: usize, customers: usize) -> Vec<String> {
    let mut acked = Vec::new();
    for i in 0..n {
        let id = format!("wamid.{prefix}.{i}");
        let from = format!("+62855100{:05}", i % customers);
        let (status, v) = server.message(&from, &id, "halo kak, jadwal saya?").await;
        assert!(status == 202 || status == 200, "{status} {v}");
        acked.push(id);
    }
    acked
}

/// Inbound message ids present in the store, through the admin API.
async fn stored_ids(server: &Server) -> std::collections::HashSet<String> {
    let mut ids = std::collections::HashSet::new();
    for c in server.cases("").await {
        let case = server.case(c["id"].as_str().unwrap()).await;
        for m in case["messages"].as_array().unwrap() {
            if m["direction"] == "in" {
                ids.insert(m["provider_id"].as_str().unwrap().to_string());
            }
        }
    }
    ids
}

/// The ids of `acked` that the store does not show.
async fn missing(server: &Server, acked: &[String]) -> Vec<String> {
    let stored = stored_ids(server).await;
    acked
        .iter()
        .filter(|id| !stored.contains(*id))
        .cloned()
        .collect()
}

fn verify(data: &Path) -> std::process::Output {
    common::run(&["store", "verify", "--data-dir", data.to_str().unwrap()])
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

/// Starts `serve` on `dir` and returns its exit status and log if it exits
/// within 30 s (it refused to start), or None if it bound (then killed).
fn start_refused(dir: &Path) -> Option<(std::process::ExitStatus, String)> {
    let config = common::write_config(dir, "", "");
    let log = dir.join("refused.log");
    let _ = std::fs::remove_file(dir.join("data/listen.addr"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_caseflow"))
        .args(["serve", "--config", config.to_str().unwrap(), "--data-dir"])
        .arg(dir.join("data"))
        .env("CASEFLOW_ADMIN_TOKEN", TOKEN)
        .env("CASEFLOW_INGEST_TOKEN", INGEST_TOKEN)
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Some((status, std::fs::read_to_string(&log).unwrap()));
        }
        if dir.join("data/listen.addr").exists() || Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn damaged_sled_files_are_never_silent() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), "", "").await;
    let acked = post(&server, "c", 300, 60).await;
    assert!(server.terminate().success());
    let out = verify(&dir.path().join("data"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("store is sound"));
    let pristine = dir.path().join("pristine");
    copy_tree(&dir.path().join("data"), &pristine);

    type Damage = fn(&Path);
    let drills: [(&str, Damage); 4] = [
        ("db deleted", |store| {
            std::fs::remove_file(store.join("db")).unwrap()
        }),
        ("a flipped byte at 75% of db", |store| {
            let db = store.join("db");
            let mut bytes = std::fs::read(&db).unwrap();
            let at = bytes.len() * 3 / 4;
            bytes[at] ^= 0xff;
            std::fs::write(&db, bytes).unwrap();
        }),
        ("db truncated to 60%", |store| {
            let db = store.join("db");
            let len = std::fs::metadata(&db).unwrap().len();
            std::fs::OpenOptions::new()
                .write(true)
                .open(&db)
                .unwrap()
                .set_len(len * 6 / 10)
                .unwrap();
        }),
        ("a flipped byte in conf", |store| {
            let conf = store.join("conf");
            let mut bytes = std::fs::read(&conf).unwrap();
            bytes[2] ^= 0x01;
            std::fs::write(&conf, bytes).unwrap();
        }),
    ];
    for (what, damage) in drills {
        let case_dir = tempfile::tempdir().unwrap();
        let data = case_dir.path().join("data");
        copy_tree(&pristine, &data);
        damage(&data.join("store"));
        let out = verify(&data);
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        match start_refused(case_dir.path()) {
            Some((status, log)) => {
                // Refused: verify agrees, and both say what is wrong.
                assert!(!status.success(), "{what}");
                assert!(!out.status.success(), "{what}: verify passed: {said}");
                assert!(
                    log.contains("lost acknowledged writes")
                        || log.contains("is damaged")
                        || log.contains("corrupt"),
                    "{what}: {log}"
                );
                assert!(
                    said.contains("DAMAGE") || said.contains("cannot verify"),
                    "{what}: {said}"
                );
                eprintln!(
                    "{what}: refused: {}",
                    log.lines().find(|l| l.starts_with("Error:")).unwrap_or("")
                );
            }
            None => {
                // Started: then nothing acknowledged may be missing.
                let server = Server::start(case_dir.path(), "", "").await;
                let missing = missing(&server, &acked).await;
                assert!(
                    missing.is_empty(),
                    "{what}: started with acknowledged messages missing: {missing:?}"
                );
                assert!(out.status.success(), "{what}: {said}");
                server.terminate();
                eprintln!("{what}: no acknowledged write was affected");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_writes_can_be_accepted_by_the_operator() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), "", "").await;
    post(&server, "a", 20, 5).await;
    assert!(server.terminate().success());
    let store = dir.path().join("data/store");
    let len = std::fs::metadata(store.join("db")).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(store.join("db"))
        .unwrap()
        .set_len(len / 2)
        .unwrap();
    let (status, log) = start_refused(dir.path()).expect("refused to start");
    assert!(!status.success());
    assert!(log.contains("lost acknowledged writes"), "{log}");
    let data = dir.path().join("data");
    let out = common::run(&[
        "store",
        "verify",
        "--data-dir",
        data.to_str().unwrap(),
        "--accept-loss",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("accepted"));
    let server = Server::start(dir.path(), "", "").await;
    server.terminate();
    assert!(verify(&data).status.success());
}

#[test]
fn verify_names_bad_arguments_in_one_line() {
    let out = common::run(&["store", "verify"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("--data-dir"), "{err}");
    let out = common::run(&["store", "verify", "--data-dir", "/nonexistent/caseflow"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no such directory"), "{err}");
    let empty = tempfile::tempdir().unwrap();
    let out = common::run(&[
        "store",
        "verify",
        "--data-dir",
        empty.path().to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no store here"));
    let out = common::run(&["store", "check-everything"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(String::from_utf8_lossy(&out.stderr).lines().count(), 1);
}

async fn health(server: &Server) -> (u16, Value, Option<String>) {
    let r = server
        .client()
        .get(format!("{}/healthz", server.base))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let retry = r
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    (status, r.json().await.unwrap_or(Value::Null), retry)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_is_503_and_the_desk_recovers_by_itself() {
    let dir = tempfile::tempdir().unwrap();
    let flag = dir.path().join("disk-full");
    let server = Server::start(
        dir.path(),
        "",
        &format!(
            "[faults]\nstore_write_error_file = \"{}\"\n",
            flag.display()
        ),
    )
    .await;
    let before = post(&server, "before", 10, 3).await;

    std::fs::write(&flag, "").unwrap();
    let mut refused = Vec::new();
    for i in 0..5 {
        let id = format!("wamid.full.{i}");
        let r = server
            .client()
            .post(format!("{}/v1/messages", server.base))
            .bearer_auth(INGEST_TOKEN)
            .json(&serde_json::json!({"channel": "whatsapp", "from": "+6285510000001", "message_id": id, "text": "halo"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 503);
        assert_eq!(r.headers()["retry-after"], "5");
        let body: Value = r.json().await.unwrap();
        assert!(
            body["error"].as_str().unwrap().contains("No space left"),
            "{body}"
        );
        refused.push(id);
    }
    let (status, body, retry) = health(&server).await;
    assert_eq!(status, 503, "{body}");
    assert!(
        body["reason"].as_str().unwrap().contains("No space left"),
        "{body}"
    );
    assert_eq!(retry.as_deref(), Some("5"));

    std::fs::remove_file(&flag).unwrap();
    server
        .wait_for(
            "the store to take writes again",
            Duration::from_secs(20),
            || async { (health(&server).await.0 == 200).then_some(()) },
        )
        .await;
    // Nothing refused was stored: each is new now. Nothing acknowledged
    // before was lost.
    for id in &refused {
        let (status, v) = server.message("+6285510000001", id, "halo").await;
        assert_eq!(status, 202, "{v}");
    }
    let lost = missing(&server, &before).await;
    assert!(
        lost.is_empty(),
        "acknowledged before the fault, now missing: {lost:?}"
    );

    // A full disk at shutdown: the final flush fails, and the exit says so.
    std::fs::write(&flag, "").unwrap();
    let (status, _) = server.message("+6285510000002", "wamid.last", "halo").await;
    assert_eq!(status, 503);
    let log = server.log.clone();
    let exit = server.terminate();
    assert!(
        !exit.success(),
        "SIGTERM with a failed final flush exits non-zero"
    );
    assert!(
        std::fs::read_to_string(log)
            .unwrap()
            .contains("final flush failed")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_writer_that_cannot_go_on_makes_the_process_exit() {
    let dir = tempfile::tempdir().unwrap();
    let flag = dir.path().join("writer-panic");
    let extra = format!(
        "[faults]\nstore_writer_panic_file = \"{}\"\n",
        flag.display()
    );
    let server = Server::start(dir.path(), "", &extra).await;
    let acked = post(&server, "w", 5, 5).await;
    std::fs::write(&flag, "").unwrap();
    let (status, v) = server.message("+6285510000009", "wamid.w.x", "halo").await;
    assert_eq!(status, 503, "{v}");
    let log = server.log.clone();
    let exit = server.wait_exit().await;
    assert!(
        !exit.success(),
        "exits non-zero for its supervisor to restart it"
    );
    assert!(
        std::fs::read_to_string(log)
            .unwrap()
            .contains("store writer stopped")
    );
    // Restarted as a supervisor would: everything acknowledged is there.
    std::fs::remove_file(&flag).unwrap();
    let server = Server::start(dir.path(), "", &extra).await;
    let lost = missing(&server, &acked).await;
    assert!(
        lost.is_empty(),
        "acknowledged before the stop, now missing: {lost:?}"
    );
    assert!(!stored_ids(&server).await.contains("wamid.w.x"));
    server.terminate();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_case_is_quarantined_and_the_rest_of_the_desk_runs() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), "collect_window = \"50ms\"", "").await;
    let (_, a) = server
        .message("+6285520000001", "wamid.u.1", "halo kak")
        .await;
    let (_, b) = server
        .message("+6285520000002", "wamid.u.2", "halo kak")
        .await;
    let bad = a["case_id"].as_str().unwrap().to_string();
    let good = b["case_id"].as_str().unwrap().to_string();
    server.settle(&bad).await;
    server.settle(&good).await;
    assert!(server.terminate().success());

    // Damage one case record (a payload its schema cannot read).
    let store: PathBuf = dir.path().join("data/store");
    {
        let db = sled::open(&store).unwrap();
        let mut key = vec![b'c'];
        key.extend_from_slice(uuid::Uuid::parse_str(&bad).unwrap().as_bytes());
        let mut value = db.get(&key).unwrap().unwrap().to_vec();
        value.truncate(value.len() - 3);
        db.insert(key, value).unwrap();
        db.flush().unwrap();
    }
    let server = Server::start(dir.path(), "collect_window = \"50ms\"", "").await;
    assert!(server.log_text().contains("case record unreadable"));
    let stuck = server.cases("stuck=true").await;
    assert_eq!(stuck.len(), 1, "{stuck:?}");
    assert_eq!(stuck[0]["id"], bad.as_str());
    let reason = stuck[0]["stuck_reason"].as_str().unwrap();
    assert!(reason.starts_with("unreadable record: "), "{reason}");
    assert_eq!(stuck[0]["customer"], "+628******0001");
    let view = server.case(&bad).await;
    assert_eq!(view["stuck"], true);
    assert_eq!(view["unreadable"], true);
    assert_eq!(view["messages"][0]["text"], "halo kak");
    // The other case runs on.
    let (status, _) = server
        .message("+6285520000002", "wamid.u.3", "jadwal les saya?")
        .await;
    assert_eq!(status, 202);
    server.settle(&good).await;
    let (status, v) = server
        .admin_post(&format!("/admin/cases/{bad}/retry"), serde_json::json!({}))
        .await;
    assert!(
        status == 409 || status == 500 || status == 503,
        "{status} {v}"
    );
    assert!(server.terminate().success());
}

/// A server whose process the test owns (killed on drop).
struct Owned(std::process::Child);

impl Drop for Owned {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

fn set_file_size_limit(pid: i32, bytes: Option<u64>) {
    let limit = libc::rlimit {
        rlim_cur: bytes.unwrap_or(libc::RLIM_INFINITY),
        rlim_max: libc::RLIM_INFINITY,
    };
    let rc = unsafe { libc::prlimit(pid, libc::RLIMIT_FSIZE, &limit, std::ptr::null_mut()) };
    assert_eq!(rc, 0, "prlimit: {}", std::io::Error::last_os_error());
}

/// A real write error, as an ordinary user can cause one: a file-size
/// limit (RLIMIT_FSIZE) lowered under the running server makes the kernel
/// refuse sled's writes (EFBIG), as a full disk refuses them (ENOSPC).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_write_error_is_503_and_the_desk_recovers_when_writes_succeed() {
    use std::os::unix::process::CommandExt;
    let dir = tempfile::tempdir().unwrap();
    let config = common::write_config(dir.path(), "", "");
    let data = dir.path().join("data");
    let log = dir.path().join("server.log");
    let mut command = Command::new(env!("CARGO_BIN_EXE_caseflow"));
    command
        .args(["serve", "--config", config.to_str().unwrap(), "--data-dir"])
        .arg(&data)
        .env("CASEFLOW_ADMIN_TOKEN", TOKEN)
        .env("CASEFLOW_INGEST_TOKEN", INGEST_TOKEN)
        .stderr(std::fs::File::create(&log).unwrap());
    // Writes past the limit fail with EFBIG instead of killing the process.
    unsafe {
        command.pre_exec(|| {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            Ok(())
        });
    }
    let mut child = Owned(command.spawn().unwrap());
    let pid = child.0.id() as i32;
    let base = common::wait_listen_addr(&data, &mut child.0, &log);
    let client = reqwest::Client::new();
    let post = |id: String| {
        let client = client.clone();
        let url = format!("{base}/v1/messages");
        async move {
            let text = "x".repeat(4000);
            client
                .post(url)
                .bearer_auth(INGEST_TOKEN)
                .json(&serde_json::json!({"channel": "whatsapp", "from": "+6285530000001", "message_id": id, "text": text}))
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(post("wamid.r.first".into()).await.status(), 202);
    let db_len = std::fs::metadata(data.join("store/db")).unwrap().len();
    set_file_size_limit(pid, Some(db_len + 256 * 1024));
    let mut acked = Vec::new();
    let mut refused = None;
    for i in 0..2000 {
        let id = format!("wamid.r.{i}");
        let r = post(id.clone()).await;
        match r.status().as_u16() {
            202 => acked.push(id),
            503 => {
                assert!(r.headers().contains_key("retry-after"));
                refused = Some(id);
                break;
            }
            other => panic!("{other}: {}", r.text().await.unwrap()),
        }
    }
    let refused = refused.expect("a write failed once the file could not grow");
    let health = client.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status().as_u16(), 503);
    let reason: Value = health.json().await.unwrap();
    assert!(
        reason["reason"].as_str().unwrap().contains("failing"),
        "{reason}"
    );

    set_file_size_limit(pid, None);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = client.get(format!("{base}/healthz")).send().await.unwrap();
        if r.status() == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "did not recover: {}",
            std::fs::read_to_string(&log).unwrap()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The refused message was not acknowledged. Its group may or may not
    // have reached the disk before the error: the retry is taken (202) or
    // found (200, duplicate), never lost.
    let retried = post(refused).await.status().as_u16();
    assert!(retried == 202 || retried == 200, "{retried}");
    for id in acked.iter().rev().take(3) {
        assert_eq!(
            post(id.clone()).await.status(),
            200,
            "acknowledged {id} is kept"
        );
    }
    unsafe {
        libc::kill(pid, libc::SIGTERM);
    }
    let status = child.0.wait().unwrap();
    assert!(
        status.success(),
        "{}",
        std::fs::read_to_string(&log).unwrap()
    );
    eprintln!(
        "acknowledged {} messages before the write error",
        acked.len()
    );
}
