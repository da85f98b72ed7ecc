//! Timers and the 24-hour window against a fake Graph API: the
//! first-response SLA hands an unanswered case to the operator while its
//! send is still retrying (also across a kill -9 and restart, and behind an
//! open breaker), and after the customer-service window only an approved
//! template message goes out; a reply without one waits on the operator.
//!
//! The timer tests run the desk in this process on a manual clock with the
//! shipped workflow's own durations (3 minutes, 24 hours): the clock is
//! moved, not waited for. The restart test drives the real binary.

mod common;

use std::time::Duration;

use common::clocked::{opened_at, timer_due};
use common::fake::{Behaviour, Fake, Planned};
use common::{Server, repo_file, write_config};
use serde_json::{Value, json};

const SECRET: &str = "timers-app-secret";

fn whatsapp(base: &str, tools: &str) -> String {
    format!(
        "[channels.whatsapp]\napi_base = \"{base}\"\nphone_number_id = \"1234\"\naccess_token = \"tok\"\napp_secret = \"{SECRET}\"\nverify_token = \"v\"\nin_doubt_window = \"1s\"\n[tools.whatsapp]\ntimeout = \"300ms\"\nretry_initial = \"50ms\"\nretry_max_interval = \"200ms\"\nmax_elapsed = \"120s\"\n{tools}\n[limits]\noutbound_per_recipient = \"10ms\"\n"
    )
}

/// A config on `dir` whose first-response SLA is 1 s.
fn quick_sla_config(dir: &std::path::Path, extra: &str) -> std::path::PathBuf {
    let source = std::fs::read_to_string(repo_file("workflows/support.toml"))
        .unwrap()
        .replace("name = \"support\"", "name = \"support-quick-sla\"")
        .replace("[timers.first_response]\n# No message at all reached the customer in time: hand the case to a human.\nafter = \"3m\"",
                 "[timers.first_response]\nafter = \"1s\"");
    assert!(source.contains("after = \"1s\""));
    let wf = dir.join("wf.toml");
    std::fs::write(&wf, source).unwrap();
    let config = write_config(dir, "collect_window = \"50ms\"", extra);
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace(&repo_file("workflows/support.toml"), wf.to_str().unwrap());
    std::fs::write(&config, text).unwrap();
    config
}

fn breached(c: &Value) -> bool {
    c["tags"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t == "sla_breach:first_response")
}

