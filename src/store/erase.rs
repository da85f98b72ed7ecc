//! Data subjects in the store: finding everything stored about one
//! customer, and erasing it (CONTRACT sections 2 "Privacy" and 4; UU PDP,
//! Law 27/2022, gives the customer access, correction and deletion).
//!
//! Erasure removes the customer's texts, number, email and name from their
//! cases (messages, decisions' edited texts, drafts, identity claims,
//! delivery errors), from the student records, and from every index keyed
//! by them (open case, phone, message ids, provider message ids). What
//! stays is pseudonymous: the cases (states, tiers, transitions, who
//! decided), the student's invoices and sessions under the student id, and
//! the audit entry. The customer is named by a *pseudonym*, a keyed
//! SHA-256 (HMAC) of their normalized number under a secret kept in the
//! store, so the same customer always gets the same pseudonym but the
//! number cannot be recovered from it by trying numbers.
//!
//! A message id that was erased is remembered only as its SHA-256, so a late
//! redelivery of it is a duplicate (nothing stored again) rather than a new
//! message that brings the text back.
//!
//! Each erasure is one atomic batch: after a crash it happened whole or not
//! at all, and running it again finds nothing left to erase (idempotent).
//! The store erases; it never decides who may (the HTTP layer does), and
//! what becomes of each case record is the machine's: the erasure is a
//! [`CaseEvent::Erase`] admitted by `core::machine::admit` and written with
//! its transition, like any change from outside a case's run.

use std::collections::BTreeSet;

use hmac::{KeyInit, Mac};
use serde::{Deserialize, Serialize};

use super::audit::{self, Actor, AuditAction, AuditRecord};
use super::codec::{Versioned, decode, encode};
use super::committer::Tx;
use super::provider::{KeptNote, RejectedInbound};
use super::{Store, StoreError, keys};
use crate::core::case::{CaseRecord, EffectRecord, LogEntry};
use crate::core::machine::admit::{self, CaseEvent, ErasureGround};
use crate::core::records::Student;
use crate::core::types::{CaseId, MessageId, Timestamp};
use crate::policy::identity::normalize_phone;

/// What erased text reads as.
pub const ERASED: &str = "[erased]";
pub use crate::core::machine::admit::ERASED_TAG;

/// Who a data-subject request is about: a phone number (matched in any
/// format) or, for a customer who hides their number, the address their
/// cases are keyed by (a WhatsApp business-scoped user id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// Normalized digits (`policy::identity::normalize_phone`).
    Phone(String),
    Address(String),
}

impl Subject {
    /// A phone number (8 to 15 digits, with `+`, spaces, `-`, `(`, `)` or
    /// `.` around them) or an address of 1 to 128 letters, digits, `.`,
    /// `_`, `-`. The error says what is wrong.
    pub fn parse(s: &str) -> Result<Subject, String> {
        let s = s.trim();
        let phone_like = !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '(' | ')' | '.'));
        if phone_like {
            let digits = normalize_phone(s);
            if !(8..=15).contains(&digits.len()) {
                return Err(format!(
                    "'{}' is not a phone number (8 to 15 digits)",
                    crate::core::types::mask_address(s)
                ));
            }
            return Ok(Subject::Phone(digits));
        }
        let address_like = (1..=128).contains(&s.len())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if address_like {
            Ok(Subject::Address(s.to_string()))
        } else {
            Err("a customer is named by a phone number or a WhatsApp user id".into())
        }
    }

    /// The subject a case's customer address stands for.
    pub fn of_address(address: &str) -> Subject {
        Subject::parse(address).unwrap_or_else(|_| Subject::Address(address.to_string()))
    }

    /// Whether a stored address (a case's customer, a student's phone) is
    /// this subject's.
    pub fn matches(&self, address: &str) -> bool {
        match (self, Subject::parse(address)) {
            (Subject::Phone(n), Ok(Subject::Phone(a))) => *n == a,
            (Subject::Address(n), _) => n == address.trim(),
            _ => false,
        }
    }

    fn key_text(&self) -> String {
        match self {
            Subject::Phone(n) => format!("phone:{n}"),
            Subject::Address(a) => format!("address:{a}"),
        }
    }
}

