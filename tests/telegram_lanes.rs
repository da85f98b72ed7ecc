//! Approval lanes over Telegram: a case waiting on a human is posted with
//! buttons to the lane's chat; a button press decides like the admin
//! endpoint, once; a stale or unsigned press changes nothing.

mod common;

use common::Server;
use common::fake::Fake;
use serde_json::{Value, json};

const SECRET: &str = "tg-secret-token";

const OPERATOR_CHAT: i64 = -100;
const COACH_CHAT: i64 = -200;

async fn press(s: &Server, data: &str, secret: Option<&str>) -> (u16, Value) {
    press_in(s, OPERATOR_CHAT, data, secret).await
}

/// A button press as Telegram sends it: from a post in chat `chat`.
async fn press_in(s: &Server, chat: i64, data: &str, secret: Option<&str>) -> (u16, Value) {
    let mut req = s
        .client()
        .post(format!("{}/webhooks/telegram", s.base))
        .json(&json!({
            "update_id": 1,
            "callback_query": {
                "id": "cb-1",
                "from": {"id": 42, "username": "op_rina"},
                "message": {"message_id": 7, "chat": {"id": chat, "type": "supergroup"}},
                "data": data,
            }
        }));
    if let Some(secret) = secret {
        req = req.header("X-Telegram-Bot-Api-Secret-Token", secret);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn buttons(post: &Value) -> Vec<String> {
    post["reply_markup"]["inline_keyboard"][0]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["callback_data"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn a_button_press_decides_once_through_the_same_path_as_the_admin_api() {
    let dir = tempfile::tempdir().unwrap();
    let (fake, base) = Fake::start().await;
    let extra = format!(
        "[channels.telegram]\napi_base = \"{base}\"\nbot_token = \"123:abc\"\noperator_chat_id = \"-100\"\ncoach_chat_id = \"-200\"\nsecret_token = \"{SECRET}\"\n"
    );
    let s = Server::start_demo_with(dir.path(), "pilot", &extra).await;

    let c = s.say("+6281234567890", "kak jadwal les saya kapan?").await;
    let id = c["id"].as_str().unwrap().to_string();
    let post = s
        .wait_for(
            "the approval post",
            std::time::Duration::from_secs(10),
            || async {
                fake.requests()
                    .into_iter()
                    .find(|r| r.path == "/bot123:abc/sendMessage")
                    .map(|r| r.body)
            },
        )
        .await;
    assert_eq!(post["chat_id"], "-100", "the operator lane");
    let text = post["text"].as_str().unwrap();
    assert!(
        text.contains("R1") && text.contains("Proposed reply"),
        "{text}"
    );
    assert!(
        !text.contains("1234567890"),
        "the customer is masked: {text}"
    );
    let data = buttons(&post);
    assert_eq!(data.len(), 3);
    let approve = data.iter().find(|d| d.starts_with("a:")).unwrap().clone();

    // Unsigned or wrongly signed presses are refused and change nothing.
    assert_eq!(press(&s, &approve, None).await.0, 401);
    assert_eq!(press(&s, &approve, Some("nope")).await.0, 401);
    assert_eq!(s.case(&id).await["waiting_on"], "operator");

    // The chat is the credential: a press decides only the lane of the chat
    // it was made in; a press from any other chat is refused.
    let (status, v) = press_in(&s, -999_999, &approve, Some(SECRET)).await;
    assert_eq!(status, 403, "{v}");
    assert!(v["error"].as_str().unwrap().contains("-999999"), "{v}");
    let (status, v) = press_in(&s, COACH_CHAT, &approve, Some(SECRET)).await;
    assert_eq!((status, v["taken"].as_bool()), (200, Some(false)), "{v}");
    assert_eq!(s.case(&id).await["waiting_on"], "operator");

    let (status, v) = press(&s, &approve, Some(SECRET)).await;
    assert_eq!((status, v["taken"].as_bool()), (200, Some(true)), "{v}");
    let c = s.settle(&id).await;
    let last = c["messages"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["template"], "wa.r1.schedule");
    assert_eq!(c["approvals"][0]["by"], "telegram:op_rina");

    // The same press again: answered, not applied twice.
    let (status, v) = press(&s, &approve, Some(SECRET)).await;
    assert_eq!((status, v["taken"].as_bool()), (200, Some(false)), "{v}");
    assert_eq!(s.case(&id).await["approvals"].as_array().unwrap().len(), 1);

    // A refund goes to the coach's chat, without an escalate button.
    let c = s.say("+6285611112222", "saya mau refund").await;
    assert_eq!(c["waiting_on"], "coach");
    let post = s
        .wait_for(
            "the coach post",
            std::time::Duration::from_secs(10),
            || async {
                fake.requests()
                    .into_iter()
                    .find(|r| r.path.ends_with("/sendMessage") && r.body["chat_id"] == "-200")
                    .map(|r| r.body)
            },
        )
        .await;
    assert_eq!(buttons(&post).len(), 2);
    // Its approve pressed in the operator chat is not the coach's decision.
    let coach_approve = buttons(&post)
        .into_iter()
        .find(|d| d.starts_with("a:"))
        .unwrap();
    let (_, v) = press_in(&s, OPERATOR_CHAT, &coach_approve, Some(SECRET)).await;
    assert_eq!(v["taken"], false, "{v}");
    assert_eq!(
        s.case(c["id"].as_str().unwrap()).await["waiting_on"],
        "coach"
    );
    // A press from an older post of the same case is stale.
    let stale = approve.replace(&id, c["id"].as_str().unwrap());
    let (_, v) = press_in(&s, COACH_CHAT, &stale, Some(SECRET)).await;
    assert_eq!(v["taken"], false);
    assert!(v["answer"].as_str().unwrap().contains("moved on"), "{v}");
}

#[tokio::test]
async fn a_post_that_never_reached_the_chat_is_made_again_at_start() {
    use common::fake::Behaviour;
    let dir = tempfile::tempdir().unwrap();
    let (fake, base) = Fake::start().await;
    fake.set_default(Behaviour::Status(503));
    let extra = format!(
        "[channels.telegram]\napi_base = \"{base}\"\nbot_token = \"123:abc\"\noperator_chat_id = \"-100\"\ncoach_chat_id = \"-200\"\nsecret_token = \"{SECRET}\"\n[tools.telegram]\nretry_initial = \"10ms\"\nmax_elapsed = \"200ms\"\n"
    );
    let s = Server::start_demo_with(dir.path(), "pilot", &extra).await;
    let c = s.say("+6281234567890", "kak jadwal les saya kapan?").await;
    let id = c["id"].as_str().unwrap().to_string();
    s.wait_for(
        "the failed posts",
        std::time::Duration::from_secs(10),
        || async { (fake.requests().len() >= 2).then_some(()) },
    )
    .await;
    assert_eq!(s.case(&id).await["lane_notified"], false);
    assert!(s.terminate().success());

    fake.set_default(Behaviour::Ok);
    let before = fake.requests().len();
    let s = Server::start_demo_with(dir.path(), "pilot", &extra).await;
    let c = s
        .wait_for(
            "the post at start",
            std::time::Duration::from_secs(10),
            || async {
                let c = s.case(&id).await;
                (c["lane_notified"] == true).then_some(c)
            },
        )
        .await;
    assert_eq!(c["waiting_on"], "operator");
    let posts: Vec<_> = fake.requests()[before..]
        .iter()
        .filter(|r| r.path.ends_with("/sendMessage"))
        .map(|r| r.body.clone())
        .collect();
    assert_eq!(posts.len(), 1, "posted once at start");
    assert!(posts[0]["text"].as_str().unwrap().contains(&id));
}
