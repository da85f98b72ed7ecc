//! A case whose actor keeps failing is restarted, then quarantined, and no
//! other case notices.

mod common;

use std::time::Duration;

use common::Server;
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn a_panicking_case_is_restarted_then_quarantined_without_touching_others() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(
        dir.path(),
        "restart_budget = 3\nrestart_window = \"60s\"",
        "[faults]\npanic_on_text = \"PANIC-DRILL\"",
    )
    .await;
    let (_, healthy_a) = s.message("+6286600000001", "wamid.h1", "halo kak").await;
    let (status, poison) = s
        .message("+6286600000002", "wamid.p1", "PANIC-DRILL please")
        .await;
    assert_eq!(status, 202, "the message is stored before anything runs");
    let (_, healthy_b) = s.message("+6286600000003", "wamid.h2", "hello").await;
    let poison_id = poison["case_id"].as_str().unwrap().to_string();

    let case = s
        .wait_for(
            "the poisoned case to be quarantined",
            Duration::from_secs(20),
            || async {
                let c = s.case(&poison_id).await;
                (c["stuck"] == true).then_some(c)
            },
        )
        .await;
    let reason = case["stuck_reason"].as_str().unwrap();
    assert!(
        reason.starts_with("quarantined: actor failed 4 times within 60s"),
        "{reason}"
    );
    assert_eq!(
        case["messages"].as_array().unwrap().len(),
        1,
        "the message is kept"
    );
    let log = s.log_text();
    assert_eq!(
        log.matches("restarting from the store").count(),
        3,
        "three restarts, then quarantine"
    );
    let stuck = s.cases("stuck=true").await;
    assert_eq!(stuck.len(), 1);
    assert_eq!(stuck[0]["id"], poison_id.as_str());

    for other in [&healthy_a, &healthy_b] {
        let id = other["case_id"].as_str().unwrap().to_string();
        let c = s
            .wait_for(
                "a healthy case to wait on the operator",
                Duration::from_secs(10),
                || async {
                    let c = s.case(&id).await;
                    (c["waiting_on"] == "operator").then_some(c)
                },
            )
            .await;
        assert_eq!(c["stuck"], false);
    }
    // Healthy customers keep being served while the case is quarantined.
    let (status, _) = s
        .message("+6286600000001", "wamid.h3", "one more thing")
        .await;
    assert_eq!(status, 202);

    // Retry clears the quarantine and re-runs the case; the poison message
    // fails it again, and it is quarantined again rather than looping.
    let (status, body) = s
        .admin_post(&format!("/admin/cases/{poison_id}/retry"), json!({}))
        .await;
    assert_eq!(status, 202, "{body}");
    s.wait_for(
        "the case to be quarantined again",
        Duration::from_secs(20),
        || async { (s.log_text().matches("case quarantined").count() == 2).then_some(()) },
    )
    .await;
    s.terminate();
}
