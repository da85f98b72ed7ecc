//! The WhatsApp Cloud API webhook as it behaves in production, through the
//! real endpoint: every inbound message type of Meta's webhook reference,
//! users who hide their number, events that wake nothing, bad items in a
//! batch, message ids reused by another sender, and deliveries up to 3 MB.

mod common;

use std::time::Duration;

use common::Server;
use common::fake::{Fake, Planned};
use serde_json::{Value, json};

const SECRET: &str = "conformance-app-secret";

fn extra(base: &str) -> String {
    format!(
        "[channels.whatsapp]\napi_base = \"{base}\"\nphone_number_id = \"1234\"\naccess_token = \"tok\"\napp_secret = \"{SECRET}\"\nverify_token = \"v\"\nin_doubt_window = \"2s\"\n[tools.whatsapp]\ntimeout = \"2s\"\nretry_initial = \"20ms\"\n[limits]\noutbound_per_recipient = \"10ms\"\n"
    )
}

async fn start(dir: &std::path::Path) -> (Server, Fake) {
    let (fake, base) = Fake::start().await;
    let s = Server::start_demo_with(dir, "pilot", &extra(&base)).await;
    fake.post_statuses(
        &format!("{}/webhooks/whatsapp", s.base),
        SECRET,
        vec![Planned::at("sent", 5), Planned::at("delivered", 10)],
    );
    (s, fake)
}

fn delivery(messages: Vec<Value>) -> String {
    json!({"object": "whatsapp_business_account", "entry": [{"id": "waba-1", "changes": [{"field": "messages",
        "value": {"messaging_product": "whatsapp",
          "metadata": {"display_phone_number": "15550001111", "phone_number_id": "1234"},
          "contacts": [{"profile": {"name": "Customer"}, "wa_id": "6281100000000"}],
          "messages": messages}}]}]})
    .to_string()
}

