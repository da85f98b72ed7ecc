//! Console sessions and cross-site protection.
//!
//! Signing in with a user token (the same tokens the API takes, checked by
//! the same [`Access`](crate::http::auth::Access)) opens a session: a random
//! 256-bit id in an `HttpOnly; SameSite=Strict` cookie (`Secure` when the
//! console is reached over https), and a random CSRF token bound to it.
//!
//! Sessions live in memory only, keyed by the SHA-256 of their id, with an
//! idle and an absolute expiry. A restart signs everyone out, which is what
//! a deploy of a desk should do anyway: a session is a short-lived grant,
//! not a record, and keeping it off disk means no bearer secret is ever
//! stored. The store holds at most [`MAX_SESSIONS`]; the oldest go first.
//!
//! Every state-changing console request is a POST that must carry the
//! session cookie, the session's CSRF token in the form, and an `Origin`
//! (or, without one, a `Referer`) naming this host.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use axum::http::header::{COOKIE, HOST, ORIGIN, REFERER};
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::core::case::Language;
use crate::http::auth::Principal;

/// The session cookie's name.
pub const COOKIE_NAME: &str = "caseflow_console";
/// A session ends this long after its last request.
pub const IDLE: Duration = Duration::from_secs(2 * 3600);
/// A session ends this long after sign-in, however busy.
pub const ABSOLUTE: Duration = Duration::from_secs(12 * 3600);
/// Most sessions kept at once; past it the oldest are dropped.
pub const MAX_SESSIONS: usize = 10_000;

/// A signed-in person.
#[derive(Debug, Clone)]
pub struct Session {
    pub principal: Principal,
    /// The token a console form must carry (hex, 256 bits).
    pub csrf: String,
    /// The language the console is shown in.
    pub lang: Language,
    created: Instant,
    last_seen: Instant,
}

/// The sessions of this process.
#[derive(Debug, Default)]
pub struct Sessions {
    by_hash: Mutex<HashMap<[u8; 32], Session>>,
}

fn random_hex() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

fn hash(id: &str) -> [u8; 32] {
    Sha256::digest(id.as_bytes()).into()
}

impl Sessions {
    /// Opens a session for `principal`; answers the id to put in the cookie.
    pub fn open(&self, principal: Principal, lang: Language, now: Instant) -> String {
        let id = random_hex();
        let session = Session {
            principal,
            csrf: random_hex(),
            lang,
            created: now,
            last_seen: now,
        };
        let mut map = self.by_hash.lock().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, s| live(s, now));
        while map.len() >= MAX_SESSIONS {
            let Some(oldest) = map.iter().min_by_key(|(_, s)| s.created).map(|(k, _)| *k) else {
                break;
            };
            map.remove(&oldest);
        }
        map.insert(hash(&id), session);
        id
    }

    /// The live session of `id`, its idle clock restarted; `None` for an
    /// unknown or expired id (an expired one is forgotten).
    pub fn get(&self, id: &str, now: Instant) -> Option<Session> {
        let key = hash(id);
        let mut map = self.by_hash.lock().unwrap_or_else(|e| e.into_inner());
        match map.get_mut(&key) {
            Some(s) if live(s, now) => {
                s.last_seen = now;
                Some(s.clone())
            }
            Some(_) => {
                map.remove(&key);
                None
            }
            None => None,
        }
    }

    /// Changes the session's language.
    pub fn set_lang(&self, id: &str, lang: Language) {
        let mut map = self.by_hash.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = map.get_mut(&hash(id)) {
            s.lang = lang;
        }
    }

    /// Ends the session.
    pub fn close(&self, id: &str) {
        let mut map = self.by_hash.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(&hash(id));
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.by_hash.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn live(s: &Session, now: Instant) -> bool {
    now.saturating_duration_since(s.last_seen) < IDLE
        && now.saturating_duration_since(s.created) < ABSOLUTE
}

/// Whether a presented CSRF token is the session's (constant time).
pub fn csrf_matches(session: &Session, presented: &str) -> bool {
    !presented.is_empty() && bool::from(session.csrf.as_bytes().ct_eq(presented.as_bytes()))
}

/// The session id from the request's cookies, if any.
pub fn cookie_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value.trim().to_string())
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Whether the request reached us over https (directly, or through a
/// proxy that says so in `X-Forwarded-Proto`).
pub fn is_https(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"))
}

/// The `Set-Cookie` value that opens a session.
pub fn set_cookie(id: &str, secure: bool) -> String {
    format!(
        "{COOKIE_NAME}={id}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={}{}",
        ABSOLUTE.as_secs(),
        if secure { "; Secure" } else { "" }
    )
}

/// The `Set-Cookie` value that ends a session in the browser.
pub fn clear_cookie(secure: bool) -> String {
    format!(
        "{COOKIE_NAME}=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0{}",
        if secure { "; Secure" } else { "" }
    )
}

/// Why a console POST is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Neither `Origin` nor `Referer` names this host.
    CrossSite,
    /// No live session cookie.
    NoSession,
    /// The form's CSRF token is missing or not the session's.
    BadCsrf,
}

