//! The desk's health and bulk actions: degraded mode with its switch (an
//! admin's), each tool's breaker, and bulk retry with its dry-run count.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use maud::{Markup, html};

use super::FormBody;
use super::labels::L;
use super::lists::frame;
use super::pages::{self, Frame, Here};
use super::{ConsoleState, html, html_status, refused, see_other, to_sign_in};
use crate::core::records::BreakerState;
use crate::core::types::State as CaseState;
use crate::http::auth::Role;
use crate::http::bulk_retry;

/// `GET /console/desk`: degraded mode (with its switch for an admin) and
/// the tools' breakers (`?done=degraded` after a switch).
pub async fn show(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Some(v) = state.visitor(&headers) else {
        return to_sign_in();
    };
    let f = frame(&state, &v, Here::Desk, "/console/desk".into());
    let notice = match (q.get("error"), q.get("done").map(String::as_str)) {
        (Some(e), _) => Some(pages::notice(false, e)),
        (None, Some("degraded")) => Some(pages::notice(
            true,
            L::DegradedSwitched.text(v.session.lang),
        )),
        _ => None,
    };
    html(desk_page(&state, &f, notice))
}

fn desk_page(state: &ConsoleState, f: &Frame<'_>, notice: Option<Markup>) -> Markup {
    let degraded = state.app.engine.degraded();
    let tools = state.app.engine.tools();
    let body = html! {
        @if let Some(n) = notice { (n) }
        (degraded_card(f, &degraded))
        (breakers_card(f, &tools))
    };
    pages::page(f, f.t(L::Desk), body)
}

/// Degraded mode: the switch in force, the switch form (admin), the last
/// switches.
fn degraded_card(f: &Frame<'_>, degraded: &crate::store::degraded::DegradedRecord) -> Markup {
    let on = degraded.current.is_some();
    html! {
        section.card aria-labelledby="degraded-h" {
            h2 #degraded-h { (f.t(L::DegradedMode)) ": "
                span class={ "badge " (if on { "open" } else { "closed" }) } {
                    (f.t(if on { L::DegradedOn } else { L::DegradedOff }))
                }
            }
            @if let Some(c) = &degraded.current {
                dl.facts {
                    dt { (f.t(L::Reason)) } dd { (c.reason) }
                    dt { (f.t(L::Tool)) } dd { (c.tool) }
                    @if let Some(until) = c.until { dt { (f.t(L::Until)) } dd { (f.when(until)) } }
                    dt { (f.t(L::By)) } dd { (c.by) }
                    dt { (f.t(L::Since)) } dd { (f.when(c.at)) }
                }
            }
            @if f.may(Role::Admin) {
                form method="post" action="/console/degraded" {
                    (f.csrf())
                    input type="hidden" name="on" value=(if on { "false" } else { "true" });
                    label for="degraded-reason" { (f.t(L::Reason)) }
                    input #degraded-reason type="text" name="reason" required maxlength="512";
                    div.actions {
                        button.danger[!on] type="submit" {
                            (f.t(if on { L::SwitchOff } else { L::SwitchOn }))
                        }
                    }
                }
            } @else {
                p.meta { (f.t(L::AdminOnly)) }
            }
            @if !degraded.history.is_empty() {
                h3 { (f.t(L::History)) }
                ul.plain {
                    @for s in degraded.history.iter().rev().take(10) {
                        li.meta {
                            (f.when(s.at)) " · "
                            (f.t(if s.on { L::DegradedOn } else { L::DegradedOff }))
                            " · " (s.by) " · " (s.reason)
                        }
                    }
                }
            }
        }
    }
}

