//! Property test over the whole HTTP surface: random methods, paths, query
//! strings, headers (credentials of every kind, signatures made with the
//! real secrets or not) and bodies (random bytes, random JSON, contract
//! shapes with random values, oversized). The desk must never panic and
//! never answer a 5xx other than the store's 503. A second property sends
//! raw garbage over TCP to the real binary, which must keep serving.

mod common;

use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, Method, Request};
use hmac::{KeyInit, Mac};
use proptest::prelude::*;
use serde_json::{Value, json};
use tower::ServiceExt;

const ADMIN: &str = "fuzz-admin-token-0123456789abcdef";
const INGEST: &str = "fuzz-ingest-token-0123456789abcdef";
const VIEWER: &str = "fuzz-viewer-token-0123456789abcdef";
const COACH: &str = "fuzz-coach-token-0123456789abcdef";
const APP_SECRET: &str = "fuzz-app-secret";
const TG_SECRET: &str = "fuzz-telegram-secret";
const MIDTRANS_KEY: &str = "fuzz-midtrans-key";

struct FuzzDesk {
    runtime: tokio::runtime::Runtime,
    router: axum::Router,
    cases: Vec<String>,
    _dir: tempfile::TempDir,
}

/// One desk for every case of the property, with a few real cases in it.
fn desk() -> FuzzDesk {
    {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut config = caseflow::config::Config::default();
        config.channels.whatsapp.app_secret = APP_SECRET.into();
        config.channels.whatsapp.verify_token = "fuzz-verify".into();
        config.channels.telegram.secret_token = TG_SECRET.into();
        config.midtrans.server_key = MIDTRANS_KEY.into();
        let users = vec![
            caseflow::http::auth::User {
                name: "vera".into(),
                role: caseflow::http::auth::Role::Viewer,
                token_sha256: caseflow::http::auth::token_hash(VIEWER),
            },
            caseflow::http::auth::User {
                name: "dewi".into(),
                role: caseflow::http::auth::Role::Coach,
                token_sha256: caseflow::http::auth::token_hash(COACH),
            },
        ];
        let access = caseflow::http::auth::Access::new(ADMIN, INGEST).with_users(users);
        let (router, cases) = runtime.block_on(async {
            let desk = caseflow::app::open_desk(&config, dir.path(), access)
                .await
                .unwrap();
            let tz = config.policy.build().unwrap().timezone;
            caseflow::app::load_demo(&desk.engine, tz).await.unwrap();
            let mut cases = Vec::new();
            for (i, (from, text)) in [
                ("+6281234567890", "kak jadwal les saya kapan?"),
                ("+6285611112222", "saya mau refund"),
                ("+6287700000001", "berapa harga les vokal?"),
            ]
            .into_iter()
            .enumerate()
            {
                let body = json!({"channel": "whatsapp", "from": from, "message_id": format!("wamid.seed.{i}"), "text": text});
                let r = desk
                    .router
                    .clone()
                    .oneshot(
                        Request::post("/v1/messages")
                            .header("authorization", format!("Bearer {INGEST}"))
                            .header("content-type", "application/json")
                            .body(Body::from(body.to_string()))
                            .unwrap(),
                    )
                    .await
                    .unwrap();
                assert_eq!(r.status(), 202);
                let bytes = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
                let v: Value = serde_json::from_slice(&bytes).unwrap();
                cases.push(v["case_id"].as_str().unwrap().to_string());
            }
            (desk.router, cases)
        });
        FuzzDesk {
            runtime,
            router,
            cases,
            _dir: dir,
        }
    }
}

