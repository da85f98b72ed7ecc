//! What providers report about messages, kept durably: status callbacks of
//! outbound messages (also those that arrive before the send's answer named
//! the message), customer events that wake nothing (reactions, edits,
//! notices), messages a delivery carried that could not be taken, and sends
//! whose outcome is in doubt.
//!
//! The store records; it never decides what a status means for a case
//! beyond marking a failed delivery for the operator.

use serde::{Deserialize, Serialize};

use super::codec::{Versioned, decode, encode};
use super::committer::Tx;
use super::{Store, StoreError, keys, next_seq};
use crate::core::case::{
    CaseRecord, DeliveryStatus, EffectRecord, InboundNote, LogEntry, StatusRecord,
};
use crate::core::machine::admit::{self, CaseEvent};
use crate::core::types::{CaseId, CustomerKey, IdempotencyKey, Timestamp};

/// Statuses that named a provider message id before the send's answer did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EarlyStatuses {
    pub statuses: Vec<StatusRecord>,
}

impl Versioned for EarlyStatuses {
    const KIND: &'static str = "early statuses";
    const TAG: u8 = 40;
    const VERSION: u16 = 1;
}

/// A send whose outcome is unknown (timeout, connection lost after the
/// request was written): it is not made again before `since` plus the
/// in-doubt window unless no status with its key came.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InDoubt {
    pub since: Timestamp,
    pub reason: String,
}

impl Versioned for InDoubt {
    const KIND: &'static str = "in-doubt send";
    const TAG: u8 = 41;
    const VERSION: u16 = 1;
}

/// A customer event of a sender who has no case to keep it on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeptNote {
    pub customer: CustomerKey,
    pub note: InboundNote,
}

impl Versioned for KeptNote {
    const KIND: &'static str = "kept note";
    const TAG: u8 = 42;
    const VERSION: u16 = 1;
}

/// A message or status of a signed delivery that could not be taken.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RejectedInbound {
    pub at: Timestamp,
    pub source: String,
    pub message_id: Option<String>,
    pub reason: String,
    /// The item as delivered (capped), for the operator.
    pub raw: String,
}

impl Versioned for RejectedInbound {
    const KIND: &'static str = "rejected inbound";
    const TAG: u8 = 43;
    const VERSION: u16 = 1;
}

/// Who a message id was stored for.
pub(super) enum Seen {
    /// The same sender; the case it went to, if any.
    Same(Option<CaseId>),
    OtherSender,
}

/// Whether a message id was stored before, and for whom.
pub(super) fn seen_message(
    tx: &Tx<'_>,
    dedupe: &[u8],
    customer: &CustomerKey,
) -> Result<Option<Seen>, StoreError> {
    let Some(v) = tx.get(dedupe)? else {
        return Ok(None);
    };
    let case = v
        .get(..16)
        .and_then(keys::case_id_from_value)
        .ok_or_else(|| StoreError::Sled("dedupe index holds a bad case id".into()))?;
    let case = (!case.0.is_nil()).then_some(case);
    let same = match (v.get(16..).filter(|a| !a.is_empty()), case) {
        (Some(address), _) => address == customer.address.as_bytes(),
        (None, Some(id)) => match tx.get(&keys::case(id))? {
            Some(cv) => decode::<CaseRecord>(&cv)?.customer == *customer,
            None => false,
        },
        (None, None) => false,
    };
    Ok(Some(if same {
        Seen::Same(case)
    } else {
        Seen::OtherSender
    }))
}

fn dedupe_value(case: Option<CaseId>, customer: &CustomerKey) -> Vec<u8> {
    let mut v = case.map_or(uuid::Uuid::nil(), |c| c.0).as_bytes().to_vec();
    v.extend_from_slice(customer.address.as_bytes());
    v
}

/// What became of a customer event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoteTaken {
    /// Kept on this case's history.
    OnCase(CaseId),
    /// The sender has no case: kept under the sender.
    Kept,
    Duplicate,
    /// The message id is already stored for another sender.
    Conflict,
}

