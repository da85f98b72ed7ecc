//! Midtrans HTTP notifications: the signature, the payment state machine
//! under duplicate and out-of-order deliveries, and the desk answering from
//! the provider's state.

mod common;

use common::Server;
use serde_json::{Value, json};
use sha2::Digest;

const KEY: &str = "SB-Mid-server-test-key";

fn notice(order: &str, status: &str, code: &str, fraud: Option<&str>) -> Value {
    let gross = "450000.00";
    let sig = hex::encode(sha2::Sha512::digest(
        format!("{order}{code}{gross}{KEY}").as_bytes(),
    ));
    let mut v = json!({
        "transaction_time": "2026-11-25 10:00:00",
        "transaction_status": status,
        "transaction_id": "9aed5972-5b6a-401e-894b-a32c91ed1a3a",
        "status_message": "midtrans payment notification",
        "status_code": code,
        "signature_key": sig,
        "payment_type": "qris",
        "order_id": order,
        "merchant_id": "G000000000",
        "gross_amount": gross,
        "currency": "IDR",
    });
    if let Some(f) = fraud {
        v["fraud_status"] = json!(f);
    }
    v
}

async fn post(s: &Server, body: &Value) -> (u16, Value) {
    let r = s
        .client()
        .post(format!("{}/webhooks/midtrans", s.base))
        .json(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn start(dir: &std::path::Path) -> Server {
    Server::start_demo_with(
        dir,
        "production",
        &format!("[midtrans]\nserver_key = \"{KEY}\"\n"),
    )
    .await
}

#[tokio::test]
async fn bad_signatures_and_malformed_bodies_store_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path()).await;
    let mut forged = notice("ORDER-X", "settlement", "200", None);
    forged["gross_amount"] = json!("1.00");
    assert_eq!(
        post(&s, &forged).await.0,
        401,
        "amount changed after signing"
    );
    let mut no_sig = notice("ORDER-X", "settlement", "200", None);
    no_sig.as_object_mut().unwrap().remove("signature_key");
    let (status, v) = post(&s, &no_sig).await;
    assert_eq!(status, 400);
    assert!(v["error"].as_str().unwrap().contains("signature_key"));
    let r = s
        .client()
        .post(format!("{}/webhooks/midtrans", s.base))
        .body("not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(s.admin_get("/admin/payments/ORDER-X").await.0, 404);
}

#[tokio::test]
async fn duplicates_and_late_notifications_never_move_a_state_backwards() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path()).await;
    let seq = [
        ("pending", "201", None, "PENDING"),
        ("settlement", "200", None, "CONFIRMED"),
        ("settlement", "200", None, "CONFIRMED"),
        ("pending", "201", None, "CONFIRMED"),
        ("expire", "407", None, "CONFIRMED"),
    ];
    for (status, code, fraud, want) in seq {
        let (http, v) = post(&s, &notice("ORDER-A", status, code, fraud)).await;
        assert_eq!(http, 200, "{v}");
        assert_eq!(v["state"], want, "after {status}");
    }
    let (_, p) = s.admin_get("/admin/payments/ORDER-A").await;
    assert_eq!(p["state"], "CONFIRMED");
    let history = p["history"].as_array().unwrap();
    // Re-deliveries (the second settlement, the late pending) are listed once.
    assert_eq!(history.len(), 3, "{p}");
    assert_eq!(history[2]["transaction_status"], "expire");
    assert_eq!(history[2]["applied"], false);

    // Out of order from the start; then a refund after confirmation.
    for (status, code) in [("settlement", "200"), ("pending", "201"), ("refund", "200")] {
        post(&s, &notice("ORDER-B", status, code, None)).await;
    }
    assert_eq!(
        s.admin_get("/admin/payments/ORDER-B").await.1["state"],
        "REFUNDED"
    );
    // A capture is confirmed only with an accepted fraud status.
    let (_, v) = post(&s, &notice("ORDER-C", "capture", "200", Some("challenge"))).await;
    assert_eq!(v["state"], "PENDING");
    let (_, v) = post(&s, &notice("ORDER-C", "capture", "200", Some("accept"))).await;
    assert_eq!(v["state"], "CONFIRMED");
}

