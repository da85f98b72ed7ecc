//! Who is calling: the bearer token becomes a [`Principal`] (a name and a
//! [`Role`]), and each route group requires a role (CONTRACT section 3,
//! "Access").
//!
//! Three kinds of token are known: the bootstrap admin token, the ingest
//! token (only `POST /v1/messages`), and the users of `CASEFLOW_USERS_FILE`,
//! stored as SHA-256 hashes. A presented token is hashed once and compared
//! with every known hash in constant time, so neither a token's content nor
//! which user it belongs to shows in the timing.
//!
//! Loading the tokens (environment, files, checks at start) is
//! `credentials.rs`; this module only decides who a request is and what it
//! may do. It holds no case logic.

use axum::extract::{Request, State};
use axum::http::HeaderValue;
use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{ApiError, AppState};
use crate::core::case::Lane;

/// What a caller may do. Staff roles are ordered: each one may do what the
/// one before it may (`viewer` < `operator` < `coach` < `admin`). `Ingest`
/// stands apart: it may post customer messages and nothing else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    Ingest,
    Viewer,
    Operator,
    Coach,
    Admin,
}

impl Role {
    /// The staff roles a users file may name.
    pub const STAFF: [Role; 4] = [Role::Viewer, Role::Operator, Role::Coach, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Ingest => "ingest",
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Coach => "coach",
            Role::Admin => "admin",
        }
    }

    /// A staff role by name (`ingest` is not a role a user can have).
    pub fn parse_staff(s: &str) -> Option<Role> {
        Role::STAFF.into_iter().find(|r| r.as_str() == s)
    }

    /// Whether this role may do what `needed` may.
    pub fn allows(self, needed: Role) -> bool {
        match (self, needed) {
            (Role::Ingest, Role::Ingest) => true,
            (Role::Ingest, _) | (_, Role::Ingest) => false,
            (have, needed) => have >= needed,
        }
    }
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The user's name from the users file; `admin` for the bootstrap admin
    /// token, `ingest` for the ingest token.
    pub name: String,
    pub role: Role,
    /// Authenticated with the bootstrap admin token.
    pub bootstrap: bool,
}

impl Principal {
    /// The principal as the audit records it.
    pub fn actor(&self) -> crate::store::audit::Actor {
        crate::store::audit::Actor::new(self.name.clone(), self.role.as_str())
    }
}

/// Name of the bootstrap admin principal; reserved in the users file.
pub const BOOTSTRAP_NAME: &str = "admin";
/// Name of the ingest principal; reserved in the users file.
pub const INGEST_NAME: &str = "ingest";

/// A named user of the users file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub role: Role,
    pub token_sha256: [u8; 32],
}

/// Every credential the desk accepts, as SHA-256 hashes.
#[derive(Debug, Clone)]
pub struct Access {
    admin: [u8; 32],
    ingest: [u8; 32],
    users: Vec<User>,
    /// A users file is configured (even an empty one): then every action is
    /// recorded under the authenticated name, never a body's `by`.
    users_file: bool,
}

