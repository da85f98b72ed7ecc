//! Value encoding: `[tag: u8][schema version: u16 BE][bincode 2 payload]`.
//!
//! bincode stores no field names, so a value is only readable by the exact
//! struct that wrote it. Each record type therefore carries a tag and a schema
//! version; when a struct changes, its old shape stays as a frozen type
//! (`super::schema`) and `upgrade` turns old payloads into the current one.
//! A payload must be consumed exactly: trailing bytes mean the wrong schema,
//! not success.
//!
//! # Changing a stored type
//!
//! Any change to a type reachable from a stored kind (a field added, removed,
//! reordered or retyped; an enum variant inserted or removed anywhere but at
//! the end) changes its bytes. `tests/store_schema.rs` encodes a fixed value
//! of every kind and compares it byte for byte with
//! `tests/fixtures/schema/<kind>-v<N>.bin`, so such a change fails CI until
//! it is done this way:
//!
//! 1. Freeze the old shape: create `src/store/schema/v<N>.rs` holding a
//!    copy of every type of the kind that you change (as it is before your
//!    change), re-exporting the unchanged ones from `v<N-1>.rs`.
//! 2. Migrate: the conversions from `v<N-1>` that built live types of the
//!    changed kinds now build the `v<N>` copies (frozen to frozen; change
//!    the `use` paths), and a new `migrate_v<N>.rs` turns `v<N>` into the
//!    live types (fill the new field, map the renamed variant, ...).
//! 3. Bump `VERSION` in the kind's `Versioned` impl and add the version to
//!    its `upgrade` match (`schema::upgrade_case` for cases).
//! 4. Fixtures: extend the fixed value in `tests/store_schema.rs` with your
//!    field, run `CASEFLOW_WRITE_FIXTURES=1 cargo test --test store_schema`
//!    once (it writes only missing files, never overwrites), commit the new
//!    `<kind>-v<N+1>.bin`, and add the expected live value of the old
//!    `<kind>-v<N>.bin` to the test's table.
//!
//! Appending a variant at the end of an enum keeps every old value readable
//! and needs no bump. Never edit or delete a committed fixture.

use serde::{Serialize, de::DeserializeOwned};

