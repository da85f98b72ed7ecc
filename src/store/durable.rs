//! What a flushed group is synced to, and the sync itself.
//!
//! sled's `flush` writes its log with `sync_file_range` (spacejam/sled#1452):
//! the data reaches the device, but neither the drive's write cache nor the
//! file's size and directory entries are made durable. In `fsync` mode the
//! committer follows every flush with `fdatasync` of sled's files: the log
//! file `db`, any blob file sled wrote (values over about 128 KiB; sled
//! writes them without a sync), and the directories when entries changed.
//! fsync acts on the inode, so read-only handles are enough.

use std::collections::HashSet;
use std::ffi::OsString;
use std::fs::File;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// What an acknowledged write survives (config `[store] durability`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Durability {
    /// sled flush, then fdatasync of sled's files: survives power loss on
    /// a drive that honours cache flushes.
    #[default]
    Fsync,
    /// sled flush only: survives a process crash or kill, not power loss.
    Flush,
}

impl Durability {
    pub fn as_str(self) -> &'static str {
        match self {
            Durability::Fsync => "fsync",
            Durability::Flush => "flush",
        }
    }
}

/// Read-only handles on sled's files, kept open for syncing.
pub struct SledFiles {
    dir: PathBuf,
    db: File,
    /// Entries of the store directory when it was last synced.
    entries: HashSet<OsString>,
    /// Blob files already synced.
    blobs: HashSet<OsString>,
}

fn names(dir: &Path) -> std::io::Result<HashSet<OsString>> {
    match std::fs::read_dir(dir) {
        Ok(entries) => entries.map(|e| e.map(|e| e.file_name())).collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(HashSet::new()),
        Err(e) => Err(e),
    }
}

impl SledFiles {
    pub fn open(dir: &Path) -> std::io::Result<SledFiles> {
        let db = File::open(dir.join("db"))?;
        Ok(SledFiles {
            dir: dir.to_path_buf(),
            db,
            entries: HashSet::new(),
            blobs: HashSet::new(),
        })
    }

    /// fdatasync of the log file and of new blob files, and fsync of the
    /// directories whose entries changed since the last call. (Listings,
    /// not mtimes: those are too coarse to see two changes in a tick.)
    pub fn sync(&mut self) -> std::io::Result<()> {
        self.db.sync_data()?;
        let blobs_dir = self.dir.join("blobs");
        let blobs = names(&blobs_dir)?;
        if blobs != self.blobs {
            for name in blobs.difference(&self.blobs) {
                File::open(blobs_dir.join(name))?.sync_data()?;
            }
            File::open(&blobs_dir)?.sync_all()?;
            self.blobs = blobs;
        }
        let entries = names(&self.dir)?;
        if entries != self.entries {
            File::open(&self.dir)?.sync_all()?;
            self.entries = entries;
        }
        Ok(())
    }
}
