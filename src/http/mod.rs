//! The HTTP surface (axum): ingest, admin and health. Handlers validate
//! input, call the engine or read the store, and shape JSON; they hold no
//! case logic.

mod admin;
mod audit;
pub mod auth;
mod body;
mod bulk_retry;
mod console;
pub mod credentials;
mod customers;
mod ingest;
mod listing;
pub mod records;
mod report;
pub mod server;
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
use auth::Role;

#[derive(Clone)]
pub struct AppState {
    pub engine: Arc<Engine>,
    /// Every accepted credential (CONTRACT section 3, "Access").
    pub access: Arc<auth::Access>,
    pub webhooks: Arc<webhooks::WebhookSecrets>,
}

/// The routes, each group behind the role it needs: viewers read,
/// operators decide the operator lane and retry, coaches also the coach
/// lane and data-subject requests, admins everything; the ingest token
/// only posts messages. `/healthz` and the signed webhooks need no token.
/// Every request body is limited to `body_limit` bytes, except WhatsApp
/// webhook deliveries, which may be up to `webhook_body_limit` (WhatsApp
/// documents deliveries of up to 3 MB).
pub fn router(state: AppState, body_limit: usize, webhook_body_limit: usize) -> Router {
    let needs = |role| {
        axum::middleware::from_fn_with_state(
            auth::Needs {
                state: state.clone(),
                role,
            },
            auth::require,
        )
    };
    let viewer = Router::new()
        .route("/admin/me", get(admin::me))
        .route("/admin/cases", get(admin::list_cases))
        .route("/admin/cases/{id}", get(admin::get_case))
        .route("/admin/records/students/{id}", get(records::get_student))
        .route("/admin/tools", get(admin::list_tools))
        .route("/admin/degraded", get(admin::get_degraded))
        .route("/admin/payments/{order_id}", get(admin::get_payment))
        .route("/admin/webhooks/rejected", get(webhooks::list_rejected))
        .route("/admin/audit", get(audit::list))
        .route("/metrics", get(metrics_text))
        .route("/admin/report", get(report::get_report))
        .route("/admin/qa/samples/{id}", get(report::get_sample))
        .route_layer(needs(Role::Viewer));
    let operator = Router::new()
        .route("/admin/cases/retry", post(bulk_retry::retry_cases))
        .route("/admin/cases/{id}/retry", post(admin::retry_case))
        .route("/admin/cases/{id}/decision", post(admin::decide_case))
        .route("/admin/qa/sample", post(report::post_sample))
        .route("/admin/qa/labels", post(report::post_labels))
        .route_layer(needs(Role::Operator));
    let coach = Router::new()
        .route("/admin/customers/{phone}/export", get(customers::export))
        .route("/admin/customers/{phone}/erase", post(customers::erase))
        .route_layer(needs(Role::Coach));
    let admin = Router::new()
        .route("/admin/records/students", post(records::post_students))
        .route("/admin/records/slots", post(records::post_slots))
        .route("/admin/kb", post(records::post_articles))
        .route("/admin/degraded", post(admin::set_degraded))
        .route_layer(needs(Role::Admin));
    let ingest = Router::new()
        .route("/v1/messages", post(ingest::post_message))
        .route_layer(needs(Role::Ingest));
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
        .route("/healthz", get(healthz))
        .route("/webhooks/midtrans", post(webhooks::midtrans_event))
        .route("/webhooks/telegram", post(webhooks::telegram_event))
        .merge(viewer)
        .merge(operator)
        .merge(coach)
        .merge(admin)
        .merge(ingest)
        .merge(console::router(state.clone()))
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

/// Seconds a client is asked to wait before retrying while the store does
/// not take writes (the writer probes about every second or few).
const STORE_RETRY_AFTER_SECS: u64 = 5;

/// `GET /healthz`: 200 only while the store takes writes; otherwise 503
/// with the reason (CONTRACT section 4).
async fn healthz(axum::extract::State(state): axum::extract::State<AppState>) -> Response {
    match state.engine.store().health().check() {
        Ok(()) => Json(serde_json::json!({ "status": "ok" })).into_response(),
        Err(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(
                axum::http::header::RETRY_AFTER,
                STORE_RETRY_AFTER_SECS.to_string(),
            )],
            Json(serde_json::json!({ "status": "unavailable", "reason": reason })),
        )
            .into_response(),
    }
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

    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::FORBIDDEN,
            message: message.into(),
        }
    }

    pub fn status(&self) -> u16 {
        self.status.as_u16()
    }

    /// The HTTP status the error answers with.
    pub fn status_code(&self) -> StatusCode {
        self.status
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

    /// A store error: 503 with `Retry-After` when the store cannot write
    /// now (disk full, I/O error, writer stopped: nothing was stored), 500
    /// otherwise.
    pub fn store(e: crate::store::StoreError) -> ApiError {
        if e.is_unavailable() {
            tracing::warn!(error = %e, "request refused: the store does not take writes");
            ApiError {
                status: StatusCode::SERVICE_UNAVAILABLE,
                message: format!("nothing was stored, try again later: {e}"),
            }
        } else {
            ApiError::internal(e)
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
        let mut response = (
            self.status,
            Json(serde_json::json!({ "error": self.message })),
        )
            .into_response();
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(STORE_RETRY_AFTER_SECS),
            );
        }
        response
    }
}
