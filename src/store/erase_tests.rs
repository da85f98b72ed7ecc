//! Erasure, retention and the audit index against a real store.

use super::*;
use crate::core::case::{InboundMessage, TransitionRecord};
use crate::core::desk::{CaseDesk, DecisionKind};
use crate::core::records::{Invoice, Session};
use crate::core::types::{Channel, CustomerKey, Mode, State, WaitingOn};
use crate::store::{Ingest, Ingested};
use crate::workflow::WorkflowRef;

const PHONE: &str = "+6281234567890";
const OTHER: &str = "+6281299999999";

fn customer(address: &str) -> CustomerKey {
    CustomerKey {
        channel: Channel::Whatsapp,
        address: address.into(),
    }
}

async fn say(store: &Store, from: &str, id: &str, text: &str) -> Ingested {
    let c = customer(from);
    let opener = {
        let c = c.clone();
        move |case| {
            CaseRecord::open(
                case,
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
    };
    let message = InboundMessage {
        message_id: MessageId(id.into()),
        text: text.into(),
        sent_at: None,
        received_at: Timestamp(2),
    };
    store
        .ingest(
            Ingest {
                customer: c,
                message,
            },
            opener,
        )
        .await
        .unwrap()
}

fn case_of(i: Ingested) -> CaseId {
    match i {
        Ingested::Accepted { case, .. } | Ingested::Duplicate { case } => case,
        Ingested::Conflict => panic!("unexpected conflict"),
    }
}

fn sari() -> Student {
    Student {
        id: "st-sari".into(),
        name: "Sari Wulandari".into(),
        phone: "0812-3456-7890".into(),
        email: "sari.w@example.com".into(),
        rev: 1,
        invoices: vec![Invoice {
            number: "INV-2026-001".into(),
            order_id: "ORD-1".into(),
            amount: 450_000,
            status: "settlement".into(),
        }],
        sessions: vec![Session {
            id: "S1".into(),
            starts_at: Timestamp(10_000_000),
            coach: "Dewi".into(),
        }],
        reschedule_history: Vec::new(),
        synced_at: Timestamp(0),
    }
}

/// Every key and value in the store, for "nothing of it is left" checks.
fn everything(store: &Store) -> Vec<u8> {
    let mut all = Vec::new();
    for kv in store.db().unwrap().iter() {
        let (k, v) = kv.unwrap();
        all.extend_from_slice(&k);
        all.push(0xff);
        all.extend_from_slice(&v);
        all.push(0xff);
    }
    all
}

fn holds(all: &[u8], needle: &str) -> bool {
    all.windows(needle.len()).any(|w| w == needle.as_bytes())
}

fn actor() -> Actor {
    Actor::new("dewi", "coach")
}

#[tokio::test]
async fn erasure_removes_the_customer_everywhere_survives_a_restart_and_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let (erased_case, other_case) = {
        let store = Store::open(&path).unwrap();
        let case = case_of(say(&store, PHONE, "wamid.sari.1", "hapus data saya kak").await);
        say(
            &store,
            PHONE,
            "wamid.sari.2",
            "INV-2026-001 sari.w@example.com",
        )
        .await;
        let other = case_of(say(&store, OTHER, "wamid.budi.1", "halo kak budi di sini").await);
        store
            .upsert_students_by(vec![sari()], Timestamp(3), Actor::new("ops", "admin"))
            .await
            .unwrap();
        // The case waits on the coach with claims read from the text.
        store
            .update_case(case, |c| {
                c.waiting_on = WaitingOn::Coach;
                c.desk.turn_text = "hapus data saya kak\nINV-2026-001 sari.w@example.com".into();
                c.desk.claims.email = Some("sari.w@example.com".into());
                c.desk.claims.invoice = Some("INV-2026-001".into());
            })
            .await
            .unwrap();
        let decided = store
            .admit(
                case,
                crate::core::machine::admit::CaseEvent::Decision {
                    kind: DecisionKind::Edit,
                    by: actor().name,
                    lanes: vec![crate::core::case::Lane::Coach],
                    text: Some("Baik kak Sari, data dihapus.".into()),
                    asked_at: None,
                },
                Some(actor()),
                Timestamp(4),
            )
            .await
            .unwrap();
        assert!(decided.is_ok());
        let before = everything(&store);
        for needle in ["6281234567890", "sari.w@example.com", "Sari", "hapus data"] {
            assert!(holds(&before, needle), "{needle} is stored before erasure");
        }

        let subject = Subject::parse("0812 3456 7890").unwrap();
        let done = store
            .erase_subject(
                subject.clone(),
                actor(),
                "customer asked".into(),
                Timestamp(5),
            )
            .await
            .unwrap();
        assert_eq!(
            done.now,
            Erased {
                cases: 1,
                messages: 2,
                students: 1
            }
        );
        assert!(!done.before);
        assert!(done.subject.starts_with("subject-"));
        assert_eq!(done.subject, store.pseudonym(&subject).await.unwrap());

        let after = everything(&store);
        for needle in [
            "6281234567890",
            "1234567890",
            "sari.w@example.com",
            "Sari",
            "hapus data",
            "INV-2026-001 sari",
            "wamid.sari",
        ] {
            assert!(!holds(&after, needle), "{needle} is left after erasure");
        }
        assert!(
            holds(&after, "halo kak budi"),
            "another customer is untouched"
        );
        assert!(
            holds(&after, "INV-2026-001"),
            "the invoice stays as a business record"
        );
        (case, other)
    };

    // Reopened: the erasure is there, and a redelivery does not bring it back.
    let store = Store::open(&path).unwrap();
    let case = store.case(erased_case).unwrap().unwrap();
    assert!(case.is_closed());
    assert!(case.tags.iter().any(|t| t == ERASED_TAG));
    assert!(case.customer.address.starts_with("subject-"));
    assert_eq!(case.desk, CaseDesk::default());
    assert!(case.timers.is_empty());
    let history = store.history(erased_case).unwrap();
    assert!(history.iter().any(|(_, e)| matches!(e,
        LogEntry::Transition(t) if t.to == State::Closed && t.reason.contains("erasure"))));
    assert!(history.iter().any(|(_, e)| matches!(e,
        LogEntry::Decision(d) if d.by == "dewi" && d.text.as_deref() == Some(ERASED))));
    let student = store.student("st-sari").unwrap().unwrap();
    assert_eq!(
        (
            student.name.as_str(),
            student.phone.as_str(),
            student.email.as_str()
        ),
        (ERASED, "", "")
    );
    assert_eq!(student.invoices, sari().invoices);
    assert_eq!(store.student_by_phone(PHONE).unwrap(), None);
    assert_eq!(store.open_case_ids().unwrap(), vec![other_case]);
    assert_eq!(
        say(&store, PHONE, "wamid.sari.1", "hapus data saya kak").await,
        Ingested::Duplicate { case: erased_case },
        "a late redelivery of an erased message is a duplicate"
    );
    assert!(!holds(&everything(&store), "hapus data"));

    // Writing again opens a new case, which a second request erases.
    let Ingested::Accepted {
        case: new,
        opened: true,
    } = say(&store, "081234567890", "wamid.sari.3", "masih ada?").await
    else {
        panic!("a new message opens a new case")
    };
    let subject = Subject::parse(PHONE).unwrap();
    let again = store
        .erase_subject(subject.clone(), actor(), "again".into(), Timestamp(6))
        .await
        .unwrap();
    assert_eq!(
        again.now,
        Erased {
            cases: 1,
            messages: 1,
            students: 0
        }
    );
    assert!(again.before);
    assert!(store.case(new).unwrap().unwrap().is_closed());
    let third = store
        .erase_subject(subject, actor(), "once more".into(), Timestamp(7))
        .await
        .unwrap();
    assert!(third.now.is_empty() && third.before);
    assert_eq!(third.record.first_at, Timestamp(5));
    assert_eq!(
        third.record.erased,
        Erased {
            cases: 2,
            messages: 3,
            students: 1
        }
    );

    // The audit names the pseudonym, never the number.
    let page = store.audit_page(None, None, 100).unwrap();
    let actions: Vec<&str> = page.entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        vec!["records.students", "decision", "erase", "erase", "erase"]
    );
    let erase = &page.entries[2];
    assert_eq!((erase.by.as_str(), erase.role.as_str()), ("dewi", "coach"));
    assert_eq!(erase.target.as_deref(), Some(again.subject.as_str()));
    assert!(erase.detail.contains("customer asked"));
    assert!(erase.policy.as_deref().unwrap().contains("UU PDP"));
    assert_eq!(page.entries[0].by, "ops");
    assert_eq!(page.entries[0].target.as_deref(), Some("st-sari"));
    let decision = &page.entries[1];
    assert_eq!(
        decision.target.as_deref(),
        Some(erased_case.to_string().as_str())
    );
    assert_eq!(decision.detail, "edit on the coach lane");
}

