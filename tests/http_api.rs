//! The ingest and admin HTTP contract, against the real binary.

mod common;

use std::time::Duration;

use common::{Server, TOKEN};
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn a_message_is_acknowledged_and_the_case_waits_on_the_operator() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), "", "").await;
    let (status, body) = s
        .message(
            "+6281234567890",
            "wamid.A1",
            "halo kak, mau tanya sesuatu dong",
        )
        .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["duplicate"], false);
    let id = body["case_id"].as_str().unwrap().to_string();
    let case = s
        .wait_for(
            "the case to wait on the operator",
            Duration::from_secs(10),
            || async {
                let c = s.case(&id).await;
                (c["waiting_on"] == "operator").then_some(c)
            },
        )
        .await;
    assert_eq!(case["state"], "qa");
    assert_eq!(case["workflow"], "support");
    assert_eq!(case["workflow_version"], 4);
    assert_eq!(case["identity"], "unverified");
    let messages = case["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2, "{case}");
    assert_eq!(messages[0]["direction"], "in");
    assert_eq!(messages[0]["provider_id"], "wamid.A1");
    assert_eq!(messages[1]["direction"], "out");
    assert_eq!(messages[1]["template"], "wa.ack");
    assert!(
        messages[1]["provider_id"].is_string(),
        "sent: has a provider id"
    );
    let path: Vec<String> = case["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            format!(
                "{}>{}",
                t["from"].as_str().unwrap(),
                t["to"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(path, ["intake>tier", "tier>qa", "qa>send", "send>qa"]);
    assert_eq!(case["tier"], serde_json::Value::Null, "unclassified");
    assert_eq!(case["rule"], "unclassified");
    let calls = case["tool_calls"].as_array().unwrap();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0]["status"], "done");
    assert_eq!(calls[0]["idempotency_key"], format!("{id}/0"));
    // The list view masks the customer.
    let listed = s.cases("").await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["customer"], "+628******7890");
    assert_eq!(listed[0]["waiting_on"], "operator");
    assert_eq!(listed[0]["stuck"], false);
    s.terminate();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_duplicate_message_id_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), "", "").await;
    let (first, a) = s.message("+6281111111111", "wamid.D1", "hello").await;
    let (second, b) = s.message("+6281111111111", "wamid.D1", "hello").await;
    assert_eq!((first, second), (202, 200));
    assert_eq!(b["duplicate"], true);
    assert_eq!(a["case_id"], b["case_id"]);
    let id = a["case_id"].as_str().unwrap();
    let case = s.case(id).await;
    let inbound = case["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["direction"] == "in")
        .count();
    assert_eq!(inbound, 1);
    s.terminate();
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_is_refused_by_field_and_nothing_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), "", "").await;
    let good = json!({"channel":"whatsapp","from":"+6281234567890","message_id":"m","text":"hi"});
    let cases = [
        (
            json!({"from":"+6281234567890","message_id":"m","text":"hi"}),
            "channel",
        ),
        (
            json!({"channel":"telegram","from":"+6281234567890","message_id":"m","text":"hi"}),
            "channel",
        ),
        (
            json!({"channel":"whatsapp","message_id":"m","text":"hi"}),
            "from",
        ),
        (
            json!({"channel":"whatsapp","from":"081234","message_id":"m","text":"hi"}),
            "from",
        ),
        (
            json!({"channel":"whatsapp","from":"+6281234567890","text":"hi"}),
            "message_id",
        ),
        (
            json!({"channel":"whatsapp","from":"+6281234567890","message_id":"m"}),
            "text",
        ),
        (
            json!({"channel":"whatsapp","from":"+6281234567890","message_id":"m","text":""}),
            "text",
        ),
        (
            json!({"channel":"whatsapp","from":"+6281234567890","message_id":"m","text":5}),
            "text",
        ),
        (
            json!({"channel":"whatsapp","from":"+6281234567890","message_id":"m","text":"hi","at":"soon"}),
            "at",
        ),
    ];
    for (body, field) in cases {
        let (status, answer) = s.post_raw(&body.to_string()).await;
        assert_eq!(status, 400, "{body}");
        let error = answer["error"].as_str().unwrap();
        assert!(error.contains(&format!("`{field}`")), "{body} -> {error}");
    }
    let (status, answer) = s.post_raw("{not json").await;
    assert_eq!(status, 400);
    assert!(answer["error"].as_str().unwrap().contains("JSON"));
    assert!(s.cases("").await.is_empty(), "nothing was stored");
    // The same message id is still free: bad input did not reserve it.
    let (status, _) = s.post_raw(&good.to_string()).await;
    assert_eq!(status, 202);
    s.terminate();
}

