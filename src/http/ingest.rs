//! `POST /v1/messages`: validate, store durably, answer.
//!
//! 202 is sent only after the message is flushed to the store. A message id
//! seen before answers 200 with `duplicate: true` and changes nothing. Bad
//! input answers 400 naming the field, and nothing is stored. While the
//! store cannot write (disk full, I/O error) the answer is 503 with
//! `Retry-After`, and nothing was stored.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::{ApiError, AppState};
use crate::core::case::InboundMessage;
use crate::core::inbound;
use crate::core::types::{Channel, CustomerKey, MessageId, Timestamp};
use crate::store::Ingested;

const MAX_ID_CHARS: usize = 256;

/// A validated inbound message.
#[derive(Debug, PartialEq)]
pub struct NewMessage {
    pub customer: CustomerKey,
    pub message_id: MessageId,
    pub text: String,
    pub sent_at: Option<Timestamp>,
}

pub async fn post_message(State(state): State<AppState>, body: Bytes) -> Response {
    let started = std::time::Instant::now();
    let parsed = match parse(&body) {
        Ok(m) => m,
        Err(e) => {
            metrics::counter!("caseflow_messages_total", "result" => "rejected").increment(1);
            return e.into_response();
        }
    };
    let message = InboundMessage {
        message_id: parsed.message_id,
        text: parsed.text,
        sent_at: parsed.sent_at,
        received_at: state.engine.now(),
    };
    let result = state.engine.ingest(parsed.customer, message).await;
    metrics::histogram!("caseflow_ingest_seconds").record(started.elapsed().as_secs_f64());
    let label = match &result {
        Ok(Ingested::Accepted { .. }) => "accepted",
        Ok(Ingested::Duplicate { .. }) => "duplicate",
        Ok(Ingested::Conflict) => "conflict",
        Err(_) => "failed",
    };
    metrics::counter!("caseflow_messages_total", "result" => label).increment(1);
    match result {
        Ok(Ingested::Accepted { case, .. }) => (
            StatusCode::ACCEPTED,
            Json(serde_json::json!({ "case_id": case.to_string(), "duplicate": false })),
        )
            .into_response(),
        Ok(Ingested::Duplicate { case }) => (
            StatusCode::OK,
            Json(serde_json::json!({ "case_id": case.to_string(), "duplicate": true })),
        )
            .into_response(),
        Ok(Ingested::Conflict) => ApiError::conflict(
            "field `message_id` is already stored for another sender: a message id names one message of one sender",
        )
        .into_response(),
        Err(e) => ApiError::store(e).into_response(),
    }
}

/// The body of `POST /v1/messages` (CONTRACT section 4). Fields beyond
/// these are ignored.
#[derive(Debug, Deserialize)]
struct MessageIn {
    channel: String,
    from: String,
    message_id: String,
    text: String,
    /// When the customer sent it (RFC 3339); null or left out: unknown.
    at: Option<String>,
}

/// Parses and validates the JSON body; the error names the field.
pub fn parse(body: &[u8]) -> Result<NewMessage, ApiError> {
    let m: MessageIn = super::body::object(body)?;
    let channel = Channel::parse(&m.channel)
        .ok_or_else(|| ApiError::bad_request("field `channel` must be \"whatsapp\""))?;
    if !is_e164(&m.from) {
        return Err(ApiError::bad_request(
            "field `from` must be an E.164 phone number such as +6281234567890",
        ));
    }
    if !inbound::valid_message_id(&m.message_id) {
        return Err(ApiError::bad_request(format!(
            "field `message_id` must be 1 to {MAX_ID_CHARS} printable characters"
        )));
    }
    if inbound::is_blank(&m.text) {
        return Err(ApiError::bad_request(
            "field `text` must say something: it is empty once whitespace, control and zero-width characters are removed",
        ));
    }
    if m.text.chars().count() > inbound::MAX_TEXT_CHARS {
        return Err(ApiError::bad_request(format!(
            "field `text` is longer than {} characters",
            inbound::MAX_TEXT_CHARS
        )));
    }
    let sent_at = match &m.at {
        None => None,
        Some(s) => Some(
            chrono::DateTime::parse_from_rfc3339(s)
                .map(|t| Timestamp(t.timestamp_millis()))
                .map_err(|_| ApiError::bad_request("field `at` must be an RFC 3339 timestamp"))?,
        ),
    };
    Ok(NewMessage {
        customer: CustomerKey {
            channel,
            address: m.from,
        },
        message_id: MessageId(m.message_id),
        text: m.text,
        sent_at,
    })
}