async fn post(s: &Server, body: &str) -> (u16, Value) {
    let r = s
        .client()
        .post(format!("{}/webhooks/whatsapp", s.base))
        .header("content-type", "application/json")
        .header(
            "x-hub-signature-256",
            caseflow::channels::whatsapp::sign(SECRET, body.as_bytes()),
        )
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn ts() -> String {
    (chrono::Utc::now().timestamp() - 1).to_string()
}

fn msg(from: &str, id: &str, kind: &str, body: Value) -> Value {
    let mut m = json!({"from": from, "id": id, "timestamp": ts(), "type": kind});
    if kind == "contacts" {
        m["contacts"] = body;
    } else {
        m[kind] = body;
    }
    m
}

async fn case_of(s: &Server, address: &str) -> Option<Value> {
    let (_, v) = s
        .admin_get(&format!("/admin/cases?limit=1000&customer={address}"))
        .await;
    for c in v["cases"].as_array()? {
        let full = s.case(c["id"].as_str()?).await;
        if full["customer"] == address {
            return Some(full);
        }
    }
    None
}

fn ins(c: &Value) -> Vec<Value> {
    c["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["direction"] == "in")
        .cloned()
        .collect()
}

fn outs(c: &Value) -> Vec<Value> {
    c["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["direction"] == "out")
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_inbound_message_type_is_taken_as_its_kind() {
    let dir = tempfile::tempdir().unwrap();
    let (s, _fake) = start(dir.path()).await;
    let refund = "kak ini bukti transfer saya, mau refund";
    // (sender, message, expected text, goes to)
    let cases: Vec<(&str, Value, &str, &str)> = vec![
        (
            "6281100000001",
            msg(
                "6281100000001",
                "wamid.t1",
                "text",
                json!({"body": "halo kak, mau tanya"}),
            ),
            "halo kak, mau tanya",
            "operator",
        ),
        (
            "6281100000002",
            msg(
                "6281100000002",
                "wamid.t2",
                "image",
                json!({"id": "m1", "mime_type": "image/jpeg", "sha256": "x", "caption": refund}),
            ),
            refund,
            "coach",
        ),
        (
            "6281100000003",
            msg(
                "6281100000003",
                "wamid.t3",
                "video",
                json!({"id": "m2", "mime_type": "video/mp4", "caption": refund}),
            ),
            refund,
            "coach",
        ),
        (
            "6281100000004",
            msg(
                "6281100000004",
                "wamid.t4",
                "document",
                json!({"id": "m3", "filename": "bukti.pdf", "caption": refund}),
            ),
            refund,
            "coach",
        ),
        (
            "6281100000005",
            msg(
                "6281100000005",
                "wamid.t5",
                "audio",
                json!({"id": "m4", "mime_type": "audio/ogg"}),
            ),
            "[audio]",
            "operator",
        ),
        (
            "6281100000006",
            msg(
                "6281100000006",
                "wamid.t6",
                "audio",
                json!({"id": "m5", "mime_type": "audio/ogg; codecs=opus", "voice": true}),
            ),
            "[voice message]",
            "operator",
        ),
        (
            "6281100000007",
            msg(
                "6281100000007",
                "wamid.t7",
                "sticker",
                json!({"id": "m6", "animated": false}),
            ),
            "[sticker]",
            "operator",
        ),
        (
            "6281100000008",
            msg(
                "6281100000008",
                "wamid.t8",
                "location",
                json!({"latitude": -6.2, "longitude": 106.8, "name": "Studio", "address": "Jl. Sudirman 1"}),
            ),
            "[location: Studio, Jl. Sudirman 1 (-6.2, 106.8)]",
            "operator",
        ),
        (
            "6281100000009",
            msg(
                "6281100000009",
                "wamid.t9",
                "contacts",
                json!([{"name": {"formatted_name": "Budi", "first_name": "Budi"}, "phones": [{"phone": "+62 812-000", "type": "CELL"}]}]),
            ),
            "[contacts: Budi +62 812-000]",
            "operator",
        ),
        (
            "6281100000010",
            msg(
                "6281100000010",
                "wamid.t10",
                "interactive",
                json!({"type": "button_reply", "button_reply": {"id": "help-1", "title": "Need help"}}),
            ),
            "Need help (help-1)",
            "operator",
        ),
        (
            "6281100000011",
            msg(
                "6281100000011",
                "wamid.t11",
                "interactive",
                json!({"type": "list_reply", "list_reply": {"id": "topic-3", "title": "Jadwal", "description": "x"}}),
            ),
            "Jadwal (topic-3)",
            "operator",
        ),
        (
            "6281100000012",
            msg(
                "6281100000012",
                "wamid.t12",
                "button",
                json!({"text": "Hubungi kami", "payload": "contact-us"}),
            ),
            "Hubungi kami (contact-us)",
            "operator",
        ),
        (
            "6281100000013",
            msg(
                "6281100000013",
                "wamid.t13",
                "order",
                json!({"catalog_id": "c1", "text": "pesan paket", "product_items": [{"product_retailer_id": "p1", "quantity": 1, "item_price": 450000, "currency": "IDR"}]}),
            ),
            "[order: 1 item(s)] pesan paket",
            "operator",
        ),
        (
            "6281100000014",
            json!({"from": "6281100000014", "id": "wamid.t14", "timestamp": ts(), "type": "unsupported",
            "errors": [{"code": 131051, "title": "Message type unknown", "message": "Message type unknown", "error_data": {"details": "Message type is currently not supported."}}],
            "unsupported": {"type": "poll_creation"}}),
            "[unsupported poll_creation: 131051 Message type unknown]",
            "operator",
        ),
    ];
    let all: Vec<Value> = cases.iter().map(|c| c.1.clone()).collect();
    let (status, v) = post(&s, &delivery(all)).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["taken"], cases.len(), "{v}");
    for (from, m, text, lane) in &cases {
        let address = format!("+{from}");
        let c = s
            .wait_for(
                &format!("{} to rest", m["type"]),
                Duration::from_secs(15),
                || async {
                    let c = case_of(&s, &address).await?;
                    c["waiting_on"]
                        .as_str()
                        .is_some_and(|w| w == *lane)
                        .then_some(c)
                },
            )
            .await;
        let got = ins(&c);
        assert_eq!(got.len(), 1, "{c}");
        assert_eq!(got[0]["text"], *text, "{}", m["type"]);
        assert_eq!(got[0]["provider_id"], m["id"]);
    }
    // The refund caption is tiered on its words: R3, the coach decides.
    let c = case_of(&s, "+6281100000002").await.unwrap();
    assert_eq!(c["tier"], "R3", "{c}");
}

#[tokio::test(flavor = "multi_thread")]
async fn reactions_edits_deletions_and_notices_never_open_reopen_or_wake() {
    let dir = tempfile::tempdir().unwrap();
    let (s, fake) = start(dir.path()).await;
    // An R0 answer puts the case in `close`, waiting on the customer.
    let from = "6287700000001";
    let (status, _) = post(
        &s,
        &delivery(vec![msg(
            from,
            "wamid.q1",
            "text",
            json!({"body": "berapa harga les vokal?"}),
        )]),
    )
    .await;
    assert_eq!(status, 200);
    let c = s
        .wait_for("the R0 answer", Duration::from_secs(15), || async {
            let c = case_of(&s, &format!("+{from}")).await?;
            (c["state"] == "close" && outs(&c).iter().all(|o| o["provider_id"].is_string()))
                .then_some(c)
        })
        .await;
    let id = c["id"].as_str().unwrap().to_string();
    let answer = outs(&c)[0]["provider_id"].as_str().unwrap().to_string();
    let sends = fake.requests().len();
    let transitions = c["transitions"].as_array().unwrap().len();

    let events = vec![
        msg(
            from,
            "wamid.r1",
            "reaction",
            json!({"message_id": answer, "emoji": "👍"}),
        ),
        msg(
            from,
            "wamid.r2",
            "reaction",
            json!({"message_id": answer, "emoji": ""}),
        ),
        msg(
            from,
            "wamid.r3",
            "edit",
            json!({"original_message_id": "wamid.q1",
            "message": {"type": "text", "text": {"body": "berapa harga les vokal privat?"}}}),
        ),
        msg(
            from,
            "wamid.r4",
            "revoke",
            json!({"original_message_id": "wamid.q1"}),
        ),
        msg(from, "wamid.r5", "request_welcome", json!({})),
        msg(
            from,
            "wamid.r6",
            "system",
            json!({"body": "User changed number", "type": "user_changed_number", "wa_id": "6287700000009"}),
        ),
    ];
    let (status, v) = post(&s, &delivery(events.clone())).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["rejected"].as_array().unwrap().len(), 0, "{v}");
    let c = s
        .wait_for(
            "the events on the case",
            Duration::from_secs(10),
            || async {
                let c = s.case(&id).await;
                (c["events"].as_array()?.len() == events.len()).then_some(c)
            },
        )
        .await;
    let kinds: Vec<&str> = c["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "reaction",
            "reaction",
            "edit",
            "revoke",
            "request_welcome",
            "system"
        ]
    );
    assert_eq!(c["events"][0]["refers_to"], answer);
    assert_eq!(c["events"][0]["text"], "👍");
    // A case woken by the events (wrongly) would have acted by the time no
    // case actor runs; check it did not.
    s.wait_idle().await;
    let c = s.case(&id).await;
    assert_eq!(c["state"], "close");
    assert_eq!(c["waiting_on"], "customer");
    assert_eq!(
        c["transitions"].as_array().unwrap().len(),
        transitions,
        "{c}"
    );
    assert_eq!(ins(&c).len(), 1, "events are not messages of a turn");
    assert_eq!(fake.requests().len(), sends, "nothing was sent");
    assert_eq!(c["unread"], 0);

    // A sender with no case: nothing is opened, the events are kept.
    let stranger = "6287700000002";
    let (status, _) = post(
        &s,
        &delivery(vec![
            msg(stranger, "wamid.s1", "request_welcome", json!({})),
            msg(
                stranger,
                "wamid.s2",
                "reaction",
                json!({"message_id": "wamid.unknown", "emoji": "❤️"}),
            ),
        ]),
    )
    .await;
    assert_eq!(status, 200);
    // Redelivered: still nothing.
    post(
        &s,
        &delivery(vec![msg(
            stranger,
            "wamid.s1",
            "request_welcome",
            json!({}),
        )]),
    )
    .await;
    assert!(
        case_of(&s, &format!("+{stranger}")).await.is_none(),
        "no case opened"
    );
    s.kill9();
    let store = caseflow::store::Store::open(&dir.path().join("data/store")).unwrap();
    let kept = store
        .kept_notes(&caseflow::core::types::CustomerKey {
            channel: caseflow::core::types::Channel::Whatsapp,
            address: format!("+{stranger}"),
        })
        .unwrap();
    assert_eq!(kept.len(), 2, "{kept:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hidden_number_gets_a_case_keyed_by_its_user_id_and_no_batch_loses_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let (s, fake) = start(dir.path()).await;
    let bsuid = "ID.1502576394655843";
    let hidden = json!({"from_user_id": bsuid, "id": "wamid.h1", "timestamp": ts(), "type": "text",
        "text": {"body": "halo kak, mau tanya jadwal"}});
    let normal = msg(
        "6281100000020",
        "wamid.n1",
        "text",
        json!({"body": "halo, mau tanya"}),
    );
    let (status, v) = post(&s, &delivery(vec![hidden, normal])).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["taken"], 2, "{v}");
    let c = s
        .wait_for(
            "the hidden-number case",
            Duration::from_secs(15),
            || async {
                let c = case_of(&s, bsuid).await?;
                (!outs(&c).is_empty() && outs(&c)[0]["provider_id"].is_string()).then_some(c)
            },
        )
        .await;
    assert_eq!(c["identity"], "unverified");
    assert!(case_of(&s, "+6281100000020").await.is_some());
    let to_hidden = fake
        .requests()
        .into_iter()
        .find(|r| r.body["recipient"] == bsuid)
        .expect("the reply is addressed to the user id");
    assert!(to_hidden.body.get("to").is_none(), "{}", to_hidden.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_items_are_rejected_alone_with_their_reason_and_the_rest_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let (s, _fake) = start(dir.path()).await;
    let good = msg("6281100000030", "wamid.g1", "text", json!({"body": "halo"}));
    let bads = vec![
        msg("abc", "wamid.b1", "text", json!({"body": "halo"})),
        msg("", "wamid.b2", "text", json!({"body": "halo"})),
        json!({"id": "wamid.b3", "timestamp": ts(), "type": "text", "text": {"body": "halo"}}),
        msg("6281100000031", "", "text", json!({"body": "halo"})),
        msg(
            "6281100000032",
            "wamid.\u{0000}",
            "text",
            json!({"body": "halo"}),
        ),
        msg(
            "6281100000033",
            "wamid.b6",
            "text",
            json!({"body": "\u{200B}\u{200D} \u{FEFF}"}),
        ),
        msg(
            "6281100000034",
            "wamid.b7",
            "text",
            json!({"body": "\u{0000}\u{0007}"}),
        ),
        json!({"from_user_id": "not-an-id", "id": "wamid.b8", "timestamp": ts(), "type": "text", "text": {"body": "x"}}),
    ];
    let mut all = vec![good];
    all.extend(bads.clone());
    let (status, v) = post(&s, &delivery(all)).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["taken"], 1, "{v}");
    let rejected = v["rejected"].as_array().unwrap();
    assert_eq!(rejected.len(), bads.len(), "{v}");
    for r in rejected {
        assert!(!r["reason"].as_str().unwrap().is_empty());
    }
    let cases = s.cases("").await;
    assert_eq!(
        cases.len(),
        1,
        "only the good message opened a case: {cases:?}"
    );
    let (_, listed) = s.admin_get("/admin/webhooks/rejected").await;
    assert_eq!(listed["rejected"].as_array().unwrap().len(), bads.len());
    assert!(
        listed["rejected"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["raw"].as_str().unwrap().contains("\"abc\"")),
        "the item is kept as delivered: {listed}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_message_id_of_another_sender_is_refused_without_naming_their_case() {
    let dir = tempfile::tempdir().unwrap();
    let (s, _fake) = start(dir.path()).await;
    let (status, first) = s.message("+6281100000040", "wamid.same", "halo kak").await;
    assert_eq!(status, 202);
    let first_case = first["case_id"].as_str().unwrap().to_string();
    // /v1/messages: 409 naming message_id, no case id.
    let (status, v) = s.message("+6281100000041", "wamid.same", "halo juga").await;
    assert_eq!(status, 409, "{v}");
    assert!(v["error"].as_str().unwrap().contains("message_id"), "{v}");
    assert!(!v.to_string().contains(&first_case), "{v}");
    // The same sender again is still a plain duplicate.
    let (status, v) = s.message("+6281100000040", "wamid.same", "halo kak").await;
    assert_eq!((status, v["duplicate"].as_bool()), (200, Some(true)));
    // The webhook: the item is refused, the rest of the delivery stored.
    let (status, v) = post(
        &s,
        &delivery(vec![
            msg(
                "6281100000042",
                "wamid.same",
                "text",
                json!({"body": "bukan saya"}),
            ),
            msg(
                "6281100000042",
                "wamid.other",
                "text",
                json!({"body": "halo"}),
            ),
        ]),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(v["taken"], 1, "{v}");
    assert_eq!(v["rejected"][0]["message_id"], "wamid.same");
    assert!(!v.to_string().contains(&first_case), "{v}");
    let c = s.case(&first_case).await;
    assert_eq!(ins(&c).len(), 1, "the first customer's case is untouched");
    assert_eq!(ins(&case_of(&s, "+6281100000042").await.unwrap()).len(), 1);
    // Blank text on /v1/messages names `text`.
    for blank in ["\u{200B}\u{200C}", "\u{0000}", " \n\t", "\u{FEFF}\u{2060}"] {
        let (status, v) = s.message("+6281100000043", "wamid.blank", blank).await;
        assert_eq!(status, 400, "{blank:?}");
        assert!(v["error"].as_str().unwrap().contains("`text`"), "{v}");
    }
    let (status, v) = s.message("abc", "wamid.from", "halo").await;
    assert_eq!(status, 400);
    assert!(v["error"].as_str().unwrap().contains("`from`"), "{v}");
}

#[tokio::test(flavor = "multi_thread")]
async fn deliveries_up_to_three_megabytes_are_taken_and_other_bodies_stay_small() {
    let dir = tempfile::tempdir().unwrap();
    let (s, _fake) = start(dir.path()).await;
    // 30 texts of 3,000 characters: about 93 KB.
    let words = "kak saya mau tanya jadwal les vokal minggu depan ya ".repeat(60);
    let text: String = words.chars().take(3000).collect();
    let batch: Vec<Value> = (0..30)
        .map(|i| {
            msg(
                &format!("62811000001{i:02}"),
                &format!("wamid.big.{i}"),
                "text",
                json!({"body": text}),
            )
        })
        .collect();
    let body = delivery(batch);
    assert!(body.len() > 90_000, "{}", body.len());
    let (status, v) = post(&s, &body).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["taken"], 30);
    assert_eq!(s.cases("").await.len(), 30);
    // Close to 3 MB: taken (1,000 texts of 2,900 characters).
    let text: String = words.chars().take(2900).collect();
    let batch: Vec<Value> = (0..1000)
        .map(|i| {
            msg(
                "6281100000200",
                &format!("wamid.huge.{i}"),
                "text",
                json!({"body": text}),
            )
        })
        .collect();
    let body = delivery(batch);
    assert!(
        body.len() > 2_900_000 && body.len() <= 3 * 1024 * 1024,
        "{}",
        body.len()
    );
    let (status, v) = post(&s, &body).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["taken"], 1000);
    // Over the limit: 413, nothing stored.
    let over = format!("{body}{}", " ".repeat(3 * 1024 * 1024 + 1 - body.len()));
    let over = over.replace("wamid.huge.", "wamid.over.");
    let signature = caseflow::channels::whatsapp::sign(SECRET, over.as_bytes());
    assert_eq!(
        refused(&s, "/webhooks/whatsapp", over, Some(signature)).await,
        413
    );
    // Elsewhere the limit stays small.
    let big_message =
        json!({"channel": "whatsapp", "from": "+6281100000300", "message_id": "m-big",
        "text": "x".repeat(70 * 1024)})
        .to_string();
    assert_eq!(refused(&s, "/v1/messages", big_message, None).await, 413);
    assert_eq!(
        s.cases("").await.len(),
        31,
        "nothing over a limit was stored"
    );
}

/// Posts a body over a limit. The server answers 413 as soon as it sees
/// the length and may close the connection while the body is still being
/// written, which the client can see as a reset: then ask again with a
/// fresh connection until the answer is read (bounded).
async fn refused(s: &Server, path: &str, body: String, signature: Option<String>) -> u16 {
    for _ in 0..20 {
        let client = reqwest::Client::new();
        let mut req = client
            .post(format!("{}{path}", s.base))
            .header("content-type", "application/json")
            .body(body.clone());
        if let Some(sig) = &signature {
            req = req.header("x-hub-signature-256", sig);
        }
        if let Ok(r) = req.send().await {
            return r.status().as_u16();
        }
    }
    panic!("no answer read for an over-limit body at {path}");
}
