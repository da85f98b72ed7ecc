//! Telegram Bot API for the approval lanes: a case that starts waiting on an
//! operator or the coach is posted to the lane's chat with inline approve /
//! deny / escalate buttons. A button press comes back through
//! `POST /webhooks/telegram` and takes the same decision path as
//! `POST /admin/cases/{id}/decision`.
//!
//! Button data is `<decision letter>:<case id>:<wait_since ms>`, so a press
//! on an old post (the case has moved on since) is refused, not applied to a
//! later question.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::core::case::{CaseRecord, Lane};
use crate::core::desk::DecisionKind;
use crate::core::types::{CaseId, Timestamp};

/// A Bot API call that did not succeed: which method, and how it failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TelegramError {
    /// No answer: connection refused, timed out, or cut.
    #[error("telegram {method}: {source}")]
    Request {
        method: &'static str,
        #[source]
        source: Arc<reqwest::Error>,
    },
    /// The Bot API answered with a non-success HTTP status.
    #[error("telegram {method}: HTTP {status}")]
    Status { method: &'static str, status: u16 },
}

pub struct TelegramNotifier {
    client: reqwest::Client,
    base: String,
    operator_chat: String,
    coach_chat: String,
}

impl TelegramNotifier {
    /// The lanes whose chat `chat_id` is (a button press carries the chat
    /// its post is in, `callback_query.message.chat.id`); empty for any
    /// other chat, both when the two lanes share one chat.
    pub fn lanes_of_chat(&self, chat_id: &str) -> Vec<Lane> {
        [
            (Lane::Operator, &self.operator_chat),
            (Lane::Coach, &self.coach_chat),
        ]
        .into_iter()
        .filter(|(_, chat)| !chat.is_empty() && chat.as_str() == chat_id)
        .map(|(lane, _)| lane)
        .collect()
    }

    pub fn new(
        api_base: &str,
        bot_token: &str,
        operator_chat: &str,
        coach_chat: &str,
        timeout: Duration,
    ) -> Result<TelegramNotifier, reqwest::Error> {
        Ok(TelegramNotifier {
            client: reqwest::Client::builder().timeout(timeout).build()?,
            base: format!("{}/bot{}", api_base.trim_end_matches('/'), bot_token),
            operator_chat: operator_chat.to_string(),
            coach_chat: coach_chat.to_string(),
        })
    }

    /// Posts the case to its lane's chat with decision buttons.
    pub async fn post_approval(&self, case: &CaseRecord, lane: Lane) -> Result<(), TelegramError> {
        let chat = match lane {
            Lane::Operator => &self.operator_chat,
            Lane::Coach => &self.coach_chat,
        };
        let body = approval_message(case, lane, chat);
        self.call("sendMessage", &body).await
    }

    /// Tells Telegram the button press was handled (stops the spinner).
    pub async fn answer_callback(
        &self,
        callback_id: &str,
        text: &str,
    ) -> Result<(), TelegramError> {
        self.call(
            "answerCallbackQuery",
            &json!({"callback_query_id": callback_id, "text": text}),
        )
        .await
    }

    async fn call(&self, method: &'static str, body: &Value) -> Result<(), TelegramError> {
        let r = self
            .client
            .post(format!("{}/{method}", self.base))
            .json(body)
            .send()
            .await
            .map_err(|e| TelegramError::Request {
                method,
                source: Arc::new(e),
            })?;
        if r.status().is_success() {
            Ok(())
        } else {
            let status = r.status().as_u16();
            Err(TelegramError::Status { method, status })
        }
    }
}

/// The sendMessage body for a case waiting on `lane`.
pub fn approval_message(case: &CaseRecord, lane: Lane, chat: &str) -> Value {
    let tier = case.tier.map_or("unclassified", |t| t.as_str());
    let rule = case.desk.rule().unwrap_or("-");
    let mut text = format!(
        "Case {} waits on the {}\nCustomer: {}\nTier: {tier} (rule {rule})",
        case.id,
        lane.as_str(),
        case.customer.masked(),
    );
    if let Some(p) = &case.desk.proposal {
        text.push_str(&format!("\nProposed reply: {}", p.text));
    }
    if let Some(reason) = &case.desk.qa_block {
        text.push_str(&format!("\nQA held it back: {reason}"));
    }
    let data = |kind: char| format!("{kind}:{}:{}", case.id, case.wait_since.millis());
    let mut row = vec![
        json!({"text": "Approve", "callback_data": data('a')}),
        json!({"text": "Deny", "callback_data": data('d')}),
    ];
    if lane == Lane::Operator {
        row.push(json!({"text": "Escalate", "callback_data": data('e')}));
    }
    json!({
        "chat_id": chat,
        "text": text,
        "reply_markup": {"inline_keyboard": [row]},
    })
}

/// A button press: the decision, the case, and the wait it was posted for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ButtonPress {
    pub kind: DecisionKind,
    pub case: CaseId,
    pub wait_since: Timestamp,
}

pub fn parse_button(data: &str) -> Option<ButtonPress> {
    let mut parts = data.split(':');
    let kind = match parts.next()? {
        "a" => DecisionKind::Approve,
        "d" => DecisionKind::Deny,
        "e" => DecisionKind::Escalate,
        _ => return None,
    };
    let case = CaseId::parse(parts.next()?)?;
    let wait_since = Timestamp(parts.next()?.parse().ok()?);
    parts.next().is_none().then_some(ButtonPress {
        kind,
        case,
        wait_since,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn button_data_round_trips_and_fits_telegram_s_64_bytes() {
        let id = CaseId(uuid::Uuid::now_v7());
        let data = format!("e:{id}:{}", 1_764_000_000_123i64);
        assert!(data.len() <= 64);
        assert_eq!(
            parse_button(&data),
            Some(ButtonPress {
                kind: DecisionKind::Escalate,
                case: id,
                wait_since: Timestamp(1_764_000_000_123)
            })
        );
        assert_eq!(parse_button("x:1:2"), None);
        assert_eq!(parse_button(&format!("a:{id}:1:extra")), None);
    }
}
