//! Month-to-date spend and a month-end projection with a band (the model is
//! `crate::cost::forecast`), from daily usage of this month and the four weeks before it,
//! through the same cache as the usage page, completed by the stored daily history for days
//! fal no longer has. Writing that history is the history job's work (`crate::history`).

use super::{Derived, Reports};
use crate::cost::forecast::{project, FIT_DAYS};
use crate::error::AppError;
use crate::store::DailyCost;
use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use shared::analytics::Timeframe;
use shared::cost::{AppForecast, DailySpend, Forecast};
use shared::query::{TimeExpr, UsageQuery};
use shared::usage::UsageReport;
use std::collections::BTreeMap;

impl Reports {
    /// Daily usage from four weeks before this month to now (cached: its key moves once an
    /// hour, so views, scrapes, alert rules and the history job share one fal read per TTL).
    async fn daily_usage(&self, ws: &str) -> Result<crate::cache::Cached<UsageReport>, AppError> {
        let today = self.now().date_naive();
        let from = month_start(today) - Duration::days(FIT_DAYS as i64);
        let q = UsageQuery {
            from: Some(TimeExpr::at(midnight(from))),
            timeframe: Some(Timeframe::Day),
            ..UsageQuery::default()
        };
        self.usage(ws, &q).await
    }

    /// The complete days (before today) of the daily usage, as the history job stores them,
    /// with the `as_of` of the usage they come from.
    pub async fn complete_days(
        &self,
        ws: &str,
    ) -> Result<(Vec<DailyCost>, DateTime<Utc>), AppError> {
        let usage = self.daily_usage(ws).await?;
        let today = self.now().date_naive();
        let rows = usage
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
        Ok((rows, usage.entry.as_of))
    }

    /// The monthly budget of `app` (or of the workspace), if one is set.
    pub async fn budget(&self, ws: &str, app: Option<&str>) -> Option<f64> {
        let budgets = self.db()?.budgets(ws).await.ok()?;
        budgets
            .into_iter()
            .find(|(a, _)| a == app.unwrap_or(""))
            .map(|(_, m)| m)
    }

    /// This month's forecast (UTC days) with the `as_of` and cache status of the usage it
    /// rests on.
    pub async fn forecast(&self, ws: &str) -> Result<Derived<Forecast>, AppError> {
        let now = self.now();
        let today = now.date_naive();
        let month_start = month_start(today);
        let month_end = month_start
            .checked_add_months(chrono::Months::new(1))
            .unwrap_or(month_start);
        let (by_app, usage) = self.spend_by_app(ws).await?;
        let budgets: BTreeMap<String, f64> = match self.db() {
            Some(db) => db
                .budgets(ws)
                .await
                .unwrap_or_default()
                .into_iter()
                .collect(),
            None => BTreeMap::new(),
        };
        let by_day = total_by_day(&by_app);
        let calendar = Month {
            start: month_start,
            end: month_end,
            today,
            elapsed_today: elapsed_today(now),
        };
        let total = calendar.project(&by_day);
        let daily = month_start
            .iter_days()
            .take_while(|d| *d < month_end)
            .map(|d| DailySpend {
                day: midnight(d),
                actual: (d <= today).then(|| by_day.get(&d).copied().unwrap_or(0.0)),
                predicted: total.predicted.get(&d).copied(),
            })
            .collect();
        let mut apps: Vec<AppForecast> = by_app
            .iter()
            .map(|(app, days)| {
                let m = calendar.project(days);
                AppForecast {
                    app: app.clone(),
                    month_to_date: m.month_to_date,
                    projected: m.projected,
                    budget: budgets.get(app).copied(),
                }
            })
            .filter(|a| a.month_to_date > 0.0 || a.projected.is_some_and(|p| p > 0.0))
            .collect();
        apps.sort_by(|a, b| b.month_to_date.total_cmp(&a.month_to_date));
        let forecast = Forecast {
            month_start: midnight(month_start),
            month_end: midnight(month_end),
            currency: usage.value.currency.clone(),
            month_to_date: total.month_to_date,
            projected: total.projected,
            low: total
                .projected
                .zip(total.band)
                .map(|(p, b)| (p - b).max(total.month_to_date)),
            high: total.projected.zip(total.band).map(|(p, b)| p + b),
            daily,
            budget: budgets.get("").copied(),
            apps,
        };
        Ok(Derived {
            value: forecast,
            as_of: usage.entry.as_of,
            status: usage.status,
        })
    }
}

