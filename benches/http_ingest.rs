//! HTTP ingest at 32 connections against a desk started in this process
//! (the same router `serve` runs), in both durability modes: each message
//! is a `POST /v1/messages` answered 202 after its write is synced (fsync)
//! or flushed (flush). Client and server share the machine, as a load
//! generator on the same host would. Messages come from 10,000 customers,
//! so cases open and their actors run meanwhile, as on a live desk.
//!
//! Run: `cargo bench --bench http_ingest`. Figures: benches/README.md.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

use caseflow::config::Config;
use caseflow::store::Durability;

const CONNECTIONS: u64 = 32;
const INGEST_TOKEN: &str = "bench-ingest-token-0123456789abcdef";
const CUSTOMERS: u64 = 10_000;

struct Target {
    base: String,
    _dir: tempfile::TempDir,
}

async fn start(durability: Durability) -> Target {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.store.durability = durability;
    let access =
        caseflow::http::auth::Access::new("bench-admin-token-0123456789abcdef", INGEST_TOKEN);
    let desk = caseflow::app::open_desk(&config, dir.path(), access)
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, desk.router).await });
    Target { base, _dir: dir }
}

/// Posts `n` messages over `CONNECTIONS` connections; the time it took.
async fn post(client: &reqwest::Client, base: &str, next: &Arc<AtomicU64>, n: u64) -> Duration {
    let started = Instant::now();
    let tasks: Vec<_> = (0..CONNECTIONS)
        .map(|c| {
            let share = n / CONNECTIONS + u64::from(c < n % CONNECTIONS);
            let (client, url, next) = (client.clone(), format!("{base}/v1/messages"), next.clone());
            tokio::spawn(async move {
                for _ in 0..share {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let body = serde_json::json!({
                        "channel": "whatsapp",
                        "from": format!("+62856{:08}", i % CUSTOMERS),
                        "message_id": format!("wamid.bench.{i}"),
                        "text": "halo kak, jadwal les saya kapan ya?",
                    });
                    let r = client
                        .post(&url)
                        .bearer_auth(INGEST_TOKEN)
                        .json(&body)
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(r.status().as_u16(), 202);
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    started.elapsed()
}

fn bench_http(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(CONNECTIONS as usize)
        .build()
        .unwrap();
    let next = Arc::new(AtomicU64::new(0));
    let mut g = c.benchmark_group("http ingest");
    g.sample_size(10).measurement_time(Duration::from_secs(8));
    g.throughput(Throughput::Elements(1));
    for durability in [Durability::Fsync, Durability::Flush] {
        let target = rt.block_on(start(durability));
        g.bench_function(
            format!("{} {CONNECTIONS} connections", durability.as_str()),
            |b| b.iter_custom(|n| rt.block_on(post(&client, &target.base, &next, n))),
        );
    }
    g.finish();
}

criterion_group!(benches, bench_http);
criterion_main!(benches);
