//! Records the desk answers from, in the same tree as the cases: students
//! (with phone and invoice indexes), free slots, knowledge-base article
//! versions, and the receipts of write tools.
//!
//! Student upserts follow the source's revisions: an item whose rev is not
//! above the stored one is ignored, so a late or repeated push never rolls a
//! record back.
//!
//! Booking idempotency lives here ([`Store::book`]): the execute stage's
//! booking (`crate::core::stages::execute`) reaches it through the engine's
//! write tools with the call's key `case / step`; the first call stores a
//! receipt under that key in the same batch as the booking, and a call
//! with the same key answers that receipt without booking again.

use serde::{Deserialize, Serialize};

use super::codec::{Versioned, decode, encode};
use super::committer::Tx;
use super::{Store, StoreError, keys};
use crate::core::records::{
    Article, ArticleStatus, Booking, PaymentEvent, PaymentRecord, PaymentState, Records,
    RecordsError, RecordsQuery, Slot, Student, ToolReceipt,
};
use crate::core::types::Timestamp;
use crate::policy::identity::{invoice_key, normalize_phone};

impl Versioned for Student {
    const KIND: &'static str = "student";
    const TAG: u8 = 5;
    const VERSION: u16 = 1;
}

impl Versioned for Slot {
    const KIND: &'static str = "slot";
    const TAG: u8 = 6;
    const VERSION: u16 = 1;
}

impl Versioned for Article {
    const KIND: &'static str = "article";
    const TAG: u8 = 7;
    /// 2: a body per language (`body_id`).
    const VERSION: u16 = 2;

    fn upgrade(version: u16, payload: &[u8]) -> Result<Self, super::codec::CodecError> {
        match version {
            1 => super::codec::decode_exact::<super::schema::article_v1::Article>(
                Self::KIND,
                payload,
            )
            .map(Into::into),
            found => Err(super::codec::CodecError::NoUpgrade {
                kind: Self::KIND,
                found,
            }),
        }
    }
}

impl Versioned for PaymentRecord {
    const KIND: &'static str = "payment";
    const TAG: u8 = 10;
    const VERSION: u16 = 1;
}

impl Versioned for ToolReceipt {
    const KIND: &'static str = "tool receipt";
    const TAG: u8 = 8;
    const VERSION: u16 = 1;
}

/// What a student upsert did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Upserted {
    pub stored: Vec<String>,
    /// Ids whose rev was not above the stored one.
    pub ignored: Vec<String>,
}

/// A write tool's answer for one idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolAnswer {
    /// First call under this key: what it did now.
    Done(ToolReceipt),
    /// The key was seen before: what it did then. Nothing was done again.
    Replayed(ToolReceipt),
}

impl ToolAnswer {
    pub fn receipt(&self) -> &ToolReceipt {
        match self {
            ToolAnswer::Done(r) | ToolAnswer::Replayed(r) => r,
        }
    }
}

impl Store {
    pub fn student(&self, id: &str) -> Result<Option<Student>, StoreError> {
        self.get_decoded(&keys::student(id))
    }

    pub fn student_by_phone(&self, phone: &str) -> Result<Option<Student>, StoreError> {
        self.student_via(&keys::phone_index(&normalize_phone(phone)))
    }

    pub fn student_by_invoice(&self, number: &str) -> Result<Option<Student>, StoreError> {
        self.student_via(&keys::invoice_index(&invoice_key(number)))
    }

    fn student_via(&self, index: &[u8]) -> Result<Option<Student>, StoreError> {
        match self.db()?.get(index)? {
            Some(id) => self.student(&String::from_utf8_lossy(&id)),
            None => Ok(None),
        }
    }

    fn get_decoded<T: Versioned>(&self, key: &[u8]) -> Result<Option<T>, StoreError> {
        match self.db()?.get(key)? {
            Some(v) => Ok(Some(decode(&v)?)),
            None => Ok(None),
        }
    }

    /// Slots from `after` on, earliest first (free and booked).
    pub fn slots(&self, after: Timestamp) -> Result<Vec<Slot>, StoreError> {
        let start = keys::slot_prefix_at(after);
        let end = [keys::SLOT + 1];
        self.db()?
            .range(start..end.to_vec())
            .map(|kv| Ok(decode(&kv?.1)?))
            .collect()
    }

