//! The HTTP surface (axum): ingest, admin and health. Handlers validate
//! input, call the engine or read the store, and shape JSON; they hold no
//! case logic.

mod admin;
mod auth;
mod ingest;
pub mod records;
mod views;
pub mod webhooks;

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;

use crate::engine::Engine;

#[derive(Clone)]
pub struct AppState {
    pub engine: Arc<Engine>,
    pub admin_token: Arc<str>,
    pub webhooks: Arc<webhooks::WebhookSecrets>,
}

/// The routes. Every request body is limited to `body_limit` bytes, except
/// WhatsApp webhook deliveries, which may be up to `webhook_body_limit`
/// (WhatsApp documents deliveries of up to 3 MB).
pub fn router(state: AppState, body_limit: usize, webhook_body_limit: usize) -> Router {
    let admin = Router::new()
        .route("/admin/cases", get(admin::list_cases))
        .route("/admin/cases/{id}", get(admin::get_case))
        .route("/admin/cases/{id}/retry", post(admin::retry_case))
        .route("/admin/cases/{id}/decision", post(admin::decide_case))
        .route("/admin/records/students", post(records::post_students))
        .route("/admin/records/students/{id}", get(records::get_student))
        .route("/admin/records/slots", post(records::post_slots))
        .route("/admin/kb", post(records::post_articles))
        .route("/admin/tools", get(admin::list_tools))
        .route("/metrics", get(metrics_text))
        .route(
            "/admin/degraded",
            get(admin::get_degraded).post(admin::set_degraded),
        )
        .route("/admin/payments/{order_id}", get(admin::get_payment))
        .route("/admin/webhooks/rejected", get(webhooks::list_rejected))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_admin,
        ));
    // The body limit sits outside the timeout (tower-http 0.6), and axum's
    // own default limit (2 MB) is lifted where ours is larger.
    let whatsapp = Router::new()
        .route(
            "/webhooks/whatsapp",
            get(webhooks::whatsapp_verify).post(webhooks::whatsapp_event),
        )
        .layer(axum::extract::DefaultBodyLimit::max(webhook_body_limit))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            Duration::from_secs(30),
        ))
        .layer(RequestBodyLimitLayer::new(webhook_body_limit));
    let rest = Router::new()
        .route("/v1/messages", post(ingest::post_message))
        .route("/healthz", get(healthz))
        .route("/webhooks/midtrans", post(webhooks::midtrans_event))
        .route("/webhooks/telegram", post(webhooks::telegram_event))
        .merge(admin)
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            Duration::from_secs(30),
        ))
        .layer(RequestBodyLimitLayer::new(body_limit));
    Router::new().merge(whatsapp).merge(rest).with_state(state)
}

/// `GET /metrics`: Prometheus text. Gauges of the desk's present state are
/// computed from the store here; counters and histograms were recorded as
/// things happened.
async fn metrics_text(axum::extract::State(state): axum::extract::State<AppState>) -> Response {
    let stats = state.engine.stats().await;
    metrics::gauge!("caseflow_active_actors").set(stats.active as f64);
    let engine = state.engine.clone();
    let computed = tokio::task::spawn_blocking(move || views::desk_gauges(&engine)).await;
    match computed {
        Ok(Ok(())) => (
            [(
                axum::http::header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            crate::telemetry::install().render(),
        )
            .into_response(),
        Ok(Err(e)) => ApiError::internal(e).into_response(),
        Err(e) => ApiError::internal(e).into_response(),
    }
}

async fn healthz() -> impl IntoResponse {
    Json(serde_json::json!({ "status": "ok" }))
}

/// An error answer: a status and a message naming what is wrong.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::NOT_FOUND,
            message: message.into(),
        }
    }

    pub fn conflict(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::CONFLICT,
            message: message.into(),
        }
    }

    pub fn internal(message: impl std::fmt::Display) -> ApiError {
        tracing::error!(error = %message, "request failed");
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: "internal error; see the server log".into(),
        }
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn unauthorized() -> ApiError {
        ApiError {
            status: StatusCode::UNAUTHORIZED,
            message: "missing or wrong bearer token".into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(serde_json::json!({ "error": self.message })),
        )
            .into_response()
    }
}
