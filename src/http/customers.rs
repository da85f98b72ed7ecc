//! A data subject's rights over HTTP (CONTRACT section 4; UU PDP, Law
//! 27/2022): `GET /admin/customers/{phone}/export` answers everything
//! stored about the customer as one JSON document, and `POST
//! /admin/customers/{phone}/erase` removes their personal data. Both are
//! for a coach or an admin, and both are audited (the audit names the
//! customer only by pseudonym).
//!
//! `{phone}` is the number in any format (`+62 812-3456-7890`,
//! `081234567890`), or the user id of a customer who hides their number.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{Value, json};

use super::auth::Principal;
use super::{ApiError, AppState, admin, records, views};
use crate::store::StoreError;
use crate::store::audit::{AuditAction, AuditRecord};
use crate::store::erase::{ErasureRecord, Subject};

fn subject(phone: &str) -> Result<Subject, ApiError> {
    Subject::parse(phone).map_err(|e| ApiError::bad_request(format!("path `phone`: {e}")))
}

/// `GET /admin/customers/{phone}/export`: `{subject, exported_at, cases:
/// [whole case...], students: [record...], payments: [record...],
/// erasure: null | {...}}`.
pub async fn export(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(phone): Path<String>,
) -> Response {
    let subject = match subject(&phone) {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    let store = state.engine.store();
    let pseudonym = match store.pseudonym(&subject).await {
        Ok(p) => p,
        Err(e) => return ApiError::internal(e).into_response(),
    };
    let engine = state.engine.clone();
    let (s, pseudo) = (subject.clone(), pseudonym.clone());
    let built = tokio::task::spawn_blocking(move || document(&engine, &s, &pseudo)).await;
    let (doc, counts) = match built {
        Ok(Ok(d)) => d,
        Ok(Err(e)) => return ApiError::internal(e).into_response(),
        Err(e) => return ApiError::internal(e).into_response(),
    };
    let record = AuditRecord {
        at: state.engine.now(),
        actor: p.actor(),
        action: AuditAction::Export,
        target: Some(pseudonym),
        policy: Some("UU PDP (Law 27/2022): access on request".into()),
        detail: format!(
            "{} case(s), {} student record(s), {} payment(s) exported",
            counts.0, counts.1, counts.2
        ),
    };
    if let Err(e) = store.audit(record).await {
        return ApiError::internal(e).into_response();
    }
    Json(doc).into_response()
}

/// The export document and its counts (cases, students, payments).
fn document(
    engine: &crate::engine::Engine,
    subject: &Subject,
    pseudonym: &str,
) -> Result<(Value, (usize, usize, usize)), StoreError> {
    let store = engine.store();
    let now = engine.now();
    let mut cases = Vec::new();
    for id in store.subject_cases(subject)? {
        let Some(case) = store.case(id)? else {
            continue;
        };
        let wf = engine.workflows().get(&case.workflow);
        let stuck = views::stuck_of(&case, wf.as_deref(), now, engine.settings().stuck_after_ms);
        cases.push(views::full(
            &case,
            &store.history(id)?,
            &store.effects(id)?,
            stuck.as_deref(),
        ));
    }
    let students = store.subject_students(subject)?;
    let mut payments = Vec::new();
    for inv in students.iter().flat_map(|s| &s.invoices) {
        if let Some(p) = store.payment(&inv.order_id)? {
            payments.push(admin::payment_view(&p));
        }
    }
    let counts = (cases.len(), students.len(), payments.len());
    let doc = json!({
        "subject": {
            "phone": match subject {
                Subject::Phone(digits) => json!(format!("+{digits}")),
                Subject::Address(_) => Value::Null,
            },
            "address": match subject {
                Subject::Address(a) => json!(a),
                Subject::Phone(_) => Value::Null,
            },
            "pseudonym": pseudonym,
        },
        "exported_at": now.to_rfc3339(),
        "cases": cases,
        "students": students.iter().map(records::student_view).collect::<Vec<_>>(),
        "payments": payments,
        "erasure": store.erasure(pseudonym)?.as_ref().map(erasure_view),
    });
    Ok((doc, counts))
}

fn erasure_view(r: &ErasureRecord) -> Value {
    json!({
        "subject": r.subject,
        "first_at": r.first_at.to_rfc3339(),
        "last_at": r.last_at.to_rfc3339(),
        "by": r.by,
        "reason": r.reason,
        "erased": r.erased,
    })
}

/// `POST /admin/customers/{phone}/erase` with `{"reason": "..."}`:
/// `{"subject", "erased": {cases, messages, students}, "already_erased",
/// "erasure": {...}}`. Open cases of the customer are closed. Running it
/// again changes nothing (`already_erased: true`, all counts zero) unless
/// the customer wrote again meanwhile.
pub async fn erase(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(phone): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let subject = match subject(&phone) {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    let reason = match parse_reason(&body) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let store = state.engine.store();
    match store
        .erase_subject(subject, p.actor(), reason, state.engine.now())
        .await
    {
        Ok(done) => {
            let already = done.now.is_empty() && done.before;
            (
                StatusCode::OK,
                Json(json!({
                    "subject": done.subject,
                    "erased": done.now,
                    "already_erased": already,
                    "erasure": erasure_view(&done.record),
                })),
            )
                .into_response()
        }
        Err(e) => ApiError::internal(e).into_response(),
    }
}

/// The body of an erasure; no other field.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EraseBody {
    reason: String,
}

/// `{"reason": "..."}`: 1 to 512 characters, no other field.
fn parse_reason(body: &[u8]) -> Result<String, ApiError> {
    let b: EraseBody = super::body::object(body)?;
    Some(b.reason.trim())
        .filter(|r| !r.is_empty() && r.chars().count() <= 512)
        .map(str::to_string)
        .ok_or_else(|| ApiError::bad_request("`reason` must say why (1 to 512 characters)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reason_is_required_and_named() {
        assert_eq!(
            parse_reason(br#"{"reason":" customer asked "}"#).unwrap(),
            "customer asked"
        );
        for bad in [
            &b"{}"[..],
            br#"{"reason":""}"#,
            br#"{"reason":7}"#,
            b"[]",
            b"x",
        ] {
            assert_eq!(parse_reason(bad).unwrap_err().status(), 400);
        }
        let e = parse_reason(br#"{"reason":"x","phone":"+62"}"#).unwrap_err();
        assert!(e.message().contains("`phone`"));
        for (bad, field) in [
            (&br#"{"reason":7}"#[..], "field `reason`"),
            (br#"{"reason":{"text":"asked"}}"#, "field `reason`"),
            (br#"{"reason":["asked"]}"#, "field `reason`"),
            (b"{}", "field `reason` is required"),
        ] {
            let e = parse_reason(bad).unwrap_err();
            assert!(e.message().starts_with(field), "{}", e.message());
        }
    }

    #[test]
    fn subjects_are_numbers_in_any_format_or_user_ids() {
        let want = Subject::Phone("6281234567890".into());
        for s in [
            "+6281234567890",
            "+62 812-3456-7890",
            "081234567890",
            "6281234567890",
        ] {
            assert_eq!(subject(s).unwrap(), want, "{s}");
            assert!(want.matches(s));
        }
        assert_eq!(
            subject("US.13491208655302741918").unwrap(),
            Subject::Address("US.13491208655302741918".into())
        );
        assert!(!want.matches("US.6281234567890"));
        assert!(!want.matches("+6281234567891"));
        for bad in ["12345", "+62 812", "a b", "<script>", ""] {
            assert!(subject(bad).is_err(), "{bad}");
        }
    }
}
