//! The weekly dashboard and QA loop (CONTRACT section 6): every figure per
//! ISO week and for the period, computed from what the store holds (case
//! records, transitions, messages, effect records, decisions, payments,
//! degraded-mode history, audit labels), never from in-memory counters, so
//! a report covers history and survives restarts.
//!
//! # Layout
//! - [`period`]: dates and ISO weeks in the business timezone.
//! - [`turns`]: what one case's history says, turn by turn (pure).
//! - [`figures`]: what is counted and what is shown for a span.
//! - [`gaps`]: knowledge gaps, grouped by content words.
//! - [`audit`]: post-send audit samples and labels (pure).
//! - [`html`]: the self-contained HTML page with SVG charts.
//!
//! It reads the store and never writes to it, and knows no case rules
//! beyond reading what the stages recorded.

pub mod audit;
pub mod figures;
pub mod gaps;
pub mod html;
pub mod period;
pub mod turns;

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::core::case::Lane;
use crate::core::records::PaymentState;
use crate::core::types::{CaseId, Tier, Timestamp};
use crate::report::audit::{Candidate, QaItem, Verdict};
use crate::report::figures::{Figures, Tally, tier_key};
use crate::report::gaps::GapGroup;
use crate::report::period::Period;
use crate::report::turns::{CaseFacts, case_facts};
use crate::store::degraded::DegradedRecord;
use crate::store::{Store, StoreError};
use crate::workflow::{Workflow, WorkflowRef};

/// A customer writing again this soon after a resolved turn is a reopen.
pub const REOPEN_WINDOW_MS: i64 = 7 * 24 * 3600 * 1000;

