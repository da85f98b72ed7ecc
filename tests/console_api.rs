//! The admin API the console stands on (CONTRACT section 4): the case
//! view's pending action and key order, the case list's cursor paging,
//! order and customer search, and bulk retry.

mod common;

use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

use common::{Server, TOKEN, write_config};
use serde_json::{Value, json};

const SARI: &str = "+6281234567890";
const AYU: &str = "+6285611112222";
const BUDI: &str = "+6281298765432";

fn ms(v: &Value) -> i64 {
    chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap_or_else(|| panic!("a time: {v}")))
        .unwrap()
        .timestamp_millis()
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[tokio::test]
async fn the_case_view_is_pretty_in_the_contract_order_and_names_what_waits() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start_demo(dir.path(), "pilot").await;

    // R1: the drafted reply, due when the operator SLA (30 min) runs out.
    let r1 = s.say(SARI, "kak jadwal les saya kapan?").await;
    let id = r1["id"].as_str().unwrap().to_string();
    let raw = s
        .client()
        .get(format!("{}/admin/cases/{id}", s.base))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(raw.starts_with("{\n  \"id\": \""), "pretty-printed: {raw}");
    let v: Value = serde_json::from_str(&raw).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    let contract = [
        "id",
        "customer",
        "channel",
        "state",
        "tier",
        "waiting_on",
        "identity",
        "mode",
        "workflow_version",
        "opened_at",
        "updated_at",
        "closed_at",
        "tags",
        "messages",
        "transitions",
        "tool_calls",
        "approvals",
        "pending_action",
    ];
    assert_eq!(
        &keys[..contract.len()],
        &contract,
        "contract keys first, in order"
    );
    let a = &v["pending_action"];
    assert_eq!(a["kind"], "reply", "{a}");
    assert_eq!(a["lane"], "operator");
    assert_eq!(a["template"], "wa.r1.schedule");
    assert!(a["text"].as_str().unwrap().contains("Coach Dewi"), "{a}");
    assert_eq!(
        (a["session"].clone(), a["slot"].clone()),
        (Value::Null, Value::Null)
    );
    let left = ms(&a["due"]) - now_ms();
    assert!(
        (29 * 60_000..=30 * 60_000).contains(&left),
        "due in 30 min: {left} ms"
    );
    let keys: Vec<&str> = a.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        &keys[..7],
        &["kind", "lane", "template", "text", "session", "slot", "due"]
    );
    let after = s
        .decide(&id, json!({"decision": "approve", "by": "rina"}))
        .await;
    assert_eq!(
        after["pending_action"],
        Value::Null,
        "decided: nothing waits"
    );

    // R2: the offer, then the booking of the chosen slot: the session it
    // moves and the slot it takes.
    let offer = s.say(SARI, "mau ganti jadwal les dong").await;
    let id = offer["id"].as_str().unwrap().to_string();
    let a = &offer["pending_action"];
    assert_eq!(
        (a["kind"].as_str(), a["template"].as_str()),
        (Some("reply"), Some("wa.r2.reschedule.offer")),
        "{a}"
    );
    assert_eq!(
        a["session"]["id"], "SES-101",
        "the offer is about Sari's session: {a}"
    );
    s.decide(&id, json!({"decision": "approve", "by": "rina"}))
        .await;
    let booking = s.say(SARI, "2").await;
    let a = &booking["pending_action"];
    assert_eq!(a["kind"], "booking", "{booking}");
    assert_eq!(a["lane"], "operator");
    assert_eq!(a["session"]["id"], "SES-101");
    assert_eq!(a["session"]["coach"], "Coach Dewi");
    assert!(ms(&a["session"]["starts_at"]) > now_ms(), "{a}");
    assert!(ms(&a["slot"]["starts_at"]) > now_ms(), "{a}");
    assert!(
        a["slot"]["coach"].as_str().is_some_and(|c| !c.is_empty()),
        "{a}"
    );
    assert_ne!(a["slot"]["starts_at"], a["session"]["starts_at"]);
    let booked = s
        .decide(&id, json!({"decision": "approve", "by": "rina"}))
        .await;
    let calls = booked["tool_calls"].as_array().unwrap();
    assert!(
        calls
            .iter()
            .any(|c| c["tool"] == "calendar.book" && c["status"] == "done"),
        "{booked}"
    );
    assert!(
        calls.iter().all(|c| c["started_at"].is_string()),
        "{booked}"
    );

    // R3: a reschedule past the monthly quota waits for the coach, who
    // decides on the customer's own words, within the coach SLA (8 h).
    let r3 = s
        .say(AYU, "kak mau pindah jadwal les minggu ini dong")
        .await;
    assert_eq!(
        (r3["tier"].as_str(), r3["waiting_on"].as_str()),
        (Some("R3"), Some("coach")),
        "{r3}"
    );
    let a = &r3["pending_action"];
    assert_eq!(
        (a["kind"].as_str(), a["lane"].as_str()),
        (Some("escalation"), Some("coach")),
        "{a}"
    );
    assert_eq!(a["text"], "kak mau pindah jadwal les minggu ini dong");
    assert!(
        a["reason"]
            .as_str()
            .is_some_and(|r| r.contains("reschedule")),
        "{a}"
    );
    let left = ms(&a["due"]) - now_ms();
    assert!(
        (8 * 3_600_000 - 60_000..=8 * 3_600_000).contains(&left),
        "{left}"
    );
}

