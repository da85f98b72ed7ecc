//! Write tools. The only way to call one is with an
//! [`execute::ToolCall`](crate::core::stages::execute::ToolCall), which only
//! the execute stage can build. The embedded backend is the store itself;
//! it dedupes by the call's idempotency key, so a call re-run after a crash
//! answers what it did the first time without doing it again.

use std::sync::Arc;

use crate::core::stages::execute::ToolCall;
use crate::engine::clock;
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
    pub async fn book(&self, call: &ToolCall) -> Result<ToolAnswer, StoreError> {
        let answer = self
            .store
            .book(call.key().0.clone(), call.booking().clone(), clock::now())
            .await?;
        if let ToolAnswer::Replayed(r) = &answer {
            tracing::info!(key = %call.key(), ok = r.ok, "booking already done under this key: not repeated");
        }
        Ok(answer)
    }
}
