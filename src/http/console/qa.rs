//! The post-send audit in the console (CONTRACT section 6): draw a sample
//! of sent replies, list the recent samples, and label each reply with a
//! verdict and the six 0–2 scores.
//!
//! Drawing and labelling go through the functions behind
//! `POST /admin/qa/sample` and `POST /admin/qa/labels`
//! (`src/http/report.rs`): the form is turned into the API's JSON body, so
//! the checks, the stored records and the audit entries are the API's. The
//! sample page is drawn from the view `GET /admin/qa/samples/{id}` answers.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use maud::{Markup, html};
use serde_json::{Value, json};

use super::FormBody;
use super::labels::L;
use super::lists::frame;
use super::pages::{self, Frame, Here};
use super::{ConsoleState, Visitor, html_status, refused, see_other, to_sign_in};
use crate::core::types::Timestamp;
use crate::http::auth::Role;
use crate::http::{ApiError, report};
use crate::report::audit::{DIMENSIONS, QaSample, Verdict};
use crate::report::period::local_date;

/// How many recent samples the audit page lists.
const RECENT: usize = 20;

/// The label of a scorecard dimension, in [`DIMENSIONS`] order.
fn dimension_label(d: &str) -> L {
    match d {
        "correctness" => L::Correctness,
        "completeness" => L::Completeness,
        "safety" => L::Safety,
        "tone" => L::Tone,
        "efficiency" => L::Efficiency,
        _ => L::ToolIntegrity,
    }
}

fn verdict_label(v: Verdict) -> L {
    match v {
        Verdict::Correct => L::VerdictCorrect,
        Verdict::Incorrect => L::VerdictIncorrect,
        Verdict::Risky => L::VerdictRisky,
    }
}

/// A day in the business timezone, e.g. "29 Nov 2026".
fn day(t: Timestamp, tz: chrono_tz::Tz) -> String {
    local_date(t, tz).format("%d %b %Y").to_string()
}

/// The period a sample covers: its first day to its last (`to` is the
/// first instant after the period).
fn period(from: Timestamp, to: Timestamp, tz: chrono_tz::Tz) -> String {
    format!("{} – {}", day(from, tz), day(to.plus_millis(-1), tz))
}

fn instant(v: &Value) -> Option<Timestamp> {
    v.as_str()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| Timestamp(t.timestamp_millis()))
}

/// `GET /console/qa`: the draw form and the recent samples.
pub async fn show(State(state): State<ConsoleState>, headers: HeaderMap) -> Response {
    let Some(v) = state.visitor(&headers) else {
        return to_sign_in();
    };
    audit_page(&state, &v, StatusCode::OK, None, &HashMap::new()).await
}