const FIELDS: &[&str] = &[
    "channel",
    "from",
    "message_id",
    "text",
    "at",
    "decision",
    "by",
    "reason",
    "on",
    "id",
    "name",
    "phone",
    "email",
    "rev",
    "invoices",
    "sessions",
    "starts_at",
    "coach",
    "status",
    "questions",
    "version",
    "body",
    "title",
    "number",
    "order_id",
    "amount",
    "object",
    "entry",
    "changes",
    "value",
    "messages",
    "statuses",
    "callback_query",
    "data",
    "status_code",
    "gross_amount",
    "signature_key",
    "transaction_status",
    "fraud_status",
    "filter",
    "dry_run",
    "type",
    "timestamp",
    "recipient_id",
    "biz_opaque_callback_data",
];

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,40}".prop_map(Value::from),
        prop::sample::select(vec![
            "whatsapp",
            "+6281234567890",
            "approve",
            "edit",
            "deny",
            "escalate",
            "R3",
            "2026-11-24T10:00:00+07:00",
            "published",
            "draft",
            "settlement",
            "",
            "\u{200b}",
            "wamid.seed.0",
            "coach",
            "admin",
        ])
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 40, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop_oneof![
                        prop::sample::select(FIELDS).prop_map(str::to_string),
                        ".{0,12}"
                    ],
                    inner
                ),
                0..7
            )
            .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => json_value().prop_map(|v| v.to_string().into_bytes()),
        2 => prop::collection::vec(any::<u8>(), 0..512),
        1 => Just(Vec::new()),
        1 => (0usize..3).prop_map(|n| vec![b'['; 70_000 + n]),
        2 => json_value().prop_map(|v| json!({
            "channel": "whatsapp", "from": "+6281234567890", "message_id": v.clone(), "text": v,
        }).to_string().into_bytes()),
        4 => (
            prop::sample::select(vec!["+6281234567890", "+6285611112222", "+6289900001111", "6281234567890", "+62"]),
            "[ -~]{1,24}",
            ".{0,120}",
        ).prop_map(|(from, id, text)| json!({
            "channel": "whatsapp", "from": from, "message_id": id, "text": text,
        }).to_string().into_bytes()),
        1 => ".{0,40}".prop_map(|r| json!({"reason": r}).to_string().into_bytes()),
        2 => (json_value(), json_value()).prop_map(|(d, b)| json!({"decision": d, "by": b, "text": "ok"}).to_string().into_bytes()),
        1 => json_value().prop_map(|v| json!({"object": "whatsapp_business_account", "entry": [{"changes": [{"value": v}]}]}).to_string().into_bytes()),
        1 => json_value().prop_map(|v| json!({"callback_query": {"id": "1", "data": v, "from": {"id": 7}}}).to_string().into_bytes()),
    ]
}

/// A path segment: real ids, numbers in every format, junk, encoded bytes.
fn segment(mut cases: Vec<String>) -> impl Strategy<Value = String> {
    if cases.is_empty() {
        cases.push("+6281234567890".into());
    }
    prop_oneof![
        prop::sample::select(cases),
        Just("01900000-0000-7000-8000-000000000000".to_string()),
        Just("+6281234567890".to_string()),
        Just("%2B62%20812-3456-7890".to_string()),
        Just("st-sari".to_string()),
        Just("ORDER-001".to_string()),
        Just("..".to_string()),
        "[a-zA-Z0-9._~-]{0,24}",
        prop::collection::vec(any::<u8>(), 0..16)
            .prop_map(|b| b.iter().map(|x| format!("%{x:02X}")).collect()),
        "[0-9]{0,300}",
    ]
}

fn query() -> impl Strategy<Value = String> {
    let key = prop::sample::select(vec![
        "state",
        "tier",
        "waiting_on",
        "stuck",
        "limit",
        "cursor",
        "since",
        "customer",
        "order",
        "hub.mode",
        "hub.verify_token",
        "hub.challenge",
        "x",
    ]);
    let value = prop_oneof![
        prop::sample::select(vec![
            "R3",
            "qa",
            "operator",
            "true",
            "1",
            "0",
            "1001",
            "subscribe",
            "fuzz-verify",
            "2026-11-24T00:00:00%2B07:00",
            "00000000000000000000000000000000",
        ])
        .prop_map(str::to_string),
        prop::collection::vec(any::<u8>(), 0..12)
            .prop_map(|b| b.iter().map(|x| format!("%{x:02X}")).collect()),
    ];
    prop::collection::vec((key, value), 0..4).prop_map(|kv| {
        if kv.is_empty() {
            String::new()
        } else {
            let pairs: Vec<String> = kv.into_iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!("?{}", pairs.join("&"))
        }
    })
}

fn path(cases: Vec<String>) -> impl Strategy<Value = String> {
    let templates = vec![
        "/v1/messages",
        "/healthz",
        "/metrics",
        "/admin/me",
        "/admin/cases",
        "/admin/cases/{}",
        "/admin/cases/{}/retry",
        "/admin/cases/{}/decision",
        "/admin/cases/retry",
        "/admin/records/students",
        "/admin/records/students/{}",
        "/admin/records/slots",
        "/admin/kb",
        "/admin/tools",
        "/admin/degraded",
        "/admin/payments/{}",
        "/admin/audit",
        "/admin/customers/{}/export",
        "/admin/customers/{}/erase",
        "/webhooks/whatsapp",
        "/webhooks/midtrans",
        "/webhooks/telegram",
        "/{}",
        "/admin/{}",
        "/console",
        "//admin/cases",
    ];
    (prop::sample::select(templates), segment(cases), query())
        .prop_map(|(t, seg, q)| format!("{}{q}", t.replace("{}", &seg)))
}

fn method() -> impl Strategy<Value = Method> {
    prop_oneof![
        4 => Just(Method::GET),
        4 => Just(Method::POST),
        1 => prop::sample::select(vec![Method::PUT, Method::DELETE, Method::PATCH, Method::HEAD, Method::OPTIONS]),
        1 => "[A-Z]{1,10}".prop_map(|m| Method::from_bytes(m.as_bytes()).unwrap()),
    ]
}

