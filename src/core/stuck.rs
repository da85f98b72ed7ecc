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
        // Paused on purpose until the tool is back; its follow-up timer
        // hands it to a human if that takes too long.
        WaitingOn::Tool(_) if case.state == crate::core::types::State::Degraded => {
            let due = case.next_deadline()?;
            let late = now.since(due);
            (late > stuck_after_ms).then(|| format!("timer overdue by {}", human(late)))
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::case::ArmedTimer;
    use crate::core::types::{CaseId, Channel, CustomerKey, Mode, State};

    const WF: &str = include_str!("../../workflows/support.toml");
    const AFTER: i64 = 120_000;

    fn case(waiting_on: WaitingOn) -> CaseRecord {
        let wf = Workflow::parse(WF).unwrap();
        let mut c = CaseRecord::open(
            CaseId(uuid::Uuid::nil()),
            CustomerKey {
                channel: Channel::Whatsapp,
                address: "+6281234567890".into(),
            },
            wf.reference(),
            State::Qa,
            Mode::Pilot,
            Timestamp(0),
        );
        c.waiting_on = waiting_on;
        c
    }

    #[test]
    fn stuck_rules_table() {
        let wf = Workflow::parse(WF).unwrap();
        let min = 60_000;
        // (name, case, workflow, now, expected reason prefix)
        type Row<'a> = (
            &'a str,
            CaseRecord,
            Option<&'a Workflow>,
            i64,
            Option<&'a str>,
        );
        let cases: Vec<Row> = vec![
            (
                "running, recent",
                case(WaitingOn::None),
                Some(&wf),
                AFTER,
                None,
            ),
            (
                "running, past the bound",
                case(WaitingOn::None),
                Some(&wf),
                AFTER + 1,
                Some("no progress in qa (none)"),
            ),
            (
                "tool wait past the bound",
                case(WaitingOn::Tool("whatsapp".into())),
                Some(&wf),
                AFTER + 1,
                Some("no progress in qa (tool:whatsapp)"),
            ),
            (
                "customer wait is never stuck by age",
                case(WaitingOn::Customer),
                Some(&wf),
                100 * 24 * 60 * min,
                None,
            ),
            (
                "operator within SLA",
                case(WaitingOn::Operator),
                Some(&wf),
                30 * min,
                None,
            ),
            (
                "operator past SLA",
                case(WaitingOn::Operator),
                Some(&wf),
                30 * min + 1000,
                Some("operator decision pending for 30m 1s, past its SLA of 30m"),
            ),
            (
                "coach past SLA",
                case(WaitingOn::Coach),
                Some(&wf),
                8 * 60 * min + 1000,
                Some("coach decision pending"),
            ),
            (
                "unknown workflow version",
                case(WaitingOn::Operator),
                None,
                0,
                Some("workflow support v4 is not known to this binary"),
            ),
        ];
        for (name, c, w, now, want) in cases {
            let got = stuck_reason(&c, w, Timestamp(now), AFTER);
            match want {
                None => assert_eq!(got, None, "{name}"),
                Some(prefix) => assert!(
                    got.as_deref().is_some_and(|g| g.starts_with(prefix)),
                    "{name}: {got:?}"
                ),
            }
        }
    }

    #[test]
    fn quarantine_and_failed_tools_are_stuck_and_closed_cases_never_are() {
        let wf = Workflow::parse(WF).unwrap();
        let mut q = case(WaitingOn::Operator);
        q.quarantined = Some("actor failed 4 times".into());
        assert_eq!(
            stuck_reason(&q, Some(&wf), Timestamp(0), AFTER).unwrap(),
            "quarantined: actor failed 4 times"
        );
        let mut s = case(WaitingOn::Tool("whatsapp".into()));
        s.stuck = Some("send failed".into());
        assert_eq!(
            stuck_reason(&s, Some(&wf), Timestamp(0), AFTER).unwrap(),
            "send failed"
        );
        let mut closed = case(WaitingOn::None);
        closed.state = State::Closed;
        assert_eq!(
            stuck_reason(&closed, None, Timestamp(i64::MAX / 2), AFTER),
            None
        );
    }

    #[test]
    fn an_overdue_timer_is_stuck() {
        let wf = Workflow::parse(WF).unwrap();
        let mut c = case(WaitingOn::Customer);
        c.timers.push(ArmedTimer {
            name: "idle_close".into(),
            due: Timestamp(1000),
        });
        assert_eq!(
            stuck_reason(&c, Some(&wf), Timestamp(1000 + AFTER), AFTER),
            None
        );
        assert!(
            stuck_reason(&c, Some(&wf), Timestamp(1001 + AFTER), AFTER)
                .unwrap()
                .starts_with("timer overdue")
        );
    }
}