/// SHA-256 of a token, as stored in the users file.
pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl Access {
    /// The bootstrap admin token and the ingest token, no users file.
    pub fn new(admin_token: &str, ingest_token: &str) -> Access {
        Access {
            admin: token_hash(admin_token),
            ingest: token_hash(ingest_token),
            users: Vec::new(),
            users_file: false,
        }
    }

    /// Adds the users of a users file (already validated).
    pub fn with_users(mut self, users: Vec<User>) -> Access {
        self.users = users;
        self.users_file = true;
        self
    }

    pub fn has_users_file(&self) -> bool {
        self.users_file
    }

    pub fn users(&self) -> &[User] {
        &self.users
    }

    /// Whether some user has the coach role: then only a coach decides the
    /// coach lane.
    pub fn has_coach(&self) -> bool {
        self.users.iter().any(|u| u.role == Role::Coach)
    }

    /// The principal a token belongs to, if any. Every known hash is
    /// compared, in constant time, whatever matches first.
    pub fn authenticate(&self, token: &str) -> Option<Principal> {
        if token.is_empty() {
            return None;
        }
        let presented = token_hash(token);
        let mut found = None;
        if bool::from(presented.ct_eq(&self.admin)) {
            found = Some(Principal {
                name: BOOTSTRAP_NAME.into(),
                role: Role::Admin,
                bootstrap: true,
            });
        }
        if bool::from(presented.ct_eq(&self.ingest)) {
            found = Some(Principal {
                name: INGEST_NAME.into(),
                role: Role::Ingest,
                bootstrap: false,
            });
        }
        for user in &self.users {
            if bool::from(presented.ct_eq(&user.token_sha256)) {
                found = Some(Principal {
                    name: user.name.clone(),
                    role: user.role,
                    bootstrap: false,
                });
            }
        }
        found
    }

    /// The lanes `p` may decide: operators and up the operator lane; the
    /// coach lane a coach, or an admin while no coach user exists
    /// (CONTRACT section 3: "when a coach user exists, only a coach decides
    /// the coach lane").
    pub fn lanes(&self, p: &Principal) -> Vec<Lane> {
        let mut lanes = Vec::new();
        if p.role.allows(Role::Operator) {
            lanes.push(Lane::Operator);
        }
        let coach_lane = match p.role {
            Role::Coach => true,
            Role::Admin => !self.has_coach(),
            _ => false,
        };
        if coach_lane {
            lanes.push(Lane::Coach);
        }
        lanes
    }

    /// The name an action of `p` is recorded under. With a users file it is
    /// always the authenticated name, and a body `by` that differs is
    /// refused (403). The bootstrap admin token without a users file
    /// records the body's `by` (required when `by_required`).
    pub fn actor_name(
        &self,
        p: &Principal,
        body_by: Option<&str>,
        by_required: bool,
    ) -> Result<String, ApiError> {
        let body_by = body_by.map(str::trim).filter(|b| !b.is_empty());
        if p.bootstrap && !self.users_file {
            return match body_by {
                Some(b) => Ok(b.to_string()),
                None if by_required => Err(ApiError::bad_request(
                    "`by` must name who decides (1 to 128 characters)",
                )),
                None => Ok(p.name.clone()),
            };
        }
        match body_by {
            Some(b) if b != p.name => Err(ApiError::forbidden(format!(
                "`by` is \"{b}\" but the token is {}'s: actions are recorded under the \
                 authenticated user",
                p.name
            ))),
            _ => Ok(p.name.clone()),
        }
    }
}

/// The bearer token of a request (scheme matched case-insensitively,
/// RFC 7235), or "" when there is none.
pub fn bearer(req: &Request) -> &str {
    req.headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.trim().split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then_some(token.trim())
        })
        .unwrap_or("")
}

/// Middleware state: the role a route group needs.
#[derive(Clone)]
pub struct Needs {
    pub state: AppState,
    pub role: Role,
}

/// Lets the request through when its token's role allows `needs.role`,
/// with the [`Principal`] in the request's extensions; else 401 (no or an
/// unknown token) or 403 (a known token without the role).
pub async fn require(State(needs): State<Needs>, mut req: Request, next: Next) -> Response {
    let Some(principal) = needs.state.access.authenticate(bearer(&req)) else {
        let mut r = ApiError::unauthorized().into_response();
        r.headers_mut()
            .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return r;
    };
    if !principal.role.allows(needs.role) {
        return forbidden_role(&principal, needs.role).into_response();
    }
    req.extensions_mut().insert(principal);
    next.run(req).await
}

