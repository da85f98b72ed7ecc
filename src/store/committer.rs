//! The single writer. Every write op runs here, one after another, on a
//! dedicated thread; ops that arrive together share one flush (group commit),
//! and each op's caller hears back only after that flush returned.
//!
//! Running writes serially is what lets an op read, check and write (dedupe,
//! open-case lookup, revision checks) without transactions; building each op
//! as one `apply_batch` is what makes it atomic on a crash.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::{mpsc, oneshot};

use super::StoreError;

type Completion = Box<dyn FnOnce(Result<(), StoreError>) + Send>;
type Job = Box<dyn FnOnce(&sled::Db) -> Completion + Send>;

/// Most ops taken into one group before flushing.
const MAX_GROUP: usize = 4096;

/// Counters of the writer, for benchmarks and metrics.
#[derive(Debug, Default)]
pub struct CommitStats {
    pub ops: AtomicU64,
    pub flushes: AtomicU64,
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
    /// are flushed. An op that fails must not have written anything.
    pub async fn run<R, F>(&self, op: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&sled::Db) -> Result<R, StoreError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move |db| {
            let result = op(db);
            Box::new(move |flushed| {
                let _ = reply.send(flushed.and(result));
            })
        });
        let tx = self.tx.as_ref().ok_or(StoreError::Closed)?;
        tx.send(job).await.map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }
}

fn write_loop(db: sled::Db, mut rx: mpsc::Receiver<Job>, stats: Arc<CommitStats>) {
    let mut group: Vec<Completion> = Vec::with_capacity(256);
    while let Some(job) = rx.blocking_recv() {
        group.push(job(&db));
        while group.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(job) => group.push(job(&db)),
                Err(_) => break,
            }
        }
        let flushed = db
            .flush()
            .map(|_| ())
            .map_err(|e| StoreError::Flush(e.to_string()));
        stats.ops.fetch_add(group.len() as u64, Ordering::Relaxed);
        stats.flushes.fetch_add(1, Ordering::Relaxed);
        for done in group.drain(..) {
            done(flushed.clone());
        }
    }
    let _ = db.flush();
}