/// `+` then 8 to 15 digits, not starting with 0.
fn is_e164(s: &str) -> bool {
    s.starts_with('+') && inbound::e164(s).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(body: &str) -> String {
        parse(body.as_bytes()).unwrap_err().message
    }

    #[test]
    fn accepts_a_contract_message_with_or_without_at_and_ignores_other_fields() {
        for extra in ["", r#","at":null"#, r#","source":"crm","meta":{"k":1}"#] {
            let body = format!(
                r#"{{"channel":"whatsapp","from":"+6281234567890","message_id":"wamid.X","text":"halo"{extra}}}"#
            );
            let m = parse(body.as_bytes()).unwrap();
            assert_eq!(m.sent_at, None, "{body}");
        }
    }

    #[test]
    fn accepts_a_contract_message() {
        let m = parse(
            br#"{"channel":"whatsapp","from":"+6281234567890","message_id":"wamid.X","text":"halo kak","at":"2026-11-24T10:00:00+07:00"}"#,
        )
        .unwrap();
        assert_eq!(m.customer.address, "+6281234567890");
        assert_eq!(m.sent_at, Some(Timestamp(1_795_489_200_000)));
    }

    #[test]
    fn names_the_bad_field() {
        let base = r#""channel":"whatsapp","from":"+6281234567890","message_id":"m1","text":"hi""#;
        assert!(err("[1]").contains("JSON object"));
        assert!(err("{").contains("not valid JSON"));
        assert!(
            err(&format!(
                "{{{}}}",
                base.replace(r#""channel":"whatsapp","#, "")
            ))
            .contains("`channel`")
        );
        assert!(err(&format!("{{{}}}", base.replace("whatsapp", "sms"))).contains("`channel`"));
        assert!(err(&format!("{{{}}}", base.replace("+6281234567890", "0812"))).contains("`from`"));
        assert!(err(&format!("{{{}}}", base.replace(r#""m1""#, r#""""#))).contains("`message_id`"));
        assert!(err(&format!("{{{}}}", base.replace(r#""hi""#, "7"))).contains("`text`"));
        assert!(err(&format!("{{{}}}", base.replace(r#""hi""#, "null"))).contains("`text`"));
        assert!(err(&format!("{{{},\"at\":5}}", base)).contains("`at`"));
        assert!(err(&format!("{{{},\"at\":{{\"ts\":1}}}}", base)).contains("`at`"));
        assert!(
            err(&format!(
                "{{{}}}",
                base.replace(r#""+6281234567890""#, "[\"+62\"]")
            ))
            .contains("`from`")
        );
        for blank in [
            r#"" ""#,
            r#""\u200b\u200d""#,
            r#""\u0000\u0007""#,
            r#""\ufeff \n""#,
        ] {
            assert!(
                err(&format!("{{{}}}", base.replace(r#""hi""#, blank))).contains("`text`"),
                "{blank}"
            );
        }
        for bad_from in ["abc", "", "+", "+62abc", "6281234567890"] {
            assert!(
                err(&format!("{{{}}}", base.replace("+6281234567890", bad_from)))
                    .contains("`from`"),
                "{bad_from}"
            );
        }
        assert!(
            err(&format!("{{{}}}", base.replace(r#""m1""#, r#""a\u0000""#)))
                .contains("`message_id`")
        );
        assert!(err(&format!("{{{},\"at\":\"yesterday\"}}", base)).contains("`at`"));
    }
}
