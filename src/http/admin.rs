//! Admin routes. Reads go to the store, not through a case's mailbox, so a
//! wedged case can still be inspected and retried.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::json;

use super::auth::Principal;
use super::{ApiError, AppState};
use super::{listing, views};
use crate::core::desk::DecisionKind;
use crate::core::types::CaseId;
use crate::engine::EngineError;
use crate::store::decisions::Refusal;

/// `GET /admin/cases`: `{"cases": [summary...], "next_cursor": "..." | null}`
/// (see [`listing`] for the filter, the order and the cursor).
pub async fn list_cases(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let query = match listing::parse_query(&q) {
        Ok(q) => q,
        Err(e) => return e.into_response(),
    };
    let engine = state.engine.clone();
    match tokio::task::spawn_blocking(move || listing::page(&engine, &query)).await {
        Ok(Ok(page)) => {
            let cases: Vec<serde_json::Value> = page
                .cases
                .iter()
                .map(|l| match &l.unreadable {
                    Some(u) => views::unreadable_summary(u),
                    None => views::summary(&l.case, l.stuck.as_deref()),
                })
                .collect();
            Json(json!({ "cases": cases, "next_cursor": page.next_cursor })).into_response()
        }
        Ok(Err(e)) => ApiError::internal(e).into_response(),
        Err(e) => ApiError::internal(e).into_response(),
    }
}

fn parse_id(id: &str) -> Result<CaseId, ApiError> {
    CaseId::parse(id).ok_or_else(|| ApiError::bad_request(format!("case id '{id}' is not a UUID")))
}

/// `GET /admin/cases/{id}`: the whole case, pretty-printed, keys in the
/// contract's order.
pub async fn get_case(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(e) => return e.into_response(),
    };
    let engine = state.engine.clone();
    match tokio::task::spawn_blocking(move || views::read_case(&engine, id)).await {
        Ok(Ok(Some(v))) => pretty(&v),
        Ok(Ok(None)) => ApiError::not_found(format!("case {id} not found")).into_response(),
        Ok(Err(e)) => ApiError::internal(e).into_response(),
        Err(e) => ApiError::internal(e).into_response(),
    }
}

/// A JSON answer written for people: indented, with a final newline.
fn pretty(v: &serde_json::Value) -> Response {
    match serde_json::to_string_pretty(v) {
        Ok(mut body) => {
            body.push('\n');
            (
                [(axum::http::header::CONTENT_TYPE, "application/json")],
                body,
            )
                .into_response()
        }
        Err(e) => ApiError::internal(e).into_response(),
    }
}

/// `GET /admin/me`: who the token belongs to.
pub async fn me(Extension(p): Extension<Principal>) -> Response {
    Json(json!({ "name": p.name, "role": p.role.as_str() })).into_response()
}

pub async fn retry_case(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> Response {
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(e) => return e.into_response(),
    };
    match state.engine.retry(id, p.actor()).await {
        Ok(case) => (
            StatusCode::ACCEPTED,
            Json(json!({
                "case_id": id.to_string(),
                "state": case.state.as_str(),
                "waiting_on": case.waiting_on.label(),
            })),
        )
            .into_response(),
        Err(EngineError::NoCase(_)) => {
            ApiError::not_found(format!("case {id} not found")).into_response()
        }
        Err(EngineError::Closed(_)) => {
            ApiError::conflict(format!("case {id} is closed: nothing to retry")).into_response()
        }
        Err(EngineError::Store(e @ crate::store::StoreError::UnreadableCase { .. })) => {
            ApiError::conflict(format!("{e}: it cannot be re-run")).into_response()
        }
        Err(EngineError::Store(e)) => ApiError::store(e).into_response(),
        Err(e) => ApiError::internal(e).into_response(),
    }
}

/// A validated `POST /admin/cases/{id}/decision` body.
#[derive(Debug, PartialEq)]
pub struct DecisionIn {
    pub kind: DecisionKind,
    /// Who the body says decides; checked against the token's user.
    pub by: Option<String>,
    pub text: Option<String>,
}

/// The body of `POST /admin/cases/{id}/decision` as sent (CONTRACT
/// section 4); no other field.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DecisionBody {
    decision: DecisionName,
    by: Option<String>,
    text: Option<String>,
}

/// A decision as the API names it.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum DecisionName {
    Approve,
    Edit,
    Deny,
    Escalate,
}

impl From<DecisionName> for DecisionKind {
    fn from(d: DecisionName) -> DecisionKind {
        match d {
            DecisionName::Approve => DecisionKind::Approve,
            DecisionName::Edit => DecisionKind::Edit,
            DecisionName::Deny => DecisionKind::Deny,
            DecisionName::Escalate => DecisionKind::Escalate,
        }
    }
}