/// Posts `n` R0 questions from distinct numbers and waits until every
/// case has answered and rests.
async fn many_cases(s: &Server, n: usize) -> Vec<String> {
    let t0 = std::time::Instant::now();
    let mut ids = Vec::new();
    for i in 0..n {
        let (status, v) = s
            .message(
                &format!("+62877{i:08}"),
                &format!("wamid.many.{i}"),
                "berapa harga les vokal?",
            )
            .await;
        assert_eq!(status, 202, "{v}");
        ids.push(v["case_id"].as_str().unwrap().to_string());
    }
    eprintln!("posted {n} messages in {:?}", t0.elapsed());
    s.wait_for("every case answered", Duration::from_secs(60), || async {
        let (answered, _) = all_pages(s, "limit=1000&waiting_on=customer").await;
        (answered.len() >= n).then_some(())
    })
    .await;
    ids
}

async fn all_pages(s: &Server, query: &str) -> (Vec<Value>, usize) {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/admin/cases?{query}&cursor={c}"),
            None => format!("/admin/cases?{query}"),
        };
        let (status, v) = s.admin_get(&path).await;
        assert_eq!(status, 200, "{path}: {v}");
        pages += 1;
        eprintln!("page {pages} of {query}");
        out.extend(v["cases"].as_array().unwrap().iter().cloned());
        match v["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return (out, pages),
        }
        assert!(pages < 100, "paging never ends");
    }
}