#[tokio::test(flavor = "multi_thread")]
async fn admin_routes_need_the_bearer_token() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), "", "").await;
    let (_, body) = s.message("+6282222222222", "wamid.T1", "hi").await;
    let id = body["case_id"].as_str().unwrap().to_string();
    let paths = [
        ("GET", "/admin/cases".to_string()),
        ("GET", format!("/admin/cases/{id}")),
        ("POST", format!("/admin/cases/{id}/retry")),
    ];
    for (method, path) in &paths {
        for auth in [None, Some("Bearer wrong"), Some(TOKEN)] {
            let url = format!("{}{path}", s.base);
            let mut req = match *method {
                "GET" => s.client().get(&url),
                _ => s.client().post(&url),
            };
            if let Some(a) = auth {
                let value = if a == TOKEN {
                    format!("Bearer {a}")
                } else {
                    a.to_string()
                };
                req = req.header("authorization", value);
            }
            let status = req.send().await.unwrap().status().as_u16();
            if auth == Some(TOKEN) {
                assert!(status == 200 || status == 202, "{method} {path}: {status}");
            } else {
                assert_eq!(status, 401, "{method} {path} with {auth:?}");
            }
        }
    }
    // Health needs no token.
    let health = s
        .client()
        .get(format!("{}/healthz", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status().as_u16(), 200);
    s.terminate();
}

#[tokio::test(flavor = "multi_thread")]
async fn admin_queries_filter_and_name_bad_parameters() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), "", "").await;
    for i in 0..3 {
        s.message(&format!("+62833333333{i:02}"), &format!("wamid.F{i}"), "hi")
            .await;
    }
    s.wait_for(
        "three cases waiting on the operator",
        Duration::from_secs(10),
        || async { (s.cases("waiting_on=operator").await.len() == 3).then_some(()) },
    )
    .await;
    assert_eq!(s.cases("state=qa&stuck=false").await.len(), 3);
    assert_eq!(s.cases("state=close").await.len(), 0);
    assert_eq!(s.cases("tier=R3").await.len(), 0);
    assert_eq!(s.cases("stuck=true").await.len(), 0);
    let (status, _) = s.admin_get("/admin/cases?limit=2").await;
    assert_eq!(status, 200);
    assert_eq!(
        s.admin_get("/admin/cases?limit=2").await.1["cases"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    for (q, field) in [
        ("state=limbo", "state"),
        ("tier=R9", "tier"),
        ("stuck=maybe", "stuck"),
        ("limit=0", "limit"),
        ("waiting_on=godot", "waiting_on"),
    ] {
        let (status, body) = s.admin_get(&format!("/admin/cases?{q}")).await;
        assert_eq!(status, 400, "{q}");
        assert!(
            body["error"]
                .as_str()
                .unwrap()
                .contains(&format!("`{field}`")),
            "{q}: {body}"
        );
    }
    let (status, _) = s.admin_get("/admin/cases/not-a-uuid").await;
    assert_eq!(status, 400);
    let (status, _) = s
        .admin_get("/admin/cases/01a20c22-d221-7345-82f7-14535160ed2e")
        .await;
    assert_eq!(status, 404);
    s.terminate();
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_drains_and_exits_cleanly_and_the_desk_comes_back() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), "", "").await;
    let (_, body) = s.message("+6284444444444", "wamid.S1", "hi").await;
    let id = body["case_id"].as_str().unwrap().to_string();
    let status = s.terminate();
    assert!(status.success(), "exit status {status:?}");
    let s = Server::start(dir.path(), "", "").await;
    let case = s
        .wait_for(
            "the case to wait on the operator",
            Duration::from_secs(10),
            || async {
                let c = s.case(&id).await;
                (c["waiting_on"] == "operator").then_some(c)
            },
        )
        .await;
    let outs = case["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["direction"] == "out")
        .count();
    assert_eq!(outs, 1, "one acknowledgement, not two: {case}");
    s.terminate();
}

