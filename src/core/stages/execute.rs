//! The execute stage's capability: a [`ToolCall`] is the only value the
//! engine's tools accept (writes such as a booking, and provider reads), and
//! only this module can build one. No other stage can change a record
//! outside the case.
//!
//! ```compile_fail,E0451
//! // Outside this module a ToolCall cannot be built: every field is private.
//! use caseflow::core::stages::execute::ToolCall;
//! let c = ToolCall { step: 0, key: todo!(), request: todo!() };
//! ```
//!
//! ```compile_fail,E0603
//! // ...nor can another stage mint one through the module's functions:
//! let mut case: caseflow::core::case::CaseRecord = todo!();
//! let c = caseflow::core::stages::execute::call(&mut case, todo!());
//! ```

use crate::core::case::CaseRecord;
use crate::core::desk::{PendingTool, ToolProgress, ToolRequest};
use crate::core::types::IdempotencyKey;

/// A write, ready for its tool. Built only by [`call`] and [`recall`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolCall {
    step: u32,
    key: IdempotencyKey,
    request: ToolRequest,
}

impl ToolCall {
    pub fn step(&self) -> u32 {
        self.step
    }

    /// Stable across retries and restarts: the tool dedupes by it.
    pub fn key(&self) -> &IdempotencyKey {
        &self.key
    }

    pub fn request(&self) -> &ToolRequest {
        &self.request
    }
}

/// A new call under a fresh idempotency key, marked pending on the case.
pub(in crate::core) fn call(case: &mut CaseRecord, request: ToolRequest) -> ToolCall {
    let step = case.effect_seq;
    case.effect_seq += 1;
    case.desk.tool = ToolProgress::InFlight(PendingTool {
        step,
        request: request.clone(),
    });
    ToolCall {
        step,
        key: IdempotencyKey::for_step(case.id, step),
        request,
    }
}

/// The pending write again, under its original key.
pub(in crate::core) fn recall(case: &CaseRecord) -> Option<ToolCall> {
    let pending = case.desk.tool_in_flight()?;
    Some(ToolCall {
        step: pending.step,
        key: IdempotencyKey::for_step(case.id, pending.step),
        request: pending.request.clone(),
    })
}
