//! `POST /admin/cases/retry` (CONTRACT section 4): re-runs every open case
//! a filter matches, from its persisted state, as `POST
//! /admin/cases/{id}/retry` does for one. Shared by the console.
//!
//! Body: `{"filter": {state, tier, waiting_on, stuck, customer},
//! "reason": "...", "dry_run": true|false}` → `{"matched": N, "retried": M,
//! "dry_run": bool}`. `matched` counts the open cases the filter matches
//! (a closed case has nothing to retry); a dry run retries none, so an
//! operator sees the count before acting. `dry_run` left out is a dry run.
//! The reason is required (400 naming `reason`); each retried case's audit
//! entry carries it, and one more entry records the whole run: who, the
//! filter, the counts and the reason.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::json;

use super::auth::Principal;
use super::body::Object;
use super::listing::{self, Filter};
use super::{ApiError, AppState};
use crate::core::types::CaseId;
use crate::engine::{Engine, EngineError};
use crate::store::audit::{Actor, AuditAction, AuditRecord};

/// The filter keys a bulk retry takes (those of `GET /admin/cases`).
const FILTER_KEYS: [&str; 5] = ["state", "tier", "waiting_on", "stuck", "customer"];
/// Longest reason kept, in characters.
const REASON_MAX: usize = 512;

/// A validated bulk retry.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkRetry {
    pub filter: Filter,
    /// The filter as given, for the audit (no customer number in it).
    pub filter_text: String,
    pub reason: String,
    pub dry_run: bool,
}

/// What a bulk retry did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retried {
    pub matched: usize,
    pub retried: usize,
}

/// Reads the filter keys from string values (a form, a query).
pub fn from_pairs(
    pairs: &HashMap<String, String>,
    reason: Option<&str>,
    dry_run: bool,
) -> Result<BulkRetry, ApiError> {
    let filter = listing::parse_filter(pairs, "filter")?;
    Ok(BulkRetry {
        filter_text: describe(pairs),
        filter,
        reason: parse_reason(reason)?,
        dry_run,
    })
}

fn parse_reason(reason: Option<&str>) -> Result<String, ApiError> {
    match reason.map(str::trim) {
        Some(r) if !r.is_empty() && r.chars().count() <= REASON_MAX => Ok(r.to_string()),
        Some(r) if !r.is_empty() => Err(ApiError::bad_request(format!(
            "`reason` is longer than {REASON_MAX} characters"
        ))),
        _ => Err(ApiError::bad_request(
            "`reason` is required: say why these cases are retried",
        )),
    }
}

/// The filter as the audit shows it: keys in a fixed order, the customer
/// only as "a customer" (the audit holds no personal data).
fn describe(pairs: &HashMap<String, String>) -> String {
    let shown: Vec<String> = FILTER_KEYS
        .iter()
        .filter_map(|k| {
            let v = pairs.get(*k)?.trim();
            (!v.is_empty()).then(|| match *k {
                "customer" => "customer=<one customer>".to_string(),
                _ => format!("{k}={v}"),
            })
        })
        .collect();
    if shown.is_empty() {
        "every open case".into()
    } else {
        shown.join(", ")
    }
}

/// The body of `POST /admin/cases/retry` as sent; no other field.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BulkRetryBody {
    filter: Option<Object<FilterBody>>,
    reason: Option<String>,
    /// Left out or null: a dry run.
    dry_run: Option<bool>,
}

/// The filter keys of a bulk retry, those of `GET /admin/cases`; a null
/// value is no filter on that key.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FilterBody {
    state: Option<String>,
    tier: Option<String>,
    waiting_on: Option<String>,
    stuck: Option<Stuck>,
    customer: Option<String>,
}

/// `stuck` as a boolean, or as the text a query string carries (`"true"`).
#[derive(Debug)]
struct Stuck(String);

