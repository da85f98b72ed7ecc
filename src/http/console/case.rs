//! A case's page: its facts, its pending action with the decisions the
//! signed-in role may make, a retry when it is stuck, and the whole
//! timeline (messages in and out with their delivery status, transitions,
//! tool calls, decisions, events) in time order.
//!
//! The page is drawn from the same view `GET /admin/cases/{id}` answers,
//! so the console shows what the API shows.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use maud::{Markup, html};
use serde_json::Value;

use super::FormBody;
use super::labels::L;
use super::lists::frame;
use super::pages::{self, Frame, Here};
use super::{ConsoleState, Visitor, html_status, refused, see_other, to_sign_in};
use crate::core::case::Lane;
use crate::core::types::{CaseId, Timestamp};
use crate::engine::EngineError;
use crate::http::auth::Role;
use crate::http::{ApiError, views};
use crate::store::decisions::Refusal;

/// A page for an error the visitor cannot fix (the store failed).
pub fn failed(v: &Visitor, e: ApiError) -> Response {
    let lang = v.session.lang;
    html_status(
        e.status_code(),
        pages::message(lang, L::Refused.text(lang), e.message()),
    )
}

fn parse_id(id: &str) -> Option<CaseId> {
    CaseId::parse(id)
}

/// `GET /console/cases/{id}` (`?done=decided|retried` after an action).
pub async fn show(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Some(v) = state.visitor(&headers) else {
        return to_sign_in();
    };
    let notice = match q.get("done").map(String::as_str) {
        Some("decided") => Some((true, v.session.lang, L::Decided)),
        Some("retried") => Some((true, v.session.lang, L::RetryDone)),
        _ => None,
    }
    .map(|(ok, lang, l)| (ok, l.text(lang).to_string()));
    render(&state, &v, &id, StatusCode::OK, notice).await
}

async fn render(
    state: &ConsoleState,
    v: &Visitor,
    id: &str,
    status: StatusCode,
    notice: Option<(bool, String)>,
) -> Response {
    let lang = v.session.lang;
    let Some(case_id) = parse_id(id) else {
        return html_status(
            StatusCode::NOT_FOUND,
            pages::message(lang, L::NotFound.text(lang), L::NotFound.text(lang)),
        );
    };
    let engine = state.app.engine.clone();
    let view = match tokio::task::spawn_blocking(move || views::read_case(&engine, case_id)).await {
        Ok(Ok(Some(view))) => view,
        Ok(Ok(None)) => {
            return html_status(
                StatusCode::NOT_FOUND,
                pages::message(lang, L::NotFound.text(lang), L::NotFound.text(lang)),
            );
        }
        Ok(Err(e)) => return failed(v, ApiError::internal(e)),
        Err(e) => return failed(v, ApiError::internal(e)),
    };
    let f = frame(state, v, Here::Case, format!("/console/cases/{case_id}"));
    let lanes = state.app.access.lanes(&v.session.principal);
    let title = format!("{} {}", f.t(L::Case), &id[id.len().saturating_sub(8)..]);
    let body = html! {
        @if let Some((ok, text)) = &notice {
            (pages::notice(*ok, text))
        }
        (pending(&f, &view, &lanes))
        (facts(&f, &view))
        (stuck(&f, &view))
        h2 #timeline { (f.t(L::Timeline)) }
        (timeline(&f, &view))
    };
    html_status(status, pages::page(&f, &title, body))
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

fn when(f: &Frame<'_>, v: &Value) -> String {
    v.as_str()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| f.when(Timestamp(t.timestamp_millis())))
        .unwrap_or_default()
}

