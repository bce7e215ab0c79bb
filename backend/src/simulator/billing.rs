//! `GET /v1/account/billing` (ADMIN; REFERENCE §9).

use super::errors::FalError;
use super::query::Query;
use super::wire::{Billing, Credits};
use super::Sim;
use axum::extract::{RawQuery, State};
use axum::Json;
use std::sync::Arc;

/// Handler.
pub async fn account_billing(
    State(sim): State<Arc<Sim>>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Billing>, FalError> {
    let q = Query::parse(raw.as_deref())?;
    let mut credits = false;
    for e in q.list("expand") {
        match e.as_str() {
            "credits" => credits = true,
            other => return Err(FalError::invalid(format!("unknown expand value {other:?}"))),
        }
    }
    // Topped up to 22,000 every 30 days and drained at about the world's own spend (~$24 an
    // hour), so the runway the dashboard projects is a few weeks, shrinking through the month.
    let hours_into_month = sim.now_ms().rem_euclid(30 * 86_400_000) as f64 / 3_600_000.0;
    Ok(Json(Billing {
        username: sim.world.owner.to_owned(),
        credits: credits.then(|| Credits {
            current_balance: ((22_000.0 - hours_into_month * 24.0).max(0.0) * 100.0).round()
                / 100.0,
            currency: "USD".into(),
        }),
    }))
}
