//! Start-up: every open case resumes where it was. Timers are re-armed from
//! their persisted deadlines (one that fell due while down fires at once);
//! a case that was running, has unread messages, or has a send in flight is
//! woken; a case that waits on someone stays passivated. Cases on an older
//! workflow version with a declared migration move to the current version.
//!
//! A case whose record no longer decodes is quarantined: it is not run,
//! the admin API lists it as stuck (`unreadable record: ...`) and shows what
//! can still be read of it, and the rest of the desk starts. Only a failure
//! of the store itself (reading sled, a lost write) refuses start.

use ractor::ActorRef;

use super::Shared;
use super::supervisor::SupervisorMsg;
use crate::core::case::CaseRecord;
use crate::core::machine::admit::CaseEvent;
use crate::core::types::WaitingOn;
use crate::store::StoreError;

#[derive(Debug, Default, Clone, Copy)]
pub struct Report {
    pub open: usize,
    pub woken: usize,
    pub passivated: usize,
    pub quarantined: usize,
    /// Open cases whose record does not decode: quarantined, not run.
    pub unreadable: usize,
    pub unknown_workflow: usize,
    pub migrated: usize,
    pub elapsed_ms: u128,
}

pub async fn resume_open_cases(
    shared: &Shared,
    supervisor: &ActorRef<SupervisorMsg>,
) -> Result<Report, StoreError> {
    let started = std::time::Instant::now();
    let mut report = Report::default();
    let now = shared.clock.now();
    for id in shared.store.open_case_ids()? {
        let mut case = match shared.store.case(id) {
            Ok(Some(case)) => case,
            Ok(None) => continue,
            Err(StoreError::UnreadableCase { case, reason }) => {
                report.open += 1;
                report.unreadable += 1;
                tracing::error!(%case, %reason, "case record unreadable: quarantined, the rest of the desk starts");
                continue;
            }
            Err(e) => return Err(e),
        };
        report.open += 1;
        if case.quarantined.is_some() {
            report.quarantined += 1;
            continue;
        }
        if shared.workflows.get(&case.workflow).is_none() || needs_migration(shared, &case) {
            match migrate(shared, case).await? {
                Some(migrated) => {
                    report.migrated += 1;
                    case = migrated;
                }
                None => {
                    report.unknown_workflow += 1;
                    continue;
                }
            }
        }
        shared.timers.set(id, case.next_deadline());
        if case.waiting_on.is_human() && case.desk.lane_posted != Some(case.wait_since) {
            // The post to the lane's chat was lost (or never made): again.
            super::actor::notify_lane(shared, &case);
        }
        let running = matches!(case.waiting_on, WaitingOn::None | WaitingOn::Tool(_));
        let timer_due = case.next_deadline().is_some_and(|d| d <= now);
        let unread = match shared.store.inbound_after(id, case.inbound_cursor) {
            Ok(unread) => !unread.is_empty(),
            Err(StoreError::Codec(e)) => {
                report.unreadable += 1;
                tracing::error!(case = %id, error = %e, "case history unreadable: quarantined, the rest of the desk starts");
                continue;
            }
            Err(e) => return Err(e),
        };
        if running || unread || timer_due || case.pending_send.is_some() {
            let _ = supervisor.cast(SupervisorMsg::Deliver(id));
            report.woken += 1;
        } else {
            report.passivated += 1;
        }
    }
    report.elapsed_ms = started.elapsed().as_millis();
    Ok(report)
}

fn needs_migration(shared: &Shared, case: &CaseRecord) -> bool {
    let current = shared.workflows.current();
    case.workflow.name == current.name
        && case.workflow.version < current.version
        && current.migration_from(case.workflow.version).is_some()
}

/// Moves a case onto the current workflow if a migration from its version is
/// declared, as a case event the machine admits (it leaves the transition);
/// `None` when there is none.
async fn migrate(shared: &Shared, case: CaseRecord) -> Result<Option<CaseRecord>, StoreError> {
    let current = shared.workflows.current();
    if case.workflow.name != current.name {
        return Ok(None);
    }
    let Some(migration) = current.migration_from(case.workflow.version) else {
        return Ok(None);
    };
    let state = migration
        .states
        .get(&case.state)
        .copied()
        .unwrap_or(case.state);
    let event = CaseEvent::Migrate {
        to: current.reference(),
        state,
    };
    match shared
        .store
        .admit(case.id, event, None, shared.clock.now())
        .await?
    {
        Ok(migrated) => Ok(migrated),
        Err(refusal) => {
            tracing::warn!(case = %case.id, %refusal, "workflow migration refused");
            Ok(None)
        }
    }
}
