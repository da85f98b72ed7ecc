//! Durable ingest and durable transition, alone and with concurrent writers,
//! in both durability modes, each beside its physical baselines measured in
//! the same run on the same disk: a bare fdatasync group-commit loop (append
//! the group's records to a file, one fdatasync per group) with the same
//! group sizes, and a bare sled insert + flush loop with the same batching.
//!
//! Run: `cargo bench --bench durability`. Figures: benches/README.md.

use std::hint::black_box;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

use caseflow::core::case::{CaseRecord, InboundMessage, TransitionRecord};
use caseflow::core::types::{CaseId, Channel, CustomerKey, MessageId, Mode, State, Timestamp};
use caseflow::store::{Commit, Committed, Durability, Ingest, Ingested, Store, StoreOptions};
use caseflow::workflow::WorkflowRef;

const WRITERS: u64 = 32;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn customer(n: u64) -> CustomerKey {
    CustomerKey {
        channel: Channel::Whatsapp,
        address: format!("+628{n:011}"),
    }
}

fn wf() -> WorkflowRef {
    WorkflowRef {
        name: "support".into(),
        version: 1,
    }
}

async fn ingest_one(store: &Store, n: u64) -> CaseId {
    let c = customer(n);
    let opener = {
        let c = c.clone();
        move |id| CaseRecord::open(id, c, wf(), State::Intake, Mode::Pilot, Timestamp(0))
    };
    let message = InboundMessage {
        message_id: MessageId(format!("wamid.bench.{n}")),
        text: "halo kak, jadwal les saya kapan ya?".into(),
        sent_at: None,
        received_at: Timestamp(0),
    };
    match store
        .ingest(
            Ingest {
                customer: c,
                message,
            },
            opener,
        )
        .await
        .unwrap()
    {
        Ingested::Accepted { case, .. } | Ingested::Duplicate { case } => case,
        Ingested::Conflict => panic!("one sender per message id"),
    }
}

/// One durable transition of `case`: its record plus one transition entry.
async fn transition_one(store: &Store, case: CaseId) {
    loop {
        let mut record = store.case(case).unwrap().unwrap();
        let from = record.state;
        record.state = if from == State::Qa {
            State::Send
        } else {
            State::Qa
        };
        let commit = Commit {
            transitions: vec![TransitionRecord {
                from,
                to: record.state,
                at: Timestamp(0),
                reason: "bench".into(),
            }],
            case: record,
            sends: Vec::new(),
            tools: Vec::new(),
            done: None,
        };
        if let Committed::Written { .. } = store.commit(commit).await.unwrap() {
            return;
        }
    }
}

fn open(dir: &std::path::Path, durability: Durability) -> Arc<Store> {
    let options = StoreOptions {
        durability,
        ..Default::default()
    };
    Arc::new(Store::open_with(dir, options).unwrap())
}

/// `writers` concurrent durable ingests.
fn ingest_many(rt: &tokio::runtime::Runtime, store: &Arc<Store>, next: &AtomicU64, writers: u64) {
    rt.block_on(async {
        let tasks: Vec<_> = (0..writers)
            .map(|_| {
                let store = store.clone();
                let n = next.fetch_add(1, Ordering::Relaxed);
                tokio::spawn(async move { ingest_one(&store, n).await })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    })
}

fn bench_ingest(c: &mut Criterion) {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let fsync = open(&dir.path().join("fsync"), Durability::Fsync);
    let flush = open(&dir.path().join("flush"), Durability::Flush);
    let raw = sled::open(dir.path().join("bare")).unwrap();
    let mut log = std::fs::File::create(dir.path().join("bare.log")).unwrap();
    let next = AtomicU64::new(0);
    let value = vec![7u8; 160];

    let mut g = c.benchmark_group("ingest");
    g.sample_size(20).measurement_time(Duration::from_secs(4));
    for writers in [1, WRITERS] {
        g.throughput(Throughput::Elements(writers));
        g.bench_function(format!("caseflow fsync/{writers} writers"), |b| {
            b.iter(|| ingest_many(&rt, &fsync, &next, writers))
        });
        g.bench_function(format!("bare fdatasync/groups of {writers}"), |b| {
            b.iter(|| {
                for _ in 0..writers {
                    log.write_all(&value).unwrap();
                }
                log.sync_data().unwrap();
            })
        });
        g.bench_function(format!("caseflow flush/{writers} writers"), |b| {
            b.iter(|| ingest_many(&rt, &flush, &next, writers))
        });
        g.bench_function(format!("bare sled insert+flush/groups of {writers}"), |b| {
            b.iter(|| {
                for _ in 0..writers {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    raw.insert(n.to_be_bytes(), value.as_slice()).unwrap();
                }
                black_box(raw.flush().unwrap());
            })
        });
    }
    g.finish();
}

fn bench_transition(c: &mut Criterion) {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&dir.path().join("caseflow")).unwrap());
    let cases: Vec<CaseId> = rt.block_on(async {
        let mut v = Vec::new();
        for n in 0..WRITERS {
            v.push(ingest_one(&store, 1_000_000 + n).await);
        }
        v
    });
    let mut g = c.benchmark_group("transition");
    g.sample_size(20).measurement_time(Duration::from_secs(4));
    g.throughput(Throughput::Elements(1));
    g.bench_function("caseflow fsync/1 writer", |b| {
        b.iter(|| rt.block_on(transition_one(&store, cases[0])))
    });
    g.throughput(Throughput::Elements(WRITERS));
    g.bench_function(format!("caseflow fsync/{WRITERS} writers"), |b| {
        b.iter(|| {
            rt.block_on(async {
                let tasks: Vec<_> = cases
                    .iter()
                    .map(|&case| {
                        let store = store.clone();
                        tokio::spawn(async move { transition_one(&store, case).await })
                    })
                    .collect();
                for t in tasks {
                    t.await.unwrap();
                }
            })
        })
    });
    g.finish();
}

criterion_group!(benches, bench_ingest, bench_transition);
criterion_main!(benches);