/// What became of a status callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusTaken {
    /// Recorded on the case; `failed` when it marked the case stuck.
    OnCase {
        case: CaseId,
        failed: bool,
    },
    /// The message is not known yet: kept until the send's answer names it.
    Early,
    Duplicate,
}

impl Store {
    /// Keeps a customer event that wakes nothing: on the case of the
    /// message it refers to (if that is the sender's), else on the sender's
    /// open case, else under the sender. Never opens or changes a case.
    pub async fn take_note(
        &self,
        customer: CustomerKey,
        note: InboundNote,
    ) -> Result<NoteTaken, StoreError> {
        self.committer
            .run(move |tx| {
                let dedupe = keys::dedupe(&customer, &note.message_id);
                match seen_message(tx, &dedupe, &customer)? {
                    Some(Seen::Same(_)) => return Ok(NoteTaken::Duplicate),
                    Some(Seen::OtherSender) => return Ok(NoteTaken::Conflict),
                    None => {}
                }
                // An erased event's late redelivery is not taken again.
                if super::erase::erased_redelivery(tx, &customer, &note.message_id)?.is_some() {
                    return Ok(NoteTaken::Duplicate);
                }
                let case = note_case(tx, &customer, &note)?;
                tx.insert(dedupe, dedupe_value(case, &customer));
                let seq = next_seq(tx)?;
                match case {
                    Some(id) => {
                        tx.insert(keys::log(id, seq), encode(&LogEntry::Note(note))?);
                        Ok(NoteTaken::OnCase(id))
                    }
                    None => {
                        let kept = KeptNote {
                            customer: customer.clone(),
                            note,
                        };
                        tx.insert(keys::kept_note(&customer, seq), encode(&kept)?);
                        Ok(NoteTaken::Kept)
                    }
                }
            })
            .await
    }

    /// Events kept for a sender who had no case.
    pub fn kept_notes(&self, customer: &CustomerKey) -> Result<Vec<KeptNote>, StoreError> {
        self.db()?
            .scan_prefix(keys::kept_note_prefix(customer))
            .map(|kv| Ok(decode(&kv?.1)?))
            .collect()
    }

    /// Records an item of a signed delivery that could not be taken.
    pub async fn record_rejected(&self, item: RejectedInbound) -> Result<(), StoreError> {
        let value = encode(&item)?;
        self.committer
            .run(move |tx| {
                let seq = next_seq(tx)?;
                tx.insert(keys::rejected(seq), value);
                Ok(())
            })
            .await
    }

    /// Rejected items, newest first, at most `limit`.
    pub fn rejected_inbound(&self, limit: usize) -> Result<Vec<RejectedInbound>, StoreError> {
        self.db()?
            .scan_prefix([keys::REJECTED])
            .rev()
            .take(limit)
            .map(|kv| Ok(decode(&kv?.1)?))
            .collect()
    }

