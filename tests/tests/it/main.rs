//! The one integration-test binary: falscope and its simulator over real HTTP.
#![allow(
    clippy::unwrap_used,
    reason = "test helpers fail the test by panicking"
)]

mod api;
mod backup;
mod cluster;
mod contract;
mod e2e;
mod failover;
mod layout;
mod proxy;
mod security;
mod spa;
mod store;