impl<'de> Deserialize<'de> for Stuck {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Stuck, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Stuck;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("true, false, or a string")
            }
            fn visit_bool<E>(self, b: bool) -> Result<Stuck, E> {
                Ok(Stuck(b.to_string()))
            }
            fn visit_str<E>(self, s: &str) -> Result<Stuck, E> {
                Ok(Stuck(s.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

impl FilterBody {
    /// The keys given, as the string pairs a query or form carries.
    fn pairs(self) -> HashMap<String, String> {
        [
            ("state", self.state),
            ("tier", self.tier),
            ("waiting_on", self.waiting_on),
            ("stuck", self.stuck.map(|s| s.0)),
            ("customer", self.customer),
        ]
        .into_iter()
        .filter_map(|(k, v)| Some((k.to_string(), v?)))
        .collect()
    }
}

/// Reads a `POST /admin/cases/retry` body.
pub fn parse(body: &[u8]) -> Result<BulkRetry, ApiError> {
    let b: BulkRetryBody = super::body::object(body)?;
    let Some(Object(filter)) = b.filter else {
        return Err(ApiError::bad_request(
            "`filter` is required (`{}` matches every open case)",
        ));
    };
    from_pairs(
        &filter.pairs(),
        b.reason.as_deref(),
        b.dry_run.unwrap_or(true),
    )
}

/// The open cases `filter` matches. Blocking.
fn matching(engine: &Engine, filter: &Filter) -> Result<Vec<CaseId>, crate::store::StoreError> {
    let mut ids = Vec::new();
    listing::each_match(engine, filter, |l| {
        if !l.case.is_closed() {
            ids.push(l.case.id);
        }
    })?;
    Ok(ids)
}

/// Runs a bulk retry as `actor`.
pub async fn run(engine: &Arc<Engine>, actor: Actor, req: BulkRetry) -> Result<Retried, ApiError> {
    let e = engine.clone();
    let filter = req.filter.clone();
    let ids = tokio::task::spawn_blocking(move || matching(&e, &filter))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    let matched = ids.len();
    if req.dry_run {
        return Ok(Retried {
            matched,
            retried: 0,
        });
    }
    let mut retried = 0;
    for id in ids {
        match engine
            .retry_because(id, actor.clone(), Some(req.reason.clone()))
            .await
        {
            Ok(_) => retried += 1,
            // Closed or gone since it was matched: nothing to retry.
            Err(EngineError::Closed(_) | EngineError::NoCase(_)) => {}
            Err(e) => return Err(ApiError::internal(e)),
        }
    }
    let record = AuditRecord {
        at: engine.now(),
        actor,
        action: AuditAction::Retry,
        target: Some(format!("bulk: {}", req.filter_text)),
        policy: None,
        detail: format!(
            "bulk retry: {retried} of {matched} matched case(s) re-run: {}",
            req.reason
        ),
    };
    engine
        .store()
        .audit(record)
        .await
        .map_err(ApiError::internal)?;
    Ok(Retried { matched, retried })
}

/// `POST /admin/cases/retry`.
pub async fn retry_cases(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    body: axum::body::Bytes,
) -> Response {
    let req = match parse(&body) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let dry_run = req.dry_run;
    match run(&state.engine, p.actor(), req).await {
        Ok(o) => Json(json!({
            "matched": o.matched,
            "retried": o.retried,
            "dry_run": dry_run,
        }))
        .into_response(),
        Err(e) => e.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_names_what_is_wrong() {
        for (body, needle) in [
            ("[]", "JSON object"),
            ("{", "not valid JSON"),
            (r#"{"filter":{},"dry_run":true}"#, "`reason` is required"),
            (r#"{"filter":{},"reason":"  "}"#, "`reason` is required"),
            (
                r#"{"filter":{},"reason":7}"#,
                "field `reason`: invalid type",
            ),
            (r#"{"reason":"x"}"#, "`filter` is required"),
            (
                r#"{"filter":[],"reason":"x"}"#,
                "field `filter`: invalid type",
            ),
            (r#"{"filter":{"colour":"red"},"reason":"x"}"#, "`colour`"),
            (r#"{"filter":{"tier":3},"reason":"x"}"#, "`filter.tier`"),
            (r#"{"filter":{"stuck":5},"reason":"x"}"#, "`filter.stuck`"),
            (
                r#"{"filter":{"stuck":[true]},"reason":"x"}"#,
                "`filter.stuck`",
            ),
            (
                r#"{"filter":{"customer":{"phone":"+62"}},"reason":"x"}"#,
                "`filter.customer`",
            ),
            (r#"{"filter":{"tier":"R7"},"reason":"x"}"#, "`tier`"),
            (r#"{"filter":{"customer":"12"},"reason":"x"}"#, "`customer`"),
            (r#"{"filter":{},"reason":"x","dry_run":"no"}"#, "`dry_run`"),
            (r#"{"filter":{},"reason":"x","force":true}"#, "`force`"),
        ] {
            let e = parse(body.as_bytes()).unwrap_err();
            assert!(e.message().contains(needle), "{body}: {}", e.message());
            assert_eq!(e.status(), 400);
        }
        let long = format!(r#"{{"filter":{{}},"reason":"{}"}}"#, "x".repeat(513));
        assert!(
            parse(long.as_bytes())
                .unwrap_err()
                .message()
                .contains("512")
        );
    }

    #[test]
    fn a_body_reads_into_a_filter_and_defaults_to_a_dry_run() {
        let r = parse(
            br#"{"filter":{"stuck":true,"tier":"R2","customer":"0812 3456 7890"},"reason":" breaker recovered "}"#,
        )
        .unwrap();
        assert!(r.dry_run);
        assert_eq!(r.reason, "breaker recovered");
        assert_eq!(r.filter.stuck, Some(true));
        assert!(r.filter.customer.unwrap().matches("+6281234567890"));
        assert_eq!(
            r.filter_text,
            "tier=R2, stuck=true, customer=<one customer>"
        );
        let r = parse(br#"{"filter":{"stuck":"false"},"reason":"x","dry_run":false}"#).unwrap();
        assert_eq!((r.filter.stuck, r.dry_run), (Some(false), false));
        let r = parse(br#"{"filter":{},"reason":"x","dry_run":false}"#).unwrap();
        assert_eq!(r.filter_text, "every open case");
    }
}
