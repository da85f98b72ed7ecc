use std::sync::Arc;

use super::*;
use crate::core::case::{CaseRecord, InboundMessage};
use crate::core::types::{Channel, CustomerKey, MessageId, Mode, State, Timestamp};
use crate::workflow::WorkflowRef;

fn customer(n: u32) -> CustomerKey {
    CustomerKey {
        channel: Channel::Whatsapp,
        address: format!("+62812000{n:05}"),
    }
}

fn message(id: &str) -> InboundMessage {
    InboundMessage {
        message_id: MessageId(id.into()),
        text: "halo".into(),
        sent_at: None,
        received_at: Timestamp(1),
    }
}

fn opener(c: CustomerKey) -> impl FnOnce(CaseId) -> CaseRecord + Send + 'static {
    move |id| {
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
    }
}

async fn ingest(store: &Store, c: CustomerKey, id: &str) -> Ingested {
    store
        .ingest(
            Ingest {
                customer: c.clone(),
                message: message(id),
            },
            opener(c),
        )
        .await
        .unwrap()
}

#[tokio::test]
async fn a_message_id_is_taken_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let Ingested::Accepted { case, opened } = ingest(&store, customer(1), "wamid.1").await else {
        panic!("first delivery is accepted")
    };
    assert!(opened);
    assert_eq!(
        ingest(&store, customer(1), "wamid.1").await,
        Ingested::Duplicate { case }
    );
    assert_eq!(store.history(case).unwrap().len(), 1);
    // A second message of the same customer joins the open case.
    assert_eq!(
        ingest(&store, customer(1), "wamid.2").await,
        Ingested::Accepted {
            case,
            opened: false
        }
    );
    assert_eq!(store.inbound_after(case, 0).unwrap().len(), 2);
}

#[tokio::test]
async fn a_store_reopens_with_its_data_and_its_format_checked() {
    let dir = tempfile::tempdir().unwrap();
    let case = {
        let store = Store::open(dir.path()).unwrap();
        match ingest(&store, customer(2), "wamid.r").await {
            Ingested::Accepted { case, .. } => case,
            other => panic!("{other:?}"),
        }
    };
    let store = Store::open(dir.path()).unwrap();
    let record = store.case(case).unwrap().expect("case survives a reopen");
    assert_eq!(record.customer, customer(2));
    assert_eq!(store.open_case_ids().unwrap(), vec![case]);
    let format = store.db().unwrap().get(keys::FORMAT).unwrap().unwrap();
    assert_eq!(format.as_ref(), FORMAT_VERSION.to_be_bytes());
}

#[tokio::test]
async fn a_store_from_a_newer_binary_is_refused_by_version() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = sled::open(dir.path()).unwrap();
        db.insert(keys::FORMAT, &99u32.to_be_bytes()).unwrap();
        db.flush().unwrap();
    }
    let err = Store::open(dir.path()).err().expect("refused");
    assert!(
        matches!(
            err,
            StoreError::FormatTooNew {
                found: 99,
                known: FORMAT_VERSION,
                ..
            }
        ),
        "{err}"
    );
}

#[tokio::test]
async fn a_foreign_sled_store_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = sled::open(dir.path()).unwrap();
        db.insert(b"something", b"else").unwrap();
        db.flush().unwrap();
    }
    let err = Store::open(dir.path()).err().expect("refused");
    assert!(matches!(err, StoreError::NoFormat { .. }), "{err}");
}

#[tokio::test]
async fn concurrent_writes_share_flushes() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path()).unwrap());
    let tasks: Vec<_> = (0..400)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move { ingest(&store, customer(i), &format!("wamid.c{i}")).await })
        })
        .collect();
    for t in tasks {
        assert!(matches!(t.await.unwrap(), Ingested::Accepted { .. }));
    }
    let stats = store.committer().stats();
    let ops = stats.ops.load(std::sync::atomic::Ordering::Relaxed);
    let flushes = stats.flushes.load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(ops, 400);
    assert!(
        flushes < ops,
        "group commit: {flushes} flushes for {ops} ops"
    );
    assert_eq!(store.open_case_ids().unwrap().len(), 400);
}

#[tokio::test]
async fn a_stale_write_is_refused_and_closing_waits_for_unread_messages() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let Ingested::Accepted { case: id, .. } = ingest(&store, customer(3), "wamid.s").await else {
        panic!()
    };
    let case = store.case(id).unwrap().unwrap();
    let commit = |c: &CaseRecord| Commit {
        case: c.clone(),
        transitions: Vec::new(),
        sends: Vec::new(),
        tools: Vec::new(),
        done: None,
    };
    assert_eq!(
        store.commit(commit(&case)).await.unwrap(),
        Committed::Written { rev: 1 }
    );
    // The same base rev again: someone else wrote in between.
    assert_eq!(
        store.commit(commit(&case)).await.unwrap(),
        Committed::Conflict
    );
    // Closing while a message is unread is refused...
    let mut closing = store.case(id).unwrap().unwrap();
    closing.state = State::Closed;
    assert_eq!(
        store.commit(commit(&closing)).await.unwrap(),
        Committed::Conflict
    );
    // ...and allowed once the case has read it; the open index is cleared.
    closing.inbound_cursor = store.inbound_after(id, 0).unwrap()[0].0;
    assert!(matches!(
        store.commit(commit(&closing)).await.unwrap(),
        Committed::Written { .. }
    ));
    assert!(store.open_case_ids().unwrap().is_empty());
    // The customer's next message opens a new case.
    assert!(matches!(
        ingest(&store, customer(3), "wamid.s2").await,
        Ingested::Accepted { opened: true, .. }
    ));
}

#[tokio::test]
async fn ops_in_one_group_see_each_others_writes() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path()).unwrap());
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(
                async move { ingest(&store, customer(9), &format!("wamid.g{}", i % 32)).await },
            )
        })
        .collect();
    let mut cases = std::collections::HashSet::new();
    let mut duplicates = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ingested::Accepted { case, .. } => {
                cases.insert(case);
            }
            Ingested::Duplicate { case } => {
                cases.insert(case);
                duplicates += 1;
            }
            Ingested::Conflict => panic!("one sender: no conflict"),
        }
    }
    assert_eq!(cases.len(), 1, "one customer, one open case");
    assert_eq!(duplicates, 32, "each message id taken once");
    let case = *cases.iter().next().unwrap();
    assert_eq!(store.inbound_after(case, 0).unwrap().len(), 32);
}

#[tokio::test]
async fn a_failing_op_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let result = store
        .committer()
        .run(|tx| {
            tx.insert(b"zpartial".to_vec(), b"x".to_vec());
            Err::<(), _>(StoreError::Sled("refused on purpose".into()))
        })
        .await;
    assert!(result.is_err());
    // A later op in a later group sees nothing of it.
    let seen = store
        .committer()
        .run(|tx| tx.get(b"zpartial"))
        .await
        .unwrap();
    assert_eq!(seen, None);
    assert_eq!(store.db().unwrap().get(b"zpartial").unwrap(), None);
}
