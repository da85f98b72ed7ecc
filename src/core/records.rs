//! Records the desk answers from: students (with invoices, sessions and
//! reschedule history), free slots, knowledge-base articles. Plain data.

use std::sync::Arc;

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

/// A knowledge-base article version. `body` is its English answer (or its
/// only one, from a client that sends one body); `body_id` the answer in
/// Bahasa Indonesia, if the article has one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Article {
    pub id: String,
    pub title: String,
    pub status: ArticleStatus,
    pub body: String,
    pub questions: Vec<String>,
    pub version: u32,
    pub body_id: Option<String>,
}

impl Article {
    /// The answer in `lang`, and the language it is written in: an article
    /// without a Bahasa Indonesia body answers in its one body, so a reply
    /// is written in a single language (CONTRACT section 5).
    pub fn answer(&self, lang: crate::core::case::Language) -> (&str, crate::core::case::Language) {
        use crate::core::case::Language;
        match (lang, &self.body_id) {
            (Language::Id, Some(id)) => (id, Language::Id),
            _ => (&self.body, Language::En),
        }
    }
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

/// The name of the booking tool.
pub const BOOK_TOOL: &str = "calendar.book";
/// The name of the payment provider's status read.
pub const PAYMENT_STATUS_TOOL: &str = "midtrans";

/// A write the execute stage asks for: move a student's session to a slot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Booking {
    pub student: String,
    pub session: String,
    pub slot_at: Timestamp,
    pub coach: String,
}

/// What a write tool did under one idempotency key. Kept so that the same
/// key asked again answers the same without doing it twice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolReceipt {
    pub key: String,
    pub tool: String,
    pub ok: bool,
    pub detail: String,
    pub at: Timestamp,
}

/// Which read of the [`Records`] failed. Carries the ids that are not
/// personal data (a student id, an order id); a phone number or an invoice
/// number a customer typed is not repeated, since the error ends up in the
/// case's stuck reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordsQuery {
    Student { id: String },
    StudentByPhone,
    StudentByInvoice,
    FreeSlots,
    PublishedArticles,
    Payment { order_id: String },
}

impl std::fmt::Display for RecordsQuery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RecordsQuery::Student { id } => write!(f, "student {id}"),
            RecordsQuery::StudentByPhone => f.write_str("student by phone"),
            RecordsQuery::StudentByInvoice => f.write_str("student by invoice"),
            RecordsQuery::FreeSlots => f.write_str("free slots"),
            RecordsQuery::PublishedArticles => f.write_str("published articles"),
            RecordsQuery::Payment { order_id } => write!(f, "payment of order {order_id}"),
        }
    }
}

/// A read of the [`Records`] that failed: which read, and the backend's own
/// error (the store's) as its source. The case whose stage needed it
/// becomes stuck with this as the reason.
#[derive(Debug, Clone, thiserror::Error)]
#[error("cannot read {query}: {source}")]
pub struct RecordsError {
    pub query: RecordsQuery,
    #[source]
    pub source: Arc<dyn std::error::Error + Send + Sync>,
}

impl RecordsError {
    pub fn new(
        query: RecordsQuery,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        RecordsError {
            query,
            source: Arc::new(source),
        }
    }
}

/// Equal when the same read failed with the same message (the source is a
/// trait object, compared by what it says).
impl PartialEq for RecordsError {
    fn eq(&self, other: &Self) -> bool {
        self.query == other.query && self.source.to_string() == other.source.to_string()
    }
}

/// Read access to the records, for the stages. Reads are synchronous and
/// local (the store, or a test's memory); an error makes the case stuck.
pub trait Records: Send + Sync {
    fn student(&self, id: &str) -> Result<Option<Student>, RecordsError>;
    fn student_by_phone(&self, phone: &str) -> Result<Option<Student>, RecordsError>;
    fn student_by_invoice(&self, number: &str) -> Result<Option<Student>, RecordsError>;
    /// Free slots starting after `after`, earliest first, at most `limit`.
    fn free_slots(&self, after: Timestamp, limit: usize) -> Result<Vec<Slot>, RecordsError>;
    /// For each article, its highest published version.
    fn published_articles(&self) -> Result<Vec<Article>, RecordsError>;
    /// The payment state of an order, from the payment provider.
    fn payment(&self, order_id: &str) -> Result<Option<PaymentState>, RecordsError>;
}

/// Records held in memory: for tests and simulations.
#[derive(Debug, Clone, Default)]
pub struct MemRecords {
    pub students: Vec<Student>,
    pub slots: Vec<Slot>,
    pub articles: Vec<Article>,
    pub payments: Vec<(String, PaymentState)>,
}

impl Records for MemRecords {
    fn payment(&self, order_id: &str) -> Result<Option<PaymentState>, RecordsError> {
        Ok(self
            .payments
            .iter()
            .find(|(o, _)| o == order_id)
            .map(|(_, s)| *s))
    }

    fn student(&self, id: &str) -> Result<Option<Student>, RecordsError> {
        Ok(self.students.iter().find(|s| s.id == id).cloned())
    }

    fn student_by_phone(&self, phone: &str) -> Result<Option<Student>, RecordsError> {
        let wanted = crate::policy::identity::normalize_phone(phone);
        Ok(self
            .students
            .iter()
            .find(|s| crate::policy::identity::normalize_phone(&s.phone) == wanted)
            .cloned())
    }

    fn student_by_invoice(&self, number: &str) -> Result<Option<Student>, RecordsError> {
        let wanted = crate::policy::identity::invoice_key(number);
        Ok(self
            .students
            .iter()
            .find(|s| {
                s.invoices
                    .iter()
                    .any(|i| crate::policy::identity::invoice_key(&i.number) == wanted)
            })
            .cloned())
    }

    fn free_slots(&self, after: Timestamp, limit: usize) -> Result<Vec<Slot>, RecordsError> {
        let mut free: Vec<Slot> = self
            .slots
            .iter()
            .filter(|s| s.booked_by.is_none() && s.starts_at > after)
            .cloned()
            .collect();
        free.sort_by_key(|s| s.starts_at);
        free.truncate(limit);
        Ok(free)
    }

    fn published_articles(&self) -> Result<Vec<Article>, RecordsError> {
        let mut best: Vec<Article> = Vec::new();
        for a in self
            .articles
            .iter()
            .filter(|a| a.status == ArticleStatus::Published)
        {
            match best.iter_mut().find(|b| b.id == a.id) {
                Some(b) if b.version < a.version => *b = a.clone(),
                Some(_) => {}
                None => best.push(a.clone()),
            }
        }
        Ok(best)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

impl BreakerState {
    pub fn as_str(self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half_open",
        }
    }
}

/// A tool's circuit breaker state as stored and shown (`GET /admin/tools`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BreakerRecord {
    pub tool: String,
    pub state: BreakerState,
    pub failures: u32,
    pub last_error: Option<String>,
    pub changed_at: Timestamp,
    /// How many times it has opened.
    pub opened: u64,
}

/// One notification (or status answer) as received for an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentEvent {
    pub transaction_status: String,
    pub status_code: String,
    pub fraud_status: Option<String>,
    pub at: Timestamp,
    /// Whether it moved the state (false: a duplicate or a late one).
    pub applied: bool,
}

/// An order's payment state and every notification seen for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentRecord {
    pub order_id: String,
    pub state: PaymentState,
    pub gross_amount: String,
    pub history: Vec<PaymentEvent>,
    pub updated_at: Timestamp,
}
