//! The load test's results: the table printed at the end and `--json`.

use std::collections::BTreeMap;

use serde::Serialize;

/// Latency samples by tier.
#[derive(Default)]
pub struct Latencies {
    by_tier: BTreeMap<String, hdrhistogram::Histogram<u64>>,
}

impl Latencies {
    pub fn record(&mut self, tier: &str, ms: u64) {
        let h = self
            .by_tier
            .entry(tier.to_string())
            .or_insert_with(|| hdrhistogram::Histogram::new(3).expect("3 significant figures"));
        let _ = h.record(ms.max(1));
    }

    pub fn summary(&self) -> BTreeMap<String, Percentiles> {
        self.by_tier
            .iter()
            .map(|(tier, h)| {
                (
                    tier.clone(),
                    Percentiles {
                        count: h.len(),
                        p50: h.value_at_quantile(0.50),
                        p90: h.value_at_quantile(0.90),
                        p99: h.value_at_quantile(0.99),
                        max: h.max(),
                    },
                )
            })
            .collect()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Percentiles {
    pub count: u64,
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub max: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub messages_sent: u64,
    pub duplicate_deliveries_sent: u64,
    pub accepted: u64,
    pub answered_duplicate: u64,
    pub errors: u64,
    /// Accepted (202) messages not found in their case.
    pub lost: u64,
    /// Messages found more than once.
    pub duplicated: u64,
    pub cases: u64,
    pub send_window_s: f64,
    pub throughput_per_s: f64,
    /// The busiest second's accepted messages.
    pub peak_accepted_per_s: u64,
    pub first_response_ms: BTreeMap<String, Percentiles>,
    pub resolution_ms: BTreeMap<String, Percentiles>,
    pub sla_breaches: u64,
    pub stuck_at_end: u64,
    pub human_decisions: u64,
    pub server_peak_rss_bytes: Option<u64>,
    /// Tool attempts that failed and were retried (injected faults included).
    pub retries: u64,
}

impl Report {
    /// Whether the run lost or duplicated anything.
    pub fn failed(&self) -> bool {
        self.lost > 0 || self.duplicated > 0
    }

    pub fn table(&self) -> String {
        let mut out = String::new();
        let row = |out: &mut String, k: &str, v: String| out.push_str(&format!("{k:<34} {v}\n"));
        row(&mut out, "messages sent", self.messages_sent.to_string());
        row(
            &mut out,
            "  of which duplicate deliveries",
            self.duplicate_deliveries_sent.to_string(),
        );
        row(&mut out, "accepted (202)", self.accepted.to_string());
        row(
            &mut out,
            "answered as duplicate (200)",
            self.answered_duplicate.to_string(),
        );
        row(&mut out, "errors", self.errors.to_string());
        row(&mut out, "LOST", self.lost.to_string());
        row(&mut out, "DUPLICATED", self.duplicated.to_string());
        row(&mut out, "cases", self.cases.to_string());
        row(
            &mut out,
            "throughput",
            format!(
                "{:.1} accepted/s over {:.1} s",
                self.throughput_per_s, self.send_window_s
            ),
        );
        row(
            &mut out,
            "busiest second",
            format!("{} accepted", self.peak_accepted_per_s),
        );
        row(
            &mut out,
            "SLA breaches (cases)",
            self.sla_breaches.to_string(),
        );
        row(&mut out, "stuck at end", self.stuck_at_end.to_string());
        row(
            &mut out,
            "operator/coach decisions",
            self.human_decisions.to_string(),
        );
        row(&mut out, "tool retries", self.retries.to_string());
        row(
            &mut out,
            "server peak RSS",
            self.server_peak_rss_bytes.map_or("unknown".into(), |b| {
                format!("{:.1} MiB", b as f64 / 1048576.0)
            }),
        );
        for (title, table) in [
            ("first response (ms)", &self.first_response_ms),
            ("resolution (ms)", &self.resolution_ms),
        ] {
            out.push_str(&format!(
                "\n{title:<22} {:>7} {:>8} {:>8} {:>8} {:>8}\n",
                "count", "p50", "p90", "p99", "max"
            ));
            for (tier, p) in table {
                out.push_str(&format!(
                    "  {tier:<20} {:>7} {:>8} {:>8} {:>8} {:>8}\n",
                    p.count, p.p50, p.p90, p.p99, p.max
                ));
            }
        }
        out
    }
}