impl Reports {
    /// Spend per app and day from four weeks before this month until now: fal's daily usage,
    /// then the stored history for days fal no longer has; with the usage it read.
    async fn spend_by_app(
        &self,
        ws: &str,
    ) -> Result<(SpendByApp, crate::cache::Cached<UsageReport>), AppError> {
        let today = self.now().date_naive();
        let from = month_start(today) - Duration::days(FIT_DAYS as i64);
        let usage = self.daily_usage(ws).await?;
        let mut by_app = SpendByApp::new();
        for p in &usage.value.series {
            *by_app
                .entry(p.app.clone())
                .or_default()
                .entry(p.t.date_naive())
                .or_default() += p.cost;
        }
        if let Some(db) = self.db() {
            match db.daily_cost_by_app(ws, from, today).await {
                Ok(stored) => {
                    for (day, app, cost) in stored {
                        by_app.entry(app).or_default().entry(day).or_insert(cost);
                    }
                }
                Err(err) => tracing::warn!(%err, "cannot read daily cost history"),
            }
        }
        Ok((by_app, usage))
    }

    /// The workspace's spend per day (every app), for projections beyond the month (the credit
    /// runway); with the usage it rests on.
    pub(super) async fn spend_by_day(
        &self,
        ws: &str,
    ) -> Result<(BTreeMap<NaiveDate, f64>, crate::cache::Cached<UsageReport>), AppError> {
        let (by_app, usage) = self.spend_by_app(ws).await?;
        Ok((total_by_day(&by_app), usage))
    }
}

/// Spend per app, per day.
type SpendByApp = BTreeMap<String, BTreeMap<NaiveDate, f64>>;

fn total_by_day(by_app: &SpendByApp) -> BTreeMap<NaiveDate, f64> {
    let mut by_day: BTreeMap<NaiveDate, f64> = BTreeMap::new();
    for days in by_app.values() {
        for (d, v) in days {
            *by_day.entry(*d).or_default() += v;
        }
    }
    by_day
}

/// Share of today (UTC) already past, 0–1.
pub(super) fn elapsed_today(now: DateTime<Utc>) -> f64 {
    (now - midnight(now.date_naive())).num_seconds() as f64 / 86_400.0
}

fn month_start(today: NaiveDate) -> NaiveDate {
    NaiveDate::from_ymd_opt(today.year(), today.month(), 1).unwrap_or(today)
}

/// The current month's calendar.
struct Month {
    start: NaiveDate,
    end: NaiveDate,
    today: NaiveDate,
    /// Share of today already past (0–1).
    elapsed_today: f64,
}

/// One series' month: spent so far and where it is heading.
struct MonthProjection {
    month_to_date: f64,
    projected: Option<f64>,
    band: Option<f64>,
    predicted: BTreeMap<NaiveDate, f64>,
}

impl Month {
    fn project(&self, by_day: &BTreeMap<NaiveDate, f64>) -> MonthProjection {
        let history: Vec<(NaiveDate, f64)> = by_day
            .iter()
            .filter(|(d, _)| **d < self.today)
            .map(|(d, v)| (*d, *v))
            .collect();
        let future: Vec<NaiveDate> = self
            .start
            .iter_days()
            .take_while(|d| *d < self.end)
            .filter(|d| *d >= self.today)
            .collect();
        let month_to_date: f64 = by_day
            .iter()
            .filter(|(d, _)| **d >= self.start)
            .map(|(_, v)| v)
            .sum();
        let projection = project(&history, &future);
        let predicted: BTreeMap<NaiveDate, f64> = projection
            .as_ref()
            .map(|p| p.days.iter().copied().collect())
            .unwrap_or_default();
        // Today is part spent, part projected: only the rest of today is added.
        let rest: f64 = predicted
            .iter()
            .map(|(d, v)| {
                if *d == self.today {
                    v * (1.0 - self.elapsed_today)
                } else {
                    *v
                }
            })
            .sum();
        MonthProjection {
            month_to_date,
            projected: projection.as_ref().map(|_| month_to_date + rest),
            band: projection.as_ref().map(|p| p.band),
            predicted,
        }
    }
}

fn midnight(d: NaiveDate) -> DateTime<Utc> {
    Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default())
}
