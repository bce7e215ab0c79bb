//! Spend in a scrape (callers who may see billing data): fal's cost per hour, falscope's own
//! cost figures and the credit balance, over the same windows and caches as the cost views.

use super::super::Reports;
use crate::promtext::{Kind, Writer};
use crate::upstream::FalApi;
use crate::workspace::Workspace;
use std::sync::Arc;

/// The last 24 whole hours: the window every cost figure of a scrape shares (and so the same
/// cache entries as the cost view's and the alert rules').
pub(super) fn last_day(
    reports: &Reports,
) -> (chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>) {
    let now = reports.now();
    let to = chrono::DurationRound::duration_trunc(now, chrono::Duration::hours(1)).unwrap_or(now);
    (to - chrono::Duration::hours(24), to)
}

/// Average cost per hour over the last 24 whole hours, per app (ADMIN key; through the
/// usage report's cache, so a scrape calls fal's usage at most once per TTL).
pub(super) async fn fal_cost(reports: &Reports, visible: &[Arc<Workspace>], w: &mut Writer) {
    w.family(
        "fal_app_cost_per_hour",
        "Average spend per hour over the last 24 hours, from fal usage",
        Kind::Gauge,
    );
    let (from, to) = last_day(reports);
    for ws in visible.iter().filter(|w| w.fal.has_admin_key()) {
        let Ok(usage) = reports.usage_between(&ws.id, from, to, None).await else {
            continue;
        };
        let mut per_app: std::collections::BTreeMap<(String, String), f64> =
            std::collections::BTreeMap::new();
        for l in &usage.lines {
            *per_app
                .entry((l.app.clone(), l.currency.clone()))
                .or_default() += l.cost;
        }
        for ((app, currency), cost) in per_app {
            w.sample(
                "fal_app_cost_per_hour",
                &[
                    ("workspace", &ws.id),
                    ("app", &app),
                    ("currency", &currency),
                ],
                cost / 24.0,
            );
        }
    }
}

/// falscope's own cost figures (the same computations as `/api/ws/{ws}/cost` and `/forecast`,
/// through the same caches): cost per successful request over the last 24 whole hours, and this
/// month's spend and projection.
pub(super) async fn derived_cost(reports: &Reports, visible: &[Arc<Workspace>], w: &mut Writer) {
    let admin: Vec<_> = visible.iter().filter(|w| w.fal.has_admin_key()).collect();
    let (from, to) = last_day(reports);
    w.family(
        "falscope_cost_per_successful_request",
        "Spend divided by successful (2xx) requests over the last 24 whole hours, per app",
        Kind::Gauge,
    );
    for ws in &admin {
        let Ok(report) = reports.cost_between(&ws.id, from, to).await else {
            continue;
        };
        let report = report.value;
        for a in &report.apps {
            if let Some(c) = a.cost_per_success {
                w.sample(
                    "falscope_cost_per_successful_request",
                    &[
                        ("workspace", &ws.id),
                        ("app", &a.app),
                        ("currency", &report.currency),
                    ],
                    c,
                );
            }
        }
    }
    w.family(
        "falscope_overhead_ratio",
        "Share of billed machine time not spent running requests that ended 2xx/4xx (idle, cold starts, 5xx) over the last 24 whole hours, per app (0-1)",
        Kind::Gauge,
    );
    for ws in &admin {
        let Ok(split) = reports.split_between(&ws.id, from, to).await else {
            continue;
        };
        let split = split.value;
        for a in &split.apps {
            if let Some(r) = a.overhead_share() {
                w.sample(
                    "falscope_overhead_ratio",
                    &[("workspace", &ws.id), ("app", &a.app)],
                    r,
                );
            }
        }
    }
    let mut forecasts = Vec::new();
    for ws in &admin {
        if let Ok(f) = reports.forecast(&ws.id).await {
            forecasts.push((ws.id.clone(), f.value));
        }
    }
    w.family(
        "falscope_month_to_date_spend",
        "Spend since the first of this month (UTC)",
        Kind::Gauge,
    );
    for (id, f) in &forecasts {
        w.sample(
            "falscope_month_to_date_spend",
            &[("workspace", id), ("currency", &f.currency)],
            f.month_to_date,
        );
    }
    w.family(
        "falscope_projected_month_spend",
        "Projected spend of this whole month: expected, and the low and high ends of its ~95% band",
        Kind::Gauge,
    );
    for (id, f) in &forecasts {
        for (estimate, v) in [("expected", f.projected), ("low", f.low), ("high", f.high)] {
            if let Some(v) = v {
                w.sample(
                    "falscope_projected_month_spend",
                    &[
                        ("workspace", id),
                        ("currency", &f.currency),
                        ("estimate", estimate),
                    ],
                    v,
                );
            }
        }
    }
}

/// fal's prepaid credit balance and how many days it lasts at the projected spend (workspaces
/// with an ADMIN key; a runway only where one can be projected).
pub(super) async fn credits(reports: &Reports, visible: &[Arc<Workspace>], w: &mut Writer) {
    let mut all = Vec::new();
    for ws in visible.iter().filter(|w| w.fal.has_admin_key()) {
        if let Ok(c) = reports.credits(&ws.id).await {
            all.push((ws.id.clone(), c.value));
        }
    }
    w.family(
        "falscope_credit_balance",
        "fal's prepaid credit balance",
        Kind::Gauge,
    );
    for (id, c) in &all {
        w.sample(
            "falscope_credit_balance",
            &[("workspace", id), ("currency", &c.currency)],
            c.balance,
        );
    }
    // In seconds, Prometheus's base unit (promtool refuses days); the dashboard shows days.
    w.family(
        "falscope_credit_runway_seconds",
        "Seconds until the credit balance reaches zero at the projected spend: expected, and the earliest and latest of its ~95% band",
        Kind::Gauge,
    );
    for (id, c) in &all {
        let Some(r) = c.runway else { continue };
        let latest = r
            .latest
            .map(|t| (t - r.runs_out).num_seconds() as f64 / 86_400.0 + r.days);
        let earliest = (r.earliest - r.runs_out).num_seconds() as f64 / 86_400.0 + r.days;
        for (estimate, v) in [
            ("expected", Some(r.days)),
            ("earliest", Some(earliest)),
            ("latest", latest),
        ] {
            if let Some(v) = v {
                w.sample(
                    "falscope_credit_runway_seconds",
                    &[("workspace", id), ("estimate", estimate)],
                    v * 86_400.0,
                );
            }
        }
    }
}
