//! Provider webhooks. Each checks its signature over the raw body before
//! anything is read; a bad or missing signature is 401 and nothing is stored.
//!
//! WhatsApp Cloud API: `GET /webhooks/whatsapp` answers the verification
//! handshake; `POST` carries inbound messages (taken in like `/v1/messages`,
//! deduplicated by wamid), customer events that wake nothing, and status
//! callbacks for outbound messages (sent, delivered, read, failed); the
//! payload is read by [`crate::channels::whatsapp_webhook`].

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value;

use super::body::Object;
use super::{ApiError, AppState};
use crate::channels::whatsapp::signature_ok;
use crate::channels::whatsapp_webhook::{self, WaEvent};
use crate::store::Ingested;
use crate::store::provider::{NoteTaken, RejectedInbound, StatusTaken};

/// Secrets the webhooks check against, from config.
#[derive(Debug, Clone, Default)]
pub struct WebhookSecrets {
    pub whatsapp_app_secret: String,
    pub whatsapp_verify_token: String,
    pub midtrans_server_key: String,
    pub telegram_secret_token: String,
}

/// `POST /webhooks/telegram`: a button press on an approval post. Checked
/// with `X-Telegram-Bot-Api-Secret-Token`; the decision takes the same path
/// as the admin endpoint. A repeated or stale press changes nothing.
pub async fn telegram_event(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !telegram_secret_ok(&state, &headers) {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(
                serde_json::json!({"error": "missing or wrong X-Telegram-Bot-Api-Secret-Token"}),
            ),
        )
            .into_response();
    }
    let update: TelegramUpdate = match super::body::object(&body) {
        Ok(u) => u,
        Err(e) => return e.into_response(),
    };
    let Some(Object(cq)) = update.callback_query else {
        // Other updates (plain chat messages) are not decisions.
        return axum::Json(serde_json::json!({"taken": false})).into_response();
    };
    let Some(press) = cq
        .data
        .as_deref()
        .and_then(crate::channels::telegram::parse_button)
    else {
        return ApiError::bad_request("callback_query.data is not a caseflow button")
            .into_response();
    };
    // A lane's buttons are posted only to that lane's chat, and a press on
    // an outdated post is refused (`wait_since`): the chat is the
    // credential, so a press decides only the lane of the chat it came
    // from (CONTRACT section 3: only a coach decides the coach lane).
    let lanes = match lanes_of_press(&state, &cq) {
        Ok(lanes) => lanes,
        Err(refused) => return refused.into_response(),
    };
    let actor = crate::store::audit::Actor::new(format!("telegram:{}", cq.presser()), "telegram");
    let outcome = state
        .engine
        .decide(
            press.case,
            press.kind,
            actor,
            lanes,
            None,
            Some(press.wait_since),
        )
        .await;
    let (taken, answer) = match outcome {
        Ok(Ok(_)) => (true, format!("{} recorded", press.kind.as_str())),
        Ok(Err(refusal)) => (false, format!("not applied: {refusal}")),
        Err(e) => return ApiError::internal(e).into_response(),
    };
    if let Some(id) = cq.id {
        answer_press(&state, id, answer.clone());
    }
    axum::Json(serde_json::json!({"taken": taken, "answer": answer})).into_response()
}

/// The lanes the chat of the press decides; 403 when it is no lane's chat.
fn lanes_of_press(
    state: &AppState,
    cq: &CallbackQuery,
) -> Result<Vec<crate::core::case::Lane>, ApiError> {
    let chat = cq
        .message
        .as_ref()
        .and_then(|Object(m)| m.chat.as_ref())
        .and_then(|Object(c)| c.id.as_ref())
        .map_or(String::new(), |id| id.0.clone());
    let lanes = state
        .engine
        .approvals()
        .map(|n| n.lanes_of_chat(&chat))
        .unwrap_or_default();
    if lanes.is_empty() {
        return Err(ApiError::forbidden(format!(
            "callback_query.message.chat.id `{chat}` is not a lane's chat: only a press in the lane's own chat decides"
        )));
    }
    Ok(lanes)
}

