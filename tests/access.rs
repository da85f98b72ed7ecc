//! Access control (CONTRACT section 3, "Access"), driven against the real
//! binary: tokens and roles on every route, who may decide which lane,
//! `approvals[].by`, `GET /admin/me`, `caseflow users add`, and the checks
//! that refuse a start.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::{INGEST_TOKEN, Server, TOKEN, run, write_config};
use serde_json::{Value, json};

/// Adds a user with the CLI and returns the token it printed.
fn add_user(file: &Path, name: &str, role: &str) -> String {
    let out = run(&[
        "users",
        "add",
        name,
        "--role",
        role,
        "--file",
        file.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "users add {name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert_eq!(token.len(), 64, "a 32-byte hex token is printed once");
    token
}

struct Team {
    viewer: String,
    operator: String,
    coach: String,
    admin: String,
}

fn team(file: &Path) -> Team {
    Team {
        viewer: add_user(file, "vera", "viewer"),
        operator: add_user(file, "rina", "operator"),
        coach: add_user(file, "dewi", "coach"),
        admin: add_user(file, "andi", "admin"),
    }
}

async fn start_with_users(dir: &Path, users: &Path) -> Server {
    let config = write_config(dir, "collect_window = \"50ms\"", "");
    Server::start_with_env(
        dir,
        &config,
        &["--demo"],
        &[("CASEFLOW_USERS_FILE", Some(users.to_str().unwrap()))],
    )
    .await
}

async fn call(
    s: &Server,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let url = format!("{}{path}", s.base);
    let mut req = match method {
        "GET" => s.client().get(url),
        _ => s.client().post(url),
    };
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread")]
async fn every_route_answers_each_role_as_the_contract_says() {
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users.toml");
    let t = team(&users);
    let s = start_with_users(dir.path(), &users).await;
    let (status, body) = s.message("+6289900001111", "wamid.r1", "halo kak").await;
    assert_eq!(status, 202, "{body}");
    let case = body["case_id"].as_str().unwrap().to_string();

    let missing_case = "01900000-0000-7000-8000-000000000000";
    let message =
        json!({"channel":"whatsapp","from":"+6289900002222","message_id":"wamid.r2","text":"halo"});
    // (method, path, body, the lowest staff role allowed)
    let routes: Vec<(&str, String, Option<Value>, &str)> = vec![
        ("GET", "/admin/me".into(), None, "viewer"),
        ("GET", "/admin/cases".into(), None, "viewer"),
        ("GET", format!("/admin/cases/{case}"), None, "viewer"),
        ("GET", "/admin/tools".into(), None, "viewer"),
        ("GET", "/admin/degraded".into(), None, "viewer"),
        ("GET", "/admin/audit".into(), None, "viewer"),
        (
            "GET",
            "/admin/records/students/st-sari".into(),
            None,
            "viewer",
        ),
        ("GET", "/admin/payments/ORDER-404".into(), None, "viewer"),
        ("GET", "/metrics".into(), None, "viewer"),
        (
            "POST",
            format!("/admin/cases/{missing_case}/retry"),
            None,
            "operator",
        ),
        (
            "POST",
            format!("/admin/cases/{missing_case}/decision"),
            Some(json!({"decision": "approve"})),
            "operator",
        ),
        (
            "GET",
            "/admin/customers/+6289900009999/export".into(),
            None,
            "coach",
        ),
        (
            "POST",
            "/admin/customers/+6289900009999/erase".into(),
            Some(json!({"reason": "asked by the customer"})),
            "coach",
        ),
        (
            "POST",
            "/admin/records/slots".into(),
            Some(json!([])),
            "admin",
        ),
        (
            "POST",
            "/admin/records/students".into(),
            Some(json!([])),
            "admin",
        ),
        ("POST", "/admin/kb".into(), Some(json!([])), "admin"),
        (
            "POST",
            "/admin/degraded".into(),
            Some(json!({"on": false, "reason": "check"})),
            "admin",
        ),
    ];
    let staff = [
        ("viewer", t.viewer.as_str()),
        ("operator", t.operator.as_str()),
        ("coach", t.coach.as_str()),
        ("admin", t.admin.as_str()),
        ("admin", TOKEN),
    ];
    let rank = |r: &str| {
        ["viewer", "operator", "coach", "admin"]
            .iter()
            .position(|x| *x == r)
    };
    for (method, path, body, lowest) in &routes {
        for token in [None, Some("not-a-token-0123456789"), Some(INGEST_TOKEN)] {
            let (status, v) = call(&s, method, path, token, body.clone()).await;
            let want = if token == Some(INGEST_TOKEN) {
                403
            } else {
                401
            };
            assert_eq!(status, want, "{method} {path} with {token:?}: {v}");
            assert!(v["error"].is_string());
        }
        for (role, token) in staff {
            let (status, v) = call(&s, method, path, Some(token), body.clone()).await;
            if rank(role) >= rank(lowest) {
                assert!(
                    ![401, 403].contains(&status) && status < 500,
                    "{method} {path} as {role}: {status} {v}"
                );
            } else {
                assert_eq!(status, 403, "{method} {path} as {role}: {v}");
                assert!(v["error"].as_str().unwrap().contains(lowest), "{v}");
            }
        }
    }
    // Ingest takes the ingest token only.
    for (token, want) in [
        (None, 401),
        (Some(TOKEN), 403),
        (Some(t.admin.as_str()), 403),
    ] {
        let (status, _) = call(&s, "POST", "/v1/messages", token, Some(message.clone())).await;
        assert_eq!(status, want, "{token:?}");
    }
    let (status, _) = call(
        &s,
        "POST",
        "/v1/messages",
        Some(INGEST_TOKEN),
        Some(message),
    )
    .await;
    assert_eq!(status, 202);
    // The health check and the signed webhooks need no bearer token.
    assert_eq!(call(&s, "GET", "/healthz", None, None).await.0, 200);
    let (status, _) = call(&s, "POST", "/webhooks/whatsapp", None, Some(json!({}))).await;
    assert_eq!(
        status, 401,
        "the webhook checks its signature, not a bearer token"
    );
    // Who am I.
    for (token, name, role) in [
        (&t.viewer, "vera", "viewer"),
        (&t.operator, "rina", "operator"),
        (&t.coach, "dewi", "coach"),
        (&t.admin, "andi", "admin"),
    ] {
        let (status, me) = call(&s, "GET", "/admin/me", Some(token), None).await;
        assert_eq!((status, me), (200, json!({"name": name, "role": role})));
    }
    let (_, me) = call(&s, "GET", "/admin/me", Some(TOKEN), None).await;
    assert_eq!(me, json!({"name": "admin", "role": "admin"}));
    let r = s
        .client()
        .get(format!("{}/admin/me", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["www-authenticate"], "Bearer");
    s.terminate();
}

#[tokio::test(flavor = "multi_thread")]
async fn only_the_coach_decides_the_coach_lane_and_by_is_the_authenticated_user() {
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users.toml");
    let t = team(&users);
    let s = start_with_users(dir.path(), &users).await;
    // R3: a refund waits on the coach.
    let refund = s.say("+6285611112222", "saya mau refund").await;
    assert_eq!(refund["waiting_on"], "coach", "{refund}");
    let id = refund["id"].as_str().unwrap().to_string();
    let decide = |token: String, body: Value| {
        let path = format!("/admin/cases/{id}/decision");
        let s = &s;
        async move { call(s, "POST", &path, Some(&token), Some(body)).await }
    };
    let approve = json!({"decision": "approve"});
    for (who, token) in [
        ("viewer", &t.viewer),
        ("operator", &t.operator),
        ("a users-file admin while a coach exists", &t.admin),
    ] {
        let (status, v) = decide(token.clone(), approve.clone()).await;
        assert_eq!(status, 403, "{who}: {v}");
        if who == "operator" {
            let e = v["error"].as_str().unwrap();
            assert!(
                e.contains("needs the coach role"),
                "names the role needed: {v}"
            );
        }
    }
    let (status, v) = decide(
        TOKEN.into(),
        json!({"decision": "approve", "by": "coach-dewi"}),
    )
    .await;
    assert_eq!(
        status, 403,
        "the bootstrap token does not speak for the coach: {v}"
    );
    let (status, v) = decide(
        t.coach.clone(),
        json!({"decision": "edit", "by": "coach-anyone", "text": "Baik kak."}),
    )
    .await;
    assert_eq!(status, 403, "a differing `by` is refused: {v}");
    assert!(v["error"].as_str().unwrap().contains("coach-anyone"));
    assert_eq!(
        s.case(&id).await["approvals"],
        json!([]),
        "nothing was recorded"
    );
    let (status, v) = decide(
        t.coach.clone(),
        json!({"decision": "edit", "by": "dewi", "text": "Baik kak, kami proses minggu ini."}),
    )
    .await;
    assert_eq!(status, 202, "{v}");
    let c = s.settle(&id).await;
    let approvals = c["approvals"].as_array().unwrap();
    assert_eq!(approvals.len(), 1);
    assert_eq!(
        (approvals[0]["lane"].as_str(), approvals[0]["by"].as_str()),
        (Some("coach"), Some("dewi"))
    );

    // R1: the operator lane; `by` may be left out and is the user's name.
    let r1 = s.say("+6281234567890", "kak jadwal les saya kapan?").await;
    assert_eq!(r1["waiting_on"], "operator", "{r1}");
    let id1 = r1["id"].as_str().unwrap().to_string();
    let (status, _) = call(
        &s,
        "POST",
        &format!("/admin/cases/{id1}/decision"),
        Some(&t.viewer),
        Some(approve.clone()),
    )
    .await;
    assert_eq!(status, 403);
    let (status, v) = call(
        &s,
        "POST",
        &format!("/admin/cases/{id1}/decision"),
        Some(&t.operator),
        Some(approve.clone()),
    )
    .await;
    assert_eq!(status, 202, "{v}");
    let c = s.settle(&id1).await;
    assert_eq!(c["approvals"][0]["by"], "rina");
    assert_eq!(c["approvals"][0]["lane"], "operator");

    // The audit shows both decisions with role and policy.
    let (_, audit) = call(&s, "GET", "/admin/audit", Some(&t.viewer), None).await;
    let decisions: Vec<&Value> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "decision")
        .collect();
    assert_eq!(decisions.len(), 2, "{audit}");
    assert_eq!(
        (decisions[0]["by"].as_str(), decisions[0]["role"].as_str()),
        (Some("dewi"), Some("coach"))
    );
    assert!(
        decisions[0]["policy"].as_str().unwrap().contains("R3"),
        "{audit}"
    );
    assert_eq!(decisions[0]["detail"], "edit on the coach lane");
    assert_eq!(decisions[1]["by"], "rina");
    s.terminate();
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_coach_user_an_admin_decides_the_coach_lane_and_the_bootstrap_token_alone_records_the_body()
 {
    // A users file with no coach: an admin may decide the coach lane.
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users.toml");
    let admin = add_user(&users, "andi", "admin");
    let operator = add_user(&users, "rina", "operator");
    let s = start_with_users(dir.path(), &users).await;
    let c = s.say("+6285611112222", "saya mau refund").await;
    let id = c["id"].as_str().unwrap().to_string();
    let path = format!("/admin/cases/{id}/decision");
    let deny = json!({"decision": "deny"});
    assert_eq!(
        call(&s, "POST", &path, Some(&operator), Some(deny.clone()))
            .await
            .0,
        403
    );
    let (status, v) = call(&s, "POST", &path, Some(&admin), Some(deny)).await;
    assert_eq!(status, 202, "{v}");
    assert_eq!(s.settle(&id).await["approvals"][0]["by"], "andi");
    s.terminate();

    // No users file: the bootstrap token records the body's `by`, required.
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start_demo(dir.path(), "pilot").await;
    let c = s.say("+6285611112222", "saya mau refund").await;
    let id = c["id"].as_str().unwrap().to_string();
    let path = format!("/admin/cases/{id}/decision");
    let (status, v) = s.admin_post(&path, json!({"decision": "deny"})).await;
    assert_eq!(status, 400, "{v}");
    assert!(v["error"].as_str().unwrap().contains("`by`"));
    let c = s
        .decide(&id, json!({"decision": "deny", "by": "coach-dewi"}))
        .await;
    assert_eq!(c["approvals"][0]["by"], "coach-dewi");
    s.terminate();
}

#[test]
fn users_add_prints_a_token_once_stores_its_hash_and_refuses_a_duplicate() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("users.toml");
    let token = add_user(&file, "dewi", "coach");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(!text.contains(&token));
    assert!(text.contains("name = \"dewi\"") && text.contains("role = \"coach\""));
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let dup = run(&[
        "users",
        "add",
        "dewi",
        "--role",
        "viewer",
        "--file",
        file.to_str().unwrap(),
    ]);
    assert!(!dup.status.success());
    assert!(String::from_utf8_lossy(&dup.stderr).contains("already exists"));
    let bad = run(&[
        "users",
        "add",
        "vera",
        "--role",
        "boss",
        "--file",
        file.to_str().unwrap(),
    ]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("boss"));
    let nowhere = std::process::Command::new(env!("CARGO_BIN_EXE_caseflow"))
        .args(["users", "add", "vera", "--role", "viewer"])
        .env_remove("CASEFLOW_USERS_FILE")
        .output()
        .unwrap();
    assert!(!nowhere.status.success());
    assert!(String::from_utf8_lossy(&nowhere.stderr).contains("CASEFLOW_USERS_FILE"));
    // Through the environment variable.
    let via_env = std::process::Command::new(env!("CARGO_BIN_EXE_caseflow"))
        .args(["users", "add", "vera", "--role", "viewer"])
        .env("CASEFLOW_USERS_FILE", &file)
        .output()
        .unwrap();
    assert!(via_env.status.success());
    assert!(std::fs::read_to_string(&file).unwrap().contains("vera"));
}

/// Starts `serve` with `env` and expects it to refuse, naming `needle`.
fn refuses_start(dir: &Path, env: &[(&str, Option<&str>)], needle: &str) {
    let config = write_config(dir, "", "");
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_caseflow"));
    cmd.arg("serve")
        .arg("--config")
        .arg(&config)
        .arg("--data-dir")
        .arg(dir.join("data"))
        .env("CASEFLOW_ADMIN_TOKEN", TOKEN)
        .env("CASEFLOW_INGEST_TOKEN", INGEST_TOKEN)
        .env_remove("CASEFLOW_USERS_FILE");
    for (k, v) in env {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    let out = cmd.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "started with {env:?}");
    assert!(err.contains(needle), "{needle} not named in:\n{err}");
    assert!(!dir.join("data/listen.addr").exists(), "it never listened");
}

#[test]
fn weak_tokens_and_exposed_token_files_refuse_the_start_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    refuses_start(
        d,
        &[("CASEFLOW_ADMIN_TOKEN", Some("x"))],
        "CASEFLOW_ADMIN_TOKEN is 1 characters",
    );
    refuses_start(
        d,
        &[("CASEFLOW_INGEST_TOKEN", Some("fifteen-chars!!"))],
        "CASEFLOW_INGEST_TOKEN is 15 characters",
    );
    refuses_start(
        d,
        &[("CASEFLOW_INGEST_TOKEN", Some(TOKEN))],
        "equals the admin token",
    );
    // Token files: readable by others, or weak.
    std::fs::create_dir_all(d.join("data")).unwrap();
    let admin_file = d.join("data/admin.token");
    std::fs::write(&admin_file, "a-long-enough-admin-token-0123456789\n").unwrap();
    std::fs::set_permissions(&admin_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    refuses_start(
        d,
        &[("CASEFLOW_ADMIN_TOKEN", None)],
        "admin.token is readable by group or others",
    );
    std::fs::set_permissions(&admin_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::write(&admin_file, "short\n").unwrap();
    refuses_start(
        d,
        &[("CASEFLOW_ADMIN_TOKEN", None)],
        "admin.token is 5 characters",
    );
    let ingest_file = d.join("data/ingest.token");
    std::fs::write(&ingest_file, "a-long-enough-ingest-token-0123456789\n").unwrap();
    std::fs::set_permissions(&ingest_file, std::fs::Permissions::from_mode(0o640)).unwrap();
    refuses_start(
        d,
        &[("CASEFLOW_INGEST_TOKEN", None)],
        "ingest.token is readable by group or others",
    );
    // The users file: exposed, or broken.
    let users = d.join("users.toml");
    add_user(&users, "dewi", "coach");
    std::fs::set_permissions(&users, std::fs::Permissions::from_mode(0o644)).unwrap();
    let users_path = users.to_str().unwrap();
    refuses_start(
        d,
        &[("CASEFLOW_USERS_FILE", Some(users_path))],
        "users.toml is readable by group or others",
    );
    std::fs::write(
        &users,
        "[[users]]\nname = \"dewi\"\nrole = \"boss\"\ntoken_sha256 = \"00\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&users, std::fs::Permissions::from_mode(0o600)).unwrap();
    refuses_start(
        d,
        &[("CASEFLOW_USERS_FILE", Some(users_path))],
        "role \"boss\"",
    );
    refuses_start(
        d,
        &[(
            "CASEFLOW_USERS_FILE",
            Some(d.join("missing.toml").to_str().unwrap()),
        )],
        "missing.toml",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn without_tokens_in_the_environment_both_are_generated_private_and_logged() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "", "");
    let s = Server::start_with_env(
        dir.path(),
        &config,
        &[],
        &[
            ("CASEFLOW_ADMIN_TOKEN", None),
            ("CASEFLOW_INGEST_TOKEN", None),
        ],
    )
    .await;
    let data = dir.path().join("data");
    let ingest = std::fs::read_to_string(data.join("ingest.token")).unwrap();
    let admin = std::fs::read_to_string(data.join("admin.token")).unwrap();
    assert_ne!(ingest.trim(), admin.trim());
    assert_eq!(
        std::fs::metadata(data.join("ingest.token"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    assert!(
        s.log_text().contains("ingest.token"),
        "the log says where it is"
    );
    assert!(
        !s.log_text().contains(ingest.trim()),
        "never the token itself"
    );
    let body =
        json!({"channel":"whatsapp","from":"+6289900003333","message_id":"wamid.g1","text":"halo"});
    let (status, _) = call(
        &s,
        "POST",
        "/v1/messages",
        Some(ingest.trim()),
        Some(body.clone()),
    )
    .await;
    assert_eq!(status, 202);
    let (status, _) = call(&s, "POST", "/v1/messages", Some(admin.trim()), Some(body)).await;
    assert_eq!(status, 403);
    s.terminate();
}
