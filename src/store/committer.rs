//! The single writer. Every write op runs here, one after another, on a
//! dedicated thread; ops that arrive together form a group that becomes one
//! atomic sled batch and one flush (group commit). Each op's caller hears
//! back only after that flush returned.
//!
//! Running ops serially is what lets an op read, check and write (dedupe,
//! open-case lookup, revision checks) without transactions. An op writes into
//! its own write set over the group's pending writes, so it reads what the
//! ops before it in the group wrote; an op that fails leaves nothing behind.
//! One batch per group matters: sled seals its log buffer around every batch.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use tokio::sync::{mpsc, oneshot};

use super::StoreError;

type Completion = Box<dyn FnOnce(Result<(), StoreError>) + Send>;
type Job = Box<dyn FnOnce(&mut Tx<'_>) -> Completion + Send>;
type Writes = BTreeMap<Vec<u8>, Option<Vec<u8>>>;
/// Key-value pairs read from a range.
pub type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

/// Most ops taken into one group before flushing.
const MAX_GROUP: usize = 4096;

/// Counters of the writer, for benchmarks and metrics.
#[derive(Debug, Default)]
pub struct CommitStats {
    pub ops: AtomicU64,
    pub flushes: AtomicU64,
    /// Time spent running ops (reads, encoding), in nanoseconds.
    pub apply_nanos: AtomicU64,
    /// Time spent writing and flushing groups, in nanoseconds.
    pub flush_nanos: AtomicU64,
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

pub struct Committer {
    tx: Option<mpsc::Sender<Job>>,
    stats: Arc<CommitStats>,
}

impl Committer {
    /// Starts the writer thread. It ends when the committer is closed or dropped.
    pub fn start(db: sled::Db, queue: usize) -> (Committer, std::thread::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(queue);
        let stats = Arc::new(CommitStats::default());
        let thread_stats = stats.clone();
        let handle = std::thread::Builder::new()
            .name("caseflow-committer".into())
            .spawn(move || write_loop(db, rx, thread_stats))
            .expect("spawn committer thread");
        (
            Committer {
                tx: Some(tx),
                stats,
            },
            handle,
        )
    }

    /// Stops taking ops; the writer finishes what it has, flushes and ends.
    pub fn close(&mut self) {
        self.tx = None;
    }

    pub fn stats(&self) -> &CommitStats {
        &self.stats
    }

    /// Runs `op` on the writer thread and returns its result once its writes
    /// are flushed. If `op` fails, none of its writes happen.
    pub async fn run<R, F>(&self, op: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&mut Tx<'_>) -> Result<R, StoreError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move |tx| {
            let result = op(tx);
            if result.is_err() {
                tx.own.clear();
            }
            Box::new(move |flushed| {
                let _ = reply.send(flushed.and(result));
            })
        });
        let tx = self.tx.as_ref().ok_or(StoreError::Closed)?;
        tx.send(job).await.map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }
}

fn run_job(db: &sled::Db, pending: &mut Writes, job: Job) -> Completion {
    let mut tx = Tx {
        db,
        group: pending,
        own: Writes::new(),
    };
    let done = job(&mut tx);
    let own = std::mem::take(&mut tx.own);
    pending.extend(own);
    done
}

fn write_loop(db: sled::Db, mut rx: mpsc::Receiver<Job>, stats: Arc<CommitStats>) {
    let mut group: Vec<Completion> = Vec::with_capacity(256);
    let mut pending = Writes::new();
    while let Some(job) = rx.blocking_recv() {
        let started = Instant::now();
        group.push(run_job(&db, &mut pending, job));
        while group.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(job) => group.push(run_job(&db, &mut pending, job)),
                Err(_) => break,
            }
        }
        let applied = Instant::now();
        let mut batch = sled::Batch::default();
        for (k, v) in std::mem::take(&mut pending) {
            match v {
                Some(v) => batch.insert(k, v),
                None => batch.remove(k),
            }
        }
        let flushed = db
            .apply_batch(batch)
            .and_then(|_| db.flush().map(|_| ()))
            .map_err(|e| StoreError::Flush(e.to_string()));
        stats
            .apply_nanos
            .fetch_add((applied - started).as_nanos() as u64, Ordering::Relaxed);
        stats
            .flush_nanos
            .fetch_add(applied.elapsed().as_nanos() as u64, Ordering::Relaxed);
        stats.ops.fetch_add(group.len() as u64, Ordering::Relaxed);
        stats.flushes.fetch_add(1, Ordering::Relaxed);
        for done in group.drain(..) {
            done(flushed.clone());
        }
    }
    let _ = db.flush();
}
