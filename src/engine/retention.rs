//! Retention (CONTRACT section 2, "Privacy"): closed cases older than
//! `[retention] closed_cases` (default 365 days) are erased like a data
//! subject's request erases them (`store::erase`), and the sweep is
//! audited.
//!
//! The timer is durable because it is derived from stored data: a sweep
//! runs at start (so a restart never postpones it), and the next one is set
//! for the earliest closed case to come due, or one retention period from
//! now (a case closing later is due no sooner), at most a day away.

use std::sync::{Arc, Weak};
use std::time::Duration;

use super::clock::SharedClock;
use crate::config::RetentionConfig;
use crate::core::types::{CaseId, Timestamp};
use crate::store::erase::{ERASED_TAG, Erased};
use crate::store::{Store, StoreError};

/// Cases erased in one op.
const BATCH: usize = 256;
/// Longest sleep between sweeps.
const MAX_SLEEP: Duration = Duration::from_secs(24 * 3600);
/// Wait before trying again after a failed sweep.
const AFTER_FAILURE: Duration = Duration::from_secs(60);

/// Runs sweeps for as long as the store lives, at the due times `clock`
/// reaches.
pub fn spawn(
    store: Weak<Store>,
    config: RetentionConfig,
    clock: SharedClock,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let Some(strong) = store.upgrade() else {
                return;
            };
            let now = clock.now();
            let wait = match sweep(strong, config, now).await {
                Ok((erased, next)) => {
                    if erased.cases > 0 {
                        tracing::info!(
                            cases = erased.cases,
                            messages = erased.messages,
                            "retention: closed cases erased"
                        );
                        metrics::counter!("caseflow_retention_erased_total")
                            .increment(erased.cases as u64);
                    }
                    Duration::from_millis(next.since(now).max(0) as u64)
                }
                Err(e) => {
                    tracing::warn!(error = %e, "retention sweep failed; trying again");
                    AFTER_FAILURE
                }
            };
            let wait = wait.clamp(Duration::from_millis(100), MAX_SLEEP);
            clock
                .sleep_until(now.plus_millis(wait.as_millis() as i64))
                .await;
        }
    })
}

/// Erases the closed cases that are due at `now`; returns what it erased
/// and when the next sweep is due.
pub async fn sweep(
    store: Arc<Store>,
    config: RetentionConfig,
    now: Timestamp,
) -> Result<(Erased, Timestamp), StoreError> {
    let keep_ms = config.closed_cases.as_millis() as i64;
    let scan = store.clone();
    let (due, next) = tokio::task::spawn_blocking(move || due_cases(&scan, now, keep_ms))
        .await
        .map_err(|e| StoreError::Sled(format!("retention scan: {e}")))??;
    let policy = format!(
        "retention.closed_cases = {}",
        humantime::format_duration(config.closed_cases)
    );
    let mut erased = Erased::default();
    for batch in due.chunks(BATCH) {
        let done = store
            .erase_closed_cases(batch.to_vec(), policy.clone(), now)
            .await?;
        erased.cases += done.cases;
        erased.messages += done.messages;
    }
    Ok((erased, next))
}

/// Closed, not yet erased cases closed at or before `now - keep_ms`, and
/// when the next one comes due (at the latest `now + keep_ms`).
fn due_cases(
    store: &Store,
    now: Timestamp,
    keep_ms: i64,
) -> Result<(Vec<CaseId>, Timestamp), StoreError> {
    let cutoff = now.plus_millis(-keep_ms);
    let mut due = Vec::new();
    let mut next = now.plus_millis(keep_ms);
    store.scan_cases(|case| {
        if let Some(closed) = case.closed_at
            && case.is_closed()
            && !case.tags.iter().any(|t| t == ERASED_TAG)
        {
            if closed <= cutoff {
                due.push(case.id);
            } else {
                next = next.min(closed.plus_millis(keep_ms));
            }
        }
        true
    })?;
    Ok((due, next))
}