/// The secret pseudonyms are keyed with; made on first use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PseudonymKey {
    key: [u8; 32],
}

impl Versioned for PseudonymKey {
    const KIND: &'static str = "pseudonym key";
    const TAG: u8 = 21;
    const VERSION: u16 = 1;
}

/// What an erasure removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Erased {
    pub cases: u32,
    /// Inbound and outbound messages whose text was removed.
    pub messages: u32,
    pub students: u32,
}

impl Erased {
    fn add(&mut self, other: Erased) {
        self.cases += other.cases;
        self.messages += other.messages;
        self.students += other.students;
    }

    pub fn is_empty(&self) -> bool {
        *self == Erased::default()
    }
}

/// The stored mark of a data subject's erasure, by pseudonym.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErasureRecord {
    pub subject: String,
    pub first_at: Timestamp,
    pub last_at: Timestamp,
    pub by: String,
    pub reason: String,
    /// Everything erased for this subject, over every run.
    pub erased: Erased,
}

impl Versioned for ErasureRecord {
    const KIND: &'static str = "erasure";
    const TAG: u8 = 22;
    const VERSION: u16 = 1;
}

/// What one erasure request did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Erasure {
    /// The subject's pseudonym.
    pub subject: String,
    /// What this run removed (all zero when it was done before).
    pub now: Erased,
    /// The subject had been erased before this run.
    pub before: bool,
    pub record: ErasureRecord,
}

fn pseudonym(key: &[u8; 32], subject: &Subject) -> String {
    let mut mac =
        hmac::Hmac::<sha2::Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(subject.key_text().as_bytes());
    let tag = mac.finalize().into_bytes();
    format!("subject-{}", hex::encode(&tag[..16]))
}

impl Store {
    /// The pseudonym of `subject` (see the module docs).
    pub async fn pseudonym(&self, subject: &Subject) -> Result<String, StoreError> {
        Ok(pseudonym(&self.pseudonym_key().await?, subject))
    }

    async fn pseudonym_key(&self) -> Result<[u8; 32], StoreError> {
        if let Some(v) = self.db()?.get(keys::PSEUDONYM_KEY)? {
            return Ok(decode::<PseudonymKey>(&v)?.key);
        }
        self.committer
            .run(|tx| {
                if let Some(v) = tx.get(keys::PSEUDONYM_KEY)? {
                    return Ok(decode::<PseudonymKey>(&v)?.key);
                }
                let key = rand::random::<[u8; 32]>();
                tx.insert(keys::PSEUDONYM_KEY.to_vec(), encode(&PseudonymKey { key })?);
                Ok(key)
            })
            .await
    }

    /// Ids of every case of `subject`, newest first (a scan of the cases:
    /// an erasure or export is rare, a customer index would cost every
    /// ingest).
    pub fn subject_cases(&self, subject: &Subject) -> Result<Vec<CaseId>, StoreError> {
        let mut out = Vec::new();
        self.scan_cases(|case| {
            if subject.matches(&case.customer.address) {
                out.push(case.id);
            }
            true
        })?;
        Ok(out)
    }

    /// Student records whose registered number is `subject`'s.
    pub fn subject_students(&self, subject: &Subject) -> Result<Vec<Student>, StoreError> {
        let mut out = Vec::new();
        for kv in self.db()?.scan_prefix([keys::STUDENT]) {
            let s: Student = decode(&kv?.1)?;
            if subject.matches(&s.phone) {
                out.push(s);
            }
        }
        Ok(out)
    }

    /// The erasure mark of a pseudonym, if it was ever erased.
    pub fn erasure(&self, pseudonym: &str) -> Result<Option<ErasureRecord>, StoreError> {
        match self.db()?.get(keys::erasure(pseudonym))? {
            Some(v) => Ok(Some(decode(&v)?)),
            None => Ok(None),
        }
    }

