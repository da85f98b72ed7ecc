//! Schema discipline: golden bytes of every stored kind.
//!
//! `current_schemas_match_their_committed_bytes` encodes a fixed value of
//! each kind at its live schema version and compares it byte for byte with
//! `tests/fixtures/schema/<kind>-v<N>.bin`. Changing a stored type without a
//! new schema version fails it; `every_committed_fixture_decodes` then makes
//! sure the old file still reads (through the frozen schema and its
//! migration). The procedure is in `src/store/codec.rs` ("Changing a stored
//! type"). `CASEFLOW_WRITE_FIXTURES=1` writes missing files, never
//! overwrites one.

use std::path::{Path, PathBuf};

use caseflow::core::case::{
    ApprovalRecord, ArmedTimer, CaseRecord, DecisionRecord, DeliveryRecord, Draft, EffectRecord,
    EffectStatus, InboundMessage, Lane, Language, LogEntry, OutboundMessage, PendingSend,
    SendPurpose, TransitionRecord, Turn,
};
use caseflow::core::case::{DeliveryStatus, InboundNote, NoteKind, StatusRecord};
use caseflow::core::desk::{
    CaseDesk, DecisionKind, HumanDecision, Offer, OfferedSlot, PendingTool, Proposal, ProposalKind,
    Review, Ruling, Standing, Task, ToolProgress, ToolRequest,
};
use caseflow::core::records::{
    Article, ArticleStatus, BreakerRecord, BreakerState, Invoice, PaymentEvent, PaymentRecord,
    PaymentState, Session, Slot, Student, ToolReceipt,
};
use caseflow::core::types::{
    CaseId, Channel, CustomerKey, IdempotencyKey, Identity, MessageId, Mode, State, Tier,
    Timestamp, WaitingOn,
};
use caseflow::engine::degraded::{DegradedRecord, DegradedSwitch};
use caseflow::policy::identity::Claims;
use caseflow::policy::intent::Intent;
use caseflow::store::WorkflowSource;
use caseflow::store::audit::{Actor, AuditAction, AuditEntry, AuditRecord};
use caseflow::store::codec::{Versioned, decode, encode};
use caseflow::store::erase::{Erased, ErasureRecord};
use caseflow::store::provider::{EarlyStatuses, InDoubt, KeptNote, RejectedInbound};
use caseflow::workflow::WorkflowRef;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/schema")
}

fn ts(n: i64) -> Timestamp {
    Timestamp(1_795_000_000_000 + n)
}

fn case_id() -> CaseId {
    CaseId(uuid::Uuid::from_u128(
        0x0192_0000_0000_7000_8000_0000_0000_0001,
    ))
}