#[tokio::test]
async fn a_customer_without_a_number_is_erased_by_user_id() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let case = case_of(
        say(
            &store,
            "US.13491208655302741918",
            "wamid.u1",
            "tolong hapus",
        )
        .await,
    );
    let done = store
        .erase_subject(
            Subject::parse("US.13491208655302741918").unwrap(),
            actor(),
            "asked".into(),
            Timestamp(5),
        )
        .await
        .unwrap();
    assert_eq!(done.now.cases, 1);
    assert!(!holds(&everything(&store), "13491208655302741918"));
    assert!(store.case(case).unwrap().unwrap().is_closed());
}

#[tokio::test]
async fn retention_erases_only_closed_cases_and_is_audited() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let closed = case_of(say(&store, PHONE, "wamid.c1", "jadwal saya kapan").await);
    let open = case_of(say(&store, OTHER, "wamid.o1", "harga les berapa").await);
    store
        .update_case(closed, |c| {
            c.state = State::Closed;
            c.closed_at = Some(Timestamp(3));
        })
        .await
        .unwrap();
    let erased = store
        .erase_closed_cases(
            vec![closed, open],
            "retention.closed_cases = 1s".into(),
            Timestamp(9),
        )
        .await
        .unwrap();
    assert_eq!(
        erased,
        Erased {
            cases: 1,
            messages: 1,
            students: 0
        }
    );
    let all = everything(&store);
    assert!(!holds(&all, "jadwal saya") && !holds(&all, "6281234567890"));
    assert!(holds(&all, "harga les"), "the open case is kept");
    // The erasure is the machine's: the closed case's timeline records it.
    let erasures: Vec<TransitionRecord> = store
        .history(closed)
        .unwrap()
        .into_iter()
        .filter_map(|(_, e)| match e {
            LogEntry::Transition(t) if t.reason.contains("erased") => Some(t),
            _ => None,
        })
        .collect();
    assert_eq!(erasures.len(), 1, "{erasures:?}");
    assert_eq!(
        (erasures[0].from, erasures[0].to),
        (State::Closed, State::Closed)
    );
    assert_eq!(erasures[0].reason, "the customer's data erased (retention)");
    assert_eq!(
        store.case(closed).unwrap().unwrap().closed_at,
        Some(Timestamp(3))
    );
    let again = store
        .erase_closed_cases(
            vec![closed],
            "retention.closed_cases = 1s".into(),
            Timestamp(10),
        )
        .await
        .unwrap();
    assert!(again.is_empty(), "an erased case is not erased twice");
    let page = store.audit_page(None, None, 10).unwrap();
    assert_eq!(page.entries.len(), 1, "an empty sweep writes no entry");
    assert_eq!(page.entries[0].action, "retention");
    assert_eq!(page.entries[0].by, "retention");
    assert_eq!(
        page.entries[0].policy.as_deref(),
        Some("retention.closed_cases = 1s")
    );
}

