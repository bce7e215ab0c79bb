//! Requests with their cost (billable units × the app's effective unit price), and one request
//! with its logs.

use super::params::Params;
use super::respond::fetched;
use crate::auth::Caller;
use crate::cache::key;
use crate::cost::UnitPrice;
use crate::error::AppError;
use crate::state::AppState;
use crate::upstream::convert::{app_of_endpoint, request_row};
use crate::upstream::query::{
    LogsQuery, RequestSort, RequestStatus, RequestsQuery, UsageQuery, Window,
};
use crate::upstream::{FalApi, UpstreamError};
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use axum::Extension;
use chrono::{Duration, Utc};
use shared::auth::Role;
use shared::logs::LogLine;
use shared::requests::{Cost, RequestDetail, RequestsPage};
use std::collections::HashMap;
use std::sync::Arc;

/// Finished requests do not change, except `billable_units` arriving later.
const REQUESTS_TTL: std::time::Duration = std::time::Duration::from_secs(30);
/// While some row is still unbilled, look again soon.
const PENDING_TTL: std::time::Duration = std::time::Duration::from_secs(10);
/// Unit prices come from a week of usage; they drift slowly.
const PRICES_TTL: std::time::Duration = std::time::Duration::from_secs(600);
pub const ALLOWED: &[&str] = &[
    "endpoints",
    "from",
    "to",
    "status",
    "sort",
    "limit",
    "cursor",
];

fn has_pending(page: &RequestsPage) -> bool {
    page.items
        .iter()
        .any(|r| r.cost == Cost::Pending || r.ended_at.is_none())
}

/// Whether `caller` may see spend and costs (billing and up: they come from usage, read with
/// the ADMIN key). Requests, `/metrics` and the cost views ask.
pub fn may_see_cost(caller: &Caller) -> bool {
    caller.role() >= Some(Role::Billing)
}

/// What 7 days of usage say about an app's price per machine-second.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct DerivedPrice {
    /// Spend ÷ machine-seconds (surge and discounts included).
    pub price: f64,
    /// Distinct effective prices of its usage rows, lowest first.
    pub seen: Vec<f64>,
    /// Machine types billed.
    pub machines: Vec<String>,
}

/// Every app's [`DerivedPrice`] (ADMIN key; cached 10 minutes).
pub(crate) async fn derived_prices(
    state: &AppState,
    ws: &str,
) -> Result<Arc<HashMap<String, DerivedPrice>>, AppError> {
    let w = state.workspace(ws)?;
    let fal: Arc<dyn FalApi> = w.fal.clone();
    let clock = state.clock.clone();
    let cached = state
        .cache
        .get_or_fetch(
            key(&w.id, "unit_prices", &[], None),
            |_| PRICES_TTL,
            move || async move {
                let now = clock.now();
                let q = UsageQuery {
                    summary: true,
                    window: Window {
                        start: Some(now - Duration::days(7)),
                        end: Some(now),
                        ..Window::default()
                    },
                    limit: Some(1000),
                    ..UsageQuery::default()
                };
                let rows = fal.usage(&q).await?.summary.unwrap_or_default();
                let mut totals: HashMap<String, (f64, f64, Vec<f64>, Vec<String>)> = HashMap::new();
                for r in rows.iter().filter(|r| r.quantity > 0.0) {
                    let e = totals.entry(r.app.clone().unwrap_or_default()).or_default();
                    e.0 += r.cost_total;
                    e.1 += r.quantity;
                    // Rounded so float noise does not count as a second price.
                    e.2.push((r.cost_total / r.quantity * 1e9).round() / 1e9);
                    e.3.push(r.machine_type.clone());
                }
                Ok(totals
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
                    .collect::<HashMap<_, _>>())
            },
        )
        .await?;
    Ok(cached.value)
}

/// Effective price per billable unit (machine-second) of each app: the admin's price table
/// first, else 7 days of usage. `None` without an ADMIN key, when usage cannot be read, or when
/// `caller`'s role may not see costs.
pub async fn unit_prices(
    state: &AppState,
    ws: &str,
    caller: &Caller,
) -> Option<Arc<HashMap<String, UnitPrice>>> {
    if !may_see_cost(caller) || !state.workspace(ws).ok()?.fal.has_admin_key() {
        return None;
    }
    let derived = derived_prices(state, ws).await.ok()?;
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
    if let Some(db) = &state.db {
        // The admin's price is one price: not a blend.
        prices.extend(
            db.prices(ws)
                .unwrap_or_default()
                .into_iter()
                .map(|(app, price)| {
                    (
                        app,
                        UnitPrice {
                            price,
                            blended: false,
                        },
                    )
                }),
        );
    }
    Some(Arc::new(prices))
}