    /// Every stored version of every article.
    pub fn articles(&self) -> Result<Vec<Article>, StoreError> {
        self.db()?
            .scan_prefix([keys::ARTICLE])
            .map(|kv| Ok(decode(&kv?.1)?))
            .collect()
    }

    pub fn payment(&self, order_id: &str) -> Result<Option<PaymentRecord>, StoreError> {
        self.get_decoded(&keys::payment(order_id))
    }

    /// Applies a payment notification: recorded always (once per status and
    /// code), applied only when the state may move that way. Returns the
    /// record and whether the state changed.
    pub async fn apply_payment(
        &self,
        order_id: String,
        gross_amount: String,
        to: PaymentState,
        event: PaymentEvent,
    ) -> Result<(PaymentRecord, bool), StoreError> {
        self.committer
            .run(move |tx| {
                let key = keys::payment(&order_id);
                let mut record: PaymentRecord = match tx.get(&key)? {
                    Some(v) => decode(&v)?,
                    None => PaymentRecord {
                        order_id: order_id.clone(),
                        state: to,
                        gross_amount: gross_amount.clone(),
                        history: Vec::new(),
                        updated_at: event.at,
                    },
                };
                let fresh = record.history.is_empty();
                let moved = fresh || crate::policy::payments::may_move(record.state, to);
                let duplicate = record.history.iter().any(|h| {
                    h.transaction_status == event.transaction_status
                        && h.status_code == event.status_code
                        && h.fraud_status == event.fraud_status
                });
                if !duplicate {
                    record.history.push(PaymentEvent {
                        applied: moved,
                        ..event.clone()
                    });
                }
                if moved {
                    record.state = to;
                    record.updated_at = event.at;
                }
                if moved || !duplicate {
                    tx.insert(key, encode(&record)?);
                }
                Ok((record, moved))
            })
            .await
    }

    pub fn has_students(&self) -> Result<bool, StoreError> {
        Ok(self
            .db()?
            .scan_prefix([keys::STUDENT])
            .next()
            .transpose()?
            .is_some())
    }

    pub fn tool_receipt(&self, key: &str) -> Result<Option<ToolReceipt>, StoreError> {
        self.get_decoded(&keys::tool_receipt(key))
    }

    /// Upserts students by monotonic revision and keeps the phone and
    /// invoice indexes in step. `now` is recorded as their sync time.
    pub async fn upsert_students(
        &self,
        students: Vec<Student>,
        now: Timestamp,
    ) -> Result<Upserted, StoreError> {
        self.upsert(students, now, false).await
    }

    /// As [`Store::upsert_students`], for a source that does not know the
    /// reschedule history (Notion): the stored history is kept.
    pub async fn upsert_students_keeping_history(
        &self,
        students: Vec<Student>,
        now: Timestamp,
    ) -> Result<Upserted, StoreError> {
        self.upsert(students, now, true).await
    }

    async fn upsert(
        &self,
        students: Vec<Student>,
        now: Timestamp,
        keep_history: bool,
    ) -> Result<Upserted, StoreError> {
        self.committer
            .run(move |tx| upsert_in(tx, students, now, keep_history))
            .await
    }

    /// Adds free slots; a slot already stored keeps its booking.
    pub async fn add_slots(&self, slots: Vec<Slot>) -> Result<usize, StoreError> {
        self.committer.run(move |tx| add_slots_in(tx, slots)).await
    }

    /// Stores article versions; the same id and version again replaces it
    /// (e.g. to withdraw a published version by posting it as draft).
    pub async fn put_articles(&self, articles: Vec<Article>) -> Result<usize, StoreError> {
        self.committer
            .run(move |tx| put_articles_in(tx, articles))
            .await
    }

