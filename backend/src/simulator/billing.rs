//! `GET /v1/account/billing` (ADMIN; REFERENCE §9).

use super::errors::FalError;
use super::query::Query;
use super::Sim;
use crate::upstream::models::{Billing, Credits};
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
    // The balance drains through the month and is topped up on the 1st.
    let hours_into_month = sim.now_ms().rem_euclid(30 * 86_400_000) as f64 / 3_600_000.0;
    Ok(Json(Billing {
        username: sim.world.owner.to_owned(),
        credits: credits.then(|| Credits {
            current_balance: ((2500.0 - hours_into_month * 2.9).max(0.0) * 100.0).round() / 100.0,
            currency: "USD".into(),
        }),
    }))
}
