//! A fake provider HTTP server on 127.0.0.1 for adapter tests: answers from a
//! script of behaviours, then a default, and records every request.
//!
//! As the Graph API it also does what WhatsApp does after accepting a send:
//! it POSTs signed status webhooks (`sent`, `delivered`, `read`, or a
//! `failed` with its error) for the message to the server, each carrying the
//! `biz_opaque_callback_data` the send carried, in a configurable order and
//! timing, also before the send's answer.

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
    /// 200 with this message id (as `Ok`, for a known wamid).
    OkWith(String),
}

/// One status webhook the fake posts for each accepted message.
#[derive(Debug, Clone)]
pub struct Planned {
    /// `sent`, `delivered`, `read` or `failed`.
    pub status: String,
    /// How long after the request it is posted.
    pub after: Duration,
    /// For `failed`: the error code and title.
    pub error: Option<(i64, String)>,
    /// Posted before the send is answered (and the answer waits for it).
    pub before_answer: bool,
    /// Without `biz_opaque_callback_data` (as for a message sent without one).
    pub keyless: bool,
}

impl Planned {
    pub fn at(status: &str, after_ms: u64) -> Planned {
        Planned {
            status: status.into(),
            after: Duration::from_millis(after_ms),
            error: None,
            before_answer: false,
            keyless: false,
        }
    }

    pub fn keyless(mut self) -> Planned {
        self.keyless = true;
        self
    }

    pub fn before_answer(mut self) -> Planned {
        self.before_answer = true;
        self
    }

    pub fn failed(code: i64, title: &str, after_ms: u64) -> Planned {
        Planned {
            error: Some((code, title.into())),
            ..Planned::at("failed", after_ms)
        }
    }
}

/// The signed status webhook WhatsApp posts for message `wamid`.
pub fn status_delivery(
    wamid: &str,
    status: &str,
    recipient: &str,
    key: Option<&str>,
    error: Option<(i64, &str)>,
) -> Value {
    let mut st = json!({
        "id": wamid, "status": status,
        "timestamp": (std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()).to_string(),
        "recipient_id": recipient,
        "conversation": {"id": "conv-1", "origin": {"type": "service"}},
        "pricing": {"billable": false, "pricing_model": "PMP", "category": "service", "type": "free_customer_service"},
    });
    if let Some(k) = key {
        st["biz_opaque_callback_data"] = json!(k);
    }
    if let Some((code, title)) = error {
        st["errors"] = json!([{"code": code, "title": title, "message": title,
            "error_data": {"details": title}}]);
        st.as_object_mut().unwrap().remove("conversation");
        st.as_object_mut().unwrap().remove("pricing");
    }
    json!({"object": "whatsapp_business_account", "entry": [{"id": "waba-1", "changes": [{"field": "messages",
        "value": {"messaging_product": "whatsapp",
          "metadata": {"display_phone_number": "15550001111", "phone_number_id": "1234"},
          "statuses": [st]}}]}]})
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
    /// Where and with which app secret status webhooks are posted.
    webhook: Option<(String, String)>,
    plan: Vec<Planned>,
    /// HTTP status of every status webhook posted, in order.
    posted: Vec<(String, String, u16)>,
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

    /// Posts status webhooks to `url`, signed with `app_secret`, for every
    /// message it accepts, following `plan`.
    pub fn post_statuses(&self, url: &str, app_secret: &str, plan: Vec<Planned>) {
        let mut inner = self.inner.lock().unwrap();
        inner.webhook = Some((url.to_string(), app_secret.to_string()));
        inner.plan = plan;
    }

    /// Posts one signed status webhook now, as WhatsApp would.
    pub async fn post_one(&self, wamid: &str, p: &Planned, body: &Value) {
        let webhook = self.inner.lock().unwrap().webhook.clone();
        let (url, secret) = webhook.expect("post_statuses first");
        post_status(self, &url, &secret, wamid, p, body).await;
    }

    /// `(wamid, status, HTTP answer)` of every status webhook posted.
    pub fn posted(&self) -> Vec<(String, String, u16)> {
        self.inner.lock().unwrap().posted.clone()
    }
}

async fn post_status(fake: &Fake, url: &str, secret: &str, wamid: &str, p: &Planned, body: &Value) {
    let delivery = status_delivery(
        wamid,
        &p.status,
        body["to"]
            .as_str()
            .or(body["recipient"].as_str())
            .unwrap_or(""),
        body["biz_opaque_callback_data"]
            .as_str()
            .filter(|_| !p.keyless),
        p.error.as_ref().map(|(c, t)| (*c, t.as_str())),
    )
    .to_string();
    let answer = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .header(
            "x-hub-signature-256",
            caseflow::channels::whatsapp::sign(secret, delivery.as_bytes()),
        )
        .body(delivery)
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0);
    fake.inner
        .lock()
        .unwrap()
        .posted
        .push((wamid.to_string(), p.status.clone(), answer));
}

/// Posts the planned statuses of an accepted message: those due before the
/// answer are awaited here, the others run on after it.
async fn statuses_for(fake: &Fake, wamid: &str, body: &Value, received: Instant) {
    let (webhook, plan) = {
        let inner = fake.inner.lock().unwrap();
        (inner.webhook.clone(), inner.plan.clone())
    };
    let Some((url, secret)) = webhook else {
        return;
    };
    let (before, after): (Vec<Planned>, Vec<Planned>) =
        plan.into_iter().partition(|p| p.before_answer);
    for p in before {
        tokio::time::sleep_until((received + p.after).into()).await;
        post_status(fake, &url, &secret, wamid, &p, body).await;
    }
    let (fake, wamid, body) = (fake.clone(), wamid.to_string(), body.clone());
    tokio::spawn(async move {
        for p in after {
            tokio::time::sleep_until((received + p.after).into()).await;
            post_status(&fake, &url, &secret, &wamid, &p, &body).await;
        }
    });
}

async fn handle(
    State(fake): State<Fake>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let received = Instant::now();
    let parsed: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let (behaviour, n) = {
        let mut inner = fake.inner.lock().unwrap();
        inner.requests.push(Request {
            at: received,
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
    let is_send = uri.path().ends_with("/messages");
    match behaviour {
        Behaviour::Ok | Behaviour::OkWith(_) => {
            let wamid = match behaviour {
                Behaviour::OkWith(w) => w,
                _ => format!("wamid.fake.{n}"),
            };
            if is_send {
                statuses_for(&fake, &wamid, &parsed, received).await;
            }
            axum::Json(json!({
                "messaging_product": "whatsapp",
                "contacts": [{"input": parsed["to"], "wa_id": parsed["to"]}],
                "messages": [{"id": wamid}]
            }))
            .into_response()
        }
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
            // Accepted at once (WhatsApp sends it), answered late.
            let wamid = format!("wamid.late.{n}");
            if is_send {
                statuses_for(&fake, &wamid, &parsed, received).await;
            }
            tokio::time::sleep_until((received + d).into()).await;
            axum::Json(json!({"messages": [{"id": wamid}]})).into_response()
        }
    }
}
