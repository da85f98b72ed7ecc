//! The single writer. Every write op runs here, one after another, on a
//! dedicated thread; ops that arrive together form a group that becomes one
//! atomic sled batch, one flush and (in `fsync` mode) one sync of sled's
//! files (group commit). Each op's caller hears back only after that.
//!
//! Running ops serially is what lets an op read, check and write (dedupe,
//! open-case lookup, revision checks) without transactions. An op writes into
//! its own write set over the group's pending writes, so it reads what the
//! ops before it in the group wrote; an op that fails (or panics) leaves
//! nothing behind and fails alone. One batch per group matters: sled seals
//! its log buffer around every batch.
//!
//! When a group cannot be written (disk full, I/O error), its ops fail, the
//! store reports itself failing and drops its sled handle: sled keeps the
//! failed writes in memory and refuses every later write after an I/O
//! error, so the store reopens from disk, where only acknowledged writes
//! are. Meanwhile ops fail at once; the writer probes every second or so and
//! resumes by itself once writes succeed again. If the writer itself fails
//! (a panic outside an op), the store reports itself stopped.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

use super::durable::{Durability, SledFiles};
use super::health::{Condition, Health};
use super::journal::{AckRecord, Journal};
use super::{DbSlot, StoreError, StoreFaults, keys};

type Completion = Box<dyn FnOnce(Result<(), StoreError>) + Send>;
/// An op: run against a `Tx`, or (`None`) refused without running.
type Job = Box<dyn FnOnce(Option<&mut Tx<'_>>) -> (Completion, bool) + Send>;
type Writes = BTreeMap<Vec<u8>, Option<Vec<u8>>>;
/// Key-value pairs read from a range.
pub type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

/// Most ops taken into one group before flushing.
const MAX_GROUP: usize = 4096;
/// First and longest wait between attempts to resume after a failure.
const RETRY_FIRST: Duration = Duration::from_millis(500);
const RETRY_MAX: Duration = Duration::from_secs(5);

/// Counters of the writer, for benchmarks and metrics.
#[derive(Debug, Default)]
pub struct CommitStats {
    pub ops: AtomicU64,
    pub flushes: AtomicU64,
    /// Time spent running ops (reads, encoding), in nanoseconds.
    pub apply_nanos: AtomicU64,
    /// Time spent writing, flushing and syncing groups, in nanoseconds.
    pub flush_nanos: AtomicU64,
    /// Groups that could not be written.
    pub failed_groups: AtomicU64,
}

/// What an op sees: sled, the group's pending writes, and its own.
pub struct Tx<'a> {
    db: &'a sled::Db,
    group: &'a Writes,
    own: Writes,
}

impl Tx<'_> {
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        if let Some(v) = self.own.get(key).or_else(|| self.group.get(key)) {
            return Ok(v.clone());
        }
        Ok(self.db.get(key)?.map(|v| v.to_vec()))
    }

    pub fn insert(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.own.insert(key, Some(value));
    }

    pub fn remove(&mut self, key: Vec<u8>) {
        self.own.insert(key, None);
    }

    /// Key-value pairs in `start..=end`, pending writes included, in order.
    pub fn range(&self, start: &[u8], end: &[u8]) -> Result<Pairs, StoreError> {
        let mut merged = Writes::new();
        for kv in self.db.range(start..=end) {
            let (k, v) = kv?;
            merged.insert(k.to_vec(), Some(v.to_vec()));
        }
        let bounds = (
            std::ops::Bound::Included(start.to_vec()),
            std::ops::Bound::Included(end.to_vec()),
        );
        for (k, v) in self
            .group
            .range(bounds.clone())
            .chain(self.own.range(bounds))
        {
            merged.insert(k.clone(), v.clone());
        }
        Ok(merged
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect())
    }

    pub fn generate_id(&self) -> Result<u64, StoreError> {
        Ok(self.db.generate_id()?)
    }
}

/// Where the writer starts: the store's state as checked at open.
pub(crate) struct WriterStart {
    pub slot: Arc<DbSlot>,
    pub db: sled::Db,
    pub path: PathBuf,
    pub durability: Durability,
    pub files: Option<SledFiles>,
    pub journal: Journal,
    pub seq: u64,
    pub writes: u64,
    pub health: Arc<Health>,
    pub faults: StoreFaults,
}

