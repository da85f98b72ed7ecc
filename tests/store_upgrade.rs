//! Upgrade from the last release onto its own data: the data dir that the
//! build of commit c5a7a42 wrote (`tests/fixtures/c5a7a42-data`, case
//! records at schema 2) opens with this build; every case reads, the open
//! cases go on (decisions are taken on them under the 24-hour window rule,
//! closed for the release's customers by any run after 2026-11-30 08:40
//! UTC), payments and decisions are intact.

mod common;

use std::path::Path;

use common::Server;
use serde_json::{Value, json};

const BUDI: &str = "01a22676-4c0b-7770-994a-00ec95785a8c";
const HANA: &str = "01a22676-4c61-7115-9633-cdf4847c7ea2";
const SARI: &str = "01a22676-4a00-70cd-9065-28772eedee52";
const AYU: &str = "01a22676-4b82-762a-bd61-5dfff2092cd4";

/// Copies the release's data dir into `dir/data`, as an operator upgrading
/// in place would have it.
pub fn copy_release_data(dir: &Path) {
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/c5a7a42-data/store");
    let to = dir.join("data/store");
    std::fs::create_dir_all(to.join("blobs")).unwrap();
    for name in ["conf", "db"] {
        std::fs::copy(from.join(name), to.join(name)).unwrap();
    }
}

fn out_templates(case: &Value) -> Vec<String> {
    case["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["direction"] == "out")
        .map(|m| m["template"].as_str().unwrap_or("").to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_release_data_dir_opens_and_its_open_cases_go_on() {
    let dir = tempfile::tempdir().unwrap();
    copy_release_data(dir.path());
    let data = dir.path().join("data");
    let verify = || common::run(&["store", "verify", "--data-dir", data.to_str().unwrap()]);
    let out = verify();
    assert!(
        out.status.success(),
        "the release's store verifies: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    // The release's closed cases stay for the test however old the fixture
    // grows (the default retention, 365 days, would erase them in 2027).
    let server = Server::start(
        dir.path(),
        "collect_window = \"50ms\"",
        "[retention]\nclosed_cases = \"36500d\"\n",
    )
    .await;

    // Every case is readable; none is stuck for an unreadable record.
    let cases = server.cases("").await;
    assert_eq!(cases.len(), 5, "{cases:?}");
    for c in &cases {
        assert!(
            !c["stuck_reason"]
                .as_str()
                .unwrap_or("")
                .contains("unreadable"),
            "{c}"
        );
        let full = server.case(c["id"].as_str().unwrap()).await;
        assert!(!full["messages"].as_array().unwrap().is_empty(), "{full}");
    }

    // Decisions taken under the release are intact.
    let sari = server.case(SARI).await;
    assert_eq!(
        out_templates(&sari),
        [
            "wa.ack",
            "wa.r1.schedule",
            "wa.ack",
            "wa.r2.reschedule.offer",
            "wa.ack",
            "wa.r2.reschedule.done"
        ]
    );
    assert!(
        sari["approvals"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["by"] == "operator-rina" && a["decision"] == "approve")
    );
    assert_eq!(sari["approvals"].as_array().unwrap().len(), 3);
    assert!(
        sari["tool_calls"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["tool"] == "calendar.book" && t["status"] == "done")
    );
    let delivered = sari["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["status"] == "delivered")
        .count();
    assert_eq!(delivered, 1, "{sari}");
    let ayu = server.case(AYU).await;
    let edit = &ayu["approvals"][0];
    assert_eq!(edit["decision"], "edit");
    assert_eq!(edit["by"], "coach-dewi");
    assert_eq!(edit["text"], "Baik kak, kami proses minggu ini.");

    // The payment and its history.
    let (status, pay) = server.admin_get("/admin/payments/ORDER-002").await;
    assert_eq!(status, 200, "{pay}");
    assert_eq!(pay["state"], "CONFIRMED");
    assert_eq!(pay["history"].as_array().unwrap().len(), 2);

    // Degraded mode's audit.
    let (_, degraded) = server.admin_get("/admin/degraded").await;
    assert_eq!(degraded["on"], false);
    assert_eq!(degraded["history"].as_array().unwrap().len(), 2);

    // The open cases go on: the operator approves Budi's drafted reply, the
    // coach edits the cancellation's reply. The release wrote these cases
    // on 2026-11-29 at 08:40 UTC, so by any run of this test the
    // customers' 24-hour service window is closed (CONTRACT: WhatsApp
    // free-form messages only within 24 hours of the customer's last
    // message): the decisions are taken and recorded on the migrated
    // cases, nothing free-form is sent, and the case says why.
    let budi = server.case(BUDI).await;
    assert_eq!(budi["waiting_on"], "operator");
    assert_eq!(budi["pending_reply"]["template"], "wa.r1.payment");
    let budi = server
        .decide(BUDI, json!({"decision": "approve", "by": "operator-rina"}))
        .await;
    assert_eq!(budi["approvals"][0]["decision"], "approve", "{budi:#}");
    assert_eq!(budi["approvals"][0]["by"], "operator-rina");
    assert_eq!(out_templates(&budi), ["wa.ack"], "{budi:#}");
    assert_eq!(budi["waiting_on"], "operator", "{budi:#}");
    assert!(
        budi["qa_block"]
            .as_str()
            .is_some_and(|r| r.contains("24-hour") && r.contains("wa.r1.payment")),
        "{budi:#}"
    );
    let hana = server.case(HANA).await;
    assert_eq!(hana["waiting_on"], "coach");
    let hana = server
        .decide(
            HANA,
            json!({"decision": "edit", "by": "coach-dewi", "text": "Baik kak, les dibatalkan."}),
        )
        .await;
    assert_eq!(hana["approvals"][0]["decision"], "edit", "{hana:#}");
    assert_eq!(hana["approvals"][0]["by"], "coach-dewi");
    assert_eq!(out_templates(&hana), ["wa.r3.refund"], "{hana:#}");
    assert!(
        !hana["messages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["text"] == "Baik kak, les dibatalkan."),
        "{hana:#}"
    );
    assert!(
        hana["qa_block"]
            .as_str()
            .is_some_and(|r| r.contains("24-hour") && r.contains("only a template")),
        "{hana:#}"
    );

    // New messages are taken as before.
    let (status, v) = server
        .message(
            "+6281234567890",
            "wamid.after-upgrade.1",
            "terima kasih kak",
        )
        .await;
    assert_eq!(status, 202, "{v}");
    let (status, v) = server
        .message(
            "+6281234567890",
            "wamid.fixture.3",
            "kak jadwal les saya kapan?",
        )
        .await;
    assert_eq!(
        status, 200,
        "a message the release took is still deduplicated: {v}"
    );
    assert_eq!(v["duplicate"], true);

    assert!(server.terminate().success());
    let out = verify();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
