//! The operator console, `GET /console` (CONTRACT section 4): server-rendered
//! pages for the operator and the coach, signed in with their user token.
//!
//! - `sign_in.rs`: the sign-in form, sign-out and the language switch;
//! - `lists.rs`: my lane (ordered by SLA due, live countdown), stuck cases,
//!   a customer's cases by number;
//! - `case.rs`: a case's whole timeline, its pending action and the
//!   decisions and retry the signed-in role may make;
//! - `desk.rs`: degraded mode and its switch (admin), the tools' breakers,
//!   and bulk retry with its dry-run count;
//! - `qa.rs`: the post-send audit: draw a sample, recent samples, and a
//!   sample's replies with a label form each;
//! - `session.rs`: sessions, the cookie and cross-site protection;
//! - `pages.rs`: the frame every page shares; `labels.rs`: English and
//!   Bahasa Indonesia.
//!
//! The console acts through the same engine calls, role rules and audit
//! as the admin API: a decision here is the decision the API records.
//! Assets (`assets/console.css`, `assets/console.js`) are compiled into
//! the binary and served from `/console/assets/`; nothing is loaded from
//! elsewhere (the Content-Security-Policy says so to the browser).

mod case;
mod desk;
mod labels;
mod lists;
mod pages;
mod qa;
pub mod session;
mod sign_in;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use maud::Markup;

use super::AppState;
use crate::core::case::Language;
use labels::L;
use session::{Refused, Session, Sessions};

/// What the console's handlers share.
#[derive(Clone)]
pub struct ConsoleState {
    pub app: AppState,
    pub sessions: Arc<Sessions>,
}

/// The console's routes, with their own session store.
pub fn router<S: Clone + Send + Sync + 'static>(app: AppState) -> Router<S> {
    let state = ConsoleState {
        app,
        sessions: Arc::new(Sessions::default()),
    };
    Router::new()
        .route("/console", get(sign_in::home))
        .route("/console/login", post(sign_in::login))
        .route("/console/logout", post(sign_in::logout))
        .route("/console/lang", post(sign_in::set_lang))
        .route("/console/lane", get(lists::lane))
        .route("/console/stuck", get(lists::stuck))
        .route("/console/search", get(lists::search))
        .route("/console/cases/{id}", get(case::show))
        .route("/console/cases/{id}/decision", post(case::decide))
        .route("/console/cases/{id}/retry", post(case::retry))
        .route("/console/desk", get(desk::show))
        .route("/console/degraded", post(desk::set_degraded))
        .route(
            "/console/retry",
            get(desk::bulk_form).post(desk::bulk_retry),
        )
        .route("/console/qa", get(qa::show))
        .route("/console/qa/sample", post(qa::draw))
        .route("/console/qa/samples/{id}", get(qa::sample))
        .route("/console/qa/samples/{id}/label", post(qa::label))
        .route("/console/assets/console.css", get(css))
        .route("/console/assets/console.js", get(js))
        .with_state(state)
}

/// Who asks: the signed-in session of the request's cookie, with its id.
pub struct Visitor {
    pub id: String,
    pub session: Session,
}

impl ConsoleState {
    /// The live session of the request, if any.
    pub fn visitor(&self, headers: &HeaderMap) -> Option<Visitor> {
        let id = session::cookie_id(headers)?;
        let session = self.sessions.get(&id, Instant::now())?;
        Some(Visitor { id, session })
    }

    /// Checks a state-changing request: same origin, a live session, and
    /// the session's CSRF token in the form, in that order.
    pub fn post_guard(
        &self,
        headers: &HeaderMap,
        form: &HashMap<String, String>,
    ) -> Result<Visitor, Refused> {
        session::same_origin(headers)?;
        let v = self.visitor(headers).ok_or(Refused::NoSession)?;
        let presented = form.get("csrf").map(String::as_str).unwrap_or("");
        if !session::csrf_matches(&v.session, presented) {
            return Err(Refused::BadCsrf);
        }
        Ok(v)
    }
}

/// The answer to a refused POST: 403, or 401 without a session, with a
/// page saying why (in the visitor's language, when known).
pub fn refused(state: &ConsoleState, headers: &HeaderMap, why: Refused) -> Response {
    let lang = state
        .visitor(headers)
        .map(|v| v.session.lang)
        .unwrap_or_else(|| lang_of(headers, None));
    let status = match why {
        Refused::NoSession => StatusCode::UNAUTHORIZED,
        Refused::CrossSite | Refused::BadCsrf => StatusCode::FORBIDDEN,
    };
    tracing::warn!(reason = why.message(), "console request refused");
    let text = match why {
        Refused::CrossSite => L::RefusedCrossSite,
        Refused::NoSession => L::RefusedNoSession,
        Refused::BadCsrf => L::RefusedBadCsrf,
    };
    let body = pages::message(lang, L::Refused.text(lang), text.text(lang));
    (status, page_headers(), body.into_string()).into_response()
}

