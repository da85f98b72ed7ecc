//! Deterministic policy: intent detection (`intent/`, vocabulary in
//! `config/intents.toml`), the tier decision table, identity,
//! reschedule quota and cutoff, knowledge-base matching. Pure functions over
//! plain structs; the clock and the timezone are passed in.
//!
//! Customer text is data: it selects intents and carries claims (an invoice
//! number, an email) that are checked against records; it never changes a
//! rule, a tier or a lane by itself.

pub mod identity;
pub mod intent;
pub mod kb;
pub mod payments;
pub mod reschedule;
pub mod tier;

use chrono_tz::Tz;

use crate::policy::reschedule::Cutoff;

/// The policy settings the stages apply, from config.
#[derive(Debug, Clone)]
pub struct Policy {
    pub timezone: Tz,
    pub reschedule_quota_per_month: u32,
    pub cutoff: Cutoff,
    /// Lowest knowledge-base match score that may answer R0.
    pub kb_threshold: f64,
    /// Failed identity attempts before the case escalates.
    pub identity_attempts: u32,
    /// Records older than this are not stated as fact.
    pub record_ttl_ms: i64,
    pub tiers: tier::TierTable,
    /// Intent detection over the business vocabulary (`config/intents.toml`).
    pub detector: intent::Detector,
    /// A payment provider can be asked for an order's state.
    pub provider_lookup: bool,
}

impl Policy {
    /// The shipped defaults with the embedded tier table.
    pub fn defaults() -> Policy {
        Policy {
            timezone: chrono_tz::Asia::Jakarta,
            reschedule_quota_per_month: 2,
            cutoff: Cutoff::CalendarDays { days: 1 },
            kb_threshold: 0.5,
            identity_attempts: 3,
            record_ttl_ms: 24 * 3600 * 1000,
            tiers: tier::TierTable::parse(tier::EMBEDDED).expect("the shipped tier table is valid"),
            detector: intent::Detector::shipped(),
            provider_lookup: false,
        }
    }
}