#[tokio::test]
async fn the_audit_pages_in_time_order_with_cursors_and_since() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    // Written out of time order: the index sorts by time.
    for at in [50, 10, 40, 20, 30] {
        store
            .audit(AuditRecord {
                at: Timestamp(at),
                actor: Actor::new("rina", "operator"),
                action: AuditAction::Retry,
                target: Some(format!("case-{at}")),
                policy: None,
                detail: String::new(),
            })
            .await
            .unwrap();
    }
    let mut seen = Vec::new();
    let mut cursor: Option<Vec<u8>> = None;
    loop {
        let page = store.audit_page(None, cursor.as_deref(), 2).unwrap();
        assert!(page.entries.len() <= 2);
        seen.extend(page.entries.iter().map(|e| e.target.clone().unwrap()));
        match page.next_cursor {
            Some(c) => cursor = Some(audit::parse_cursor(&c).unwrap()),
            None => break,
        }
    }
    assert_eq!(
        seen,
        ["case-10", "case-20", "case-30", "case-40", "case-50"]
    );
    let since = store.audit_page(Some(Timestamp(30)), None, 10).unwrap();
    let targets: Vec<_> = since
        .entries
        .iter()
        .map(|e| e.target.clone().unwrap())
        .collect();
    assert_eq!(targets, ["case-30", "case-40", "case-50"]);
    assert_eq!(since.next_cursor, None);
}