fn facts(f: &Frame<'_>, v: &Value) -> Markup {
    let rows: [(L, String); 9] = [
        (L::Customer, s(&v["customer"]).to_string()),
        (L::State, s(&v["state"]).to_string()),
        (L::Tier, v["tier"].as_str().unwrap_or("–").to_string()),
        (L::WaitingOn, s(&v["waiting_on"]).to_string()),
        (L::Identity, s(&v["identity"]).to_string()),
        (L::Mode, s(&v["mode"]).to_string()),
        (L::CaseLanguage, s(&v["language"]).to_string()),
        (L::OpenedAt, when(f, &v["opened_at"])),
        (L::UpdatedAt, when(f, &v["updated_at"])),
    ];
    let tags: Vec<&str> = v["tags"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    html! {
        section.card aria-labelledby="facts-h" {
            h2 #facts-h .sr-only { (f.t(L::Case)) }
            dl.facts {
                @for (label, value) in &rows {
                    dt { (f.t(*label)) }
                    dd { (value) }
                }
                @if let Some(rule) = v["rule"].as_str() {
                    dt { (f.t(L::Rule)) }
                    dd { code { (rule) } }
                }
                @if !tags.is_empty() {
                    dt { (f.t(L::Tags)) }
                    dd { @for t in &tags { span.badge { (t) } " " } }
                }
                @if let Some(block) = v["qa_block"].as_str() {
                    dt { (f.t(L::QaBlock)) }
                    dd { (block) }
                }
            }
        }
    }
}

fn stuck(f: &Frame<'_>, v: &Value) -> Markup {
    let Some(reason) = v["stuck_reason"].as_str() else {
        return html! {};
    };
    let id = s(&v["id"]);
    html! {
        section.card aria-labelledby="stuck-h" {
            h2 #stuck-h { (f.t(L::StuckReason)) }
            p { (reason) }
            @if f.may(Role::Operator) {
                form method="post" action={ "/console/cases/" (id) "/retry" } {
                    (f.csrf())
                    button type="submit" { (f.t(L::Retry)) }
                }
            }
        }
    }
}

fn pending(f: &Frame<'_>, v: &Value, lanes: &[Lane]) -> Markup {
    let a = &v["pending_action"];
    if a.is_null() {
        return html! {
            section.card #pending aria-labelledby="pending-h" {
                h2 #pending-h { (f.t(L::PendingAction)) }
                p { (f.t(L::NoPendingAction)) }
            }
        };
    }
    let lane = match s(&a["lane"]) {
        "coach" => Lane::Coach,
        _ => Lane::Operator,
    };
    let kind = match s(&a["kind"]) {
        "reply" => L::KindReply,
        "booking" => L::KindBooking,
        _ => L::KindEscalation,
    };
    let escalation = s(&a["kind"]) == "escalation";
    html! {
        section.card #pending aria-labelledby="pending-h" {
            h2 #pending-h { (f.t(L::PendingAction)) ": " (f.t(kind)) }
            (pending_facts(f, a, lane))
            @if let Some(text) = a["text"].as_str() {
                h3 { (f.t(if escalation { L::CustomerWrote } else { L::DraftedReply })) }
                p.quote.untrusted[escalation] { (text) }
            }
            @if lanes.contains(&lane) {
                (decision_forms(f, s(&v["id"]), a, lane, escalation))
            } @else if f.may(Role::Operator) {
                p.notice { (f.t(L::NotYourLane)) }
            } @else {
                p.notice { (f.t(L::ReadOnly)) }
            }
        }
    }
}

/// What the pending action asks: lane, SLA clock, template, the session it
/// moves and the slot it takes, the reason.
fn pending_facts(f: &Frame<'_>, a: &Value, lane: Lane) -> Markup {
    let due = a["due"]
        .as_str()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| Timestamp(t.timestamp_millis()));
    html! {
        dl.facts {
            dt { (f.t(L::Lane)) }
            dd { (lane.as_str()) }
            @if let Some(due) = due {
                dt { (f.t(L::Due)) }
                dd { (f.countdown(due)) " (" (f.when(due)) ")" }
            }
            @if let Some(t) = a["template"].as_str() {
                dt { (f.t(L::Template)) }
                dd { code { (t) } }
            }
            @if !a["session"].is_null() {
                dt { (f.t(L::SessionMoved)) }
                dd {
                    (s(&a["session"]["id"]))
                    @if a["session"]["starts_at"].is_string() {
                        " · " (when(f, &a["session"]["starts_at"]))
                    }
                    @if let Some(c) = a["session"]["coach"].as_str() { " · " (c) }
                }
            }
            @if !a["slot"].is_null() {
                dt { (f.t(L::SlotTaken)) }
                dd { (when(f, &a["slot"]["starts_at"])) " · " (s(&a["slot"]["coach"])) }
            }
            @if let Some(r) = a["reason"].as_str() {
                dt { (f.t(L::Reason)) }
                dd { (r) }
            }
        }
    }
}