    /// Erases everything stored about `subject` in one atomic batch, with
    /// the audit entry and the erasure mark. Open cases are closed. A
    /// second run erases what arrived since, or nothing.
    pub async fn erase_subject(
        &self,
        subject: Subject,
        actor: Actor,
        reason: String,
        now: Timestamp,
    ) -> Result<Erasure, StoreError> {
        let key = self.pseudonym_key().await?;
        let pseudo = pseudonym(&key, &subject);
        let scanned = self.subject_cases(&subject)?;
        self.committer
            .run(move |tx| {
                let mut ids: BTreeSet<CaseId> = scanned.into_iter().collect();
                // A case opened since the scan is in the open-case index.
                ids.extend(open_cases_of(tx, &subject)?);
                let mut now_erased = Erased::default();
                for id in ids {
                    now_erased.add(erase_case(tx, id, &pseudo, ErasureGround::Request, now)?);
                }
                for (k, v) in tx.range(&[keys::STUDENT], &[keys::STUDENT + 1])? {
                    let student: Student = decode(&v)?;
                    if subject.matches(&student.phone) {
                        erase_student(tx, k, student)?;
                        now_erased.students += 1;
                    }
                }
                now_erased.messages += erase_uncased(tx, &subject)?;
                let mkey = keys::erasure(&pseudo);
                let before = tx.get(&mkey)?.is_some();
                let mut record = match tx.get(&mkey)? {
                    Some(v) => decode::<ErasureRecord>(&v)?,
                    None => ErasureRecord {
                        subject: pseudo.clone(),
                        first_at: now,
                        last_at: now,
                        by: actor.name.clone(),
                        reason: reason.clone(),
                        erased: Erased::default(),
                    },
                };
                record.last_at = now;
                record.by = actor.name.clone();
                record.reason = reason.clone();
                record.erased.add(now_erased);
                tx.insert(mkey, encode(&record)?);
                audit::record(
                    tx,
                    AuditRecord {
                        at: now,
                        actor,
                        action: AuditAction::Erase,
                        target: Some(pseudo.clone()),
                        policy: Some("UU PDP (Law 27/2022): deletion on request".into()),
                        detail: format!(
                            "{reason} ({} case(s), {} message(s), {} student record(s) erased{})",
                            now_erased.cases,
                            now_erased.messages,
                            now_erased.students,
                            if now_erased.is_empty() {
                                "; erased before"
                            } else {
                                ""
                            }
                        ),
                    },
                )?;
                Ok(Erasure {
                    subject: pseudo,
                    now: now_erased,
                    before,
                    record,
                })
            })
            .await
    }

    /// Erases closed cases (retention): each case's customer becomes the
    /// pseudonym of its address; cases open again or already erased are
    /// left. Audited as one retention entry naming `policy`. Student
    /// records are current data and stay.
    pub async fn erase_closed_cases(
        &self,
        ids: Vec<CaseId>,
        policy: String,
        now: Timestamp,
    ) -> Result<Erased, StoreError> {
        let key = self.pseudonym_key().await?;
        self.committer
            .run(move |tx| {
                let mut erased = Erased::default();
                for id in ids {
                    let Some(v) = tx.get(&keys::case(id))? else {
                        continue;
                    };
                    let case: CaseRecord = decode(&v)?;
                    if !case.is_closed() {
                        continue;
                    }
                    let pseudo = pseudonym(&key, &Subject::of_address(&case.customer.address));
                    erased.add(erase_case(tx, id, &pseudo, ErasureGround::Retention, now)?);
                }
                if !erased.is_empty() {
                    audit::record(
                        tx,
                        AuditRecord {
                            at: now,
                            actor: Actor::new("retention", "system"),
                            action: AuditAction::Retention,
                            target: None,
                            policy: Some(policy),
                            detail: format!(
                                "{} closed case(s) erased ({} message(s))",
                                erased.cases, erased.messages
                            ),
                        },
                    )?;
                }
                Ok(erased)
            })
            .await
    }
}

