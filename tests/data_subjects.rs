//! A data subject's rights (CONTRACT sections 2 "Privacy" and 4), against
//! the real binary: export, erasure (idempotent, across a restart, with a
//! pseudonymous audit entry), retention of closed cases, and the audit of
//! every human and admin action.

mod common;

use std::time::Duration;

use common::clocked::timer_due;
use common::{Server, write_config};
use serde_json::{Value, json};
use sha2::Digest;

const KEY: &str = "SB-Mid-server-test-key";
const SARI: &str = "+6281234567890";

fn settlement(order: &str) -> Value {
    let (code, gross) = ("200", "450000.00");
    let sig = hex::encode(sha2::Sha512::digest(
        format!("{order}{code}{gross}{KEY}").as_bytes(),
    ));
    json!({
        "transaction_time": "2026-11-25 10:00:00",
        "transaction_status": "settlement",
        "status_code": code,
        "signature_key": sig,
        "payment_type": "qris",
        "order_id": order,
        "gross_amount": gross,
    })
}

fn texts(case: &Value) -> Vec<String> {
    case["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_customer_is_exported_then_erased_for_good_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let extra = format!("[midtrans]\nserver_key = \"{KEY}\"\n");
    let s = Server::start_demo_with(dir.path(), "pilot", &extra).await;
    let r = s
        .client()
        .post(format!("{}/webhooks/midtrans", s.base))
        .json(&settlement("ORDER-001"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let c = s.say(SARI, "kak jadwal les saya kapan? ini Sari").await;
    let id = c["id"].as_str().unwrap().to_string();
    s.decide(&id, json!({"decision": "approve", "by": "op-rina"}))
        .await;
    let other = s.say("+6281298765432", "halo kak, Budi di sini").await;

    // Export: everything about Sari, in any number format.
    let (status, doc) = s.admin_get("/admin/customers/0812-3456-7890/export").await;
    assert_eq!(status, 200, "{doc}");
    assert_eq!(doc["subject"]["phone"], SARI);
    assert!(
        doc["subject"]["pseudonym"]
            .as_str()
            .unwrap()
            .starts_with("subject-")
    );
    let cases = doc["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 1);
    assert_eq!(cases[0]["id"], id.as_str());
    assert!(texts(&cases[0]).iter().any(|t| t.contains("ini Sari")));
    assert!(texts(&cases[0]).len() >= 2, "the reply is exported too");
    assert_eq!(cases[0]["approvals"][0]["by"], "op-rina");
    assert_eq!(doc["students"][0]["email"], "sari@example.com");
    assert_eq!(doc["payments"][0]["order_id"], "ORDER-001");
    assert_eq!(doc["payments"][0]["state"], "CONFIRMED");
    assert_eq!(doc["erasure"], Value::Null);
    assert!(!doc.to_string().contains("Budi"), "nobody else's data");

    // Erase.
    let (status, v) = s
        .admin_post(
            &format!("/admin/customers/{SARI}/erase"),
            json!({"reason": "customer asked on WhatsApp, coach approved"}),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    let subject = v["subject"].as_str().unwrap().to_string();
    assert_eq!(subject, doc["subject"]["pseudonym"].as_str().unwrap());
    assert_eq!(v["erased"]["cases"], 1);
    assert_eq!(v["erased"]["students"], 1);
    assert!(v["erased"]["messages"].as_u64().unwrap() >= 2);
    assert_eq!(v["already_erased"], false);

    let erased = s.case(&id).await;
    assert_eq!(erased["customer"], subject.as_str());
    assert!(texts(&erased).iter().all(|t| t == "[erased]"), "{erased}");
    assert!(
        erased["tags"]
            .as_array()
            .unwrap()
            .contains(&json!("erased"))
    );
    assert_eq!(erased["approvals"][0]["by"], "op-rina", "who decided stays");
    assert!(!erased.to_string().contains("1234567890"));
    let (_, student) = s.admin_get("/admin/records/students/st-sari").await;
    assert_eq!(
        (&student["name"], &student["phone"], &student["email"]),
        (&json!("[erased]"), &json!(""), &json!(""))
    );
    assert_eq!(student["invoices"][0]["number"], "INV-2026-001");
    let other_case = s.case(other["id"].as_str().unwrap()).await;
    assert!(texts(&other_case).iter().any(|t| t.contains("Budi")));
    let listed = serde_json::to_string(&s.cases("").await).unwrap();
    assert!(!listed.contains("7890"));

    // A restart keeps it; a second request finds nothing more; a late
    // redelivery of an erased message is a duplicate, not news.
    s.terminate();
    let s = Server::start_demo_with(dir.path(), "pilot", &extra).await;
    assert!(texts(&s.case(&id).await).iter().all(|t| t == "[erased]"));
    let (status, again) = s
        .admin_post(
            &format!("/admin/customers/{SARI}/erase"),
            json!({"reason": "again"}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(again["already_erased"], true);
    assert_eq!(
        again["erased"],
        json!({"cases": 0, "messages": 0, "students": 0})
    );
    assert_eq!(again["subject"], subject.as_str());
    let (status, dup) = s
        .message(SARI, "wamid.say.0", "kak jadwal les saya kapan? ini Sari")
        .await;
    assert_eq!((status, &dup["duplicate"]), (200, &json!(true)), "{dup}");
    assert_eq!(dup["case_id"], id.as_str());
    let (_, after) = s
        .admin_get(&format!("/admin/customers/{SARI}/export"))
        .await;
    assert_eq!(after["cases"], json!([]));
    assert_eq!(after["students"], json!([]));
    assert_eq!(after["erasure"]["subject"], subject.as_str());
    assert_eq!(after["erasure"]["erased"]["cases"], 1);

    // The audit keeps who erased, when and why, under the pseudonym only.
    let (_, audit) = s.admin_get("/admin/audit?limit=1000").await;
    let entries = audit["entries"].as_array().unwrap();
    let erasures: Vec<&Value> = entries.iter().filter(|e| e["action"] == "erase").collect();
    assert_eq!(erasures.len(), 2);
    assert_eq!(erasures[0]["target"], subject.as_str());
    assert!(
        erasures[0]["detail"]
            .as_str()
            .unwrap()
            .contains("coach approved")
    );
    assert_eq!(erasures[0]["by"], "admin");
    assert!(
        entries
            .iter()
            .any(|e| e["action"] == "export" && e["target"] == subject.as_str())
    );
    for needle in ["1234567890", "sari@example.com", "ini Sari"] {
        assert!(!audit.to_string().contains(needle), "{needle} in the audit");
    }

    // Bad requests are named.
    for (path, body, needle) in [
        ("/admin/customers/12/erase", json!({"reason": "x"}), "phone"),
        (
            &format!("/admin/customers/{SARI}/erase")[..],
            json!({}),
            "reason",
        ),
        (
            &format!("/admin/customers/{SARI}/erase")[..],
            json!({"reason": "x", "all": true}),
            "all",
        ),
    ] {
        let (status, v) = s.admin_post(path, body).await;
        assert_eq!(status, 400, "{v}");
        assert!(v["error"].as_str().unwrap().contains(needle), "{v}");
    }
    s.terminate();
}

/// Retention on a manual clock with the shipped durations: an answered case
/// closes after 24 idle hours, and is erased 365 days after it closed, not
/// a moment before; an open case is kept.
#[tokio::test(flavor = "multi_thread")]
async fn closed_cases_past_retention_are_erased_and_open_ones_kept() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "collect_window = \"50ms\"", "");
    let s = Server::start_clocked(dir.path(), &config, true).await;

    let faq = s.say("+6287700000001", "berapa harga les vokal?").await;
    let faq_id = faq["id"].as_str().unwrap().to_string();
    let waiting = s.say(SARI, "kak jadwal les saya kapan?").await;
    assert_eq!(waiting["waiting_on"], "operator");
    let idle_due = timer_due(&faq, "idle_close").unwrap_or_else(|| panic!("{faq}"));
    s.advance(Duration::from_secs(24 * 3600));
    assert!(s.now() >= idle_due);
    let closed = s
        .wait_for(
            "the answered case to close after 24 idle hours",
            Duration::from_secs(10),
            || async {
                let c = s.case(&faq_id).await;
                (c["state"] == "closed").then_some(c)
            },
        )
        .await;
    let closed_at = chrono::DateTime::parse_from_rfc3339(closed["closed_at"].as_str().unwrap())
        .unwrap()
        .to_utc();
    let erase_due = closed_at + chrono::Duration::days(365);

    // A sweep just before the case is due erases nothing and names when it is.
    let store = s.engine().store_handle();
    let retention = caseflow::config::RetentionConfig::default();
    let before = caseflow::core::types::Timestamp(erase_due.timestamp_millis() - 1);
    let (erased, next) = caseflow::engine::retention::sweep(store.clone(), retention, before)
        .await
        .unwrap();
    assert_eq!(erased.cases, 0);
    assert_eq!(next.millis(), erase_due.timestamp_millis());

    s.clock().set(caseflow::core::types::Timestamp(
        erase_due.timestamp_millis(),
    ));
    let closed = s
        .wait_for(
            "the closed case to be erased 365 days later",
            Duration::from_secs(10),
            || async {
                let c = s.case(&faq_id).await;
                c["tags"]
                    .as_array()
                    .unwrap()
                    .contains(&json!("erased"))
                    .then_some(c)
            },
        )
        .await;
    assert_eq!(closed["state"], "closed");
    assert!(texts(&closed).iter().all(|t| t == "[erased]"), "{closed}");
    assert!(closed["customer"].as_str().unwrap().starts_with("subject-"));
    let open = s.case(waiting["id"].as_str().unwrap()).await;
    assert!(
        texts(&open).iter().any(|t| t.contains("jadwal")),
        "an open case is kept"
    );
    let (_, audit) = s.admin_get("/admin/audit").await;
    let sweep = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "retention")
        .cloned()
        .unwrap_or_else(|| panic!("no retention entry: {audit}"));
    assert_eq!(sweep["by"], "retention");
    assert!(
        sweep["policy"]
            .as_str()
            .unwrap()
            .starts_with("retention.closed_cases = "),
        "{sweep}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_audit_lists_every_human_and_admin_action_in_pages() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start_demo(dir.path(), "pilot").await;
    let c = s.say(SARI, "kak jadwal les saya kapan?").await;
    let id = c["id"].as_str().unwrap().to_string();
    s.decide(&id, json!({"decision": "approve", "by": "op-rina"}))
        .await;
    let (status, _) = s
        .admin_post(
            "/admin/records/slots",
            json!([{"starts_at": "2030-01-02T10:00:00+07:00", "coach": "Coach Dewi"}]),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = s.admin_post("/admin/kb", json!([{"id": "kb-x", "title": "t", "status": "draft", "body": "b", "questions": ["q"], "version": 1}])).await;
    assert_eq!(status, 200);
    let (status, _) = s.admin_post("/admin/records/students", json!([])).await;
    assert_eq!(status, 200);
    for on in [true, false] {
        let (status, v) = s
            .admin_post(
                "/admin/degraded",
                json!({"on": on, "reason": "drill", "by": "ops-andi"}),
            )
            .await;
        assert_eq!(status, 200, "{v}");
    }
    let c2 = s.say("+6281298765432", "kak jadwal les saya kapan?").await;
    let (status, _) = s
        .admin_post(
            &format!("/admin/cases/{}/retry", c2["id"].as_str().unwrap()),
            json!({}),
        )
        .await;
    assert_eq!(status, 202);
    s.admin_get("/admin/customers/+6281298765432/export").await;

    // Paged three at a time, oldest first.
    let mut all = Vec::new();
    let mut cursor = String::new();
    loop {
        let (status, page) = s
            .admin_get(&format!("/admin/audit?limit=3&cursor={cursor}"))
            .await;
        assert_eq!(status, 200, "{page}");
        let entries = page["entries"].as_array().unwrap();
        assert!(entries.len() <= 3);
        all.extend(entries.iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = c.to_string(),
            None => break,
        }
    }
    let actions: Vec<&str> = all.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        [
            "decision",
            "records.slots",
            "kb",
            "records.students",
            "degraded",
            "degraded",
            "retry",
            "export"
        ],
        "{all:#?}"
    );
    let ats: Vec<&str> = all.iter().map(|e| e["at"].as_str().unwrap()).collect();
    assert!(ats.windows(2).all(|w| w[0] <= w[1]), "time order: {ats:?}");
    let degraded = &all[4];
    assert_eq!(
        (degraded["by"].as_str(), degraded["role"].as_str()),
        (Some("ops-andi"), Some("admin"))
    );
    assert!(
        degraded["detail"]
            .as_str()
            .unwrap()
            .contains("switched on: drill")
    );
    assert_eq!(all[0]["by"], "op-rina");
    assert!(all[0]["policy"].as_str().unwrap().contains("tier R1"));
    assert_eq!(all[2]["target"], "kb-x@v1 draft");
    assert_eq!(all[6]["target"], c2["id"]);
    // `since` and bad parameters.
    let since = all[6]["at"].as_str().unwrap();
    let (_, page) = s
        .admin_get(&format!("/admin/audit?since={}", since.replace('+', "%2B")))
        .await;
    assert_eq!(page["entries"].as_array().unwrap().len(), 2, "{page}");
    for (query, needle) in [
        ("cursor=nothex", "cursor"),
        ("since=monday", "since"),
        ("limit=0", "limit"),
    ] {
        let (status, v) = s.admin_get(&format!("/admin/audit?{query}")).await;
        assert_eq!(status, 400);
        assert!(v["error"].as_str().unwrap().contains(needle));
    }
    s.terminate();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_privacy_request_waits_on_the_coach_under_a_72_hour_deadline_that_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start_demo(dir.path(), "pilot").await;
    let c = s.say(SARI, "tolong hapus data saya kak").await;
    let id = c["id"].as_str().unwrap().to_string();
    assert_eq!(
        (c["tier"].as_str(), c["waiting_on"].as_str()),
        (Some("R3"), Some("coach"))
    );
    let deadline = |c: &Value| {
        c["timers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == "privacy_deadline")
            .map(|t| t["due"].as_str().unwrap().to_string())
    };
    let due = deadline(&c).unwrap_or_else(|| panic!("no deadline: {c}"));
    let hours = (chrono::DateTime::parse_from_rfc3339(&due).unwrap()
        - chrono::DateTime::parse_from_rfc3339(c["opened_at"].as_str().unwrap()).unwrap())
    .num_minutes() as f64
        / 60.0;
    assert!(
        (71.9..=72.1).contains(&hours),
        "due {hours} h after the request"
    );
    s.terminate();
    let s = Server::start_demo(dir.path(), "pilot").await;
    let c = s.case(&id).await;
    assert_eq!(
        deadline(&c).as_deref(),
        Some(due.as_str()),
        "kept across a restart"
    );
    // The coach answers: the deadline is met and disarmed.
    let c = s
        .decide(&id, json!({"decision": "approve", "by": "coach-dewi"}))
        .await;
    assert_eq!(deadline(&c), None, "{c}");
    s.terminate();
}

/// The 72-hour deadline of a privacy request fires at its due time on a
/// manual clock: an SLA breach, and the case is handed back to the coach.
#[tokio::test(flavor = "multi_thread")]
async fn an_unanswered_privacy_request_breaches_its_72_hour_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "collect_window = \"50ms\"", "");
    let s = Server::start_clocked(dir.path(), &config, true).await;
    let c = s.say(SARI, "tolong hapus data saya kak").await;
    let id = c["id"].as_str().unwrap().to_string();
    assert_eq!(c["waiting_on"], "coach", "{c}");
    // Armed when the turn is tiered and found to carry the request.
    let tiered = c["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["to"] == "tier")
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t["at"].as_str()?).ok())
        .unwrap_or_else(|| panic!("{c}"));
    let due = timer_due(&c, "privacy_deadline").unwrap_or_else(|| panic!("{c}"));
    assert_eq!(due, tiered + chrono::Duration::hours(72), "{c}");
    let breached = |c: &Value| {
        c["tags"]
            .as_array()
            .unwrap()
            .contains(&json!("sla_breach:privacy_deadline"))
    };
    s.advance(Duration::from_secs(72 * 3600) - Duration::from_millis(100));
    let c = s.case(&id).await;
    assert!(!breached(&c), "{c}");
    s.advance(Duration::from_millis(100));
    let c = s
        .wait_for("the deadline to fire", Duration::from_secs(10), || async {
            let c = s.case(&id).await;
            breached(&c).then_some(c)
        })
        .await;
    assert_eq!(c["waiting_on"], "coach", "{c}");
    // Breached once: the transition the timer made does not arm it again.
    assert_eq!(timer_due(&c, "privacy_deadline"), None, "{c}");
    assert!(
        c["transitions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["reason"] == "timer privacy_deadline fired"),
        "{c}"
    );
}
