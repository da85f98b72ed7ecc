//! Provider webhooks. Each checks its signature over the raw body before
//! anything is read; a bad or missing signature is 401 and nothing is stored.
//!
//! WhatsApp Cloud API: `GET /webhooks/whatsapp` answers the verification
//! handshake; `POST` carries inbound messages (taken in exactly like
//! `/v1/messages`, deduplicated by wamid) and status callbacks for outbound
//! messages (sent, delivered, read, failed).

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::{ApiError, AppState};
use crate::channels::whatsapp::signature_ok;
use crate::core::case::{DeliveryRecord, InboundMessage};
use crate::core::types::{Channel, CustomerKey, MessageId, Timestamp};
use crate::engine::clock;

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
    let expected = &state.webhooks.telegram_secret_token;
    let given = headers
        .get("x-telegram-bot-api-secret-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let ok = !expected.is_empty()
        && bool::from(subtle::ConstantTimeEq::ct_eq(
            given.as_bytes(),
            expected.as_bytes(),
        ));
    if !ok {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(
                serde_json::json!({"error": "missing or wrong X-Telegram-Bot-Api-Secret-Token"}),
            ),
        )
            .into_response();
    }
    let update: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return ApiError::bad_request(format!("body is not JSON: {e}")).into_response(),
    };
    let cq = &update["callback_query"];
    if cq.is_null() {
        // Other updates (plain chat messages) are not decisions.
        return axum::Json(serde_json::json!({"taken": false})).into_response();
    }
    let Some(press) = cq["data"]
        .as_str()
        .and_then(crate::channels::telegram::parse_button)
    else {
        return ApiError::bad_request("callback_query.data is not a caseflow button")
            .into_response();
    };
    let who = cq["from"]["username"]
        .as_str()
        .map(str::to_string)
        .or_else(|| cq["from"]["id"].as_i64().map(|i| i.to_string()))
        .unwrap_or_else(|| "unknown".into());
    // A lane's buttons are posted only to that lane's chat, and a press on
    // an outdated post is refused (`wait_since`): the chat is the credential.
    let actor = crate::store::audit::Actor::new(format!("telegram:{who}"), "telegram");
    let lanes = vec![
        crate::core::case::Lane::Operator,
        crate::core::case::Lane::Coach,
    ];
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
    if let (Some(n), Some(id)) = (state.engine.approvals(), cq["id"].as_str()) {
        let (n, id, answer) = (n.clone(), id.to_string(), answer.clone());
        tokio::spawn(async move {
            if let Err(e) = n.answer_callback(&id, &answer).await {
                tracing::warn!(error = %e, "cannot answer the button press");
            }
        });
    }
    axum::Json(serde_json::json!({"taken": taken, "answer": answer})).into_response()
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

