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
use crate::engine::clock;
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

    /// Moves a session to a slot, once per idempotency key.
    pub async fn book(
        &self,
        call: &ToolCall,
        booking: &crate::core::records::Booking,
    ) -> Result<ToolAnswer, StoreError> {
        let answer = self
            .store
            .book(call.key().0.clone(), booking.clone(), clock::now())
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

    /// The order's state as the provider reports it; `None` if it does not
    /// know the order.
    pub async fn status(
        &self,
        order_id: &str,
    ) -> Result<Option<(PaymentState, PaymentEvent, String)>, Failure<String>> {
        let r = self
            .client
            .get(format!("{}/v2/{}/status", self.base, order_id))
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
            at: clock::now(),
            applied: false,
        };
        let gross = v["gross_amount"].as_str().unwrap_or("").to_string();
        Ok(Some((state, event, gross)))
    }
}
