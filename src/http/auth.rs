//! Bearer-token check for the admin routes, in constant time.

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use super::{ApiError, AppState};

pub async fn require_admin(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let presented = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    let expected = state.admin_token.as_bytes();
    let ok = !expected.is_empty() && bool::from(presented.as_bytes().ct_eq(expected));
    if !ok {
        return ApiError::unauthorized().into_response();
    }
    next.run(req).await
}
