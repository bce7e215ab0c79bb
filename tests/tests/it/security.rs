//! Access control and hardening (issue 7): who may call what, sessions, proxies, limits,
//! headers, and a fal key that never leaks.

mod access;
mod hardening;
mod limits;
mod sentinel;
pub(crate) mod sessions;