#[tokio::test]
async fn notes_kept_without_a_case_and_rejected_items_are_erased_and_ids_stay_taken() {
    use crate::core::case::{InboundNote, NoteKind};
    use crate::store::provider::RejectedInbound;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let note = |id: &str, text: &str| InboundNote {
        message_id: MessageId(id.into()),
        kind: NoteKind::Reaction,
        refers_to: Some(MessageId("wamid.old".into())),
        text: text.into(),
        sent_at: None,
        received_at: Timestamp(2),
    };
    // A reaction from a sender with no case is kept under the sender.
    store
        .take_note(customer(PHONE), note("wamid.react.1", "uniquereaction"))
        .await
        .unwrap();
    // A case, and a note on it.
    let case = case_of(say(&store, PHONE, "wamid.m1", "uniquetext halo").await);
    store
        .take_note(customer(PHONE), note("wamid.react.2", "uniqueonthecase"))
        .await
        .unwrap();
    store
        .record_rejected(RejectedInbound {
            at: Timestamp(3),
            source: "whatsapp".into(),
            message_id: Some("wamid.bad".into()),
            reason: "unsupported".into(),
            raw: r#"{"from":"6281234567890","text":{"body":"uniquerejected"}}"#.into(),
        })
        .await
        .unwrap();
    store
        .record_rejected(RejectedInbound {
            at: Timestamp(3),
            source: "whatsapp".into(),
            message_id: Some("wamid.other".into()),
            reason: "unsupported".into(),
            raw: r#"{"from":"6281299999999","text":{"body":"someone else"}}"#.into(),
        })
        .await
        .unwrap();
    let done = store
        .erase_subject(
            Subject::parse(PHONE).unwrap(),
            actor(),
            "asked".into(),
            Timestamp(5),
        )
        .await
        .unwrap();
    assert_eq!(done.now.cases, 1);
    assert_eq!(
        done.now.messages, 4,
        "message, note on the case, kept note, rejected item"
    );
    let all = everything(&store);
    for needle in [
        "uniquereaction",
        "uniqueonthecase",
        "uniquetext",
        "uniquerejected",
        "6281234567890",
        "wamid.react",
        "wamid.m1",
    ] {
        assert!(!holds(&all, needle), "{needle} is left");
    }
    assert!(holds(&all, "someone else"));
    assert_eq!(store.kept_notes(&customer(PHONE)).unwrap(), vec![]);
    // Erased ids stay taken: the same sender's redelivery is a duplicate,
    // another sender reusing the id is a conflict.
    assert_eq!(
        say(&store, PHONE, "wamid.m1", "again").await,
        Ingested::Duplicate { case }
    );
    assert_eq!(
        say(&store, OTHER, "wamid.m1", "mine").await,
        Ingested::Conflict
    );
    assert_eq!(
        say(&store, PHONE, "wamid.react.1", "x").await,
        Ingested::Conflict
    );
    assert_eq!(
        store
            .take_note(customer(PHONE), note("wamid.react.1", "uniquereaction"))
            .await
            .unwrap(),
        crate::store::provider::NoteTaken::Duplicate,
        "a redelivered erased event is not kept again"
    );
    assert!(!holds(&everything(&store), "uniquereaction"));
}