/// A case with every optional part present and the last variant of each
/// enum, so that an inserted variant or a changed field shows in the bytes.
fn case_value() -> CaseRecord {
    let draft = |purpose| Draft {
        purpose,
        template: Some("wa.r1.payment".into()),
        text: "Pembayaran INV-2026-002 lunas.".into(),
    };
    CaseRecord {
        id: case_id(),
        customer: CustomerKey {
            channel: Channel::Whatsapp,
            address: "+6281298765432".into(),
        },
        workflow: WorkflowRef {
            name: "support".into(),
            version: 2,
        },
        mode: Mode::Production,
        state: State::Degraded,
        waiting_on: WaitingOn::Tool("midtrans".into()),
        wait_since: ts(5),
        tier: Some(Tier::R3),
        identity: Identity::Mismatch,
        language: Language::Id,
        tags: vec!["kb:faq-harga@v2".into(), "rate_limited".into()],
        opened_at: ts(1),
        updated_at: ts(6),
        closed_at: Some(ts(7)),
        turn: Some(Turn {
            opened_at: ts(2),
            messages: 3,
            acked: true,
        }),
        collect_until: Some(ts(3)),
        draft: Some(draft(SendPurpose::Notice)),
        pending_send: Some(PendingSend {
            step: 4,
            draft: draft(SendPurpose::Ask),
        }),
        timers: vec![ArmedTimer {
            name: "first_response".into(),
            due: ts(180_000),
        }],
        first_response_at: Some(ts(4)),
        effect_seq: 5,
        inbound_cursor: 9,
        quarantined: Some("actor failed 4 times".into()),
        stuck: Some("send failed".into()),
        rev: 11,
        desk: CaseDesk {
            turn_text: "status pembayaran saya gimana kak?".into(),
            claims_read: 12,
            intents: Intent::ALL.to_vec(),
            ruling: Some(Ruling {
                rule: "r1-payment".into(),
                standing: Standing::Unclassified,
            }),
            student: Some("S-002".into()),
            claims: Claims {
                invoice: Some("INV-2026-002".into()),
                email: Some("budi@example.com".into()),
            },
            verify_attempts: 2,
            asked_identity: true,
            offer: Some(Offer {
                session: "SES-9".into(),
                slots: vec![OfferedSlot {
                    starts_at: ts(86_400_000),
                    coach: "coach-dewi".into(),
                    label: "27/11 19:00".into(),
                }],
            }),
            task: Some(Task::Book(1)),
            proposal: Some(Proposal {
                kind: ProposalKind::Edited {
                    by: "coach-dewi".into(),
                },
                template: None,
                text: "Baik kak.".into(),
                facts: vec!["INV-2026-002 settlement".into()],
            }),
            decision: Some(HumanDecision {
                lane: Lane::Coach,
                kind: DecisionKind::Escalate,
                by: "operator-rina".into(),
                text: Some("lihat catatan".into()),
                at: ts(8),
            }),
            review: Review::CoachDecided { escalated: true },
            tool: ToolProgress::Booked,
            qa_block: Some("amount not backed by a record".into()),
            last_inbound_at: Some(ts(2)),
            lane_posted: Some(ts(5)),
        },
    }
}

/// [`case_value`] with a tool call in flight (the variant of
/// `ToolProgress` that carries data). It is also what the schema-3 and late
/// schema-2 fixtures read as: their flags were all set, with a call in
/// flight (see the mapping in `src/store/schema/migrate_v3.rs`).
fn case_value_in_flight() -> CaseRecord {
    let mut case = case_value();
    case.desk.tool = ToolProgress::InFlight(PendingTool {
        step: 3,
        request: ToolRequest::PaymentStatus {
            order_id: "ORDER-002".into(),
        },
    });
    case
}

fn log_entries() -> Vec<(&'static str, LogEntry)> {
    vec![
        (
            "inbound",
            LogEntry::Inbound(InboundMessage {
                message_id: MessageId("wamid.HBgN".into()),
                text: "halo kak".into(),
                sent_at: Some(ts(1)),
                received_at: ts(2),
            }),
        ),
        (
            "outbound",
            LogEntry::Outbound(OutboundMessage {
                key: IdempotencyKey(format!("{}/3", case_id())),
                template: Some("wa.ack".into()),
                text: "Terima kasih, kami cek dulu ya kak.".into(),
                at: ts(3),
                provider_id: Some("wamid.OUT".into()),
            }),
        ),
        (
            "transition",
            LogEntry::Transition(TransitionRecord {
                from: State::Degraded,
                to: State::Closed,
                at: ts(4),
                reason: "idle".into(),
            }),
        ),
        (
            "approval",
            LogEntry::Approval(ApprovalRecord {
                lane: Lane::Coach,
                decision: "approve".into(),
                by: "coach-dewi".into(),
                at: ts(5),
                text: Some("ok".into()),
            }),
        ),
        (
            "decision",
            LogEntry::Decision(DecisionRecord {
                lane: Lane::Coach,
                decision: DecisionKind::Escalate,
                by: "coach-dewi".into(),
                at: ts(6),
                text: Some("Baik kak".into()),
                tier: Some(Tier::R3),
                rule: Some("r3-refund".into()),
            }),
        ),
        (
            "delivery",
            LogEntry::Delivery(DeliveryRecord {
                provider_id: "wamid.OUT".into(),
                status: "failed".into(),
                at: ts(7),
                error: Some("131047 Re-engagement message".into()),
            }),
        ),
        ("note", LogEntry::Note(note_value())),
        ("status", LogEntry::Status(status_value())),
    ]
}