/// Erases what the subject sent that sits on no case: events kept for a
/// sender without a case, and delivery items that could not be taken and
/// name the subject's number. Returns how many.
fn erase_uncased(tx: &mut Tx<'_>, subject: &Subject) -> Result<u32, StoreError> {
    let mut n = 0;
    for (k, v) in tx.range(&[keys::KEPT_NOTE], &[keys::KEPT_NOTE + 1])? {
        let kept: KeptNote = decode(&v)?;
        if subject.matches(&kept.customer.address) {
            tx.remove(keys::dedupe(&kept.customer, &kept.note.message_id));
            tx.insert(
                keys::erased_message(kept.customer.channel, &kept.note.message_id),
                uuid::Uuid::nil().as_bytes().to_vec(),
            );
            tx.remove(k);
            n += 1;
        }
    }
    let needle = match subject {
        Subject::Phone(digits) => digits.clone(),
        Subject::Address(a) => a.clone(),
    };
    for (k, v) in tx.range(&[keys::REJECTED], &[keys::REJECTED + 1])? {
        let item: RejectedInbound = decode(&v)?;
        if item.raw.contains(&needle) {
            tx.remove(k);
            n += 1;
        }
    }
    Ok(n)
}

/// How ingest answers a message id that was erased: the same sender's late
/// redelivery is a duplicate (of the erased case), another sender's use of
/// the id a conflict. `None` when the id was never erased.
pub(super) fn erased_redelivery(
    tx: &Tx<'_>,
    customer: &crate::core::types::CustomerKey,
    message: &MessageId,
) -> Result<Option<super::Ingested>, StoreError> {
    let Some(v) = tx.get(&keys::erased_message(customer.channel, message))? else {
        return Ok(None);
    };
    let Some(case) = keys::case_id_from_value(&v).filter(|c| !c.0.is_nil()) else {
        return Ok(Some(super::Ingested::Conflict));
    };
    let sender = match tx.get(keys::PSEUDONYM_KEY)? {
        Some(k) => pseudonym(
            &decode::<PseudonymKey>(&k)?.key,
            &Subject::of_address(&customer.address),
        ),
        None => String::new(),
    };
    let owner = match tx.get(&keys::case(case))? {
        Some(cv) => decode::<CaseRecord>(&cv)?.customer.address,
        None => String::new(),
    };
    Ok(Some(if !sender.is_empty() && sender == owner {
        super::Ingested::Duplicate { case }
    } else {
        super::Ingested::Conflict
    }))
}

/// Open cases of `subject`, from the open-case index.
fn open_cases_of(tx: &Tx<'_>, subject: &Subject) -> Result<Vec<CaseId>, StoreError> {
    let mut out = Vec::new();
    for (k, v) in tx.range(&[keys::OPEN], &[keys::OPEN + 1])? {
        let address = k
            .iter()
            .position(|b| *b == 0)
            .and_then(|i| std::str::from_utf8(&k[i + 1..]).ok());
        if address.is_some_and(|a| subject.matches(a))
            && let Some(id) = keys::case_id_from_value(&v)
        {
            out.push(id);
        }
    }
    Ok(out)
}

