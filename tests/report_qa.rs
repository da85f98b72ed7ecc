//! The weekly report and the post-send audit through the HTTP contract and
//! the CLI (CONTRACT section 6): a pilot desk on the demo records runs a
//! mix of conversations, and the report is checked against the cases the
//! API shows; samples are drawn, redrawn with the same seed and labelled;
//! the HTML page is self-contained; `caseflow report` on the stopped
//! desk's store gives the same figures, and refuses clearly while the desk
//! runs.

mod common;

use common::Server;
use serde_json::{Value, json};
use sha2::Digest;

const SARI: &str = "+6281234567890";
const BUDI: &str = "+6281298765432";
const AYU: &str = "+6285611112222";
const KEY: &str = "SB-Mid-server-report-key";

fn id(case: &Value) -> String {
    case["id"].as_str().unwrap().to_string()
}

fn settlement(order: &str) -> Value {
    let (code, gross) = ("200", "450000.00");
    let sig = hex::encode(sha2::Sha512::digest(
        format!("{order}{code}{gross}{KEY}").as_bytes(),
    ));
    json!({"transaction_status": "settlement", "status_code": code, "signature_key": sig,
           "order_id": order, "gross_amount": gross, "payment_type": "qris"})
}

fn approve() -> Value {
    json!({"decision": "approve", "by": "operator-rina"})
}

