//! Credentials at start: the bootstrap admin token, the ingest token and
//! the users file (CONTRACT section 3, "Access"), and `caseflow users add`.
//!
//! - A token comes from its environment variable (`CASEFLOW_ADMIN_TOKEN`,
//!   `CASEFLOW_INGEST_TOKEN`), else from its file in the data directory
//!   (`admin.token`, `ingest.token`), else a new random one is written there
//!   with mode 0600.
//! - A token under [`MIN_TOKEN_CHARS`] characters, a token file or users
//!   file that group or others may read, an ingest token equal to the admin
//!   token, or a users file that does not parse refuses the start with an
//!   error naming the variable or the file.
//! - The users file holds only SHA-256 hashes of tokens:
//!   `[[users]] name = "dewi", role = "coach", token_sha256 = "<hex>"`.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::auth::{Access, BOOTSTRAP_NAME, INGEST_NAME, Role, User, token_hash};

/// Shortest token accepted from the environment or a token file.
pub const MIN_TOKEN_CHARS: usize = 16;
/// Environment variable naming the users file.
pub const USERS_FILE_ENV: &str = "CASEFLOW_USERS_FILE";

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CredentialError {
    #[error("{name} is {len} characters long: a token needs at least {MIN_TOKEN_CHARS}")]
    Weak { name: String, len: usize },
    #[error(
        "{path} is readable by group or others (mode {mode:o}): run `chmod 600 {path}` and start again"
    )]
    Exposed { path: String, mode: u32 },
    #[error("CASEFLOW_INGEST_TOKEN equals the admin token: the ingest token must be its own")]
    SameToken,
    #[error("cannot read {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("cannot write {path}: {reason}")]
    Write { path: String, reason: String },
    #[error("users file {path}: {reason}")]
    Users { path: String, reason: String },
}

/// Where a token came from, for the start log (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    Env(&'static str),
    /// Read from this existing file.
    File(PathBuf),
    /// Generated into this file now.
    Generated(PathBuf),
}

/// The credentials the desk starts with.
#[derive(Debug)]
pub struct Loaded {
    pub access: Access,
    pub admin: TokenSource,
    pub ingest: TokenSource,
    pub users_file: Option<PathBuf>,
}

/// Loads every credential for a desk on `data_dir`, from the environment
/// and files, with the checks above.
pub fn load(data_dir: &Path) -> Result<Loaded, CredentialError> {
    let env = |name: &str| std::env::var(name).ok();
    let (admin, admin_src) = token(
        env("CASEFLOW_ADMIN_TOKEN"),
        "CASEFLOW_ADMIN_TOKEN",
        &data_dir.join("admin.token"),
    )?;
    let (ingest, ingest_src) = token(
        env("CASEFLOW_INGEST_TOKEN"),
        "CASEFLOW_INGEST_TOKEN",
        &data_dir.join("ingest.token"),
    )?;
    if admin == ingest {
        return Err(CredentialError::SameToken);
    }
    let mut access = Access::new(&admin, &ingest);
    let users_file = env(USERS_FILE_ENV)
        .filter(|p| !p.trim().is_empty())
        .map(PathBuf::from);
    if let Some(path) = &users_file {
        access = access.with_users(read_users(path)?);
    }
    Ok(Loaded {
        access,
        admin: admin_src,
        ingest: ingest_src,
        users_file,
    })
}

/// One token: the environment's (whitespace around it ignored; empty is
/// unset), else the file's, else a new one written to the file.
fn token(
    from_env: Option<String>,
    name: &'static str,
    file: &Path,
) -> Result<(String, TokenSource), CredentialError> {
    if let Some(t) = from_env
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
    {
        check_strength(name, &t)?;
        return Ok((t, TokenSource::Env(name)));
    }
    match std::fs::read_to_string(file) {
        Ok(text) => {
            check_private(file)?;
            let t = text.trim().to_string();
            check_strength(&file.display().to_string(), &t)?;
            Ok((t, TokenSource::File(file.to_path_buf())))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let t = new_token();
            write_private(file, &format!("{t}\n"), true)?;
            Ok((t, TokenSource::Generated(file.to_path_buf())))
        }
        Err(e) => Err(CredentialError::Read {
            path: file.display().to_string(),
            reason: e.to_string(),
        }),
    }
}

