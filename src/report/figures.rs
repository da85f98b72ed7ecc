//! The figures of the weekly dashboard (CONTRACT section 6) for one span
//! of time (a week or the whole period): what is counted while the store is
//! read ([`Tally`]) and what is shown ([`Figures`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::core::types::Tier;
use crate::report::audit::{DIMENSIONS, QaLabel, Verdict};

/// The tier buckets shown: R0..R3, and turns no rule classified.
pub const TIER_KEYS: [&str; 5] = ["R0", "R1", "R2", "R3", "unclassified"];

pub fn tier_key(t: Option<Tier>) -> &'static str {
    t.map_or("unclassified", Tier::as_str)
}

/// The SLA lanes: the first response (frontline), the operator, the coach.
pub const SLA_LANES: [&str; 3] = ["first_response", "operator", "coach"];

/// Counts and durations gathered for one span.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    pub cases_opened: u64,
    pub turns: u64,
    pub first_response_ms: Vec<i64>,
    pub resolution_r0_r1_ms: Vec<i64>,
    pub resolution_r2_r3_ms: Vec<i64>,
    pub resolution_unclassified_ms: Vec<i64>,
    /// Per tier key: turns, handed to a human, reached the coach.
    pub tiers: BTreeMap<&'static str, (u64, u64, u64)>,
    pub resolved: u64,
    pub reopened_7d: u64,
    pub qa_blocks: u64,
    pub unverified_actions: u64,
    pub reschedule_requested: u64,
    pub reschedule_booked: u64,
    pub payment_follow_ups: u64,
    pub payment_confirmed_after: u64,
    /// By lane; other declared SLA timers (a privacy deadline) by name.
    pub sla_breaches: BTreeMap<String, u64>,
    pub degraded_ms: BTreeMap<String, i64>,
    pub labels: Vec<(Verdict, [u8; 6])>,
}

impl Tally {
    pub fn label(&mut self, l: &QaLabel) {
        self.labels.push((l.verdict, l.scores.0));
    }

    pub fn finish(mut self) -> Figures {
        let tiers = TIER_KEYS
            .iter()
            .map(|k| {
                let (turns, human, coach) = self.tiers.get(k).copied().unwrap_or_default();
                (
                    k.to_string(),
                    TierFigures {
                        turns,
                        to_human: human,
                        escalated: coach,
                        escalation_rate: ratio(coach, turns),
                    },
                )
            })
            .collect();
        let mut sla_breaches: BTreeMap<String, u64> =
            SLA_LANES.iter().map(|l| (l.to_string(), 0)).collect();
        for (k, n) in &self.sla_breaches {
            *sla_breaches.entry(k.clone()).or_default() += n;
        }
        let degraded_minutes = self
            .degraded_ms
            .iter()
            .map(|(tool, ms)| (tool.clone(), round1(*ms as f64 / 60_000.0)))
            .collect();
        Figures {
            cases_opened: self.cases_opened,
            turns: self.turns,
            first_response: Latency::of(&mut self.first_response_ms),
            resolution: Resolution {
                r0_r1: Latency::of(&mut self.resolution_r0_r1_ms),
                r2_r3: Latency::of(&mut self.resolution_r2_r3_ms),
                unclassified: Latency::of(&mut self.resolution_unclassified_ms),
            },
            tiers,
            reopen: Reopen {
                resolved: self.resolved,
                reopened_within_7d: self.reopened_7d,
                rate: ratio(self.reopened_7d, self.resolved),
            },
            qa_blocks: self.qa_blocks,
            unverified_account_actions: self.unverified_actions,
            reschedule: Reschedule {
                requested: self.reschedule_requested,
                booked: self.reschedule_booked,
                success_rate: ratio(self.reschedule_booked, self.reschedule_requested),
            },
            payments: Payments {
                followed_up: self.payment_follow_ups,
                confirmed_after_follow_up: self.payment_confirmed_after,
                rate: ratio(self.payment_confirmed_after, self.payment_follow_ups),
            },
            sla_breaches,
            degraded_minutes,
            qa_labels: LabelFigures::of(&self.labels),
        }
    }
}

