//! `GET /api/ws/{ws}/forecast`: month-to-date spend and a month-end projection with a band
//! (the model is `crate::cost::forecast`), from daily usage of this month and the four weeks
//! before it, through the same cache as the usage page.

use super::params::Params;
use crate::cost::forecast::{project, FIT_DAYS};
use crate::error::AppError;
use crate::state::AppState;
use crate::store::DailyCost;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use shared::cost::{DailySpend, Forecast};
use std::collections::BTreeMap;

/// `GET /api/ws/{ws}/forecast` (no parameters: always the current month, in UTC days).
pub async fn get_forecast(
    State(state): State<AppState>,
    Path(ws): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, AppError> {
    Params::parse(raw.as_deref(), &[])?;
    let (forecast, as_of, status) = compute(&state, &ws).await?;
    Ok(super::respond::derived(forecast, as_of, status))
}

/// This month's forecast with the `as_of` and cache status of the usage it rests on.
/// `/metrics` shares it.
pub(crate) async fn compute(
    state: &AppState,
    ws: &str,
) -> Result<(Forecast, DateTime<Utc>, shared::CacheStatus), AppError> {
    let now = state.now();
    let today = now.date_naive();
    let month_start = NaiveDate::from_ymd_opt(today.year(), today.month(), 1).unwrap_or(today);
    let month_end = month_start
        .checked_add_months(chrono::Months::new(1))
        .unwrap_or(month_start);
    let from = month_start - Duration::days(FIT_DAYS as i64);
    let q = serde_urlencoded::to_string([
        ("from", midnight(from).to_rfc3339()),
        ("to", now.to_rfc3339()),
        ("timeframe", "day".to_owned()),
    ])
    .unwrap_or_default();
    let usage =
        super::usage::cached_report(state, ws, &Params::parse(Some(&q), super::usage::ALLOWED)?)
            .await?;
    let mut by_day: BTreeMap<NaiveDate, f64> = BTreeMap::new();
    for p in &usage.value.series {
        *by_day.entry(p.t.date_naive()).or_default() += p.cost;
    }
    if let Some(db) = &state.db {
        // Complete days go into the history, which outlives fal's query windows; days fal no
        // longer returns come back from it. Each copy of the usage is written once.
        let workspace = state.workspace(ws)?;
        let mut written = workspace
            .history_as_of
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if *written != Some(usage.entry.as_of) {
            let complete: Vec<DailyCost> = usage
                .value
                .series
                .iter()
                .filter(|p| p.t.date_naive() < today)
                .map(|p| DailyCost {
                    day: p.t.date_naive(),
                    app: p.app.clone(),
                    cost: p.cost,
                    seconds: p.seconds,
                })
                .collect();
            match db.upsert_daily_cost(ws, &complete) {
                Ok(()) => *written = Some(usage.entry.as_of),
                Err(err) => tracing::warn!(%err, "cannot store daily cost history"),
            }
        }
        drop(written);
        match db.daily_cost_totals(ws, from, today) {
            Ok(stored) => {
                for (day, total) in stored {
                    by_day.entry(day).or_insert(total);
                }
            }
            Err(err) => tracing::warn!(%err, "cannot read daily cost history"),
        }
    }
    let history: Vec<(NaiveDate, f64)> = by_day
        .iter()
        .filter(|(d, _)| **d < today)
        .map(|(d, v)| (*d, *v))
        .collect();
    let future: Vec<NaiveDate> = month_start
        .iter_days()
        .take_while(|d| *d < month_end)
        .filter(|d| *d >= today)
        .collect();
    let month_to_date: f64 = by_day
        .iter()
        .filter(|(d, _)| **d >= month_start)
        .map(|(_, v)| v)
        .sum();
    let projection = project(&history, &future);
    // Today is part spent, part projected: only the rest of today is added.
    let elapsed_today = (now - midnight(today)).num_seconds() as f64 / 86_400.0;
    let predicted: BTreeMap<NaiveDate, f64> = projection
        .as_ref()
        .map(|p| p.days.iter().copied().collect())
        .unwrap_or_default();
    let rest: f64 = predicted
        .iter()
        .map(|(d, v)| {
            if *d == today {
                v * (1.0 - elapsed_today)
            } else {
                *v
            }
        })
        .sum();
    let projected = projection.as_ref().map(|_| month_to_date + rest);
    let band = projection.as_ref().map(|p| p.band);
    let daily = month_start
        .iter_days()
        .take_while(|d| *d < month_end)
        .map(|d| DailySpend {
            day: midnight(d),
            actual: (d <= today).then(|| by_day.get(&d).copied().unwrap_or(0.0)),
            predicted: predicted.get(&d).copied(),
        })
        .collect();
    let forecast = Forecast {
        month_start: midnight(month_start),
        month_end: midnight(month_end),
        currency: usage.value.currency.clone(),
        month_to_date,
        projected,
        low: projected.zip(band).map(|(p, b)| (p - b).max(month_to_date)),
        high: projected.zip(band).map(|(p, b)| p + b),
        daily,
    };
    Ok((forecast, usage.entry.as_of, usage.status))
}

fn midnight(d: NaiveDate) -> DateTime<Utc> {
    Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default())
}
