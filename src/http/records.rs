//! `POST /admin/records/students`, `/admin/records/slots` and `/admin/kb`:
//! the records the desk answers from. A body is taken whole or not at all:
//! the first bad item answers 400 naming its path (`[2].sessions[0].starts_at`)
//! and nothing is stored.

use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use super::auth::Principal;
use super::body::Object;
use super::{ApiError, AppState};
use crate::core::records::{Article, ArticleStatus, Invoice, PaymentState, Session, Slot, Student};
use crate::core::types::Timestamp;
use crate::policy::identity::normalize_phone;

const MAX_ITEMS: usize = 10_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StudentIn {
    id: String,
    name: String,
    phone: String,
    email: String,
    rev: u64,
    #[serde(default)]
    invoices: Vec<Object<InvoiceIn>>,
    #[serde(default)]
    sessions: Vec<Object<SessionIn>>,
    #[serde(default)]
    reschedule_history: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InvoiceIn {
    number: String,
    order_id: String,
    amount: i64,
    status: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SessionIn {
    id: String,
    starts_at: String,
    coach: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SlotIn {
    starts_at: String,
    coach: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ArticleIn {
    id: String,
    title: String,
    status: String,
    /// The English answer, or the one answer of a client that sends one.
    body: Option<String>,
    /// The answer in Bahasa Indonesia.
    body_id: Option<String>,
    /// Both at once: `{"en": "...", "id": "..."}`.
    bodies: Option<Object<BodiesIn>>,
    questions: Vec<String>,
    version: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BodiesIn {
    en: Option<String>,
    id: Option<String>,
}

/// Parses a JSON array of objects, naming the path of the first bad value.
fn parse_array<T: DeserializeOwned>(body: &[u8]) -> Result<Vec<T>, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    let items: Vec<Object<T>> = serde_path_to_error::deserialize(&mut *de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path == "." || path.is_empty() {
            ApiError::bad_request(format!("body must be a JSON array: {inner}"))
        } else {
            ApiError::bad_request(format!("{path}: {inner}"))
        }
    })?;
    de.end()
        .map_err(|e| ApiError::bad_request(format!("body must be a JSON array: {e}")))?;
    let items: Vec<T> = items.into_iter().map(|Object(t)| t).collect();
    if items.len() > MAX_ITEMS {
        return Err(ApiError::bad_request(format!(
            "body: at most {MAX_ITEMS} items per request"
        )));
    }
    Ok(items)
}

fn time(path: &str, value: &str) -> Result<Timestamp, ApiError> {
    chrono::DateTime::parse_from_rfc3339(value)
        .map(|t| Timestamp(t.timestamp_millis()))
        .map_err(|_| ApiError::bad_request(format!("{path}: '{value}' is not an RFC 3339 time")))
}

fn text(path: &str, value: String, max: usize) -> Result<String, ApiError> {
    let v = value.trim().to_string();
    if v.is_empty() {
        return Err(ApiError::bad_request(format!("{path}: must not be empty")));
    }
    if v.chars().count() > max {
        return Err(ApiError::bad_request(format!(
            "{path}: longer than {max} characters"
        )));
    }
    Ok(v)
}

fn student(i: usize, s: StudentIn) -> Result<Student, ApiError> {
    let at = |field: &str| format!("[{i}].{field}");
    let phone = text(&at("phone"), s.phone, 32)?;
    if normalize_phone(&phone).len() < 6 {
        return Err(ApiError::bad_request(format!(
            "{}: '{}' is not a phone number",
            at("phone"),
            crate::core::types::mask_address(&phone)
        )));
    }
    let email = text(&at("email"), s.email, 254)?.to_lowercase();
    if !email.contains('@') || email.contains(char::is_whitespace) {
        return Err(ApiError::bad_request(format!(
            "{}: not an email address",
            at("email")
        )));
    }
    let mut invoices = Vec::new();
    for (j, Object(inv)) in s.invoices.into_iter().enumerate() {
        let at = |field: &str| format!("[{i}].invoices[{j}].{field}");
        if inv.amount < 0 {
            return Err(ApiError::bad_request(format!(
                "{}: must not be negative",
                at("amount")
            )));
        }
        // Any status is kept; one that is not a known payment state is
        // answered as pending verification, never as paid.
        if PaymentState::parse(&inv.status).is_none() {
            tracing::info!(status = %inv.status, "invoice status is not a known payment state");
        }
        invoices.push(Invoice {
            number: text(&at("number"), inv.number, 64)?,
            order_id: text(&at("order_id"), inv.order_id, 64)?,
            amount: inv.amount,
            status: inv.status,
        });
    }
    let mut sessions = Vec::new();
    for (j, Object(se)) in s.sessions.into_iter().enumerate() {
        let at = |field: &str| format!("[{i}].sessions[{j}].{field}");
        sessions.push(Session {
            id: text(&at("id"), se.id, 64)?,
            starts_at: time(&at("starts_at"), &se.starts_at)?,
            coach: text(&at("coach"), se.coach, 128)?,
        });
    }
    let history = s
        .reschedule_history
        .iter()
        .enumerate()
        .map(|(j, t)| time(&format!("[{i}].reschedule_history[{j}]"), t))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Student {
        id: text(&at("id"), s.id, 64)?,
        name: text(&at("name"), s.name, 128)?,
        phone,
        email,
        rev: s.rev,
        invoices,
        sessions,
        reschedule_history: history,
        synced_at: Timestamp(0),
    })
}

pub fn parse_students(body: &[u8]) -> Result<Vec<Student>, ApiError> {
    let items: Vec<StudentIn> = parse_array(body)?;
    let students = items
        .into_iter()
        .enumerate()
        .map(|(i, s)| student(i, s))
        .collect::<Result<Vec<_>, _>>()?;
    for (i, s) in students.iter().enumerate() {
        if students[..i].iter().any(|o| o.id == s.id) {
            return Err(ApiError::bad_request(format!(
                "[{i}].id: '{}' appears twice in this request",
                s.id
            )));
        }
    }
    Ok(students)
}

pub fn parse_slots(body: &[u8]) -> Result<Vec<Slot>, ApiError> {
    let items: Vec<SlotIn> = parse_array(body)?;
    items
        .into_iter()
        .enumerate()
        .map(|(i, s)| {
            Ok(Slot {
                starts_at: time(&format!("[{i}].starts_at"), &s.starts_at)?,
                coach: text(&format!("[{i}].coach"), s.coach, 128)?,
                booked_by: None,
            })
        })
        .collect()
}

pub fn parse_articles(body: &[u8]) -> Result<Vec<Article>, ApiError> {
    let items: Vec<ArticleIn> = parse_array(body)?;
    items
        .into_iter()
        .enumerate()
        .map(|(i, a)| {
            let at = |field: &str| format!("[{i}].{field}");
            let status = match a.status.as_str() {
                "published" => ArticleStatus::Published,
                "draft" => ArticleStatus::Draft,
                other => {
                    return Err(ApiError::bad_request(format!(
                        "{}: must be \"published\" or \"draft\", not \"{other}\"",
                        at("status")
                    )));
                }
            };
            if a.questions.is_empty() {
                return Err(ApiError::bad_request(format!(
                    "{}: at least one question is needed to match messages",
                    at("questions")
                )));
            }
            let questions = a
                .questions
                .into_iter()
                .enumerate()
                .map(|(j, q)| text(&format!("[{i}].questions[{j}]"), q, 512))
                .collect::<Result<Vec<_>, _>>()?;
            let (body, body_id) = match (a.body, a.body_id, a.bodies) {
                (None, None, Some(Object(b))) => match b.en {
                    Some(en) => (
                        text(&at("bodies.en"), en, 4096)?,
                        b.id.map(|id| text(&at("bodies.id"), id, 4096)).transpose()?,
                    ),
                    None => {
                        return Err(ApiError::bad_request(format!(
                            "{}: the English answer is required (`bodies.id` alone is not enough)",
                            at("bodies.en")
                        )));
                    }
                },
                (Some(_), _, Some(_)) | (_, Some(_), Some(_)) => {
                    return Err(ApiError::bad_request(format!(
                        "{}: give `body` (and `body_id`) or `bodies`, not both",
                        at("bodies")
                    )));
                }
                (Some(body), id, None) => (
                    text(&at("body"), body, 4096)?,
                    id.map(|id| text(&at("body_id"), id, 4096)).transpose()?,
                ),
                (None, _, None) => {
                    return Err(ApiError::bad_request(format!(
                        "{}: missing field (the English answer; `body_id` or `bodies.id` for Bahasa Indonesia)",
                        at("body")
                    )));
                }
            };
            Ok(Article {
                id: text(&at("id"), a.id, 64)?,
                title: text(&at("title"), a.title, 256)?,
                status,
                body,
                questions,
                version: a.version,
                body_id,
            })
        })
        .collect()
}

pub async fn post_students(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    body: Bytes,
) -> Response {
    let students = match parse_students(&body) {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    match state
        .engine
        .store()
        .upsert_students_by(students, state.engine.now(), p.actor())
        .await
    {
        Ok(out) => Json(json!({
            "stored": out.stored.len(),
            "ignored": out.ignored,
        }))
        .into_response(),
        Err(e) => ApiError::store(e).into_response(),
    }
}

pub async fn post_slots(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    body: Bytes,
) -> Response {
    let slots = match parse_slots(&body) {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    let n = slots.len();
    let store = state.engine.store();
    match store
        .add_slots_by(slots, state.engine.now(), p.actor())
        .await
    {
        Ok(added) => Json(json!({ "stored": added, "already_known": n - added })).into_response(),
        Err(e) => ApiError::store(e).into_response(),
    }
}

pub async fn post_articles(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    body: Bytes,
) -> Response {
    let articles = match parse_articles(&body) {
        Ok(a) => a,
        Err(e) => return e.into_response(),
    };
    let store = state.engine.store();
    match store
        .put_articles_by(articles, state.engine.now(), p.actor())
        .await
    {
        Ok(n) => Json(json!({ "stored": n })).into_response(),
        Err(e) => ApiError::store(e).into_response(),
    }
}

/// A student record as the admin API shows it, with its sync time.
pub fn student_view(s: &Student) -> serde_json::Value {
    json!({
        "id": s.id,
        "name": s.name,
        "phone": s.phone,
        "email": s.email,
        "rev": s.rev,
        "invoices": s.invoices.iter().map(|i| json!({
            "number": i.number, "order_id": i.order_id, "amount": i.amount, "status": i.status,
        })).collect::<Vec<_>>(),
        "sessions": s.sessions.iter().map(|x| json!({
            "id": x.id, "starts_at": x.starts_at.to_rfc3339(), "coach": x.coach,
        })).collect::<Vec<_>>(),
        "reschedule_history": s.reschedule_history.iter().map(|t| t.to_rfc3339()).collect::<Vec<_>>(),
        "synced_at": s.synced_at.to_rfc3339(),
    })
}

/// `GET /admin/records/students/{id}`: the stored record, with its sync time.
pub async fn get_student(
    State(state): State<AppState>,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Response {
    match state.engine.store().student(&id) {
        Ok(Some(s)) => Json(student_view(&s)).into_response(),
        Ok(None) => ApiError::not_found(format!("student {id} not found")).into_response(),
        Err(e) => ApiError::internal(e).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(r: Result<impl Sized, ApiError>) -> String {
        match r {
            Ok(_) => panic!("expected an error"),
            Err(e) => e.message().to_string(),
        }
    }

    #[test]
    fn bad_items_are_named_by_path() {
        let ok = r#"{"id":"s1","name":"Sari","phone":"+62 812 3456 7890","email":"s@x.id","rev":1,
            "invoices":[{"number":"INV-1","order_id":"O1","amount":1,"status":"settlement"}],
            "sessions":[{"id":"S1","starts_at":"2026-11-27T19:00:00+07:00","coach":"Dewi"}]}"#;
        assert_eq!(
            parse_students(format!("[{ok}]").as_bytes()).unwrap().len(),
            1
        );
        let bad_time = ok.replace("2026-11-27T19:00:00+07:00", "tomorrow");
        assert!(
            err(parse_students(format!("[{ok},{bad_time}]").as_bytes()))
                .starts_with("[1].sessions[0].starts_at")
        );
        let no_rev = ok.replace(r#""rev":1,"#, "");
        assert!(err(parse_students(format!("[{no_rev}]").as_bytes())).contains("rev"));
        let status = ok.replace("settlement", "overdue");
        assert_eq!(
            parse_students(format!("[{status}]").as_bytes())
                .unwrap()
                .len(),
            1
        );
        let no_status = ok.replace(r#","status":"settlement""#, "");
        assert!(err(parse_students(format!("[{no_status}]").as_bytes())).contains("status"));
        assert!(err(parse_students(b"{}")).contains("array"));
        assert!(err(parse_students(format!("[{ok},{ok}]").as_bytes())).contains("twice"));
        assert!(err(parse_articles(
            br#"[{"id":"a","title":"t","status":"live","body":"b","questions":["q"],"version":1}]"#
        ))
        .starts_with("[0].status"));
        assert!(
            err(parse_slots(br#"[{"starts_at":"2026-11-27","coach":"D"}]"#))
                .starts_with("[0].starts_at")
        );
    }

    #[test]
    fn a_wrong_typed_nested_field_is_named_and_objects_are_only_objects() {
        let ok = r#"{"id":"s1","name":"Sari","phone":"+6281234567890","email":"s@x.id","rev":1,
            "invoices":[{"number":"INV-1","order_id":"O1","amount":1,"status":"settlement"}]}"#;
        for (bad, path) in [
            (
                ok.replace(r#""amount":1"#, r#""amount":"lots""#),
                "[0].invoices[0].amount",
            ),
            (ok.replace(r#""rev":1"#, r#""rev":{"n":1}"#), "[0].rev"),
            (
                ok.replace(
                    r#"{"number":"INV-1","order_id":"O1","amount":1,"status":"settlement"}"#,
                    r#"["INV-1","O1",1,"settlement"]"#,
                ),
                "[0].invoices[0]",
            ),
            (
                ok.replace(r#""invoices":["#, r#""sessions":[7],"invoices":["#),
                "[0].sessions[0]",
            ),
        ] {
            let e = err(parse_students(format!("[{bad}]").as_bytes()));
            assert!(e.starts_with(path), "{bad}: {e}");
        }
        let e = err(parse_students(
            br#"[["s1","Sari","+6281234567890","s@x.id",1]]"#,
        ));
        assert!(e.starts_with("[0]"), "{e}");
        let e = err(parse_articles(
            br#"[{"id":"a","title":"t","status":"published","bodies":["P"],"questions":["q"],"version":1}]"#,
        ));
        assert!(e.starts_with("[0].bodies"), "{e}");
        let e = err(parse_slots(
            br#"[{"starts_at":"2026-11-27T10:00:00Z","coach":"D"}] x"#,
        ));
        assert!(e.contains("array"), "{e}");
    }

    #[test]
    fn an_article_carries_a_body_per_language_in_either_shape_and_one_body_still_works() {
        let head = r#""id":"a","title":"t","status":"published","questions":["q"],"version":1"#;
        let one = |fields: &str| parse_articles(format!("[{{{head},{fields}}}]").as_bytes());
        let a = one(r#""body":"One answer""#).unwrap();
        assert_eq!(
            (a[0].body.as_str(), a[0].body_id.as_deref()),
            ("One answer", None)
        );
        for fields in [
            r#""body":"Price","body_id":"Harga""#,
            r#""bodies":{"en":"Price","id":"Harga"}"#,
        ] {
            let a = one(fields).unwrap();
            assert_eq!(
                (a[0].body.as_str(), a[0].body_id.as_deref()),
                ("Price", Some("Harga")),
                "{fields}"
            );
        }
        for (fields, needle) in [
            (r#""body_id":"Harga""#, "[0].body: missing"),
            (r#""bodies":{"id":"Harga"}"#, "[0].bodies.en"),
            (r#""body":"P","bodies":{"en":"P"}"#, "not both"),
            (r#""bodies":{"en":"P","fr":"Prix"}"#, "fr"),
            (
                r#""body":"P","body_id":"  ""#,
                "[0].body_id: must not be empty",
            ),
        ] {
            let e = err(one(fields));
            assert!(e.contains(needle), "{fields}: {e}");
        }
    }
}
