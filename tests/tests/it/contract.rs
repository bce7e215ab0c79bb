//! The fal contract: falscope's real client against the simulator over HTTP, one file per
//! operation family, plus raw-HTTP checks of the wire shapes REFERENCE.md records.

mod analytics;
mod auth;
mod check;
mod faults;
mod files;
mod fixtures;
mod logs;
mod metrics;
mod queue;
mod requests;
mod usage;