pub struct Committer {
    tx: Mutex<Option<mpsc::Sender<Job>>>,
    stats: Arc<CommitStats>,
    health: Arc<Health>,
}

impl Committer {
    /// Starts the writer thread. It ends when the committer is closed or
    /// dropped, and returns how its final flush went.
    pub(crate) fn start(
        start: WriterStart,
        queue: usize,
    ) -> (Committer, std::thread::JoinHandle<Result<(), StoreError>>) {
        let (tx, rx) = mpsc::channel(queue);
        let stats = Arc::new(CommitStats::default());
        let health = start.health.clone();
        let thread_stats = stats.clone();
        let handle = std::thread::Builder::new()
            .name("caseflow-committer".into())
            .spawn(move || {
                let health = start.health.clone();
                let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    Writer::new(start, thread_stats).run(rx)
                }));
                run.unwrap_or_else(|panic| {
                    let reason = format!("the writer panicked: {}", panic_text(&*panic));
                    tracing::error!(%reason, "store writer stopped");
                    health.stopped(reason.clone());
                    Err(StoreError::WriterStopped(reason))
                })
            })
            .expect("spawn committer thread");
        (
            Committer {
                tx: Mutex::new(Some(tx)),
                stats,
                health,
            },
            handle,
        )
    }

    /// Stops taking ops; the writer finishes what it has, syncs and ends.
    pub fn close(&self) {
        self.tx.lock().unwrap_or_else(|p| p.into_inner()).take();
    }

    pub fn stats(&self) -> &CommitStats {
        &self.stats
    }

    /// Why an op could not reach the writer.
    fn gone(&self) -> StoreError {
        match self.health.condition() {
            Condition::Stopped { reason } => StoreError::WriterStopped(reason),
            _ => StoreError::Closed,
        }
    }

    /// Runs `op` on the writer thread and returns its result once its writes
    /// are flushed (and synced). If `op` fails or panics, none of its
    /// writes happen and the others of its group are not affected.
    pub async fn run<R, F>(&self, op: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&mut Tx<'_>) -> Result<R, StoreError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move |tx| {
            let result = match tx {
                None => Err(StoreError::Closed),
                Some(tx) => {
                    let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| op(tx)));
                    let result = ran.unwrap_or_else(|panic| {
                        let text = panic_text(&*panic);
                        tracing::error!(panic = %text, "a store op panicked; it is refused alone");
                        Err(StoreError::OpPanicked(text))
                    });
                    if result.is_err() {
                        tx.own.clear();
                    }
                    result
                }
            };
            let wrote = result.is_ok();
            let done: Completion = Box::new(move |flushed| {
                let _ = reply.send(flushed.and(result));
            });
            (done, wrote)
        });
        let sender = self
            .tx
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or(StoreError::Closed)?;
        sender.send(job).await.map_err(|_| self.gone())?;
        answer.await.map_err(|_| self.gone())?
    }
}

fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

struct Writer {
    slot: Arc<DbSlot>,
    /// `None` while the store reopens after a failure.
    db: Option<sled::Db>,
    path: PathBuf,
    durability: Durability,
    files: Option<SledFiles>,
    journal: Journal,
    /// The last group committed and the writes through it.
    seq: u64,
    writes: u64,
    health: Arc<Health>,
    faults: StoreFaults,
    stats: Arc<CommitStats>,
}

impl Writer {
    fn new(s: WriterStart, stats: Arc<CommitStats>) -> Writer {
        Writer {
            slot: s.slot,
            db: Some(s.db),
            path: s.path,
            durability: s.durability,
            files: s.files,
            journal: s.journal,
            seq: s.seq,
            writes: s.writes,
            health: s.health,
            faults: s.faults,
            stats,
        }
    }

