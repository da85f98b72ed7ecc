//! A fake provider HTTP server on 127.0.0.1 for adapter tests: answers from a
//! script of behaviours, then a default, and records every request.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

#[derive(Debug, Clone)]
pub enum Behaviour {
    /// 200 with a WhatsApp-style message id.
    Ok,
    Status(u16),
    /// 429 with `Retry-After: secs`.
    TooMany(u64),
    /// Answers only after this long (longer than the client's timeout).
    Hang(Duration),
    /// 200 with this body.
    Json(Value),
}

#[derive(Debug, Clone)]
pub struct Request {
    pub at: Instant,
    pub path: String,
    pub authorization: Option<String>,
    pub body: Value,
    pub idempotency_key: Option<String>,
}

#[derive(Default)]
struct Inner {
    script: VecDeque<Behaviour>,
    default: Option<Behaviour>,
    requests: Vec<Request>,
    counter: u64,
}

#[derive(Clone, Default)]
pub struct Fake {
    inner: Arc<Mutex<Inner>>,
}

impl Fake {
    /// Starts the fake; returns it and its base URL.
    pub async fn start() -> (Fake, String) {
        let fake = Fake::default();
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(fake.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (fake, format!("http://{addr}"))
    }

    /// Behaviours for the next requests, in order.
    pub fn script(&self, behaviours: impl IntoIterator<Item = Behaviour>) {
        self.inner.lock().unwrap().script.extend(behaviours);
    }

    /// What every request gets once the script is used up (default: Ok).
    pub fn set_default(&self, b: Behaviour) {
        self.inner.lock().unwrap().default = Some(b);
    }

    pub fn requests(&self) -> Vec<Request> {
        self.inner.lock().unwrap().requests.clone()
    }
}

async fn handle(
    State(fake): State<Fake>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let (behaviour, n) = {
        let mut inner = fake.inner.lock().unwrap();
        inner.requests.push(Request {
            at: Instant::now(),
            path: uri.path().to_string(),
            authorization: headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            body: serde_json::from_slice(&body).unwrap_or(Value::Null),
            idempotency_key: headers
                .get("idempotency-key")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
        });
        inner.counter += 1;
        let b = inner
            .script
            .pop_front()
            .or(inner.default.clone())
            .unwrap_or(Behaviour::Ok);
        (b, inner.counter)
    };
    match behaviour {
        Behaviour::Ok => axum::Json(json!({
            "messaging_product": "whatsapp",
            "messages": [{"id": format!("wamid.fake.{n}")}]
        }))
        .into_response(),
        Behaviour::Status(code) => (
            StatusCode::from_u16(code).unwrap(),
            axum::Json(json!({"error": {"message": format!("fake {code}")}})),
        )
            .into_response(),
        Behaviour::TooMany(secs) => (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", secs.to_string())],
            "slow down",
        )
            .into_response(),
        Behaviour::Json(v) => axum::Json(v).into_response(),
        Behaviour::Hang(d) => {
            tokio::time::sleep(d).await;
            axum::Json(json!({"messages": [{"id": format!("wamid.late.{n}")}]})).into_response()
        }
    }
}
