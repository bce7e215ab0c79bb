//! falscope's dashboard API in front of the simulator: caching, coalescing, stale-on-error,
//! resilience, validation, admin-key handling, files.

pub(crate) mod alerts;
mod cache;
mod cost;
mod export;
mod fal_contract;
mod files;
pub(crate) mod live;
mod ops;
mod queue;
mod reports;
mod routes;