/// Whether the update carries the configured secret token (compared in
/// constant time); no token configured refuses every update.
fn telegram_secret_ok(state: &AppState, headers: &HeaderMap) -> bool {
    let expected = &state.webhooks.telegram_secret_token;
    let given = headers
        .get("x-telegram-bot-api-secret-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    !expected.is_empty()
        && bool::from(subtle::ConstantTimeEq::ct_eq(
            given.as_bytes(),
            expected.as_bytes(),
        ))
}

/// Tells Telegram the press was handled, in the background.
fn answer_press(state: &AppState, callback_id: String, answer: String) {
    let Some(n) = state.engine.approvals().cloned() else {
        return;
    };
    tokio::spawn(async move {
        if let Err(e) = n.answer_callback(&callback_id, &answer).await {
            tracing::warn!(error = %e, "cannot answer the button press");
        }
    });
}

/// The part of a Telegram Bot API `Update` the approval lanes read; every
/// other field is ignored (Telegram Bot API, "Update", "CallbackQuery").
#[derive(Debug, Deserialize)]
struct TelegramUpdate {
    callback_query: Option<Object<CallbackQuery>>,
}

#[derive(Debug, Deserialize)]
struct CallbackQuery {
    id: Option<String>,
    data: Option<String>,
    from: Option<Object<TelegramUser>>,
    /// The post the button was on.
    message: Option<Object<TelegramMessage>>,
}

#[derive(Debug, Deserialize)]
struct TelegramMessage {
    chat: Option<Object<TelegramChat>>,
}

#[derive(Debug, Deserialize)]
struct TelegramChat {
    /// A number in the Bot API; taken as text, as the chat ids in config.
    id: Option<Text>,
}

#[derive(Debug, Deserialize)]
struct TelegramUser {
    id: Option<i64>,
    username: Option<String>,
}

impl CallbackQuery {
    /// Who pressed: the Telegram username, else the user id.
    fn presser(&self) -> String {
        let from = self.from.as_ref().map(|Object(u)| u);
        from.and_then(|u| u.username.clone())
            .or_else(|| from.and_then(|u| u.id).map(|i| i.to_string()))
            .unwrap_or_else(|| "unknown".into())
    }
}

/// A validated Midtrans HTTP notification.
#[derive(Debug, Clone, PartialEq)]
pub struct MidtransNotice {
    pub order_id: String,
    pub status_code: String,
    pub gross_amount: String,
    pub signature_key: String,
    pub transaction_status: String,
    pub fraud_status: Option<String>,
}

/// The fields of a Midtrans notification the desk reads (Midtrans, "HTTP
/// Notification"); every other field is ignored.
#[derive(Debug, Deserialize)]
struct MidtransBody {
    order_id: Text,
    status_code: Text,
    gross_amount: Text,
    signature_key: Text,
    transaction_status: Text,
    fraud_status: Option<String>,
}

/// A value Midtrans sends as a string, also taken as a JSON number (some
/// integrations send `status_code` or `gross_amount` unquoted); the text is
/// what the signature is computed over.
#[derive(Debug)]
struct Text(String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Text, D::Error> {
        match serde_json::Value::deserialize(d)? {
            Value::String(s) => Ok(Text(s)),
            Value::Number(n) => Ok(Text(n.to_string())),
            other => Err(serde::de::Error::invalid_type(
                match &other {
                    Value::Bool(b) => serde::de::Unexpected::Bool(*b),
                    Value::Null => serde::de::Unexpected::Unit,
                    Value::Array(_) => serde::de::Unexpected::Seq,
                    _ => serde::de::Unexpected::Map,
                },
                &"a string or a number",
            )),
        }
    }
}

/// Reads a Midtrans notification; the error names the missing or bad field.
pub fn parse_midtrans(body: &[u8]) -> Result<MidtransNotice, ApiError> {
    let b: MidtransBody = super::body::object(body)?;
    let required = |name: &str, t: Text| {
        if t.0.is_empty() {
            Err(ApiError::bad_request(format!("field `{name}` is empty")))
        } else {
            Ok(t.0)
        }
    };
    Ok(MidtransNotice {
        order_id: required("order_id", b.order_id)?,
        status_code: required("status_code", b.status_code)?,
        gross_amount: required("gross_amount", b.gross_amount)?,
        signature_key: required("signature_key", b.signature_key)?,
        transaction_status: required("transaction_status", b.transaction_status)?,
        fraud_status: b.fraud_status,
    })
}

/// SHA-512 of order_id + status_code + gross_amount + server key, in hex.
pub fn midtrans_signature(n: &MidtransNotice, server_key: &str) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha512::new();
    h.update(n.order_id.as_bytes());
    h.update(n.status_code.as_bytes());
    h.update(n.gross_amount.as_bytes());
    h.update(server_key.as_bytes());
    hex::encode(h.finalize())
}

