//! Midtrans as it behaves in production, through the real endpoints: every
//! `transaction_status` x `fraud_status` combination of the HTTP
//! notification, and the status API asked with the order id percent-encoded
//! (an id such as `INV/2026/11/0011` is one path segment).

mod common;

use common::Server;
use common::fake::{Behaviour, Fake};
use serde_json::{Value, json};
use sha2::Digest;

const KEY: &str = "SB-Mid-server-conformance-key";

const STATUSES: [(&str, &str); 12] = [
    ("capture", "200"),
    ("settlement", "200"),
    ("pending", "201"),
    ("deny", "202"),
    ("cancel", "202"),
    ("expire", "407"),
    ("refund", "200"),
    ("partial_refund", "200"),
    ("chargeback", "200"),
    ("partial_chargeback", "200"),
    ("authorize", "200"),
    ("failure", "202"),
];

const FRAUD: [Option<&str>; 4] = [Some("accept"), Some("challenge"), Some("deny"), None];

fn notice(order: &str, status: &str, code: &str, fraud: Option<&str>) -> Value {
    let gross = "450000.00";
    let sig = hex::encode(sha2::Sha512::digest(
        format!("{order}{code}{gross}{KEY}").as_bytes(),
    ));
    let mut v = json!({
        "transaction_time": "2026-11-25 10:00:00",
        "transaction_status": status,
        "transaction_id": "5b6a-401e",
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

/// What an order that starts with this one notification is, per CONTRACT
/// section 2: CONFIRMED only for settlement or an accepted capture, and
/// never for a payment the fraud detection did not accept.
fn expected(status: &str, fraud: Option<&str>) -> &'static str {
    match (status, fraud) {
        ("capture", Some("accept")) => "CONFIRMED",
        ("capture", Some("deny")) => "FAILED",
        ("capture", _) => "PENDING",
        ("settlement", None | Some("accept")) => "CONFIRMED",
        ("settlement", _) => "PENDING",
        ("pending" | "authorize", _) => "PENDING",
        ("deny" | "cancel" | "failure", _) => "FAILED",
        ("expire", _) => "EXPIRED",
        ("refund" | "partial_refund", _) => "REFUNDED",
        ("chargeback" | "partial_chargeback", _) => "CHARGEBACK",
        _ => unreachable!(),
    }
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

#[tokio::test]
async fn every_status_and_fraud_combination_lands_on_its_state() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(
        dir.path(),
        "",
        &format!("[midtrans]\nserver_key = \"{KEY}\"\n"),
    )
    .await;
    for (status, code) in STATUSES {
        for fraud in FRAUD {
            let order = format!("INV/{status}/{}", fraud.unwrap_or("none"));
            let (http, v) = post(&s, &notice(&order, status, code, fraud)).await;
            assert_eq!(http, 200, "{status} {fraud:?}: {v}");
            let want = expected(status, fraud);
            assert_eq!(v["state"], want, "{status} x {fraud:?}");
            let path = format!("/admin/payments/{}", order.replace('/', "%2F"));
            let (code, p) = s.admin_get(&path).await;
            assert_eq!(code, 200, "{path}: {p}");
            assert_eq!(p["state"], want, "{status} x {fraud:?}");
            assert_eq!(p["order_id"], order);
        }
    }
    // After confirmation, every later notification but a refund or a
    // chargeback leaves the order confirmed.
    for (status, code) in STATUSES {
        for fraud in FRAUD {
            let order = format!("PAID/{status}/{}", fraud.unwrap_or("none"));
            post(&s, &notice(&order, "settlement", "200", Some("accept"))).await;
            let (_, v) = post(&s, &notice(&order, status, code, fraud)).await;
            let want = match expected(status, fraud) {
                s @ ("REFUNDED" | "CHARGEBACK") => s,
                _ => "CONFIRMED",
            };
            assert_eq!(v["state"], want, "settlement then {status} x {fraud:?}");
        }
    }
    // An unknown status is answered 200 (Midtrans stops resending) and
    // changes nothing.
    let (http, v) = post(&s, &notice("ODD-1", "mystery", "200", None)).await;
    assert_eq!(http, 200);
    assert_eq!(v["taken"], false);
    assert_eq!(s.admin_get("/admin/payments/ODD-1").await.0, 404);
}

#[tokio::test]
async fn the_status_api_is_asked_with_the_order_id_percent_encoded() {
    let dir = tempfile::tempdir().unwrap();
    let (fake, base) = Fake::start().await;
    let order = "INV/2026/11/0011";
    fake.set_default(Behaviour::Json(json!({
        "status_code": "200", "transaction_status": "settlement", "fraud_status": "accept",
        "order_id": order, "gross_amount": "450000.00"
    })));
    let extra = format!(
        "[midtrans]\napi_base = \"{base}\"\nserver_key = \"{KEY}\"\n[tools.midtrans]\ntimeout = \"500ms\"\nretry_initial = \"20ms\"\n"
    );
    let s = Server::start_demo_with(dir.path(), "production", &extra).await;
    let student = json!([{
        "id": "st-nina", "name": "Nina", "phone": "+6281277776666", "email": "nina@example.com",
        "rev": 1,
        "invoices": [{"number": "INV-2026-11-0011", "order_id": order, "amount": 450000, "status": "pending"}],
        "sessions": [], "reschedule_history": []
    }]);
    let (code, v) = s.admin_post("/admin/records/students", student).await;
    assert!(code < 300, "{v}");
    let c = s
        .say("+6281277776666", "kak pembayaran saya sudah lunas belum?")
        .await;
    let paths: Vec<String> = fake.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(paths, ["/v2/INV%2F2026%2F11%2F0011/status"], "{c}");
    let last = c["messages"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["template"], "wa.r1.payment", "{c}");
    let (_, p) = s.admin_get("/admin/payments/INV%2F2026%2F11%2F0011").await;
    assert_eq!(p["state"], "CONFIRMED", "{p}");
}
