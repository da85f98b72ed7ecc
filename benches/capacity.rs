//! Recovery time and memory per open case, measured in fresh processes.
//!
//! For N in 10k and 100k: a child process fills a store with N open cases
//! (half waiting on an operator, half closed-conversation cases with a 24 h
//! idle timer) and aborts without a clean shutdown, as after kill -9. A
//! second child then opens the desk on that store, the way `serve` starts,
//! and reports how long until every open case was resumed and how much
//! resident memory the passivated cases added. A third measures the memory
//! of N idle actors: what a case costs while it is active.
//!
//! Last, the weekly report over 100k cases with a full turn each.
//!
//! Run: `cargo bench --bench capacity`. Figures: benches/README.md.

use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use caseflow::core::case::{ArmedTimer, InboundMessage};
use caseflow::core::types::{Channel, CustomerKey, MessageId, State, Timestamp, WaitingOn};
use caseflow::store::{Ingest, Ingested, Store};

const WORKERS: usize = 64;

fn rss() -> u64 {
    caseflow::telemetry::rss_bytes().unwrap_or(0)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("--fill") => fill(args[2].parse().unwrap(), &args[3]),
        Some("--recover") => recover(args[2].parse().unwrap(), &args[3]),
        Some("--actors") => actors(args[2].parse().unwrap()),
        Some("--transitions") => transitions(),
        Some("--report") => report(args[2].parse().unwrap()),
        _ => parent(),
    }
}

