//! The WhatsApp Cloud API adapter against a fake provider on 127.0.0.1:
//! retries on 5xx, timeouts and 429 (honouring Retry-After), no retry on
//! other 4xx, the circuit breaker opening and cases resuming by themselves
//! when it closes, and the signed webhook (handshake, inbound, statuses).

mod common;

use std::time::Duration;

use common::Server;
use common::fake::{Behaviour, Fake};
use serde_json::{Value, json};

const SECRET: &str = "app-secret-for-tests";

fn extra(base: &str, tools: &str) -> String {
    format!(
        "[channels.whatsapp]\napi_base = \"{base}\"\nphone_number_id = \"1234\"\naccess_token = \"tok\"\napp_secret = \"{SECRET}\"\nverify_token = \"verify-me\"\nin_doubt_window = \"300ms\"\n[tools.whatsapp]\ntimeout = \"300ms\"\nretry_initial = \"20ms\"\nretry_max_interval = \"100ms\"\n{tools}\n[limits]\noutbound_per_recipient = \"100ms\"\n"
    )
}

async fn start(dir: &std::path::Path, tools: &str) -> (Server, Fake) {
    let (fake, base) = Fake::start().await;
    let s = Server::start(dir, "collect_window = \"50ms\"", &extra(&base, tools)).await;
    (s, fake)
}

