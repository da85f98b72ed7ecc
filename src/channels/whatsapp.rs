//! WhatsApp Cloud API: outbound messages to `{api_base}/{phone_number_id}/messages`
//! and the webhook's signature check. One call is one attempt; retries,
//! backoff and the circuit breaker are the engine's.

use std::time::Duration;

use hmac::{KeyInit, Mac};
use serde_json::{Value, json};

use super::{CustomerSender, SendError, SendFuture};
use crate::core::stages::send::Outbound;

pub struct WhatsappSender {
    client: reqwest::Client,
    url: String,
    access_token: String,
}

impl WhatsappSender {
    pub fn new(
        api_base: &str,
        phone_number_id: &str,
        access_token: &str,
        timeout: Duration,
    ) -> Result<WhatsappSender, reqwest::Error> {
        let client = reqwest::Client::builder().timeout(timeout).build()?;
        Ok(WhatsappSender {
            client,
            url: format!(
                "{}/{}/messages",
                api_base.trim_end_matches('/'),
                phone_number_id
            ),
            access_token: access_token.to_string(),
        })
    }
}

/// The addressing of a Cloud API message: `to` with a phone number (digits,
/// no `+`), or `recipient` with a business-scoped user id for a user who
/// hides their number (Meta, "Business-scoped user IDs").
fn addressed(to: &str, mut body: Value) -> Value {
    if crate::core::inbound::is_phone_address(to) {
        body["to"] = json!(to.trim_start_matches('+'));
    } else {
        body["recipient"] = json!(to);
    }
    body
}

/// The Cloud API body of an interactive list message: the text and one
/// row per option; a tap comes back as a `list_reply` with the row's id.
pub fn list_body(to: &str, text: &str, options: &[crate::core::stages::send::ListOption]) -> Value {
    let rows: Vec<Value> = options
        .iter()
        .map(|o| {
            json!({
                "id": format!("option-{}", o.id),
                "title": o.title.chars().take(24).collect::<String>(),
                "description": o.description.chars().take(72).collect::<String>(),
            })
        })
        .collect();
    addressed(
        to,
        json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "type": "interactive",
            "interactive": {
                "type": "list",
                "body": { "text": text.chars().take(1024).collect::<String>() },
                "action": { "button": "Slots", "sections": [{ "title": "Slots", "rows": rows }] },
            },
        }),
    )
}

/// The Cloud API body of a text message to `to` (a customer address).
pub fn text_body(to: &str, text: &str) -> Value {
    addressed(
        to,
        json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "type": "text",
            "text": { "preview_url": false, "body": text },
        }),
    )
}

/// The Cloud API body of an approved template message: its name, language
/// and body parameters in order (`{{1}}`, `{{2}}`...).
pub fn template_body(to: &str, t: &crate::core::stages::send::WaTemplate) -> Value {
    let parameters: Vec<Value> = t
        .parameters
        .iter()
        .map(|p| json!({"type": "text", "text": p}))
        .collect();
    let mut template = json!({"name": t.name, "language": {"code": t.language}});
    if !parameters.is_empty() {
        template["components"] = json!([{"type": "body", "parameters": parameters}]);
    }
    addressed(
        to,
        json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "type": "template",
            "template": template,
        }),
    )
}

/// The body of `message`: a template message when the send stage chose
/// one (outside the 24-hour window), else a list or a text; each carries
/// the idempotency key in `biz_opaque_callback_data`, which WhatsApp echoes
/// in every status callback of the message.
pub fn body_of(message: &Outbound) -> Value {
    let to = &message.to().address;
    let mut body = if let Some(t) = message.wa_template() {
        template_body(to, t)
    } else if message.options().is_empty() {
        text_body(to, message.text())
    } else {
        list_body(to, message.text(), message.options())
    };
    body["biz_opaque_callback_data"] = json!(message.key().0);
    body
}

impl CustomerSender for WhatsappSender {
    fn send<'a>(&'a self, message: &'a Outbound) -> SendFuture<'a> {
        Box::pin(async move {
            let body = body_of(message);
            let response = self
                .client
                .post(&self.url)
                .bearer_auth(&self.access_token)
                .header("Idempotency-Key", message.key().to_string())
                .json(&body)
                .send()
                .await
                .map_err(request_error)?;
            let status = response.status();
            if status.is_success() {
                // Accepted: the message goes out whatever happens to the
                // answer, so an unreadable one leaves the send in doubt.
                let v: Value = response
                    .json()
                    .await
                    .map_err(|e| SendError::InDoubt(format!("whatsapp: unreadable answer: {e}")))?;
                return v["messages"][0]["id"]
                    .as_str()
                    .map(str::to_string)
                    .ok_or_else(|| {
                        SendError::InDoubt("whatsapp: answer without a message id".into())
                    });
            }
            let wait = super::retry_after::retry_after(response.headers());
            let detail = response.text().await.unwrap_or_default();
            let detail: String = detail.chars().take(200).collect();
            let reason = format!("whatsapp: HTTP {} {detail}", status.as_u16());
            if status.is_server_error() || status.as_u16() == 429 || status.as_u16() == 408 {
                Err(SendError::Transient {
                    reason,
                    retry_after: wait,
                })
            } else {
                Err(SendError::Permanent(reason))
            }
        })
    }

    fn confirms_by_status(&self) -> bool {
        true
    }
}

/// A request that got no answer. Not connected: nothing was sent, try
/// again. Otherwise (timed out, connection lost mid-way) the request may
/// have been written: the send is in doubt.
fn request_error(e: reqwest::Error) -> SendError {
    if e.is_connect() {
        SendError::Transient {
            reason: format!("whatsapp: cannot connect: {e}"),
            retry_after: None,
        }
    } else if e.is_timeout() {
        SendError::InDoubt("whatsapp: timed out".into())
    } else if e.is_builder() {
        SendError::Permanent(format!("whatsapp: bad request: {e}"))
    } else {
        SendError::InDoubt(format!("whatsapp: {e}"))
    }
}

/// Checks `X-Hub-Signature-256: sha256=<hex>` over the raw body with the
/// app secret, in constant time.
pub fn signature_ok(app_secret: &str, body: &[u8], header: Option<&str>) -> bool {
    let Some(hex_sig) = header.and_then(|h| h.trim().strip_prefix("sha256=")) else {
        return false;
    };
    let Ok(sig) = hex::decode(hex_sig) else {
        return false;
    };
    if app_secret.is_empty() {
        return false;
    }
    let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(app_secret.as_bytes()) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&sig).is_ok()
}

/// `sha256=<hex>` for `body`: what a caller (or a test) signs with.
pub fn sign(app_secret: &str, body: &[u8]) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(app_secret.as_bytes())
        .expect("HMAC takes any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_checked_over_the_raw_body() {
        let body = br#"{"object":"whatsapp_business_account"}"#;
        let good = sign("s3cret", body);
        assert!(signature_ok("s3cret", body, Some(&good)));
        assert!(!signature_ok("other", body, Some(&good)));
        assert!(!signature_ok("s3cret", b"{}", Some(&good)));
        assert!(!signature_ok("s3cret", body, None));
        assert!(!signature_ok("s3cret", body, Some("sha256=zz")));
        assert!(
            !signature_ok("", body, Some(&sign("", body))),
            "no secret: nothing passes"
        );
    }
}
