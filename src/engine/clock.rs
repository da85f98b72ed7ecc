//! The engine's one clock.

use crate::core::types::Timestamp;

pub fn now() -> Timestamp {
    Timestamp(chrono::Utc::now().timestamp_millis())
}
