//! `caseflow loadtest` end to end, small: an in-process desk and a running
//! one (`--target`), with the JSON report read back.

mod common;

use common::{Server, TOKEN};

fn report(path: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn an_in_process_spike_with_failing_sends_loses_and_duplicates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_caseflow"))
        .args([
            "loadtest",
            "--profile",
            "spike",
            "--customers",
            "60",
            "--duration",
            "2s",
            "--duplicates",
            "0.3",
            "--operator-delay",
            "100ms",
            "--coach-delay",
            "200ms",
            "--fail-sends",
            "0.2",
            "--quiet",
            "--json",
        ])
        .arg(&json)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("LOST") && stdout.contains("first response (ms)"),
        "{stdout}"
    );
    let r = report(&json);
    assert_eq!(r["lost"], 0);
    assert_eq!(r["duplicated"], 0);
    assert_eq!(r["cases"], 60);
    assert!(r["duplicate_deliveries_sent"].as_u64().unwrap() > 0);
    assert_eq!(r["duplicate_deliveries_sent"], r["answered_duplicate"]);
    assert!(
        r["first_response_ms"].as_object().unwrap().len() >= 3,
        "{r}"
    );
    assert!(r["server_peak_rss_bytes"].as_u64().unwrap() > 0);
    assert!(
        r["retries"].as_u64().unwrap() > 0,
        "injected failures were retried: {r}"
    );
    assert_eq!(r["stuck_at_end"], 0);
}

#[tokio::test]
async fn a_running_desk_can_be_the_target() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), "collect_window = \"50ms\"", "").await;
    let json = dir.path().join("report.json");
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_caseflow"))
        .args([
            "loadtest",
            "--target",
            &s.base,
            "--profile",
            "steady",
            "--customers",
            "20",
            "--duration",
            "1s",
            "--operator-delay",
            "50ms",
            "--coach-delay",
            "50ms",
            "--quiet",
            "--json",
        ])
        .arg(&json)
        .env("CASEFLOW_ADMIN_TOKEN", TOKEN)
        .env("CASEFLOW_INGEST_TOKEN", common::INGEST_TOKEN)
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = report(&json);
    assert_eq!(r["lost"], 0);
    assert_eq!(r["cases"], 20);
    assert_eq!(s.cases("").await.len(), 20);
    // Without the token the target refuses the seeding, and the run says so.
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_caseflow"))
        .args([
            "loadtest",
            "--target",
            &s.base,
            "--customers",
            "1",
            "--quiet",
        ])
        .env("CASEFLOW_ADMIN_TOKEN", "wrong")
        .env("CASEFLOW_INGEST_TOKEN", common::INGEST_TOKEN)
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("401"));
}