fn parent() {
    let me = std::env::current_exe().unwrap();
    println!(
        "{:>8} {:>12} {:>12} {:>10} {:>12} {:>14}",
        "open", "resume ms", "engine ms", "woken", "RSS MiB", "bytes/case"
    );
    for n in [10_000u64, 100_000] {
        let dir =
            std::env::temp_dir().join(format!("caseflow-capacity-{n}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let fill = Command::new(&me)
            .args(["--fill", &n.to_string(), dir.to_str().unwrap()])
            .status()
            .unwrap();
        assert!(!fill.success(), "the fill child aborts like kill -9");
        let out = Command::new(&me)
            .args(["--recover", &n.to_string(), dir.to_str().unwrap()])
            .output()
            .unwrap();
        print!("{}", String::from_utf8_lossy(&out.stdout));
        let _ = std::fs::remove_dir_all(&dir);
    }
    let out = Command::new(&me)
        .args(["--actors", "10000"])
        .output()
        .unwrap();
    print!("{}", String::from_utf8_lossy(&out.stdout));
    let out = Command::new(&me).arg("--transitions").output().unwrap();
    print!("{}", String::from_utf8_lossy(&out.stdout));
    let out = Command::new(&me)
        .args(["--report", "100000"])
        .output()
        .unwrap();
    print!("{}", String::from_utf8_lossy(&out.stdout));
}

/// The weekly report over `n` cases spread over four weeks, each with a
/// full turn in its history (message, four transitions, a reply and its
/// effect record): the time `caseflow report` takes on such a store.
fn report(n: u64) {
    use caseflow::core::case::{CaseRecord, TransitionRecord};
    use caseflow::core::types::{IdempotencyKey, Mode, Tier};
    use caseflow::store::{Commit, Committed, EffectOutcome, SendIntent};
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&dir.path().join("store")).unwrap());
    let now = caseflow::engine::clock::Clock::now(&caseflow::engine::clock::SystemClock);
    let filled = Instant::now();
    rt.block_on(async {
        let wf =
            caseflow::workflow::Workflow::parse(caseflow::engine::workflows::EMBEDDED).unwrap();
        store
            .put_workflow(wf.name.clone(), wf.version, wf.source.clone())
            .await
            .unwrap();
        let reference = wf.reference();
        let next = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let mut tasks = Vec::new();
        for _ in 0..WORKERS {
            let (store, next, reference) = (store.clone(), next.clone(), reference.clone());
            tasks.push(tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= n {
                        break;
                    }
                    // Spread over 28 days and over the hours of a day.
                    let at =
                        now.plus_millis(-((i % 28) as i64) * 86_400_000 - (i as i64 % 3600) * 1000);
                    let customer = CustomerKey {
                        channel: Channel::Whatsapp,
                        address: format!("+6283{i:09}"),
                    };
                    let message = InboundMessage {
                        message_id: MessageId(format!("wamid.report.{i}")),
                        text: if i % 5 == 0 {
                            "ada parkir mobil di studio?".into()
                        } else {
                            "berapa harga les vokal?".into()
                        },
                        sent_at: None,
                        received_at: at,
                    };
                    let (r, c) = (reference.clone(), customer.clone());
                    let opened = store
                        .ingest(Ingest { customer, message }, move |id| {
                            CaseRecord::open(id, c, r, State::Intake, Mode::Pilot, at)
                        })
                        .await
                        .unwrap();
                    let Ingested::Accepted { case, opened: true } = opened else {
                        continue;
                    };
                    let mut record = store.case(case).unwrap().unwrap();
                    let tier = [Tier::R0, Tier::R1, Tier::R2, Tier::R3][(i % 4) as usize];
                    let step = |from, to, reason: &str, ms| TransitionRecord {
                        from,
                        to,
                        at: at.plus_millis(ms),
                        reason: reason.into(),
                    };
                    record.tier = Some(tier);
                    record.state = State::Send;
                    record.updated_at = at.plus_millis(20);
                    let key = IdempotencyKey::for_step(case, 0);
                    let first = Commit {
                        case: record.clone(),
                        transitions: vec![
                            step(
                                State::Intake,
                                State::Tier,
                                "turn of 1 message(s) collected",
                                5,
                            ),
                            step(
                                State::Tier,
                                State::Qa,
                                &format!("rule bench: {}", tier.as_str()),
                                10,
                            ),
                            step(State::Qa, State::Send, "qa passed: wa.r0.faq", 20),
                        ],
                        sends: vec![SendIntent {
                            step: 0,
                            key,
                            tool: "whatsapp".into(),
                            template: Some("wa.r0.faq".into()),
                            text: "Les vokal privat Rp 450.000 per 60 menit.".into(),
                        }],
                        tools: Vec::new(),
                        done: None,
                    };
                    let Committed::Written { rev } = store.commit(first).await.unwrap() else {
                        panic!("first commit conflicts");
                    };
                    record.rev = rev;
                    record.state = State::Close;
                    record.waiting_on = WaitingOn::Customer;
                    record.first_response_at = Some(at.plus_millis(400));
                    record.updated_at = at.plus_millis(400);
                    let second = Commit {
                        case: record,
                        transitions: vec![step(State::Send, State::Close, "wa.r0.faq sent", 400)],
                        sends: Vec::new(),
                        tools: Vec::new(),
                        done: Some(EffectOutcome {
                            step: 0,
                            attempts: 1,
                            provider_id: Some(format!("wamid.out.{i}")),
                            error: None,
                        }),
                    };
                    store.commit(second).await.unwrap();
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    });
    let fill = filled.elapsed();
    let tz = chrono_tz::Asia::Jakarta;
    let today = caseflow::report::period::local_date(now, tz);
    let period = caseflow::report::period::Period::new(None, None, today, tz).unwrap();
    let mut times = Vec::new();
    let mut read = 0;
    for _ in 0..3 {
        let started = Instant::now();
        let r = caseflow::report::compute(&store, period, now).unwrap();
        times.push(started.elapsed());
        read = r.cases_read;
        assert!(r.period.turns > 0);
    }
    times.sort();
    println!(
        "report over {read} cases (4 weeks, one turn each): median {} ms of 3 runs (fill {} s)",
        times[1].as_millis(),
        fill.as_secs()
    );
}

/// Latency of one durable transition with 64 cases committing at once,
/// beside a bare sled insert + flush by 64 tasks at once, same disk.
fn transitions() {
    use caseflow::core::case::TransitionRecord;
    use caseflow::store::{Commit, Committed};
    const CASES: u64 = 64;
    const EACH: usize = 300;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(&dir.path().join("store")).unwrap());
        let mut ids = Vec::new();
        for i in 0..CASES {
            let customer = CustomerKey {
                channel: Channel::Whatsapp,
                address: format!("+6282{i:09}"),
            };
            let message = InboundMessage {
                message_id: MessageId(format!("t{i}")),
                text: "x".into(),
                sent_at: None,
                received_at: Timestamp(0),
            };
            let c = customer.clone();
            let r = caseflow::workflow::WorkflowRef {
                name: "support".into(),
                version: 2,
            };
            if let Ingested::Accepted { case, .. } = store
                .ingest(Ingest { customer, message }, move |id| {
                    caseflow::core::case::CaseRecord::open(
                        id,
                        c,
                        r,
                        State::Qa,
                        caseflow::core::types::Mode::Pilot,
                        Timestamp(0),
                    )
                })
                .await
                .unwrap()
            {
                ids.push(case);
            }
        }
        let started = Instant::now();
        let mut tasks = Vec::new();
        for id in ids {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let mut lat = Vec::with_capacity(EACH);
                for _ in 0..EACH {
                    let t = Instant::now();
                    let mut record = store.case(id).unwrap().unwrap();
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
                    assert!(matches!(
                        store.commit(commit).await.unwrap(),
                        Committed::Written { .. }
                    ));
                    lat.push(t.elapsed().as_micros() as u64);
                }
                lat
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.unwrap());
        }
        let wall = started.elapsed();
        all.sort_unstable();
        let pct = |v: &[u64], q: f64| v[((v.len() as f64 - 1.0) * q) as usize];
        println!(
            "transition, {CASES} cases at once: p50 {} µs, p99 {} µs, {:.1} k/s",
            pct(&all, 0.5),
            pct(&all, 0.99),
            all.len() as f64 / wall.as_secs_f64() / 1000.0
        );
        // Baseline: the same concurrency on bare sled, one insert + flush
        // each (blocking flushes on the blocking pool, as the committer's).
        let db = sled::Config::new()
            .path(dir.path().join("bare"))
            .open()
            .unwrap();
        let started = Instant::now();
        let mut tasks = Vec::new();
        for i in 0..CASES {
            let db = db.clone();
            tasks.push(tokio::spawn(async move {
                let mut lat = Vec::with_capacity(EACH);
                for j in 0..EACH {
                    let t = Instant::now();
                    let db = db.clone();
                    tokio::task::spawn_blocking(move || {
                        db.insert(format!("k{i}-{j}"), vec![0u8; 400]).unwrap();
                        db.flush().unwrap();
                    })
                    .await
                    .unwrap();
                    lat.push(t.elapsed().as_micros() as u64);
                }
                lat
            }));
        }
        let mut bare = Vec::new();
        for t in tasks {
            bare.extend(t.await.unwrap());
        }
        let wall = started.elapsed();
        bare.sort_unstable();
        println!(
            "bare sled insert+flush, {CASES} tasks at once: p50 {} µs, p99 {} µs, {:.1} k/s",
            pct(&bare, 0.5),
            pct(&bare, 0.99),
            bare.len() as f64 / wall.as_secs_f64() / 1000.0
        );
    });
}

