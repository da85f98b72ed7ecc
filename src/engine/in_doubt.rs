//! Sends in doubt (CONTRACT section 2, "Sends are never doubled by a
//! timeout"). Every outbound message carries its idempotency key in
//! `biz_opaque_callback_data`, and WhatsApp echoes it in each status
//! callback. A send whose outcome is unknown (timed out, or the connection
//! was lost after the request was written) is not made again until the
//! in-doubt window has passed without a status carrying its key; such a
//! status settles it as sent, under the message id the status names.
//!
//! The mark lives in the store (so a restart keeps waiting from the same
//! instant); this module only lets a waiting case hear a status at once
//! instead of at the end of the window.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;

use crate::core::types::{CaseId, IdempotencyKey, Timestamp};
use crate::engine::clock::Clock;
use crate::store::{Store, StoreError};

/// Cases waiting to hear whether a send in doubt was made.
#[derive(Default)]
pub struct Waiters {
    by_key: Mutex<HashMap<String, Arc<Notify>>>,
}

impl Waiters {
    fn register(&self, key: &IdempotencyKey) -> Arc<Notify> {
        self.by_key
            .lock()
            .expect("in-doubt waiters lock")
            .entry(key.0.clone())
            .or_default()
            .clone()
    }

    fn forget(&self, key: &IdempotencyKey) {
        self.by_key
            .lock()
            .expect("in-doubt waiters lock")
            .remove(&key.0);
    }

    /// A status carrying `key` was stored: wake the case waiting on it.
    pub fn arrived(&self, key: &IdempotencyKey) {
        if let Some(n) = self
            .by_key
            .lock()
            .expect("in-doubt waiters lock")
            .get(&key.0)
        {
            n.notify_one();
        }
    }
}

/// How a wait on a send in doubt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settled {
    /// A status carrying the key came: the message went out with this id.
    Sent(String),
    /// The window passed with no such status: the send may be made again.
    NotSent,
}

/// The send a case waits on: its case, its step and its idempotency key.
#[derive(Debug, Clone, Copy)]
pub struct InDoubtSend<'a> {
    pub case: CaseId,
    pub step: u32,
    pub key: &'a IdempotencyKey,
}

/// Marks the send in doubt (from now, or from when it was first marked) and
/// waits until a status carrying its key arrives or the window ends on
/// `clock`, whichever is first.
pub async fn settle(
    store: &Store,
    clock: &dyn Clock,
    waiters: &Waiters,
    send: InDoubtSend<'_>,
    window: Duration,
    reason: String,
) -> Result<Settled, StoreError> {
    let notify = waiters.register(send.key);
    let outcome = wait(store, clock, &notify, send, window, reason).await;
    waiters.forget(send.key);
    outcome
}

async fn wait(
    store: &Store,
    clock: &dyn Clock,
    notify: &Notify,
    send: InDoubtSend<'_>,
    window: Duration,
    reason: String,
) -> Result<Settled, StoreError> {
    let InDoubtSend { case, step, key } = send;
    let mark = store.mark_in_doubt(case, step, clock.now(), reason).await?;
    let until: Timestamp = mark.since.plus_millis(window.as_millis() as i64);
    loop {
        if let Some(wamid) = store.status_for_key(key)? {
            return Ok(Settled::Sent(wamid));
        }
        if clock.now() >= until {
            store.clear_in_doubt(case, step).await?;
            return Ok(Settled::NotSent);
        }
        // A status stored between the check above and this wait still
        // wakes it: `notify_one` keeps a permit.
        tokio::select! {
            _ = notify.notified() => {}
            _ = clock.sleep_until(until) => {}
        }
    }
}