fn forbidden_role(p: &Principal, needed: Role) -> ApiError {
    if needed == Role::Ingest {
        return ApiError::forbidden(
            "POST /v1/messages takes the ingest token (CASEFLOW_INGEST_TOKEN or \
             DATA_DIR/ingest.token)",
        );
    }
    ApiError::forbidden(format!(
        "{} has the role {}; this needs {}",
        p.name,
        p.role.as_str(),
        needed.as_str()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADMIN: &str = "admin-token-0123456789";
    const INGEST: &str = "ingest-token-0123456789";

    fn user(name: &str, role: Role, token: &str) -> User {
        User {
            name: name.into(),
            role,
            token_sha256: token_hash(token),
        }
    }

    fn with_users(users: Vec<User>) -> Access {
        Access::new(ADMIN, INGEST).with_users(users)
    }

    #[test]
    fn roles_are_ordered_and_ingest_stands_apart() {
        assert!(Role::Admin.allows(Role::Coach));
        assert!(Role::Coach.allows(Role::Operator));
        assert!(Role::Operator.allows(Role::Viewer));
        assert!(!Role::Viewer.allows(Role::Operator));
        assert!(!Role::Operator.allows(Role::Coach));
        assert!(!Role::Coach.allows(Role::Admin));
        assert!(Role::Ingest.allows(Role::Ingest));
        for staff in Role::STAFF {
            assert!(!staff.allows(Role::Ingest), "{staff:?} may not ingest");
            assert!(
                !Role::Ingest.allows(staff),
                "ingest may not act as {staff:?}"
            );
        }
    }

    #[test]
    fn tokens_authenticate_as_their_principal_and_nothing_else_does() {
        let a = with_users(vec![
            user("dewi", Role::Coach, "dewi-token-0123456789"),
            user("rina", Role::Operator, "rina-token-0123456789"),
        ]);
        let p = a.authenticate(ADMIN).unwrap();
        assert_eq!(
            (p.name.as_str(), p.role, p.bootstrap),
            ("admin", Role::Admin, true)
        );
        assert_eq!(a.authenticate(INGEST).unwrap().role, Role::Ingest);
        let d = a.authenticate("dewi-token-0123456789").unwrap();
        assert_eq!(
            (d.name.as_str(), d.role, d.bootstrap),
            ("dewi", Role::Coach, false)
        );
        assert_eq!(
            a.authenticate("rina-token-0123456789").unwrap().name,
            "rina"
        );
        for wrong in [
            "",
            "dewi-token-012345678",
            "DEWI-TOKEN-0123456789",
            " admin",
        ] {
            assert_eq!(a.authenticate(wrong), None, "{wrong:?}");
        }
    }

    #[test]
    fn only_a_coach_decides_the_coach_lane_once_a_coach_exists() {
        let admin = Principal {
            name: "admin".into(),
            role: Role::Admin,
            bootstrap: true,
        };
        let named = |name: &str, role| Principal {
            name: name.into(),
            role,
            bootstrap: false,
        };
        let no_coach = with_users(vec![user("ops", Role::Admin, "ops-token-0123456789")]);
        assert_eq!(no_coach.lanes(&admin), vec![Lane::Operator, Lane::Coach]);
        assert_eq!(
            no_coach.lanes(&named("ops", Role::Admin)),
            vec![Lane::Operator, Lane::Coach]
        );
        let coach = with_users(vec![user("dewi", Role::Coach, "dewi-token-0123456789")]);
        assert_eq!(coach.lanes(&admin), vec![Lane::Operator]);
        assert_eq!(
            coach.lanes(&named("dewi", Role::Coach)),
            vec![Lane::Operator, Lane::Coach]
        );
        assert_eq!(
            coach.lanes(&named("rina", Role::Operator)),
            vec![Lane::Operator]
        );
        assert!(coach.lanes(&named("vera", Role::Viewer)).is_empty());
        assert!(
            Access::new(ADMIN, INGEST)
                .lanes(&named("ingest", Role::Ingest))
                .is_empty()
        );
    }

    #[test]
    fn by_is_the_authenticated_name_except_for_the_bootstrap_token_alone() {
        let bootstrap = Principal {
            name: "admin".into(),
            role: Role::Admin,
            bootstrap: true,
        };
        let alone = Access::new(ADMIN, INGEST);
        assert_eq!(
            alone
                .actor_name(&bootstrap, Some("coach-dewi"), true)
                .unwrap(),
            "coach-dewi"
        );
        assert_eq!(
            alone
                .actor_name(&bootstrap, None, true)
                .unwrap_err()
                .status(),
            400
        );
        assert_eq!(alone.actor_name(&bootstrap, None, false).unwrap(), "admin");
        let users = with_users(vec![user("dewi", Role::Coach, "dewi-token-0123456789")]);
        let dewi = users.authenticate("dewi-token-0123456789").unwrap();
        assert_eq!(users.actor_name(&dewi, None, true).unwrap(), "dewi");
        assert_eq!(users.actor_name(&dewi, Some("dewi"), true).unwrap(), "dewi");
        let refused = users
            .actor_name(&dewi, Some("coach-anyone"), true)
            .unwrap_err();
        assert_eq!(refused.status(), 403);
        assert!(refused.message().contains("coach-anyone"));
        assert_eq!(
            users
                .actor_name(&bootstrap, Some("coach-dewi"), true)
                .unwrap_err()
                .status(),
            403,
            "with a users file the bootstrap token is recorded as admin"
        );
    }

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        let req = |v: &str| {
            axum::http::Request::builder()
                .header(AUTHORIZATION, v)
                .body(axum::body::Body::empty())
                .unwrap()
        };
        assert_eq!(bearer(&req("Bearer abc")), "abc");
        assert_eq!(bearer(&req("bearer  abc ")), "abc");
        assert_eq!(bearer(&req("Basic abc")), "");
        assert_eq!(bearer(&req("Bearerabc")), "");
    }
}
