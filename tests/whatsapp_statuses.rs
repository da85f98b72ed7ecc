//! Status callbacks and sends in doubt against a fake Graph API that posts
//! signed status webhooks after (or before) answering a send, as WhatsApp
//! does: statuses only move forward, a failure reported before the send's
//! answer is applied once the message is known (also across a restart), and
//! a send answered too late is not made again when a status with its key
//! came.

mod common;

use std::time::Duration;

use common::Server;
use common::fake::{Behaviour, Fake, Planned};
use serde_json::{Value, json};

const SECRET: &str = "statuses-app-secret";

fn extra(base: &str, whatsapp: &str, tools: &str) -> String {
    format!(
        "[channels.whatsapp]\napi_base = \"{base}\"\nphone_number_id = \"1234\"\naccess_token = \"tok\"\napp_secret = \"{SECRET}\"\nverify_token = \"v\"\n{whatsapp}\n[tools.whatsapp]\ntimeout = \"300ms\"\nretry_initial = \"20ms\"\nretry_max_interval = \"100ms\"\nmax_elapsed = \"60s\"\nfailure_threshold = 100\n{tools}\n[limits]\noutbound_per_recipient = \"10ms\"\n"
    )
}

async fn start(dir: &std::path::Path, fake: &Fake, base: &str, whatsapp: &str) -> Server {
    let s = Server::start(dir, "collect_window = \"50ms\"", &extra(base, whatsapp, "")).await;
    fake.post_statuses(&format!("{}/webhooks/whatsapp", s.base), SECRET, Vec::new());
    s
}