    fn run(mut self, mut rx: mpsc::Receiver<Job>) -> Result<(), StoreError> {
        let mut group: Vec<Completion> = Vec::with_capacity(256);
        let mut pending = Writes::new();
        // Declared after the group: on a panic it runs before the callers'
        // replies are dropped, so they hear that the writer stopped.
        let health = self.health.clone();
        let _stop = StopOnPanic(&health);
        loop {
            if self.db.is_none() && !self.resume(&mut rx) {
                break;
            }
            let Some(job) = rx.blocking_recv() else {
                break;
            };
            let Some(db) = self.db.clone() else {
                continue;
            };
            let started = Instant::now();
            let mut writers = 0u64;
            let (done, wrote) = run_job(&db, &mut pending, job);
            group.push(done);
            writers += u64::from(wrote);
            while group.len() < MAX_GROUP {
                match rx.try_recv() {
                    Ok(job) => {
                        let (done, wrote) = run_job(&db, &mut pending, job);
                        group.push(done);
                        writers += u64::from(wrote);
                    }
                    Err(_) => break,
                }
            }
            let applied = Instant::now();
            let result = if pending.is_empty() {
                Ok(())
            } else {
                self.commit_group(&db, std::mem::take(&mut pending), writers)
            };
            drop(db);
            self.stats
                .apply_nanos
                .fetch_add((applied - started).as_nanos() as u64, Ordering::Relaxed);
            self.stats
                .flush_nanos
                .fetch_add(applied.elapsed().as_nanos() as u64, Ordering::Relaxed);
            self.stats
                .ops
                .fetch_add(group.len() as u64, Ordering::Relaxed);
            self.stats.flushes.fetch_add(1, Ordering::Relaxed);
            if let Err(e) = &result {
                self.fail(e.to_string());
            }
            for done in group.drain(..) {
                done(result.clone());
            }
        }
        self.finish()
    }

    /// One group: a sled batch with the group's sequence, the flush, the
    /// sync of sled's files and of the journal record, side by side.
    fn commit_group(&mut self, db: &sled::Db, writes: Writes, ops: u64) -> Result<(), StoreError> {
        let failed =
            |what: &str, e: &dyn std::fmt::Display| StoreError::WriteFailed(format!("{what}: {e}"));
        if let Some(reason) = self.faults.write_fault() {
            return Err(StoreError::WriteFailed(reason));
        }
        if self.faults.writer_panic() {
            panic!("fault injection: the writer panics outside any op");
        }
        let seq = self.seq + 1;
        let total = self.writes + ops;
        let mut batch = sled::Batch::default();
        for (k, v) in writes {
            match v {
                Some(v) => batch.insert(k, v),
                None => batch.remove(k),
            }
        }
        batch.insert(keys::COMMIT, keys::commit_value(seq, total).to_vec());
        db.apply_batch(batch).map_err(|e| failed("write", &e))?;
        db.flush().map_err(|e| failed("flush", &e))?;
        let record = AckRecord {
            seq,
            writes: total,
            writes_before: self.writes,
            at_ms: now_ms(),
            clean: false,
        };
        let fsync = self.durability == Durability::Fsync;
        let (files, journal) = match (&mut self.files, fsync) {
            (Some(files), true) => {
                let journal = &mut self.journal;
                std::thread::scope(|s| {
                    let j = s.spawn(move || journal.write(record, true));
                    let f = files.sync();
                    (
                        f,
                        j.join().unwrap_or_else(|_| {
                            Err(std::io::Error::other("journal sync panicked"))
                        }),
                    )
                })
            }
            _ => (Ok(()), self.journal.write(record, false)),
        };
        files.map_err(|e| failed("fdatasync of sled's files", &e))?;
        journal.map_err(|e| failed(&format!("write of {}", self.journal.path().display()), &e))?;
        self.seq = seq;
        self.writes = total;
        Ok(())
    }

    /// A group failed: report it and let go of sled, whose memory now holds
    /// writes that are not on disk.
    fn fail(&mut self, reason: String) {
        tracing::error!(%reason, "store write failed; writes are refused until the store recovers");
        self.stats.failed_groups.fetch_add(1, Ordering::Relaxed);
        self.health.failing(reason);
        self.db = None;
        self.files = None;
        self.slot.set(None);
    }

