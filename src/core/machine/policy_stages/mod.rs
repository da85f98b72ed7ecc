//! The policy stages of the machine: tier, verify, execute and qa, one file
//! each. They read records through [`Facts::records`](super::Facts), decide
//! by [`Facts::policy`](super::Facts), draft proposals, and leave sending to
//! the send stage and writing to the execute stage's `ToolCall`.

mod execute;
mod qa;
mod tier;
mod verify;
pub mod wording;

use super::{MachineError, Run};
use crate::core::records::Student;
use crate::core::types::Identity;

/// Most slots offered at once.
pub const MAX_OFFER: usize = 3;

impl Run<'_> {
    pub(super) fn student_record(&self) -> Result<Option<Student>, MachineError> {
        match &self.case.desk.student {
            Some(id) => self.facts.records.student(id).map_err(MachineError::from),
            None => Ok(None),
        }
    }

    pub(super) fn verified(&self) -> bool {
        matches!(
            self.case.identity,
            Identity::WaMatch | Identity::InvoiceEmail
        )
    }

    /// The reschedule policy (quota and cutoff) for moving the session of
    /// `student` that starts at `session`, as of now.
    pub(super) fn reschedule_policy(
        &self,
        student: &Student,
        session: crate::core::types::Timestamp,
    ) -> crate::policy::reschedule::Check {
        let p = self.facts.policy;
        crate::policy::reschedule::check(
            &student.reschedule_history,
            session,
            self.now(),
            p.timezone,
            p.reschedule_quota_per_month,
            p.cutoff,
        )
    }
}