fn note_value() -> InboundNote {
    InboundNote {
        message_id: MessageId("wamid.NOTE".into()),
        kind: NoteKind::Revoke,
        refers_to: Some(MessageId("wamid.HBgN".into())),
        text: "(deleted)".into(),
        sent_at: Some(ts(8)),
        received_at: ts(9),
    }
}

fn status_value() -> StatusRecord {
    StatusRecord {
        provider_id: "wamid.OUT".into(),
        status: DeliveryStatus::Failed,
        at: ts(10),
        error: Some("131047 Re-engagement message".into()),
        key: Some(IdempotencyKey(format!("{}/3", case_id()))),
        received_at: ts(11),
    }
}

fn customer() -> CustomerKey {
    CustomerKey {
        channel: Channel::Whatsapp,
        address: "+6281298765432".into(),
    }
}

/// The kinds added with the WhatsApp shapes, audit and erasure: file stem
/// (without version) and encoded value, and a check of the decoded value.
fn later_kinds() -> Vec<(String, Vec<u8>)> {
    let audit_action = AuditEntry::Action(AuditRecord {
        at: ts(12),
        actor: Actor::new("admin", "admin"),
        action: AuditAction::Retention,
        target: Some(case_id().to_string()),
        policy: Some("UU PDP".into()),
        detail: "closed cases older than 365d erased".into(),
    });
    vec![
        (
            format!("early-statuses-v{}", EarlyStatuses::VERSION),
            bytes(&EarlyStatuses {
                statuses: vec![status_value()],
            }),
        ),
        (
            format!("in-doubt-v{}", InDoubt::VERSION),
            bytes(&InDoubt {
                since: ts(13),
                reason: "timeout after the request was written".into(),
            }),
        ),
        (
            format!("kept-note-v{}", KeptNote::VERSION),
            bytes(&KeptNote {
                customer: customer(),
                note: note_value(),
            }),
        ),
        (
            format!("rejected-inbound-v{}", RejectedInbound::VERSION),
            bytes(&rejected_value()),
        ),
        (
            format!("audit-v{}-decision", AuditEntry::VERSION),
            bytes(&AuditEntry::Decision {
                case: case_id(),
                log_seq: 17,
                role: "coach".into(),
            }),
        ),
        (
            format!("audit-v{}-action", AuditEntry::VERSION),
            bytes(&audit_action),
        ),
        (
            format!("erasure-v{}", ErasureRecord::VERSION),
            bytes(&erasure_value()),
        ),
    ]
}

fn rejected_value() -> RejectedInbound {
    RejectedInbound {
        at: ts(14),
        source: "whatsapp".into(),
        message_id: Some("wamid.BAD".into()),
        reason: "message without `from`".into(),
        raw: "{\"id\":\"wamid.BAD\"}".into(),
    }
}

fn erasure_value() -> ErasureRecord {
    ErasureRecord {
        subject: "3f2a9c".into(),
        first_at: ts(15),
        last_at: ts(16),
        by: "coach-dewi".into(),
        reason: "customer asked (UU PDP)".into(),
        erased: Erased {
            cases: 2,
            messages: 9,
            students: 1,
        },
    }
}

fn effect_value() -> EffectRecord {
    EffectRecord {
        key: IdempotencyKey(format!("{}/4", case_id())),
        step: 4,
        tool: "calendar.book".into(),
        status: EffectStatus::Failed,
        attempts: 3,
        log_seq: Some(17),
        started_at: ts(1),
        finished_at: Some(ts(2)),
        last_error: Some("503 Service Unavailable".into()),
    }
}

