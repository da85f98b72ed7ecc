//! The key layout of the single sled tree. One tree, so that every write op
//! is one atomic `apply_batch`.
//!
//! | prefix | key rest                  | value                 |
//! |--------|---------------------------|-----------------------|
//! | `m`    | `format`                  | store format, u32 BE  |
//! | `m`    | `degraded`                | `DegradedRecord`      |
//! | `m`    | `commit`                  | last group, writes (2 x u64 BE) |
//! | `m`    | `probe`                   | probe write after a failure |
//! | `w`    | name, 0, version u32 BE   | workflow source       |
//! | `c`    | case id (16)              | `CaseRecord`          |
//! | `l`    | case id (16), seq u64 BE  | `LogEntry`            |
//! | `f`    | case id (16), step u32 BE | `EffectRecord`        |
//! | `d`    | channel, 0, message id    | case id (16) [+ sender] |
//! | `o`    | channel, 0, address       | case id (16): open    |
//! | `s`    | student id                | `Student`             |
//! | `p`    | normalized phone          | student id            |
//! | `i`    | invoice number            | student id            |
//! | `t`    | start ms (ordered), coach | `Slot`                |
//! | `a`    | article id, 0, version BE | `Article`             |
//! | `k`    | idempotency key           | `ToolReceipt`         |
//! | `b`    | tool name                 | `BreakerRecord`       |
//! | `v`    | provider message id       | case id (16), seq BE  |
//! | `y`    | order id                  | `PaymentRecord`       |
//! | `e`    | provider message id       | `EarlyStatuses`       |
//! | `q`    | idempotency key           | provider message id   |
//! | `n`    | case id (16), step u32 BE | `InDoubt`             |
//! | `u`    | channel, 0, address, 0, seq BE | `KeptNote`       |
//! | `x`    | seq u64 BE                | `RejectedInbound`     |
//! | `A`    | at (ordered), seq u64 BE  | `AuditEntry`          |
//! | `m`    | `pseudonym`               | `PseudonymKey`        |
//! | `E`    | pseudonym                 | `ErasureRecord`       |
//! | `R`    | SHA-256(channel, 0, id)   | case id (16): erased  |
//!
//! A dedupe value is the case id, followed by the sender's address when the
//! message was written by a release that records it; a note kept without a
//! case has the nil case id.
//! | `g`    | sample id (16)            | `QaSample`            |
//! | `h`    | sample id (16), item u32 BE | `QaLabel`           |

use crate::core::types::{CaseId, CustomerKey, MessageId};

pub const FORMAT: &[u8] = b"mformat";
pub const DEGRADED: &[u8] = b"mdegraded";
/// The last committed group and the writes through it: compared with the
/// acknowledgement journal when the store opens.
pub const COMMIT: &[u8] = b"mcommit";
/// Written when the store resumes after a write failure, to prove writes work.
pub const PROBE: &[u8] = b"mprobe";

pub fn commit_value(seq: u64, writes: u64) -> [u8; 16] {
    let mut v = [0u8; 16];
    v[..8].copy_from_slice(&seq.to_be_bytes());
    v[8..].copy_from_slice(&writes.to_be_bytes());
    v
}

pub fn parse_commit(v: &[u8]) -> Option<(u64, u64)> {
    let seq = u64::from_be_bytes(v.get(..8)?.try_into().ok()?);
    let writes = u64::from_be_bytes(v.get(8..16)?.try_into().ok()?);
    Some((seq, writes))
}
pub const CASE: u8 = b'c';
pub const LOG: u8 = b'l';
pub const EFFECT: u8 = b'f';
pub const DEDUPE: u8 = b'd';
pub const OPEN: u8 = b'o';
pub const WORKFLOW: u8 = b'w';

pub fn case(id: CaseId) -> Vec<u8> {
    let mut k = Vec::with_capacity(17);
    k.push(CASE);
    k.extend_from_slice(id.0.as_bytes());
    k
}