/// Reads a Midtrans notification; the error names the missing field.
pub fn parse_midtrans(body: &[u8]) -> Result<MidtransNotice, String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| format!("body is not JSON: {e}"))?;
    let field = |name: &str| -> Result<String, String> {
        match &v[name] {
            Value::String(s) if !s.is_empty() => Ok(s.clone()),
            Value::Number(n) => Ok(n.to_string()),
            _ => Err(format!("field `{name}` is missing or not a string")),
        }
    };
    Ok(MidtransNotice {
        order_id: field("order_id")?,
        status_code: field("status_code")?,
        gross_amount: field("gross_amount")?,
        signature_key: field("signature_key")?,
        transaction_status: field("transaction_status")?,
        fraud_status: v["fraud_status"].as_str().map(str::to_string),
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
        Err(e) => return ApiError::bad_request(e).into_response(),
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
        at: clock::now(),
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

/// An inbound message or a status callback, read from a webhook body.
#[derive(Debug, PartialEq)]
pub enum WaEvent {
    Message {
        from: String,
        id: String,
        text: String,
        at: Option<Timestamp>,
    },
    Status(DeliveryRecord),
}

fn unix_ts(v: &Value) -> Option<Timestamp> {
    let secs: i64 = v.as_str()?.parse().ok()?;
    Some(Timestamp(secs * 1000))
}

/// Reads a Cloud API webhook body; an error names what is malformed.
pub fn parse_whatsapp(body: &[u8]) -> Result<Vec<WaEvent>, String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| format!("body is not JSON: {e}"))?;
    let entries = v["entry"]
        .as_array()
        .ok_or("field `entry` must be an array")?;
    let mut out = Vec::new();
    for entry in entries {
        for change in entry["changes"].as_array().into_iter().flatten() {
            let value = &change["value"];
            for m in value["messages"].as_array().into_iter().flatten() {
                let from = m["from"].as_str().ok_or("message without `from`")?;
                let id = m["id"].as_str().ok_or("message without `id`")?;
                let kind = m["type"].as_str().unwrap_or("unknown");
                let text = match kind {
                    "text" => m["text"]["body"].as_str().unwrap_or("").to_string(),
                    "interactive" => {
                        let i = &m["interactive"];
                        // A tapped option answers with its number.
                        let option = i["list_reply"]["id"]
                            .as_str()
                            .and_then(|id| id.strip_prefix("option-"));
                        option
                            .or(i["list_reply"]["title"].as_str())
                            .or(i["button_reply"]["title"].as_str())
                            .unwrap_or("")
                            .to_string()
                    }
                    "button" => m["button"]["text"].as_str().unwrap_or("").to_string(),
                    other => format!("[{other} message]"),
                };
                let digits: String = from.chars().filter(char::is_ascii_digit).collect();
                out.push(WaEvent::Message {
                    from: format!("+{digits}"),
                    id: id.to_string(),
                    text,
                    at: unix_ts(&m["timestamp"]),
                });
            }
            for st in value["statuses"].as_array().into_iter().flatten() {
                let id = st["id"].as_str().ok_or("status without `id`")?;
                let status = st["status"].as_str().ok_or("status without `status`")?;
                let error = st["errors"][0]["title"]
                    .as_str()
                    .or(st["errors"][0]["message"].as_str())
                    .map(|t| match st["errors"][0]["code"].as_i64() {
                        Some(code) => format!("{code} {t}"),
                        None => t.to_string(),
                    });
                out.push(WaEvent::Status(DeliveryRecord {
                    provider_id: id.to_string(),
                    status: status.to_string(),
                    at: unix_ts(&st["timestamp"]).unwrap_or_else(clock::now),
                    error,
                }));
            }
        }
    }
    Ok(out)
}

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
    let events = match parse_whatsapp(&body) {
        Ok(e) => e,
        Err(e) => return ApiError::bad_request(e).into_response(),
    };
    let mut taken = 0;
    for event in events {
        match event {
            WaEvent::Message { from, id, text, at } => {
                let customer = CustomerKey {
                    channel: Channel::Whatsapp,
                    address: from,
                };
                let message = InboundMessage {
                    message_id: MessageId(id),
                    text: text.chars().take(4096).collect(),
                    sent_at: at,
                    received_at: clock::now(),
                };
                if let Err(e) = state.engine.ingest(customer, message).await {
                    return ApiError::internal(e).into_response();
                }
                taken += 1;
            }
            WaEvent::Status(d) => {
                let status = d.status.clone();
                match state.engine.store().record_delivery(d).await {
                    Ok(Some(case)) if status == "failed" => {
                        tracing::warn!(case = %case, "outbound delivery failed: case marked stuck");
                    }
                    Ok(_) => {}
                    Err(e) => return ApiError::internal(e).into_response(),
                }
                taken += 1;
            }
        }
    }
    axum::Json(serde_json::json!({ "taken": taken })).into_response()
}

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
                .contains("status_code")
        );
    }

    #[test]
    fn messages_and_statuses_are_read_from_the_cloud_api_shape() {
        let body = br#"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{
            "messaging_product":"whatsapp","metadata":{"phone_number_id":"42"},
            "contacts":[{"profile":{"name":"Sari"},"wa_id":"6281234567890"}],
            "messages":[
              {"from":"6281234567890","id":"wamid.A","timestamp":"1764000000","type":"text","text":{"body":"halo kak"}},
              {"from":"6281234567890","id":"wamid.B","timestamp":"1764000001","type":"interactive",
               "interactive":{"type":"list_reply","list_reply":{"id":"option-2","title":"2) 27/11 19:00"}}},
              {"from":"6281234567890","id":"wamid.C","timestamp":"1764000002","type":"image","image":{"id":"x"}}],
            "statuses":[{"id":"wamid.OUT","status":"failed","timestamp":"1764000003","recipient_id":"6281234567890",
              "errors":[{"code":131047,"title":"Re-engagement message"}]}]}}]}]}"#;
        let events = parse_whatsapp(body).unwrap();
        assert_eq!(events.len(), 4);
        assert_eq!(
            events[0],
            WaEvent::Message {
                from: "+6281234567890".into(),
                id: "wamid.A".into(),
                text: "halo kak".into(),
                at: Some(Timestamp(1_764_000_000_000)),
            }
        );
        assert!(matches!(&events[1], WaEvent::Message { text, .. } if text == "2"));
        assert!(matches!(&events[2], WaEvent::Message { text, .. } if text == "[image message]"));
        assert!(matches!(&events[3], WaEvent::Status(d)
            if d.status == "failed" && d.error.as_deref() == Some("131047 Re-engagement message")));
        assert!(parse_whatsapp(b"{}").unwrap_err().contains("entry"));
    }
}
