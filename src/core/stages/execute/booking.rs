//! The execute stage's one write: booking the offered slot the customer
//! chose. In pilot mode it waits for an operator's approval; the reschedule
//! policy (`crate::policy::reschedule`: monthly quota, cutoff) is checked
//! again on the records as they are now, and a request out of policy
//! becomes R3 for the coach. The call itself is idempotent by its key
//! (see the module docs of [`super`]).

use super::call;
use crate::core::desk::{Ruling, Standing, ToolRequest};
use crate::core::machine::{Effect, MachineError, Next, Run};
use crate::core::records::{Booking, Student};
use crate::core::stages::Outcome;
use crate::core::types::{Mode, Tier};

impl Run<'_> {
    pub(super) fn book(&mut self, student: &Student, index: usize) -> Result<Next, MachineError> {
        let Some(offer) = self.case.desk.offer.clone() else {
            return Ok(self.block("no slot offer to book from"));
        };
        let Some(slot) = offer.slots.get(index).cloned() else {
            return Ok(self.block("the chosen option is not in the offer"));
        };
        if self.case.mode == Mode::Pilot && !self.case.desk.review.approved() {
            return Ok(Next::Go(
                Outcome::Done,
                "pilot: the booking waits for an operator's approval".into(),
            ));
        }
        let Some(session) = student.sessions.iter().find(|s| s.id == offer.session) else {
            return Ok(self.block("the session to move is no longer on record"));
        };
        let check = self.reschedule_policy(student, session.starts_at);
        if !check.in_policy() {
            self.case.tier = Some(Tier::R3);
            self.case.desk.ruling = Some(Ruling {
                rule: "reschedule-exception".into(),
                standing: Standing::Firm,
            });
            self.case.desk.task = None;
            return Ok(Next::Go(
                Outcome::Done,
                format!(
                    "rule reschedule-exception: {} used this month, before cutoff {}: R3",
                    check.used_this_month, check.before_cutoff
                ),
            ));
        }
        let call = call(
            &mut self.case,
            ToolRequest::Book(Booking {
                student: student.id.clone(),
                session: session.id.clone(),
                slot_at: slot.starts_at,
                coach: slot.coach.clone(),
            }),
        );
        Ok(Next::Emit(Effect::Tool(call)))
    }
}