/// Each tool's breaker, with a way to the stuck cases when one is not
/// closed.
fn breakers_card(f: &Frame<'_>, tools: &[crate::core::records::BreakerRecord]) -> Markup {
    html! {
        section.card aria-labelledby="breakers-h" {
            h2 #breakers-h { (f.t(L::Breakers)) }
            table.breakers {
                thead {
                    tr {
                        th scope="col" { (f.t(L::Tool)) }
                        th scope="col" { (f.t(L::Kind)) }
                        th scope="col" { (f.t(L::Breaker)) }
                        th scope="col" { (f.t(L::Failures)) }
                        th scope="col" { (f.t(L::LastError)) }
                        th scope="col" { (f.t(L::Since)) }
                    }
                }
                tbody {
                    @for t in tools {
                        tr {
                            td data-label=(f.t(L::Tool)) { code { (t.tool) } }
                            td data-label=(f.t(L::Kind)) {
                                (crate::core::desk::tool_kind(&t.tool).map_or("source", |k| k.as_str()))
                            }
                            td data-label=(f.t(L::Breaker)) {
                                span class={ "badge " (t.state.as_str()) } { (t.state.as_str()) }
                            }
                            td data-label=(f.t(L::Failures)) { (t.failures) }
                            td data-label=(f.t(L::LastError)) { (t.last_error.as_deref().unwrap_or("–")) }
                            td data-label=(f.t(L::Since)) { (f.when(t.changed_at)) }
                        }
                    }
                }
            }
            @if tools.iter().any(|t| t.state != BreakerState::Closed) {
                p.meta { a href="/console/stuck" { (f.t(L::Stuck)) } }
            }
        }
    }
}

/// `POST /console/degraded`: `on` (true/false) and `reason`; admin only.
pub async fn set_degraded(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
    FormBody(form): FormBody,
) -> Response {
    let v = match state.post_guard(&headers, &form) {
        Ok(v) => v,
        Err(why) => return refused(&state, &headers, why),
    };
    let f = frame(&state, &v, Here::Desk, "/console/desk".into());
    let lang = v.session.lang;
    if !f.may(Role::Admin) {
        let n = pages::notice(false, L::AdminOnly.text(lang));
        return html_status(StatusCode::FORBIDDEN, desk_page(&state, &f, Some(n)));
    }
    let on = form.get("on").map(String::as_str) == Some("true");
    let reason = form.get("reason").map(|r| r.trim()).unwrap_or("");
    if reason.is_empty() || reason.chars().count() > 512 {
        let n = pages::notice(false, L::ReasonRequired.text(lang));
        return html_status(StatusCode::BAD_REQUEST, desk_page(&state, &f, Some(n)));
    }
    let actor = v.session.principal.actor();
    match state
        .app
        .engine
        .set_degraded(on, reason.to_string(), actor)
        .await
    {
        Ok(_) => see_other("/console/desk?done=degraded"),
        Err(e) => super::case::failed(&v, crate::http::ApiError::internal(e)),
    }
}

const FILTER_KEYS: [&str; 5] = ["state", "tier", "waiting_on", "stuck", "customer"];

/// The bulk-retry form, filled with `q`'s filter and reason.
fn bulk_form_markup(f: &Frame<'_>, q: &HashMap<String, String>) -> Markup {
    let val = |k: &str| q.get(k).map(String::as_str).unwrap_or("");
    let states: Vec<&'static str> = <CaseState as strum::IntoEnumIterator>::iter()
        .map(|s| s.as_str())
        .collect();
    let select = |name: &str, label: L, options: &[&str]| {
        html! {
            label for={ "f-" (name) } { (f.t(label)) }
            select #{ "f-" (name) } name=(name) {
                option value="" selected[val(name).is_empty()] { (f.t(L::Any)) }
                @for o in options {
                    option value=(o) selected[val(name) == *o] { (o) }
                }
            }
        }
    };
    // A fresh form looks at stuck cases; a filled one keeps its choice.
    let stuck_checked =
        val("stuck") == "true" || (!q.contains_key("reason") && val("stuck") != "false");
    html! {
        form.card method="post" action="/console/retry" {
            (f.csrf())
            input type="hidden" name="dry_run" value="true";
            fieldset {
                legend { (f.t(L::Filter)) }
                div.grid {
                    div { (select("state", L::State, &states)) }
                    div { (select("tier", L::Tier, &["R0", "R1", "R2", "R3"])) }
                    div { (select("waiting_on", L::WaitingOn, &["none", "customer", "operator", "coach", "timer"])) }
                    div {
                        label for="f-customer" { (f.t(L::CustomerNumber)) }
                        input #f-customer type="text" name="customer" inputmode="tel" value=(val("customer"));
                    }
                }
                label {
                    input type="checkbox" name="stuck" value="true" checked[stuck_checked];
                    " " (f.t(L::OnlyStuck))
                }
            }
            label for="f-reason" { (f.t(L::Reason)) }
            textarea #f-reason name="reason" required maxlength="512" { (val("reason")) }
            div.actions { button type="submit" { (f.t(L::Count)) } }
        }
    }
}