pub async fn midtrans_event(State(state): State<AppState>, body: Bytes) -> Response {
    let notice = match parse_midtrans(&body) {
        Ok(n) => n,
        Err(e) => return e.into_response(),
    };
    let key = &state.webhooks.midtrans_server_key;
    let expected = midtrans_signature(&notice, key);
    let given = notice.signature_key.to_ascii_lowercase();
    let ok = !key.is_empty()
        && bool::from(subtle::ConstantTimeEq::ct_eq(
            expected.as_bytes(),
            given.as_bytes(),
        ));
    if !ok {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(serde_json::json!({"error": "bad signature_key"})),
        )
            .into_response();
    }
    let Some(to) = crate::policy::payments::state_of(
        &notice.transaction_status,
        notice.fraud_status.as_deref(),
    ) else {
        tracing::warn!(order = %notice.order_id, status = %notice.transaction_status, "unknown Midtrans transaction_status: ignored");
        return axum::Json(
            serde_json::json!({"taken": false, "reason": "unknown transaction_status"}),
        )
        .into_response();
    };
    let event = crate::core::records::PaymentEvent {
        transaction_status: notice.transaction_status.clone(),
        status_code: notice.status_code.clone(),
        fraud_status: notice.fraud_status.clone(),
        at: state.engine.now(),
        applied: false,
    };
    match state
        .engine
        .store()
        .apply_payment(
            notice.order_id.clone(),
            notice.gross_amount.clone(),
            to,
            event,
        )
        .await
    {
        Ok((record, moved)) => axum::Json(serde_json::json!({
            "taken": true,
            "order_id": record.order_id,
            "state": record.state.as_str(),
            "moved": moved,
        }))
        .into_response(),
        Err(e) => ApiError::internal(e).into_response(),
    }
}

pub async fn whatsapp_verify(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let expected = &state.webhooks.whatsapp_verify_token;
    let mode = q.get("hub.mode").map(String::as_str);
    let token = q.get("hub.verify_token").map(String::as_str).unwrap_or("");
    let challenge = q.get("hub.challenge");
    let token_ok = !expected.is_empty()
        && subtle::ConstantTimeEq::ct_eq(token.as_bytes(), expected.as_bytes()).into();
    match (mode, challenge) {
        (Some("subscribe"), Some(c)) if token_ok => (StatusCode::OK, c.clone()).into_response(),
        _ => (StatusCode::FORBIDDEN, "verification failed").into_response(),
    }
}

/// `POST /webhooks/whatsapp`: a signed delivery of the Cloud API webhook.
///
/// Each message and status is taken on its own: customer messages like
/// `/v1/messages` (deduplicated by wamid; a wamid already stored for another
/// sender is refused without naming that sender's case), reactions, edits and
/// notices kept without waking anyone, statuses recorded (also before the
/// send's answer), and an item that cannot be taken recorded with its reason.
/// The answer is 200 as long as the signature is good and everything that
/// could be taken is stored; 500 (so WhatsApp delivers again) only when the
/// store failed.
pub async fn whatsapp_event(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let signature = headers
        .get("x-hub-signature-256")
        .and_then(|v| v.to_str().ok());
    if !signature_ok(&state.webhooks.whatsapp_app_secret, &body, signature) {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(serde_json::json!({"error": "missing or bad X-Hub-Signature-256"})),
        )
            .into_response();
    }
    let events = match whatsapp_webhook::parse(&body, state.engine.now()) {
        Ok(e) => e,
        Err(e) => return ApiError::bad_request(e.to_string()).into_response(),
    };
    let mut taken = 0;
    let mut rejected = Vec::new();
    for event in events {
        match take_whatsapp(&state, event).await {
            Ok(None) => taken += 1,
            Ok(Some((id, reason))) => {
                rejected.push(serde_json::json!({"message_id": id, "reason": reason}))
            }
            Err(e) => return ApiError::internal(e).into_response(),
        }
    }
    axum::Json(serde_json::json!({ "taken": taken, "rejected": rejected })).into_response()
}

/// Takes one event of a delivery; `Some((message id, reason))` when it was
/// refused (and recorded as such).
async fn take_whatsapp(
    state: &AppState,
    event: WaEvent,
) -> Result<Option<(Option<String>, String)>, crate::store::StoreError> {
    let store = state.engine.store();
    let refuse = |id: Option<String>, reason: String, raw: String| async move {
        metrics::counter!("caseflow_messages_total", "result" => "rejected").increment(1);
        tracing::warn!(%reason, "webhook item refused");
        store
            .record_rejected(RejectedInbound {
                at: state.engine.now(),
                source: "whatsapp".into(),
                message_id: id.clone(),
                reason: reason.clone(),
                raw,
            })
            .await?;
        Ok::<_, crate::store::StoreError>(Some((id, reason)))
    };
    match event {
        WaEvent::Message { customer, message } => {
            let id = message.message_id.0.clone();
            let raw = message.text.chars().take(512).collect();
            match state.engine.ingest(customer, message).await? {
                Ingested::Accepted { .. } => {
                    metrics::counter!("caseflow_messages_total", "result" => "accepted")
                        .increment(1);
                    Ok(None)
                }
                Ingested::Duplicate { .. } => Ok(None),
                Ingested::Conflict => refuse(Some(id), CONFLICT_REASON.into(), raw).await,
            }
        }
        WaEvent::Note { customer, note } => {
            let id = note.message_id.0.clone();
            match store.take_note(customer, note).await? {
                NoteTaken::Conflict => {
                    refuse(Some(id), CONFLICT_REASON.into(), String::new()).await
                }
                _ => Ok(None),
            }
        }
        WaEvent::Status(status) => {
            let key = status.key.clone();
            match store.record_status(status).await? {
                StatusTaken::OnCase { case, failed: true } => {
                    tracing::warn!(case = %case, "outbound delivery failed: case marked stuck");
                }
                StatusTaken::OnCase { .. } | StatusTaken::Early | StatusTaken::Duplicate => {}
            }
            if let Some(key) = key {
                state.engine.status_arrived(&key);
            }
            Ok(None)
        }
        WaEvent::Rejected { id, reason, raw } => refuse(id, reason, raw).await,
    }
}

