//! The key layout of the single sled tree. One tree, so that every write op
//! is one atomic `apply_batch`.
//!
//! | prefix | key rest                  | value                 |
//! |--------|---------------------------|-----------------------|
//! | `m`    | `format`                  | store format, u32 BE  |
//! | `w`    | name, 0, version u32 BE   | workflow source       |
//! | `c`    | case id (16)              | `CaseRecord`          |
//! | `l`    | case id (16), seq u64 BE  | `LogEntry`            |
//! | `f`    | case id (16), step u32 BE | `EffectRecord`        |
//! | `d`    | channel, 0, message id    | case id (16)          |
//! | `o`    | channel, 0, address       | case id (16): open    |

use crate::core::types::{CaseId, CustomerKey, MessageId};

pub const FORMAT: &[u8] = b"mformat";
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
