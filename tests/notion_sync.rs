//! Notion as a source of student records, against a fake Notion API:
//! pagination, 429 with Retry-After, revisions from last_edited_time, and a
//! record edited here more recently than in Notion staying as it is.

mod common;

use std::time::Duration;

use common::Server;
use common::fake::{Behaviour, Fake};
use serde_json::{Value, json};

fn page(id: &str, name: &str, phone: &str, edited: &str) -> Value {
    json!({
        "object": "page", "id": format!("page-{id}"), "last_edited_time": edited,
        "properties": {
            "Student ID": {"type": "rich_text", "rich_text": [{"plain_text": id}]},
            "Name": {"type": "title", "title": [{"plain_text": name}]},
            "Phone": {"type": "phone_number", "phone_number": phone},
            "Email": {"type": "email", "email": format!("{id}@example.com")},
            "Next session": {"type": "date", "date": {"start": "2099-03-02T19:00:00+07:00"}},
            "Coach": {"type": "select", "select": {"name": "Coach Dewi"}},
            "Invoice": {"type": "rich_text", "rich_text": [{"plain_text": format!("INV-{id}")}]},
            "Amount": {"type": "number", "number": 450000},
            "Payment status": {"type": "select", "select": {"name": "settlement"}}
        }
    })
}

#[tokio::test]
async fn student_records_sync_from_notion_page_by_page_with_revisions() {
    let dir = tempfile::tempdir().unwrap();
    let (fake, base) = Fake::start().await;
    fake.script([
        Behaviour::TooMany(1),
        Behaviour::Json(json!({"object": "list", "has_more": true, "next_cursor": "cursor-2",
            "results": [page("n-1", "Rani", "+6281300000101", "2026-11-20T10:00:00.000Z"),
                        {"object": "page", "id": "broken", "last_edited_time": "2026-11-20T10:00:00.000Z", "properties": {}}]})),
        Behaviour::Json(json!({"object": "list", "has_more": false, "next_cursor": null,
            "results": [page("n-2", "Bayu", "+6281300000102", "2026-11-21T10:00:00.000Z")]})),
    ]);
    let extra = format!(
        "[notion]\napi_base = \"{base}\"\ntoken = \"secret_x\"\ndatabase_id = \"db1\"\nsync_interval = \"1h\"\n[tools.notion]\nretry_initial = \"20ms\"\nmax_elapsed = \"10s\"\n"
    );
    let s = Server::start(dir.path(), "", &extra).await;
    let student = s
        .wait_for("the synced record", Duration::from_secs(10), || async {
            let (status, v) = s.admin_get("/admin/records/students/n-2").await;
            (status == 200).then_some(v)
        })
        .await;
    assert_eq!(student["name"], "Bayu");
    assert_eq!(student["sessions"][0]["coach"], "Coach Dewi");
    assert_eq!(student["invoices"][0]["number"], "INV-n-2");
    let (status, rani) = s.admin_get("/admin/records/students/n-1").await;
    assert_eq!(status, 200, "{rani}");
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 3, "one 429, then two pages");
    assert_eq!(reqs[0].path, "/v1/databases/db1/query");
    assert!(
        reqs[1].at.duration_since(reqs[0].at) >= Duration::from_millis(950),
        "Retry-After honoured"
    );
    assert_eq!(reqs[2].body["start_cursor"], "cursor-2");
    assert_eq!(reqs[0].authorization.as_deref(), Some("Bearer secret_x"));
    // The synced number is a verified number: the desk answers from it.
    let c = s.say("+6281300000102", "jadwal les saya kapan?").await;
    assert_eq!(c["identity"], "wa_match");
}
