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
use crate::engine::clock;
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

/// Marks the send of `step` in doubt (from now, or from when it was first
/// marked) and waits until a status carrying its key arrives or the window
/// ends, whichever is first.
pub async fn settle(
    store: &Store,
    waiters: &Waiters,
    id: CaseId,
    step: u32,
    key: &IdempotencyKey,
    window: Duration,
    reason: String,
) -> Result<Settled, StoreError> {
    let notify = waiters.register(key);
    let outcome = wait(store, &notify, id, step, key, window, reason).await;
    waiters.forget(key);
    outcome
}

async fn wait(
    store: &Store,
    notify: &Notify,
    id: CaseId,
    step: u32,
    key: &IdempotencyKey,
    window: Duration,
    reason: String,
) -> Result<Settled, StoreError> {
    let mark = store.mark_in_doubt(id, step, clock::now(), reason).await?;
    let until: Timestamp = mark.since.plus_millis(window.as_millis() as i64);
    loop {
        if let Some(wamid) = store.status_for_key(key)? {
            return Ok(Settled::Sent(wamid));
        }
        let left = until.since(clock::now());
        if left <= 0 {
            store.clear_in_doubt(id, step).await?;
            return Ok(Settled::NotSent);
        }
        // A status stored between the check above and this wait still
        // wakes it: `notify_one` keeps a permit.
        let _ = tokio::time::timeout(Duration::from_millis(left as u64), notify.notified()).await;
    }
}