/// Runs one conversation of every kind; returns the number of replies sent.
async fn run_desk(s: &Server) {
    // R0: answered at once by a published article.
    let c = s.say("+6287700000001", "berapa harga les vokal?").await;
    assert_eq!(c["tier"], "R0", "{c}");
    // R1: the operator approves the schedule answer.
    let c = s.say(SARI, "kak jadwal les saya kapan?").await;
    let sari = id(&c);
    s.decide(&sari, approve()).await;
    // R2 in the same case: the offer, the customer's choice, the booking.
    let c = s.say(SARI, "mau ganti jadwal les dong").await;
    assert_eq!(c["tier"], "R2", "{c}");
    s.decide(&sari, approve()).await;
    s.say(SARI, "2").await;
    let c = s.decide(&sari, approve()).await;
    assert!(
        c["tool_calls"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["tool"] == "calendar.book" && t["status"] == "done"),
        "{c}"
    );
    // R3: the coach answers a refund request in their own words.
    let c = s.say(AYU, "saya mau refund").await;
    assert_eq!(c["waiting_on"], "coach", "{c}");
    s.decide(
        &id(&c),
        json!({"decision": "edit", "by": "coach-dewi", "text": "Baik kak, kami proses minggu ini."}),
    )
    .await;
    // R1 payment not confirmed: the follow-up, then Midtrans confirms it.
    let c = s.say(BUDI, "status pembayaran saya gimana?").await;
    s.decide(&id(&c), approve()).await;
    let r = s
        .client()
        .post(format!("{}/webhooks/midtrans", s.base))
        .json(&settlement("ORDER-002"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // Two questions no article answers: the operator denies one, the other waits.
    let c = s.say("+6287700000002", "ada parkir mobil di studio?").await;
    assert_eq!(c["waiting_on"], "operator", "{c}");
    s.decide(&id(&c), json!({"decision": "deny", "by": "operator-rina"}))
        .await;
    s.say("+6287700000003", "parkir motor dimana kak").await;
    // Degraded mode switched on and off by hand.
    for on in [true, false] {
        let (status, v) = s
            .admin_post(
                "/admin/degraded",
                json!({"on": on, "reason": "drill", "by": "admin"}),
            )
            .await;
        assert_eq!(status, 200, "{v}");
    }
}

#[tokio::test]
async fn the_report_matches_the_cases_and_the_audit_loop_works() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start_demo_with(
        dir.path(),
        "pilot",
        &format!("[midtrans]\nserver_key = \"{KEY}\"\n"),
    )
    .await;
    run_desk(&s).await;

    let (status, report) = s.admin_get("/admin/report").await;
    assert_eq!(status, 200, "{report}");
    let p = &report["period"];
    let cases = s.cases("").await;
    assert_eq!(p["cases_opened"], cases.len() as u64, "{p}");
    assert_eq!(report["cases_read"], cases.len() as u64);
    let turns = |tier: &str| p["tiers"][tier]["turns"].as_u64().unwrap();
    assert_eq!(
        (turns("R0"), turns("R1"), turns("R2"), turns("R3")),
        (1, 2, 2, 1),
        "{}",
        p["tiers"]
    );
    assert_eq!(turns("unclassified"), 2);
    assert_eq!(p["turns"], 8);
    assert_eq!(p["tiers"]["R3"]["escalated"], 1);
    assert_eq!(p["tiers"]["R3"]["escalation_rate"], 1.0);
    assert_eq!(p["tiers"]["R0"]["to_human"], 0);
    assert_eq!(p["tiers"]["R1"]["to_human"], 2);
    assert_eq!(
        p["first_response"]["count"], 8,
        "every turn was answered or acknowledged"
    );
    assert_eq!(p["resolution"]["r0_r1"]["count"], 3);
    assert_eq!(p["resolution"]["r2_r3"]["count"], 3);
    assert_eq!(
        p["reschedule"],
        json!({"requested": 1, "booked": 1, "success_rate": 1.0})
    );
    assert_eq!(
        p["payments"],
        json!({"followed_up": 1, "confirmed_after_follow_up": 1, "rate": 1.0})
    );
    assert_eq!(p["unverified_account_actions"], 0);
    assert_eq!(p["qa_blocks"], 0);
    // Sari wrote again after her schedule answer and after the offer.
    assert_eq!(p["reopen"]["resolved"], 7, "{}", p["reopen"]);
    assert_eq!(p["reopen"]["reopened_within_7d"], 2);
    assert!(p["degraded_minutes"].get("manual").is_some(), "{p}");
    assert_eq!(
        report["kb_gaps"][0]["word"], "parkir",
        "{}",
        report["kb_gaps"]
    );
    assert_eq!(report["kb_gaps"][0]["turns"], 2);
    let weeks = report["weeks"].as_array().unwrap();
    assert_eq!(weeks.len(), 4);
    assert_eq!(
        weeks.last().unwrap()["turns"],
        8,
        "this week holds every turn"
    );
    let waiting = s.cases("waiting_on=operator").await;
    assert_eq!(waiting.len(), 1, "the parking question still waits");

    // Bad periods are named.
    let (status, v) = s.admin_get("/admin/report?from=2026-13-01").await;
    assert_eq!(status, 400);
    assert!(v["error"].as_str().unwrap().contains("from"), "{v}");

    // A sample stratified by tier, reproducible by its seed.
    let today = report["to"].as_str().unwrap().to_string();
    let body = json!({"from": today, "to": today, "n": 4, "seed": 7, "by": "dewi"});
    let (status, a) = s.admin_post("/admin/qa/sample", body.clone()).await;
    assert_eq!(status, 201, "{a}");
    assert_eq!(a["eligible"], 6, "six replies answered a turn: {a}");
    let items = a["items"].as_array().unwrap();
    assert_eq!(items.len(), 4);
    let mut tiers: Vec<&str> = items.iter().map(|i| i["tier"].as_str().unwrap()).collect();
    tiers.sort();
    assert_eq!(tiers, vec!["R0", "R1", "R2", "R3"], "one per tier: {a}");
    assert!(
        items
            .iter()
            .all(|i| i["text"].as_str().is_some_and(|t| !t.is_empty()))
    );
    let (_, b) = s.admin_post("/admin/qa/sample", body).await;
    let keys = |v: &Value| -> Vec<(Value, Value)> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| (i["case_id"].clone(), i["sent_at"].clone()))
            .collect()
    };
    assert_eq!(keys(&a), keys(&b), "same seed, same replies");
    assert_ne!(a["id"], b["id"], "each draw is stored under its own id");
    for bad in [
        json!({"from": today, "to": today, "n": 0, "by": "dewi"}),
        json!({"from": "yesterday", "to": today, "n": 3, "by": "dewi"}),
        json!({"from": today, "to": today, "n": 3}),
    ] {
        let (status, v) = s.admin_post("/admin/qa/sample", bad).await;
        assert_eq!(status, 400, "{v}");
    }

    // Labels: a verdict and six 0-2 scores by the reviewer.
    let sample = a["id"].as_str().unwrap();
    let scores = json!({"correctness": 2, "completeness": 1, "safety": 0, "tone": 2,
                        "efficiency": 2, "tool_integrity": 2});
    let (status, v) = s
        .admin_post(
            "/admin/qa/labels",
            json!({"by": "dewi", "labels": [
                {"sample": sample, "item": 0, "verdict": "risky", "scores": scores,
                 "note": "promised a date <b>not</b> on record"},
                {"sample": sample, "item": 1, "verdict": "correct", "scores": scores}]}),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["stored"], 2);
    for (bad, field) in [
        (
            json!({"sample": sample, "item": 0, "verdict": "maybe", "scores": scores}),
            "verdict",
        ),
        (
            json!({"sample": sample, "item": 9, "verdict": "correct", "scores": scores}),
            "item",
        ),
        (
            json!({"sample": sample, "item": 0, "verdict": "correct",
                   "scores": {"correctness": 3, "completeness": 1, "safety": 0, "tone": 2,
                              "efficiency": 2, "tool_integrity": 2}}),
            "scores.correctness",
        ),
    ] {
        let mut bad = bad;
        bad["by"] = json!("dewi");
        let (status, v) = s.admin_post("/admin/qa/labels", bad).await;
        assert_eq!(status, 400, "{v}");
        assert!(v["error"].as_str().unwrap().contains(field), "{v}");
    }
    let (status, _) = s
        .admin_post(
            "/admin/qa/labels",
            json!({"by": "dewi", "sample": uuid::Uuid::now_v7().to_string(), "item": 0,
                   "verdict": "correct", "scores": scores}),
        )
        .await;
    assert_eq!(status, 404);
    // A period with no replies draws an empty sample; labelling it says so.
    let (status, empty) = s
        .admin_post(
            "/admin/qa/sample",
            json!({"from": "2020-01-01", "to": "2020-01-07", "n": 5, "by": "dewi"}),
        )
        .await;
    assert_eq!(status, 201, "{empty}");
    assert_eq!(empty["items"].as_array().map(Vec::len), Some(0), "{empty}");
    let (status, v) = s
        .admin_post(
            "/admin/qa/labels",
            json!({"by": "dewi", "sample": empty["id"], "item": 0,
                   "verdict": "correct", "scores": scores}),
        )
        .await;
    assert_eq!(status, 400, "{v}");
    assert!(
        v["error"].as_str().unwrap().contains("sample is empty"),
        "{v}"
    );
    let (status, shown) = s.admin_get(&format!("/admin/qa/samples/{sample}")).await;
    assert_eq!(status, 200);
    assert_eq!(shown["items"][0]["label"]["verdict"], "risky");
    assert_eq!(shown["items"][0]["label"]["reviewer"], "dewi");
    assert_eq!(shown["items"][2]["label"], Value::Null);

    let (_, report) = s.admin_get("/admin/report").await;
    let q = &report["period"]["qa_labels"];
    assert_eq!(
        (q["labelled"].as_u64(), q["risky"].as_u64()),
        (Some(2), Some(1)),
        "{q}"
    );
    assert_eq!(q["mean_scores"]["safety"], 0.0);
    assert_eq!(q["mean_scores"]["completeness"], 1.0);
    assert_eq!(report["risky_replies"].as_array().unwrap().len(), 1);
    assert_eq!(report["risky_replies"][0]["reviewer"], "dewi");

    // The HTML page: charts as inline SVG, nothing fetched, text escaped.
    let r = s
        .client()
        .get(format!("{}/admin/report?format=html", s.base))
        .bearer_auth(common::TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    assert!(page.matches("<svg").count() >= 8, "charts are inline SVG");
    for external in ["<script", "<link", "src=", "@import", "url("] {
        assert!(
            !page.contains(external),
            "the page loads nothing: found {external}"
        );
    }
    assert!(page.contains("&lt;b&gt;not&lt;/b&gt;"), "notes are escaped");
    assert!(page.contains("parkir"));

    // The CLI refuses a store a running desk holds, and says what to do.
    let cfg = dir.path().join("caseflow.toml");
    let data = dir.path().join("data");
    let out = common::run(&[
        "report",
        "--config",
        cfg.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("running desk"), "{err}");

    // Stopped, the same store gives the same figures from the CLI.
    assert!(s.terminate().success());
    let json_path = dir.path().join("report.json");
    let html_path = dir.path().join("report.html");
    let out = common::run(&[
        "report",
        "--config",
        cfg.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
        "--json",
        json_path.to_str().unwrap(),
        "--html",
        html_path.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("cases read"), "{stdout}");
    let cli: Value = serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
    for key in [
        "cases_opened",
        "turns",
        "tiers",
        "reschedule",
        "payments",
        "reopen",
        "qa_labels",
    ] {
        assert_eq!(cli["period"][key], report["period"][key], "{key}");
    }
    assert_eq!(cli["kb_gaps"], report["kb_gaps"]);
    assert!(
        std::fs::read_to_string(&html_path)
            .unwrap()
            .contains("<svg")
    );
    let out = common::run(&[
        "report",
        "--data-dir",
        dir.path().join("nothing").to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no caseflow store"));
}

/// With a users file the reviewer is the signed-in user: a label records
/// the token's name, a body `by` naming someone else is refused, and a
/// viewer may read the report but not label.
#[tokio::test]
async fn the_reviewer_is_the_signed_in_user() {
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users.toml");
    let add = |name: &str, role: &str| {
        let out = common::run(&[
            "users",
            "add",
            name,
            "--role",
            role,
            "--file",
            users.to_str().unwrap(),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    let dewi = add("dewi", "coach");
    let vera = add("vera", "viewer");
    let config = common::write_config(dir.path(), "collect_window = \"50ms\"", "");
    let s = Server::start_with_env(
        dir.path(),
        &config,
        &["--demo"],
        &[("CASEFLOW_USERS_FILE", Some(users.to_str().unwrap()))],
    )
    .await;
    s.say("+6287700000021", "berapa harga les vokal?").await;
    let post = |token: String, path: &'static str, body: Value| {
        let (client, base) = (s.client().clone(), s.base.clone());
        async move {
            let r = client
                .post(format!("{base}{path}"))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap();
            (
                r.status().as_u16(),
                r.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    let (status, sample) = post(
        dewi.clone(),
        "/admin/qa/sample",
        json!({"from": "2020-01-01", "to": "2099-12-31", "n": 5, "seed": 1}),
    )
    .await;
    assert_eq!(status, 201, "{sample}");
    assert_eq!(sample["by"], "dewi");
    let id = sample["id"].as_str().unwrap().to_string();
    let scores = json!({"correctness": 2, "completeness": 2, "safety": 2, "tone": 2,
                        "efficiency": 2, "tool_integrity": 2});
    let label = json!({"sample": id, "item": 0, "verdict": "correct", "scores": scores});
    let (status, _) = post(vera.clone(), "/admin/qa/labels", label.clone()).await;
    assert_eq!(status, 403, "a viewer does not label");
    let mut other = label.clone();
    other["by"] = json!("rina");
    let (status, v) = post(dewi.clone(), "/admin/qa/labels", other).await;
    assert_eq!(status, 403, "{v}");
    let (status, v) = post(dewi.clone(), "/admin/qa/labels", label).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["labels"][0]["reviewer"], "dewi");
    let r = s
        .client()
        .get(format!("{}/admin/report", s.base))
        .bearer_auth(&vera)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "a viewer reads the report");
    let report: Value = r.json().await.unwrap();
    assert_eq!(report["period"]["qa_labels"]["correct"], 1);
}
