//! The one integration-test binary: falscope and its simulator over real HTTP.

mod api;
mod e2e;
mod spa;
