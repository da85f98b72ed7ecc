//! `GET /admin/audit?since=&limit=&cursor=`: every human and admin action
//! (decisions, retries, degraded switches, records and knowledge-base
//! changes, exports, erasures, retention), oldest first, with who (name and
//! role), when, what, and the policy it touched (CONTRACT section 4).

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};

use super::{ApiError, AppState};
use crate::core::types::Timestamp;
use crate::store::audit::parse_cursor;

const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 1000;

/// The validated query.
#[derive(Debug, PartialEq)]
struct AuditQuery {
    since: Option<Timestamp>,
    after: Option<Vec<u8>>,
    limit: usize,
}

fn parse_query(q: &HashMap<String, String>) -> Result<AuditQuery, ApiError> {
    let mut out = AuditQuery {
        since: None,
        after: None,
        limit: DEFAULT_LIMIT,
    };
    for (key, value) in q {
        if value.is_empty() {
            continue;
        }
        match key.as_str() {
            "since" => {
                let t = chrono::DateTime::parse_from_rfc3339(value).map_err(|_| {
                    ApiError::bad_request(
                        "query `since` must be an RFC 3339 time such as 2026-11-24T00:00:00+07:00",
                    )
                })?;
                out.since = Some(Timestamp(t.timestamp_millis()));
            }
            "cursor" => {
                out.after = Some(parse_cursor(value).ok_or_else(|| {
                    ApiError::bad_request("query `cursor` is not a cursor this desk gave out")
                })?);
            }
            "limit" => {
                out.limit = value
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=MAX_LIMIT).contains(n))
                    .ok_or_else(|| {
                        ApiError::bad_request(format!("query `limit` must be 1 to {MAX_LIMIT}"))
                    })?;
            }
            _ => {}
        }
    }
    Ok(out)
}

/// `{"entries":[{id, at, by, role, action, target, policy, detail}],
/// "next_cursor": "..." | null}`.
pub async fn list(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let query = match parse_query(&q) {
        Ok(q) => q,
        Err(e) => return e.into_response(),
    };
    let engine = state.engine.clone();
    let page = tokio::task::spawn_blocking(move || {
        engine
            .store()
            .audit_page(query.since, query.after.as_deref(), query.limit)
    })
    .await;
    match page {
        Ok(Ok(page)) => Json(page).into_response(),
        Ok(Err(e)) => ApiError::internal(e).into_response(),
        Err(e) => ApiError::internal(e).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn bad_parameters_are_named() {
        let err =
            |pairs: &[(&str, &str)]| parse_query(&q(pairs)).unwrap_err().message().to_string();
        assert!(err(&[("since", "yesterday")]).contains("`since`"));
        assert!(err(&[("cursor", "zz")]).contains("`cursor`"));
        assert!(err(&[("cursor", "00ff")]).contains("`cursor`"));
        assert!(err(&[("limit", "0")]).contains("`limit`"));
        assert!(err(&[("limit", "1001")]).contains("`limit`"));
        let ok = parse_query(&q(&[
            ("since", "2026-11-24T00:00:00+07:00"),
            ("limit", "5"),
            ("cursor", &"ab".repeat(16)),
        ]))
        .unwrap();
        assert_eq!(ok.since, Some(Timestamp(1_795_453_200_000)));
        assert_eq!(ok.limit, 5);
        assert_eq!(ok.after, Some(vec![0xab; 16]));
    }
}
