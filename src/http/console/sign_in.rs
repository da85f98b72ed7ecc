//! Signing in and out, and the language switch.
//!
//! The form takes a user token, the same the API takes, checked by the
//! same `Access::authenticate` as the bearer check: a users-file user or
//! the bootstrap admin token signs in; the ingest token does not (it can
//! only post customer messages). The sign-in POST is checked for its
//! origin like every other console POST; there is no session to bind a
//! CSRF token to yet.

use std::collections::HashMap;
use std::time::Instant;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::FormBody;
use super::labels::L;
use super::{ConsoleState, html, html_status, lang_of, local_path, pages, refused, see_other};
use super::{session, with_cookie};
use crate::http::auth::Role;

/// `GET /console`: the sign-in form, or my lane when signed in.
pub async fn home(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if state.visitor(&headers).is_some() {
        return see_other("/console/lane");
    }
    let lang = lang_of(&headers, q.get("lang").map(String::as_str));
    html(pages::sign_in(lang, None))
}

/// `POST /console/login`: `token` (and `lang`). A known staff token opens
/// a session (cookie) and goes to my lane; anything else shows the form
/// again with what was wrong, 401.
pub async fn login(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
    FormBody(form): FormBody,
) -> Response {
    if let Err(why) = session::same_origin(&headers) {
        return refused(&state, &headers, why);
    }
    let lang = lang_of(&headers, form.get("lang").map(String::as_str));
    let token = form.get("token").map(|t| t.trim()).unwrap_or("");
    let Some(principal) = state.app.access.authenticate(token) else {
        tracing::warn!("console sign-in with an unknown token");
        return html_status(
            StatusCode::UNAUTHORIZED,
            pages::sign_in(lang, Some(L::WrongToken)),
        );
    };
    if !principal.role.allows(Role::Viewer) {
        return html_status(
            StatusCode::FORBIDDEN,
            pages::sign_in(lang, Some(L::IngestToken)),
        );
    }
    tracing::info!(user = %principal.name, role = principal.role.as_str(), "console sign-in");
    let id = state.sessions.open(principal, lang, Instant::now());
    with_cookie(
        see_other("/console/lane"),
        &session::set_cookie(&id, session::is_https(&headers)),
    )
}

/// `POST /console/logout`: ends the session.
pub async fn logout(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
    FormBody(form): FormBody,
) -> Response {
    let v = match state.post_guard(&headers, &form) {
        Ok(v) => v,
        Err(why) => return refused(&state, &headers, why),
    };
    state.sessions.close(&v.id);
    with_cookie(
        see_other("/console"),
        &session::clear_cookie(session::is_https(&headers)),
    )
}

/// `POST /console/lang`: `lang` (`en` or `id`), back to `back`.
pub async fn set_lang(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
    FormBody(form): FormBody,
) -> Response {
    let v = match state.post_guard(&headers, &form) {
        Ok(v) => v,
        Err(why) => return refused(&state, &headers, why),
    };
    if let Some(lang) = form.get("lang").and_then(|l| super::parse_lang(l)) {
        state.sessions.set_lang(&v.id, lang);
    }
    see_other(&local_path(form.get("back").map(String::as_str)))
}