/// The decision buttons (escalate only on the operator lane) and the edit
/// form, prefilled with the drafted reply.
fn decision_forms(f: &Frame<'_>, id: &str, a: &Value, lane: Lane, escalation: bool) -> Markup {
    html! {
        form method="post" action={ "/console/cases/" (id) "/decision" } {
            (f.csrf())
            div.actions {
                button type="submit" name="decision" value="approve" { (f.t(L::Approve)) }
                button.secondary type="submit" name="decision" value="deny" { (f.t(L::Deny)) }
                @if lane == Lane::Operator {
                    button.secondary type="submit" name="decision" value="escalate" { (f.t(L::Escalate)) }
                }
            }
        }
        form method="post" action={ "/console/cases/" (id) "/decision" } {
            (f.csrf())
            input type="hidden" name="decision" value="edit";
            label for="edit-text" { (f.t(L::EditText)) }
            textarea #edit-text name="text" required maxlength="4096" {
                @if !escalation { (a["text"].as_str().unwrap_or("")) }
            }
            div.actions { button.secondary type="submit" { (f.t(L::Edit)) } }
        }
    }
}

/// One entry of the timeline.
struct Entry {
    at: String,
    class: &'static str,
    markup: Markup,
}

/// Messages, transitions, tool calls, decisions and events in time order.
fn timeline(f: &Frame<'_>, v: &Value) -> Markup {
    let list = |k: &str| v[k].as_array().cloned().unwrap_or_default();
    let mut entries: Vec<Entry> = list("messages")
        .iter()
        .map(|m| message_entry(f, m))
        .chain(list("transitions").iter().map(|t| transition_entry(f, t)))
        .chain(list("tool_calls").iter().map(|c| tool_entry(f, c)))
        .chain(list("approvals").iter().map(|a| decision_entry(f, a)))
        .chain(list("events").iter().map(|e| event_entry(f, e)))
        .collect();
    entries.sort_by(|a, b| a.at.cmp(&b.at));
    html! {
        ol.timeline {
            @for e in &entries {
                li class=(e.class) { (e.markup) }
            }
        }
    }
}

fn message_entry(f: &Frame<'_>, m: &Value) -> Entry {
    let out = s(&m["direction"]) == "out";
    let markup = html! {
        p.meta {
            strong { (f.t(if out { L::MessageOut } else { L::MessageIn })) }
            " · " (when(f, &m["at"]))
            @if let Some(t) = m["template"].as_str() { " · " code { (t) } }
            @if out {
                " · " (f.t(L::DeliveryStatus)) ": "
                span class={ "badge " (s(&m["status"])) } { (s(&m["status"])) }
                @if let Some(e) = m["error"].as_str() { " " (e) }
            }
        }
        p.quote.untrusted[!out] { (s(&m["text"])) }
    };
    Entry {
        at: s(&m["at"]).to_string(),
        class: if out { "out" } else { "in" },
        markup,
    }
}

fn transition_entry(f: &Frame<'_>, t: &Value) -> Entry {
    Entry {
        at: s(&t["at"]).to_string(),
        class: "transition",
        markup: html! {
            p.meta { strong { (f.t(L::Transition)) } " · " (when(f, &t["at"])) }
            p { code { (s(&t["from"])) } " → " code { (s(&t["to"])) } ": " (s(&t["reason"])) }
        },
    }
}

fn tool_entry(f: &Frame<'_>, c: &Value) -> Entry {
    Entry {
        at: s(&c["started_at"]).to_string(),
        class: "tool",
        markup: html! {
            p.meta { strong { (f.t(L::ToolCall)) } " · " (when(f, &c["started_at"])) }
            p {
                code { (s(&c["tool"])) } " · "
                span class={ "badge " (s(&c["status"])) } { (s(&c["status"])) }
                " · " (c["attempts"].as_u64().unwrap_or(0)) " " (f.t(L::Attempts))
                @if let Some(e) = c["last_error"].as_str() { " · " (e) }
            }
        },
    }
}