fn student_value() -> Student {
    Student {
        id: "S-002".into(),
        name: "Budi".into(),
        phone: "+6281298765432".into(),
        email: "budi@example.com".into(),
        rev: 3,
        invoices: vec![Invoice {
            number: "INV-2026-002".into(),
            order_id: "ORDER-002".into(),
            amount: 450_000,
            status: "settlement".into(),
        }],
        sessions: vec![Session {
            id: "SES-9".into(),
            starts_at: ts(86_400_000),
            coach: "coach-dewi".into(),
        }],
        reschedule_history: vec![ts(-86_400_000)],
        synced_at: ts(9),
    }
}

fn payment_value() -> PaymentRecord {
    PaymentRecord {
        order_id: "ORDER-002".into(),
        state: PaymentState::Chargeback,
        gross_amount: "450000.00".into(),
        history: vec![PaymentEvent {
            transaction_status: "settlement".into(),
            status_code: "200".into(),
            fraud_status: Some("accept".into()),
            at: ts(3),
            applied: true,
        }],
        updated_at: ts(4),
    }
}

fn degraded_value() -> DegradedRecord {
    let switch = DegradedSwitch {
        on: true,
        tool: "midtrans".into(),
        reason: "breaker open".into(),
        by: "breaker".into(),
        at: ts(1),
        until: Some(ts(60_000)),
    };
    DegradedRecord {
        current: Some(switch.clone()),
        history: vec![switch],
    }
}

fn bytes<T: Versioned>(v: &T) -> Vec<u8> {
    encode(v).unwrap()
}

/// File stem and encoded value of every kind at its live version.
fn current() -> Vec<(String, Vec<u8>)> {
    let mut out = vec![
        (
            format!("case-v{}", CaseRecord::VERSION),
            bytes(&case_value()),
        ),
        (
            format!("case-v{}-in-flight", CaseRecord::VERSION),
            bytes(&case_value_in_flight()),
        ),
    ];
    for (variant, entry) in log_entries() {
        out.push((
            format!("log-entry-v{}-{variant}", LogEntry::VERSION),
            bytes(&entry),
        ));
    }
    out.extend([
        (
            format!("effect-v{}", EffectRecord::VERSION),
            bytes(&effect_value()),
        ),
        (
            format!("workflow-v{}", WorkflowSource::VERSION),
            bytes(&WorkflowSource {
                source: "name = \"support\"\nversion = 2\n".into(),
            }),
        ),
        (
            format!("student-v{}", Student::VERSION),
            bytes(&student_value()),
        ),
        (
            format!("slot-v{}", Slot::VERSION),
            bytes(&Slot {
                starts_at: ts(86_400_000),
                coach: "coach-dewi".into(),
                booked_by: Some("S-002".into()),
            }),
        ),
        (
            format!("article-v{}", Article::VERSION),
            bytes(&Article {
                id: "faq-harga".into(),
                title: "Harga les".into(),
                status: ArticleStatus::Draft,
                body: "Rp450,000 a month.".into(),
                questions: vec!["berapa harga les?".into()],
                version: 2,
                body_id: Some("Rp450.000 per bulan.".into()),
            }),
        ),
        (
            format!("tool-receipt-v{}", ToolReceipt::VERSION),
            bytes(&ToolReceipt {
                key: format!("{}/4", case_id()),
                tool: "calendar.book".into(),
                ok: true,
                detail: "SES-9 moved".into(),
                at: ts(2),
            }),
        ),
        (
            format!("breaker-v{}", BreakerRecord::VERSION),
            bytes(&BreakerRecord {
                tool: "midtrans".into(),
                state: BreakerState::HalfOpen,
                failures: 5,
                last_error: Some("timeout".into()),
                changed_at: ts(3),
                opened: 2,
            }),
        ),
        (
            format!("payment-v{}", PaymentRecord::VERSION),
            bytes(&payment_value()),
        ),
        (
            format!("degraded-v{}", DegradedRecord::VERSION),
            bytes(&degraded_value()),
        ),
    ]);
    out.extend(later_kinds());
    out
}