    /// While failing: refuse every op at once, and try to reopen every so
    /// often, traffic or not. False when the channel closed meanwhile.
    fn resume(&mut self, rx: &mut mpsc::Receiver<Job>) -> bool {
        let mut wait = RETRY_FIRST;
        let mut attempt_at = Instant::now() + RETRY_FIRST;
        loop {
            loop {
                match rx.try_recv() {
                    Ok(job) => {
                        let refused = match self.health.check() {
                            Err(reason) => StoreError::Unavailable(reason),
                            Ok(()) => StoreError::Unavailable("store is reopening".into()),
                        };
                        let (done, _) = job(None);
                        done(Err(refused));
                    }
                    Err(mpsc::error::TryRecvError::Empty) => break,
                    Err(mpsc::error::TryRecvError::Disconnected) => return false,
                }
            }
            if Instant::now() >= attempt_at {
                match self.reopen() {
                    Ok(()) => {
                        tracing::info!("store writes succeed again; resumed");
                        self.health.healthy();
                        return true;
                    }
                    Err(reason) => {
                        tracing::warn!(%reason, retry_in_ms = wait.as_millis() as u64, "store still cannot write");
                        self.health.failing(reason);
                        attempt_at = Instant::now() + wait;
                        wait = (wait * 2).min(RETRY_MAX);
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Opens sled again from disk and proves a write goes through.
    fn reopen(&mut self) -> Result<(), String> {
        if let Some(reason) = self.faults.write_fault() {
            return Err(reason);
        }
        let db =
            super::open::sled_db(&self.path, Duration::from_secs(2)).map_err(|e| e.to_string())?;
        let (held, held_writes) = super::open::commit_mark(&db).map_err(|e| e.to_string())?;
        if held < self.seq {
            let reason = format!(
                "after reopening, the store holds group {held} but group {} was acknowledged: \
                 run `caseflow store verify`",
                self.seq
            );
            self.health.stopped(reason.clone());
            return Err(reason);
        }
        // A failed group may still have reached the disk; it was not
        // acknowledged, and its sequence stays used.
        self.seq = held;
        self.writes = held_writes;
        let mut files = match self.durability {
            Durability::Fsync => Some(SledFiles::open(&self.path).map_err(|e| e.to_string())?),
            Durability::Flush => None,
        };
        let mut batch = sled::Batch::default();
        batch.insert(keys::PROBE, now_ms().to_be_bytes().to_vec());
        db.apply_batch(batch)
            .and_then(|_| db.flush().map(|_| ()))
            .map_err(|e| format!("probe write: {e}"))?;
        if let Some(f) = &mut files {
            f.sync().map_err(|e| format!("probe sync: {e}"))?;
        }
        self.slot.set(Some(db.clone()));
        self.db = Some(db);
        self.files = files;
        Ok(())
    }

    /// The channel closed: flush, sync, and mark the journal clean.
    fn finish(mut self) -> Result<(), StoreError> {
        let Some(db) = self.db.take() else {
            return Err(StoreError::Flush(
                "the store was failing at shutdown; the last writes were refused".into(),
            ));
        };
        db.flush().map_err(|e| StoreError::Flush(e.to_string()))?;
        if let Some(files) = &mut self.files {
            files.sync().map_err(|e| StoreError::Flush(e.to_string()))?;
        }
        let record = AckRecord {
            seq: self.seq,
            writes: self.writes,
            writes_before: self.writes,
            at_ms: now_ms(),
            clean: true,
        };
        self.journal
            .write(record, true)
            .map_err(|e| StoreError::Flush(format!("journal: {e}")))
    }
}

/// Marks the store stopped when the writer unwinds from a panic.
struct StopOnPanic<'a>(&'a Health);

impl Drop for StopOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.stopped("the writer panicked".into());
        }
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn run_job(db: &sled::Db, pending: &mut Writes, job: Job) -> (Completion, bool) {
    let mut tx = Tx {
        db,
        group: pending,
        own: Writes::new(),
    };
    let (done, ok) = job(Some(&mut tx));
    let own = std::mem::take(&mut tx.own);
    let wrote = ok && !own.is_empty();
    pending.extend(own);
    (done, wrote)
}