/// `GET /admin/webhooks/rejected?limit=N`: the items of signed deliveries
/// that could not be taken, newest first, with the reason and the item as
/// delivered, so nothing a customer sent is lost unseen.
pub async fn list_rejected(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let limit = match q.get("limit").map(|l| l.parse::<usize>()) {
        None => 100,
        Some(Ok(n)) if (1..=1000).contains(&n) => n,
        Some(_) => return ApiError::bad_request("query `limit` must be 1 to 1000").into_response(),
    };
    match state.engine.store().rejected_inbound(limit) {
        Ok(items) => axum::Json(serde_json::json!({
            "rejected": items.iter().map(|r| serde_json::json!({
                "at": r.at.to_rfc3339(),
                "source": r.source,
                "message_id": r.message_id,
                "reason": r.reason,
                "raw": r.raw,
            })).collect::<Vec<_>>()
        }))
        .into_response(),
        Err(e) => ApiError::internal(e).into_response(),
    }
}

/// Why a message id used by another sender is refused: it names no case.
pub const CONFLICT_REASON: &str = "`message_id` is already stored for another sender: not taken";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn midtrans_signatures_follow_the_documented_recipe() {
        let n = parse_midtrans(
            br#"{"order_id":"ORDER-1","status_code":"200","gross_amount":"450000.00",
                 "signature_key":"x","transaction_status":"settlement"}"#,
        )
        .unwrap();
        use sha2::Digest;
        let manual = hex::encode(sha2::Sha512::digest(b"ORDER-1200450000.00server-key"));
        assert_eq!(midtrans_signature(&n, "server-key"), manual);
        assert!(
            parse_midtrans(br#"{"order_id":"O"}"#)
                .unwrap_err()
                .message()
                .contains("status_code")
        );
        let n = parse_midtrans(
            br#"{"order_id":"O","status_code":200,"gross_amount":450000.5,
                 "signature_key":"x","transaction_status":"settlement","currency":"IDR"}"#,
        )
        .unwrap();
        assert_eq!(
            (n.status_code.as_str(), n.gross_amount.as_str()),
            ("200", "450000.5")
        );
    }

    #[test]
    fn a_malformed_notification_names_its_field() {
        let base = r#""order_id":"O","status_code":"200","gross_amount":"1.00","signature_key":"x","transaction_status":"settlement""#;
        for (body, field) in [
            (format!("{{{base},\"fraud_status\":5}}"), "`fraud_status`"),
            (
                format!("{{{}}}", base.replace(r#""1.00""#, r#"{"value":1}"#)),
                "`gross_amount`",
            ),
            (
                format!("{{{}}}", base.replace(r#""O""#, "[]")),
                "`order_id`",
            ),
            (
                format!("{{{}}}", base.replace(r#""O""#, r#""""#)),
                "`order_id`",
            ),
        ] {
            let e = parse_midtrans(body.as_bytes()).unwrap_err();
            assert!(e.message().contains(field), "{body}: {}", e.message());
        }
    }

    #[test]
    fn a_telegram_update_names_a_wrong_typed_nested_field() {
        let e = super::super::body::object::<TelegramUpdate>(
            br#"{"update_id":1,"callback_query":{"id":"7","data":5}}"#,
        )
        .unwrap_err();
        assert!(
            e.message().starts_with("field `callback_query.data`:"),
            "{}",
            e.message()
        );
        let e = super::super::body::object::<TelegramUpdate>(
            br#"{"callback_query":{"id":"7","data":"a:x:1","from":{"id":"me"}}}"#,
        )
        .unwrap_err();
        assert!(e.message().starts_with("field `callback_query.from.id`:"));
        let u: TelegramUpdate = super::super::body::object(
            br#"{"update_id":1,"message":{"text":"hi","chat":{"id":1}}}"#,
        )
        .unwrap();
        assert!(
            u.callback_query.is_none(),
            "other updates are read and left"
        );
    }
}