fn ack_call(case: &Value) -> Value {
    case["tool_calls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["tool"] == "whatsapp")
        .cloned()
        .expect("a whatsapp call")
}

#[tokio::test]
async fn transient_failures_are_retried_under_one_key_until_the_message_goes() {
    let dir = tempfile::tempdir().unwrap();
    let (s, fake) = start(dir.path(), "max_elapsed = \"20s\"\nfailure_threshold = 50").await;
    fake.script([
        Behaviour::Status(503),
        Behaviour::Hang(Duration::from_secs(1)),
        Behaviour::TooMany(1),
        Behaviour::Status(500),
        Behaviour::Ok,
    ]);
    let c = s.say("+6281111111111", "halo kak, mau tanya").await;
    let call = ack_call(&c);
    assert_eq!(call["status"], "done", "{c}");
    assert_eq!(call["attempts"], 5);
    let out = c["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["direction"] == "out")
        .unwrap()
        .clone();
    assert_eq!(out["provider_id"], "wamid.fake.5");
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 5);
    let keys: std::collections::HashSet<_> =
        reqs.iter().map(|r| r.idempotency_key.clone()).collect();
    assert_eq!(
        keys.len(),
        1,
        "every attempt carries the same idempotency key"
    );
    assert_eq!(reqs[0].body["to"], "6281111111111");
    assert_eq!(reqs[0].body["type"], "text");
    // Retry-After: 1 was honoured between the 429 and the next attempt.
    assert!(reqs[3].at.duration_since(reqs[2].at) >= Duration::from_millis(950));
}

#[tokio::test]
async fn a_4xx_is_not_retried_and_the_case_waits_stuck_until_an_operator_retries() {
    let dir = tempfile::tempdir().unwrap();
    let (s, fake) = start(dir.path(), "max_elapsed = \"20s\"").await;
    fake.script([Behaviour::Status(400)]);
    let (_, body) = s.message("+6281111111112", "wamid.x1", "halo").await;
    let id = body["case_id"].as_str().unwrap().to_string();
    let c = s
        .wait_for("the case to be stuck", Duration::from_secs(10), || async {
            let c = s.case(&id).await;
            (c["stuck"] == true).then_some(c)
        })
        .await;
    assert!(
        c["stuck_reason"].as_str().unwrap().contains("HTTP 400"),
        "{c}"
    );
    assert_eq!(fake.requests().len(), 1, "no retry on 400");
    let (status, _) = s
        .admin_post(&format!("/admin/cases/{id}/retry"), json!({}))
        .await;
    assert_eq!(status, 202);
    let c = s.settle(&id).await;
    assert_eq!(ack_call(&c)["status"], "done");
    assert_eq!(fake.requests().len(), 2);
    let keys: Vec<_> = fake
        .requests()
        .iter()
        .map(|r| r.idempotency_key.clone())
        .collect();
    assert_eq!(keys[0], keys[1], "the retry re-runs the same send");
}

#[tokio::test]
async fn a_used_up_budget_pauses_the_case_as_stuck_instead_of_failing_it() {
    let dir = tempfile::tempdir().unwrap();
    let (s, fake) = start(
        dir.path(),
        "max_elapsed = \"400ms\"\nfailure_threshold = 50",
    )
    .await;
    fake.set_default(Behaviour::Status(502));
    let (_, body) = s.message("+6281111111113", "wamid.y1", "halo").await;
    let id = body["case_id"].as_str().unwrap().to_string();
    let c = s
        .wait_for("the case to be stuck", Duration::from_secs(10), || async {
            let c = s.case(&id).await;
            (c["stuck"] == true).then_some(c)
        })
        .await;
    let reason = c["stuck_reason"].as_str().unwrap();
    assert!(
        reason.contains("502") && reason.contains("attempt"),
        "{reason}"
    );
    assert_eq!(c["state"], "send", "paused where it was");
    assert!(ack_call(&c)["attempts"].as_u64().unwrap() >= 2);
    fake.set_default(Behaviour::Ok);
    s.admin_post(&format!("/admin/cases/{id}/retry"), json!({}))
        .await;
    let c = s.settle(&id).await;
    assert_eq!(ack_call(&c)["status"], "done");
    assert_eq!(c["stuck"], false);
}

#[tokio::test]
async fn an_open_breaker_pauses_cases_without_using_their_budget_and_they_resume_by_themselves() {
    let dir = tempfile::tempdir().unwrap();
    let (s, fake) = start(
        dir.path(),
        "max_elapsed = \"30s\"\nfailure_threshold = 3\nopen_for = \"1s\"",
    )
    .await;
    fake.set_default(Behaviour::Status(503));
    let mut ids = Vec::new();
    for i in 0..4 {
        let (_, body) = s
            .message(
                &format!("+62811111120{i:02}"),
                &format!("wamid.b{i}"),
                "halo",
            )
            .await;
        ids.push(body["case_id"].as_str().unwrap().to_string());
    }
    let tools = s
        .wait_for("the breaker to open", Duration::from_secs(10), || async {
            let (_, v) = s.admin_get("/admin/tools").await;
            let wa = v["tools"]
                .as_array()?
                .iter()
                .find(|t| t["tool"] == "whatsapp")?
                .clone();
            (wa["state"] == "open").then_some(wa)
        })
        .await;
    assert!(tools["last_error"].as_str().unwrap().contains("503"));
    let calls_when_open = fake.requests().len();
    fake.set_default(Behaviour::Ok);
    for id in &ids {
        let c = s.settle(id).await;
        assert_eq!(ack_call(&c)["status"], "done", "{c}");
        assert_eq!(c["stuck"], false);
    }
    let (_, v) = s.admin_get("/admin/tools").await;
    let wa = v["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["tool"] == "whatsapp")
        .unwrap()
        .clone();
    assert_eq!(wa["state"], "closed");
    assert!(wa["opened"].as_u64().unwrap() >= 1);
    // While open, calls were refused locally: far fewer than 4 cases x retries.
    assert!(
        calls_when_open <= 8,
        "{calls_when_open} calls reached the provider"
    );
}

#[tokio::test]
async fn the_webhook_checks_its_signature_and_takes_messages_and_statuses() {
    let dir = tempfile::tempdir().unwrap();
    let (s, _fake) = start(dir.path(), "").await;
    let client = s.client().clone();
    let url = format!("{}/webhooks/whatsapp", s.base);

    // Verification handshake.
    let r = client
        .get(format!(
            "{url}?hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=12345"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "12345");
    let r = client
        .get(format!(
            "{url}?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    let inbound = |id: &str, text: &str| {
        json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages",
            "value": {"messaging_product": "whatsapp", "metadata": {"phone_number_id": "1234"},
              "messages": [{"from": "6281222333444", "id": id,
                            "timestamp": chrono::Utc::now().timestamp().to_string(),
                            "type": "text", "text": {"body": text}}]}}]}]})
        .to_string()
    };
    // Missing and bad signatures: 401, nothing stored.
    let body = inbound("wamid.in.1", "halo kak");
    for sig in [
        None,
        Some("sha256=00".to_string()),
        Some(caseflow::channels::whatsapp::sign("wrong", body.as_bytes())),
    ] {
        let mut req = client
            .post(&url)
            .body(body.clone())
            .header("content-type", "application/json");
        if let Some(sig) = sig {
            req = req.header("x-hub-signature-256", sig);
        }
        assert_eq!(req.send().await.unwrap().status(), 401);
    }
    assert!(s.cases("").await.is_empty(), "nothing stored");

    // Signed: taken in like /v1/messages, and a redelivery is deduplicated.
    for _ in 0..2 {
        let r = client
            .post(&url)
            .header(
                "x-hub-signature-256",
                caseflow::channels::whatsapp::sign(SECRET, body.as_bytes()),
            )
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    let cases = s.cases("").await;
    assert_eq!(cases.len(), 1);
    let id = cases[0]["id"].as_str().unwrap().to_string();
    let c = s.settle(&id).await;
    let ins = c["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["direction"] == "in")
        .count();
    assert_eq!(ins, 1);
    let out = c["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["direction"] == "out")
        .unwrap()
        .clone();
    let wamid = out["provider_id"].as_str().unwrap().to_string();

    // Status callbacks update the outbound message; a failure is visible.
    let status = |st: &str| {
        json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages",
            "value": {"messaging_product": "whatsapp", "statuses": [{"id": wamid, "status": st,
              "timestamp": "1764000100", "recipient_id": "6281222333444",
              "errors": if st == "failed" { json!([{"code": 131026, "title": "Message undeliverable"}]) } else { json!(null) }}]}}]}]})
        .to_string()
    };
    for st in ["sent", "delivered"] {
        let b = status(st);
        let r = client
            .post(&url)
            .header(
                "x-hub-signature-256",
                caseflow::channels::whatsapp::sign(SECRET, b.as_bytes()),
            )
            .body(b)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    let c = s.case(&id).await;
    let out = c["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["direction"] == "out")
        .unwrap()
        .clone();
    assert_eq!(out["status"], "delivered");
    let b = status("failed");
    client
        .post(&url)
        .header(
            "x-hub-signature-256",
            caseflow::channels::whatsapp::sign(SECRET, b.as_bytes()),
        )
        .body(b)
        .send()
        .await
        .unwrap();
    let c = s.case(&id).await;
    assert_eq!(c["stuck"], true);
    assert!(
        c["stuck_reason"]
            .as_str()
            .unwrap()
            .contains("Message undeliverable"),
        "{c}"
    );
    assert!(
        c["tags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t == "delivery_failed")
    );
}

#[tokio::test]
async fn a_flooding_sender_is_stored_in_full_and_flagged_without_extra_replies() {
    let dir = tempfile::tempdir().unwrap();
    let (fake, base) = Fake::start().await;
    let extra = extra(&base, "").replace(
        "[limits]\n",
        "[limits]\ninbound_per_sender_per_minute = 1\ninbound_burst = 3\n",
    );
    let s = Server::start(dir.path(), "collect_window = \"50ms\"", &extra).await;
    let mut id = String::new();
    for i in 0..12 {
        let (status, body) = s
            .message("+6281999000111", &format!("wamid.flood.{i}"), "halo halo")
            .await;
        assert_eq!(status, 202);
        id = body["case_id"].as_str().unwrap().to_string();
    }
    let c = s
        .wait_for(
            "the first turn to rest",
            Duration::from_secs(10),
            || async {
                let c = s.case(&id).await;
                (c["waiting_on"] == "operator").then_some(c)
            },
        )
        .await;
    assert!(
        c["tags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t == "rate_limited"),
        "{c}"
    );
    // Flagged messages wake nothing: whatever the first wake did not read
    // waits, stored, for the next turn.
    assert!(c["unread"].as_u64().unwrap() <= 9);
    let stored = c["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["direction"] == "in")
        .count();
    assert_eq!(stored, 12, "nothing dropped");
    let outs = c["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["direction"] == "out")
        .count();
    assert_eq!(outs, 1, "one acknowledgement, no reply per flooded message");
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn a_slot_offer_goes_as_a_list_and_a_tapped_row_books_that_slot() {
    let dir = tempfile::tempdir().unwrap();
    let (fake, base) = Fake::start().await;
    let s = Server::start_demo_with(dir.path(), "production", &extra(&base, "")).await;
    let c = s
        .say("+6281234567890", "I need to reschedule my lesson")
        .await;
    let id = c["id"].as_str().unwrap().to_string();
    let offer = fake.requests().last().unwrap().body.clone();
    assert_eq!(offer["type"], "interactive", "{offer}");
    let rows = offer["interactive"]["action"]["sections"][0]["rows"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(rows.len(), 3);
    assert!(
        rows.iter()
            .all(|r| r["title"].as_str().unwrap().chars().count() <= 24)
    );
    let tapped = rows[1]["id"].as_str().unwrap().to_string();

    let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages",
        "value": {"messaging_product": "whatsapp", "messages": [{"from": "6281234567890", "id": "wamid.tap.1",
          "timestamp": chrono::Utc::now().timestamp().to_string(), "type": "interactive",
          "interactive": {"type": "list_reply", "list_reply": {"id": tapped, "title": rows[1]["title"]}}}]}}]}]})
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
    let c = s
        .wait_for("the booking reply", Duration::from_secs(10), || async {
            let c = s.case(&id).await;
            let last = c["messages"].as_array()?.last()?.clone();
            (last["template"] == "wa.r2.reschedule.done" && last["provider_id"].is_string())
                .then_some(c)
        })
        .await;
    assert_eq!(c["rule"], "slot-choice");
    let all: Vec<String> = fake
        .requests()
        .iter()
        .map(|r| format!("{}:{}", r.body["type"], r.body["text"]["body"]))
        .collect();
    let done = fake.requests().last().unwrap().body.clone();
    assert_eq!(done["type"], "text", "{all:?}");
    assert_eq!(done["type"], "text");
    let label = rows[1]["title"].as_str().unwrap();
    let time = label.rsplit(' ').next().unwrap();
    assert!(
        done["text"]["body"].as_str().unwrap().contains(time),
        "{done} vs {label}"
    );
}