/// The audit page; `form` refills the draw form after a refusal.
async fn audit_page(
    state: &ConsoleState,
    v: &Visitor,
    status: StatusCode,
    notice: Option<String>,
    form: &HashMap<String, String>,
) -> Response {
    let f = frame(state, v, Here::Qa, "/console/qa".into());
    let engine = state.app.engine.clone();
    let recent = tokio::task::spawn_blocking(move || {
        let store = engine.store();
        store
            .recent_qa_samples(RECENT)?
            .into_iter()
            .map(|s| Ok((store.qa_labels_of(s.id)?.len(), s)))
            .collect::<Result<Vec<(usize, QaSample)>, crate::store::StoreError>>()
    })
    .await;
    let recent = match recent {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => return super::case::failed(v, ApiError::internal(e)),
        Err(e) => return super::case::failed(v, ApiError::internal(e)),
    };
    let body = html! {
        @if let Some(n) = &notice { (pages::notice(false, n)) }
        p { (f.t(L::QaIntro)) }
        @if f.may(Role::Operator) {
            (draw_form(&f, form))
        } @else {
            p.notice { (f.t(L::ReadOnly)) }
        }
        section.card aria-labelledby="recent-h" {
            h2 #recent-h { (f.t(L::RecentSamples)) }
            @if recent.is_empty() {
                p { (f.t(L::NoSamples)) }
            } @else {
                table.rows #samples {
                    thead {
                        tr {
                            th scope="col" { (f.t(L::Sample)) }
                            th scope="col" { (f.t(L::Period)) }
                            th scope="col" { (f.t(L::Replies)) }
                            th scope="col" { (f.t(L::Labelled)) }
                            th scope="col" { (f.t(L::By)) }
                            th scope="col" { (f.t(L::Drawn)) }
                        }
                    }
                    tbody {
                        @for (labelled, s) in &recent {
                            tr {
                                td data-label=(f.t(L::Sample)) {
                                    a href={ "/console/qa/samples/" (s.id) } {
                                        (f.t(L::Open)) " " (short(&s.id.to_string()))
                                    }
                                }
                                td data-label=(f.t(L::Period)) { (period(s.from, s.to, f.tz)) }
                                td data-label=(f.t(L::Replies)) { (s.items.len()) " / " (s.eligible) }
                                td data-label=(f.t(L::Labelled)) { (labelled) " / " (s.items.len()) }
                                td data-label=(f.t(L::By)) { (s.by) }
                                td data-label=(f.t(L::Drawn)) { (f.when(s.created_at)) }
                            }
                        }
                    }
                }
            }
        }
    };
    html_status(status, pages::page(&f, f.t(L::QaAudit), body))
}

/// The last 8 characters of an id, as the console names cases.
fn short(id: &str) -> &str {
    &id[id.len().saturating_sub(8)..]
}

/// The draw form: the last seven days and 20 replies unless refilled.
fn draw_form(f: &Frame<'_>, form: &HashMap<String, String>) -> Markup {
    let today = local_date(f.now, f.tz);
    let week_ago = today - chrono::Duration::days(6);
    let val = |k: &str, default: String| form.get(k).cloned().unwrap_or(default);
    html! {
        form.card #draw method="post" action="/console/qa/sample" {
            (f.csrf())
            h2 { (f.t(L::DrawSample)) }
            div.grid {
                div {
                    label for="qa-from" { (f.t(L::PeriodFrom)) }
                    input #qa-from type="date" name="from" required
                        value=(val("from", week_ago.format("%Y-%m-%d").to_string()));
                }
                div {
                    label for="qa-to" { (f.t(L::PeriodTo)) }
                    input #qa-to type="date" name="to" required
                        value=(val("to", today.format("%Y-%m-%d").to_string()));
                }
                div {
                    label for="qa-n" { (f.t(L::SampleSize)) }
                    input #qa-n type="number" name="n" required min="1"
                        max=(report::MAX_SAMPLE) inputmode="numeric"
                        value=(val("n", "20".into()));
                }
                div {
                    label for="qa-seed" { (f.t(L::Seed)) }
                    input #qa-seed type="number" name="seed" min="0" inputmode="numeric"
                        value=(val("seed", String::new()));
                }
            }
            div.actions { button type="submit" { (f.t(L::DrawSample)) } }
        }
    }
}

/// A number field of a form as the API's JSON: a number when it reads as
/// one, else the text as typed (the API names what is wrong with it).
fn number(form: &HashMap<String, String>, key: &str) -> Value {
    match form.get(key).map(|s| s.trim()) {
        None | Some("") => Value::Null,
        Some(s) => s.parse::<u64>().map_or_else(|_| json!(s), |n| json!(n)),
    }
}

/// Whether the visitor may draw and label: operator and up, as the API's
/// route group for `POST /admin/qa/sample` and `/admin/qa/labels`.
fn may_label(v: &Visitor) -> bool {
    v.session.principal.role.allows(Role::Operator)
}