impl Refused {
    pub fn message(self) -> &'static str {
        match self {
            Refused::CrossSite => "refused: the request does not come from this console's page",
            Refused::NoSession => "refused: not signed in (or the session has ended)",
            Refused::BadCsrf => "refused: the form's security token is missing or outdated",
        }
    }
}

/// Checks that a POST comes from a page of this host: its `Origin`, or
/// without one its `Referer`, must name the `Host` it was sent to. A POST
/// with neither is refused: every current browser sends `Origin` on a
/// form POST.
pub fn same_origin(headers: &HeaderMap) -> Result<(), Refused> {
    let host = headers
        .get(HOST)
        .and_then(|v| v.to_str().ok())
        .ok_or(Refused::CrossSite)?;
    let scheme = if is_https(headers) { "https" } else { "http" };
    let expected = format!("{scheme}://{host}");
    let named = |v: &str| v == expected || v.starts_with(&format!("{expected}/"));
    if let Some(origin) = headers.get(ORIGIN) {
        let origin = origin.to_str().map_err(|_| Refused::CrossSite)?;
        return if origin == expected {
            Ok(())
        } else {
            Err(Refused::CrossSite)
        };
    }
    match headers.get(REFERER).and_then(|v| v.to_str().ok()) {
        Some(referer) if named(referer) => Ok(()),
        _ => Err(Refused::CrossSite),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::auth::Role;
    use axum::http::HeaderValue;

    fn rina() -> Principal {
        Principal {
            name: "rina".into(),
            role: Role::Operator,
            bootstrap: false,
        }
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn a_session_lives_until_idle_or_absolute_expiry() {
        let s = Sessions::default();
        let t0 = Instant::now();
        let id = s.open(rina(), Language::En, t0);
        assert_eq!(id.len(), 64);
        assert_eq!(s.get(&id, t0).unwrap().principal.name, "rina");
        // Busy: each request restarts the idle clock, up to the absolute end.
        let mut t = t0;
        while t.duration_since(t0) + IDLE / 2 < ABSOLUTE {
            t += IDLE / 2;
            assert!(s.get(&id, t).is_some(), "alive at {:?}", t - t0);
        }
        assert!(s.get(&id, t0 + ABSOLUTE).is_none(), "absolute expiry");
        assert!(s.is_empty(), "an expired session is forgotten");

        let id = s.open(rina(), Language::En, t0);
        assert!(s.get(&id, t0 + IDLE).is_none(), "idle expiry");
        assert!(s.get("0".repeat(64).as_str(), t0).is_none());
    }

    #[test]
    fn sessions_have_their_own_ids_and_tokens_and_end_on_close() {
        let s = Sessions::default();
        let now = Instant::now();
        let a = s.open(rina(), Language::En, now);
        let b = s.open(rina(), Language::Id, now);
        assert_ne!(a, b);
        let (sa, sb) = (s.get(&a, now).unwrap(), s.get(&b, now).unwrap());
        assert_ne!(sa.csrf, sb.csrf);
        assert!(csrf_matches(&sa, &sa.csrf));
        assert!(!csrf_matches(&sa, &sb.csrf));
        assert!(!csrf_matches(&sa, ""));
        assert_eq!(sb.lang, Language::Id);
        s.set_lang(&a, Language::Id);
        assert_eq!(s.get(&a, now).unwrap().lang, Language::Id);
        s.close(&a);
        assert!(s.get(&a, now).is_none());
        assert!(s.get(&b, now).is_some());
    }

    #[test]
    fn the_store_is_bounded() {
        let s = Sessions::default();
        let now = Instant::now();
        let first = s.open(rina(), Language::En, now);
        for i in 0..MAX_SESSIONS {
            s.open(
                rina(),
                Language::En,
                now + Duration::from_millis(i as u64 + 1),
            );
        }
        assert_eq!(s.len(), MAX_SESSIONS);
        assert!(s.get(&first, now + Duration::from_secs(1)).is_none());
    }

    #[test]
    fn the_cookie_is_read_among_others_and_must_look_like_an_id() {
        let id = "ab".repeat(32);
        let h = headers(&[("cookie", &format!("a=b; {COOKIE_NAME}={id}; c=d"))]);
        assert_eq!(cookie_id(&h), Some(id.clone()));
        let h = headers(&[
            ("cookie", "a=b"),
            ("cookie", &format!("{COOKIE_NAME}={id}")),
        ]);
        assert_eq!(cookie_id(&h), Some(id));
        for bad in ["", "xyz", &"g".repeat(64), &"a".repeat(63)] {
            let h = headers(&[("cookie", &format!("{COOKIE_NAME}={bad}"))]);
            assert_eq!(cookie_id(&h), None, "{bad:?}");
        }
    }

    #[test]
    fn the_cookie_is_http_only_same_site_strict_and_secure_over_https() {
        let c = set_cookie("abc", false);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict"));
        assert!(!c.contains("Secure"));
        assert!(set_cookie("abc", true).ends_with("; Secure"));
        assert!(clear_cookie(false).contains("Max-Age=0"));
        assert!(is_https(&headers(&[("x-forwarded-proto", "https")])));
        assert!(!is_https(&headers(&[("x-forwarded-proto", "http")])));
    }

    #[test]
    fn only_this_host_may_post() {
        let host = ("host", "127.0.0.1:8080");
        let ok = [
            vec![host, ("origin", "http://127.0.0.1:8080")],
            vec![host, ("referer", "http://127.0.0.1:8080/console/lane")],
            vec![
                ("host", "desk.example"),
                ("x-forwarded-proto", "https"),
                ("origin", "https://desk.example"),
            ],
        ];
        for h in ok {
            assert_eq!(same_origin(&headers(&h)), Ok(()), "{h:?}");
        }
        let refused = [
            vec![host],
            vec![host, ("origin", "http://evil.example")],
            vec![host, ("origin", "null")],
            vec![host, ("origin", "https://127.0.0.1:8080")],
            vec![host, ("origin", "http://127.0.0.1:8080.evil.example")],
            vec![host, ("referer", "http://127.0.0.1:8080.evil.example/x")],
            vec![
                host,
                ("referer", "http://evil.example/?http://127.0.0.1:8080"),
            ],
            // An Origin decides even when a Referer would pass.
            vec![
                host,
                ("origin", "http://evil.example"),
                ("referer", "http://127.0.0.1:8080/console"),
            ],
            vec![("origin", "http://127.0.0.1:8080")],
        ];
        for h in refused {
            assert_eq!(same_origin(&headers(&h)), Err(Refused::CrossSite), "{h:?}");
        }
    }
}