/// `part / whole`, or null when nothing was counted.
fn ratio(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| round3(part as f64 / whole as f64))
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// The dashboard's figures for one span.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    pub cases_opened: u64,
    /// Customer turns started (a case has one per time the customer wrote
    /// after an answer).
    pub turns: u64,
    /// From a turn's first message to the first message sent back.
    pub first_response: Latency,
    /// From a turn's first message to the turn's close.
    pub resolution: Resolution,
    /// Turns by their final tier; `escalated`: reached the coach lane.
    pub tiers: BTreeMap<String, TierFigures>,
    pub reopen: Reopen,
    /// Cases whose reply the QA gate held back (policy mismatch).
    pub qa_blocks: u64,
    /// Write tool calls and account replies before identity was verified:
    /// should be 0.
    pub unverified_account_actions: u64,
    pub reschedule: Reschedule,
    pub payments: Payments,
    /// By lane: first response past its timer, operator and coach decisions
    /// past the lane's SLA (decided late, or still waiting past it).
    pub sla_breaches: BTreeMap<String, u64>,
    /// Minutes in degraded mode, by the unavailable tool (or "manual").
    pub degraded_minutes: BTreeMap<String, f64>,
    pub qa_labels: LabelFigures,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    pub count: u64,
    pub p50_seconds: Option<f64>,
    pub p90_seconds: Option<f64>,
}

impl Latency {
    fn of(ms: &mut [i64]) -> Latency {
        ms.sort_unstable();
        Latency {
            count: ms.len() as u64,
            p50_seconds: percentile(ms, 0.5),
            p90_seconds: percentile(ms, 0.9),
        }
    }
}

/// Nearest-rank percentile of sorted milliseconds, in seconds.
pub fn percentile(sorted_ms: &[i64], q: f64) -> Option<f64> {
    if sorted_ms.is_empty() {
        return None;
    }
    let rank = (q * sorted_ms.len() as f64).ceil().max(1.0) as usize;
    Some(round1(
        sorted_ms[rank.min(sorted_ms.len()) - 1] as f64 / 1000.0,
    ))
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resolution {
    pub r0_r1: Latency,
    pub r2_r3: Latency,
    pub unclassified: Latency,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TierFigures {
    pub turns: u64,
    /// Waited on the operator or the coach.
    pub to_human: u64,
    /// Reached the coach lane.
    pub escalated: u64,
    pub escalation_rate: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reopen {
    /// Turns that reached close in the span.
    pub resolved: u64,
    /// Of those, the customer wrote again within 7 days.
    pub reopened_within_7d: u64,
    pub rate: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reschedule {
    pub requested: u64,
    pub booked: u64,
    pub success_rate: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Payments {
    /// "Not yet confirmed" follow-ups sent for a known student.
    pub followed_up: u64,
    /// Of those, an order of the student was confirmed afterwards.
    pub confirmed_after_follow_up: u64,
    pub rate: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelFigures {
    pub labelled: u64,
    pub correct: u64,
    pub incorrect: u64,
    pub risky: u64,
    /// Mean 0–2 score per dimension; null when nothing was labelled.
    pub mean_scores: BTreeMap<String, Option<f64>>,
}

impl LabelFigures {
    fn of(labels: &[(Verdict, [u8; 6])]) -> LabelFigures {
        let count = |v| labels.iter().filter(|(x, _)| *x == v).count() as u64;
        let n = labels.len();
        let mean_scores = DIMENSIONS
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let sum: u64 = labels.iter().map(|(_, s)| s[i] as u64).sum();
                (
                    d.to_string(),
                    (n > 0).then(|| round3(sum as f64 / n as f64)),
                )
            })
            .collect();
        LabelFigures {
            labelled: n as u64,
            correct: count(Verdict::Correct),
            incorrect: count(Verdict::Incorrect),
            risky: count(Verdict::Risky),
            mean_scores,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank_in_seconds() {
        let ms: Vec<i64> = (1..=10).map(|s| s * 1000).collect();
        assert_eq!(percentile(&ms, 0.5), Some(5.0));
        assert_eq!(percentile(&ms, 0.9), Some(9.0));
        assert_eq!(percentile(&[2500], 0.9), Some(2.5));
        assert_eq!(percentile(&[], 0.5), None);
    }

    #[test]
    fn rates_are_null_without_a_denominator() {
        let f = Tally::default().finish();
        assert_eq!(f.reopen.rate, None);
        assert_eq!(f.tiers["R3"].escalation_rate, None);
        assert_eq!(f.sla_breaches["coach"], 0);
        assert_eq!(f.qa_labels.mean_scores["tone"], None);
    }
}
