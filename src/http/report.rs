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
use serde::Deserialize;
use serde_json::{Value, json};

use super::auth::Principal;
use super::body::Object;
use super::{ApiError, AppState};
use crate::core::types::Timestamp;
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
    let now = state.engine.now();
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
    v: &str,
    tz: chrono_tz::Tz,
    end: bool,
) -> Result<Timestamp, ApiError> {
    let Some(s) = Some(v.trim()).filter(|s| !s.is_empty()) else {
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
fn actor(state: &AppState, p: &Principal, by: Option<&str>) -> Result<String, ApiError> {
    if let Some(by) = by
        && by.trim().chars().count() > 64
    {
        return Err(ApiError::bad_request("`by` must be at most 64 characters"));
    }
    state.access.actor_name(p, by, true).map_err(|e| {
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
            at: state.engine.now(),
            actor: crate::store::audit::Actor::new(name, p.role.as_str()),
            action,
            target: Some(target),
            policy: Some("CONTRACT 6 post-send audit".into()),
            detail,
        })
        .await
        .map_err(ApiError::internal)
}

/// The body of `POST /admin/qa/sample`. Fields beyond these are ignored.
#[derive(Debug, Deserialize)]
struct SampleBody {
    from: String,
    to: String,
    n: u64,
    seed: Option<u64>,
    by: Option<String>,
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
    let v: SampleBody = super::body::object(body)?;
    let tz = state.engine.policy().timezone;
    let from = bound("from", &v.from, tz, false)?;
    let to = bound("to", &v.to, tz, true)?;
    if from >= to {
        return Err(ApiError::bad_request("`from` must be before `to`"));
    }
    let n = Some(v.n)
        .filter(|n| (1..=MAX_SAMPLE).contains(n))
        .ok_or_else(|| {
            ApiError::bad_request(format!("`n` must be a whole number from 1 to {MAX_SAMPLE}"))
        })?;
    let seed = v.seed.unwrap_or_else(|| rand::random::<u64>() >> 11);
    let by = actor(state, p, v.by.as_deref())?;
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
        created_at: state.engine.now(),
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

/// The body of `POST /admin/qa/labels`: who labels, and either `labels`
/// or one label at the top level. Fields beyond these are ignored.
#[derive(Debug, Deserialize)]
struct LabelsBody {
    by: Option<String>,
    labels: Option<Vec<Object<LabelBody>>>,
}

/// One label as sent.
#[derive(Debug, Deserialize)]
struct LabelBody {
    sample: String,
    item: u64,
    verdict: VerdictName,
    scores: Object<ScoresBody>,
    note: Option<String>,
}

/// A verdict as the API names it.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum VerdictName {
    Correct,
    Incorrect,
    Risky,
}

impl From<VerdictName> for Verdict {
    fn from(v: VerdictName) -> Verdict {
        match v {
            VerdictName::Correct => Verdict::Correct,
            VerdictName::Incorrect => Verdict::Incorrect,
            VerdictName::Risky => Verdict::Risky,
        }
    }
}

/// The scorecard, one score per [`DIMENSIONS`] entry; no other key.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScoresBody {
    correctness: u8,
    completeness: u8,
    safety: u8,
    tone: u8,
    efficiency: u8,
    tool_integrity: u8,
}

impl ScoresBody {
    /// In the order of [`DIMENSIONS`].
    fn in_order(&self) -> [u8; 6] {
        [
            self.correctness,
            self.completeness,
            self.safety,
            self.tone,
            self.efficiency,
            self.tool_integrity,
        ]
    }
}

/// A labels body read whole: the reviewer the body names, and each label
/// with the prefix its errors carry (`labels[2]: `, or none for a single
/// label at the top level).
struct LabelsIn {
    by: Option<String>,
    labels: Vec<(String, LabelBody)>,
}

fn parse_labels(body: &[u8]) -> Result<LabelsIn, ApiError> {
    let b: LabelsBody = super::body::object(body)?;
    let labels = match b.labels {
        Some(list) if list.is_empty() => {
            return Err(ApiError::bad_request("`labels` must be a non-empty array"));
        }
        Some(list) => list
            .into_iter()
            .enumerate()
            .map(|(i, Object(l))| (format!("labels[{i}]: "), l))
            .collect(),
        None => vec![(String::new(), super::body::object::<LabelBody>(body)?)],
    };
    Ok(LabelsIn { by: b.by, labels })
}

/// The label `l` (errors prefixed with `at`) on an item of `s`, checked.
fn label_of(
    at: &str,
    sample: uuid::Uuid,
    s: &QaSample,
    l: LabelBody,
    reviewer: &str,
    now: Timestamp,
) -> Result<QaLabel, ApiError> {
    let bad = |msg: String| ApiError::bad_request(format!("{at}{msg}"));
    let item = Some(l.item)
        .filter(|n| (*n as usize) < s.items.len())
        .ok_or_else(|| match s.items.len() {
            0 => bad(
                "this sample is empty: no reply was sent in its period, nothing to label".into(),
            ),
            n => bad(format!("`item` must be 0 to {} in this sample", n - 1)),
        })?;
    let scores = l.scores.0.in_order();
    if let Some((d, _)) = DIMENSIONS.iter().zip(scores).find(|(_, x)| *x > 2) {
        return Err(bad(format!("`scores.{d}` must be 0, 1 or 2")));
    }
    let note = match l.note {
        None => None,
        Some(n) if n.chars().count() <= 2000 => {
            Some(n.trim().to_string()).filter(|n| !n.is_empty())
        }
        Some(_) => return Err(bad("`note` must be text of at most 2000 characters".into())),
    };
    Ok(QaLabel {
        sample,
        item: item as u32,
        reply: s.items[item as usize].clone(),
        verdict: l.verdict.into(),
        scores: Scores(scores),
        reviewer: reviewer.to_string(),
        note,
        at: now,
    })
}

/// Checks and stores labels from a JSON body as `POST /admin/qa/labels`
/// takes it, under `p`, audited. The console's label form comes here too.
pub(crate) async fn take_labels(
    state: &AppState,
    p: &Principal,
    body: &[u8],
) -> Result<Value, ApiError> {
    let input = parse_labels(body)?;
    let reviewer = actor(state, p, input.by.as_deref())?;
    let store = state.engine.store();
    let mut samples: HashMap<uuid::Uuid, QaSample> = HashMap::new();
    let mut labels = Vec::new();
    let now = state.engine.now();
    for (at, l) in input.labels {
        let sample = uuid::Uuid::parse_str(&l.sample)
            .map_err(|_| ApiError::bad_request(format!("{at}`sample` must be a sample id")))?;
        if let std::collections::hash_map::Entry::Vacant(slot) = samples.entry(sample) {
            let s = store
                .qa_sample(sample)
                .map_err(ApiError::internal)?
                .ok_or_else(|| ApiError::not_found(format!("sample {sample} not found")))?;
            slot.insert(s);
        }
        labels.push(label_of(&at, sample, &samples[&sample], l, &reviewer, now)?);
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

#[cfg(test)]
mod tests {
    use super::*;

    const SCORES: &str = r#"{"correctness":2,"completeness":1,"safety":2,"tone":2,"efficiency":1,"tool_integrity":2}"#;

    fn label(extra: &str) -> String {
        format!(
            r#"{{"sample":"0192f3a0-0000-7000-8000-000000000001","item":0,"verdict":"risky","scores":{SCORES}{extra}}}"#
        )
    }

    fn err(body: &str) -> String {
        match parse_labels(body.as_bytes()) {
            Ok(_) => panic!("accepted: {body}"),
            Err(e) => e.message().to_string(),
        }
    }

    #[test]
    fn labels_are_read_one_at_the_top_or_as_a_list() {
        let one = parse_labels(label(r#","by":"dewi","note":"ok""#).as_bytes()).unwrap();
        assert_eq!(one.by.as_deref(), Some("dewi"));
        assert_eq!(one.labels.len(), 1);
        assert_eq!(one.labels[0].0, "");
        assert_eq!(one.labels[0].1.scores.0.in_order(), [2, 1, 2, 2, 1, 2]);
        let many = format!(r#"{{"by":"dewi","labels":[{},{}]}}"#, label(""), label(""));
        let many = parse_labels(many.as_bytes()).unwrap();
        assert_eq!(many.labels.len(), 2);
        assert_eq!(many.labels[1].0, "labels[1]: ");
    }

    #[test]
    fn a_wrong_typed_nested_field_is_named_by_its_path() {
        let bad_tone = label("").replace(r#""tone":2"#, r#""tone":"good""#);
        let body = format!(r#"{{"labels":[{},{bad_tone}]}}"#, label(""));
        assert!(
            err(&body).starts_with("field `labels[1].scores.tone`:"),
            "{}",
            err(&body)
        );
        assert!(err(&bad_tone).starts_with("field `scores.tone`:"));
        let body = label("").replace(r#""item":0"#, r#""item":"first""#);
        assert!(err(&body).starts_with("field `item`:"));
        let body = label("").replace(r#""verdict":"risky""#, r#""verdict":"meh""#);
        assert!(err(&body).starts_with("field `verdict`:"));
        let body = label(r#","note":{"text":"x"}"#);
        assert!(err(&body).starts_with("field `note`:"));
        let body = label("").replace(r#","efficiency":1"#, "");
        assert_eq!(err(&body), "field `scores.efficiency` is required");
        let body = label("").replace(r#""tone":2"#, r#""tone":2,"humour":1"#);
        assert!(err(&body).contains("`humour`"));
        let body = format!(r#"{{"labels":[{}],"by":7}}"#, label(""));
        assert!(err(&body).starts_with("field `by`:"));
        assert!(err(r#"{"labels":[]}"#).contains("`labels`"));
        assert!(err(r#"{"labels":{"0":{}}}"#).starts_with("field `labels`:"));
        let body = format!(r#"{{"labels":[[{}]]}}"#, label(""));
        assert!(err(&body).starts_with("field `labels[0]`:"));
    }

    #[test]
    fn a_sample_body_names_a_wrong_typed_field() {
        for (body, field) in [
            (
                r#"{"from":"2026-11-01","to":"2026-11-07","n":"four"}"#,
                "`n`",
            ),
            (
                r#"{"from":"2026-11-01","to":"2026-11-07","n":4,"seed":-1}"#,
                "`seed`",
            ),
            (
                r#"{"from":{"date":"2026-11-01"},"to":"2026-11-07","n":4}"#,
                "`from`",
            ),
            (r#"{"from":"2026-11-01","n":4}"#, "`to`"),
        ] {
            let e = super::super::body::object::<SampleBody>(body.as_bytes()).unwrap_err();
            assert!(e.message().contains(field), "{body}: {}", e.message());
        }
        let ok: SampleBody = super::super::body::object(
            br#"{"from":"2026-11-01","to":"2026-11-07","n":4,"extra":1}"#,
        )
        .unwrap();
        assert_eq!((ok.n, ok.seed), (4, None));
    }
}