fn send_call(c: &Value) -> Value {
    c["tool_calls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["tool"] == "whatsapp")
        .cloned()
        .unwrap_or(Value::Null)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_first_response_sla_fires_while_the_send_is_retrying_and_the_send_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let (fake, base) = Fake::start().await;
    fake.set_default(Behaviour::Status(500));
    let config = write_config(
        dir.path(),
        "collect_window = \"50ms\"",
        &whatsapp(&base, "failure_threshold = 1000"),
    );
    let s = Server::start_clocked(dir.path(), &config, false).await;
    let (_, body) = s.message("+6281400000001", "wamid.sla1", "halo kak").await;
    let id = body["case_id"].as_str().unwrap().to_string();
    let c = s.collected(&id).await;
    // The shipped workflow's SLA: three minutes after the case opened.
    assert_eq!(
        timer_due(&c, "first_response"),
        Some(opened_at(&c) + chrono::Duration::minutes(3)),
        "{c}"
    );
    s.wait_for(
        "the send to be retrying",
        Duration::from_secs(10),
        || async { (fake.requests().len() >= 2).then_some(()) },
    )
    .await;
    let c = s.case(&id).await;
    assert!(!breached(&c) && c["waiting_on"] != "operator", "{c}");
    s.advance(Duration::from_secs(180));
    let c = s
        .wait_for(
            "the SLA to hand the case over",
            Duration::from_secs(10),
            || async {
                let c = s.case(&id).await;
                (c["waiting_on"] == "operator").then_some(c)
            },
        )
        .await;
    assert!(breached(&c), "{c}");
    assert_eq!(c["state"], "qa");
    assert_eq!(send_call(&c)["status"], "intent", "the send still goes on");
    let before = fake.requests().len();
    s.wait_for("more attempts", Duration::from_secs(5), || async {
        (fake.requests().len() > before + 2).then_some(())
    })
    .await;
    // WhatsApp recovers: the acknowledgement goes out, the case stays with
    // the operator.
    fake.set_default(Behaviour::Ok);
    let c = s
        .wait_for("the send to finish", Duration::from_secs(10), || async {
            let c = s.case(&id).await;
            (send_call(&c)["status"] == "done").then_some(c)
        })
        .await;
    assert_eq!(c["waiting_on"], "operator", "{c}");
    let reasons: Vec<&str> = c["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["reason"].as_str().unwrap())
        .collect();
    assert_eq!(
        reasons
            .iter()
            .filter(|r| r.contains("first_response"))
            .count(),
        1,
        "{reasons:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_first_response_sla_fires_after_a_kill_and_restart_while_whatsapp_is_down() {
    let dir = tempfile::tempdir().unwrap();
    let (fake, base) = Fake::start().await;
    fake.set_default(Behaviour::Status(500));
    let config = quick_sla_config(dir.path(), &whatsapp(&base, "failure_threshold = 1000"));
    let s = Server::start_with_config(dir.path(), &config).await;
    let (_, body) = s.message("+6281400000002", "wamid.sla2", "halo kak").await;
    let id = body["case_id"].as_str().unwrap().to_string();
    s.wait_for(
        "the send to be retrying",
        Duration::from_secs(5),
        || async { (!fake.requests().is_empty()).then_some(()) },
    )
    .await;
    let due = timer_due(&s.case(&id).await, "first_response").expect("the SLA is armed");
    s.kill9();
    // Down past the due time (the binary runs on the real clock).
    while chrono::Utc::now() <= due {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let s = Server::start_with_config(dir.path(), &config).await;
    let c = s
        .wait_for("the SLA after restart", Duration::from_secs(10), || async {
            let c = s.case(&id).await;
            (c["waiting_on"] == "operator").then_some(c)
        })
        .await;
    assert!(breached(&c), "{c}");
    assert_eq!(send_call(&c)["status"], "intent");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_first_response_sla_fires_behind_an_open_breaker_and_on_a_stuck_send() {
    let dir = tempfile::tempdir().unwrap();
    let (fake, base) = Fake::start().await;
    fake.set_default(Behaviour::Status(503));
    // The breaker opens at once and stays open longer than the SLA.
    let config = write_config(
        dir.path(),
        "collect_window = \"50ms\"",
        &whatsapp(&base, "failure_threshold = 1\nopen_for = \"10m\""),
    );
    let s = Server::start_clocked(dir.path(), &config, false).await;
    let (_, body) = s.message("+6281400000003", "wamid.sla3", "halo kak").await;
    let id = body["case_id"].as_str().unwrap().to_string();
    s.collected(&id).await;
    let whatsapp_breaker = |tools: &Value| {
        tools["tools"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|t| t["tool"] == "whatsapp")
            .map(|t| t["state"].clone())
    };
    s.wait_for("the breaker to open", Duration::from_secs(10), || async {
        let (_, tools) = s.admin_get("/admin/tools").await;
        (whatsapp_breaker(&tools)? == "open").then_some(())
    })
    .await;
    s.advance(Duration::from_secs(180));
    let c = s
        .wait_for(
            "the SLA behind the breaker",
            Duration::from_secs(10),
            || async {
                let c = s.case(&id).await;
                (c["waiting_on"] == "operator").then_some(c)
            },
        )
        .await;
    assert!(breached(&c), "{c}");
    let (_, tools) = s.admin_get("/admin/tools").await;
    assert_eq!(whatsapp_breaker(&tools), Some(json!("open")), "{tools}");
    // A 4xx leaves the send stuck: its SLA still fires.
    let dir2 = tempfile::tempdir().unwrap();
    let (fake2, base2) = Fake::start().await;
    fake2.set_default(Behaviour::Status(400));
    let config2 = write_config(
        dir2.path(),
        "collect_window = \"50ms\"",
        &whatsapp(&base2, ""),
    );
    let s2 = Server::start_clocked(dir2.path(), &config2, false).await;
    let (_, body) = s2.message("+6281400000004", "wamid.sla4", "halo kak").await;
    let id2 = body["case_id"].as_str().unwrap().to_string();
    s2.collected(&id2).await;
    s2.wait_for("the send to be stuck", Duration::from_secs(10), || async {
        let c = s2.case(&id2).await;
        (c["stuck"] == true).then_some(())
    })
    .await;
    s2.advance(Duration::from_secs(180));
    let c = s2
        .wait_for(
            "the SLA on a stuck send",
            Duration::from_secs(10),
            || async {
                let c = s2.case(&id2).await;
                (c["waiting_on"] == "operator").then_some(c)
            },
        )
        .await;
    assert!(breached(&c) && c["stuck"] == true, "{c}");
}

/// The config of a demo desk whose template catalog has approved WhatsApp
/// templates for `approved` (id, name).
fn templates_config(
    dir: &std::path::Path,
    mode: &str,
    base: &str,
    approved: &[(&str, &str)],
) -> std::path::PathBuf {
    let mut catalog = std::fs::read_to_string(repo_file("config/templates.toml")).unwrap();
    for (id, name) in approved {
        catalog = catalog.replace(
            &format!("[\"{id}\"]\n"),
            &format!("[\"{id}\"]\nwhatsapp = \"{name}\"\n"),
        );
    }
    let path = dir.join("templates.toml");
    std::fs::write(&path, catalog).unwrap();
    let config = write_config(dir, "collect_window = \"50ms\"", &whatsapp(base, ""));
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace(&repo_file("config/templates.toml"), path.to_str().unwrap())
        .replace("mode = \"pilot\"", &format!("mode = \"{mode}\""));
    std::fs::write(&config, text).unwrap();
    config
}

/// The real binary on the demo records, with approved templates.
async fn demo_with_templates(
    dir: &std::path::Path,
    mode: &str,
    base: &str,
    approved: &[(&str, &str)],
) -> Server {
    let config = templates_config(dir, mode, base, approved);
    Server::start_with_args(dir, &config, &["--demo"]).await
}

async fn webhook_message(s: &Server, from: &str, id: &str, text: &str, sent: i64) {
    let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages",
        "value": {"messaging_product": "whatsapp", "metadata": {"phone_number_id": "1234"},
          "messages": [{"from": from, "id": id, "timestamp": sent.to_string(), "type": "text",
                        "text": {"body": text}}]}}]}]})
    .to_string();
    let r = s
        .client()
        .post(format!("{}/webhooks/whatsapp", s.base))
        .header(
            "x-hub-signature-256",
            caseflow::channels::whatsapp::sign(SECRET, body.as_bytes()),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

async fn case_of(s: &Server, address: &str) -> Option<Value> {
    for c in s.cases("").await {
        let full = s.case(c["id"].as_str()?).await;
        if full["customer"] == address {
            return Some(full);
        }
    }
    None
}

#[tokio::test(flavor = "multi_thread")]
async fn after_the_window_an_answer_without_an_approved_template_waits_on_the_operator() {
    let dir = tempfile::tempdir().unwrap();
    let (fake, base) = Fake::start().await;
    let s = demo_with_templates(dir.path(), "pilot", &base, &[]).await;
    let old = chrono::Utc::now().timestamp() - 25 * 3600;
    webhook_message(
        &s,
        "6287700000001",
        "wamid.w1",
        "berapa harga les vokal?",
        old,
    )
    .await;
    let c = s
        .wait_for(
            "the case to wait on the operator",
            Duration::from_secs(10),
            || async {
                let c = case_of(&s, "+6287700000001").await?;
                (c["waiting_on"] == "operator").then_some(c)
            },
        )
        .await;
    assert!(fake.requests().is_empty(), "nothing free-form went out");
    assert!(c["qa_block"].as_str().unwrap().contains("24-hour"), "{c}");
    assert!(
        c["tags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t == "window_closed")
    );
    // The same question inside the window is answered at once.
    webhook_message(
        &s,
        "6287700000002",
        "wamid.w2",
        "berapa harga les vokal?",
        chrono::Utc::now().timestamp() - 23 * 3600,
    )
    .await;
    s.wait_for("the R0 answer", Duration::from_secs(10), || async {
        (fake.requests().len() == 1).then_some(())
    })
    .await;
    assert_eq!(fake.requests()[0].body["type"], "text");
}

#[tokio::test(flavor = "multi_thread")]
async fn after_the_window_an_approved_template_goes_out_as_a_template_message() {
    let dir = tempfile::tempdir().unwrap();
    let (fake, base) = Fake::start().await;
    let s = demo_with_templates(dir.path(), "pilot", &base, &[("wa.r0.faq", "faq_answer")]).await;
    fake.post_statuses(
        &format!("{}/webhooks/whatsapp", s.base),
        SECRET,
        vec![Planned::at("sent", 10), Planned::at("delivered", 20)],
    );
    let old = chrono::Utc::now().timestamp() - 25 * 3600;
    webhook_message(
        &s,
        "6287700000003",
        "wamid.w3",
        "berapa harga les vokal?",
        old,
    )
    .await;
    s.wait_for("the template send", Duration::from_secs(10), || async {
        (fake.requests().len() == 1).then_some(())
    })
    .await;
    let body = fake.requests()[0].body.clone();
    assert_eq!(body["type"], "template", "{body}");
    assert_eq!(body["template"]["name"], "faq_answer");
    assert_eq!(body["template"]["language"]["code"], "id");
    let param = body["template"]["components"][0]["parameters"][0]["text"]
        .as_str()
        .unwrap();
    assert!(!param.is_empty());
    assert!(body.get("text").is_none());
    assert!(body["biz_opaque_callback_data"].is_string());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_late_human_approval_respects_the_window() {
    let dir = tempfile::tempdir().unwrap();
    let (fake, base) = Fake::start().await;
    let config = templates_config(
        dir.path(),
        "pilot",
        &base,
        &[("wa.r1.schedule", "next_session")],
    );
    let s = Server::start_clocked(dir.path(), &config, true).await;
    // Both customers write now: the window closes 24 hours later.
    let sent = s.now().timestamp();
    webhook_message(
        &s,
        "6281234567890",
        "wamid.a1",
        "kak jadwal les saya kapan?",
        sent,
    )
    .await;
    webhook_message(
        &s,
        "6281298765432",
        "wamid.a2",
        "sudah lunas belum pembayaran saya?",
        sent,
    )
    .await;
    let mut ids = Vec::new();
    for who in ["+6281234567890", "+6281298765432"] {
        let c = s
            .wait_for(
                "the messages to be read",
                Duration::from_secs(10),
                || async {
                    let c = case_of(&s, who).await?;
                    (c["unread"] == 0).then_some(c)
                },
            )
            .await;
        ids.push(c["id"].as_str().unwrap().to_string());
    }
    s.advance(Duration::from_millis(50));
    for id in &ids {
        s.wait_for("the R1 draft to wait", Duration::from_secs(10), || async {
            let c = s.case(id).await;
            (c["waiting_on"] == "operator" && c["pending_reply"].is_object()).then_some(c)
        })
        .await;
    }
    s.wait_for("the acknowledgements", Duration::from_secs(10), || async {
        (fake.requests().len() == 2).then_some(())
    })
    .await;
    let acks = fake.requests().len();
    // The window closes 24 hours after the customers wrote.
    s.advance(Duration::from_secs(24 * 3600 + 1));
    assert!(s.now().timestamp() > sent + 24 * 3600);
    for id in &ids {
        let (status, v) = s
            .admin_post(
                &format!("/admin/cases/{id}/decision"),
                json!({"decision": "approve", "by": "operator-rina"}),
            )
            .await;
        assert_eq!(status, 202, "{v}");
    }
    // Sari's schedule has an approved template: it goes as one.
    s.wait_for("the template", Duration::from_secs(10), || async {
        (fake.requests().len() == acks + 1).then_some(())
    })
    .await;
    let body = fake.requests().last().unwrap().body.clone();
    assert_eq!(body["type"], "template", "{body}");
    assert_eq!(body["template"]["name"], "next_session");
    assert_eq!(
        body["template"]["components"][0]["parameters"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    // Budi's payment answer has none: after the window it is not sent,
    // whatever was approved, and the case waits on the operator saying why.
    let c = s
        .wait_for("the held answer", Duration::from_secs(10), || async {
            let c = s.case(&ids[1]).await;
            (c["waiting_on"] == "operator" && c["qa_block"].as_str()?.contains("24-hour"))
                .then_some(c)
        })
        .await;
    assert!(c["decision_pending"] == false, "{c}");
    let texts_after = fake
        .requests()
        .iter()
        .skip(acks)
        .filter(|r| r.body["type"] == "text")
        .count();
    assert_eq!(texts_after, 0);
}
