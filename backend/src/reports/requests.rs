//! Requests with their cost (billable units × the app's effective unit price), one request with
//! its logs, and the unit prices behind the costs.

use super::{align_moving, iso, Reports};
use crate::cache::{key, Cached};
use crate::error::AppError;
use crate::upstream::convert::{log_line, request_row, UnitPrice};
use crate::upstream::models::RequestItem;
use crate::upstream::query::{self as fal_query, LogsQuery, RequestSort, RequestStatus};
use crate::upstream::{FalApi, UpstreamError};
use chrono::Duration;
use futures::future::BoxFuture;
use shared::apps::AppIndex;
use shared::logs::LogLine;
use shared::query::{resolve_range, RequestOrder, RequestOutcome, RequestsQuery};
use shared::requests::{Cost, RequestDetail, RequestRow, RequestsPage};
use std::collections::HashMap;
use std::sync::Arc;

/// Finished requests do not change, except `billable_units` arriving later.
const REQUESTS_TTL: std::time::Duration = std::time::Duration::from_secs(30);
/// While some row is still unbilled, look again soon.
const PENDING_TTL: std::time::Duration = std::time::Duration::from_secs(10);
/// fal pages read at most to fill one page of chosen endpoints' requests.
const FILL_PAGES: usize = 5;
/// Lists are aligned to this (their ends clamped to now when fetched).
const LIST_STEP: Duration = Duration::seconds(10);

/// What 7 days of usage say about an app's price per machine-second.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DerivedPrice {
    /// Spend ÷ machine-seconds (surge and discounts included).
    pub price: f64,
    /// Distinct effective prices of its usage rows, lowest first.
    pub seen: Vec<f64>,
    /// Machine types billed.
    pub machines: Vec<String>,
}

/// Fetches one page of a paged export: its rows and the cursor of the next page.
pub type Pages<T> = Arc<
    dyn Fn(Option<String>) -> BoxFuture<'static, Result<(Vec<T>, Option<String>), UpstreamError>>
        + Send
        + Sync,
>;

/// The requests of exactly the endpoints asked for: fal answers a bare app id with its
/// route-level endpoints' requests too.
fn chosen(mut items: Vec<RequestItem>, endpoints: &[String]) -> Vec<RequestItem> {
    if !endpoints.is_empty() {
        items.retain(|r| endpoints.contains(&r.endpoint_id));
    }
    items
}

fn has_pending(page: &RequestsPage) -> bool {
    page.items
        .iter()
        .any(|r| r.cost == Cost::Pending || r.ended_at.is_none())
}

impl Reports {
    /// Every app's [`DerivedPrice`] from a week of usage (ADMIN key), by app (see
    /// [`AppIndex`]).
    pub async fn derived_prices(
        &self,
        ws: &str,
    ) -> Result<HashMap<String, DerivedPrice>, AppError> {
        let rows = self.usage_week(ws).await?;
        let index = self.app_index(ws).await;
        Ok(derive_prices(&rows, &index))
    }

    /// Effective price per billable unit (machine-second) of each app: the admin's price table
    /// first, else 7 days of usage. `None` without an ADMIN key, when usage cannot be read, or
    /// when the caller may not see costs (`priced` false).
    pub async fn unit_prices(&self, ws: &str, priced: bool) -> Option<Arc<Prices>> {
        if !priced || !self.workspace(ws).ok()?.fal.has_admin_key() {
            return None;
        }
        let rows = self.usage_week(ws).await.ok()?;
        let index = self.app_index(ws).await;
        let derived = derive_prices(&rows, &index);
        let mut prices: HashMap<String, UnitPrice> = derived
            .iter()
            .map(|(app, d)| {
                let price = UnitPrice {
                    price: d.price,
                    blended: d.seen.len() > 1,
                };
                (app.clone(), price)
            })
            .collect();
        if let Some(db) = self.db() {
            // The admin's price is one price: not a blend.
            prices.extend(db.prices(ws).await.unwrap_or_default().into_iter().map(
                |(app, price)| {
                    let price = UnitPrice {
                        price,
                        blended: false,
                    };
                    (app, price)
                },
            ));
        }
        Some(Arc::new(Prices {
            by_app: prices,
            index,
        }))
    }

