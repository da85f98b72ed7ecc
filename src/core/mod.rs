//! The pure core: domain types, the case record and the case state machine.
//!
//! Nothing in here performs I/O, reads a clock or names a crate that does. The
//! engine feeds events and facts in and executes the effects that come out.

pub mod case;
pub mod desk;
pub mod inbound;
pub mod language;
pub mod machine;
pub mod pending;
pub mod records;
pub mod stages;
pub mod stuck;
pub mod types;
