//! Tools. The only way to call one is with an
//! [`execute::ToolCall`](crate::core::stages::execute::ToolCall), which only
//! the execute stage can build.
//!
//! - `calendar.book` (write) runs on the embedded store and dedupes by the
//!   call's idempotency key, so a call re-run after a crash answers what it
//!   did the first time without doing it again.
//! - `midtrans` (read) asks the payment provider for an order's state
//!   (`GET {api_base}/v2/{order_id}/status`) and applies the answer through
//!   the same state machine as the webhook.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::core::records::{PaymentEvent, PaymentState};
use crate::core::stages::execute::ToolCall;
use crate::core::types::Timestamp;
use crate::engine::retry::{self, Failure};
use crate::store::records::ToolAnswer;
use crate::store::{Store, StoreError};

pub struct WriteTools {
    store: Arc<Store>,
}

impl WriteTools {
    /// The local backend on the embedded store.
    pub fn local(store: Arc<Store>) -> WriteTools {
        WriteTools { store }
    }

    /// Moves a session to a slot, once per idempotency key; `now` is when
    /// the receipt says it was done.
    pub async fn book(
        &self,
        call: &ToolCall,
        booking: &crate::core::records::Booking,
        now: Timestamp,
    ) -> Result<ToolAnswer, StoreError> {
        let answer = self
            .store
            .book(call.key().0.clone(), booking.clone(), now)
            .await?;
        if let ToolAnswer::Replayed(r) = &answer {
            tracing::info!(key = %call.key(), ok = r.ok, "booking already done under this key: not repeated");
        }
        Ok(answer)
    }
}

/// The Midtrans status API.
pub struct MidtransClient {
    client: reqwest::Client,
    base: String,
    server_key: String,
}

impl MidtransClient {
    pub fn new(
        api_base: &str,
        server_key: &str,
        timeout: Duration,
    ) -> Result<MidtransClient, reqwest::Error> {
        Ok(MidtransClient {
            client: reqwest::Client::builder().timeout(timeout).build()?,
            base: api_base.trim_end_matches('/').to_string(),
            server_key: server_key.to_string(),
        })
    }

    /// `{api_base}/v2/{order_id}/status` with the order id as one
    /// percent-encoded path segment: an id such as `INV/2026/11/0011` must
    /// not become extra path segments (Midtrans, "Get Transaction Status").
    pub fn status_url(&self, order_id: &str) -> Result<reqwest::Url, Failure<String>> {
        if order_id.is_empty() || order_id == "." || order_id == ".." {
            return Err(Failure::Permanent(format!(
                "midtrans: order id '{order_id}' cannot be a path segment"
            )));
        }
        let mut url = reqwest::Url::parse(&self.base)
            .map_err(|e| Failure::Permanent(format!("midtrans: bad api_base: {e}")))?;
        url.path_segments_mut()
            .map_err(|_| Failure::Permanent("midtrans: api_base cannot take a path".into()))?
            .pop_if_empty()
            .extend(["v2", order_id, "status"]);
        Ok(url)
    }

    /// The order's state as the provider reports it, read at `now`; `None`
    /// if it does not know the order.
    pub async fn status(
        &self,
        order_id: &str,
        now: Timestamp,
    ) -> Result<Option<(PaymentState, PaymentEvent, String)>, Failure<String>> {
        let r = self
            .client
            .get(self.status_url(order_id)?)
            .basic_auth(&self.server_key, Some(""))
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| Failure::Transient {
                error: format!("midtrans: {e}"),
                retry_after: None,
            })?;
        let status = r.status();
        if status.is_server_error() || status.as_u16() == 429 {
            let retry_after = retry::retry_after(r.headers());
            return Err(Failure::Transient {
                error: format!("midtrans: HTTP {}", status.as_u16()),
                retry_after,
            });
        }
        if status.as_u16() == 404 {
            return Ok(None);
        }
        if !status.is_success() {
            return Err(Failure::Permanent(format!(
                "midtrans: HTTP {}",
                status.as_u16()
            )));
        }
        let v: Value = r.json().await.map_err(|e| Failure::Transient {
            error: format!("midtrans: unreadable answer: {e}"),
            retry_after: None,
        })?;
        let code = v["status_code"].as_str().unwrap_or("200").to_string();
        if code == "404" {
            return Ok(None);
        }
        let tx = v["transaction_status"].as_str().unwrap_or("");
        let fraud = v["fraud_status"].as_str();
        let Some(state) = crate::policy::payments::state_of(tx, fraud) else {
            return Err(Failure::Permanent(format!(
                "midtrans: unknown transaction_status '{tx}'"
            )));
        };
        let event = PaymentEvent {
            transaction_status: tx.to_string(),
            status_code: code,
            fraud_status: fraud.map(str::to_string),
            at: now,
            applied: false,
        };
        let gross = v["gross_amount"].as_str().unwrap_or("").to_string();
        Ok(Some((state, event, gross)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_order_id_is_one_percent_encoded_path_segment() {
        let c =
            MidtransClient::new("http://127.0.0.1:9/base/", "k", Duration::from_secs(1)).unwrap();
        for (id, path) in [
            ("INV/2026/11/0011", "/base/v2/INV%2F2026%2F11%2F0011/status"),
            ("ORDER-1", "/base/v2/ORDER-1/status"),
            ("a b?c#d%e", "/base/v2/a%20b%3Fc%23d%25e/status"),
        ] {
            assert_eq!(c.status_url(id).unwrap().path(), path, "{id}");
        }
        // URLs cannot carry a dot segment as data: such an id is refused.
        assert!(c.status_url("..").is_err());
    }
}