    /// One page of requests, with costs when `priced` (billing role and up).
    pub async fn requests(
        &self,
        ws: &str,
        q: &RequestsQuery,
        priced: bool,
    ) -> Result<Cached<RequestsPage>, AppError> {
        let mut fq = self.fal_requests(q)?;
        let w = self.workspace(ws)?;
        let fal: Arc<dyn FalApi> = w.fal.clone();
        let ttl = |page: &RequestsPage| {
            if has_pending(page) {
                PENDING_TTL
            } else {
                REQUESTS_TTL
            }
        };
        let mut pairs = vec![
            ("endpoints", fq.endpoint_ids.join(",")),
            ("from", fq.start.map(iso).unwrap_or_default()),
            ("to", fq.end.map(iso).unwrap_or_default()),
            ("limit", fq.limit.unwrap_or_default().to_string()),
        ];
        pairs.extend(q.status.map(|s| ("status", format!("{s:?}"))));
        pairs.extend(q.sort.map(|s| ("sort", format!("{s:?}"))));
        pairs.extend(q.cursor.clone().map(|c| ("cursor", c)));
        let kind = if priced {
            "requests"
        } else {
            "requests_without_cost"
        };
        let (clock, reports) = (self.0.clock.clone(), self.clone());
        Ok(self
            .cache()
            .get_or_fetch(key(&w.id, kind, &pairs, None), ttl, move || async move {
                // Prices only on a miss: a cached page needs no price table.
                let prices = reports.unit_prices(&w.id, priced).await;
                fq.end = fq.end.map(|e| e.min(clock.now()));
                // Rows of routes nobody chose are left out; further pages fill the gap, so a
                // page is not empty while more rows wait.
                let wanted = fq.limit.unwrap_or(50) as usize;
                let mut items = Vec::new();
                let mut next_cursor;
                let mut reads = 0;
                loop {
                    let page = fal.requests(&fq).await?;
                    items.extend(chosen(page.items, &fq.endpoint_ids));
                    next_cursor = page.next_cursor;
                    reads += 1;
                    if items.len() >= wanted || next_cursor.is_none() || reads == FILL_PAGES {
                        break;
                    }
                    fq.cursor = next_cursor.clone();
                }
                Ok(RequestsPage {
                    items: rows(&items, prices.as_deref()),
                    next_cursor,
                })
            })
            .await?)
    }

    /// Every page of `q` (100 rows each), for the CSV export: uncached, read as it streams.
    pub async fn requests_pages(
        &self,
        ws: &str,
        q: &RequestsQuery,
        priced: bool,
    ) -> Result<Pages<RequestRow>, AppError> {
        let mut fq = self.fal_requests(q)?;
        fq.limit = Some(100);
        fq.end = fq.end.map(|e| e.min(self.now()));
        let w = self.workspace(ws)?;
        let prices = self.unit_prices(ws, priced).await;
        let fal: Arc<dyn FalApi> = w.fal.clone();
        Ok(Arc::new(move |cursor| {
            let (fal, prices, mut fq) = (fal.clone(), prices.clone(), fq.clone());
            fq.cursor = cursor;
            Box::pin(async move {
                let page = fal.requests(&fq).await?;
                let items = chosen(page.items, &fq.endpoint_ids);
                Ok((rows(&items, prices.as_deref()), page.next_cursor))
            })
        }))
    }

    /// The fal query of a requests view (aligned to [`LIST_STEP`]).
    fn fal_requests(&self, q: &RequestsQuery) -> Result<fal_query::RequestsQuery, AppError> {
        let (from, to) = resolve_range(
            q.from.as_ref(),
            q.to.as_ref(),
            self.now(),
            Duration::hours(24),
        )?;
        let (from, to) = align_moving((q.from.as_ref(), q.to.as_ref()), (from, to), LIST_STEP);
        Ok(fal_query::RequestsQuery {
            endpoint_ids: q.endpoints.values().to_vec(),
            limit: Some(q.limit.map_or(50, |l| l.get())),
            cursor: q.cursor.clone(),
            start: Some(from),
            end: Some(to),
            status: q.status.map(|s| match s {
                RequestOutcome::Success => RequestStatus::Success,
                RequestOutcome::UserError => RequestStatus::UserError,
                RequestOutcome::Error => RequestStatus::Error,
            }),
            request_id: None,
            payloads: false,
            billing: true,
            sort_by: q.sort.map(|s| match s {
                RequestOrder::EndedAt => RequestSort::EndedAt,
                RequestOrder::Duration => RequestSort::Duration,
            }),
        })
    }