#[derive(Debug, Clone)]
enum Auth {
    None,
    Token(&'static str),
    Raw(Vec<u8>),
}

fn auth() -> impl Strategy<Value = Auth> {
    prop_oneof![
        1 => Just(Auth::None),
        6 => prop::sample::select(vec![ADMIN, INGEST, VIEWER, COACH]).prop_map(Auth::Token),
        1 => prop::collection::vec(32u8..255, 0..80).prop_map(Auth::Raw),
        1 => Just(Auth::Raw(b"Bearer".to_vec())),
        1 => Just(Auth::Raw(format!("bearer {ADMIN}x").into_bytes())),
    ]
}

#[derive(Debug, Clone)]
struct Call {
    method: Method,
    path: String,
    auth: Auth,
    /// Sign the body as the provider would (WhatsApp HMAC, Telegram token).
    signed: bool,
    content_type: Option<String>,
    body: Vec<u8>,
}

/// A request whose route, credential and body shape belong together, with
/// random values: it gets past the gates into the handlers.
fn coherent(cases: Vec<String>) -> impl Strategy<Value = Call> {
    let case = prop::sample::select(cases);
    let post = |path: String, auth: &'static str, body: Vec<u8>| Call {
        method: Method::POST,
        path,
        auth: Auth::Token(auth),
        signed: true,
        content_type: Some("application/json".into()),
        body,
    };
    prop_oneof![
        body().prop_map(move |b| post("/v1/messages".into(), INGEST, b)),
        (
            case.clone(),
            body(),
            prop::sample::select(vec![ADMIN, COACH])
        )
            .prop_map(move |(c, b, t)| post(format!("/admin/cases/{c}/decision"), t, b)),
        (case, prop::sample::select(vec![ADMIN, COACH])).prop_map(move |(c, t)| post(
            format!("/admin/cases/{c}/retry"),
            t,
            Vec::new()
        )),
        (segment(Vec::new()), body()).prop_map(move |(p, b)| post(
            format!("/admin/customers/{p}/erase"),
            COACH,
            b
        )),
        segment(Vec::new()).prop_map(|p| Call {
            method: Method::GET,
            path: format!("/admin/customers/{p}/export"),
            auth: Auth::Token(COACH),
            signed: false,
            content_type: None,
            body: Vec::new(),
        }),
        (
            prop::sample::select(vec![
                "/admin/records/students",
                "/admin/records/slots",
                "/admin/kb",
                "/admin/degraded"
            ]),
            prop_oneof![
                body(),
                prop::collection::vec(json_value(), 0..4)
                    .prop_map(|v| Value::Array(v).to_string().into_bytes())
            ],
        )
            .prop_map(move |(p, b)| post(p.into(), ADMIN, b)),
        (
            prop::sample::select(vec![
                "/webhooks/whatsapp",
                "/webhooks/telegram",
                "/webhooks/midtrans"
            ]),
            body(),
        )
            .prop_map(move |(p, b)| post(p.into(), ADMIN, b)),
        query().prop_map(|q| Call {
            method: Method::GET,
            path: format!("/admin/audit{q}"),
            auth: Auth::Token(VIEWER),
            signed: false,
            content_type: None,
            body: Vec::new(),
        }),
    ]
}

fn call(cases: Vec<String>) -> impl Strategy<Value = Call> {
    prop_oneof![2 => random_call(cases.clone()), 1 => coherent(cases)]
}

fn random_call(cases: Vec<String>) -> impl Strategy<Value = Call> {
    (
        method(),
        path(cases),
        auth(),
        any::<bool>(),
        prop::option::of(prop::sample::select(vec![
            "application/json".to_string(),
            "text/plain".to_string(),
            "application/x-www-form-urlencoded".to_string(),
            "application/json; charset=utf-16".to_string(),
        ])),
        body(),
    )
        .prop_map(|(method, path, auth, signed, content_type, body)| Call {
            method,
            path,
            auth,
            signed,
            content_type,
            body,
        })
}

fn request(c: &Call) -> Option<Request<Body>> {
    let mut b = Request::builder().method(c.method.clone()).uri(&c.path);
    match &c.auth {
        Auth::None => {}
        Auth::Token(t) => b = b.header("authorization", format!("Bearer {t}")),
        Auth::Raw(bytes) => {
            b = b.header("authorization", HeaderValue::from_bytes(bytes).ok()?);
        }
    }
    if let Some(ct) = &c.content_type {
        b = b.header("content-type", ct);
    }
    if c.signed {
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(APP_SECRET.as_bytes()).unwrap();
        mac.update(&c.body);
        let sig = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        b = b
            .header(HeaderName::from_static("x-hub-signature-256"), sig)
            .header(
                HeaderName::from_static("x-telegram-bot-api-secret-token"),
                TG_SECRET,
            );
    }
    b.body(Body::from(c.body.clone())).ok()
}