pub fn log_prefix(id: CaseId) -> Vec<u8> {
    let mut k = Vec::with_capacity(25);
    k.push(LOG);
    k.extend_from_slice(id.0.as_bytes());
    k
}

pub fn log(id: CaseId, seq: u64) -> Vec<u8> {
    let mut k = log_prefix(id);
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

pub fn log_seq(key: &[u8]) -> Option<u64> {
    let tail: [u8; 8] = key.get(17..25)?.try_into().ok()?;
    Some(u64::from_be_bytes(tail))
}

pub fn effect_prefix(id: CaseId) -> Vec<u8> {
    let mut k = Vec::with_capacity(21);
    k.push(EFFECT);
    k.extend_from_slice(id.0.as_bytes());
    k
}

pub fn effect(id: CaseId, step: u32) -> Vec<u8> {
    let mut k = effect_prefix(id);
    k.extend_from_slice(&step.to_be_bytes());
    k
}

pub fn dedupe(customer: &CustomerKey, message: &MessageId) -> Vec<u8> {
    let mut k = vec![DEDUPE];
    k.extend_from_slice(customer.channel.as_str().as_bytes());
    k.push(0);
    k.extend_from_slice(message.0.as_bytes());
    k
}

pub fn open(customer: &CustomerKey) -> Vec<u8> {
    let mut k = vec![OPEN];
    k.extend_from_slice(customer.channel.as_str().as_bytes());
    k.push(0);
    k.extend_from_slice(customer.address.as_bytes());
    k
}

pub fn workflow(name: &str, version: u32) -> Vec<u8> {
    let mut k = vec![WORKFLOW];
    k.extend_from_slice(name.as_bytes());
    k.push(0);
    k.extend_from_slice(&version.to_be_bytes());
    k
}

pub fn case_id_from_value(v: &[u8]) -> Option<CaseId> {
    uuid::Uuid::from_slice(v).ok().map(CaseId)
}

pub fn case_id_from_case_key(k: &[u8]) -> Option<CaseId> {
    uuid::Uuid::from_slice(k.get(1..17)?).ok().map(CaseId)
}

pub const STUDENT: u8 = b's';
pub const PHONE: u8 = b'p';
pub const INVOICE: u8 = b'i';
pub const SLOT: u8 = b't';
pub const ARTICLE: u8 = b'a';
pub const TOOL: u8 = b'k';

fn prefixed(prefix: u8, rest: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(rest.len() + 1);
    k.push(prefix);
    k.extend_from_slice(rest);
    k
}

pub fn student(id: &str) -> Vec<u8> {
    prefixed(STUDENT, id.as_bytes())
}

pub fn phone_index(normalized: &str) -> Vec<u8> {
    prefixed(PHONE, normalized.as_bytes())
}

pub fn invoice_index(key: &str) -> Vec<u8> {
    prefixed(INVOICE, key.as_bytes())
}

/// Slot keys sort by start time: the i64 with its sign bit flipped, BE.
pub fn slot_prefix_at(at: crate::core::types::Timestamp) -> Vec<u8> {
    let ordered = (at.millis() as u64) ^ (1 << 63);
    prefixed(SLOT, &ordered.to_be_bytes())
}

pub fn slot(at: crate::core::types::Timestamp, coach: &str) -> Vec<u8> {
    let mut k = slot_prefix_at(at);
    k.extend_from_slice(coach.as_bytes());
    k
}

pub fn article(id: &str, version: u32) -> Vec<u8> {
    let mut k = prefixed(ARTICLE, id.as_bytes());
    k.push(0);
    k.extend_from_slice(&version.to_be_bytes());
    k
}

pub fn tool_receipt(key: &str) -> Vec<u8> {
    prefixed(TOOL, key.as_bytes())
}

pub const BREAKER: u8 = b'b';

pub fn breaker(tool: &str) -> Vec<u8> {
    prefixed(BREAKER, tool.as_bytes())
}

pub const PROVIDER: u8 = b'v';

/// An outbound message by the id its provider gave it: case id and log seq.
pub fn provider_message(provider_id: &str) -> Vec<u8> {
    prefixed(PROVIDER, provider_id.as_bytes())
}

pub const PAYMENT: u8 = b'y';

pub fn payment(order_id: &str) -> Vec<u8> {
    prefixed(PAYMENT, order_id.as_bytes())
}

pub const EARLY_STATUS: u8 = b'e';
pub const STATUS_BY_KEY: u8 = b'q';
pub const IN_DOUBT: u8 = b'n';
pub const KEPT_NOTE: u8 = b'u';
pub const REJECTED: u8 = b'x';

/// Statuses of a provider message id not yet known here.
pub fn early_status(provider_id: &str) -> Vec<u8> {
    prefixed(EARLY_STATUS, provider_id.as_bytes())
}

/// The provider message id a status carrying this idempotency key named.
pub fn status_by_key(key: &str) -> Vec<u8> {
    prefixed(STATUS_BY_KEY, key.as_bytes())
}

pub fn in_doubt(id: CaseId, step: u32) -> Vec<u8> {
    let mut k = vec![IN_DOUBT];
    k.extend_from_slice(id.0.as_bytes());
    k.extend_from_slice(&step.to_be_bytes());
    k
}

pub fn kept_note_prefix(customer: &CustomerKey) -> Vec<u8> {
    let mut k = vec![KEPT_NOTE];
    k.extend_from_slice(customer.channel.as_str().as_bytes());
    k.push(0);
    k.extend_from_slice(customer.address.as_bytes());
    k.push(0);
    k
}

pub fn kept_note(customer: &CustomerKey, seq: u64) -> Vec<u8> {
    let mut k = kept_note_prefix(customer);
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

pub fn rejected(seq: u64) -> Vec<u8> {
    prefixed(REJECTED, &seq.to_be_bytes())
}

pub const AUDIT: u8 = b'A';

/// Audit keys sort by time, then by a store-wide sequence.
pub fn audit(at: crate::core::types::Timestamp, seq: u64) -> Vec<u8> {
    let ordered = (at.millis() as u64) ^ (1 << 63);
    let mut k = Vec::with_capacity(17);
    k.push(AUDIT);
    k.extend_from_slice(&ordered.to_be_bytes());
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

pub fn audit_at(key: &[u8]) -> Option<crate::core::types::Timestamp> {
    let ordered: [u8; 8] = key.get(1..9)?.try_into().ok()?;
    Some(crate::core::types::Timestamp(
        (u64::from_be_bytes(ordered) ^ (1 << 63)) as i64,
    ))
}

pub const PSEUDONYM_KEY: &[u8] = b"mpseudonym";
pub const ERASURE: u8 = b'E';
pub const ERASED_MESSAGE: u8 = b'R';

/// The erasure mark of a data subject, by pseudonym.
pub fn erasure(pseudonym: &str) -> Vec<u8> {
    prefixed(ERASURE, pseudonym.as_bytes())
}

/// An erased inbound message, by the SHA-256 of its channel and id: a late
/// redelivery is recognised without keeping the id itself.
pub fn erased_message(channel: crate::core::types::Channel, message: &MessageId) -> Vec<u8> {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update(channel.as_str().as_bytes());
    h.update([0]);
    h.update(message.0.as_bytes());
    prefixed(ERASED_MESSAGE, &h.finalize())
}
pub const QA_SAMPLE: u8 = b'g';
pub const QA_LABEL: u8 = b'h';

/// A post-send audit sample by its id.
pub fn qa_sample(id: uuid::Uuid) -> Vec<u8> {
    prefixed(QA_SAMPLE, id.as_bytes())
}

pub fn qa_label_prefix(sample: uuid::Uuid) -> Vec<u8> {
    prefixed(QA_LABEL, sample.as_bytes())
}

/// A reviewer's label on item `item` of a sample.
pub fn qa_label(sample: uuid::Uuid, item: u32) -> Vec<u8> {
    let mut k = qa_label_prefix(sample);
    k.extend_from_slice(&item.to_be_bytes());
    k
}
