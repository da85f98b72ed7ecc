//! Deterministic policy: intent detection, the tier decision table, identity,
//! reschedule quota and cutoff, knowledge-base matching. Pure functions over
//! plain structs; the clock and the timezone are passed in.
//!
//! Customer text is data: it selects intents and carries claims (an invoice
//! number, an email) that are checked against records; it never changes a
//! rule, a tier or a lane by itself.

pub mod identity;
pub mod intent;
pub mod kb;
pub mod reschedule;
pub mod tier;
