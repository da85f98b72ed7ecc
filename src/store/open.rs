//! Opening a store: sled's config file checked, sled opened (retrying a
//! lock released a moment ago), the format version checked, and the
//! acknowledgement journal compared with what sled holds. Only store-level
//! failures refuse to open, each with an error that names it.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use super::committer::{self, Committer};
use super::durable::{self, Durability};
use super::health::Health;
use super::journal::{AckRecord, Journal};
use super::{FORMAT_VERSION, Store, StoreError, keys};

/// The sled handle readers use; empty while the writer reopens the store
/// after a write failure.
pub(crate) struct DbSlot(pub(crate) RwLock<Option<sled::Db>>);

impl DbSlot {
    pub(crate) fn get(&self) -> Result<sled::Db, StoreError> {
        self.0
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or_else(|| {
                StoreError::Unavailable("store is reopening after a write failure".into())
            })
    }

    pub(crate) fn set(&self, db: Option<sled::Db>) {
        *self.0.write().unwrap_or_else(|p| p.into_inner()) = db;
    }
}

/// Fault drills for the store (config `[faults]`): flag files whose
/// presence makes every write fail, or the writer panic.
#[derive(Debug, Clone, Default)]
pub struct StoreFaults {
    /// While this file exists, every group fails as if the disk were full.
    pub fail_writes_while: Option<PathBuf>,
    /// When this file exists, the writer panics outside any op.
    pub panic_writer_when: Option<PathBuf>,
}

impl StoreFaults {
    pub(crate) fn write_fault(&self) -> Option<String> {
        self.fail_writes_while
            .as_ref()
            .filter(|p| p.exists())
            .map(|_| "No space left on device (os error 28; injected fault)".to_string())
    }

    pub(crate) fn writer_panic(&self) -> bool {
        self.panic_writer_when.as_ref().is_some_and(|p| p.exists())
    }
}

/// How a store is opened.
#[derive(Debug, Clone, Default)]
pub struct StoreOptions {
    pub durability: Durability,
    pub faults: StoreFaults,
}

/// Opens (or creates) the store at `path`: see [`Store::open_with`].
pub(super) fn open_store(path: &Path, options: StoreOptions) -> Result<Store, StoreError> {
    let io = |what: &str, e: std::io::Error| StoreError::Open {
        path: path.display().to_string(),
        reason: format!("{what}: {e}"),
    };
    std::fs::create_dir_all(path).map_err(|e| io("cannot create the directory", e))?;
    check_sled_conf(path)?;
    let journal = read_journal(path)?;
    let db = sled_db(path, Duration::from_secs(5))?;
    let held = commit_mark(&db)?;
    check_journal(path, journal, held)?;
    check_format(&db, path)?;
    if journal.is_none() && held.0 > 0 {
        tracing::warn!(
            path = %path.display(),
            "no acknowledgement journal beside the store: it cannot be checked for lost \
             writes this time; a new journal starts from what the store holds"
        );
    }
    let start = AckRecord {
        seq: held.0,
        writes: held.1,
        writes_before: held.1,
        at_ms: chrono::Utc::now().timestamp_millis(),
        clean: false,
    };
    let journal = Journal::create(path, start).map_err(|e| io("cannot write the journal", e))?;
    let files = match options.durability {
        Durability::Fsync => {
            let mut files =
                durable::SledFiles::open(path).map_err(|e| io("cannot open sled's files", e))?;
            files
                .sync()
                .map_err(|e| io("cannot sync sled's files", e))?;
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::File::open(parent)
                    .and_then(|d| d.sync_all())
                    .map_err(|e| io("cannot sync the data directory", e))?;
            }
            Some(files)
        }
        Durability::Flush => None,
    };
    let slot = Arc::new(DbSlot(RwLock::new(Some(db.clone()))));
    let health = Arc::new(Health::default());
    let (committer, writer) = Committer::start(
        committer::WriterStart {
            slot: slot.clone(),
            db,
            path: path.to_path_buf(),
            durability: options.durability,
            files,
            journal,
            seq: held.0,
            writes: held.1,
            health: health.clone(),
            faults: options.faults,
        },
        16 * 1024,
    );
    Ok(Store {
        db: slot,
        committer,
        writer: Mutex::new(Some(writer)),
        health,
        path: path.to_path_buf(),
    })
}

