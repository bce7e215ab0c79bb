//! Spend per app × machine type × surge, totals, and spend over time (ADMIN key).

use super::analytics::fal_window;
use super::{align_moving, iso, zone, Reports};
use crate::cache::{key, Cached};
use crate::error::AppError;
use crate::upstream::convert::{instant, UNATTRIBUTED};
use crate::upstream::query as fal_query;
use crate::upstream::{FalApi, UpstreamError};
use chrono::{DateTime, Duration, Utc};
use shared::analytics::Timeframe;
use shared::apps::AppIndex;
use shared::query::{resolve_range, UsageQuery};
use shared::usage::{UsageLine, UsagePoint, UsageReport};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Usage is settled in fal's billing pipeline; five minutes is plenty fresh.
const USAGE_TTL: std::time::Duration = std::time::Duration::from_secs(300);

/// A usage query resolved against the clock, aligned to whole hours (usage's own grain).
#[derive(Debug, Clone)]
struct Resolved {
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    apps: Vec<String>,
    search: Option<String>,
    timeframe: Timeframe,
    tz: Option<String>,
}

impl Reports {
    /// The usage report of `q`. Refused without an ADMIN key before anything reaches fal.
    pub async fn usage(&self, ws: &str, q: &UsageQuery) -> Result<Cached<UsageReport>, AppError> {
        let (from, to) = resolve_range(
            q.from.as_ref(),
            q.to.as_ref(),
            self.now(),
            Duration::days(7),
        )?;
        let timeframe = q
            .timeframe
            .unwrap_or_else(|| Timeframe::auto((to - from).num_seconds()));
        let (from, to) = align_moving(
            (q.from.as_ref(), q.to.as_ref()),
            (from, to),
            Duration::hours(1),
        );
        let r = Resolved {
            from,
            to,
            apps: q.apps.values().to_vec(),
            search: q.search.clone(),
            timeframe,
            tz: zone(q.tz.as_deref())?,
        };
        let w = self.admin_workspace(ws)?;
        let mut pairs = vec![
            ("from", iso(r.from)),
            ("to", iso(r.to)),
            ("apps", r.apps.join(",")),
            ("timeframe", r.timeframe.as_str().to_owned()),
        ];
        pairs.extend(r.search.clone().map(|s| ("search", s)));
        pairs.extend(r.tz.clone().map(|s| ("tz", s)));
        let family = super::moving_family(&w.id, "usage", &pairs, q.from.as_ref(), q.to.as_ref());
        let fal: Arc<dyn FalApi> = w.fal.clone();
        let (clock, reports, ws) = (self.0.clock.clone(), self.clone(), ws.to_owned());
        Ok(self
            .cache()
            .get_or_fetch_moving(
                key(&w.id, "usage", &pairs, None),
                family,
                |_| USAGE_TTL,
                // The names are joined only when fal is read, not on every cache hit.
                move || async move {
                    let to = r.to.min(clock.now());
                    let index = reports.app_index(&ws).await;
                    fetch(fal, Resolved { to, ..r }, index).await
                },
            )
            .await?)
    }
}

/// Fetches every page and shapes the report, naming each row's app by `index`.
///
/// `apps` are app names, and fal matches its usage `app` exactly, suffix included: one app is
/// asked for by `search` (a substring, so `my-app-prod` is found too), several by reading
/// every app; the rows are then kept by app here.
async fn fetch(
    fal: Arc<dyn FalApi>,
    p: Resolved,
    index: AppIndex,
) -> Result<UsageReport, UpstreamError> {
    let search = match (p.apps.as_slice(), &p.search) {
        ([one], None) => Some(one.clone()),
        _ => p.search.clone(),
    };
    let wanted =
        |raw: &str, app: &str| p.apps.is_empty() || p.apps.iter().any(|a| a == app || a == raw);
    let mut q = fal_query::UsageQuery {
        apps: Vec::new(),
        search,
        window: fal_window(p.from, p.to, p.tz.clone(), p.timeframe),
        time_series: true,
        summary: true,
        // fal documents no maximum page size here: its default, and `next_cursor` followed.
        limit: None,
        cursor: None,
    };
    let (buckets, summary) = super::all_pages(
        |cursor| {
            q.cursor = cursor;
            let (fal, q) = (fal.clone(), q.clone());
            async move { fal.usage(&q).await }
        },
        super::usage_row_key,
    )
    .await?;
    let mut series: BTreeMap<(DateTime<Utc>, String), (f64, f64)> = BTreeMap::new();
    for b in buckets {
        // A bucket whose time does not parse is left out (counted by `instant`).
        let Some(t) = instant(&b.bucket) else {
            continue;
        };
        for r in &b.results {
            let raw = r.app.as_deref().unwrap_or(UNATTRIBUTED);
            let app = index.of_usage(raw, r.environment.as_deref());
            if !wanted(raw, app) {
                continue;
            }
            let e = series.entry((t, app.to_owned())).or_default();
            e.0 += r.cost_total;
            e.1 += r.quantity;
        }
    }
    let mut lines: Vec<UsageLine> = summary
        .iter()
        .filter_map(|r| {
            let raw = r.app.as_deref().unwrap_or(UNATTRIBUTED);
            let app = index.of_usage(raw, r.environment.as_deref());
            wanted(raw, app).then(|| UsageLine {
                app: app.to_owned(),
                ..UsageLine::from(r)
            })
        })
        .collect();
    lines.sort_by(|a, b| b.cost.total_cmp(&a.cost));
    let currency = lines
        .first()
        .map_or_else(|| "USD".to_owned(), |l| l.currency.clone());
    Ok(UsageReport {
        from: p.from,
        to: p.to,
        timeframe: p.timeframe,
        total_cost: lines.iter().map(|l| l.cost).sum(),
        total_seconds: lines.iter().map(|l| l.seconds).sum(),
        currency,
        lines,
        series: series
            .into_iter()
            .map(|((t, app), (cost, seconds))| UsagePoint {
                t,
                app,
                cost,
                seconds,
            })
            .collect(),
    })
}