fn decision_entry(f: &Frame<'_>, a: &Value) -> Entry {
    Entry {
        at: s(&a["at"]).to_string(),
        class: "decision",
        markup: html! {
            p.meta { strong { (f.t(L::Decision)) } " · " (when(f, &a["at"])) }
            p {
                strong { (s(&a["decision"])) } " · " (f.t(L::By)) " " (s(&a["by"]))
                " · " (s(&a["lane"]))
            }
            @if let Some(t) = a["text"].as_str() { p.quote { (t) } }
        },
    }
}

fn event_entry(f: &Frame<'_>, e: &Value) -> Entry {
    Entry {
        at: s(&e["at"]).to_string(),
        class: "event",
        markup: html! {
            p.meta { strong { (f.t(L::Event)) } " · " (when(f, &e["at"])) " · " (s(&e["kind"])) }
            p.quote.untrusted { (s(&e["text"])) }
        },
    }
}

/// `POST /console/cases/{id}/decision`: `decision` (approve, edit, deny,
/// escalate) and, for edit, `text`; recorded under the signed-in user.
pub async fn decide(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    FormBody(form): FormBody,
) -> Response {
    let v = match state.post_guard(&headers, &form) {
        Ok(v) => v,
        Err(why) => return refused(&state, &headers, why),
    };
    let Some(case_id) = parse_id(&id) else {
        return render(&state, &v, &id, StatusCode::NOT_FOUND, None).await;
    };
    let decision = form.get("decision").map(String::as_str).unwrap_or("");
    let mut body = serde_json::json!({ "decision": decision });
    if decision == "edit" {
        body["text"] = Value::from(form.get("text").cloned().unwrap_or_default());
    }
    let d = match crate::http::admin::parse_decision(body.to_string().as_bytes()) {
        Ok(d) => d,
        Err(e) => {
            let n = Some((false, e.message().to_string()));
            return render(&state, &v, &id, StatusCode::BAD_REQUEST, n).await;
        }
    };
    let p = &v.session.principal;
    let lanes = state.app.access.lanes(p);
    let outcome = state
        .app
        .engine
        .decide(case_id, d.kind, p.actor(), lanes, d.text, None)
        .await;
    let (status, text) = match outcome {
        Ok(Ok(_)) => return see_other(&format!("/console/cases/{case_id}?done=decided")),
        Ok(Err(Refusal::NoCase(_))) => (
            StatusCode::NOT_FOUND,
            L::NotFound.text(v.session.lang).to_string(),
        ),
        Ok(Err(r @ Refusal::NotYourLane(_))) => (StatusCode::FORBIDDEN, r.to_string()),
        Ok(Err(r)) => (StatusCode::CONFLICT, r.to_string()),
        Err(e) => return failed(&v, ApiError::internal(e)),
    };
    render(&state, &v, &id, status, Some((false, text))).await
}

/// `POST /console/cases/{id}/retry`: re-runs the case from its stored
/// state, audited under the signed-in user; back to `back` or the case.
pub async fn retry(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    FormBody(form): FormBody,
) -> Response {
    let v = match state.post_guard(&headers, &form) {
        Ok(v) => v,
        Err(why) => return refused(&state, &headers, why),
    };
    let lang = v.session.lang;
    if !v.session.principal.role.allows(Role::Operator) {
        return render(
            &state,
            &v,
            &id,
            StatusCode::FORBIDDEN,
            Some((false, L::ReadOnly.text(lang).to_string())),
        )
        .await;
    }
    let Some(case_id) = parse_id(&id) else {
        return render(&state, &v, &id, StatusCode::NOT_FOUND, None).await;
    };
    match state
        .app
        .engine
        .retry(case_id, v.session.principal.actor())
        .await
    {
        Ok(_) => match form.get("back").map(String::as_str) {
            Some(back) if back == "/console/stuck" => see_other(back),
            _ => see_other(&format!("/console/cases/{case_id}?done=retried")),
        },
        Err(EngineError::NoCase(_)) => render(&state, &v, &id, StatusCode::NOT_FOUND, None).await,
        Err(e @ EngineError::Closed(_)) => {
            render(
                &state,
                &v,
                &id,
                StatusCode::CONFLICT,
                Some((false, e.to_string())),
            )
            .await
        }
        Err(e) => failed(&v, ApiError::internal(e)),
    }
}