fn out(c: &Value) -> Value {
    c["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["direction"] == "out")
        .cloned()
        .unwrap_or(Value::Null)
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

async fn case_id(s: &Server, from: &str, id: &str) -> String {
    let (status, body) = s.message(from, id, "halo kak, mau tanya").await;
    assert_eq!(status, 202, "{body}");
    body["case_id"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn statuses_only_move_forward_whatever_order_they_arrive_in() {
    let dir = tempfile::tempdir().unwrap();
    let (fake, base) = Fake::start().await;
    let s = start(dir.path(), &fake, &base, "").await;
    let hook = format!("{}/webhooks/whatsapp", s.base);
    // read, then a late delivered, then a late sent.
    fake.post_statuses(
        &hook,
        SECRET,
        vec![
            Planned::at("read", 20),
            Planned::at("delivered", 80),
            Planned::at("sent", 140),
        ],
    );
    let id = case_id(&s, "+6281300000001", "wamid.o1").await;
    s.wait_for("three statuses", Duration::from_secs(10), || async {
        (fake.posted().len() == 3).then_some(())
    })
    .await;
    let c = s.case(&id).await;
    assert_eq!(out(&c)["status"], "read", "{c}");
    assert!(fake.posted().iter().all(|(_, _, code)| *code == 200));

    // failed is final: a later read does not undo it.
    fake.post_statuses(
        &hook,
        SECRET,
        vec![
            Planned::at("sent", 10),
            Planned::failed(131026, "Message undeliverable", 60),
            Planned::at("read", 120),
        ],
    );
    let id = case_id(&s, "+6281300000002", "wamid.o2").await;
    s.wait_for("six statuses", Duration::from_secs(10), || async {
        (fake.posted().len() == 6).then_some(())
    })
    .await;
    let c = s.case(&id).await;
    assert_eq!(out(&c)["status"], "failed", "{c}");
    assert!(out(&c)["error"].as_str().unwrap().contains("131026"));
    assert_eq!(c["stuck"], true);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failure_reported_before_the_send_is_answered_is_applied_once_the_message_is_known() {
    let dir = tempfile::tempdir().unwrap();
    let (fake, base) = Fake::start().await;
    let s = start(dir.path(), &fake, &base, "").await;
    let hook = format!("{}/webhooks/whatsapp", s.base);
    for (n, keyless) in [(1, false), (2, true)] {
        // The failed status is posted (and answered 200) while the send's
        // HTTP call is still in flight.
        let mut failed = Planned::failed(131026, "Message undeliverable", 0).before_answer();
        if keyless {
            failed = failed.keyless();
        }
        fake.post_statuses(&hook, SECRET, vec![failed]);
        let id = case_id(&s, &format!("+628130000010{n}"), &format!("wamid.e{n}")).await;
        let c = s
            .wait_for("the case to be marked", Duration::from_secs(10), || async {
                let c = s.case(&id).await;
                (c["stuck"] == true && send_call(&c)["status"] == "done").then_some(c)
            })
            .await;
        assert!(
            c["stuck_reason"].as_str().unwrap().contains("131026"),
            "{c}"
        );
        assert_eq!(out(&c)["status"], "failed", "{c}");
        assert!(out(&c)["provider_id"].is_string());
        assert_eq!(send_call(&c)["status"], "done");
        let posted = fake.posted();
        assert_eq!(posted.last().unwrap().2, 200, "{posted:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_early_status_is_kept_across_a_restart_and_applied_when_the_message_is_known() {
    let dir = tempfile::tempdir().unwrap();
    let (fake, base) = Fake::start().await;
    fake.set_default(Behaviour::Hang(Duration::from_secs(30)));
    let s = start(dir.path(), &fake, &base, "in_doubt_window = \"60s\"").await;
    let id = case_id(&s, "+6281300000201", "wamid.k1").await;
    s.wait_for("the send in doubt", Duration::from_secs(10), || async {
        let c = s.case(&id).await;
        (out(&c)["status"] == "in_doubt"
            && out(&c)["in_doubt"]["reason"]
                .as_str()?
                .contains("timed out"))
        .then_some(())
    })
    .await;
    // A failure for a message id nobody here knows yet (no key echoed).
    let early = Planned::failed(131026, "Message undeliverable", 0).keyless();
    fake.post_one("wamid.fixed", &early, &json!({"to": "6281300000201"}))
        .await;
    assert_eq!(fake.posted().last().unwrap().2, 200);
    s.kill9();

    fake.set_default(Behaviour::OkWith("wamid.fixed".into()));
    let s = Server::start(
        dir.path(),
        "collect_window = \"50ms\"",
        &extra(&base, "in_doubt_window = \"500ms\"", ""),
    )
    .await;
    fake.post_statuses(&format!("{}/webhooks/whatsapp", s.base), SECRET, Vec::new());
    let c = s
        .wait_for(
            "the kept failure to apply",
            Duration::from_secs(15),
            || async {
                let c = s.case(&id).await;
                (c["stuck"] == true).then_some(c)
            },
        )
        .await;
    assert_eq!(out(&c)["provider_id"], "wamid.fixed");
    assert_eq!(out(&c)["status"], "failed", "{c}");
    assert!(c["stuck_reason"].as_str().unwrap().contains("131026"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_send_answered_too_late_is_not_made_again_when_a_status_with_its_key_came() {
    let dir = tempfile::tempdir().unwrap();
    let (fake, base) = Fake::start().await;
    // WhatsApp takes the message at once and reports it, but answers the
    // send only after the client gave up.
    fake.set_default(Behaviour::Hang(Duration::from_secs(3)));
    let s = start(dir.path(), &fake, &base, "in_doubt_window = \"10s\"").await;
    fake.post_statuses(
        &format!("{}/webhooks/whatsapp", s.base),
        SECRET,
        vec![Planned::at("sent", 500), Planned::at("delivered", 700)],
    );
    let id = case_id(&s, "+6281300000301", "wamid.l1").await;
    let c = s
        .wait_for("the send to settle", Duration::from_secs(10), || async {
            let c = s.case(&id).await;
            (send_call(&c)["status"] == "done").then_some(c)
        })
        .await;
    assert_eq!(fake.requests().len(), 1, "sent once: {c}");
    assert_eq!(out(&c)["provider_id"], "wamid.late.1");
    assert_eq!(send_call(&c)["attempts"], 1);
    let c = s
        .wait_for("delivered", Duration::from_secs(5), || async {
            let c = s.case(&id).await;
            (out(&c)["status"] == "delivered").then_some(c)
        })
        .await;
    let key = out(&c)["idempotency_key"].as_str().unwrap().to_string();
    assert_eq!(fake.requests()[0].body["biz_opaque_callback_data"], key);
}

/// On a manual clock with the default in-doubt window (30 s, CONTRACT
/// section 2): the send is not made again while the window runs, and is
/// made again, under the same key, once the clock has passed it.
#[tokio::test(flavor = "multi_thread")]
async fn a_send_in_doubt_is_shown_and_made_again_only_after_the_window_without_a_status() {
    let dir = tempfile::tempdir().unwrap();
    let (fake, base) = Fake::start().await;
    fake.script([Behaviour::Hang(Duration::from_secs(3))]);
    let config = common::write_config(
        dir.path(),
        "collect_window = \"50ms\"",
        &extra(&base, "", ""),
    );
    let s = Server::start_clocked(dir.path(), &config, false).await;
    fake.post_statuses(&format!("{}/webhooks/whatsapp", s.base), SECRET, Vec::new());
    let id = case_id(&s, "+6281300000401", "wamid.d1").await;
    s.collected(&id).await;
    // In doubt once the attempt timed out (it is marked so already while
    // the request is on its way).
    let c = s
        .wait_for("the in-doubt state", Duration::from_secs(5), || async {
            let c = s.case(&id).await;
            (out(&c)["status"] == "in_doubt"
                && out(&c)["in_doubt"]["reason"]
                    .as_str()?
                    .contains("timed out"))
            .then_some(c)
        })
        .await;
    let since =
        chrono::DateTime::parse_from_rfc3339(out(&c)["in_doubt"]["since"].as_str().unwrap())
            .unwrap()
            .to_utc();
    assert_eq!(fake.requests().len(), 1);
    // The window runs on the desk's clock: a second before it ends, the send
    // still waits; the answer it waits for cannot come from real time.
    let window_end = since + chrono::Duration::seconds(30);
    s.clock().set(caseflow::core::types::Timestamp(
        (window_end - chrono::Duration::seconds(1)).timestamp_millis(),
    ));
    let c = s.case(&id).await;
    assert_eq!(out(&c)["status"], "in_doubt", "{c}");
    assert_eq!(fake.requests().len(), 1, "not made again within the window");
    s.advance(Duration::from_secs(1));
    let c = s
        .wait_for(
            "the send to be made again",
            Duration::from_secs(10),
            || async {
                let c = s.case(&id).await;
                (send_call(&c)["status"] == "done").then_some(c)
            },
        )
        .await;
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 2, "{c}");
    assert_eq!(
        reqs[0].body["biz_opaque_callback_data"],
        reqs[1].body["biz_opaque_callback_data"]
    );
    assert_eq!(send_call(&c)["attempts"], 2);
}