/// Fills a store with `n` open, waiting cases, then aborts.
fn fill(n: u64, dir: &str) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = Arc::new(Store::open(&std::path::Path::new(dir).join("store")).unwrap());
        let wf =
            caseflow::workflow::Workflow::parse(caseflow::engine::workflows::EMBEDDED).unwrap();
        store
            .put_workflow(wf.name.clone(), wf.version, wf.source.clone())
            .await
            .unwrap();
        let reference = wf.reference();
        let next = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let mut tasks = Vec::new();
        for _ in 0..WORKERS {
            let (store, next, reference) = (store.clone(), next.clone(), reference.clone());
            tasks.push(tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= n {
                        break;
                    }
                    let customer = CustomerKey {
                        channel: Channel::Whatsapp,
                        address: format!("+6281{i:09}"),
                    };
                    let message = InboundMessage {
                        message_id: MessageId(format!("wamid.cap.{i}")),
                        text: "halo kak".into(),
                        sent_at: None,
                        received_at: Timestamp(0),
                    };
                    let r = reference.clone();
                    let c = customer.clone();
                    let opened = store
                        .ingest(Ingest { customer, message }, move |id| {
                            caseflow::core::case::CaseRecord::open(
                                id,
                                c,
                                r,
                                State::Intake,
                                caseflow::core::types::Mode::Pilot,
                                Timestamp(0),
                            )
                        })
                        .await
                        .unwrap();
                    let Ingested::Accepted { case, .. } = opened else {
                        continue;
                    };
                    let now =
                        caseflow::engine::clock::Clock::now(&caseflow::engine::clock::SystemClock);
                    let mut c = store.case(case).unwrap().unwrap();
                    {
                        let c = &mut c;
                        c.inbound_cursor = u64::MAX - 1;
                        c.first_response_at = Some(now);
                        c.tier = Some(caseflow::core::types::Tier::R1);
                        if i % 2 == 0 {
                            c.state = State::Qa;
                            c.waiting_on = WaitingOn::Operator;
                        } else {
                            c.state = State::Close;
                            c.waiting_on = WaitingOn::Customer;
                            c.timers = vec![ArmedTimer {
                                name: "idle_close".into(),
                                due: now.plus_millis(24 * 3600 * 1000),
                            }];
                        }
                    }
                    store
                        .commit(caseflow::store::Commit {
                            case: c,
                            transitions: Vec::new(),
                            sends: Vec::new(),
                            tools: Vec::new(),
                            done: None,
                        })
                        .await
                        .unwrap();
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    });
    // Everything was acknowledged after its flush; no clean shutdown.
    std::process::abort();
}

