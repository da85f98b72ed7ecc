//! JSON request bodies decoded into typed structs: a value of the wrong
//! type, a missing field or (where a struct denies them) an unknown field
//! is answered 400 with the path of the field, `labels[1].scores.tone`
//! (CONTRACT section 4: bad input names the field). Rules that types do not
//! carry (lengths, ranges, formats) are checked by each handler after
//! decoding, naming the field the same way.

use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{DeserializeOwned, MapAccess, Visitor};

use super::ApiError;

/// A nested value that must be a JSON object. Serde's derived structs also
/// take an array of their fields in order; a body field declared
/// `Object<T>` takes only `{...}`, so no input is accepted that the
/// contract does not show.
#[derive(Debug, Clone, PartialEq)]
pub struct Object<T>(pub T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Object<T>, D::Error> {
        struct Only<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for Only<T> {
            type Value = Object<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Object<T>, A::Error> {
                T::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(Object)
            }
        }
        d.deserialize_map(Only(PhantomData))
    }
}

/// Decodes a body that must be one JSON object into `T`.
pub fn object<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if first.is_some_and(|b| *b != b'{') {
        return Err(ApiError::bad_request(
            match serde_json::from_slice::<serde::de::IgnoredAny>(body) {
                Ok(_) => "body must be a JSON object".to_string(),
                Err(e) => format!("body is not valid JSON: {e}"),
            },
        ));
    }
    decode(body)
}

/// Decodes a JSON body into `T`; the error names the path of the first bad
/// value.
pub fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    let value: T = serde_path_to_error::deserialize(&mut *de).map_err(|e| {
        let path = e.path().to_string();
        let valid = serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok();
        ApiError::bad_request(message(&path, e.into_inner(), valid))
    })?;
    de.end()
        .map_err(|e| ApiError::bad_request(format!("body is not valid JSON: {e}")))?;
    Ok(value)
}

/// What is wrong, with the field's path: `field `a.b`: ...`, or for a field
/// left out, `field `a.b` is required`. `valid`: the body is well-formed
/// JSON (serde_json reports some wrong types, such as a number where a
/// name is expected, as syntax errors).
fn message(path: &str, e: serde_json::Error, valid: bool) -> String {
    if !valid {
        return format!("body is not valid JSON: {e}");
    }
    if e.is_syntax() {
        return match path {
            "." | "" => format!("body has the wrong shape: {e}"),
            p => format!("field `{p}` has the wrong type: {e}"),
        };
    }
    let within = |name: &str| match path {
        "." | "" => name.to_string(),
        p => format!("{p}.{name}"),
    };
    let text = e.to_string();
    if let Some(name) = text
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next())
    {
        return format!("field `{}` is required", within(name));
    }
    match path {
        "." | "" => format!("body: {text}"),
        p => format!("field `{p}`: {text}"),
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[allow(dead_code)]
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Outer {
        name: String,
        inner: Option<Object<Inner>>,
        #[serde(default)]
        items: Vec<Object<Inner>>,
    }

    #[allow(dead_code)]
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Inner {
        n: u8,
    }

    #[allow(dead_code)]
    #[derive(Debug, Deserialize)]
    struct Named {
        kind: Kind,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "lowercase")]
    enum Kind {
        One,
        Two,
    }

    fn err(body: &str) -> String {
        object::<Outer>(body.as_bytes())
            .unwrap_err()
            .message()
            .to_string()
    }

    #[test]
    fn a_bad_value_is_named_by_its_path() {
        assert!(object::<Outer>(br#"{"name":"x","items":[{"n":1}]}"#).is_ok());
        let e = err(r#"{"name":"x","items":[{"n":1},{"n":"two"}]}"#);
        assert!(e.starts_with("field `items[1].n`: invalid type"), "{e}");
        let e = err(r#"{"name":"x","inner":{"n":300}}"#);
        assert!(e.starts_with("field `inner.n`:"), "{e}");
        assert_eq!(err(r#"{"inner":{"n":1}}"#), "field `name` is required");
        assert_eq!(
            err(r#"{"name":"x","inner":{}}"#),
            "field `inner.n` is required"
        );
        let e = err(r#"{"name":"x","inner":{"n":1,"m":2}}"#);
        assert!(e.contains("`m`") && e.contains("inner"), "{e}");
        let e = err(r#"{"name":"x","extra":1}"#);
        assert!(e.contains("`extra`"), "{e}");
        let e = err(r#"{"name":"x","inner":[1]}"#);
        assert!(
            e.starts_with("field `inner`: invalid type: sequence, expected a JSON object"),
            "{e}"
        );
        let e = err(r#"{"name":"x","items":[[1]]}"#);
        assert!(e.starts_with("field `items[0]`: invalid type"), "{e}");
        let e = decode::<Named>(br#"{"kind":1}"#).unwrap_err();
        assert!(
            e.message().starts_with("field `kind` has the wrong type"),
            "{e:?}"
        );
        let e = decode::<Named>(br#"{"kind":"three"}"#).unwrap_err();
        assert!(
            e.message()
                .starts_with("field `kind`: unknown variant `three`"),
            "{e:?}"
        );
    }

    #[test]
    fn a_body_that_is_not_one_json_object_is_said_so() {
        assert_eq!(err("[1]"), "body must be a JSON object");
        assert!(err("{").starts_with("body is not valid JSON"));
        assert!(err("[1").starts_with("body is not valid JSON"));
        assert!(err(r#"{"name":"x"} {}"#).starts_with("body is not valid JSON"));
        assert!(err("").starts_with("body is not valid JSON"));
    }
}
