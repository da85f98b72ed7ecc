//! What the server does about time it was not running for, and the admin
//! token it makes when none is given.

mod common;

use std::time::{Duration, Instant};

use common::{Server, config_with_workflow, repo_file, write_config};

/// The reminder's period: long enough that a start on a loaded machine
/// (a debug build trains the intent classifier in 3 to 9 seconds on two
/// busy cores) cannot be taken for a full period.
const PERIOD: Duration = Duration::from_secs(15);

fn workflow_with_reminder(dir: &std::path::Path) -> std::path::PathBuf {
    // A reminder timer in qa: fires PERIOD after the case starts waiting
    // there.
    let source = std::fs::read_to_string(repo_file("workflows/support.toml"))
        .unwrap()
        .replace("name = \"support\"", "name = \"support-reminders\"")
        + &format!(
            "\n[timers.operator_reminder]\nafter = \"{}s\"\narmed_in = [\"qa\"]\ntarget = \"qa\"\n",
            PERIOD.as_secs()
        );
    config_with_workflow(dir, &source)
}

fn reminders(case: &serde_json::Value) -> usize {
    case["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["reason"] == "timer operator_reminder fired")
        .count()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_timer_that_fell_due_while_down_fires_at_once_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config = workflow_with_reminder(dir.path());
    let s = Server::start_with_config(dir.path(), &config).await;
    let (_, body) = s.message("+6288800000001", "wamid.t1", "halo").await;
    let id = body["case_id"].as_str().unwrap().to_string();
    let case = s.wait_case_waiting(&id, "operator").await;
    let due = case["timers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "operator_reminder")
        .expect("the reminder is armed and persisted")["due"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(reminders(&case), 0);
    s.kill9();

    // Stay down past the deadline.
    let due = chrono::DateTime::parse_from_rfc3339(&due).unwrap();
    while chrono::Utc::now() <= due {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let config = workflow_with_reminder(dir.path());
    let restarted = Instant::now();
    let s = Server::start_with_config(dir.path(), &config).await;
    s.wait_for("the overdue reminder to fire", PERIOD, || async {
        (reminders(&s.case(&id).await) >= 1).then_some(())
    })
    .await;
    assert!(
        restarted.elapsed() < PERIOD,
        "fired at start, not a full period later: {:?}",
        restarted.elapsed()
    );
    s.terminate();
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_token_in_the_environment_one_is_written_with_mode_0600() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "", "");
    let s =
        Server::start_with_env(dir.path(), &config, &[], &[("CASEFLOW_ADMIN_TOKEN", None)]).await;
    let client = reqwest::Client::new();
    let base = s.base.clone();
    let data = dir.path().join("data");
    let path = data.join("admin.token");
    let token = std::fs::read_to_string(&path).unwrap();
    assert!(token.trim().len() >= 32);
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let log = s.log_text();
    assert!(
        log.contains("admin.token"),
        "the log says where the token is"
    );
    let ok = client
        .get(format!("{base}/admin/cases"))
        .bearer_auth(token.trim())
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status().as_u16(), 200);
}
