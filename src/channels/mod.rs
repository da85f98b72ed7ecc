//! Customer channels: how an [`Outbound`] reaches a customer.
//!
//! A [`CustomerSender`] only accepts an `Outbound`, which only the send stage
//! can build; the engine hands the sender to nothing but the send effect.

use std::future::Future;
use std::pin::Pin;

use crate::core::stages::send::Outbound;

pub mod retry_after;
pub mod telegram;
pub mod whatsapp;
pub mod whatsapp_webhook;

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum SendError {
    /// Worth trying again (timeouts, 5xx, 429), not before `retry_after`.
    #[error("{reason} (transient)")]
    Transient {
        reason: String,
        retry_after: Option<std::time::Duration>,
    },
    /// Will fail again as it is (4xx, bad recipient).
    #[error("{0}")]
    Permanent(String),
    /// The request may have reached the provider but its answer did not
    /// come (timed out, connection lost after the request was written): the
    /// message may have gone out. Only a status callback carrying the key
    /// tells (see `engine::in_doubt`).
    #[error("{0} (outcome unknown)")]
    InDoubt(String),
}

pub type SendFuture<'a> = Pin<Box<dyn Future<Output = Result<String, SendError>> + Send + 'a>>;

/// Delivers a customer-facing message; returns the provider's message id.
/// Must treat the message's idempotency key as the identity of the send.
pub trait CustomerSender: Send + Sync + 'static {
    fn send<'a>(&'a self, message: &'a Outbound) -> SendFuture<'a>;

    /// Whether the provider confirms sends with status callbacks that echo
    /// the idempotency key, so a send in doubt can be settled by waiting
    /// for one instead of sending again.
    fn confirms_by_status(&self) -> bool {
        false
    }
}

/// The embedded default: the message is recorded on the case and goes
/// nowhere else. Its provider id is derived from the idempotency key, so a
/// re-run of the same send yields the same id.
pub struct RecordOnly;

impl CustomerSender for RecordOnly {
    fn send<'a>(&'a self, message: &'a Outbound) -> SendFuture<'a> {
        Box::pin(async move { Ok(format!("local.{}", message.key())) })
    }
}

/// A chaos drill around another sender: each attempt fails transiently with
/// probability `rate` (as a 503 would), so retries, backoff and breakers can
/// be exercised without a provider.
pub struct Flaky<S> {
    pub inner: S,
    pub rate: f64,
}

impl<S: CustomerSender> CustomerSender for Flaky<S> {
    fn send<'a>(&'a self, message: &'a Outbound) -> SendFuture<'a> {
        Box::pin(async move {
            if rand::random::<f64>() < self.rate {
                return Err(SendError::Transient {
                    reason: "fault injection: simulated 503".into(),
                    retry_after: None,
                });
            }
            self.inner.send(message).await
        })
    }
}
