//! The acknowledgement journal: a 64-byte record beside sled's files
//! (`ack.journal` in the store's directory) saying how far the store had
//! acknowledged writes. It is checked when the store opens, so that a sled
//! file that lost its tail (a flipped byte, a truncation, a bad restore, a
//! power loss the drive did not survive) is refused with what is missing
//! instead of serving with acknowledged messages silently gone.
//!
//! Every committed group carries a sequence number, written inside sled
//! (`mcommit`: sequence and cumulative write count) and here. The record for
//! group `k` is written while group `k` is synced and before it is
//! acknowledged, so after a crash sled may hold `k - 1` (group `k` was then
//! never acknowledged); after a clean stop (`clean`) it must hold `k`.
//!
//! Layout (little endian): magic `CFACKJ` + format 1 (u16), sequence (u64),
//! writes through the sequence (u64), writes through the sequence before
//! it (u64), written at (ms, i64), clean (u8), zeros, CRC-32 of bytes 0..60.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

pub const FILE_NAME: &str = "ack.journal";
const MAGIC: &[u8; 6] = b"CFACKJ";
const FORMAT: u16 = 1;
const LEN: usize = 64;

/// How far the store had acknowledged writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AckRecord {
    /// The last group written (acknowledged, or being acknowledged).
    pub seq: u64,
    /// Writes through `seq`.
    pub writes: u64,
    /// Writes through `seq - 1`: acknowledged for certain.
    pub writes_before: u64,
    /// When the record was written, ms since the epoch.
    pub at_ms: i64,
    /// Written at a clean stop, after the final sync: sled holds `seq`.
    pub clean: bool,
}

impl AckRecord {
    /// The last group sled must hold, and the writes through it.
    pub fn must_hold(&self) -> (u64, u64) {
        if self.clean || self.seq == 0 {
            (self.seq, self.writes)
        } else {
            (self.seq - 1, self.writes_before)
        }
    }

    fn encode(&self) -> [u8; LEN] {
        let mut b = [0u8; LEN];
        b[..6].copy_from_slice(MAGIC);
        b[6..8].copy_from_slice(&FORMAT.to_le_bytes());
        b[8..16].copy_from_slice(&self.seq.to_le_bytes());
        b[16..24].copy_from_slice(&self.writes.to_le_bytes());
        b[24..32].copy_from_slice(&self.writes_before.to_le_bytes());
        b[32..40].copy_from_slice(&self.at_ms.to_le_bytes());
        b[40] = u8::from(self.clean);
        let crc = crc32fast::hash(&b[..60]);
        b[60..].copy_from_slice(&crc.to_le_bytes());
        b
    }

    fn decode(b: &[u8]) -> Result<AckRecord, String> {
        if b.len() != LEN {
            return Err(format!("it is {} bytes long, not {LEN}", b.len()));
        }
        if &b[..6] != MAGIC {
            return Err("it does not start with the journal's magic bytes".into());
        }
        let format = u16::from_le_bytes([b[6], b[7]]);
        if format != FORMAT {
            return Err(format!(
                "it has format {format}; this binary reads {FORMAT}"
            ));
        }
        let crc = u32::from_le_bytes(b[60..64].try_into().unwrap_or_default());
        if crc != crc32fast::hash(&b[..60]) {
            return Err("its checksum does not match: the file was damaged".into());
        }
        let u64_at = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().unwrap_or_default());
        Ok(AckRecord {
            seq: u64_at(8),
            writes: u64_at(16),
            writes_before: u64_at(24),
            at_ms: u64_at(32) as i64,
            clean: b[40] == 1,
        })
    }
}

/// The journal file, open for writing.
pub struct Journal {
    file: File,
    path: PathBuf,
}

impl Journal {
    pub fn path_in(store_dir: &Path) -> PathBuf {
        store_dir.join(FILE_NAME)
    }

    /// Reads the record in `store_dir`: `Ok(None)` when there is no journal.
    pub fn read(store_dir: &Path) -> Result<Option<AckRecord>, String> {
        let path = Self::path_in(store_dir);
        match std::fs::read(&path) {
            Ok(bytes) => AckRecord::decode(&bytes)
                .map(Some)
                .map_err(|e| format!("{} is unreadable: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("cannot read {}: {e}", path.display())),
        }
    }

    /// Opens (creating) the journal of `store_dir` and writes `record`,
    /// synced, together with the directory entry.
    pub fn create(store_dir: &Path, record: AckRecord) -> std::io::Result<Journal> {
        let path = Self::path_in(store_dir);
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)?;
        let mut journal = Journal { file, path };
        journal.write(record, true)?;
        File::open(store_dir)?.sync_all()?;
        Ok(journal)
    }

    /// Overwrites the record in place; with `sync`, waits until it is on
    /// the device (one 64-byte write: it does not tear within a sector).
    pub fn write(&mut self, record: AckRecord, sync: bool) -> std::io::Result<()> {
        self.file.write_all_at(&record.encode(), 0)?;
        self.file.set_len(LEN as u64)?;
        if sync {
            self.file.sync_data()?;
        }
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_round_trips_and_a_flipped_byte_is_caught() {
        let r = AckRecord {
            seq: 7,
            writes: 90,
            writes_before: 80,
            at_ms: 1_795_000_000_000,
            clean: false,
        };
        assert_eq!(AckRecord::decode(&r.encode()), Ok(r));
        assert_eq!(r.must_hold(), (6, 80));
        assert_eq!(AckRecord { clean: true, ..r }.must_hold(), (7, 90));
        for i in 0..LEN {
            let mut b = r.encode();
            b[i] ^= 0x10;
            assert!(AckRecord::decode(&b).is_err(), "byte {i}");
        }
        assert!(AckRecord::decode(&r.encode()[..40]).is_err());
    }

    #[test]
    fn the_journal_is_written_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Journal::read(dir.path()), Ok(None));
        let mut j = Journal::create(dir.path(), AckRecord::default()).unwrap();
        let r = AckRecord {
            seq: 3,
            writes: 5,
            writes_before: 4,
            at_ms: 1,
            clean: true,
        };
        j.write(r, true).unwrap();
        assert_eq!(Journal::read(dir.path()), Ok(Some(r)));
    }
}
