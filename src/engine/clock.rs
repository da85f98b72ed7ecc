//! The engine's time source, injected: [`SystemClock`] in production, a
//! [`ManualClock`] in tests and simulations, where timers fire when the test
//! moves the clock, not after real time has passed.
//!
//! Every reading of "now" that lands in a case or the store (timer due
//! times, transitions, the in-doubt window, breaker windows, retention) and
//! every wait for such a time goes through one [`Clock`] handed to the
//! engine at start. Durations measured inside the process (a retry's
//! backoff between attempts, a restart window) stay on tokio's monotonic
//! time: they are not deadlines stored anywhere.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::core::types::Timestamp;

/// A wait for a due time.
pub type Sleep<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// Where the engine reads the time and waits for due times.
pub trait Clock: Send + Sync + 'static {
    /// The current time, in milliseconds since the Unix epoch (UTC).
    fn now(&self) -> Timestamp;

    /// Resolves once `now() >= at`; at once when it already is. Callers
    /// re-check what they waited for: a wait may end early, never late.
    fn sleep_until(&self, at: Timestamp) -> Sleep<'_>;
}

/// The clock shared by everything in one desk.
pub type SharedClock = Arc<dyn Clock>;

/// The wall clock of the machine.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl SystemClock {
    /// The system clock as the desk's shared clock.
    pub fn shared() -> SharedClock {
        Arc::new(SystemClock)
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp(chrono::Utc::now().timestamp_millis())
    }

    fn sleep_until(&self, at: Timestamp) -> Sleep<'_> {
        Box::pin(async move {
            // Re-checked after each sleep: the wall clock may have been set
            // back meanwhile.
            loop {
                let left = at.since(self.now());
                if left <= 0 {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(left as u64)).await;
            }
        })
    }
}

/// A clock that moves only when told to: every wait on it ends as soon as
/// [`ManualClock::advance`] (or [`ManualClock::set`]) reaches its due time.
#[derive(Debug)]
pub struct ManualClock {
    now: watch::Sender<Timestamp>,
}

impl ManualClock {
    /// A clock standing at `start`.
    pub fn new(start: Timestamp) -> Arc<ManualClock> {
        Arc::new(ManualClock {
            now: watch::Sender::new(start),
        })
    }

    /// A clock standing at the machine's current time (so dates relative
    /// to today, as in the demo records, read naturally).
    pub fn starting_now() -> Arc<ManualClock> {
        ManualClock::new(SystemClock.now())
    }

    /// Moves the clock forward by `by`; the waits now due end.
    pub fn advance(&self, by: Duration) {
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.now.send_modify(|t| *t = t.plus_millis(ms));
    }

    /// Moves the clock to `at`. Time never runs backwards: an earlier `at`
    /// leaves the clock where it is.
    pub fn set(&self, at: Timestamp) {
        self.now.send_modify(|t| *t = (*t).max(at));
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self.now.borrow()
    }

    fn sleep_until(&self, at: Timestamp) -> Sleep<'_> {
        let mut moved = self.now.subscribe();
        Box::pin(async move {
            while *moved.borrow_and_update() < at {
                // The sender lives as long as `self`, which this future
                // borrows: `changed` cannot fail here.
                if moved.changed().await.is_err() {
                    std::future::pending::<()>().await;
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use std::task::Poll;

    use super::*;

    /// Polls a wait once: whether it has ended.
    async fn poll_once(wait: &mut Sleep<'_>) -> Poll<()> {
        std::future::poll_fn(|cx| Poll::Ready(wait.as_mut().poll(cx))).await
    }

    #[tokio::test]
    async fn a_wait_on_the_manual_clock_ends_when_it_is_advanced_to_its_due_time() {
        let clock = ManualClock::new(Timestamp(1_000));
        let mut wait = clock.sleep_until(Timestamp(61_000));
        assert!(poll_once(&mut wait).await.is_pending());
        clock.advance(Duration::from_secs(59));
        assert_eq!(clock.now(), Timestamp(60_000));
        assert!(poll_once(&mut wait).await.is_pending(), "not due yet");
        clock.advance(Duration::from_secs(1));
        assert!(poll_once(&mut wait).await.is_ready(), "due: the wait ends");
    }

    #[tokio::test]
    async fn the_manual_clock_never_runs_backwards_and_a_past_due_time_is_no_wait() {
        let clock = ManualClock::new(Timestamp(5_000));
        clock.set(Timestamp(1_000));
        assert_eq!(clock.now(), Timestamp(5_000));
        clock.set(Timestamp(9_000));
        assert_eq!(clock.now(), Timestamp(9_000));
        let mut wait = clock.sleep_until(Timestamp(9_000));
        assert!(poll_once(&mut wait).await.is_ready());
    }

    #[tokio::test]
    async fn the_system_clock_waits_until_its_due_time() {
        let clock = SystemClock;
        let at = clock.now().plus_millis(20);
        clock.sleep_until(at).await;
        assert!(clock.now() >= at);
    }
}
