//! caseflow: a durable workflow engine that runs customer-support cases as
//! supervised actors over a declared state machine. See ARCHITECTURE.md.

pub mod app;
pub mod channels;
pub mod config;
pub mod core;
pub mod engine;
pub mod eval;
pub mod http;
pub mod intents_cmd;
pub mod loadtest;
pub mod policy;
pub mod report;
pub mod store;
pub mod telemetry;
pub mod templates;
pub mod workflow;
