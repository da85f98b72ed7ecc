//! Lists of cases: my lane (by SLA due, with live countdowns), stuck cases
//! with their reasons and a retry each, and a customer's cases found by
//! number.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use maud::{Markup, html};

use super::labels::L;
use super::pages::{self, Frame, Here};
use super::{ConsoleState, Visitor, html, to_sign_in};
use crate::core::case::{CaseRecord, Lane};
use crate::core::pending::{ActionKind, PendingAction};
use crate::http::auth::Role;
use crate::http::listing::{self, Filter};
use crate::http::{ApiError, views};

/// Most cases a list page shows; the heading says how many there are.
const SHOWN: usize = 200;

/// A case on a lane, with what it waits for.
struct LaneRow {
    case: CaseRecord,
    action: PendingAction,
}

/// The frame of a page for `v`.
pub fn frame<'a>(state: &ConsoleState, v: &'a Visitor, here: Here, back_to: String) -> Frame<'a> {
    Frame {
        session: &v.session,
        here,
        back_to,
        tz: state.app.engine.policy().timezone,
        now: state.app.engine.now(),
    }
}

fn lane_name(lane: Lane) -> L {
    match lane {
        Lane::Operator => L::OperatorLane,
        Lane::Coach => L::CoachLane,
    }
}

pub fn kind_label(kind: ActionKind) -> L {
    match kind {
        ActionKind::Reply => L::KindReply,
        ActionKind::Booking => L::KindBooking,
        ActionKind::Escalation => L::KindEscalation,
    }
}

/// The lane a person works by default: a coach the coach lane, everyone
/// else the operator lane.
fn default_lane(state: &ConsoleState, v: &Visitor) -> Lane {
    let p = &v.session.principal;
    if p.role == Role::Coach && state.app.access.lanes(p).contains(&Lane::Coach) {
        Lane::Coach
    } else {
        Lane::Operator
    }
}

/// `GET /console/lane?lane=operator|coach`: the cases waiting on a lane,
/// soonest SLA due first.
pub async fn lane(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Some(v) = state.visitor(&headers) else {
        return to_sign_in();
    };
    let lane = match q.get("lane").map(String::as_str) {
        Some("operator") => Lane::Operator,
        Some("coach") => Lane::Coach,
        _ => default_lane(&state, &v),
    };
    let engine = state.app.engine.clone();
    let read = tokio::task::spawn_blocking(move || lane_rows(&engine, lane)).await;
    let rows = match read {
        Ok(Ok(rows)) => rows,
        Ok(Err(e)) => return super::case::failed(&v, e),
        Err(e) => return super::case::failed(&v, ApiError::internal(e)),
    };
    let f = frame(
        &state,
        &v,
        Here::Lane,
        format!("/console/lane?lane={}", lane.as_str()),
    );
    let decides = state.app.access.lanes(&v.session.principal).contains(&lane);
    let body = lane_body(&f, lane, decides, &rows);
    let title = f.t(lane_name(lane));
    html(pages::page(&f, title, body))
}

/// The cases waiting on `lane` with what each is asked, soonest SLA due
/// first. Blocking: one pass over the store.
fn lane_rows(engine: &crate::engine::Engine, lane: Lane) -> Result<Vec<LaneRow>, ApiError> {
    let filter = Filter {
        waiting_on: Some(lane.as_str().to_string()),
        ..Filter::default()
    };
    let mut rows = Vec::new();
    let mut failed = None;
    listing::each_match(engine, &filter, |l| {
        let Some(wf) = engine.workflows().get(&l.case.workflow) else {
            return;
        };
        match views::pending_of(engine, &l.case, &wf) {
            Ok(Some(action)) => rows.push(LaneRow {
                case: l.case,
                action,
            }),
            Ok(None) => {}
            Err(e) => failed = Some(e),
        }
    })
    .map_err(ApiError::internal)?;
    if let Some(e) = failed {
        return Err(ApiError::internal(e));
    }
    rows.sort_by_key(|r| (r.action.due, r.case.id));
    Ok(rows)
}