#[tokio::test]
async fn cases_page_by_cursor_in_both_orders_and_are_found_by_number_in_any_format() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start_demo(dir.path(), "pilot").await;
    let sari = s.say(SARI, "kak jadwal les saya kapan?").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let ids = many_cases(&s, 24).await;

    let (desc, pages) = all_pages(&s, "limit=7").await;
    assert_eq!(
        (desc.len(), pages),
        (25, 4),
        "7 + 7 + 7 + 4, then no cursor"
    );
    let seen: HashSet<&str> = desc.iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(seen.len(), 25, "no case twice");
    assert!(ids.iter().all(|i| seen.contains(i.as_str())) && seen.contains(sari.as_str()));
    let key = |c: &Value| (ms(&c["updated_at"]), c["id"].as_str().unwrap().to_string());
    assert!(
        desc.windows(2).all(|w| key(&w[0]) > key(&w[1])),
        "newest first"
    );
    assert!(
        desc.iter()
            .all(|c| c["customer"].as_str().unwrap().contains('*')),
        "masked"
    );

    // Cases that change while a client pages are still listed: the oldest
    // ten (on the pages not read yet) get a new message after the first
    // page, which moves them to the top of `updated_desc`.
    let (_, first) = s.admin_get("/admin/cases?limit=7").await;
    let mut listed: Vec<String> = first["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect();
    let oldest: Vec<Value> = desc[15..].to_vec();
    for (n, c) in oldest.iter().enumerate() {
        let id = c["id"].as_str().unwrap();
        let i = ids.iter().position(|x| x == id);
        let phone = match i {
            Some(i) => format!("+62877{i:08}"),
            None => SARI.to_string(),
        };
        let (status, v) = s
            .message(
                &phone,
                &format!("wamid.again.{n}"),
                "berapa harga les vokal?",
            )
            .await;
        assert_eq!(status, 202, "{v}");
    }
    for c in &oldest {
        let id = c["id"].as_str().unwrap().to_string();
        let before = ms(&c["updated_at"]);
        s.wait_for("the case to change", Duration::from_secs(30), || async {
            (ms(&s.case(&id).await["updated_at"]) > before).then_some(())
        })
        .await;
        s.settle(&id).await;
    }
    let mut cursor = first["next_cursor"].as_str().map(str::to_string);
    let mut pages = 1;
    while let Some(c) = cursor {
        let (status, v) = s
            .admin_get(&format!("/admin/cases?limit=7&cursor={c}"))
            .await;
        assert_eq!(status, 200, "{v}");
        listed.extend(
            v["cases"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["id"].as_str().unwrap().to_string()),
        );
        cursor = v["next_cursor"].as_str().map(str::to_string);
        pages += 1;
        assert!(pages < 20, "paging never ends");
    }
    let seen: HashSet<&str> = listed.iter().map(String::as_str).collect();
    let missed: Vec<&str> = desc
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .filter(|id| !seen.contains(id))
        .collect();
    assert!(
        missed.is_empty(),
        "cases changed while paging were skipped: {missed:?}"
    );
    // Reread after the changes for the order checks below.
    let (desc, _) = all_pages(&s, "limit=7").await;

    let (asc, _) = all_pages(&s, "limit=10&order=updated_asc").await;
    let rev: Vec<&Value> = desc.iter().rev().collect();
    assert_eq!(
        asc.iter().collect::<Vec<_>>(),
        rev,
        "updated_asc is the reverse"
    );

    let (_, first) = s.admin_get("/admin/cases?limit=7").await;
    let c = first["next_cursor"].as_str().unwrap();
    let (status, v) = s
        .admin_get(&format!("/admin/cases?order=updated_asc&cursor={c}"))
        .await;
    assert_eq!(status, 400);
    assert!(v["error"].as_str().unwrap().contains("`order`"), "{v}");
    for bad in ["zz", "00", &"0".repeat(50)] {
        let (status, v) = s.admin_get(&format!("/admin/cases?cursor={bad}")).await;
        assert_eq!(status, 400, "{bad}: {v}");
        assert!(v["error"].as_str().unwrap().contains("`cursor`"), "{v}");
    }
    let (status, v) = s.admin_get("/admin/cases?order=newest").await;
    assert_eq!(status, 400);
    assert!(v["error"].as_str().unwrap().contains("`order`"));

    // A customer by number in any format: Sari's case and no other.
    for format in [
        "0812-3456-7890",
        "%2B62%20812%203456%207890",
        "6281234567890",
        "(0812)%203456-7890",
        "%2B6281234567890",
    ] {
        let (status, v) = s
            .admin_get(&format!("/admin/cases?customer={format}"))
            .await;
        assert_eq!(status, 200, "{format}: {v}");
        let found: Vec<&str> = v["cases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap())
            .collect();
        assert_eq!(found, vec![sari.as_str()], "{format}");
    }
    let (_, v) = s.admin_get("/admin/cases?customer=%2B6281111111111").await;
    assert_eq!(v["cases"], json!([]));
    let (_, v) = s
        .admin_get(&format!("/admin/cases?customer=0877{:08}", 3))
        .await;
    assert_eq!(
        v["cases"].as_array().unwrap().len(),
        1,
        "national format of a +62 number"
    );
    for bad in ["12", "a%20b"] {
        let (status, v) = s.admin_get(&format!("/admin/cases?customer={bad}")).await;
        assert_eq!(status, 400, "{bad}: {v}");
        assert!(v["error"].as_str().unwrap().contains("`customer`"), "{v}");
    }
    // Filters combine with paging.
    let (r0, _) = all_pages(&s, "tier=R0&limit=5").await;
    assert_eq!(r0.len(), 24);
}

fn users_file(dir: &Path) -> std::path::PathBuf {
    use sha2::Digest;
    let mut text = String::new();
    for (name, role) in [("rina", "operator"), ("vera", "viewer")] {
        let token = format!("{name}-api-token-0123456789abcdef");
        text.push_str(&format!(
            "[[users]]\nname = \"{name}\"\nrole = \"{role}\"\ntoken_sha256 = \"{}\"\n\n",
            hex::encode(sha2::Sha256::digest(token.as_bytes()))
        ));
    }
    let path = dir.join("users.toml");
    std::fs::write(&path, text).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

async fn bulk(s: &Server, who: &str, body: Value) -> (u16, Value) {
    let r = s
        .client()
        .post(format!("{}/admin/cases/retry", s.base))
        .bearer_auth(format!("{who}-api-token-0123456789abcdef"))
        .json(&body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn bulk_retry_counts_first_needs_a_reason_and_is_audited() {
    let dir = tempfile::tempdir().unwrap();
    let users = users_file(dir.path());
    // A one-second operator SLA: waiting cases soon count as stuck.
    let wf = std::fs::read_to_string(common::repo_file("workflows/support.toml"))
        .unwrap()
        .replace("operator = \"30m\"", "operator = \"1s\"");
    let wf_path = dir.path().join("wf.toml");
    std::fs::write(&wf_path, wf).unwrap();
    let config = write_config(dir.path(), "collect_window = \"50ms\"", "");
    let text = std::fs::read_to_string(&config).unwrap().replace(
        &common::repo_file("workflows/support.toml"),
        wf_path.to_str().unwrap(),
    );
    std::fs::write(&config, text).unwrap();
    let s = Server::start_with_env(
        dir.path(),
        &config,
        &["--demo"],
        &[("CASEFLOW_USERS_FILE", Some(users.to_str().unwrap()))],
    )
    .await;
    let a = s.say(SARI, "kak jadwal les saya kapan?").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let b = s.say(BUDI, "status pembayaran saya gimana ya kak?").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    s.wait_for("two stuck cases", Duration::from_secs(10), || async {
        (s.cases("stuck=true").await.len() == 2).then_some(())
    })
    .await;
    let audit_len = || async {
        let (_, v) = s.admin_get("/admin/audit?limit=1000").await;
        v["entries"].as_array().unwrap().len()
    };
    let before = audit_len().await;

    for (body, needle) in [
        (
            json!({"filter": {"stuck": true}, "dry_run": true}),
            "`reason`",
        ),
        (
            json!({"filter": {"stuck": true}, "reason": " ", "dry_run": false}),
            "`reason`",
        ),
        (json!({"filter": {"tier": "R9"}, "reason": "x"}), "`tier`"),
        (json!({"filter": {"owner": "me"}, "reason": "x"}), "`owner`"),
        (json!({"reason": "x"}), "`filter`"),
    ] {
        let (status, v) = bulk(&s, "rina", body.clone()).await;
        assert_eq!(status, 400, "{body}: {v}");
        assert!(v["error"].as_str().unwrap().contains(needle), "{body}: {v}");
    }
    let (status, _) = bulk(&s, "vera", json!({"filter": {}, "reason": "x"})).await;
    assert_eq!(status, 403, "a viewer may not retry");

    let (status, v) = bulk(
        &s,
        "rina",
        json!({"filter": {"stuck": true}, "reason": "SLA drill", "dry_run": true}),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v, json!({"matched": 2, "retried": 0, "dry_run": true}));
    let (_, v) = bulk(
        &s,
        "rina",
        json!({"filter": {"stuck": true, "customer": "0812 3456 7890"}, "reason": "x"}),
    )
    .await;
    assert_eq!(v["matched"], 1, "one customer's: {v}");
    let (_, v) = bulk(
        &s,
        "rina",
        json!({"filter": {"state": "closed"}, "reason": "x"}),
    )
    .await;
    assert_eq!(v["matched"], 0, "a closed case has nothing to retry");
    assert_eq!(
        audit_len().await,
        before,
        "counting changes nothing and is not audited"
    );

    let (status, v) = bulk(
        &s,
        "rina",
        json!({"filter": {"stuck": true}, "reason": "SLA drill", "dry_run": false}),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v, json!({"matched": 2, "retried": 2, "dry_run": false}));
    let (_, audit) = s.admin_get("/admin/audit?limit=1000").await;
    let entries = audit["entries"].as_array().unwrap();
    assert_eq!(entries.len(), before + 3, "{audit}");
    for case in [&a, &b] {
        assert!(
            entries.iter().any(|e| e["action"] == "retry"
                && e["target"].as_str() == Some(case.as_str())
                && e["by"] == "rina"
                && e["detail"].as_str().unwrap().contains("SLA drill")),
            "{case}: {audit}"
        );
    }
    let run = entries
        .iter()
        .find(|e| e["target"].as_str().is_some_and(|t| t.starts_with("bulk:")))
        .unwrap();
    assert_eq!(run["by"], "rina");
    assert!(run["detail"].as_str().unwrap().contains("2 of 2"), "{run}");
    assert!(
        run["target"].as_str().unwrap().contains("stuck=true"),
        "{run}"
    );
}

#[tokio::test]
async fn every_case_is_listable_past_a_thousand() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start_demo(dir.path(), "pilot").await;
    let n = 1_010;
    let ids = many_cases(&s, n).await;
    let started = std::time::Instant::now();
    let (listed, pages) = all_pages(&s, "limit=1000").await;
    let took = started.elapsed();
    assert_eq!((listed.len(), pages), (n, 2), "1,000 and then 10");
    let seen: HashSet<&str> = listed.iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert!(ids.iter().all(|i| seen.contains(i.as_str())));
    eprintln!("listed {n} cases in {pages} pages in {took:?}");
}

#[tokio::test]
async fn an_r0_answer_is_in_the_customers_language_and_one_body_still_answers() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start_demo(dir.path(), "pilot").await;
    let reply = |case: &Value| {
        case["messages"]
            .as_array()
            .unwrap()
            .iter()
            .rfind(|m| m["direction"] == "out")
            .map(|m| {
                (
                    m["template"].clone(),
                    m["text"].as_str().unwrap().to_string(),
                )
            })
            .unwrap()
    };
    let id = s.say("+6287700000001", "kak berapa harga les vokal?").await;
    let (template, text) = reply(&id);
    assert_eq!(template, "wa.r0.faq");
    assert_eq!(
        text,
        "Les vokal privat Rp 450.000 per 60 menit; paket 4 sesi Rp 1.600.000."
    );
    let en = s.say("+6287700000002", "how much is a lesson?").await;
    let (_, text) = reply(&en);
    assert_eq!(
        text,
        "A private vocal lesson is Rp 450.000 for 60 minutes; a package of 4 lessons is Rp 1.600.000."
    );
    let hours = s.say("+6287700000003", "jam buka studio kapan kak?").await;
    assert_eq!(
        reply(&hours).1,
        "Les tersedia Senin sampai Sabtu, 10:00 sampai 21:00 WIB."
    );

    // An article posted the old way (one `body`) answers every customer
    // with that body; `bodies` is the other shape of two.
    let (status, v) = s
        .admin_post(
            "/admin/kb",
            json!([
                {"id": "parking", "title": "Parking", "status": "published", "version": 1,
                 "body": "Free parking behind the studio.",
                 "questions": ["is there parking", "ada parkir"]},
                {"id": "online", "title": "Online lessons", "status": "published", "version": 2,
                 "bodies": {"en": "Online lessons by video call, same price.",
                            "id": "Les online lewat video call, harga sama."},
                 "questions": ["can I take lessons online", "bisa les online"]}
            ]),
        )
        .await;
    assert!(status < 300, "{v}");
    let parking = s.say("+6287700000004", "kak ada parkir?").await;
    assert_eq!(reply(&parking).1, "Free parking behind the studio.");
    let online = s.say("+6287700000005", "bisa les online kak?").await;
    assert_eq!(reply(&online).1, "Les online lewat video call, harga sama.");
    let (status, v) = s
        .admin_post(
            "/admin/kb",
            json!([{"id": "x", "title": "X", "status": "published", "version": 1,
                    "body_id": "Hanya bahasa Indonesia", "questions": ["x"]}]),
        )
        .await;
    assert_eq!(status, 400, "{v}");
    assert!(v["error"].as_str().unwrap().contains("[0].body"), "{v}");
}

/// A form's fields, URL-encoded as a browser sends them.
fn form_body(fields: &[(&str, String)]) -> String {
    let enc = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// A console session held outside a browser: its cookie, and the pages
/// fetched without following redirects, as a browser's form would.
struct Console {
    client: reqwest::Client,
    base: String,
    cookie: String,
}

impl Console {
    async fn sign_in(s: &Server, token: &str) -> Console {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let r = client
            .post(format!("{}/console/login", s.base))
            .header("origin", &s.base)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form_body(&[("token", token.to_string())]))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303, "signed in");
        let cookie = r
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|c| c.strip_prefix("caseflow_console="))
            .and_then(|c| c.split(';').next())
            .expect("a session cookie")
            .to_string();
        Console {
            client,
            base: s.base.clone(),
            cookie,
        }
    }

    async fn get(&self, path: &str) -> (u16, String) {
        let r = self
            .client
            .get(format!("{}{path}", self.base))
            .header("cookie", format!("caseflow_console={}", self.cookie))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    /// Posts a form from this site's page; answers the status, the
    /// `Location` of a redirect and the page.
    async fn post(&self, path: &str, fields: Vec<(&str, String)>) -> (u16, String, String) {
        let r = self
            .client
            .post(format!("{}{path}", self.base))
            .header("cookie", format!("caseflow_console={}", self.cookie))
            .header("origin", &self.base)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form_body(&fields))
            .send()
            .await
            .unwrap();
        let to = r
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        (r.status().as_u16(), to, r.text().await.unwrap())
    }

    /// The CSRF token the page at `path` carries in its forms.
    async fn csrf(&self, path: &str) -> String {
        let (status, page) = self.get(path).await;
        assert_eq!(status, 200, "{page}");
        let at = page.find("name=\"csrf\" value=\"").expect("a CSRF field") + 19;
        page[at..].split('"').next().unwrap().to_string()
    }
}