/// `POST /console/qa/sample`: `from`, `to` (dates), `n` and an optional
/// `seed`; drawn and audited as `POST /admin/qa/sample` under the signed-in
/// user, then the sample's page.
pub async fn draw(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
    FormBody(form): FormBody,
) -> Response {
    let v = match state.post_guard(&headers, &form) {
        Ok(v) => v,
        Err(why) => return refused(&state, &headers, why),
    };
    let lang = v.session.lang;
    if !may_label(&v) {
        let n = Some(L::ReadOnly.text(lang).to_string());
        return audit_page(&state, &v, StatusCode::FORBIDDEN, n, &form).await;
    }
    let p = &v.session.principal;
    let body = json!({
        "from": form.get("from").map(|s| s.trim()).unwrap_or(""),
        "to": form.get("to").map(|s| s.trim()).unwrap_or(""),
        "n": number(&form, "n"),
        "seed": number(&form, "seed"),
        "by": p.name,
    });
    match report::draw_sample(&state.app, p, body.to_string().as_bytes()).await {
        Ok(sample) => match sample["id"].as_str() {
            Some(id) => see_other(&format!("/console/qa/samples/{id}")),
            None => super::case::failed(&v, ApiError::internal("the drawn sample has no id")),
        },
        Err(e) => {
            let n = Some(e.message().to_string());
            audit_page(&state, &v, e.status_code(), n, &form).await
        }
    }
}

/// `GET /console/qa/samples/{id}` (`?done=labelled` after a label).
pub async fn sample(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Some(v) = state.visitor(&headers) else {
        return to_sign_in();
    };
    let notice = (q.get("done").map(String::as_str) == Some("labelled"))
        .then(|| (true, L::LabelSaved.text(v.session.lang).to_string()));
    sample_page(&state, &v, &id, StatusCode::OK, notice, None).await
}

/// A refused label keeps what the reviewer entered on its item's form.
struct Refill<'a> {
    item: u64,
    form: &'a HashMap<String, String>,
}

async fn sample_page(
    state: &ConsoleState,
    v: &Visitor,
    id: &str,
    status: StatusCode,
    notice: Option<(bool, String)>,
    refill: Option<Refill<'_>>,
) -> Response {
    let lang = v.session.lang;
    let not_found = || {
        html_status(
            StatusCode::NOT_FOUND,
            pages::message(lang, L::NotFound.text(lang), L::NotFound.text(lang)),
        )
    };
    let Ok(sample_id) = uuid::Uuid::parse_str(id) else {
        return not_found();
    };
    let app = state.app.clone();
    let view = tokio::task::spawn_blocking(move || match app.engine.store().qa_sample(sample_id) {
        Ok(Some(s)) => report::sample_view(&app, &s).map(Some),
        Ok(None) => Ok(None),
        Err(e) => Err(ApiError::internal(e)),
    })
    .await;
    let view = match view {
        Ok(Ok(Some(view))) => view,
        Ok(Ok(None)) => return not_found(),
        Ok(Err(e)) => return super::case::failed(v, e),
        Err(e) => return super::case::failed(v, ApiError::internal(e)),
    };
    let f = frame(
        state,
        v,
        Here::Qa,
        format!("/console/qa/samples/{sample_id}"),
    );
    let items = view["items"].as_array().cloned().unwrap_or_default();
    let labelled = items.iter().filter(|i| !i["label"].is_null()).count();
    let title = format!("{} {}", f.t(L::Sample), short(id));
    let body = html! {
        @if let Some((ok, text)) = &notice { (pages::notice(*ok, text)) }
        section.card aria-labelledby="sample-h" {
            h2 #sample-h .sr-only { (f.t(L::Sample)) }
            dl.facts {
                dt { (f.t(L::Period)) }
                dd {
                    @if let (Some(from), Some(to)) = (instant(&view["from"]), instant(&view["to"])) {
                        (period(from, to, f.tz))
                    }
                }
                dt { (f.t(L::Replies)) }
                dd { (items.len()) " / " (view["eligible"].as_u64().unwrap_or(0)) " " (f.t(L::Eligible).to_lowercase()) }
                dt { (f.t(L::Labelled)) }
                dd #labelled-count { (labelled) " / " (items.len()) }
                dt { (f.t(L::SeedShort)) }
                dd { code { (view["seed"].as_u64().unwrap_or(0)) } }
                dt { (f.t(L::By)) }
                dd { (view["by"].as_str().unwrap_or("")) }
                dt { (f.t(L::Drawn)) }
                dd { @if let Some(t) = instant(&view["created_at"]) { (f.when(t)) } }
            }
            p.meta { a href="/console/qa" { (f.t(L::Back)) } }
        }
        @if items.is_empty() {
            p.notice { (f.t(L::EmptySample)) }
        }
        @for item in &items {
            (item_card(&f, &view, item, refill.as_ref()))
        }
    };
    html_status(status, pages::page(&f, &title, body))
}