pub fn parse_decision(body: &[u8]) -> Result<DecisionIn, ApiError> {
    let d: DecisionBody = super::body::object(body)?;
    let kind = DecisionKind::from(d.decision);
    let by = match d.by {
        None => None,
        Some(b) => Some(
            Some(b.trim())
                .filter(|b| !b.is_empty() && b.chars().count() <= 128)
                .ok_or_else(|| {
                    ApiError::bad_request("`by` must name who decides (1 to 128 characters)")
                })?
                .to_string(),
        ),
    };
    let text = d.text.map(|t| t.trim().to_string());
    match (kind, &text) {
        (DecisionKind::Edit, None) => {
            return Err(ApiError::bad_request("`text` is required for \"edit\""));
        }
        (DecisionKind::Edit, Some(t)) if t.is_empty() || t.chars().count() > 4096 => {
            return Err(ApiError::bad_request("`text` must be 1 to 4096 characters"));
        }
        (DecisionKind::Edit, _) => {}
        (_, Some(_)) => {
            return Err(ApiError::bad_request("`text` is only for \"edit\""));
        }
        (_, None) => {}
    }
    Ok(DecisionIn { kind, by, text })
}

/// `POST /admin/cases/{id}/decision`. The decision is recorded under the
/// authenticated user (`approvals[].by`); a body `by` that differs is 403,
/// and so is a lane the user may not decide (CONTRACT section 3).
pub async fn decide_case(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(e) => return e.into_response(),
    };
    let d = match parse_decision(&body) {
        Ok(d) => d,
        Err(e) => return e.into_response(),
    };
    let by = match state.access.actor_name(&p, d.by.as_deref(), true) {
        Ok(by) => by,
        Err(e) => return e.into_response(),
    };
    let actor = crate::store::audit::Actor::new(by, p.role.as_str());
    let lanes = state.access.lanes(&p);
    match state
        .engine
        .decide(id, d.kind, actor, lanes, d.text, None)
        .await
    {
        Ok(Ok(case)) => (
            StatusCode::ACCEPTED,
            Json(json!({
                "case_id": id.to_string(),
                "decision": d.kind.as_str(),
                "tier": case.tier.map(|t| t.as_str()),
            })),
        )
            .into_response(),
        Ok(Err(Refusal::NoCase(_))) => {
            ApiError::not_found(format!("case {id} not found")).into_response()
        }
        Ok(Err(r @ Refusal::NotYourLane(lane))) => ApiError::forbidden(format!(
            "case {id}: {r}: it needs the {lane} role ({} is {})",
            p.name,
            p.role.as_str()
        ))
        .into_response(),
        Ok(Err(r)) => ApiError::conflict(format!("case {id}: {r}")).into_response(),
        Err(e) => ApiError::store(e).into_response(),
    }
}

/// `GET /admin/tools`: each tool's breaker state, failures, last error.
pub async fn list_tools(State(state): State<AppState>) -> Response {
    let tools: Vec<serde_json::Value> = state
        .engine
        .tools()
        .into_iter()
        .map(|t| {
            json!({
                "kind": crate::core::desk::tool_kind(&t.tool).map_or("source", |k| k.as_str()),
                "tool": t.tool,
                "state": t.state.as_str(),
                "failures": t.failures,
                "last_error": t.last_error,
                "changed_at": t.changed_at.to_rfc3339(),
                "opened": t.opened,
            })
        })
        .collect();
    Json(json!({ "tools": tools })).into_response()
}

/// `GET /admin/payments/{order_id}`: the order's state and notifications.
pub async fn get_payment(State(state): State<AppState>, Path(order_id): Path<String>) -> Response {
    match state.engine.store().payment(&order_id) {
        Ok(Some(p)) => Json(payment_view(&p)).into_response(),
        Ok(None) => ApiError::not_found(format!("order {order_id} not found")).into_response(),
        Err(e) => ApiError::internal(e).into_response(),
    }
}

/// A payment record as the admin API shows it.
pub fn payment_view(p: &crate::core::records::PaymentRecord) -> serde_json::Value {
    json!({
        "order_id": p.order_id,
        "state": p.state.as_str(),
        "gross_amount": p.gross_amount,
        "updated_at": p.updated_at.to_rfc3339(),
        "history": p.history.iter().map(|h| json!({
            "transaction_status": h.transaction_status,
            "status_code": h.status_code,
            "fraud_status": h.fraud_status,
            "at": h.at.to_rfc3339(),
            "applied": h.applied,
        })).collect::<Vec<_>>(),
    })
}

/// The body of `POST /admin/degraded` (CONTRACT section 4). Fields beyond
/// these are ignored.
#[derive(Debug, Deserialize)]
struct DegradedBody {
    on: bool,
    reason: String,
    by: Option<String>,
}

/// A validated degraded switch: on or off, why, and who the body names.
#[derive(Debug, PartialEq)]
pub struct DegradedIn {
    pub on: bool,
    pub reason: String,
    pub by: Option<String>,
}

