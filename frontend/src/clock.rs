//! The browser's wall clock, read in this one place (`clippy.toml` refuses `Utc::now`
//! elsewhere, as in the backend).

/// Now, by the browser's clock.
#[allow(
    clippy::disallowed_methods,
    reason = "the one place the frontend reads the wall clock"
)]
pub fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}
