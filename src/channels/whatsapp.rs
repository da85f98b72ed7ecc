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
    json!({
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to.trim_start_matches('+'),
        "type": "interactive",
        "interactive": {
            "type": "list",
            "body": { "text": text.chars().take(1024).collect::<String>() },
            "action": { "button": "Slots", "sections": [{ "title": "Slots", "rows": rows }] },
        },
    })
}

/// The Cloud API body of a text message to `to` (E.164 without the plus).
pub fn text_body(to: &str, text: &str) -> Value {
    json!({
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to.trim_start_matches('+'),
        "type": "text",
        "text": { "preview_url": false, "body": text },
    })
}

impl CustomerSender for WhatsappSender {
    fn send<'a>(&'a self, message: &'a Outbound) -> SendFuture<'a> {
        Box::pin(async move {
            let body = if message.options().is_empty() {
                text_body(&message.to().address, message.text())
            } else {
                list_body(&message.to().address, message.text(), message.options())
            };
            let response = self
                .client
                .post(&self.url)
                .bearer_auth(&self.access_token)
                .header("Idempotency-Key", message.key().to_string())
                .json(&body)
                .send()
                .await
                .map_err(|e| SendError::Transient {
                    reason: format!(
                        "whatsapp: {}",
                        if e.is_timeout() {
                            "timed out".to_string()
                        } else {
                            e.to_string()
                        }
                    ),
                    retry_after: None,
                })?;
            let status = response.status();
            if status.is_success() {
                let v: Value = response.json().await.map_err(|e| SendError::Transient {
                    reason: format!("whatsapp: unreadable answer: {e}"),
                    retry_after: None,
                })?;
                return v["messages"][0]["id"]
                    .as_str()
                    .map(str::to_string)
                    .ok_or_else(|| {
                        SendError::Permanent("whatsapp: answer without a message id".into())
                    });
            }
            let wait = crate::engine::retry::retry_after(response.headers());
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