/// The headers of every console page: no caching of personal data, no
/// framing, no script or style from elsewhere.
fn page_headers() -> [(HeaderName, HeaderValue); 5] {
    [
        (
            CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        ),
        (CACHE_CONTROL, HeaderValue::from_static("no-store")),
        (
            HeaderName::from_static("content-security-policy"),
            HeaderValue::from_static(
                "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; \
                 form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
            ),
        ),
        (
            HeaderName::from_static("x-frame-options"),
            HeaderValue::from_static("DENY"),
        ),
        (
            HeaderName::from_static("referrer-policy"),
            HeaderValue::from_static("same-origin"),
        ),
    ]
}

/// A rendered page, 200.
/// A console form (`application/x-www-form-urlencoded`, field name to
/// value). A POST with no body or another content type reads as an empty
/// form, so the session and CSRF guard refuses it with the console's 403
/// page, as it refuses any form without its token; a form body that does
/// not parse is 400.
pub struct FormBody(pub HashMap<String, String>);

impl<S: Send + Sync> axum::extract::FromRequest<S> for FormBody {
    type Rejection = Response;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Response> {
        let is_form = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if !is_form {
            return Ok(FormBody(HashMap::new()));
        }
        axum::Form::<HashMap<String, String>>::from_request(req, state)
            .await
            .map(|axum::Form(f)| FormBody(f))
            .map_err(IntoResponse::into_response)
    }
}

pub fn html(markup: Markup) -> Response {
    html_status(StatusCode::OK, markup)
}

pub fn html_status(status: StatusCode, markup: Markup) -> Response {
    (status, page_headers(), markup.into_string()).into_response()
}

/// A 303 to `to` (after a POST: the browser GETs the result).
pub fn see_other(to: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        r.headers_mut().insert(LOCATION, v);
    }
    r
}

/// A 303 to the sign-in page, for a GET without a session.
pub fn to_sign_in() -> Response {
    see_other("/console")
}

/// Adds a `Set-Cookie` to a response.
pub fn with_cookie(mut r: Response, cookie: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(cookie) {
        r.headers_mut().append(SET_COOKIE, v);
    }
    r
}

/// The language to greet a visitor in: `?lang=`, else the browser's
/// `Accept-Language` (Indonesian first when it comes first), else English.
pub fn lang_of(headers: &HeaderMap, asked: Option<&str>) -> Language {
    if let Some(l) = asked.and_then(parse_lang) {
        return l;
    }
    headers
        .get(axum::http::header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.split(',').find_map(|part| {
                let tag = part.split(';').next()?.trim().to_ascii_lowercase();
                match tag.split('-').next()? {
                    "id" | "in" => Some(Language::Id),
                    "en" => Some(Language::En),
                    _ => None,
                }
            })
        })
        .unwrap_or(Language::En)
}

pub fn parse_lang(s: &str) -> Option<Language> {
    match s.trim() {
        "en" => Some(Language::En),
        "id" => Some(Language::Id),
        _ => None,
    }
}

/// A path inside the console to come back to (never another site).
pub fn local_path(p: Option<&str>) -> String {
    match p {
        Some(p) if p.starts_with("/console") && !p.contains("//") && !p.contains('\\') => {
            p.to_string()
        }
        _ => "/console/lane".to_string(),
    }
}

const CSS: &str = include_str!("../../../assets/console.css");
const JS: &str = include_str!("../../../assets/console.js");

async fn css() -> Response {
    asset("text/css; charset=utf-8", CSS)
}

async fn js() -> Response {
    asset("text/javascript; charset=utf-8", JS)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (CONTENT_TYPE, content_type),
            (CACHE_CONTROL, "public, max-age=3600"),
            (axum::http::header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_greeting_language_comes_from_the_query_then_the_browser() {
        let mut h = HeaderMap::new();
        assert_eq!(lang_of(&h, None), Language::En);
        h.insert(
            axum::http::header::ACCEPT_LANGUAGE,
            HeaderValue::from_static("id-ID,id;q=0.9,en;q=0.8"),
        );
        assert_eq!(lang_of(&h, None), Language::Id);
        assert_eq!(lang_of(&h, Some("en")), Language::En);
        assert_eq!(lang_of(&h, Some("fr")), Language::Id);
    }

    #[test]
    fn the_way_back_stays_inside_the_console() {
        assert_eq!(local_path(Some("/console/stuck")), "/console/stuck");
        for away in [
            None,
            Some("https://evil.example"),
            Some("//evil.example/console"),
            Some("/console//evil"),
            Some("/admin/cases"),
        ] {
            assert_eq!(local_path(away), "/console/lane", "{away:?}");
        }
    }
}