#[tokio::test]
async fn the_desk_says_confirmed_only_once_the_provider_confirms() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path()).await;
    // Budi's invoice (ORDER-002) is pending in the records.
    let c = s
        .say("+6281298765432", "sudah lunas belum pembayaran saya?")
        .await;
    let last = c["messages"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["template"], "wa.payment.pending");
    post(&s, &notice("ORDER-002", "settlement", "200", None)).await;
    let c = s
        .say("+6281298765432", "kalau sekarang status bayar saya gimana?")
        .await;
    let last = c["messages"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["template"], "wa.r1.payment", "{c}");
    assert!(last["text"].as_str().unwrap().contains("lunas"));
}

mod status_api {
    use super::*;
    use common::fake::{Behaviour, Fake};

    async fn start_with_provider(dir: &std::path::Path, tools: &str) -> (Server, Fake) {
        let (fake, base) = Fake::start().await;
        let extra = format!(
            "[midtrans]\napi_base = \"{base}\"\nserver_key = \"{KEY}\"\n[tools.midtrans]\ntimeout = \"300ms\"\nretry_initial = \"20ms\"\nretry_max_interval = \"50ms\"\n{tools}\n"
        );
        (
            Server::start_demo_with(dir, "production", &extra).await,
            fake,
        )
    }

    fn last(c: &Value) -> Value {
        c["messages"].as_array().unwrap().last().unwrap().clone()
    }

    #[tokio::test]
    async fn without_a_notification_the_status_api_is_asked() {
        let dir = tempfile::tempdir().unwrap();
        let (s, fake) = start_with_provider(dir.path(), "").await;
        fake.set_default(Behaviour::Json(json!({
            "status_code": "200", "transaction_status": "settlement", "fraud_status": "accept",
            "order_id": "ORDER-002", "gross_amount": "450000.00"
        })));
        let c = s
            .say("+6281298765432", "sudah lunas belum pembayaran saya?")
            .await;
        assert_eq!(last(&c)["template"], "wa.r1.payment", "{c}");
        let req = fake.requests().last().unwrap().clone();
        assert_eq!(req.path, "/v2/ORDER-002/status");
        assert!(req.authorization.unwrap().starts_with("Basic "));
        assert_eq!(
            s.admin_get("/admin/payments/ORDER-002").await.1["state"],
            "CONFIRMED"
        );
        let call = c["tool_calls"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["tool"] == "midtrans")
            .unwrap()
            .clone();
        assert_eq!(call["status"], "done");
    }

    #[tokio::test]
    async fn a_provider_outage_answers_pending_and_degrades_account_answers_until_its_window_ends()
    {
        let dir = tempfile::tempdir().unwrap();
        let (s, fake) = start_with_provider(
            dir.path(),
            "max_elapsed = \"200ms\"\nfailure_threshold = 2\nopen_for = \"1s\"",
        )
        .await;
        fake.set_default(Behaviour::Status(503));
        // The lookup's retries open the breaker: the answer is the
        // pending-verification notice, never a payment state.
        let budi = s
            .say("+6281298765432", "sudah lunas belum pembayaran saya?")
            .await;
        assert_eq!(last(&budi)["template"], "wa.degraded.pending", "{budi}");
        assert_eq!(budi["state"], "degraded");
        let (_, tools) = s.admin_get("/admin/tools").await;
        let mt = tools["tools"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["tool"] == "midtrans")
            .unwrap()
            .clone();
        assert_eq!(mt["state"], "open");
        let (_, d) = s.admin_get("/admin/degraded").await;
        assert_eq!(
            (d["on"].as_bool(), d["current"]["tool"].as_str()),
            (Some(true), Some("midtrans"))
        );

        // While degraded, an account question gets the notice and pauses...
        let c = s.say("+6281234567890", "when is my next lesson?").await;
        assert_eq!(last(&c)["template"], "wa.degraded.pending");
        assert_eq!(c["state"], "degraded");
        // ...and resumes by itself when the breaker's window ends.
        let id = c["id"].as_str().unwrap().to_string();
        let c = s
            .wait_for(
                "the paused case to resume",
                std::time::Duration::from_secs(10),
                || async {
                    let c = s.case(&id).await;
                    // The reply is listed from its intent on: wait for it to
                    // be sent and the case to move on.
                    (last(&c)["template"] == "wa.r1.schedule" && c["state"] == "close").then_some(c)
                },
            )
            .await;
        assert_eq!(c["state"], "close");
        let id = budi["id"].as_str().unwrap().to_string();
        let budi = s
            .wait_for(
                "the payment case to resume",
                std::time::Duration::from_secs(10),
                || async {
                    let c = s.case(&id).await;
                    (c["state"] == "close").then_some(c)
                },
            )
            .await;
        assert_eq!(last(&budi)["template"], "wa.payment.pending", "{budi}");
    }
}
