//! Retry with exponential backoff and jitter: the one place that uses the
//! `backoff` crate. The schedule comes from `backoff`; the loop is ours so
//! that each failed attempt can be persisted before the next one, and so the
//! time budget counts from when the effect first started (a retry resumed
//! after a restart gets only what is left of it).

use std::future::Future;
use std::time::Duration;

use backoff::backoff::Backoff;

/// How one tool is retried (from `[tools.<name>]` in config).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    pub initial: Duration,
    pub max_interval: Duration,
    pub multiplier: f64,
    /// Total time allowed from the first attempt.
    pub max_elapsed: Duration,
}

impl From<&crate::config::ToolConfig> for RetryPolicy {
    fn from(c: &crate::config::ToolConfig) -> Self {
        RetryPolicy {
            initial: c.retry_initial,
            max_interval: c.retry_max_interval,
            multiplier: c.retry_multiplier,
            max_elapsed: c.max_elapsed,
        }
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            initial: Duration::from_millis(200),
            max_interval: Duration::from_secs(10),
            multiplier: 2.0,
            max_elapsed: Duration::from_secs(120),
        }
    }
}

pub use crate::channels::retry_after::{parse_retry_after, retry_after};

/// How one attempt failed.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure<E> {
    /// Worth another try (timeout, 5xx, 429), after at least `retry_after`.
    Transient {
        error: E,
        retry_after: Option<Duration>,
    },
    /// Will fail the same way again (other 4xx).
    Permanent(E),
    /// Not tried at all (the tool's breaker is open): stop without using
    /// the budget; `until` is when the tool may be tried again.
    Unavailable { error: E, until: Duration },
}

/// A send's failure as the retry sees it: an answer whose outcome is
/// unknown is worth another try (under the same key).
impl From<crate::channels::SendError> for Failure<String> {
    fn from(e: crate::channels::SendError) -> Self {
        use crate::channels::SendError;
        match e {
            SendError::Transient {
                reason,
                retry_after,
            } => Self::Transient {
                error: reason,
                retry_after,
            },
            SendError::Permanent(reason) => Self::Permanent(reason),
            SendError::InDoubt(reason) => Self::Transient {
                error: reason,
                retry_after: None,
            },
        }
    }
}

/// How the whole retry ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Attempts<T, E> {
    /// Succeeded on attempt number `attempts` (counting earlier runs).
    Done { value: T, attempts: u32 },
    /// A permanent failure, or the budget ran out on a transient one.
    Failed { error: E, attempts: u32 },
    /// Stopped on an unavailable tool; try again after `until`.
    Paused { error: E, until: Duration },
}