/// A new random token: 32 bytes, hex.
pub fn new_token() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

fn check_strength(name: &str, token: &str) -> Result<(), CredentialError> {
    let len = token.chars().count();
    if len < MIN_TOKEN_CHARS {
        return Err(CredentialError::Weak {
            name: name.to_string(),
            len,
        });
    }
    Ok(())
}

/// Refuses a credential file that group or others may read or write.
pub fn check_private(path: &Path) -> Result<(), CredentialError> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).map_err(|e| CredentialError::Read {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(CredentialError::Exposed {
            path: path.display().to_string(),
            mode,
        });
    }
    Ok(())
}

/// Writes `contents` with mode 0600: `new` fails if the file exists (no
/// race with another start); otherwise through a temporary file renamed
/// over it, so a crash leaves the old file or the new one.
fn write_private(path: &Path, contents: &str, new: bool) -> Result<(), CredentialError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let failed = |e: std::io::Error| CredentialError::Write {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    let target = if new {
        path.to_path_buf()
    } else {
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        PathBuf::from(tmp)
    };
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).mode(0o600);
    if new {
        opts.create_new(true);
    } else {
        opts.create(true).truncate(true);
    }
    let mut f = opts.open(&target).map_err(failed)?;
    f.write_all(contents.as_bytes()).map_err(failed)?;
    f.sync_all().map_err(failed)?;
    if !new {
        std::fs::rename(&target, path).map_err(failed)?;
    }
    Ok(())
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct UsersFile {
    #[serde(default)]
    users: Vec<UserEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct UserEntry {
    name: String,
    role: String,
    token_sha256: String,
}

/// Reads and checks a users file: private mode, known roles, valid names
/// (unique, not reserved), 64-hex-digit hashes, no hash shared by two users.
pub fn read_users(path: &Path) -> Result<Vec<User>, CredentialError> {
    let text = std::fs::read_to_string(path).map_err(|e| CredentialError::Read {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    check_private(path)?;
    parse_users(&text).map_err(|reason| CredentialError::Users {
        path: path.display().to_string(),
        reason,
    })
}

/// Parses users file text; the error names the entry and what is wrong.
pub fn parse_users(text: &str) -> Result<Vec<User>, String> {
    let file: UsersFile = toml::from_str(text).map_err(|e| e.to_string())?;
    let mut names = HashSet::new();
    let mut hashes = HashSet::new();
    let mut users = Vec::with_capacity(file.users.len());
    for (i, u) in file.users.into_iter().enumerate() {
        let at = format!("users[{i}] ({})", u.name);
        check_name(&u.name).map_err(|e| format!("{at}: {e}"))?;
        if !names.insert(u.name.to_lowercase()) {
            return Err(format!("{at}: the name is used twice"));
        }
        let role = Role::parse_staff(&u.role).ok_or_else(|| {
            format!(
                "{at}: role \"{}\" is not viewer, operator, coach or admin",
                u.role
            )
        })?;
        let hash: [u8; 32] = hex::decode(u.token_sha256.trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| format!("{at}: token_sha256 must be 64 hexadecimal digits"))?;
        if !hashes.insert(hash) {
            return Err(format!("{at}: token_sha256 is another user's too"));
        }
        users.push(User {
            name: u.name,
            role,
            token_sha256: hash,
        });
    }
    Ok(users)
}

/// A user name: 1 to 64 of letters, digits, `.`, `_`, `-`, `@`; not one of
/// the reserved names (`admin`, `ingest`, `breaker`, `retention`).
pub fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if !ok {
        return Err(format!(
            "name \"{name}\" must be 1 to 64 letters, digits, '.', '_', '-' or '@'"
        ));
    }
    // The principals' own names, and the names automatic actions are
    // recorded under (a breaker's degraded switch, the retention sweep).
    let reserved = [BOOTSTRAP_NAME, INGEST_NAME, "breaker", "retention"];
    if reserved.contains(&name.to_lowercase().as_str()) {
        return Err(format!("name \"{name}\" is reserved"));
    }
    Ok(())
}

/// `caseflow users add NAME --role ROLE`: appends a user with a new random
/// token to the users file (created with mode 0600 if missing) and returns
/// the token, which is shown once and stored only as its SHA-256. A name
/// already in the file is refused.
pub fn add_user(path: &Path, name: &str, role: &str) -> Result<String, CredentialError> {
    let users_err = |reason: String| CredentialError::Users {
        path: path.display().to_string(),
        reason,
    };
    check_name(name).map_err(users_err)?;
    let role = Role::parse_staff(role).ok_or_else(|| {
        users_err(format!(
            "role \"{role}\" is not viewer, operator, coach or admin"
        ))
    })?;
    let existing = match std::fs::read_to_string(path) {
        Ok(text) => {
            check_private(path)?;
            text
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => {
            return Err(CredentialError::Read {
                path: path.display().to_string(),
                reason: e.to_string(),
            });
        }
    };
    let users = parse_users(&existing).map_err(users_err)?;
    if users.iter().any(|u| u.name.eq_ignore_ascii_case(name)) {
        return Err(users_err(format!("a user named \"{name}\" already exists")));
    }
    let token = new_token();
    let entry = UsersFile {
        users: vec![UserEntry {
            name: name.to_string(),
            role: role.as_str().to_string(),
            token_sha256: hex::encode(token_hash(&token)),
        }],
    };
    let block = toml::to_string(&entry).map_err(|e| users_err(e.to_string()))?;
    let mut text = existing;
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    if !text.is_empty() {
        text.push('\n');
    }
    text.push_str(&block);
    parse_users(&text).map_err(users_err)?;
    write_private(path, &text, false)?;
    Ok(token)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_missing_token_file_is_generated_private_and_read_back_next_time() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("ingest.token");
        let (t, src) = token(None, "CASEFLOW_INGEST_TOKEN", &file).unwrap();
        assert_eq!(src, TokenSource::Generated(file.clone()));
        assert_eq!(t.len(), 64);
        assert_eq!(mode(&file), 0o600);
        let (again, src) = token(None, "CASEFLOW_INGEST_TOKEN", &file).unwrap();
        assert_eq!((again, src), (t, TokenSource::File(file)));
    }

    #[test]
    fn the_environment_wins_and_a_weak_token_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("admin.token");
        let (t, src) = token(
            Some(" strong-token-0123456789 ".into()),
            "CASEFLOW_ADMIN_TOKEN",
            &file,
        )
        .unwrap();
        assert_eq!(t, "strong-token-0123456789");
        assert_eq!(src, TokenSource::Env("CASEFLOW_ADMIN_TOKEN"));
        assert!(
            !file.exists(),
            "no file is written when the environment has it"
        );
        let err = token(Some("x".into()), "CASEFLOW_ADMIN_TOKEN", &file).unwrap_err();
        assert_eq!(
            err,
            CredentialError::Weak {
                name: "CASEFLOW_ADMIN_TOKEN".into(),
                len: 1
            }
        );
        assert!(err.to_string().contains("CASEFLOW_ADMIN_TOKEN"));
        let fifteen = "a".repeat(15);
        assert!(token(Some(fifteen), "CASEFLOW_ADMIN_TOKEN", &file).is_err());
        assert!(token(Some("a".repeat(16)), "CASEFLOW_ADMIN_TOKEN", &file).is_ok());
    }

    #[test]
    fn a_token_file_readable_by_others_or_weak_is_refused_by_path() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("admin.token");
        std::fs::write(&file, "a-long-enough-token-0123456789\n").unwrap();
        for exposed in [0o644, 0o640, 0o604, 0o660] {
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(exposed)).unwrap();
            let err = token(None, "CASEFLOW_ADMIN_TOKEN", &file).unwrap_err();
            assert!(matches!(err, CredentialError::Exposed { mode, .. } if mode == exposed));
            assert!(err.to_string().contains("admin.token"), "{err}");
        }
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(token(None, "CASEFLOW_ADMIN_TOKEN", &file).is_ok());
        std::fs::write(&file, "short\n").unwrap();
        let err = token(None, "CASEFLOW_ADMIN_TOKEN", &file).unwrap_err();
        assert!(
            matches!(err, CredentialError::Weak { ref name, len: 5 } if name.ends_with("admin.token"))
        );
    }

    #[test]
    fn users_files_are_checked_entry_by_entry() {
        let h = |t: &str| hex::encode(token_hash(t));
        let good = format!(
            "[[users]]\nname = \"dewi\"\nrole = \"coach\"\ntoken_sha256 = \"{}\"\n\
             [[users]]\nname = \"rina\"\nrole = \"operator\"\ntoken_sha256 = \"{}\"\n",
            h("a"),
            h("b")
        );
        let users = parse_users(&good).unwrap();
        assert_eq!(users.len(), 2);
        assert_eq!(users[0].role, Role::Coach);
        assert_eq!(users[0].token_sha256, token_hash("a"));
        assert!(parse_users("").unwrap().is_empty());
        let bad = |text: String, needle: &str| {
            let e = parse_users(&text).unwrap_err();
            assert!(e.contains(needle), "{e} should name {needle}");
        };
        let one = |name: &str, role: &str, hash: &str| {
            format!("[[users]]\nname = \"{name}\"\nrole = \"{role}\"\ntoken_sha256 = \"{hash}\"\n")
        };
        bad(one("dewi", "boss", &h("a")), "role \"boss\"");
        bad(one("dewi", "coach", "abc"), "64 hexadecimal");
        bad(one("de wi", "coach", &h("a")), "name \"de wi\"");
        bad(one("admin", "admin", &h("a")), "reserved");
        bad(one("Ingest", "admin", &h("a")), "reserved");
        bad(
            one("dewi", "coach", &h("a")) + &one("DEWI", "viewer", &h("b")),
            "used twice",
        );
        bad(
            one("dewi", "coach", &h("a")) + &one("rina", "viewer", &h("a")),
            "another user's",
        );
        bad("[[users]]\nname = \"x\"\n".into(), "role");
        bad(one("dewi", "coach", &h("a")) + "extra = 1\n", "extra");
    }

    #[test]
    fn users_add_appends_a_hash_privately_and_refuses_a_duplicate() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.toml");
        let t1 = add_user(&path, "dewi", "coach").unwrap();
        assert_eq!(mode(&path), 0o600);
        let t2 = add_user(&path, "rina", "operator").unwrap();
        assert_ne!(t1, t2);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            !text.contains(&t1) && !text.contains(&t2),
            "only hashes are stored"
        );
        let users = read_users(&path).unwrap();
        assert_eq!(
            users
                .iter()
                .map(|u| (u.name.as_str(), u.role))
                .collect::<Vec<_>>(),
            vec![("dewi", Role::Coach), ("rina", Role::Operator)]
        );
        let access =
            Access::new("admin-token-0123456789", "ingest-token-0123456789").with_users(users);
        assert_eq!(access.authenticate(&t1).unwrap().name, "dewi");
        assert_eq!(access.authenticate(&t2).unwrap().name, "rina");
        let dup = add_user(&path, "Dewi", "viewer").unwrap_err();
        assert!(dup.to_string().contains("already exists"), "{dup}");
        assert!(add_user(&path, "vera", "boss").is_err());
        assert_eq!(
            read_users(&path).unwrap().len(),
            2,
            "nothing written on refusal"
        );
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            add_user(&path, "vera", "viewer"),
            Err(CredentialError::Exposed { .. })
        ));
        assert!(matches!(
            read_users(&path),
            Err(CredentialError::Exposed { .. })
        ));
    }
}