fn runner_config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

#[test]
fn no_request_makes_the_desk_panic_or_fail_with_a_5xx() {
    let d = desk();
    let seen = std::sync::Mutex::new(std::collections::BTreeMap::<u16, u32>::new());
    let mut runner = proptest::test_runner::TestRunner::new(runner_config(768));
    let outcome = runner.run(&call(d.cases.clone()), |c| {
        let Some(req) = request(&c) else {
            return Ok(());
        };
        let response = d.runtime.block_on(async {
            tokio::time::timeout(Duration::from_secs(20), d.router.clone().oneshot(req)).await
        });
        let response = response.expect("answered in time").expect("infallible");
        let status = response.status().as_u16();
        *seen.lock().unwrap().entry(status).or_default() += 1;
        let body = d
            .runtime
            .block_on(axum::body::to_bytes(response.into_body(), 1 << 22))
            .unwrap_or_default();
        prop_assert!(
            status < 500 || status == 503,
            "{} {} ({:?}) -> {status}: {}",
            c.method,
            c.path,
            c.auth,
            String::from_utf8_lossy(&body)
        );
        Ok(())
    });
    if let Err(e) = outcome {
        panic!("{e}");
    }
    let seen = seen.into_inner().unwrap();
    eprintln!("statuses seen: {seen:?}");
    // The property reached past the gates, not only 401s and 404s.
    for reached in [200, 202, 400, 401, 403, 404] {
        assert!(seen.contains_key(&reached), "no {reached} in {seen:?}");
    }
}

/// Raw bytes: random, a request line with junk after it, an absurd length.
fn garbage() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 1..2048),
        (method(), "[ -~]{0,64}", prop::collection::vec(any::<u8>(), 0..256)).prop_map(|(m, p, rest)| {
            let mut v = format!("{m} /{p} HTTP/1.1\r\nHost: x\r\n").into_bytes();
            v.extend(rest);
            v.extend_from_slice(b"\r\n\r\n");
            v
        }),
        prop::collection::vec(any::<u8>(), 0..64).prop_map(|junk| {
            let mut v = b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n".to_vec();
            v.extend(junk);
            v.extend_from_slice(b"\r\n\r\n");
            v
        }),
    ]
}

/// Raw bytes over TCP to the real binary: whatever arrives, the process
/// keeps serving, and any answer it gives is not a 5xx (other than 503).
/// The server has a short header timeout so a half request does not hold
/// a case for 10 s.
#[tokio::test(flavor = "multi_thread")]
async fn raw_garbage_on_the_socket_never_takes_the_server_down() {
    let dir = tempfile::tempdir().unwrap();
    let config = common::write_config(dir.path(), "", "");
    let text = std::fs::read_to_string(&config).unwrap().replace(
        "[server]\nlisten = \"127.0.0.1:0\"\n",
        "[server]\nlisten = \"127.0.0.1:0\"\nheader_read_timeout = \"300ms\"\n",
    );
    std::fs::write(&config, text).unwrap();
    let server = common::Server::start_with_config(dir.path(), &config).await;
    let addr = server.base.trim_start_matches("http://").to_string();
    let outcome = tokio::task::spawn_blocking(move || {
        let mut runner = proptest::test_runner::TestRunner::new(runner_config(48));
        runner
            .run(&garbage(), |garbage| {
                use std::io::{Read, Write};
                let mut stream = std::net::TcpStream::connect(&addr).unwrap();
                stream
                    .set_read_timeout(Some(Duration::from_secs(3)))
                    .unwrap();
                let _ = stream.write_all(&garbage);
                let mut answer = Vec::new();
                let mut buf = [0u8; 4096];
                while let Ok(n) = stream.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    answer.extend_from_slice(&buf[..n]);
                }
                let text = String::from_utf8_lossy(&answer);
                if let Some(code) = text.strip_prefix("HTTP/1.1 ").and_then(|r| r.get(..3)) {
                    let code: u16 = code.parse().unwrap();
                    prop_assert!(code < 500 || code == 503, "{code} for {garbage:?}");
                }
                let mut probe = std::net::TcpStream::connect(&addr).unwrap();
                probe
                    .set_read_timeout(Some(Duration::from_secs(5)))
                    .unwrap();
                probe
                    .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    .unwrap();
                let mut health = String::new();
                let _ = probe.read_to_string(&mut health);
                prop_assert!(health.starts_with("HTTP/1.1 200"), "{health}");
                Ok(())
            })
            .map_err(|e| e.to_string())
    })
    .await
    .unwrap();
    if let Err(e) = outcome {
        panic!("{e}\nserver log:\n{}", server.log_text());
    }
    server.terminate();
}
