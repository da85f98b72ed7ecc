//! Frozen record schemas that older stores hold, and their upgrades.
//! Never change a struct here: it is what version N wrote.

use serde::{Deserialize, Serialize};

use crate::core::case::Language;
use crate::core::case::{ArmedTimer, CaseRecord, Draft, PendingSend, Turn};
use crate::core::desk::Desk;
use crate::core::types::{CaseId, CustomerKey, Identity, Mode, State, Tier, Timestamp, WaitingOn};
use crate::workflow::WorkflowRef;

/// `CaseRecord` schema 1: before the policy stages.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CaseRecordV1 {
    pub id: CaseId,
    pub customer: CustomerKey,
    pub workflow: WorkflowRef,
    pub mode: Mode,
    pub state: State,
    pub waiting_on: WaitingOn,
    pub wait_since: Timestamp,
    pub tier: Option<Tier>,
    pub identity: Identity,
    pub language: Language,
    pub tags: Vec<String>,
    pub opened_at: Timestamp,
    pub updated_at: Timestamp,
    pub closed_at: Option<Timestamp>,
    pub turn: Option<Turn>,
    pub collect_until: Option<Timestamp>,
    pub draft: Option<Draft>,
    pub pending_send: Option<PendingSend>,
    pub timers: Vec<ArmedTimer>,
    pub first_response_at: Option<Timestamp>,
    pub effect_seq: u32,
    pub inbound_cursor: u64,
    pub quarantined: Option<String>,
    pub stuck: Option<String>,
    pub rev: u64,
}

impl From<CaseRecordV1> for CaseRecord {
    fn from(v: CaseRecordV1) -> CaseRecord {
        CaseRecord {
            id: v.id,
            customer: v.customer,
            workflow: v.workflow,
            mode: v.mode,
            state: v.state,
            waiting_on: v.waiting_on,
            wait_since: v.wait_since,
            tier: v.tier,
            identity: v.identity,
            language: v.language,
            tags: v.tags,
            opened_at: v.opened_at,
            updated_at: v.updated_at,
            closed_at: v.closed_at,
            turn: v.turn,
            collect_until: v.collect_until,
            draft: v.draft,
            pending_send: v.pending_send,
            timers: v.timers,
            first_response_at: v.first_response_at,
            effect_seq: v.effect_seq,
            inbound_cursor: v.inbound_cursor,
            quarantined: v.quarantined,
            stuck: v.stuck,
            rev: v.rev,
            desk: Desk::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::types::Channel;
    use crate::store::codec::{Versioned, decode};

    #[test]
    fn a_schema_1_case_reads_as_the_current_schema_with_an_empty_desk() {
        let v1 = CaseRecordV1 {
            id: CaseId(uuid::Uuid::nil()),
            customer: CustomerKey {
                channel: Channel::Whatsapp,
                address: "+62811".into(),
            },
            workflow: WorkflowRef {
                name: "support".into(),
                version: 1,
            },
            mode: Mode::Pilot,
            state: State::Qa,
            waiting_on: WaitingOn::Operator,
            wait_since: Timestamp(5),
            tier: None,
            identity: Identity::Unverified,
            language: Language::Id,
            tags: vec!["unclassified".into()],
            opened_at: Timestamp(1),
            updated_at: Timestamp(5),
            closed_at: None,
            turn: None,
            collect_until: None,
            draft: None,
            pending_send: None,
            timers: Vec::new(),
            first_response_at: Some(Timestamp(3)),
            effect_seq: 1,
            inbound_cursor: 1,
            quarantined: None,
            stuck: None,
            rev: 4,
        };
        // Exactly what the schema-1 binary wrote: tag, version 1, payload.
        let mut bytes = vec![CaseRecord::TAG];
        bytes.extend_from_slice(&1u16.to_be_bytes());
        bytes.extend(bincode::serde::encode_to_vec(&v1, bincode::config::standard()).unwrap());
        let case: CaseRecord = decode(&bytes).unwrap();
        assert_eq!(case.rev, 4);
        assert_eq!(case.state, State::Qa);
        assert_eq!(case.language, Language::Id);
        assert_eq!(case.desk, Desk::default());
    }
}

/// `Article` schema 1: one body for every language.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ArticleV1 {
    pub id: String,
    pub title: String,
    pub status: crate::core::records::ArticleStatus,
    pub body: String,
    pub questions: Vec<String>,
    pub version: u32,
}

impl From<ArticleV1> for crate::core::records::Article {
    fn from(v: ArticleV1) -> Self {
        crate::core::records::Article {
            id: v.id,
            title: v.title,
            status: v.status,
            body: v.body,
            questions: v.questions,
            version: v.version,
            body_id: None,
        }
    }
}