    /// One request (found across every endpoint of the workspace) and its logs.
    pub async fn request(
        &self,
        ws: &str,
        id: &str,
        priced: bool,
    ) -> Result<Cached<RequestDetail>, AppError> {
        let id = uuid::Uuid::parse_str(id)
            .map_err(|_| AppError::invalid("id", "must be a request id (UUID)"))?
            .to_string();
        // Bare `owner/name` app ids: fal expands each to its routes, so every route of up to 50
        // apps is searched (route-level ids would stop at the first 50 routes).
        let apps = self.apps(ws).await?;
        let endpoints: Vec<String> = apps.value.iter().map(|a| a.id.clone()).take(50).collect();
        if endpoints.is_empty() {
            // `endpoint_id` is required: nothing to search, so nothing is asked of fal.
            return Err(AppError::NotFound(format!(
                "request {id}: this workspace has no apps"
            )));
        }
        let w = self.workspace(ws)?;
        let fal: Arc<dyn FalApi> = w.fal.clone();
        let ttl = |d: &RequestDetail| {
            if d.row.cost == Cost::Pending || d.row.ended_at.is_none() {
                PENDING_TTL
            } else {
                REQUESTS_TTL
            }
        };
        let kind = if priced {
            "request"
        } else {
            "request_without_cost"
        };
        let cache_key = key(&w.id, kind, &[("id", id.clone())], None);
        let (clock, reports) = (self.0.clock.clone(), self.clone());
        self.cache()
            .get_or_fetch(cache_key, ttl, move || async move {
                let prices = reports.unit_prices(&w.id, priced).await;
                let q = fal_query::RequestsQuery {
                    endpoint_ids: endpoints,
                    request_id: Some(id.clone()),
                    billing: true,
                    ..fal_query::RequestsQuery::default()
                };
                let item = fal.requests(&q).await?.items.into_iter().next().ok_or(
                    UpstreamError::Status {
                        status: 404,
                        kind: "not_found".into(),
                        message: format!("request {id} was not found"),
                    },
                )?;
                let price = prices.and_then(|p| p.of_endpoint(&item.endpoint_id));
                let row = request_row(&item, price).ok_or_else(|| {
                    UpstreamError::Decode(format!("request {id}: a time without an offset"))
                })?;
                let logs_q = LogsQuery {
                    request_id: Some(id),
                    start: Some(row.sent_at - Duration::minutes(15)),
                    end: Some(row.ended_at.unwrap_or_else(|| clock.now()) + Duration::minutes(1)),
                    limit: Some(1000),
                    ..LogsQuery::default()
                };
                let mut logs: Vec<LogLine> = fal
                    .logs_history(&logs_q, &[])
                    .await?
                    .items
                    .into_iter()
                    .filter_map(log_line)
                    .collect();
                logs.reverse();
                Ok(RequestDetail { row, logs })
            })
            .await
            .map_err(|e| match e {
                UpstreamError::Status {
                    status: 404,
                    message,
                    ..
                } => AppError::NotFound(message),
                other => other.into(),
            })
    }
}

/// Each app's [`UnitPrice`], found by endpoint id.
#[derive(Debug)]
pub struct Prices {
    by_app: HashMap<String, UnitPrice>,
    index: AppIndex,
}

impl Prices {
    /// The price of the app serving `endpoint`.
    fn of_endpoint(&self, endpoint: &str) -> Option<UnitPrice> {
        self.by_app.get(self.index.of_endpoint(endpoint)).copied()
    }
}

/// Rows with costs from `prices`.
fn rows(items: &[RequestItem], prices: Option<&Prices>) -> Vec<RequestRow> {
    items
        .iter()
        .filter_map(|r| request_row(r, prices.and_then(|p| p.of_endpoint(&r.endpoint_id))))
        .collect()
}

/// Each app's price per machine-second from usage rows.
fn derive_prices(
    rows: &[crate::upstream::models::UsageRow],
    index: &AppIndex,
) -> HashMap<String, DerivedPrice> {
    let mut totals: HashMap<String, (f64, f64, Vec<f64>, Vec<String>)> = HashMap::new();
    for r in rows.iter().filter(|r| r.quantity > 0.0) {
        let app = index.of_usage(
            r.app.as_deref().unwrap_or_default(),
            r.environment.as_deref(),
        );
        let e = totals.entry(app.to_owned()).or_default();
        e.0 += r.cost_total;
        e.1 += r.quantity;
        // Rounded so float noise does not count as a second price.
        e.2.push((r.cost_total / r.quantity * 1e9).round() / 1e9);
        e.3.push(r.machine_type.clone());
    }
    totals
        .into_iter()
        .map(|(app, (cost, qty, mut seen, mut machines))| {
            seen.sort_by(f64::total_cmp);
            seen.dedup_by(|a, b| (*a - *b).abs() <= 1e-6 * b.abs());
            machines.sort();
            machines.dedup();
            let price = DerivedPrice {
                price: cost / qty,
                seen,
                machines,
            };
            (app, price)
        })
        .collect()
}