/// The lane page: the lanes to switch to, whether the visitor decides
/// here, and the waiting cases.
fn lane_body(f: &Frame<'_>, lane: Lane, decides: bool, rows: &[LaneRow]) -> Markup {
    html! {
        nav aria-label=(f.t(L::Lane)) {
            ul.plain.row {
                @for l in [Lane::Operator, Lane::Coach] {
                    li {
                        a href={ "/console/lane?lane=" (l.as_str()) }
                            aria-current=[(l == lane).then_some("page")] { (f.t(lane_name(l))) }
                    }
                }
            }
        }
        @if !decides {
            p.notice { (f.t(L::NotYourLane)) }
        }
        p.meta { strong { (rows.len()) } " · " (f.t(L::OrderedBySla)) }
        @if rows.is_empty() {
            p.card { (f.t(L::NothingWaiting)) }
        } @else {
            ol.cases #lane {
                @for r in rows.iter().take(SHOWN) {
                    li { (lane_row(f, r)) }
                }
            }
        }
    }
}

fn snippet(text: &str) -> String {
    let mut s: String = text.chars().take(140).collect();
    if text.chars().count() > 140 {
        s.push('…');
    }
    s
}

fn lane_row(f: &Frame<'_>, r: &LaneRow) -> Markup {
    let c = &r.case;
    let a = &r.action;
    html! {
        article.card {
            div.row {
                (f.countdown(a.due))
                @if let Some(t) = c.tier {
                    span class={ "badge " (t.as_str().to_lowercase()) } { (t.as_str()) }
                }
                span.badge { (f.t(kind_label(a.kind))) }
            }
            p {
                a href={ "/console/cases/" (c.id) } {
                    (f.t(L::Open)) " · " (c.customer.masked())
                }
            }
            @if let Some(t) = &a.template {
                p.meta { (f.t(L::Template)) ": " code { (t) } }
            }
            @if let (Some(s), Some(slot)) = (&a.session, &a.slot) {
                p {
                    (f.t(L::SessionMoved)) ": " (s.id)
                    @if let Some(at) = s.starts_at { " (" (f.when(at)) ")" }
                    " → " (f.t(L::SlotTaken)) ": " (f.when(slot.starts_at)) " · " (slot.coach)
                }
            }
            @if let Some(text) = &a.text {
                p.quote.untrusted[a.kind == ActionKind::Escalation] { (snippet(text)) }
            }
            @if let Some(reason) = &a.reason {
                p.meta { (f.t(L::Reason)) ": " (reason) }
            }
        }
    }
}