    /// Records a status callback. The message is found by the idempotency
    /// key the send carried, else by its provider id; a status for a message
    /// not known yet is kept and applied when the send's answer names it.
    /// A failed delivery marks the case stuck with the provider's reason.
    pub async fn record_status(&self, status: StatusRecord) -> Result<StatusTaken, StoreError> {
        self.committer
            .run(move |tx| {
                let Some((id, log_seq)) = status_target(tx, &status)? else {
                    let key = keys::early_status(&status.provider_id);
                    let mut early: EarlyStatuses = match tx.get(&key)? {
                        Some(v) => decode(&v)?,
                        None => EarlyStatuses::default(),
                    };
                    if early.statuses.iter().any(|s| same_status(s, &status)) {
                        return Ok(StatusTaken::Duplicate);
                    }
                    early.statuses.push(status);
                    tx.insert(key, encode(&early)?);
                    return Ok(StatusTaken::Early);
                };
                if let Some(k) = &status.key {
                    tx.insert(
                        keys::status_by_key(&k.0),
                        status.provider_id.as_bytes().to_vec(),
                    );
                }
                if let (Some(_), Some(seq)) = (&status.key, log_seq) {
                    let mut index = id.0.as_bytes().to_vec();
                    index.extend_from_slice(&seq.to_be_bytes());
                    tx.insert(keys::provider_message(&status.provider_id), index);
                }
                let ckey = keys::case(id);
                let Some(cv) = tx.get(&ckey)? else {
                    return Ok(StatusTaken::Duplicate);
                };
                let mut case: CaseRecord = decode(&cv)?;
                match apply_statuses(tx, &mut case, vec![status])? {
                    Applied::Nothing => Ok(StatusTaken::Duplicate),
                    Applied::Logged => Ok(StatusTaken::OnCase {
                        case: id,
                        failed: false,
                    }),
                    Applied::Failed => {
                        case.rev += 1;
                        tx.insert(ckey, encode(&case)?);
                        Ok(StatusTaken::OnCase {
                            case: id,
                            failed: true,
                        })
                    }
                }
            })
            .await
    }

