//! The weekly dashboard and the post-send audit over HTTP (CONTRACT
//! section 6): `GET /admin/report`, `POST /admin/qa/sample`,
//! `GET /admin/qa/samples/{id}` and `POST /admin/qa/labels`. Reports and
//! samples read the store on the blocking pool; labels are stored as one
//! write.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Extension, Path, Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::auth::Principal;
use super::{ApiError, AppState};
use crate::core::types::Timestamp;
use crate::engine::clock;
use crate::report::audit::{DIMENSIONS, QaLabel, QaSample, Scores, Verdict};
use crate::report::period::{Period, day_start, local_date, parse_date};

/// Most replies one sample may draw.
pub const MAX_SAMPLE: u64 = 500;

/// `GET /admin/report?from=YYYY-MM-DD&to=YYYY-MM-DD[&format=html]`: the
/// dashboard as JSON (default) or as the self-contained HTML page.
pub async fn get_report(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let tz = state.engine.policy().timezone;
    let now = clock::now();
    let period = parse_date("from", q.get("from").map(String::as_str))
        .and_then(|from| Ok((from, parse_date("to", q.get("to").map(String::as_str))?)))
        .and_then(|(from, to)| Period::new(from, to, local_date(now, tz), tz));
    let period = match period {
        Ok(p) => p,
        Err(e) => return ApiError::bad_request(e.to_string()).into_response(),
    };
    let html = match q.get("format").map(String::as_str) {
        None | Some("" | "json") => false,
        Some("html") => true,
        Some(other) => {
            return ApiError::bad_request(format!(
                "query `format` must be json or html, not '{other}'"
            ))
            .into_response();
        }
    };
    let engine = state.engine.clone();
    let computed =
        tokio::task::spawn_blocking(move || crate::report::compute(engine.store(), period, now))
            .await;
    match computed {
        Ok(Ok(report)) if html => (
            [(CONTENT_TYPE, "text/html; charset=utf-8")],
            crate::report::html::render(&report),
        )
            .into_response(),
        Ok(Ok(report)) => Json(report).into_response(),
        Ok(Err(e)) => ApiError::internal(e).into_response(),
        Err(e) => ApiError::internal(e).into_response(),
    }
}

/// A bound of a sample: a date (its local midnight; `to` takes the whole
/// day) or an RFC 3339 instant.
fn bound(
    field: &'static str,
    v: &Value,
    tz: chrono_tz::Tz,
    end: bool,
) -> Result<Timestamp, ApiError> {
    let Some(s) = v.as_str().map(str::trim).filter(|s| !s.is_empty()) else {
        return Err(ApiError::bad_request(format!(
            "`{field}` must be a date YYYY-MM-DD or an RFC 3339 time"
        )));
    };
    if let Ok(Some(date)) = parse_date(field, Some(s)) {
        let date = if end {
            date + chrono::Duration::days(1)
        } else {
            date
        };
        return Ok(day_start(date, tz));
    }
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| Timestamp(t.timestamp_millis()))
        .map_err(|_| {
            ApiError::bad_request(format!(
                "`{field}` must be a date YYYY-MM-DD or an RFC 3339 time, not '{s}'"
            ))
        })
}

/// The reviewer or sampler: the signed-in user; with the bootstrap admin
/// token and no users file, the body's `by` (required).
fn actor(state: &AppState, p: &Principal, v: &Value) -> Result<String, ApiError> {
    if let Some(by) = v["by"].as_str()
        && by.trim().chars().count() > 64
    {
        return Err(ApiError::bad_request("`by` must be at most 64 characters"));
    }
    state
        .access
        .actor_name(p, v["by"].as_str(), true)
        .map_err(|e| {
            if e.message().starts_with("`by` must name") {
                ApiError::bad_request("`by` must name the reviewer (1 to 64 characters)")
            } else {
                e
            }
        })
}

async fn audit(
    state: &AppState,
    p: &Principal,
    name: &str,
    action: crate::store::audit::AuditAction,
    target: String,
    detail: String,
) -> Result<(), ApiError> {
    state
        .engine
        .store()
        .audit(crate::store::audit::AuditRecord {
            at: clock::now(),
            actor: crate::store::audit::Actor::new(name, p.role.as_str()),
            action,
            target: Some(target),
            policy: Some("CONTRACT 6 post-send audit".into()),
            detail,
        })
        .await
        .map_err(ApiError::internal)
}

fn parse_body(body: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("body is not JSON: {e}")))
}

/// `POST /admin/qa/sample {"from","to","n","seed"?,"by"}`: draws up to `n`
/// replies sent in the period, stratified by tier, stores the sample and
/// answers it with each reply's text. The same period, `n` and `seed` draw
/// the same replies; without a seed one is chosen and returned.
pub async fn post_sample(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    body: axum::body::Bytes,
) -> Response {
    match draw_sample(&state, &p, &body).await {
        Ok(v) => (axum::http::StatusCode::CREATED, Json(v)).into_response(),
        Err(e) => e.into_response(),
    }
}