/// Runs `attempt` until it succeeds, fails permanently, the tool becomes
/// unavailable, or the budget (`policy.max_elapsed` minus `already_spent`)
/// runs out. `failed` is awaited after every failed attempt with the attempt
/// number (starting at `attempts_before + 1`), so it can be persisted.
pub async fn run<T, E, A, AF, N, NF>(
    policy: RetryPolicy,
    already_spent: Duration,
    attempts_before: u32,
    mut attempt: A,
    mut failed: N,
) -> Attempts<T, E>
where
    E: Clone,
    A: FnMut() -> AF,
    AF: Future<Output = Result<T, Failure<E>>>,
    N: FnMut(u32, E) -> NF,
    NF: Future<Output = ()>,
{
    let budget = policy.max_elapsed.saturating_sub(already_spent);
    let mut schedule = backoff::ExponentialBackoffBuilder::new()
        .with_initial_interval(policy.initial)
        .with_max_interval(policy.max_interval)
        .with_multiplier(policy.multiplier)
        .with_randomization_factor(0.5)
        .with_max_elapsed_time(Some(budget))
        .build();
    let started = tokio::time::Instant::now();
    let mut attempts = attempts_before;
    loop {
        let failure = match attempt().await {
            Ok(value) => {
                return Attempts::Done {
                    value,
                    attempts: attempts + 1,
                };
            }
            Err(f) => f,
        };
        match failure {
            Failure::Unavailable { error, until } => return Attempts::Paused { error, until },
            Failure::Permanent(error) => {
                attempts += 1;
                failed(attempts, error.clone()).await;
                return Attempts::Failed { error, attempts };
            }
            Failure::Transient { error, retry_after } => {
                attempts += 1;
                failed(attempts, error.clone()).await;
                let Some(wait) = schedule.next_backoff() else {
                    return Attempts::Failed { error, attempts };
                };
                let wait = retry_after.map_or(wait, |r| r.max(wait));
                if started.elapsed() + wait > budget {
                    return Attempts::Failed { error, attempts };
                }
                tokio::time::sleep(wait).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    fn quick(max_elapsed_ms: u64) -> RetryPolicy {
        RetryPolicy {
            initial: Duration::from_millis(1),
            max_interval: Duration::from_millis(4),
            multiplier: 2.0,
            max_elapsed: Duration::from_millis(max_elapsed_ms),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn transient_failures_are_retried_until_success_and_each_is_reported() {
        let calls = AtomicU32::new(0);
        let reported = std::sync::Mutex::new(Vec::new());
        let out: Attempts<u32, String> = run(
            quick(10_000),
            Duration::ZERO,
            0,
            || async {
                let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
                if n < 4 {
                    Err(Failure::Transient {
                        error: format!("503 #{n}"),
                        retry_after: None,
                    })
                } else {
                    Ok(n)
                }
            },
            |attempt, e| {
                reported.lock().unwrap().push((attempt, e));
                async {}
            },
        )
        .await;
        assert_eq!(
            out,
            Attempts::Done {
                value: 4,
                attempts: 4
            }
        );
        assert_eq!(reported.lock().unwrap().len(), 3);
        assert_eq!(reported.lock().unwrap()[2].0, 3);
    }

    #[tokio::test(start_paused = true)]
    async fn a_permanent_failure_stops_at_once() {
        let calls = AtomicU32::new(0);
        let out: Attempts<(), &str> = run(
            quick(10_000),
            Duration::ZERO,
            2,
            || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(Failure::Permanent("400 bad recipient"))
            },
            |_, _| async {},
        )
        .await;
        assert_eq!(
            out,
            Attempts::Failed {
                error: "400 bad recipient",
                attempts: 3
            }
        );
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_is_honoured_and_the_budget_ends_the_retries() {
        let start = tokio::time::Instant::now();
        let out: Attempts<(), &str> = run(
            quick(5_000),
            Duration::ZERO,
            0,
            || async {
                Err(Failure::Transient {
                    error: "429",
                    retry_after: Some(Duration::from_secs(2)),
                })
            },
            |_, _| async {},
        )
        .await;
        // Attempts at 0 s, 2 s, 4 s; a fourth would land past 5 s.
        assert_eq!(
            out,
            Attempts::Failed {
                error: "429",
                attempts: 3
            }
        );
        assert_eq!(start.elapsed().as_secs(), 4);
        // Budget already spent before a restart: one attempt only.
        let out: Attempts<(), &str> = run(
            quick(5_000),
            Duration::from_secs(5),
            7,
            || async {
                Err(Failure::Transient {
                    error: "timeout",
                    retry_after: None,
                })
            },
            |_, _| async {},
        )
        .await;
        assert_eq!(
            out,
            Attempts::Failed {
                error: "timeout",
                attempts: 8
            }
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_unavailable_tool_pauses_without_using_an_attempt() {
        let out: Attempts<(), &str> = run(
            quick(5_000),
            Duration::ZERO,
            1,
            || async {
                Err(Failure::Unavailable {
                    error: "breaker open",
                    until: Duration::from_secs(30),
                })
            },
            |_, _| async { panic!("not an attempt") },
        )
        .await;
        assert_eq!(
            out,
            Attempts::Paused {
                error: "breaker open",
                until: Duration::from_secs(30)
            }
        );
    }
}
