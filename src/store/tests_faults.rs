//! The store under faults: a panicking op, failing writes that come back,
//! a writer that cannot go on, and a store that lost acknowledged writes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::health::Condition;
use super::*;
use crate::core::case::{CaseRecord, InboundMessage};
use crate::core::types::{Channel, CustomerKey, MessageId, Mode, State, Timestamp};
use crate::workflow::WorkflowRef;

fn ingest_of(n: u32) -> (Ingest, impl FnOnce(CaseId) -> CaseRecord + Send + 'static) {
    let customer = CustomerKey {
        channel: Channel::Whatsapp,
        address: format!("+62812000{n:05}"),
    };
    let c = customer.clone();
    let open = move |id| {
        CaseRecord::open(
            id,
            c,
            WorkflowRef {
                name: "support".into(),
                version: 1,
            },
            State::Intake,
            Mode::Pilot,
            Timestamp(1),
        )
    };
    let message = InboundMessage {
        message_id: MessageId(format!("wamid.{n}")),
        text: "halo".into(),
        sent_at: None,
        received_at: Timestamp(1),
    };
    (Ingest { customer, message }, open)
}

async fn ingest(store: &Store, n: u32) -> Result<Ingested, StoreError> {
    let (i, open) = ingest_of(n);
    store.ingest(i, open).await
}

async fn wait_until(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_op_fails_alone_and_the_writer_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path()).unwrap());
    let mut tasks = Vec::new();
    for n in 0..20u32 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            if n == 7 {
                store
                    .committer()
                    .run(|tx| {
                        tx.insert(b"zpanic".to_vec(), b"x".to_vec());
                        if tx.get(b"zpanic")?.is_some() {
                            panic!("an op's bug");
                        }
                        Ok(())
                    })
                    .await
                    .map(|_| None)
            } else {
                ingest(&store, n).await.map(Some)
            }
        }));
    }
    let mut failed = 0;
    for (n, t) in tasks.into_iter().enumerate() {
        match t.await.unwrap() {
            Ok(Some(Ingested::Accepted { .. })) => {}
            Err(StoreError::OpPanicked(text)) => {
                assert_eq!(n, 7);
                assert!(text.contains("an op's bug"));
                failed += 1;
            }
            other => panic!("op {n}: {other:?}"),
        }
    }
    assert_eq!(failed, 1);
    assert_eq!(store.db().unwrap().get(b"zpanic").unwrap(), None);
    assert_eq!(store.health().condition(), Condition::Healthy);
    assert!(matches!(
        ingest(&store, 100).await,
        Ok(Ingested::Accepted { .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_writes_are_refused_reported_and_resumed_by_themselves() {
    let dir = tempfile::tempdir().unwrap();
    let flag = dir.path().join("disk-full");
    let options = StoreOptions {
        faults: StoreFaults {
            fail_writes_while: Some(flag.clone()),
            ..Default::default()
        },
        ..Default::default()
    };
    let store = Store::open_with(&dir.path().join("store"), options).unwrap();
    assert!(matches!(
        ingest(&store, 1).await,
        Ok(Ingested::Accepted { .. })
    ));

    std::fs::write(&flag, "").unwrap();
    let err = ingest(&store, 2).await.unwrap_err();
    assert!(err.is_unavailable(), "{err:?}");
    assert!(err.to_string().contains("No space left"), "{err}");
    let reason = store.health().check().unwrap_err();
    assert!(reason.contains("No space left"), "{reason}");
    // Refused at once while failing, never acknowledged.
    let err = ingest(&store, 3).await.unwrap_err();
    assert!(err.is_unavailable(), "{err:?}");

    std::fs::remove_file(&flag).unwrap();
    wait_until("the store to resume", || store.health().check().is_ok()).await;
    // What was refused was not stored: taken now as new; what was
    // acknowledged before is still there.
    assert!(matches!(
        ingest(&store, 2).await,
        Ok(Ingested::Accepted { .. })
    ));
    assert!(matches!(
        ingest(&store, 3).await,
        Ok(Ingested::Accepted { .. })
    ));
    assert!(matches!(
        ingest(&store, 1).await,
        Ok(Ingested::Duplicate { .. })
    ));
    store.close().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_writer_that_cannot_go_on_is_reported_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let flag = dir.path().join("panic");
    let options = StoreOptions {
        faults: StoreFaults {
            panic_writer_when: Some(flag.clone()),
            ..Default::default()
        },
        ..Default::default()
    };
    let store = Store::open_with(&dir.path().join("store"), options).unwrap();
    let mut changes = store.health().subscribe();
    assert!(ingest(&store, 1).await.is_ok());
    std::fs::write(&flag, "").unwrap();
    let err = ingest(&store, 2).await.unwrap_err();
    assert!(matches!(err, StoreError::WriterStopped(_)), "{err:?}");
    changes
        .wait_for(|c| matches!(c, Condition::Stopped { .. }))
        .await
        .unwrap();
    assert!(store.health().check().unwrap_err().contains("panicked"));
    assert!(matches!(
        ingest(&store, 3).await,
        Err(StoreError::WriterStopped(_))
    ));
    assert!(store.close().is_err(), "the final flush did not happen");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_that_lost_acknowledged_writes_is_refused_with_how_much() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let backup = dir.path().join("backup");
    {
        let store = Store::open(&path).unwrap();
        for n in 0..5 {
            ingest(&store, n).await.unwrap();
        }
        store.close().unwrap();
    }
    copy_dir(&path, &backup);
    let journal_then = std::fs::read(path.join(journal::FILE_NAME)).unwrap();
    {
        let store = Store::open(&path).unwrap();
        for n in 5..25 {
            ingest(&store, n).await.unwrap();
        }
        store.close().unwrap();
    }
    // Restore sled's files from the earlier copy, keeping the journal.
    for name in ["conf", "db"] {
        std::fs::copy(backup.join(name), path.join(name)).unwrap();
    }
    let err = Store::open(&path).err().expect("refused");
    match &err {
        StoreError::LostWrites {
            acknowledged,
            held,
            groups,
            held_groups,
            ..
        } => {
            // 20 ingests after the copy, each its own group (sequential).
            assert_eq!(acknowledged - held, 20, "{err}");
            assert_eq!(groups - held_groups, 20, "{err}");
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("at least 20 writes"), "{err}");
    // The old journal with the old files agrees again.
    std::fs::write(path.join(journal::FILE_NAME), journal_then).unwrap();
    Store::open(&path).unwrap().close().unwrap();
}

#[test]
fn a_damaged_sled_config_is_named() {
    let dir = tempfile::tempdir().unwrap();
    Store::open(dir.path()).unwrap().close().unwrap();
    let conf = dir.path().join("conf");
    let mut bytes = std::fs::read(&conf).unwrap();
    bytes[3] ^= 0x01;
    std::fs::write(&conf, bytes).unwrap();
    let err = Store::open(dir.path()).err().expect("refused");
    assert!(
        matches!(&err, StoreError::Damaged { file, .. } if file.ends_with("conf")),
        "{err:?}"
    );
}

#[tokio::test]
async fn flush_durability_writes_and_reopens() {
    let dir = tempfile::tempdir().unwrap();
    let options = StoreOptions {
        durability: Durability::Flush,
        ..Default::default()
    };
    {
        let store = Store::open_with(dir.path(), options.clone()).unwrap();
        ingest(&store, 1).await.unwrap();
        store.close().unwrap();
    }
    let store = Store::open_with(dir.path(), options).unwrap();
    assert!(matches!(
        ingest(&store, 1).await,
        Ok(Ingested::Duplicate { .. })
    ));
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}