/// Draws and stores a sample from a JSON body as `POST /admin/qa/sample`
/// takes it, audited; the sample's view as [`sample_view`] gives it. The
/// console's draw form comes here too.
pub(crate) async fn draw_sample(
    state: &AppState,
    p: &Principal,
    body: &[u8],
) -> Result<Value, ApiError> {
    let v = parse_body(body)?;
    let tz = state.engine.policy().timezone;
    let from = bound("from", &v["from"], tz, false)?;
    let to = bound("to", &v["to"], tz, true)?;
    if from >= to {
        return Err(ApiError::bad_request("`from` must be before `to`"));
    }
    let n = v["n"]
        .as_u64()
        .filter(|n| (1..=MAX_SAMPLE).contains(n))
        .ok_or_else(|| {
            ApiError::bad_request(format!("`n` must be a whole number from 1 to {MAX_SAMPLE}"))
        })?;
    let seed = match &v["seed"] {
        Value::Null => rand::random::<u64>() >> 11,
        s => s
            .as_u64()
            .ok_or_else(|| ApiError::bad_request("`seed` must be a whole number 0 or more"))?,
    };
    let by = actor(state, p, &v)?;
    let engine = state.engine.clone();
    let candidates = tokio::task::spawn_blocking(move || {
        crate::report::reply_candidates(engine.store(), from, to)
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::internal)?;
    let eligible = candidates.len() as u64;
    let items = crate::report::audit::draw(candidates, n as usize, seed);
    let sample = QaSample {
        id: uuid::Uuid::now_v7(),
        created_at: clock::now(),
        by,
        from,
        to,
        requested: n as u32,
        seed,
        eligible,
        items,
    };
    state
        .engine
        .store()
        .put_qa_sample(sample.clone())
        .await
        .map_err(ApiError::internal)?;
    audit(
        state,
        p,
        &sample.by,
        crate::store::audit::AuditAction::QaSample,
        sample.id.to_string(),
        format!(
            "drew {} of {} replies (n {}, seed {})",
            sample.items.len(),
            sample.eligible,
            sample.requested,
            sample.seed
        ),
    )
    .await?;
    sample_view(state, &sample)
}

/// A sample as `GET /admin/qa/samples/{id}` shows it: each reply with its
/// case, tier, template, text and label (reads the store; call it off the
/// runtime for large samples).
pub(crate) fn sample_view(state: &AppState, sample: &QaSample) -> Result<Value, ApiError> {
    let store = state.engine.store();
    let labels: HashMap<u32, QaLabel> = store
        .qa_labels_of(sample.id)
        .map_err(ApiError::internal)?
        .into_iter()
        .map(|l| (l.item, l))
        .collect();
    let mut items = Vec::new();
    for (i, it) in sample.items.iter().enumerate() {
        let text = crate::report::reply_text(store, it.case, it.seq).map_err(ApiError::internal)?;
        items.push(json!({
            "item": i,
            "case_id": it.case.to_string(),
            "tier": it.tier.map(|t| t.as_str()),
            "template": it.template,
            "sent_at": it.sent_at.to_rfc3339(),
            "text": text,
            "label": labels.get(&(i as u32)).map(label_view),
        }));
    }
    Ok(json!({
        "id": sample.id.to_string(),
        "created_at": sample.created_at.to_rfc3339(),
        "by": sample.by,
        "from": sample.from.to_rfc3339(),
        "to": sample.to.to_rfc3339(),
        "n": sample.requested,
        "seed": sample.seed,
        "eligible": sample.eligible,
        "items": items,
    }))
}

fn label_view(l: &QaLabel) -> Value {
    let scores: serde_json::Map<String, Value> = DIMENSIONS
        .iter()
        .zip(l.scores.0)
        .map(|(d, s)| (d.to_string(), json!(s)))
        .collect();
    json!({
        "verdict": l.verdict.as_str(),
        "scores": scores,
        "reviewer": l.reviewer,
        "note": l.note,
        "at": l.at.to_rfc3339(),
    })
}

/// `GET /admin/qa/samples/{id}`: a sample with its replies and labels.
pub async fn get_sample(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let Ok(id) = uuid::Uuid::parse_str(&id) else {
        return ApiError::bad_request(format!("'{id}' is not a sample id")).into_response();
    };
    match state.engine.store().qa_sample(id) {
        Ok(Some(s)) => match sample_view(&state, &s) {
            Ok(v) => Json(v).into_response(),
            Err(e) => e.into_response(),
        },
        Ok(None) => ApiError::not_found(format!("sample {id} not found")).into_response(),
        Err(e) => ApiError::internal(e).into_response(),
    }
}

/// `POST /admin/qa/labels`: one label `{"sample","item","verdict",
/// "scores":{correctness, completeness, safety, tone, efficiency,
/// tool_integrity},"note"?,"by"}` or `{"by","labels":[...]}`. Verdict
/// `correct|incorrect|risky`, every score 0, 1 or 2. All are stored or
/// none; labelling an item again replaces its label.
pub async fn post_labels(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    body: axum::body::Bytes,
) -> Response {
    match take_labels(&state, &p, &body).await {
        Ok(v) => Json(v).into_response(),
        Err(e) => e.into_response(),
    }
}

/// Checks and stores labels from a JSON body as `POST /admin/qa/labels`
/// takes it, under `p`, audited. The console's label form comes here too.
pub(crate) async fn take_labels(
    state: &AppState,
    p: &Principal,
    body: &[u8],
) -> Result<Value, ApiError> {
    let v = parse_body(body)?;
    let reviewer = actor(state, p, &v)?;
    let raw: Vec<&Value> = match v.get("labels") {
        Some(Value::Array(a)) if !a.is_empty() => a.iter().collect(),
        Some(_) => return Err(ApiError::bad_request("`labels` must be a non-empty array")),
        None => vec![&v],
    };
    let store = state.engine.store();
    let mut samples: HashMap<uuid::Uuid, QaSample> = HashMap::new();
    let mut labels = Vec::new();
    let now = clock::now();
    for (i, l) in raw.into_iter().enumerate() {
        let at = |msg: String| {
            ApiError::bad_request(if labels_len_is_many(&v) {
                format!("labels[{i}]: {msg}")
            } else {
                msg
            })
        };
        let sample = l["sample"]
            .as_str()
            .and_then(|s| uuid::Uuid::parse_str(s).ok())
            .ok_or_else(|| at("`sample` must be a sample id".into()))?;
        if let std::collections::hash_map::Entry::Vacant(slot) = samples.entry(sample) {
            let s = store
                .qa_sample(sample)
                .map_err(ApiError::internal)?
                .ok_or_else(|| ApiError::not_found(format!("sample {sample} not found")))?;
            slot.insert(s);
        }
        let s = &samples[&sample];
        let item = l["item"]
            .as_u64()
            .filter(|n| (*n as usize) < s.items.len())
            .ok_or_else(|| {
                at(format!(
                    "`item` must be 0 to {} in this sample",
                    s.items.len().saturating_sub(1)
                ))
            })?;
        let verdict = l["verdict"]
            .as_str()
            .and_then(Verdict::parse)
            .ok_or_else(|| at("`verdict` must be correct, incorrect or risky".into()))?;
        let mut scores = [0u8; 6];
        for (k, d) in DIMENSIONS.iter().enumerate() {
            scores[k] = l["scores"][d]
                .as_u64()
                .filter(|x| *x <= 2)
                .ok_or_else(|| at(format!("`scores.{d}` must be 0, 1 or 2")))?
                as u8;
        }
        if let Some(obj) = l["scores"].as_object()
            && let Some(extra) = obj.keys().find(|k| !DIMENSIONS.contains(&k.as_str()))
        {
            return Err(at(format!("`scores.{extra}` is not a scorecard dimension")));
        }
        let note = match &l["note"] {
            Value::Null => None,
            Value::String(n) if n.chars().count() <= 2000 => {
                Some(n.trim().to_string()).filter(|n| !n.is_empty())
            }
            _ => return Err(at("`note` must be text of at most 2000 characters".into())),
        };
        labels.push(QaLabel {
            sample,
            item: item as u32,
            reply: s.items[item as usize].clone(),
            verdict,
            scores: Scores(scores),
            reviewer: reviewer.clone(),
            note,
            at: now,
        });
    }
    let stored = labels.len();
    let views: Vec<Value> = labels
        .iter()
        .map(|l| {
            let mut v = label_view(l);
            v["sample"] = json!(l.sample.to_string());
            v["item"] = json!(l.item);
            v
        })
        .collect();
    let samples_labelled: Vec<String> = samples.keys().map(|s| s.to_string()).collect();
    store
        .put_qa_labels(labels)
        .await
        .map_err(ApiError::internal)?;
    audit(
        state,
        p,
        &reviewer,
        crate::store::audit::AuditAction::QaLabels,
        samples_labelled.join(","),
        format!("labelled {stored} sampled repl(ies)"),
    )
    .await?;
    Ok(json!({ "stored": stored, "labels": views }))
}

fn labels_len_is_many(v: &Value) -> bool {
    v.get("labels").is_some()
}
