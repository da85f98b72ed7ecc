//! Kill -9 mid-conversation, restart on the same data dir, and compare what
//! the server acknowledged with what it has.

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::Server;
use serde_json::Value;
use tokio::sync::Mutex;

const CUSTOMERS: usize = 60;
const MESSAGES_EACH: usize = 40;
/// Kill once this many messages were acknowledged (of 2,400 attempted).
const KILL_AFTER: usize = 700;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_while_messages_arrive_loses_and_duplicates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), "", "").await;
    let base = server.base.clone();
    let acked: Arc<Mutex<HashMap<String, String>>> = Arc::new(Mutex::new(HashMap::new()));
    let count = Arc::new(AtomicUsize::new(0));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let mut senders = Vec::new();
    for c in 0..CUSTOMERS {
        let (base, acked, count, client) =
            (base.clone(), acked.clone(), count.clone(), client.clone());
        senders.push(tokio::spawn(async move {
            let from = format!("+628550000{c:04}");
            for m in 0..MESSAGES_EACH {
                let id = format!("wamid.{c}.{m}");
                let body = serde_json::json!({
                    "channel": "whatsapp", "from": from, "message_id": id,
                    "text": format!("message {m} from customer {c}"),
                });
                // Every fifth message is delivered twice, as webhooks do.
                let deliveries = if m % 5 == 0 { 2 } else { 1 };
                for _ in 0..deliveries {
                    let Ok(r) = client
                        .post(format!("{base}/v1/messages"))
                        .bearer_auth(common::INGEST_TOKEN)
                        .json(&body)
                        .send()
                        .await
                    else {
                        return;
                    };
                    let status = r.status().as_u16();
                    let Ok(v) = r.json::<Value>().await else {
                        return;
                    };
                    if status == 202 || status == 200 {
                        let case = v["case_id"].as_str().unwrap().to_string();
                        let mut a = acked.lock().await;
                        if let Some(prev) = a.insert(id.clone(), case.clone()) {
                            assert_eq!(prev, case, "a redelivery names the same case");
                        } else {
                            count.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            }
        }));
    }
    server
        .wait_for(
            "enough acknowledged messages",
            Duration::from_secs(60),
            || async { (count.load(Ordering::Relaxed) >= KILL_AFTER).then_some(()) },
        )
        .await;
    server.kill9();
    for s in senders {
        s.await.unwrap();
    }
    let acked = acked.lock().await.clone();
    assert!(acked.len() >= KILL_AFTER);
    assert!(
        acked.len() < CUSTOMERS * MESSAGES_EACH,
        "the kill landed while messages were still arriving"
    );

    let server = Server::start(dir.path(), "", "").await;
    // Every open case resumes and reaches the operator; none is stuck.
    let cases = server
        .wait_for(
            "every open case to reach a wait",
            Duration::from_secs(30),
            || async {
                let cases = server.cases("").await;
                // Every turn was collected, acknowledged and handed to the
                // operator (none of these texts is classified).
                let settled = cases.iter().all(|c| c["waiting_on"] == "operator");
                let listed: HashSet<&str> = cases.iter().filter_map(|c| c["id"].as_str()).collect();
                let all_listed = acked.values().all(|case| listed.contains(case.as_str()));
                (settled && all_listed).then_some(cases)
            },
        )
        .await;
    assert!(
        server.cases("stuck=true").await.is_empty(),
        "no case is stuck"
    );
    let recovery = server.log_text();
    let line = recovery
        .lines()
        .find(|l| l.contains("open cases resumed"))
        .unwrap_or_default();
    eprintln!(
        "acknowledged before the kill: {}; recovery: {line}",
        acked.len()
    );

    // Every acknowledged message is present exactly once, in the case it
    // was acknowledged for; no send was repeated.
    let mut seen: HashMap<String, usize> = HashMap::new();
    let case_ids: HashSet<String> = cases
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(case_ids.len(), CUSTOMERS.min(case_ids.len()));
    for id in &case_ids {
        let case = server.case(id).await;
        let mut keys = HashSet::new();
        let mut acks = 0;
        for m in case["messages"].as_array().unwrap() {
            if m["direction"] == "in" {
                let pid = m["provider_id"].as_str().unwrap().to_string();
                *seen.entry(pid.clone()).or_default() += 1;
                if let Some(expected) = acked.get(&pid) {
                    assert_eq!(
                        expected, id,
                        "message {pid} is in the case it was acknowledged for"
                    );
                }
            } else {
                acks += 1;
                assert!(
                    m["provider_id"].is_string(),
                    "every outbound message was sent: {m}"
                );
            }
        }
        for call in case["tool_calls"].as_array().unwrap() {
            assert!(keys.insert(call["idempotency_key"].as_str().unwrap().to_string()));
            assert_eq!(call["status"], "done", "{call}");
        }
        assert_eq!(acks, 1, "one acknowledgement per case turn: {}", case);
        assert_eq!(case["waiting_on"], "operator");
    }
    let missing: Vec<&String> = acked
        .keys()
        .filter(|id| seen.get(*id) != Some(&1))
        .collect();
    if !missing.is_empty() {
        // Tell a loss from a view that does not show it: a redelivery the
        // store still knows is answered as a duplicate (200).
        let mut report = Vec::new();
        for id in &missing {
            let c: usize = id.split('.').nth(1).unwrap().parse().unwrap();
            let from = format!("+628550000{c:04}");
            let (status, body) = server.message(&from, id, "redelivered").await;
            report.push(format!(
                "{id}: seen {:?}, acknowledged for {}, redelivery {status} {body}",
                seen.get(*id),
                acked[*id]
            ));
        }
        let kept = dir.keep();
        panic!(
            "acknowledged messages not present exactly once (data kept in {}):\n{}",
            kept.display(),
            report.join("\n")
        );
    }
    assert!(seen.values().all(|n| *n == 1), "no message stored twice");

    // The desk goes on after the crash: a new message is taken and joins its case.
    let (status, body) = server
        .message("+6285500000000", "wamid.after", "still there?")
        .await;
    assert_eq!(status, 202, "{body}");
    server.terminate();
}