    pub async fn book(
        &self,
        key: String,
        booking: Booking,
        now: Timestamp,
    ) -> Result<ToolAnswer, StoreError> {
        self.committer
            .run(move |tx| {
                let rkey = keys::tool_receipt(&key);
                if let Some(v) = tx.get(&rkey)? {
                    return Ok(ToolAnswer::Replayed(decode(&v)?));
                }
                let (ok, detail) = apply_booking(tx, &key, &booking, now)?;
                let receipt = ToolReceipt {
                    key,
                    tool: BOOK_TOOL.into(),
                    ok,
                    detail,
                    at: now,
                };
                tx.insert(rkey, encode(&receipt)?);
                Ok(ToolAnswer::Done(receipt))
            })
            .await
    }
}

pub use crate::core::records::BOOK_TOOL;

/// The student upsert as part of an op (see [`Store::upsert_students`]).
pub(crate) fn upsert_in(
    tx: &mut Tx<'_>,
    students: Vec<Student>,
    now: Timestamp,
    keep_history: bool,
) -> Result<Upserted, StoreError> {
    let mut out = Upserted::default();
    for mut s in students {
        let key = keys::student(&s.id);
        let old: Option<Student> = match tx.get(&key)? {
            Some(v) => Some(decode(&v)?),
            None => None,
        };
        if old.as_ref().is_some_and(|o| s.rev <= o.rev) {
            out.ignored.push(s.id);
            continue;
        }
        if let Some(old) = &old {
            unindex(tx, old);
            if keep_history {
                s.reschedule_history = old.reschedule_history.clone();
            }
        }
        s.synced_at = now;
        index(tx, &s);
        tx.insert(key, encode(&s)?);
        out.stored.push(s.id);
    }
    Ok(out)
}

/// Adds the slots not stored yet, as part of an op; returns how many.
pub(crate) fn add_slots_in(tx: &mut Tx<'_>, slots: Vec<Slot>) -> Result<usize, StoreError> {
    let mut added = 0;
    for s in slots {
        let key = keys::slot(s.starts_at, &s.coach);
        if tx.get(&key)?.is_none() {
            tx.insert(key, encode(&s)?);
            added += 1;
        }
    }
    Ok(added)
}

/// Stores article versions as part of an op; returns how many.
pub(crate) fn put_articles_in(
    tx: &mut Tx<'_>,
    articles: Vec<Article>,
) -> Result<usize, StoreError> {
    let n = articles.len();
    for a in articles {
        tx.insert(keys::article(&a.id, a.version), encode(&a)?);
    }
    Ok(n)
}

fn apply_booking(
    tx: &mut Tx<'_>,
    key: &str,
    b: &Booking,
    now: Timestamp,
) -> Result<(bool, String), StoreError> {
    let skey = keys::slot(b.slot_at, &b.coach);
    let Some(v) = tx.get(&skey)? else {
        return Ok((false, "the slot is no longer offered".into()));
    };
    let mut slot: Slot = decode(&v)?;
    if slot.booked_by.is_some() {
        return Ok((false, "the slot was taken meanwhile".into()));
    }
    let stkey = keys::student(&b.student);
    let Some(v) = tx.get(&stkey)? else {
        return Ok((false, format!("student {} is not on record", b.student)));
    };
    let mut student: Student = decode(&v)?;
    let Some(session) = student.sessions.iter_mut().find(|s| s.id == b.session) else {
        return Ok((false, format!("session {} is not on record", b.session)));
    };
    session.starts_at = b.slot_at;
    session.coach = b.coach.clone();
    student.reschedule_history.push(now);
    slot.booked_by = Some(key.to_string());
    tx.insert(skey, encode(&slot)?);
    tx.insert(stkey, encode(&student)?);
    Ok((
        true,
        format!("session {} moved to {}", b.session, b.slot_at.to_rfc3339()),
    ))
}

fn index(tx: &mut Tx<'_>, s: &Student) {
    let phone = normalize_phone(&s.phone);
    if !phone.is_empty() {
        tx.insert(keys::phone_index(&phone), s.id.as_bytes().to_vec());
    }
    for inv in &s.invoices {
        tx.insert(
            keys::invoice_index(&invoice_key(&inv.number)),
            s.id.as_bytes().to_vec(),
        );
    }
}

fn unindex(tx: &mut Tx<'_>, s: &Student) {
    let phone = normalize_phone(&s.phone);
    if !phone.is_empty() {
        tx.remove(keys::phone_index(&phone));
    }
    for inv in &s.invoices {
        tx.remove(keys::invoice_index(&invoice_key(&inv.number)));
    }
}