/// Opens the desk on a filled store and reports resume time and memory.
fn recover(n: u64, dir: &str) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        caseflow::telemetry::install();
        let before = rss();
        let started = Instant::now();
        let config = caseflow::config::Config::default();
        let desk = caseflow::app::open_desk(
            &config,
            std::path::Path::new(dir),
            caseflow::http::auth::Access::new(
                "capacity-bench-token-0123456789abcdef",
                "capacity-bench-ingest-0123456789abcdef",
            ),
        )
        .await
        .unwrap();
        let elapsed = started.elapsed();
        let r = desk.recovery;
        assert_eq!(r.open as u64, n, "every case is open");
        let after = rss();
        println!(
            "{:>8} {:>12} {:>12} {:>10} {:>12.1} {:>14}",
            r.open,
            elapsed.as_millis(),
            r.elapsed_ms,
            r.woken,
            after as f64 / 1048576.0,
            (after.saturating_sub(before)) / n
        );
    });
}

struct Idle;

impl ractor::Actor for Idle {
    type Msg = ();
    type State = ();
    type Arguments = ();
    async fn pre_start(
        &self,
        _: ractor::ActorRef<()>,
        _: (),
    ) -> Result<(), ractor::ActorProcessingErr> {
        Ok(())
    }
}

/// Memory of `n` idle actors: what each case adds while it is active.
fn actors(n: usize) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let before = rss();
        let mut refs = Vec::with_capacity(n);
        for _ in 0..n {
            let (a, _) = ractor::Actor::spawn(None, Idle, ()).await.unwrap();
            refs.push(a);
        }
        let after = rss();
        println!(
            "{n} idle case actors: {} bytes each",
            after.saturating_sub(before) / n as u64
        );
        for a in refs {
            a.stop(None);
        }
    });
}
