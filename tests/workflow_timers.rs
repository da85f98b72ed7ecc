//! The shipped workflow's waits end on time, on a manual clock: the desk runs
//! in this process, each timer is checked armed at its declared due time,
//! not fired a moment before, and fired once the clock reaches it. No real
//! time is spent waiting for any of them (2 hours here).

mod common;

use std::time::Duration;

use common::clocked::timer_due;
use common::{Server, write_config};
use serde_json::{Value, json};

fn fired(c: &Value, timer: &str) -> bool {
    let reason = format!("timer {timer} fired");
    c["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["reason"] == reason.as_str())
}

/// When the case last entered `state`.
fn entered(c: &Value, state: &str) -> chrono::DateTime<chrono::Utc> {
    c["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|t| t["to"] == state)
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t["at"].as_str()?).ok())
        .unwrap_or_else(|| panic!("never entered {state}: {c}"))
        .to_utc()
}

/// Moves the clock to a moment before `due`, checks `timer` has not fired,
/// then to `due`, and waits for it to fire; returns the case.
async fn fires_at(s: &Server, id: &str, timer: &str, due: chrono::DateTime<chrono::Utc>) -> Value {
    let just_before = due - chrono::Duration::milliseconds(1);
    s.clock().set(caseflow::core::types::Timestamp(
        just_before.timestamp_millis(),
    ));
    let c = s.case(id).await;
    assert!(!fired(&c, timer), "{timer} fired early: {c}");
    s.advance(Duration::from_millis(1));
    s.wait_for(
        &format!("{timer} to fire"),
        Duration::from_secs(10),
        || async {
            let c = s.case(id).await;
            fired(&c, timer).then_some(c)
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unanswered_identity_question_goes_to_the_operator_after_two_hours() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "collect_window = \"50ms\"", "");
    let s = Server::start_clocked(dir.path(), &config, true).await;
    // Not a registered number: the desk asks for invoice and email.
    let c = s.say("+6281399999999", "kak jadwal les saya kapan?").await;
    let id = c["id"].as_str().unwrap().to_string();
    assert_eq!(
        (c["state"].as_str(), c["waiting_on"].as_str()),
        (Some("verify"), Some("customer")),
        "{c}"
    );
    let due = timer_due(&c, "follow_up").unwrap_or_else(|| panic!("{c}"));
    assert_eq!(
        due,
        entered(&c, "verify") + chrono::Duration::hours(2),
        "{c}"
    );
    let c = fires_at(&s, &id, "follow_up", due).await;
    let c = s.settle(c["id"].as_str().unwrap()).await;
    assert_eq!(c["waiting_on"], "operator", "{c}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_case_paused_in_degraded_mode_goes_to_the_operator_after_the_follow_up_window() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "collect_window = \"50ms\"", "");
    let s = Server::start_clocked(dir.path(), &config, true).await;
    let (status, v) = s
        .admin_post(
            "/admin/degraded",
            json!({"on": true, "reason": "records source down"}),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    let c = s.say("+6281234567890", "kak jadwal les saya kapan?").await;
    let id = c["id"].as_str().unwrap().to_string();
    assert_eq!(c["state"], "degraded", "{c}");
    let due = timer_due(&c, "degraded_follow_up").unwrap_or_else(|| panic!("{c}"));
    assert_eq!(
        due,
        entered(&c, "degraded") + chrono::Duration::hours(2),
        "{c}"
    );
    let c = fires_at(&s, &id, "degraded_follow_up", due).await;
    let c = s.settle(c["id"].as_str().unwrap()).await;
    assert_eq!(c["waiting_on"], "operator", "{c}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_answered_case_closes_after_24_idle_hours() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "collect_window = \"50ms\"", "");
    let s = Server::start_clocked(dir.path(), &config, true).await;
    let c = s.say("+6287700000001", "berapa harga les vokal?").await;
    let id = c["id"].as_str().unwrap().to_string();
    assert_eq!(c["state"], "close", "{c}");
    let due = timer_due(&c, "idle_close").unwrap_or_else(|| panic!("{c}"));
    assert_eq!(
        due,
        entered(&c, "close") + chrono::Duration::hours(24),
        "{c}"
    );
    fires_at(&s, &id, "idle_close", due).await;
    // The case view reads the record, then the log: a view taken while the
    // timer's commit lands can show the transition with the state before
    // it. Wait for the record.
    let c = s
        .wait_for("the case to close", Duration::from_secs(10), || async {
            let c = s.case(&id).await;
            (c["state"] == "closed").then_some(c)
        })
        .await;
    assert_eq!(c["state"], "closed", "{c}");
    assert!(c["closed_at"].is_string(), "{c}");
}
