//! Frozen schemas of stored kinds and the migrations from each to the next.
//!
//! A stored value is read by the exact shape that wrote it (bincode keeps no
//! field names), so every schema version a released build wrote keeps a
//! frozen copy of its types here, independent of the live types in
//! `crate::core`: `v1.rs`, `v2.rs`, ... Frozen types never change. A
//! migration turns version N into version N+1 (frozen to frozen), and the
//! newest frozen version into the live type (`migrate_vN.rs`). Reading an
//! old value runs the chain: 1 -> 2 -> 3 -> live.
//!
//! | kind (tag) | versions written | frozen in | live |
//! |---|---|---|---|
//! | case (1) | 1: builds 5c84552..441bbb2; 2: f230e10..(release c5a7a42)..0e48bc9; 3: cc2cad7 up to the bump to 4 | `v1.rs`, `v2.rs`, `v3.rs` | 4 |
//! | article (7) | 1: one body | `article_v1.rs` | 2 |
//! | every other kind | 1 | (live) | 1 |
//!
//! Schema 2 of the case drifted on main before it was frozen: the release
//! (c5a7a42) wrote [`v2::CaseRecord`]; later builds appended one field and
//! are read as [`v2::LateCaseRecord`]. Shapes written only by development
//! builds between f230e10 and d4d49bb (before `payment_checked`,
//! `OfferedSlot::label` and `ToolRequest`) were never released and are not
//! read.
//!
//! How to change a stored type: see the "Changing a stored type" section of
//! `super::codec`.

pub mod article_v1;
pub mod migrate_v2;
pub mod migrate_v3;
pub mod v1;
pub mod v2;
pub mod v3;

use super::codec::{CodecError, decode_exact};
use crate::core::case::CaseRecord;

const CASE: &str = "case";

/// Reads a case record payload written with schema `version` (older than
/// the live one) and migrates it to the live type.
pub fn upgrade_case(version: u16, payload: &[u8]) -> Result<CaseRecord, CodecError> {
    match version {
        1 => {
            let v1: v1::CaseRecord = decode_exact(CASE, payload)?;
            let v3 = migrate_v2::case_record(v1.into(), None);
            Ok(migrate_v3::case_record(v3))
        }
        2 => {
            let v3 = match decode_exact::<v2::CaseRecord>(CASE, payload) {
                Ok(v) => migrate_v2::case_record(v, None),
                // Only the late schema-2 shape is longer than the release's.
                Err(CodecError::Trailing { .. }) => {
                    let late: v2::LateCaseRecord = decode_exact(CASE, payload)?;
                    migrate_v2::case_record(late.record, late.lane_posted)
                }
                Err(e) => return Err(e),
            };
            Ok(migrate_v3::case_record(v3))
        }
        3 => {
            let v3: v3::CaseRecord = decode_exact(CASE, payload)?;
            Ok(migrate_v3::case_record(v3))
        }
        found => Err(CodecError::NoUpgrade { kind: CASE, found }),
    }
}

/// The leading fields of a case payload of any known schema (they are the
/// same in 1 to 4), read even when the rest does not decode: what the
/// admin API can still show of an unreadable record.
pub fn case_head(version: u16, payload: &[u8]) -> Option<v2::CaseHead> {
    if !(1..=4).contains(&version) {
        return None;
    }
    bincode::serde::decode_from_slice(payload, bincode::config::standard())
        .ok()
        .map(|(head, _)| head)
}