impl Records for Store {
    fn student(&self, id: &str) -> Result<Option<Student>, RecordsError> {
        Store::student(self, id)
            .map_err(|e| RecordsError::new(RecordsQuery::Student { id: id.into() }, e))
    }

    fn student_by_phone(&self, phone: &str) -> Result<Option<Student>, RecordsError> {
        Store::student_by_phone(self, phone)
            .map_err(|e| RecordsError::new(RecordsQuery::StudentByPhone, e))
    }

    fn student_by_invoice(&self, number: &str) -> Result<Option<Student>, RecordsError> {
        Store::student_by_invoice(self, number)
            .map_err(|e| RecordsError::new(RecordsQuery::StudentByInvoice, e))
    }

    fn free_slots(&self, after: Timestamp, limit: usize) -> Result<Vec<Slot>, RecordsError> {
        let mut free = Vec::new();
        for s in self
            .slots(after.plus_millis(1))
            .map_err(|e| RecordsError::new(RecordsQuery::FreeSlots, e))?
        {
            if s.booked_by.is_none() {
                free.push(s);
                if free.len() == limit {
                    break;
                }
            }
        }
        Ok(free)
    }

    fn payment(&self, order_id: &str) -> Result<Option<PaymentState>, RecordsError> {
        Store::payment(self, order_id)
            .map(|p| p.map(|p| p.state))
            .map_err(|e| {
                let order_id = order_id.into();
                RecordsError::new(RecordsQuery::Payment { order_id }, e)
            })
    }