/// `GET /api/ws/{ws}/requests`.
pub async fn list_requests(
    State(state): State<AppState>,
    Path(ws): Path<String>,
    RawQuery(raw): RawQuery,
    Extension(caller): Extension<Caller>,
) -> Result<Response, AppError> {
    let p = Params::parse(raw.as_deref(), ALLOWED)?;
    let q = query(&p, state.now())?;
    let w = state.workspace(&ws)?;
    let prices = unit_prices(&state, &ws, &caller).await;
    let fal: Arc<dyn FalApi> = w.fal.clone();
    let ttl = |page: &RequestsPage| {
        if has_pending(page) {
            PENDING_TTL
        } else {
            REQUESTS_TTL
        }
    };
    let cached = state
        .cache
        .get_or_fetch(
            key(&w.id, priced("requests", &caller), &p.pairs(), None),
            ttl,
            move || async move {
                let page = fal.requests(&q).await?;
                Ok(RequestsPage {
                    items: rows(&page.items, prices.as_deref()),
                    next_cursor: page.next_cursor,
                })
            },
        )
        .await?;
    Ok(fetched::<RequestsPage>(&cached))
}

/// Cache-key kind: views with and without costs are cached apart.
fn priced(kind: &'static str, caller: &Caller) -> &'static str {
    match (kind, may_see_cost(caller)) {
        ("requests", false) => "requests_without_cost",
        ("request", false) => "request_without_cost",
        _ => kind,
    }
}

/// Rows with costs from `prices` (per app).
pub fn rows(
    items: &[crate::upstream::models::RequestItem],
    prices: Option<&HashMap<String, UnitPrice>>,
) -> Vec<shared::requests::RequestRow> {
    let price = |endpoint: &str| prices.and_then(|p| p.get(app_of_endpoint(endpoint)).copied());
    items
        .iter()
        .map(|r| request_row(r, price(&r.endpoint_id)))
        .collect()
}

/// The fal query of a requests view.
pub fn query(p: &Params, now: chrono::DateTime<Utc>) -> Result<RequestsQuery, AppError> {
    let (from, to) = p.range(now, Duration::hours(24))?;
    Ok(RequestsQuery {
        endpoint_ids: p.required_list("endpoints", 50)?,
        limit: Some(p.int("limit", 50, 1, 100)?),
        cursor: p.get("cursor").map(str::to_owned),
        start: Some(from),
        end: Some(to),
        status: p.choice(
            "status",
            &[
                ("success", RequestStatus::Success),
                ("user_error", RequestStatus::UserError),
                ("error", RequestStatus::Error),
            ],
        )?,
        request_id: None,
        payloads: false,
        billing: true,
        sort_by: p.choice(
            "sort",
            &[
                ("ended_at", RequestSort::EndedAt),
                ("duration", RequestSort::Duration),
            ],
        )?,
    })
}

/// `GET /api/ws/{ws}/requests/{id}`: the row (found across every endpoint of the workspace)
/// and its logs.
pub async fn get_request(
    State(state): State<AppState>,
    Path((ws, id)): Path<(String, String)>,
    Extension(caller): Extension<Caller>,
) -> Result<Response, AppError> {
    let id = uuid::Uuid::parse_str(&id)
        .map_err(|_| AppError::invalid("id", "must be a request id (UUID)"))?
        .to_string();
    let apps = super::apps::apps(&state, &ws).await?;
    let endpoints: Vec<String> = apps
        .value
        .iter()
        .flat_map(|a| a.endpoints.iter().cloned())
        .take(50)
        .collect();
    let w = state.workspace(&ws)?;
    let prices = unit_prices(&state, &ws, &caller).await;
    let fal: Arc<dyn FalApi> = w.fal.clone();
    let ttl = |d: &RequestDetail| {
        if d.row.cost == Cost::Pending || d.row.ended_at.is_none() {
            PENDING_TTL
        } else {
            REQUESTS_TTL
        }
    };
    let cache_key = key(
        &w.id,
        priced("request", &caller),
        &[("id", id.clone())],
        None,
    );
    let cached =
        state
            .cache
            .get_or_fetch(cache_key, ttl, move || async move {
                let q = RequestsQuery {
                    endpoint_ids: endpoints,
                    request_id: Some(id.clone()),
                    billing: true,
                    ..RequestsQuery::default()
                };
                let item = fal.requests(&q).await?.items.into_iter().next().ok_or(
                    UpstreamError::Status {
                        status: 404,
                        kind: "not_found".into(),
                        message: format!("request {id} was not found"),
                    },
                )?;
                let price = prices
                    .as_ref()
                    .and_then(|p| p.get(app_of_endpoint(&item.endpoint_id)).copied());
                let row = request_row(&item, price);
                let logs_q = LogsQuery {
                    request_id: Some(id),
                    start: Some(row.sent_at - Duration::minutes(15)),
                    end: Some(row.ended_at.unwrap_or_else(Utc::now) + Duration::minutes(1)),
                    limit: Some(1000),
                    ..LogsQuery::default()
                };
                let mut logs: Vec<LogLine> = fal
                    .logs_history(&logs_q, &[])
                    .await?
                    .items
                    .into_iter()
                    .map(LogLine::from)
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
            })?;
    Ok(fetched::<RequestDetail>(&cached))
}