/// Opens sled at `path`, retrying while its lock is still held (sled
/// releases it a moment after the last handle drops, sled#1234).
pub(crate) fn sled_db(path: &Path, patience: Duration) -> Result<sled::Db, StoreError> {
    let deadline = std::time::Instant::now() + patience;
    loop {
        let result = sled::Config::new()
            .path(path)
            .cache_capacity(256 * 1024 * 1024)
            .flush_every_ms(Some(1000))
            .open();
        match result {
            Ok(db) => return Ok(db),
            Err(sled::Error::Io(e))
                if is_lock_contention(&e) && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => {
                return Err(StoreError::Open {
                    path: path.display().to_string(),
                    reason: explain(e),
                });
            }
        }
    }
}

fn explain(e: sled::Error) -> String {
    match e {
        sled::Error::Corruption { at, .. } => format!(
            "sled's log is corrupt at {at:?}: the data files were damaged; \
             run `caseflow store verify` and restore from a backup"
        ),
        sled::Error::Io(io) if is_lock_contention(&io) => {
            format!("another process has this store open ({io})")
        }
        other => other.to_string(),
    }
}

/// sled reports a held lock as an `Other` error wrapping `WouldBlock`.
fn is_lock_contention(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::WouldBlock
        || e.raw_os_error() == Some(11)
        || e.to_string().contains("could not acquire lock")
}

/// sled's `conf` ends with a CRC-32 of what precedes it, which sled itself
/// only warns about; a damaged one then fails with a misleading message
/// about old sled versions. Checked here first.
pub(crate) fn check_sled_conf(path: &Path) -> Result<(), StoreError> {
    let conf = path.join("conf");
    let bytes = match std::fs::read(&conf) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => {
            return Err(StoreError::Damaged {
                file: conf.display().to_string(),
                reason: format!("cannot be read: {e}"),
            });
        }
    };
    let damaged = |reason: &str| StoreError::Damaged {
        file: conf.display().to_string(),
        reason: reason.to_string(),
    };
    if bytes.len() <= 8 {
        return Err(damaged("it is truncated"));
    }
    let (body, crc) = bytes.split_at(bytes.len() - 4);
    let expected = u32::from_le_bytes(crc.try_into().unwrap_or_default());
    if crc32fast::hash(body) != expected {
        return Err(damaged(
            "its checksum does not match: the file was changed or damaged",
        ));
    }
    Ok(())
}

/// The last committed group and the writes through it, as sled holds them.
pub(crate) fn commit_mark(db: &sled::Db) -> Result<(u64, u64), StoreError> {
    match db.get(keys::COMMIT)? {
        None => Ok((0, 0)),
        Some(v) => keys::parse_commit(&v)
            .ok_or_else(|| StoreError::Sled("the commit mark is not 16 bytes".into())),
    }
}

/// Checks the format version, or writes it into an empty store.
pub(crate) fn check_format(db: &sled::Db, path: &Path) -> Result<(), StoreError> {
    let shown = path.display().to_string();
    match db.get(keys::FORMAT)? {
        None if db.is_empty() => {
            db.insert(keys::FORMAT, &FORMAT_VERSION.to_be_bytes())?;
            db.flush()?;
            Ok(())
        }
        None => Err(StoreError::NoFormat { path: shown }),
        Some(v) => {
            let bytes: [u8; 4] = v.as_ref().try_into().map_err(|_| StoreError::NoFormat {
                path: shown.clone(),
            })?;
            let found = u32::from_be_bytes(bytes);
            if found > FORMAT_VERSION {
                return Err(StoreError::FormatTooNew {
                    path: shown,
                    found,
                    known: FORMAT_VERSION,
                });
            }
            // Older formats are read as they are: record kinds upgrade
            // themselves (see codec). A layout change adds a migration here.
            Ok(())
        }
    }
}

/// Compares the journal with what sled holds: `Err(LostWrites)` when sled
/// lacks writes that were acknowledged.
pub(crate) fn check_journal(
    path: &Path,
    journal: Option<AckRecord>,
    held: (u64, u64),
) -> Result<(), StoreError> {
    let Some(record) = journal else {
        return Ok(());
    };
    let (must_seq, must_writes) = record.must_hold();
    if held.0 >= must_seq {
        return Ok(());
    }
    Err(StoreError::LostWrites {
        path: path.display().to_string(),
        acknowledged: must_writes,
        groups: must_seq,
        held: held.1,
        held_groups: held.0,
        at: chrono::DateTime::from_timestamp_millis(record.at_ms)
            .map(|t| t.to_rfc3339())
            .unwrap_or_default(),
    })
}

/// Reads the journal of `path`, mapping a damaged one to an error.
pub(crate) fn read_journal(path: &Path) -> Result<Option<AckRecord>, StoreError> {
    Journal::read(path).map_err(|reason| StoreError::Damaged {
        file: Journal::path_in(path).display().to_string(),
        reason,
    })
}