    /// The provider message id a status carrying `key` named, if one came:
    /// proof that a send in doubt was made.
    pub fn status_for_key(&self, key: &IdempotencyKey) -> Result<Option<String>, StoreError> {
        Ok(self
            .db()?
            .get(keys::status_by_key(&key.0))?
            .map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    /// Marks the send of `step` in doubt since `since`, or, if it already
    /// is, since the first mark with the new reason.
    pub async fn mark_in_doubt(
        &self,
        id: CaseId,
        step: u32,
        since: Timestamp,
        reason: String,
    ) -> Result<InDoubt, StoreError> {
        self.committer
            .run(move |tx| {
                let key = keys::in_doubt(id, step);
                let since = match tx.get(&key)? {
                    Some(v) => decode::<InDoubt>(&v)?.since,
                    None => since,
                };
                let mark = InDoubt { since, reason };
                tx.insert(key, encode(&mark)?);
                Ok(mark)
            })
            .await
    }

    /// Clears the in-doubt mark of a send that is to be made again.
    pub async fn clear_in_doubt(&self, id: CaseId, step: u32) -> Result<(), StoreError> {
        self.committer
            .run(move |tx| {
                tx.remove(keys::in_doubt(id, step));
                Ok(())
            })
            .await
    }

    pub fn in_doubt(&self, id: CaseId, step: u32) -> Result<Option<InDoubt>, StoreError> {
        match self.db()?.get(keys::in_doubt(id, step))? {
            Some(v) => Ok(Some(decode(&v)?)),
            None => Ok(None),
        }
    }
}

fn same_status(a: &StatusRecord, b: &StatusRecord) -> bool {
    a.provider_id == b.provider_id && a.status == b.status
}

/// The case (and the log entry of the outbound message, when known) a
/// status is about.
fn status_target(
    tx: &Tx<'_>,
    status: &StatusRecord,
) -> Result<Option<(CaseId, Option<u64>)>, StoreError> {
    if let Some((id, step)) = status.key.as_ref().and_then(IdempotencyKey::case_step)
        && let Some(v) = tx.get(&keys::effect(id, step))?
    {
        let effect: EffectRecord = decode(&v)?;
        if Some(&effect.key) == status.key.as_ref() {
            return Ok(Some((id, effect.log_seq)));
        }
    }
    let Some(v) = tx.get(&keys::provider_message(&status.provider_id))? else {
        return Ok(None);
    };
    let id = v
        .get(..16)
        .and_then(keys::case_id_from_value)
        .ok_or_else(|| StoreError::Sled("provider index holds a bad case id".into()))?;
    let seq = v
        .get(16..24)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_be_bytes);
    Ok(Some((id, seq)))
}

/// The case an event belongs to: the one holding the message it refers to
/// (only if that case is the same sender's), else the sender's open case.
fn note_case(
    tx: &Tx<'_>,
    customer: &CustomerKey,
    note: &InboundNote,
) -> Result<Option<CaseId>, StoreError> {
    if let Some(refers) = &note.refers_to {
        let by_outbound = tx
            .get(&keys::provider_message(&refers.0))?
            .and_then(|v| v.get(..16).and_then(keys::case_id_from_value));
        let by_inbound = tx
            .get(&keys::dedupe(customer, refers))?
            .and_then(|v| v.get(..16).and_then(keys::case_id_from_value))
            .filter(|c| !c.0.is_nil());
        for id in [by_outbound, by_inbound].into_iter().flatten() {
            if let Some(cv) = tx.get(&keys::case(id))?
                && decode::<CaseRecord>(&cv)?.customer == *customer
            {
                return Ok(Some(id));
            }
        }
    }
    Ok(tx
        .get(&keys::open(customer))?
        .and_then(|v| keys::case_id_from_value(&v)))
}

pub(super) enum Applied {
    Nothing,
    Logged,
    /// A failed status marked the case stuck: the case record changed.
    Failed,
}

/// Appends the statuses not yet on the case's history; a first failure
/// marks `case` stuck (the caller writes it).
pub(super) fn apply_statuses(
    tx: &mut Tx<'_>,
    case: &mut CaseRecord,
    statuses: Vec<StatusRecord>,
) -> Result<Applied, StoreError> {
    let id = case.id;
    let history = tx.range(&keys::log(id, 0), &keys::log(id, u64::MAX))?;
    let mut known: Vec<(String, DeliveryStatus)> = history
        .iter()
        .filter_map(|(_, v)| match decode::<LogEntry>(v) {
            Ok(LogEntry::Status(s)) => Some((s.provider_id, s.status)),
            Ok(LogEntry::Delivery(d)) => {
                DeliveryStatus::parse(&d.status).map(|st| (d.provider_id, st))
            }
            _ => None,
        })
        .collect();
    let mut applied = Applied::Nothing;
    for status in statuses {
        if known
            .iter()
            .any(|(p, s)| *p == status.provider_id && *s == status.status)
        {
            continue;
        }
        let failed_before = known
            .iter()
            .any(|(p, s)| *p == status.provider_id && *s == DeliveryStatus::Failed);
        known.push((status.provider_id.clone(), status.status));
        if status.status == DeliveryStatus::Failed && !failed_before {
            let event = CaseEvent::DeliveryFailed {
                provider_id: status.provider_id.clone(),
                reason: status
                    .error
                    .clone()
                    .unwrap_or_else(|| "no reason given".into()),
            };
            if let Ok(Some(admitted)) = admit::admit(case, event, status.at) {
                *case = admitted.case;
                let seq = next_seq(tx)?;
                tx.insert(
                    keys::log(id, seq),
                    encode(&LogEntry::Transition(admitted.transition))?,
                );
            }
            applied = Applied::Failed;
        } else if matches!(applied, Applied::Nothing) {
            applied = Applied::Logged;
        }
        let seq = next_seq(tx)?;
        tx.insert(keys::log(id, seq), encode(&LogEntry::Status(status))?);
    }
    Ok(applied)
}

/// Applies the statuses kept for `provider_id` now that a send's answer
/// named it; `true` when one of them marked `case` stuck.
pub(super) fn apply_early(
    tx: &mut Tx<'_>,
    case: &mut CaseRecord,
    provider_id: &str,
) -> Result<bool, StoreError> {
    let key = keys::early_status(provider_id);
    let Some(v) = tx.get(&key)? else {
        return Ok(false);
    };
    let early: EarlyStatuses = decode(&v)?;
    tx.remove(key);
    Ok(matches!(
        apply_statuses(tx, case, early.statuses)?,
        Applied::Failed
    ))
}