#[tokio::test]
async fn metrics_show_the_desk_in_prometheus_text_behind_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), "", "").await;
    let (_, body) = s.message("+6281234500001", "wamid.m1", "halo kak").await;
    s.message("+6281234500001", "wamid.m1", "halo kak").await;
    let id = body["case_id"].as_str().unwrap().to_string();
    s.wait_case_waiting(&id, "operator").await;
    let r = s
        .client()
        .get(format!("{}/metrics", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // The first response is counted when the acknowledgement's send
    // completes, which can be just after the case shows its wait.
    let text = s
        .wait_for(
            "the first response to be counted",
            std::time::Duration::from_secs(10),
            || async {
                let text = s
                    .client()
                    .get(format!("{}/metrics", s.base))
                    .bearer_auth(common::TOKEN)
                    .send()
                    .await
                    .unwrap()
                    .text()
                    .await
                    .unwrap();
                text.contains("caseflow_first_response_seconds_count{tier=\"none\"} 1")
                    .then_some(text)
            },
        )
        .await;
    for needle in [
        "caseflow_messages_total{result=\"accepted\"} 1",
        "caseflow_messages_total{result=\"duplicate\"} 1",
        "caseflow_open_cases{state=\"qa\",tier=\"none\"} 1",
        "caseflow_open_cases_waiting{on=\"operator\"} 1",
        "caseflow_transitions_total{from=\"intake\",to=\"tier\"} 1",
        "caseflow_first_response_seconds_count{tier=\"none\"} 1",
        "caseflow_ingest_seconds_bucket",
        "caseflow_breaker_state{tool=\"whatsapp\"} 0",
        "caseflow_degraded 0",
        "caseflow_stuck_cases 0",
        "caseflow_process_peak_resident_memory_bytes",
    ] {
        assert!(text.contains(needle), "missing {needle} in:\n{text}");
    }
}

/// Every JSON body is read into its declared shape: a wrong-typed value,
/// nested or not, is a 400 naming its path, and nothing changes.
#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_typed_nested_field_is_named_on_every_endpoint_and_nothing_changes() {
    let dir = tempfile::tempdir().unwrap();
    let extra = "[midtrans]\nserver_key = \"SB-Mid-server-typed\"\n[channels.telegram]\nsecret_token = \"tg-secret-typed-bodies\"\n";
    let s = Server::start_demo_with(dir.path(), "pilot", extra).await;
    let c = s.say("+6285611112222", "saya mau refund").await;
    let id = c["id"].as_str().unwrap().to_string();
    let history = |c: &serde_json::Value| c["transitions"].as_array().unwrap().len();
    let before = history(&c);
    let (_, audit) = s.admin_get("/admin/audit?limit=1000").await;
    let audited = audit["entries"].as_array().unwrap().len();
    let scores = json!({"correctness": 2, "completeness": 2, "safety": 2, "tone": "good",
                        "efficiency": 2, "tool_integrity": 2});
    let student = json!({"id": "s9", "name": "Nia", "phone": "+6281200000009",
        "email": "nia@example.com", "rev": 1,
        "invoices": [{"number": "INV-9", "order_id": "O9", "amount": "lots", "status": "paid"}]});
    let admin: Vec<(String, serde_json::Value, &str)> = vec![
        (
            format!("/admin/cases/{id}/decision"),
            json!({"decision": "approve", "by": ["coach-dewi"]}),
            "`by`",
        ),
        (
            "/admin/degraded".into(),
            json!({"on": "yes", "reason": "notion down"}),
            "`on`",
        ),
        (
            "/admin/cases/retry".into(),
            json!({"filter": {"stuck": 5}, "reason": "x", "dry_run": false}),
            "`filter.stuck`",
        ),
        (
            "/admin/records/students".into(),
            json!([student]),
            "[0].invoices[0].amount",
        ),
        (
            "/admin/records/slots".into(),
            json!([{"starts_at": {"day": 1}, "coach": "Dewi"}]),
            "[0].starts_at",
        ),
        (
            "/admin/kb".into(),
            json!([{"id": "k", "title": "t", "status": "published", "bodies": {"en": 5},
                    "questions": ["q"], "version": 1}]),
            "[0].bodies.en",
        ),
        (
            "/admin/qa/sample".into(),
            json!({"from": {"date": "2026-11-01"}, "to": "2026-11-30", "n": 3, "by": "dewi"}),
            "`from`",
        ),
        (
            "/admin/qa/labels".into(),
            json!({"by": "dewi", "labels": [{"sample": uuid::Uuid::now_v7().to_string(),
                   "item": 0, "verdict": "correct", "scores": scores}]}),
            "`labels[0].scores.tone`",
        ),
        (
            "/admin/customers/+6285611112222/erase".into(),
            json!({"reason": {"why": "asked"}}),
            "`reason`",
        ),
    ];
    for (path, body, field) in admin {
        let (status, v) = s.admin_post(&path, body.clone()).await;
        assert_eq!(status, 400, "{path} {body}: {v}");
        let error = v["error"].as_str().unwrap();
        assert!(error.contains(field), "{path}: {error}");
    }
    let (status, v) = s
        .post_raw(
            &json!({"channel": "whatsapp", "from": "+6281200000010", "message_id": "wamid.T1",
                    "text": "halo", "at": {"seconds": 1}})
            .to_string(),
        )
        .await;
    assert_eq!(status, 400);
    assert!(v["error"].as_str().unwrap().contains("`at`"), "{v}");
    let midtrans = json!({"order_id": "ORDER-001", "status_code": "200",
        "gross_amount": {"value": 450000}, "signature_key": "x",
        "transaction_status": "settlement"});
    let r = s
        .client()
        .post(format!("{}/webhooks/midtrans", s.base))
        .json(&midtrans)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let v: serde_json::Value = r.json().await.unwrap();
    assert!(
        v["error"].as_str().unwrap().contains("`gross_amount`"),
        "{v}"
    );
    let r = s
        .client()
        .post(format!("{}/webhooks/telegram", s.base))
        .header("x-telegram-bot-api-secret-token", "tg-secret-typed-bodies")
        .json(&json!({"update_id": 1, "callback_query": {"id": "7", "data": 5}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let v: serde_json::Value = r.json().await.unwrap();
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("`callback_query.data`"),
        "{v}"
    );

    // Nothing changed: the case, the audit, degraded mode, the records.
    let c = s.case(&id).await;
    assert_eq!(history(&c), before, "{c}");
    assert_eq!(c["waiting_on"], "coach");
    let (_, audit) = s.admin_get("/admin/audit?limit=1000").await;
    assert_eq!(
        audit["entries"].as_array().unwrap().len(),
        audited,
        "{audit}"
    );
    let (_, degraded) = s.admin_get("/admin/degraded").await;
    assert_eq!(degraded["on"], false);
    let (status, _) = s.admin_get("/admin/records/students/s9").await;
    assert_eq!(status, 404);
    assert_eq!(s.cases("").await.len(), 1, "no message was stored");
    s.terminate();
}