/// The HTML tag holding `attr`.
fn tag<'a>(page: &'a str, attr: &str) -> &'a str {
    let at = page
        .find(attr)
        .unwrap_or_else(|| panic!("{attr} in {page}"));
    let start = page[..at].rfind('<').unwrap();
    let end = at + page[at..].find('>').unwrap();
    &page[start..=end]
}

async fn audit_actions(s: &Server, action: &str) -> Vec<Value> {
    let (_, audit) = s.admin_get("/admin/audit?limit=1000").await;
    audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == action)
        .cloned()
        .collect()
}

#[tokio::test]
async fn a_reply_labelled_in_the_console_is_labelled_in_the_api_by_the_signed_in_user() {
    let dir = tempfile::tempdir().unwrap();
    let users = users_file(dir.path());
    let config = write_config(dir.path(), "collect_window = \"50ms\"", "");
    let s = Server::start_with_env(
        dir.path(),
        &config,
        &["--demo"],
        &[("CASEFLOW_USERS_FILE", Some(users.to_str().unwrap()))],
    )
    .await;
    s.say("+6287700000031", "berapa harga les vokal?").await;
    s.say("+6287700000032", "kak les vokal berapa harganya?")
        .await;

    // A viewer has no QA page in the navigation and may not draw.
    let vera = Console::sign_in(&s, "vera-api-token-0123456789abcdef").await;
    let (_, lane) = vera.get("/console/lane").await;
    assert!(!lane.contains("href=\"/console/qa\""), "{lane}");
    let csrf = vera.csrf("/console/qa").await;
    let (_, page) = vera.get("/console/qa").await;
    assert!(!page.contains("action=\"/console/qa/sample\""), "{page}");
    let draw = |csrf: &str| {
        vec![
            ("csrf", csrf.to_string()),
            ("from", "2020-01-01".to_string()),
            ("to", "2099-12-31".to_string()),
            ("n", "5".to_string()),
            ("seed", "1".to_string()),
        ]
    };
    let (status, _, page) = vera.post("/console/qa/sample", draw(&csrf)).await;
    assert_eq!(status, 403, "a viewer does not draw: {page}");

    // The operator finds the page in the navigation; a draw without the
    // CSRF token is refused and draws nothing.
    let rina = Console::sign_in(&s, "rina-api-token-0123456789abcdef").await;
    let (_, lane) = rina.get("/console/lane").await;
    assert!(lane.contains("href=\"/console/qa\""), "{lane}");
    let csrf = rina.csrf("/console/qa").await;
    let (status, _, page) = rina
        .post("/console/qa/sample", draw("")[1..].to_vec())
        .await;
    assert_eq!(status, 403, "{page}");
    assert!(page.contains("Refused"), "{page}");
    assert!(audit_actions(&s, "qa.sample").await.is_empty());

    // A bad size is named on the form, which keeps what was typed.
    let mut bad = draw(&csrf);
    bad[3].1 = "0".into();
    let (status, _, page) = rina.post("/console/qa/sample", bad).await;
    assert_eq!(status, 400, "{page}");
    assert!(
        page.contains("`n` must be a whole number from 1 to 500"),
        "{page}"
    );
    assert!(page.contains("value=\"2020-01-01\""), "{page}");

    // Drawn in the console: the API's sample, by rina, audited.
    let (status, to, page) = rina.post("/console/qa/sample", draw(&csrf)).await;
    assert_eq!(status, 303, "{page}");
    let id = to
        .strip_prefix("/console/qa/samples/")
        .unwrap_or_else(|| panic!("to the sample: {to}"))
        .to_string();
    let (status, sample) = s.admin_get(&format!("/admin/qa/samples/{id}")).await;
    assert_eq!(status, 200, "{sample}");
    assert_eq!(
        (sample["by"].as_str(), sample["seed"].as_u64()),
        (Some("rina"), Some(1))
    );
    let items = sample["items"].as_array().unwrap().clone();
    assert!(items.len() >= 2, "both answers sampled: {sample}");
    let drawn = audit_actions(&s, "qa.sample").await;
    assert_eq!(drawn.len(), 1, "{drawn:?}");
    assert_eq!(drawn[0]["by"], "rina");

    // The sample page: each reply with its case, tier, template and text,
    // and a labelled form each.
    let (status, page) = rina.get(&to).await;
    assert_eq!(status, 200, "{page}");
    for it in &items {
        let case = it["case_id"].as_str().unwrap();
        assert!(
            page.contains(&format!("href=\"/console/cases/{case}\"")),
            "{page}"
        );
        assert!(page.contains(it["template"].as_str().unwrap()), "{page}");
        let text = it["text"].as_str().unwrap();
        let first_words: String = text.chars().take(20).collect();
        assert!(
            page.contains(&first_words.replace('&', "&amp;")),
            "{first_words}: {page}"
        );
    }
    assert_eq!(
        page.matches("action=\"/console/qa/samples/").count(),
        items.len(),
        "a label form per reply"
    );
    for d in [
        "correctness",
        "completeness",
        "safety",
        "tone",
        "efficiency",
        "tool_integrity",
    ] {
        assert!(
            page.contains(&format!("<label for=\"s-1-{d}\"")),
            "{d}: {page}"
        );
    }

    let label_path = format!("/console/qa/samples/{id}/label");
    let label = |csrf: &str, verdict: &str, safety: &str, note: &str| {
        vec![
            ("csrf", csrf.to_string()),
            ("item", "1".to_string()),
            ("verdict", verdict.to_string()),
            ("correctness", "1".to_string()),
            ("completeness", "2".to_string()),
            ("safety", safety.to_string()),
            ("tone", "2".to_string()),
            ("efficiency", "2".to_string()),
            ("tool_integrity", "2".to_string()),
            ("note", note.to_string()),
        ]
    };
    // Without the CSRF token, or from another session's token: refused,
    // nothing stored.
    let (status, _, page) = rina
        .post(&label_path, label("", "risky", "0", "x")[1..].to_vec())
        .await;
    assert_eq!(status, 403, "{page}");
    let (status, _, _) = rina
        .post(
            &label_path,
            label(&vera.csrf("/console/qa").await, "risky", "0", "x"),
        )
        .await;
    assert_eq!(status, 403, "another session's token");
    let (_, after) = s.admin_get(&format!("/admin/qa/samples/{id}")).await;
    assert!(after["items"][1]["label"].is_null(), "{after}");

    // Labelled through the form: the API shows rina's label, audited.
    let (status, to, page) = rina
        .post(&label_path, label(&csrf, "risky", "0", "promised a date"))
        .await;
    assert_eq!(status, 303, "{page}");
    assert_eq!(to, format!("/console/qa/samples/{id}?done=labelled#item-1"));
    let (_, after) = s.admin_get(&format!("/admin/qa/samples/{id}")).await;
    let l = &after["items"][1]["label"];
    assert_eq!(
        (
            l["verdict"].as_str(),
            l["reviewer"].as_str(),
            l["note"].as_str()
        ),
        (Some("risky"), Some("rina"), Some("promised a date")),
        "{after}"
    );
    assert_eq!(
        l["scores"],
        json!({"correctness": 1, "completeness": 2, "safety": 0, "tone": 2,
               "efficiency": 2, "tool_integrity": 2})
    );
    assert!(
        after["items"][0]["label"].is_null(),
        "only the labelled item"
    );
    let labelled = audit_actions(&s, "qa.labels").await;
    assert_eq!(labelled.len(), 1, "{labelled:?}");
    assert_eq!(labelled[0]["by"], "rina");
    let (_, page) = rina
        .get(&format!("/console/qa/samples/{id}?done=labelled"))
        .await;
    assert!(page.contains("Label saved."), "{page}");
    assert!(
        page.contains("Replace label"),
        "a labelled item can be relabelled"
    );
    assert!(
        tag(&page, "id=\"v-1-risky\"").contains(" checked"),
        "{page}"
    );
    assert!(
        !tag(&page, "id=\"v-1-correct\"").contains(" checked"),
        "{page}"
    );

    // A score out of range is named and changes nothing; relabelling
    // replaces the label.
    let (status, _, page) = rina
        .post(&label_path, label(&csrf, "correct", "3", ""))
        .await;
    assert_eq!(status, 400, "{page}");
    assert!(page.contains("`scores.safety` must be 0, 1 or 2"), "{page}");
    let (status, _, _) = rina
        .post(&label_path, label(&csrf, "correct", "2", ""))
        .await;
    assert_eq!(status, 303);
    let (_, after) = s.admin_get(&format!("/admin/qa/samples/{id}")).await;
    let l = &after["items"][1]["label"];
    assert_eq!(
        (l["verdict"].as_str(), l["note"].as_str()),
        (Some("correct"), None),
        "{after}"
    );

    // The audit page lists the sample with its labelled count, in Bahasa
    // Indonesia once switched.
    let (status, _, _) = rina
        .post(
            "/console/lang",
            vec![
                ("csrf", csrf.clone()),
                ("lang", "id".into()),
                ("back", "/console/qa".into()),
            ],
        )
        .await;
    assert_eq!(status, 303);
    let (_, page) = rina.get("/console/qa").await;
    assert!(page.contains("<h1>Audit QA</h1>"), "{page}");
    assert!(
        page.contains(&format!("href=\"/console/qa/samples/{id}\"")),
        "{page}"
    );
    assert!(page.contains(&format!("1 / {}", items.len())), "{page}");
}