pub fn parse_degraded(body: &[u8]) -> Result<DegradedIn, ApiError> {
    let d: DegradedBody = super::body::object(body)?;
    let reason = d.reason.trim();
    if reason.is_empty() || reason.chars().count() > 512 {
        return Err(ApiError::bad_request(
            "`reason` must say why (1 to 512 characters)",
        ));
    }
    Ok(DegradedIn {
        on: d.on,
        reason: reason.to_string(),
        by: d.by,
    })
}

/// `POST /admin/degraded`: `{"on": bool, "reason": "...", "by": "..."}`;
/// `by` as for decisions (the authenticated user).
pub async fn set_degraded(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    body: axum::body::Bytes,
) -> Response {
    let d = match parse_degraded(&body) {
        Ok(d) => d,
        Err(e) => return e.into_response(),
    };
    let by = match state.access.actor_name(&p, d.by.as_deref(), false) {
        Ok(by) => by,
        Err(e) => return e.into_response(),
    };
    let actor = crate::store::audit::Actor::new(by, p.role.as_str());
    match state.engine.set_degraded(d.on, d.reason, actor).await {
        Ok(changed) => Json(json!({
            "on": d.on,
            "changed": changed,
            "degraded": degraded_view(&state.engine.degraded()),
        }))
        .into_response(),
        Err(e) => ApiError::internal(e).into_response(),
    }
}

/// `GET /admin/degraded`: the mode in force and its audit.
pub async fn get_degraded(State(state): State<AppState>) -> Response {
    Json(degraded_view(&state.engine.degraded())).into_response()
}

fn degraded_view(r: &crate::store::degraded::DegradedRecord) -> serde_json::Value {
    let switch = |s: &crate::engine::degraded::DegradedSwitch| json!({"on": s.on, "tool": s.tool, "reason": s.reason, "by": s.by, "at": s.at.to_rfc3339()});
    json!({
        "on": r.current.is_some(),
        "current": r.current.as_ref().map(switch),
        "history": r.history.iter().map(switch).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err<T: std::fmt::Debug>(r: Result<T, ApiError>) -> String {
        r.unwrap_err().message().to_string()
    }

    #[test]
    fn a_decision_body_is_read_whole_and_a_bad_field_is_named() {
        let d =
            parse_decision(br#"{"decision":"edit","by":" rina ","text":" Baik kak "}"#).unwrap();
        assert_eq!(
            d,
            DecisionIn {
                kind: DecisionKind::Edit,
                by: Some("rina".into()),
                text: Some("Baik kak".into()),
            }
        );
        let d = parse_decision(br#"{"decision":"approve","by":null,"text":null}"#).unwrap();
        assert_eq!((d.kind, d.by, d.text), (DecisionKind::Approve, None, None));
        for (body, field) in [
            (r#"{"decision":"maybe"}"#, "`decision`"),
            (r#"{"decision":1}"#, "`decision`"),
            (r#"{"by":"x"}"#, "`decision`"),
            (r#"{"decision":"approve","by":["rina"]}"#, "`by`"),
            (r#"{"decision":"approve","by":{"name":"rina"}}"#, "`by`"),
            (r#"{"decision":"approve","by":" "}"#, "`by`"),
            (
                r#"{"decision":"edit","by":"x","text":{"en":"hi"}}"#,
                "`text`",
            ),
            (r#"{"decision":"edit","by":"x"}"#, "`text`"),
            (r#"{"decision":"deny","by":"x","text":"no"}"#, "`text`"),
            (r#"{"decision":"deny","by":"x","note":"no"}"#, "`note`"),
        ] {
            let e = err(parse_decision(body.as_bytes()));
            assert!(e.contains(field), "{body} -> {e}");
        }
        assert!(err(parse_decision(b"[]")).contains("JSON object"));
    }

    #[test]
    fn a_degraded_switch_is_read_and_a_bad_field_is_named() {
        let d = parse_degraded(br#"{"on":true,"reason":" notion down ","source":"ops"}"#).unwrap();
        assert_eq!(
            d,
            DegradedIn {
                on: true,
                reason: "notion down".into(),
                by: None,
            }
        );
        for (body, field) in [
            (r#"{"reason":"x"}"#, "`on`"),
            (r#"{"on":"yes","reason":"x"}"#, "`on`"),
            (r#"{"on":false}"#, "`reason`"),
            (r#"{"on":false,"reason":["x"]}"#, "`reason`"),
            (r#"{"on":false,"reason":"  "}"#, "`reason`"),
            (r#"{"on":false,"reason":"x","by":{"id":1}}"#, "`by`"),
        ] {
            let e = err(parse_degraded(body.as_bytes()));
            assert!(e.contains(field), "{body} -> {e}");
        }
    }
}