/// The dashboard, as `caseflow report --json` writes it and
/// `GET /admin/report` answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// First and last day, `YYYY-MM-DD` in `timezone`.
    pub from: String,
    pub to: String,
    pub timezone: String,
    pub generated_at: String,
    /// Cases read from the store (all of them: a case opened before the
    /// period can have turns in it).
    pub cases_read: u64,
    pub period: Figures,
    pub weeks: Vec<WeekFigures>,
    /// Knowledge gaps in the period, biggest first.
    pub kb_gaps: Vec<GapGroup>,
    /// Sampled replies a reviewer labelled `risky`, sent in the period.
    pub risky_replies: Vec<RiskyReply>,
    /// The tools' circuit breakers now.
    pub breakers: Vec<BreakerNow>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeekFigures {
    /// ISO week, `2026-W48`.
    pub week: String,
    pub from: String,
    pub to: String,
    #[serde(flatten)]
    pub figures: Figures,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RiskyReply {
    pub case_id: String,
    pub sample: String,
    pub item: u32,
    pub tier: Option<String>,
    pub template: Option<String>,
    pub sent_at: String,
    pub reviewer: String,
    pub note: Option<String>,
    pub labelled_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BreakerNow {
    pub tool: String,
    pub state: String,
    pub opened: u64,
    pub since: String,
}

/// The period's tally and one per week.
struct Buckets {
    period: Period,
    start: Timestamp,
    end: Timestamp,
    all: Tally,
    weeks: Vec<Tally>,
}

impl Buckets {
    fn new(period: Period) -> Buckets {
        Buckets {
            period,
            start: period.start(),
            end: period.end(),
            all: Tally::default(),
            weeks: vec![Tally::default(); period.weeks().len()],
        }
    }

    /// Counts into the period and the week of `at`, if `at` is inside.
    fn at(&mut self, at: Timestamp, mut count: impl FnMut(&mut Tally)) {
        if at < self.start || at >= self.end {
            return;
        }
        count(&mut self.all);
        if let Some(w) = self.period.week_of(at).and_then(|i| self.weeks.get_mut(i)) {
            count(w);
        }
    }
}

/// The SLAs a case's workflow declares (first response, operator, coach),
/// in milliseconds; the shipped defaults for an unknown workflow.
#[derive(Debug, Clone, Copy)]
struct Slas {
    first_response: i64,
    operator: i64,
    coach: i64,
}

impl Slas {
    fn of(wf: &Workflow) -> Slas {
        Slas {
            first_response: wf
                .timers()
                .iter()
                .find(|t| t.until_outbound)
                .map_or(3 * 60_000, |t| t.after_ms),
            operator: wf.operator_sla_ms,
            coach: wf.coach_sla_ms,
        }
    }

    fn default_slas() -> Slas {
        Slas {
            first_response: 3 * 60_000,
            operator: 30 * 60_000,
            coach: 8 * 3_600_000,
        }
    }
}

fn workflow_slas(
    store: &Store,
    cache: &mut HashMap<WorkflowRef, Slas>,
    r: &WorkflowRef,
) -> Result<Slas, StoreError> {
    if let Some(s) = cache.get(r) {
        return Ok(*s);
    }
    let slas = store
        .workflow_source(&r.name, r.version)?
        .and_then(|src| Workflow::parse(&src).ok())
        .map_or_else(Slas::default_slas, |wf| Slas::of(&wf));
    cache.insert(r.clone(), slas);
    Ok(slas)
}

/// Computes the report for `period` from the store; `now` closes waits and
/// turns still open.
pub fn compute(store: &Store, period: Period, now: Timestamp) -> Result<Report, StoreError> {
    let mut b = Buckets::new(period);
    let mut slas_cache = HashMap::new();
    let mut customer_turns: HashMap<String, Vec<Timestamp>> = HashMap::new();
    let mut resolved: Vec<(String, Timestamp)> = Vec::new();
    let mut follow_ups: Vec<(String, Timestamp)> = Vec::new();
    let mut gap_texts: Vec<String> = Vec::new();
    let mut cases_read = 0u64;
    let mut failed: Option<StoreError> = None;
    store.scan_histories(|h| {
        cases_read += 1;
        let slas = match workflow_slas(store, &mut slas_cache, &h.case.workflow) {
            Ok(s) => s,
            Err(e) => {
                failed = Some(e);
                return false;
            }
        };
        let facts = case_facts(&h);
        tally_case(&mut b, &facts, slas, now);
        for t in &facts.turns {
            customer_turns
                .entry(facts.customer.clone())
                .or_default()
                .push(t.started_at);
            if let Some(at) = t.resolved_at
                && period.contains(at)
            {
                resolved.push((facts.customer.clone(), at));
            }
            if t.tier.is_none() && !t.answered_by_article && period.contains(t.started_at) {
                gap_texts.push(t.text.clone());
            }
        }
        if let Some(student) = &facts.student {
            for at in &facts.payment_follow_ups {
                follow_ups.push((student.clone(), *at));
            }
        }
        true
    })?;
    if let Some(e) = failed {
        return Err(e);
    }
    tally_reopens(&mut b, customer_turns, resolved);
    tally_payments(store, &mut b, follow_ups)?;
    tally_degraded(&mut b, &store.degraded()?.unwrap_or_default(), now);
    let risky_replies = tally_labels(store, &mut b)?;
    let weeks = period
        .weeks()
        .into_iter()
        .zip(b.weeks)
        .map(|(w, t)| WeekFigures {
            week: w.label,
            from: w.from.to_string(),
            to: w.to.to_string(),
            figures: t.finish(),
        })
        .collect();
    let breakers = store
        .breakers()?
        .into_iter()
        .map(|r| BreakerNow {
            tool: r.tool,
            state: r.state.as_str().to_string(),
            opened: r.opened,
            since: r.changed_at.to_rfc3339(),
        })
        .collect();
    Ok(Report {
        from: period.from.to_string(),
        to: period.to.to_string(),
        timezone: period.tz.name().to_string(),
        generated_at: now.to_rfc3339(),
        cases_read,
        period: b.all.finish(),
        weeks,
        kb_gaps: gaps::group(&gap_texts),
        risky_replies,
        breakers,
    })
}

fn tally_case(b: &mut Buckets, f: &CaseFacts, slas: Slas, now: Timestamp) {
    b.at(f.opened_at, |t| {
        t.cases_opened += 1;
        if f.qa_blocked {
            t.qa_blocks += 1;
        }
    });
    for turn in &f.turns {
        let key = tier_key(turn.tier);
        let first = turn.first_response_at.map(|at| at.since(turn.started_at));
        let resolution = turn.resolved_at.map(|at| at.since(turn.started_at));
        b.at(turn.started_at, |t| {
            t.turns += 1;
            let e = t.tiers.entry(key).or_default();
            e.0 += 1;
            e.1 += u64::from(turn.to_operator || turn.to_coach);
            e.2 += u64::from(turn.to_coach);
            if let Some(ms) = first {
                t.first_response_ms.push(ms);
            }
            if let Some(ms) = resolution {
                match turn.tier {
                    Some(Tier::R0 | Tier::R1) => t.resolution_r0_r1_ms.push(ms),
                    Some(Tier::R2 | Tier::R3) => t.resolution_r2_r3_ms.push(ms),
                    None => t.resolution_unclassified_ms.push(ms),
                }
            }
        });
        let waited = first.unwrap_or_else(|| now.since(turn.started_at));
        if waited > slas.first_response {
            b.at(turn.started_at.plus_millis(slas.first_response), |t| {
                *t.sla_breaches.entry("first_response".into()).or_default() += 1;
            });
        }
    }
    for w in &f.waits {
        let (sla, lane) = match w.lane {
            Lane::Operator => (slas.operator, "operator"),
            Lane::Coach => (slas.coach, "coach"),
        };
        if w.decided_at.unwrap_or(now).since(w.since) > sla {
            b.at(w.since.plus_millis(sla), |t| {
                *t.sla_breaches.entry(lane.into()).or_default() += 1;
            });
        }
    }
    for (timer, at) in &f.timer_breaches {
        b.at(*at, |t| {
            *t.sla_breaches.entry(timer.clone()).or_default() += 1
        });
    }
    for a in f.actions.iter().filter(|a| !a.verified) {
        b.at(a.at, |t| t.unverified_actions += 1);
    }
    for r in &f.reschedules {
        b.at(r.at, |t| {
            t.reschedule_requested += 1;
            t.reschedule_booked += u64::from(r.booked_at.is_some());
        });
    }
}

/// A resolved turn is reopened when the same customer starts another turn
/// (in the same case or a new one) within [`REOPEN_WINDOW_MS`].
fn tally_reopens(
    b: &mut Buckets,
    mut turns: HashMap<String, Vec<Timestamp>>,
    resolved: Vec<(String, Timestamp)>,
) {
    for starts in turns.values_mut() {
        starts.sort_unstable();
    }
    for (customer, at) in resolved {
        let reopened = turns.get(&customer).is_some_and(|starts| {
            let i = starts.partition_point(|s| *s <= at);
            starts
                .get(i)
                .is_some_and(|next| next.since(at) <= REOPEN_WINDOW_MS)
        });
        b.at(at, |t| {
            t.resolved += 1;
            t.reopened_7d += u64::from(reopened);
        });
    }
}

/// A follow-up counts as confirmed when an order of the case's student
/// became CONFIRMED after it (by the provider's notifications).
fn tally_payments(
    store: &Store,
    b: &mut Buckets,
    follow_ups: Vec<(String, Timestamp)>,
) -> Result<(), StoreError> {
    let mut confirmed: HashMap<String, Vec<Timestamp>> = HashMap::new();
    for (student, at) in follow_ups {
        if !confirmed.contains_key(&student) {
            let mut times = Vec::new();
            if let Some(s) = store.student(&student)? {
                for inv in &s.invoices {
                    if let Some(p) = store.payment(&inv.order_id)? {
                        times.extend(
                            p.history
                                .iter()
                                .filter(|e| {
                                    e.applied
                                        && crate::policy::payments::state_of(
                                            &e.transaction_status,
                                            e.fraud_status.as_deref(),
                                        ) == Some(PaymentState::Confirmed)
                                })
                                .map(|e| e.at),
                        );
                    }
                }
            }
            confirmed.insert(student.clone(), times);
        }
        let after = confirmed[&student].iter().any(|c| *c > at);
        b.at(at, |t| {
            t.payment_follow_ups += 1;
            t.payment_confirmed_after += u64::from(after);
        });
    }
    Ok(())
}

/// Degraded-mode intervals from the switch history, cut to each week.
fn tally_degraded(b: &mut Buckets, record: &DegradedRecord, now: Timestamp) {
    let mut intervals: Vec<(String, Timestamp, Timestamp)> = Vec::new();
    let mut current: Option<(String, Timestamp, Option<Timestamp>)> = None;
    for s in &record.history {
        if let Some((tool, from, until)) = current.take() {
            let end = until.map_or(s.at, |u| u.min(s.at));
            intervals.push((tool, from, end));
        }
        if s.on {
            current = Some((s.tool.clone(), s.at, s.until));
        }
    }
    if let Some((tool, from, until)) = current {
        intervals.push((tool, from, until.map_or(now, |u| u.min(now))));
    }
    let weeks = b.period.weeks();
    for (tool, from, to) in intervals {
        let overlap = |s: Timestamp, e: Timestamp| (to.min(e)).since(from.max(s)).max(0);
        let all = overlap(b.start, b.end);
        if all > 0 {
            *b.all.degraded_ms.entry(tool.clone()).or_default() += all;
        }
        for (w, tally) in weeks.iter().zip(b.weeks.iter_mut()) {
            let ms = overlap(w.start, w.end);
            if ms > 0 {
                *tally.degraded_ms.entry(tool.clone()).or_default() += ms;
            }
        }
    }
}

/// Labels count in the week their reply was sent; risky ones are listed.
fn tally_labels(store: &Store, b: &mut Buckets) -> Result<Vec<RiskyReply>, StoreError> {
    let mut risky = Vec::new();
    let mut labels = store.qa_labels()?;
    labels.sort_by_key(|l| (l.reply.sent_at, l.reply.case, l.reply.seq));
    for l in labels {
        let sent = l.reply.sent_at;
        b.at(sent, |t| t.label(&l));
        if l.verdict == Verdict::Risky && b.period.contains(sent) {
            risky.push(RiskyReply {
                case_id: l.reply.case.to_string(),
                sample: l.sample.to_string(),
                item: l.item,
                tier: l.reply.tier.map(|t| t.as_str().to_string()),
                template: l.reply.template.clone(),
                sent_at: sent.to_rfc3339(),
                reviewer: l.reviewer.clone(),
                note: l.note.clone(),
                labelled_at: l.at.to_rfc3339(),
            });
        }
    }
    Ok(risky)
}

/// Every reply sent in `[start, end)` that answered a turn: what a QA
/// sample is drawn from.
pub fn reply_candidates(
    store: &Store,
    start: Timestamp,
    end: Timestamp,
) -> Result<Vec<Candidate>, StoreError> {
    let mut out = Vec::new();
    store.scan_histories(|h| {
        if h.case.opened_at >= end {
            return true;
        }
        for r in case_facts(&h).replies {
            if r.sent_at >= start && r.sent_at < end {
                out.push(Candidate {
                    item: QaItem {
                        case: h.case.id,
                        seq: r.seq,
                        tier: r.tier,
                        template: r.template,
                        sent_at: r.sent_at,
                    },
                });
            }
        }
        true
    })?;
    Ok(out)
}

/// The text of a stored reply, for the reviewer.
pub fn reply_text(store: &Store, case: CaseId, seq: u64) -> Result<Option<String>, StoreError> {
    Ok(store.history(case)?.into_iter().find_map(|(s, e)| match e {
        crate::core::case::LogEntry::Outbound(o) if s == seq => Some(o.text),
        _ => None,
    }))
}
