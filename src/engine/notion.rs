//! Notion as an optional source of student records: the database is queried
//! page by page (about 3 requests per second, honouring 429 Retry-After),
//! each page becomes a student whose revision is its `last_edited_time`, and
//! the store's monotonic upsert keeps only what is newer. Reschedules made
//! here are kept: a synced record keeps the store's reschedule history.
//!
//! Property names (case-sensitive): `Student ID`, `Name`, `Phone`, `Email`,
//! `Next session` (date), `Session ID`, `Coach`, `Invoice`, `Order ID`,
//! `Amount` (number), `Payment status`.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use serde_json::{Value, json};

use super::Shared;
use super::breaker::BreakerOpen;
use super::retry;
use crate::core::records::{Invoice, Session, Student};
use crate::core::types::Timestamp;
use crate::store::StoreError;

/// The tool name of the Notion source (its breaker, retries, degraded mode).
pub const NOTION_TOOL: &str = "notion";

pub use crate::config::NotionConfig;

/// A Notion read or sync that did not succeed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum NotionError {
    /// No answer: connection refused, timed out, or cut.
    #[error("notion: {0}")]
    Request(#[source] Arc<reqwest::Error>),
    /// The API answered with a non-success HTTP status.
    #[error("notion: HTTP {status}")]
    Status { status: u16 },
    /// A success whose body is not the query's JSON.
    #[error("notion: unreadable answer: {0}")]
    Unreadable(#[source] Arc<reqwest::Error>),
    /// Not asked: the `notion` tool's breaker is open.
    #[error(transparent)]
    BreakerOpen(#[from] BreakerOpen),
    /// The synced students could not be stored.
    #[error("notion: cannot store the synced students: {0}")]
    Store(#[from] StoreError),
}

pub struct NotionSource {
    client: reqwest::Client,
    url: String,
    token: String,
    pace: DefaultDirectRateLimiter,
}

/// One page query's answer.
pub struct Page {
    pub students: Vec<Student>,
    pub skipped: usize,
    pub next: Option<String>,
}

impl NotionSource {
    pub fn new(cfg: &NotionConfig, timeout: Duration) -> Result<NotionSource, reqwest::Error> {
        let rps = NonZeroU32::new(cfg.requests_per_second.max(1)).expect("at least 1");
        Ok(NotionSource {
            client: reqwest::Client::builder().timeout(timeout).build()?,
            url: format!(
                "{}/v1/databases/{}/query",
                cfg.api_base.trim_end_matches('/'),
                cfg.database_id
            ),
            token: cfg.token.clone(),
            pace: RateLimiter::direct(Quota::per_second(rps)),
        })
    }

    async fn page(&self, cursor: Option<&str>) -> Result<Page, retry::Failure<NotionError>> {
        self.pace.until_ready().await;
        let mut body = json!({ "page_size": 100 });
        if let Some(c) = cursor {
            body["start_cursor"] = json!(c);
        }
        let r = self
            .client
            .post(&self.url)
            .bearer_auth(&self.token)
            .header("Notion-Version", "2022-06-28")
            .json(&body)
            .send()
            .await
            .map_err(|e| retry::Failure::Transient {
                error: NotionError::Request(Arc::new(e)),
                retry_after: None,
            })?;
        let status = r.status();
        let error = NotionError::Status {
            status: status.as_u16(),
        };
        if status.as_u16() == 429 || status.is_server_error() {
            let retry_after = retry::retry_after(r.headers());
            return Err(retry::Failure::Transient { error, retry_after });
        }
        if !status.is_success() {
            return Err(retry::Failure::Permanent(error));
        }
        let v: Value = r.json().await.map_err(|e| retry::Failure::Transient {
            error: NotionError::Unreadable(Arc::new(e)),
            retry_after: None,
        })?;
        let mut students = Vec::new();
        let mut skipped = 0;
        for p in v["results"].as_array().into_iter().flatten() {
            match student_of(p) {
                Some(s) => students.push(s),
                None => skipped += 1,
            }
        }
        let next = (v["has_more"] == true)
            .then(|| v["next_cursor"].as_str().map(str::to_string))
            .flatten();
        Ok(Page {
            students,
            skipped,
            next,
        })
    }
}

/// The text of a Notion property of any common type.
fn text(p: &Value) -> Option<String> {
    let s = match p["type"].as_str()? {
        "title" | "rich_text" => p[p["type"].as_str()?]
            .as_array()?
            .iter()
            .filter_map(|t| t["plain_text"].as_str())
            .collect::<String>(),
        "phone_number" => p["phone_number"].as_str()?.to_string(),
        "email" => p["email"].as_str()?.to_string(),
        "select" | "status" => p[p["type"].as_str()?]["name"].as_str()?.to_string(),
        "number" => p["number"].as_f64()?.to_string(),
        "date" => p["date"]["start"].as_str()?.to_string(),
        _ => return None,
    };
    let s = s.trim().to_string();
    (!s.is_empty()).then_some(s)
}

fn time(s: &str) -> Option<Timestamp> {
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| Timestamp(t.timestamp_millis()))
}

/// A student from a database page; `None` when required fields are missing.
pub fn student_of(page: &Value) -> Option<Student> {
    let props = &page["properties"];
    let get = |name: &str| text(&props[name]);
    let rev = time(page["last_edited_time"].as_str()?)?.millis().max(0) as u64;
    let sessions = match (get("Next session").and_then(|d| time(&d)), get("Coach")) {
        (Some(at), coach) => vec![Session {
            id: get("Session ID")
                .unwrap_or_else(|| format!("{}-next", page["id"].as_str().unwrap_or("page"))),
            starts_at: at,
            coach: coach.unwrap_or_default(),
        }],
        _ => Vec::new(),
    };
    let invoices = match get("Invoice") {
        Some(number) => vec![Invoice {
            order_id: get("Order ID").unwrap_or_else(|| number.clone()),
            number,
            amount: get("Amount")
                .and_then(|a| a.parse::<f64>().ok())
                .unwrap_or(0.0) as i64,
            status: get("Payment status").unwrap_or_else(|| "pending".into()),
        }],
        None => Vec::new(),
    };
    Some(Student {
        id: get("Student ID")?,
        name: get("Name")?,
        phone: get("Phone")?,
        email: get("Email")?.to_lowercase(),
        rev,
        invoices,
        sessions,
        reschedule_history: Vec::new(),
        synced_at: Timestamp(0),
    })
}

/// What one sync did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Synced {
    pub pages: u32,
    pub stored: usize,
    pub unchanged: usize,
    pub skipped: usize,
}

/// Reads the whole database once, through the breaker and retry budget of
/// the `notion` tool.
pub async fn sync_once(shared: &Shared, source: &NotionSource) -> Result<Synced, NotionError> {
    let mut out = Synced::default();
    let mut cursor: Option<String> = None;
    loop {
        let policy = crate::engine::retry::RetryPolicy::from(&shared.tool_config(NOTION_TOOL));
        let c = cursor.clone();
        let answer = retry::run(
            policy,
            Duration::ZERO,
            0,
            || super::effects::guarded(shared, NOTION_TOOL, || source.page(c.as_deref())),
            |_, _| async {
                metrics::counter!("caseflow_tool_retries_total", "tool" => NOTION_TOOL)
                    .increment(1);
            },
        )
        .await;
        let page = match answer {
            retry::Attempts::Done { value, .. } => value,
            retry::Attempts::Failed { error, .. } | retry::Attempts::Paused { error, .. } => {
                return Err(error);
            }
        };
        out.pages += 1;
        out.skipped += page.skipped;
        let n = page.students.len();
        let up = shared
            .store
            .upsert_students_keeping_history(page.students, shared.clock.now())
            .await?;
        out.stored += up.stored.len();
        out.unchanged += n - up.stored.len();
        match page.next {
            Some(next) => cursor = Some(next),
            None => return Ok(out),
        }
    }
}

/// Syncs at start and then every `interval`, for as long as the process runs.
pub fn spawn(shared: Arc<Shared>, source: NotionSource, interval: Duration) {
    tokio::spawn(async move {
        loop {
            match sync_once(&shared, &source).await {
                Ok(s) => tracing::info!(
                    pages = s.pages,
                    stored = s.stored,
                    unchanged = s.unchanged,
                    skipped = s.skipped,
                    "notion sync"
                ),
                Err(e) => {
                    tracing::warn!(error = %e, "notion sync failed; the next one is at the next interval")
                }
            }
            tokio::time::sleep(interval).await;
        }
    });
}