/// One sampled reply: where it comes from, what was sent, its label and
/// the form to (re)label it.
fn item_card(f: &Frame<'_>, sample: &Value, item: &Value, refill: Option<&Refill<'_>>) -> Markup {
    let i = item["item"].as_u64().unwrap_or(0);
    let case = item["case_id"].as_str().unwrap_or("");
    let label = &item["label"];
    let refill = refill.filter(|r| r.item == i).map(|r| r.form);
    // What the form shows: what was just entered, else the stored label.
    let chosen = |key: &str| -> String {
        match refill {
            Some(form) => form.get(key).cloned().unwrap_or_default(),
            None if key == "verdict" => label["verdict"].as_str().unwrap_or("").to_string(),
            None if key == "note" => label["note"].as_str().unwrap_or("").to_string(),
            None => label["scores"][key]
                .as_u64()
                .map(|s| s.to_string())
                .unwrap_or_default(),
        }
    };
    let sample_id = sample["id"].as_str().unwrap_or("");
    html! {
        section.card.qa-item #{ "item-" (i) } aria-labelledby={ "item-" (i) "-h" } {
            h2 #{ "item-" (i) "-h" } { (f.t(L::Reply)) " " (i + 1) }
            dl.facts {
                dt { (f.t(L::Case)) }
                dd { a href={ "/console/cases/" (case) } { (f.t(L::Case)) " " (short(case)) } }
                dt { (f.t(L::Tier)) }
                dd { (item["tier"].as_str().unwrap_or("–")) }
                dt { (f.t(L::Template)) }
                dd { @if let Some(t) = item["template"].as_str() { code { (t) } } @else { "–" } }
                dt { (f.t(L::SentAt)) }
                dd { @if let Some(t) = instant(&item["sent_at"]) { (f.when(t)) } }
            }
            h3 { (f.t(L::ReplyText)) }
            @if let Some(text) = item["text"].as_str() {
                p.quote { (text) }
            } @else {
                p.meta { (f.t(L::TextErased)) }
            }
            @if label.is_null() {
                p.meta.label-state { (f.t(L::NotLabelled)) }
            } @else {
                (label_summary(f, label))
            }
            @if f.may(Role::Operator) {
                form.qa-label method="post" action={ "/console/qa/samples/" (sample_id) "/label" } {
                    (f.csrf())
                    input type="hidden" name="item" value=(i);
                    fieldset.choices {
                        legend { (f.t(L::Verdict)) }
                        @for verdict in Verdict::ALL {
                            label for={ "v-" (i) "-" (verdict.as_str()) } {
                                input #{ "v-" (i) "-" (verdict.as_str()) } type="radio" name="verdict"
                                    value=(verdict.as_str()) required
                                    checked[chosen("verdict") == verdict.as_str()];
                                " " (f.t(verdict_label(verdict)))
                            }
                        }
                    }
                    fieldset {
                        legend { (f.t(L::Scores)) }
                        div.scores {
                            @for d in DIMENSIONS {
                                div {
                                    label for={ "s-" (i) "-" (d) } { (f.t(dimension_label(d))) }
                                    select #{ "s-" (i) "-" (d) } name=(d) required {
                                        option value="" selected[chosen(d).is_empty()] { "– " (f.t(L::Choose)) " –" }
                                        @for (score, words) in [("0", L::Score0), ("1", L::Score1), ("2", L::Score2)] {
                                            option value=(score) selected[chosen(d) == score] { (f.t(words)) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    label for={ "note-" (i) } { (f.t(L::Note)) }
                    textarea #{ "note-" (i) } name="note" maxlength="2000" { (chosen("note")) }
                    div.actions {
                        button type="submit" {
                            (f.t(if label.is_null() { L::SaveLabel } else { L::Relabel }))
                        }
                    }
                }
            }
        }
    }
}

/// A stored label: verdict, scores, note, by whom and when.
fn label_summary(f: &Frame<'_>, label: &Value) -> Markup {
    let verdict = label["verdict"].as_str().and_then(Verdict::parse);
    html! {
        div.label-state {
            p {
                strong { (f.t(L::Verdict)) ": " }
                @if let Some(v) = verdict {
                    span class={ "badge verdict-" (v.as_str()) } { (f.t(verdict_label(v))) }
                }
                " · " (f.t(L::LabelledBy)) " " strong { (label["reviewer"].as_str().unwrap_or("")) }
                @if let Some(t) = instant(&label["at"]) { " · " (f.when(t)) }
            }
            ul.plain.score-list {
                @for d in DIMENSIONS {
                    li { (f.t(dimension_label(d))) ": " strong { (label["scores"][d].as_u64().unwrap_or(0)) } }
                }
            }
            @if let Some(n) = label["note"].as_str() { p.quote { (n) } }
        }
    }
}

/// `POST /console/qa/samples/{id}/label`: `item`, `verdict`, the six
/// scores by dimension name and an optional `note`; stored and audited as
/// `POST /admin/qa/labels` under the signed-in user (labelling again
/// replaces the label), then back to the item.
pub async fn label(
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
    let item = number(&form, "item");
    let refill = item.as_u64().map(|item| Refill { item, form: &form });
    if !may_label(&v) {
        let n = Some((false, L::ReadOnly.text(lang).to_string()));
        return sample_page(&state, &v, &id, StatusCode::FORBIDDEN, n, refill).await;
    }
    let scores: serde_json::Map<String, Value> = DIMENSIONS
        .iter()
        .map(|d| (d.to_string(), number(&form, d)))
        .collect();
    let note = form.get("note").map(|n| n.trim()).filter(|n| !n.is_empty());
    let p = &v.session.principal;
    let body = json!({
        "sample": id,
        "item": item,
        "verdict": form.get("verdict").map(|s| s.trim()).unwrap_or(""),
        "scores": scores,
        "note": note,
        "by": p.name,
    });
    match report::take_labels(&state.app, p, body.to_string().as_bytes()).await {
        Ok(_) => {
            let i = item.as_u64().unwrap_or(0);
            see_other(&format!("/console/qa/samples/{id}?done=labelled#item-{i}"))
        }
        Err(e) => {
            let n = Some((false, e.message().to_string()));
            sample_page(&state, &v, &id, e.status_code(), n, refill).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_numbers_become_json_numbers_and_anything_else_stays_text() {
        let form: HashMap<String, String> = [("n", " 20 "), ("seed", ""), ("item", "x")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(number(&form, "n"), json!(20));
        assert_eq!(number(&form, "seed"), Value::Null);
        assert_eq!(number(&form, "item"), json!("x"));
        assert_eq!(number(&form, "missing"), Value::Null);
    }

    #[test]
    fn every_dimension_has_its_own_label() {
        let labels: Vec<L> = DIMENSIONS.iter().map(|d| dimension_label(d)).collect();
        for (i, l) in labels.iter().enumerate() {
            assert!(!labels[..i].contains(l), "{l:?} twice");
        }
    }

    #[test]
    fn a_period_shows_its_last_day_inclusive() {
        let tz = chrono_tz::Asia::Jakarta;
        let from = crate::report::period::day_start(
            chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(),
            tz,
        );
        let to = crate::report::period::day_start(
            chrono::NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(),
            tz,
        );
        assert_eq!(period(from, to, tz), "23 Nov 2026 – 29 Nov 2026");
    }
}
