//! Records the desk answers from: students (with invoices, sessions and
//! reschedule history), free slots, knowledge-base articles. Plain data.

use serde::{Deserialize, Serialize};

use crate::core::types::Timestamp;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invoice {
    pub number: String,
    pub order_id: String,
    pub amount: i64,
    pub status: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub id: String,
    pub starts_at: Timestamp,
    pub coach: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Student {
    pub id: String,
    pub name: String,
    pub phone: String,
    pub email: String,
    /// The source's revision; an update with a rev not above it is ignored.
    pub rev: u64,
    pub invoices: Vec<Invoice>,
    pub sessions: Vec<Session>,
    pub reschedule_history: Vec<Timestamp>,
    /// When this record was last read from its source.
    pub synced_at: Timestamp,
}

impl Student {
    /// The first session starting after `now`.
    pub fn next_session(&self, now: Timestamp) -> Option<&Session> {
        self.sessions
            .iter()
            .filter(|s| s.starts_at > now)
            .min_by_key(|s| s.starts_at)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Slot {
    pub starts_at: Timestamp,
    pub coach: String,
    /// The idempotency key of the booking that took it.
    pub booked_by: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ArticleStatus {
    Published,
    Draft,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Article {
    pub id: String,
    pub title: String,
    pub status: ArticleStatus,
    pub body: String,
    pub questions: Vec<String>,
    pub version: u32,
}

/// Payment state of an order (CONTRACT section 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PaymentState {
    Pending,
    Confirmed,
    Failed,
    Expired,
    Refunded,
    Chargeback,
}

impl PaymentState {
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentState::Pending => "PENDING",
            PaymentState::Confirmed => "CONFIRMED",
            PaymentState::Failed => "FAILED",
            PaymentState::Expired => "EXPIRED",
            PaymentState::Refunded => "REFUNDED",
            PaymentState::Chargeback => "CHARGEBACK",
        }
    }

    /// Reads an invoice status as recorded by the source of truth.
    pub fn parse(s: &str) -> Option<PaymentState> {
        match s.trim().to_ascii_lowercase().as_str() {
            "pending" | "unpaid" => Some(PaymentState::Pending),
            "confirmed" | "paid" | "settlement" | "lunas" => Some(PaymentState::Confirmed),
            "failed" | "deny" | "cancel" => Some(PaymentState::Failed),
            "expired" | "expire" => Some(PaymentState::Expired),
            "refunded" | "refund" => Some(PaymentState::Refunded),
            "chargeback" => Some(PaymentState::Chargeback),
            _ => None,
        }
    }
}
