//! A circuit breaker per tool: closed (calls go through), open (calls are
//! refused at once, so cases pause instead of burning their retry budget),
//! half-open (one trial call decides). Only transient failures (timeouts,
//! 5xx, 429) count; a 4xx is the request's fault, not the tool's.
//!
//! Every state change is returned as a [`BreakerRecord`] for the caller to
//! persist; at start the stored records are loaded back, so a breaker that
//! was open stays open for what is left of its window.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

pub use crate::core::records::{BreakerRecord, BreakerState};
use crate::core::types::Timestamp;

/// A call refused without being tried: the tool's circuit breaker is open.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{tool}: circuit breaker open")]
pub struct BreakerOpen {
    pub tool: String,
}

/// For callers whose errors are plain text (the send and payment retries,
/// whose last error is stored as text).
impl From<BreakerOpen> for String {
    fn from(e: BreakerOpen) -> String {
        e.to_string()
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BreakerConfig {
    /// Consecutive transient failures that open the breaker.
    pub failure_threshold: u32,
    /// How long an open breaker refuses calls before a trial.
    pub open_for: Duration,
}

impl From<&crate::config::ToolConfig> for BreakerConfig {
    fn from(c: &crate::config::ToolConfig) -> Self {
        BreakerConfig {
            failure_threshold: c.failure_threshold.max(1),
            open_for: c.open_for,
        }
    }
}

impl Default for BreakerConfig {
    fn default() -> Self {
        BreakerConfig {
            failure_threshold: 5,
            open_for: Duration::from_secs(30),
        }
    }
}

struct Entry {
    record: BreakerRecord,
    trial_in_flight: bool,
}

pub struct Breakers {
    configs: HashMap<String, BreakerConfig>,
    default: BreakerConfig,
    entries: Mutex<HashMap<String, Entry>>,
}

/// Wait before asking again while a half-open trial is in flight.
const TRIAL_WAIT: Duration = Duration::from_millis(500);

impl Breakers {
    pub fn new(configs: HashMap<String, BreakerConfig>, stored: Vec<BreakerRecord>) -> Breakers {
        let entries = stored
            .into_iter()
            .map(|record| {
                (
                    record.tool.clone(),
                    Entry {
                        record,
                        trial_in_flight: false,
                    },
                )
            })
            .collect();
        Breakers {
            configs,
            default: BreakerConfig::default(),
            entries: Mutex::new(entries),
        }
    }

    fn config(&self, tool: &str) -> BreakerConfig {
        self.configs.get(tool).copied().unwrap_or(self.default)
    }

    fn with<R>(&self, tool: &str, now: Timestamp, f: impl FnOnce(&mut Entry) -> R) -> R {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let entry = entries.entry(tool.to_string()).or_insert_with(|| Entry {
            record: BreakerRecord {
                tool: tool.to_string(),
                state: BreakerState::Closed,
                failures: 0,
                last_error: None,
                changed_at: now,
                opened: 0,
            },
            trial_in_flight: false,
        });
        f(entry)
    }

    /// May `tool` be called now? `Err(wait)`: not before `wait` from now.
    /// `Ok(Some(record))` when the call is the half-open trial.
    pub fn check(&self, tool: &str, now: Timestamp) -> Result<Option<BreakerRecord>, Duration> {
        let cfg = self.config(tool);
        self.with(tool, now, |e| match e.record.state {
            BreakerState::Closed => Ok(None),
            BreakerState::Open => {
                let open_ms = cfg.open_for.as_millis() as i64;
                let elapsed = now.since(e.record.changed_at);
                if elapsed < open_ms {
                    return Err(Duration::from_millis((open_ms - elapsed) as u64));
                }
                e.record.state = BreakerState::HalfOpen;
                e.record.changed_at = now;
                e.trial_in_flight = true;
                Ok(Some(e.record.clone()))
            }
            BreakerState::HalfOpen if e.trial_in_flight => Err(TRIAL_WAIT),
            BreakerState::HalfOpen => {
                e.trial_in_flight = true;
                Ok(None)
            }
        })
    }

    /// The call succeeded; a change of state is returned for persisting.
    pub fn success(&self, tool: &str, now: Timestamp) -> Option<BreakerRecord> {
        self.with(tool, now, |e| {
            e.trial_in_flight = false;
            let changed = e.record.state != BreakerState::Closed;
            e.record.failures = 0;
            if changed {
                e.record.state = BreakerState::Closed;
                e.record.changed_at = now;
            }
            changed.then(|| e.record.clone())
        })
    }

    /// The call failed transiently; a change of state is returned.
    pub fn failure(&self, tool: &str, error: &str, now: Timestamp) -> Option<BreakerRecord> {
        let cfg = self.config(tool);
        self.with(tool, now, |e| {
            e.trial_in_flight = false;
            e.record.failures += 1;
            e.record.last_error = Some(error.to_string());
            let open = match e.record.state {
                BreakerState::HalfOpen => true,
                BreakerState::Closed => e.record.failures >= cfg.failure_threshold,
                BreakerState::Open => false,
            };
            if open {
                e.record.state = BreakerState::Open;
                e.record.changed_at = now;
                e.record.opened += 1;
                tracing::warn!(
                    tool,
                    failures = e.record.failures,
                    error,
                    "circuit breaker opened"
                );
            }
            open.then(|| e.record.clone())
        })
    }

    /// Every tool seen so far, by name.
    pub fn snapshot(&self) -> Vec<BreakerRecord> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let mut out: Vec<BreakerRecord> = entries.values().map(|e| e.record.clone()).collect();
        out.sort_by(|a, b| a.tool.cmp(&b.tool));
        out
    }

    /// Makes a tool known (closed) so it is listed before its first call.
    pub fn register(&self, tool: &str, now: Timestamp) {
        self.with(tool, now, |_| ());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breakers() -> Breakers {
        let mut cfg = HashMap::new();
        cfg.insert(
            "wa".to_string(),
            BreakerConfig {
                failure_threshold: 3,
                open_for: Duration::from_secs(10),
            },
        );
        Breakers::new(cfg, Vec::new())
    }

    #[test]
    fn opens_after_the_threshold_then_one_trial_decides() {
        let b = breakers();
        let t = |s: i64| Timestamp(s * 1000);
        assert!(b.check("wa", t(0)).is_ok());
        assert!(b.failure("wa", "503", t(0)).is_none());
        assert!(b.failure("wa", "503", t(1)).is_none());
        let opened = b.failure("wa", "503", t(2)).expect("third failure opens");
        assert_eq!(opened.state, BreakerState::Open);
        assert_eq!(b.check("wa", t(5)), Err(Duration::from_secs(7)));
        // After the window: one trial goes, the others wait.
        let trial = b.check("wa", t(12)).unwrap().expect("half-open trial");
        assert_eq!(trial.state, BreakerState::HalfOpen);
        assert_eq!(b.check("wa", t(12)), Err(TRIAL_WAIT));
        // A failed trial opens again; a good one closes.
        assert_eq!(
            b.failure("wa", "503", t(12)).unwrap().state,
            BreakerState::Open
        );
        b.check("wa", t(23)).unwrap();
        assert_eq!(b.success("wa", t(23)).unwrap().state, BreakerState::Closed);
        assert_eq!(b.check("wa", t(23)), Ok(None));
        assert_eq!(b.snapshot()[0].opened, 2);
    }

    #[test]
    fn a_success_resets_the_count_and_a_stored_open_breaker_stays_open() {
        let b = breakers();
        b.failure("wa", "503", Timestamp(0));
        b.failure("wa", "503", Timestamp(0));
        b.success("wa", Timestamp(0));
        assert!(
            b.failure("wa", "503", Timestamp(0)).is_none(),
            "count was reset"
        );
        let stored = BreakerRecord {
            tool: "wa".into(),
            state: BreakerState::Open,
            failures: 3,
            last_error: Some("503".into()),
            changed_at: Timestamp(0),
            opened: 1,
        };
        let b = Breakers::new(
            HashMap::from([(
                "wa".to_string(),
                BreakerConfig {
                    failure_threshold: 3,
                    open_for: Duration::from_secs(10),
                },
            )]),
            vec![stored],
        );
        assert_eq!(b.check("wa", Timestamp(4000)), Err(Duration::from_secs(6)));
    }
}