#[test]
fn current_schemas_match_their_committed_bytes() {
    let write = std::env::var_os("CASEFLOW_WRITE_FIXTURES").is_some();
    let mut problems = Vec::new();
    for (stem, encoded) in current() {
        let path = dir().join(format!("{stem}.bin"));
        match std::fs::read(&path) {
            Ok(committed) if committed == encoded => {}
            Ok(_) => problems.push(format!(
                "{stem}: the live type no longer encodes to the committed bytes. A stored \
                 type changed without a new schema version: follow \"Changing a stored type\" \
                 in src/store/codec.rs (freeze, migrate, bump, new fixture)."
            )),
            Err(_) if write => std::fs::write(&path, &encoded).unwrap(),
            Err(_) => problems.push(format!(
                "{stem}: no committed fixture; run CASEFLOW_WRITE_FIXTURES=1 cargo test \
                 --test store_schema and commit {}",
                path.display()
            )),
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Decodes `name` as `T` and returns the value.
fn read<T: Versioned>(name: &str) -> T {
    let path = dir().join(name);
    let raw = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    decode(&raw).unwrap_or_else(|e| panic!("{name} does not decode: {e}"))
}

#[test]
fn every_committed_fixture_decodes() {
    let mut covered: Vec<String> = Vec::new();
    let mut check = |name: &str| covered.push(name.to_string());

    // Live versions read back as the fixed values.
    assert_eq!(read::<CaseRecord>("case-v4.bin"), case_value());
    check("case-v4.bin");
    assert_eq!(
        read::<CaseRecord>("case-v4-in-flight.bin"),
        case_value_in_flight()
    );
    check("case-v4-in-flight.bin");
    for (variant, entry) in log_entries() {
        let name = format!("log-entry-v1-{variant}.bin");
        assert_eq!(read::<LogEntry>(&name), entry);
        check(&name);
    }
    assert_eq!(read::<EffectRecord>("effect-v1.bin"), effect_value());
    check("effect-v1.bin");
    assert!(
        read::<WorkflowSource>("workflow-v1.bin")
            .source
            .contains("support")
    );
    check("workflow-v1.bin");
    assert_eq!(read::<Student>("student-v1.bin"), student_value());
    check("student-v1.bin");
    assert_eq!(
        read::<Slot>("slot-v1.bin").booked_by.as_deref(),
        Some("S-002")
    );
    check("slot-v1.bin");
    let v1 = read::<Article>("article-v1.bin");
    assert_eq!(v1.status, ArticleStatus::Draft);
    assert_eq!(v1.body_id, None, "schema 1 had one body for every language");
    check("article-v1.bin");
    let v2 = read::<Article>("article-v2.bin");
    assert_eq!(v2.body_id.as_deref(), Some("Rp450.000 per bulan."));
    check("article-v2.bin");
    assert!(read::<ToolReceipt>("tool-receipt-v1.bin").ok);
    check("tool-receipt-v1.bin");
    assert_eq!(
        read::<BreakerRecord>("breaker-v1.bin").state,
        BreakerState::HalfOpen
    );
    check("breaker-v1.bin");
    assert_eq!(read::<PaymentRecord>("payment-v1.bin"), payment_value());
    check("payment-v1.bin");
    assert_eq!(read::<DegradedRecord>("degraded-v1.bin"), degraded_value());
    check("degraded-v1.bin");
    assert_eq!(
        read::<EarlyStatuses>("early-statuses-v1.bin").statuses,
        vec![status_value()]
    );
    check("early-statuses-v1.bin");
    assert_eq!(read::<InDoubt>("in-doubt-v1.bin").since, ts(13));
    check("in-doubt-v1.bin");
    assert_eq!(read::<KeptNote>("kept-note-v1.bin").note, note_value());
    check("kept-note-v1.bin");
    assert_eq!(
        read::<RejectedInbound>("rejected-inbound-v1.bin"),
        rejected_value()
    );
    check("rejected-inbound-v1.bin");
    assert!(matches!(
        read::<AuditEntry>("audit-v1-decision.bin"),
        AuditEntry::Decision { log_seq: 17, .. }
    ));
    check("audit-v1-decision.bin");
    assert!(matches!(
        read::<AuditEntry>("audit-v1-action.bin"),
        AuditEntry::Action(AuditRecord {
            action: AuditAction::Retention,
            ..
        })
    ));
    check("audit-v1-action.bin");
    assert_eq!(read::<ErasureRecord>("erasure-v1.bin"), erasure_value());
    check("erasure-v1.bin");

    // Case schema 2 as the release (c5a7a42) wrote it: an open R1 payment
    // question waiting on the operator, taken from that build's data dir.
    let v2 = read::<CaseRecord>("case-v2-c5a7a42.bin");
    assert_eq!(v2.state, State::Qa);
    assert_eq!(v2.waiting_on, WaitingOn::Operator);
    assert_eq!(v2.tier, Some(Tier::R1));
    assert_eq!(v2.identity, Identity::WaMatch);
    assert_eq!(v2.customer.address, "+6281298765432");
    assert_eq!(v2.desk.intents, vec![Intent::PaymentStatus]);
    assert_eq!(v2.desk.turn_text, "status pembayaran saya gimana kak?");
    assert!(
        v2.desk
            .proposal
            .as_ref()
            .is_some_and(|p| p.template.as_deref() == Some("wa.r1.payment"))
    );
    assert_eq!(v2.desk.lane_posted, None, "schema 2 had no lane_posted");
    assert_eq!(v2.desk.review, Review::Open, "nobody had decided yet");
    assert_eq!(v2.desk.tool, ToolProgress::Idle);
    assert_eq!(
        v2.desk.ruling,
        Some(Ruling {
            rule: "payment-status".into(),
            standing: Standing::Firm
        })
    );
    check("case-v2-c5a7a42.bin");

    // Case schema 3 (builds cc2cad7 up to the bump to 4): every desk flag
    // set, a call in flight; the flags become the typed review, tool
    // progress and ruling.
    let v3 = read::<CaseRecord>("case-v3.bin");
    assert_eq!(v3, case_value_in_flight());
    assert_eq!(v3.desk.review, Review::CoachDecided { escalated: true });
    assert_eq!(v3.desk.rule(), Some("r1-payment"));
    assert!(v3.desk.unclassified() && !v3.desk.lowerable());
    assert_eq!(v3.desk.tool_in_flight().map(|p| p.step), Some(3));
    check("case-v3.bin");

    // Case schema 2 as builds 3d340f9..0e48bc9 wrote it (one field more).
    assert_eq!(
        read::<CaseRecord>("case-v2-late.bin"),
        case_value_in_flight()
    );
    check("case-v2-late.bin");

    // Case schema 1 (builds 5c84552..441bbb2): no desk yet.
    let v1 = read::<CaseRecord>("case-v1.bin");
    assert_eq!(v1.rev, 4);
    assert_eq!(v1.state, State::Qa);
    assert_eq!(v1.language, Language::Id);
    assert_eq!(v1.desk, CaseDesk::default());
    check("case-v1.bin");

    let mut files: Vec<String> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".bin"))
        .collect();
    files.sort();
    let unchecked: Vec<&String> = files.iter().filter(|f| !covered.contains(f)).collect();
    assert!(
        unchecked.is_empty(),
        "committed fixtures without an expected value here: {unchecked:?}"
    );
}

#[test]
fn a_record_of_a_newer_schema_is_refused_by_name() {
    let mut raw = bytes(&case_value());
    raw[1..3].copy_from_slice(&(CaseRecord::VERSION + 1).to_be_bytes());
    let err = decode::<CaseRecord>(&raw).unwrap_err().to_string();
    assert!(err.contains("schema version 5"), "{err}");
}
