//! When is a case stuck, and why. Pure: the caller passes the clock.
//!
//! A case is stuck when it is quarantined; when its workflow version is not
//! known; when it cannot go on by itself (a send or tool failed past its
//! retries); when it is not waiting on the customer, a human or a timer and
//! has not moved for longer than `stuck_after`; when a timer is overdue by
//! that much; or when a human wait is past its SLA.

use crate::core::case::CaseRecord;
use crate::core::types::{Timestamp, WaitingOn};
use crate::workflow::Workflow;

pub fn stuck_reason(
    case: &CaseRecord,
    workflow: Option<&Workflow>,
    now: Timestamp,
    stuck_after_ms: i64,
) -> Option<String> {
    if case.is_closed() {
        return None;
    }
    if let Some(q) = &case.quarantined {
        return Some(format!("quarantined: {q}"));
    }
    let Some(wf) = workflow else {
        return Some(format!(
            "workflow {} is not known to this binary",
            case.workflow
        ));
    };
    if let Some(s) = &case.stuck {
        return Some(s.clone());
    }
    match &case.waiting_on {
        WaitingOn::None | WaitingOn::Tool(_) => {
            let idle = now.since(case.updated_at);
            (idle > stuck_after_ms).then(|| {
                format!(
                    "no progress in {} ({}) for {}",
                    case.state,
                    case.waiting_on.label(),
                    human(idle)
                )
            })
        }
        WaitingOn::Operator => past_sla(case, now, wf.operator_sla_ms, "operator"),
        WaitingOn::Coach => past_sla(case, now, wf.coach_sla_ms, "coach"),
        WaitingOn::Customer | WaitingOn::Timer => {
            let due = case.next_deadline()?;
            let late = now.since(due);
            (late > stuck_after_ms).then(|| format!("timer overdue by {}", human(late)))
        }
    }
}

fn past_sla(case: &CaseRecord, now: Timestamp, sla_ms: i64, who: &str) -> Option<String> {
    let waited = now.since(case.wait_since);
    (waited > sla_ms).then(|| {
        format!(
            "{who} decision pending for {}, past its SLA of {}",
            human(waited),
            human(sla_ms)
        )
    })
}

fn human(ms: i64) -> String {
    let secs = (ms / 1000).max(0) as u64;
    humantime::format_duration(std::time::Duration::from_secs(secs)).to_string()
}