/// `GET /console/stuck`: stuck cases, longest unmoved first, each with its
/// reason and a retry for those who may retry.
pub async fn stuck(State(state): State<ConsoleState>, headers: HeaderMap) -> Response {
    let Some(v) = state.visitor(&headers) else {
        return to_sign_in();
    };
    let engine = state.app.engine.clone();
    let read = tokio::task::spawn_blocking(move || {
        let filter = Filter {
            stuck: Some(true),
            ..Filter::default()
        };
        let mut rows = Vec::new();
        listing::each_match(&engine, &filter, |l| rows.push(l))?;
        rows.sort_by_key(|l| (l.case.updated_at, l.case.id));
        Ok::<_, crate::store::StoreError>(rows)
    })
    .await;
    let rows = match read {
        Ok(Ok(rows)) => rows,
        Ok(Err(e)) => return super::case::failed(&v, ApiError::internal(e)),
        Err(e) => return super::case::failed(&v, ApiError::internal(e)),
    };
    let f = frame(&state, &v, Here::Stuck, "/console/stuck".into());
    let may_retry = f.may(Role::Operator);
    let body = html! {
        p.meta { (rows.len()) " · " a href="/console/retry?stuck=true" { (f.t(L::BulkRetry)) } }
        @if rows.is_empty() {
            p.card { (f.t(L::NoStuck)) }
        } @else {
            ol.cases #stuck {
                @for l in rows.iter().take(SHOWN) {
                    li {
                        article.card {
                            div.row {
                                a href={ "/console/cases/" (l.case.id) } { (f.t(L::Open)) " · " (l.case.customer.masked()) }
                                span.badge { (l.case.state.as_str()) }
                                span.badge { (l.case.waiting_on.label()) }
                            }
                            p { strong { (f.t(L::StuckReason)) ": " } (l.stuck.as_deref().unwrap_or("")) }
                            p.meta { (f.t(L::UpdatedAt)) " " (f.when(l.case.updated_at)) }
                            @if may_retry {
                                form method="post" action={ "/console/cases/" (l.case.id) "/retry" } {
                                    (f.csrf())
                                    input type="hidden" name="back" value="/console/stuck";
                                    button type="submit" aria-label={ (f.t(L::Retry)) " " (l.case.customer.masked()) } { (f.t(L::Retry)) }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    let title = f.t(L::Stuck);
    html(pages::page(&f, title, body))
}

/// `GET /console/search?customer=...&cursor=...`: a customer's cases,
/// newest first, found by number in any format.
pub async fn search(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Some(v) = state.visitor(&headers) else {
        return to_sign_in();
    };
    let asked = q
        .get("customer")
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    let mut query_pairs = HashMap::new();
    query_pairs.insert("customer".to_string(), asked.clone());
    query_pairs.insert("limit".to_string(), "50".to_string());
    if let Some(c) = q.get("cursor") {
        query_pairs.insert("cursor".to_string(), c.clone());
    }
    let f = frame(&state, &v, Here::Search, "/console/search".into());
    let title = f.t(L::Search);
    if asked.is_empty() {
        let body = html! { p.meta { (f.t(L::SearchHint)) } };
        return html(pages::page(&f, title, body));
    }
    let query = match listing::parse_query(&query_pairs) {
        Ok(q) => q,
        Err(e) => {
            let body = html! {
                (pages::notice(false, e.message()))
                p.meta { (f.t(L::SearchHint)) }
            };
            return html(pages::page(&f, title, body));
        }
    };
    let engine = state.app.engine.clone();
    let page = match tokio::task::spawn_blocking(move || listing::page(&engine, &query)).await {
        Ok(Ok(p)) => p,
        Ok(Err(e)) => return super::case::failed(&v, ApiError::internal(e)),
        Err(e) => return super::case::failed(&v, ApiError::internal(e)),
    };
    let body = html! {
        p.meta { (f.t(L::CasesOf)) " " strong { (asked) } }
        @if page.cases.is_empty() {
            p.card { (f.t(L::NoCases)) }
        } @else {
            ol.cases #results {
                @for l in &page.cases {
                    li { (summary_card(&f, &l.case, l.stuck.as_deref())) }
                }
            }
        }
        @if let Some(next) = &page.next_cursor {
            p.pager {
                a href={ "/console/search?customer=" (urlencode(&asked)) "&cursor=" (next) } { (f.t(L::More)) }
            }
        }
    };
    html(pages::page(&f, title, body))
}

/// A case in a list: state, tier, wait, times and stuck reason.
pub fn summary_card(f: &Frame<'_>, c: &CaseRecord, stuck: Option<&str>) -> Markup {
    html! {
        article.card {
            div.row {
                a href={ "/console/cases/" (c.id) } { (f.t(L::Case)) " " (short_id(c)) }
                span.badge { (c.state.as_str()) }
                @if let Some(t) = c.tier {
                    span class={ "badge " (t.as_str().to_lowercase()) } { (t.as_str()) }
                }
                span.badge { (c.waiting_on.label()) }
            }
            p.meta {
                (f.t(L::OpenedAt)) " " (f.when(c.opened_at)) " · "
                (f.t(L::UpdatedAt)) " " (f.when(c.updated_at))
            }
            @if let Some(s) = stuck {
                p { strong { (f.t(L::StuckReason)) ": " } (s) }
            }
        }
    }
}

/// The last 8 characters of a case id: enough to tell cases apart on a
/// page, the whole id is in the link.
pub fn short_id(c: &CaseRecord) -> String {
    let s = c.id.to_string();
    s[s.len().saturating_sub(8)..].to_string()
}

/// Percent-encodes a query value.
pub fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(urlencode("+62 812-3456"), "%2B62%20812-3456");
        assert_eq!(urlencode("a&b=c"), "a%26b%3Dc");
    }
}