/// `GET /console/retry`: the bulk-retry form (`?stuck=true` and the other
/// filter keys fill it in).
pub async fn bulk_form(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Some(v) = state.visitor(&headers) else {
        return to_sign_in();
    };
    let f = frame(&state, &v, Here::Retry, "/console/retry".into());
    let body = html! {
        p { (f.t(L::BulkIntro)) }
        @if !f.may(Role::Operator) { p.notice { (f.t(L::ReadOnly)) } }
        (bulk_form_markup(&f, &q))
    };
    html(pages::page(&f, f.t(L::BulkRetry), body))
}

/// `POST /console/retry`: the filter, `reason` and `dry_run`. A dry run
/// shows how many open cases match and a button to retry them; the run
/// retries them and says how many.
pub async fn bulk_retry(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
    FormBody(form): FormBody,
) -> Response {
    let v = match state.post_guard(&headers, &form) {
        Ok(v) => v,
        Err(why) => return refused(&state, &headers, why),
    };
    let f = frame(&state, &v, Here::Retry, "/console/retry".into());
    let title = f.t(L::BulkRetry);
    let again = |status: StatusCode, message: &str| {
        let body = html! {
            (pages::notice(false, message))
            (bulk_form_markup(&f, &form))
        };
        html_status(status, pages::page(&f, title, body))
    };
    if !f.may(Role::Operator) {
        return again(StatusCode::FORBIDDEN, f.t(L::ReadOnly));
    }
    let mut pairs: HashMap<String, String> = FILTER_KEYS
        .iter()
        .filter_map(|k| Some((k.to_string(), form.get(*k)?.clone())))
        .collect();
    // An unticked box sends nothing: every case, stuck or not.
    if !pairs.contains_key("stuck") {
        pairs.insert("stuck".into(), String::new());
    }
    let dry_run = form.get("dry_run").map(String::as_str) != Some("false");
    let reason = form.get("reason").map(String::as_str);
    let req = match bulk_retry::from_pairs(&pairs, reason, dry_run) {
        Ok(r) => r,
        Err(e) if e.message().contains("`reason`") => {
            return again(StatusCode::BAD_REQUEST, f.t(L::ReasonRequired));
        }
        Err(e) => return again(StatusCode::BAD_REQUEST, e.message()),
    };
    let done = match bulk_retry::run(&state.app.engine, v.session.principal.actor(), req).await {
        Ok(o) => o,
        Err(e) => return super::case::failed(&v, e),
    };
    let body = if dry_run {
        html! {
            p.notice.ok role="status" #matched {
                strong { (done.matched) } " " (f.t(L::Matched))
            }
            @if done.matched > 0 {
                form.card method="post" action="/console/retry" {
                    (f.csrf())
                    input type="hidden" name="dry_run" value="false";
                    @for k in FILTER_KEYS {
                        @if let Some(val) = pairs.get(k).filter(|v| !v.is_empty()) {
                            input type="hidden" name=(k) value=(val);
                        }
                    }
                    input type="hidden" name="reason" value=(reason.unwrap_or("").trim());
                    p { (f.t(L::Reason)) ": " (reason.unwrap_or("").trim()) }
                    div.actions {
                        button.danger type="submit" { (f.t(L::RetryMatched)) " (" (done.matched) ")" }
                    }
                }
            }
            (bulk_form_markup(&f, &form))
        }
    } else {
        html! {
            p.notice.ok role="status" #retried {
                strong { (done.retried) } " " (f.t(L::Retried)) " / "
                (done.matched) " " (f.t(L::Matched))
            }
            p { a href="/console/stuck" { (f.t(L::Stuck)) } }
        }
    };
    html(pages::page(&f, title, body))
}