    fn published_articles(&self) -> Result<Vec<Article>, RecordsError> {
        let mut best: Vec<Article> = Vec::new();
        // Keys sort by id then version, so a later one is a newer version.
        let articles = self
            .articles()
            .map_err(|e| RecordsError::new(RecordsQuery::PublishedArticles, e))?;
        for a in articles {
            if a.status != ArticleStatus::Published {
                continue;
            }
            match best.last_mut() {
                Some(b) if b.id == a.id => *b = a,
                _ => best.push(a),
            }
        }
        Ok(best)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::records::{Invoice, Session};

    fn student(id: &str, rev: u64, phone: &str, invoice: &str) -> Student {
        Student {
            id: id.into(),
            name: "Sari".into(),
            phone: phone.into(),
            email: "sari@example.com".into(),
            rev,
            invoices: vec![Invoice {
                number: invoice.into(),
                order_id: format!("ORD-{invoice}"),
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

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db")).unwrap();
        (dir, store)
    }

    #[tokio::test]
    async fn an_older_or_equal_rev_is_ignored_and_indexes_follow_the_newest() {
        let (_d, store) = store();
        let out = store
            .upsert_students(vec![student("st1", 2, "0812-1111", "INV-1")], Timestamp(5))
            .await
            .unwrap();
        assert_eq!(out.stored, vec!["st1"]);
        for rev in [1, 2] {
            let out = store
                .upsert_students(
                    vec![student("st1", rev, "0812-2222", "INV-2")],
                    Timestamp(6),
                )
                .await
                .unwrap();
            assert_eq!(out.ignored, vec!["st1"], "rev {rev} must be ignored");
        }
        assert!(store.student_by_phone("+62 812 1111").unwrap().is_some());
        store
            .upsert_students(vec![student("st1", 3, "0812-2222", "INV-2")], Timestamp(7))
            .await
            .unwrap();
        assert!(store.student_by_phone("+628121111").unwrap().is_none());
        assert!(store.student_by_invoice("inv-1").unwrap().is_none());
        let s = store.student_by_invoice("inv-2").unwrap().unwrap();
        assert_eq!((s.rev, s.synced_at), (3, Timestamp(7)));
    }

    #[tokio::test]
    async fn a_source_without_history_keeps_the_stored_reschedules() {
        let (_d, store) = store();
        let mut s = student("st1", 1, "0812", "INV-1");
        s.reschedule_history = vec![Timestamp(5)];
        store.upsert_students(vec![s], Timestamp(1)).await.unwrap();
        let mut newer = student("st1", 2, "0812", "INV-1");
        newer.name = "Sari W.".into();
        store
            .upsert_students_keeping_history(vec![newer], Timestamp(2))
            .await
            .unwrap();
        let got = store.student("st1").unwrap().unwrap();
        assert_eq!(
            (got.name.as_str(), got.reschedule_history.clone()),
            ("Sari W.", vec![Timestamp(5)])
        );
    }

    #[tokio::test]
    async fn booking_happens_once_per_key_and_a_taken_slot_is_refused() {
        let (_d, store) = store();
        store
            .upsert_students(vec![student("st1", 1, "0812", "INV-1")], Timestamp(1))
            .await
            .unwrap();
        let slot = Slot {
            starts_at: Timestamp(20_000_000),
            coach: "Rina".into(),
            booked_by: None,
        };
        store.add_slots(vec![slot.clone()]).await.unwrap();
        let booking = Booking {
            student: "st1".into(),
            session: "S1".into(),
            slot_at: slot.starts_at,
            coach: "Rina".into(),
        };
        let first = store
            .book("k1".into(), booking.clone(), Timestamp(2))
            .await
            .unwrap();
        assert!(matches!(&first, ToolAnswer::Done(r) if r.ok));
        let again = store
            .book("k1".into(), booking.clone(), Timestamp(3))
            .await
            .unwrap();
        assert!(matches!(&again, ToolAnswer::Replayed(r) if r.ok));
        let s = store.student("st1").unwrap().unwrap();
        assert_eq!(s.reschedule_history, vec![Timestamp(2)], "applied once");
        assert_eq!(s.sessions[0].starts_at, slot.starts_at);
        let other = store
            .book("k2".into(), booking, Timestamp(4))
            .await
            .unwrap();
        assert!(!other.receipt().ok, "a booked slot cannot be booked again");
        assert!(
            Records::free_slots(&store, Timestamp(0), 3)
                .unwrap()
                .is_empty()
        );
    }

    /// An article as schema 1 wrote it (one body), committed as bytes:
    /// `[tag 7][version 0x0001][bincode]` of id "price", title "Price",
    /// Published, body "Rp 450.000", questions ["berapa harga"], version 2.
    const ARTICLE_V1: &str =
        "070001057072696365055072696365000a5270203435302e303030010c62657261706120686172676102";

    #[test]
    fn an_article_of_schema_1_reads_with_its_one_body() {
        let bytes = hex::decode(ARTICLE_V1).unwrap();
        let a: Article = decode(&bytes).unwrap();
        assert_eq!(
            a,
            Article {
                id: "price".into(),
                title: "Price".into(),
                status: ArticleStatus::Published,
                body: "Rp 450.000".into(),
                questions: vec!["berapa harga".into()],
                version: 2,
                body_id: None,
            }
        );
        assert_eq!(
            a.answer(crate::core::case::Language::Id),
            ("Rp 450.000", crate::core::case::Language::En),
            "without a Bahasa Indonesia body the one body answers, in its language"
        );
        let again = encode(&a).unwrap();
        assert_eq!(&again[..3], &[7, 0, 2], "written back at schema 2");
        assert_eq!(decode::<Article>(&again).unwrap(), a);
    }

    #[tokio::test]
    async fn only_the_highest_published_version_answers() {
        let (_d, store) = store();
        let art = |version, status| Article {
            id: "price".into(),
            title: "Price".into(),
            status,
            body: format!("v{version}"),
            questions: vec!["how much".into()],
            version,
            body_id: None,
        };
        store
            .put_articles(vec![
                art(1, ArticleStatus::Published),
                art(2, ArticleStatus::Published),
                art(3, ArticleStatus::Draft),
            ])
            .await
            .unwrap();
        let published = Records::published_articles(&store).unwrap();
        assert_eq!(published.len(), 1);
        assert_eq!(published[0].version, 2);
        store
            .put_articles(vec![
                art(2, ArticleStatus::Draft),
                art(1, ArticleStatus::Draft),
            ])
            .await
            .unwrap();
        assert!(Records::published_articles(&store).unwrap().is_empty());
    }
}