#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum CodecError {
    #[error("value is {0} bytes, shorter than its 3-byte header")]
    Short(usize),
    #[error("expected a {expected} record (tag {tag_expected}), found tag {found}")]
    WrongTag {
        expected: &'static str,
        tag_expected: u8,
        found: u8,
    },
    #[error("{kind} record has schema version {found}; this binary reads up to {known}")]
    TooNew {
        kind: &'static str,
        found: u16,
        known: u16,
    },
    #[error("{kind} record has schema version {found}, which this binary cannot upgrade")]
    NoUpgrade { kind: &'static str, found: u16 },
    #[error("{kind} record is corrupt: {reason}")]
    Corrupt { kind: &'static str, reason: String },
    #[error("{kind} record has {extra} trailing bytes: it was written by another schema")]
    Trailing { kind: &'static str, extra: usize },
    #[error("cannot encode {kind} record: {reason}")]
    Encode { kind: &'static str, reason: String },
}

/// A record type stored in sled.
pub trait Versioned: Serialize + DeserializeOwned {
    const KIND: &'static str;
    const TAG: u8;
    const VERSION: u16;

    /// Reads a payload written by an older schema version.
    fn upgrade(version: u16, _payload: &[u8]) -> Result<Self, CodecError> {
        Err(CodecError::NoUpgrade {
            kind: Self::KIND,
            found: version,
        })
    }
}

fn config() -> bincode::config::Configuration {
    bincode::config::standard()
}

pub fn encode<T: Versioned>(value: &T) -> Result<Vec<u8>, CodecError> {
    let mut out = Vec::with_capacity(64);
    out.push(T::TAG);
    out.extend_from_slice(&T::VERSION.to_be_bytes());
    bincode::serde::encode_into_std_write(value, &mut out, config()).map_err(|e| {
        CodecError::Encode {
            kind: T::KIND,
            reason: e.to_string(),
        }
    })?;
    Ok(out)
}

pub fn decode<T: Versioned>(bytes: &[u8]) -> Result<T, CodecError> {
    if bytes.len() < 3 {
        return Err(CodecError::Short(bytes.len()));
    }
    if bytes[0] != T::TAG {
        return Err(CodecError::WrongTag {
            expected: T::KIND,
            tag_expected: T::TAG,
            found: bytes[0],
        });
    }
    let version = u16::from_be_bytes([bytes[1], bytes[2]]);
    let payload = &bytes[3..];
    match version.cmp(&T::VERSION) {
        std::cmp::Ordering::Equal => decode_exact(T::KIND, payload),
        std::cmp::Ordering::Less => T::upgrade(version, payload),
        std::cmp::Ordering::Greater => Err(CodecError::TooNew {
            kind: T::KIND,
            found: version,
            known: T::VERSION,
        }),
    }
}

/// Decodes a payload of exactly one `T`, for current and frozen schemas.
pub fn decode_exact<T: DeserializeOwned>(
    kind: &'static str,
    payload: &[u8],
) -> Result<T, CodecError> {
    let (value, read) =
        bincode::serde::decode_from_slice(payload, config()).map_err(|e| CodecError::Corrupt {
            kind,
            reason: e.to_string(),
        })?;
    if read != payload.len() {
        return Err(CodecError::Trailing {
            kind,
            extra: payload.len() - read,
        });
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct PointV1 {
        x: u32,
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Point {
        x: u32,
        label: String,
    }

    impl Versioned for PointV1 {
        const KIND: &'static str = "point";
        const TAG: u8 = 200;
        const VERSION: u16 = 1;
    }

    impl Versioned for Point {
        const KIND: &'static str = "point";
        const TAG: u8 = 200;
        const VERSION: u16 = 2;

        fn upgrade(version: u16, payload: &[u8]) -> Result<Self, CodecError> {
            match version {
                1 => {
                    let old: PointV1 = decode_exact(Self::KIND, payload)?;
                    Ok(Point {
                        x: old.x,
                        label: String::new(),
                    })
                }
                v => Err(CodecError::NoUpgrade {
                    kind: Self::KIND,
                    found: v,
                }),
            }
        }
    }

    #[test]
    fn round_trips_the_current_schema() {
        let p = Point {
            x: 7,
            label: "a".into(),
        };
        assert_eq!(decode::<Point>(&encode(&p).unwrap()).unwrap(), p);
    }

    #[test]
    fn a_newer_binary_reads_an_older_schema_through_upgrade() {
        let old = encode(&PointV1 { x: 3 }).unwrap();
        let p: Point = decode(&old).unwrap();
        assert_eq!(
            p,
            Point {
                x: 3,
                label: String::new()
            }
        );
    }

    #[test]
    fn an_older_binary_refuses_a_newer_schema_by_name() {
        let new = encode(&Point {
            x: 1,
            label: "b".into(),
        })
        .unwrap();
        let err = decode::<PointV1>(&new).unwrap_err();
        assert_eq!(
            err,
            CodecError::TooNew {
                kind: "point",
                found: 2,
                known: 1
            }
        );
    }

    #[test]
    fn trailing_bytes_are_corruption_not_success() {
        let mut bytes = encode(&PointV1 { x: 1 }).unwrap();
        bytes.push(0);
        assert!(matches!(
            decode::<PointV1>(&bytes),
            Err(CodecError::Trailing { .. })
        ));
    }

    #[test]
    fn short_and_mistagged_values_are_refused() {
        assert_eq!(decode::<PointV1>(&[1]), Err(CodecError::Short(1)));
        let mut bytes = encode(&PointV1 { x: 1 }).unwrap();
        bytes[0] = 9;
        assert!(matches!(
            decode::<PointV1>(&bytes),
            Err(CodecError::WrongTag { found: 9, .. })
        ));
    }
}