/// Erases one case: the machine admits the erasure of its record, and the
/// texts of its log, its effects' errors and its indexes go in the same
/// batch. A case already erased is left as it is.
fn erase_case(
    tx: &mut Tx<'_>,
    id: CaseId,
    pseudo: &str,
    ground: ErasureGround,
    now: Timestamp,
) -> Result<Erased, StoreError> {
    let key = keys::case(id);
    let Some(v) = tx.get(&key)? else {
        return Ok(Erased::default());
    };
    let case: CaseRecord = decode(&v)?;
    let event = CaseEvent::Erase {
        pseudonym: pseudo.to_string(),
        ground,
    };
    let admitted = match admit::admit(&case, event, now) {
        Ok(Some(admitted)) => admitted,
        // Erased before: nothing left.
        Ok(None) => return Ok(Erased::default()),
        Err(refusal) => return Err(StoreError::Refused { case: id, refusal }),
    };
    let mut erased = Erased {
        cases: 1,
        ..Erased::default()
    };
    let open_key = keys::open(&case.customer);
    if tx.get(&open_key)?.as_deref() == Some(id.0.as_bytes().as_slice()) {
        tx.remove(open_key);
    }
    for (k, v) in tx.range(&keys::log(id, 0), &keys::log(id, u64::MAX))? {
        let seq = keys::log_seq(&k).unwrap_or(0);
        let entry = match decode::<LogEntry>(&v)? {
            LogEntry::Inbound(mut m) => {
                tx.remove(keys::dedupe(&case.customer, &m.message_id));
                tx.insert(
                    keys::erased_message(case.customer.channel, &m.message_id),
                    id.0.as_bytes().to_vec(),
                );
                m.message_id = MessageId(format!("erased-{seq}"));
                m.text = ERASED.into();
                erased.messages += 1;
                LogEntry::Inbound(m)
            }
            LogEntry::Outbound(mut m) => {
                if let Some(pid) = m.provider_id.take() {
                    tx.remove(keys::provider_message(&pid));
                    m.provider_id = Some(ERASED.into());
                }
                m.text = ERASED.into();
                erased.messages += 1;
                LogEntry::Outbound(m)
            }
            LogEntry::Decision(mut d) => {
                d.text = d.text.map(|_| ERASED.into());
                LogEntry::Decision(d)
            }
            LogEntry::Approval(mut a) => {
                a.text = a.text.map(|_| ERASED.into());
                LogEntry::Approval(a)
            }
            LogEntry::Delivery(mut d) => {
                tx.remove(keys::provider_message(&d.provider_id));
                d.provider_id = ERASED.into();
                d.error = d.error.map(|_| ERASED.into());
                LogEntry::Delivery(d)
            }
            LogEntry::Note(mut n) => {
                tx.remove(keys::dedupe(&case.customer, &n.message_id));
                tx.insert(
                    keys::erased_message(case.customer.channel, &n.message_id),
                    id.0.as_bytes().to_vec(),
                );
                n.message_id = MessageId(format!("erased-{seq}"));
                n.refers_to = None;
                n.text = ERASED.into();
                erased.messages += 1;
                LogEntry::Note(n)
            }
            LogEntry::Status(mut st) => {
                tx.remove(keys::provider_message(&st.provider_id));
                tx.remove(keys::early_status(&st.provider_id));
                st.provider_id = ERASED.into();
                st.error = st.error.map(|_| ERASED.into());
                LogEntry::Status(st)
            }
            t @ LogEntry::Transition(_) => t,
        };
        tx.insert(k, encode(&entry)?);
    }
    for (k, v) in tx.range(&keys::effect(id, 0), &keys::effect(id, u32::MAX))? {
        let mut effect: EffectRecord = decode(&v)?;
        tx.remove(keys::status_by_key(&effect.key.0));
        tx.remove(keys::in_doubt(id, effect.step));
        if effect.last_error.is_some() {
            effect.last_error = Some(ERASED.into());
            tx.insert(k, encode(&effect)?);
        }
    }
    super::decisions::write_admitted(tx, admitted, None, now)?;
    Ok(erased)
}

/// Removes a student's name, number and email, and the phone index; the
/// invoices and sessions stay under the student id as business records.
fn erase_student(tx: &mut Tx<'_>, key: Vec<u8>, mut s: Student) -> Result<(), StoreError> {
    let phone = normalize_phone(&s.phone);
    if !phone.is_empty() {
        let index = keys::phone_index(&phone);
        if tx.get(&index)?.as_deref() == Some(s.id.as_bytes()) {
            tx.remove(index);
        }
    }
    s.name = ERASED.into();
    s.phone = String::new();
    s.email = String::new();
    tx.insert(key, encode(&s)?);
    Ok(())
}

#[cfg(test)]
#[path = "erase_tests.rs"]
mod tests;
