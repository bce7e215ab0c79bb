//! The workspace's apps of every environment, and their [`AppIndex`]. Apps live in
//! environments and fal's apps list answers the main one unless asked, so the environments a
//! week of usage names are listed too.

use super::{iso, Derived, Reports};
use crate::cache::{key, Cached};
use crate::error::AppError;
use crate::upstream::models::UsageRow;
use crate::upstream::query::{UsageQuery, Window};
use crate::upstream::{FalApi, UpstreamError};
use chrono::Duration;
use shared::apps::{AppIndex, AppSummary, DefaultEndpoints, MAX_ENDPOINTS};
use shared::query::{AnalyticsQuery, List, TimeExpr};
use shared::CacheStatus;
use std::collections::BTreeSet;
use std::sync::Arc;

/// Deployments change rarely.
const APPS_TTL: std::time::Duration = std::time::Duration::from_secs(300);
/// A week of usage rows (prices, environments); they drift slowly.
const WEEK_TTL: std::time::Duration = std::time::Duration::from_secs(600);

impl Reports {
    /// The workspace's apps: the main environment's, then those of every environment a week of
    /// usage names (ADMIN key), one list per environment; a list fal refuses is left out.
    pub async fn apps(&self, ws: &str) -> Result<Cached<Vec<AppSummary>>, AppError> {
        let w = self.workspace(ws)?;
        let environments = self.environments(ws).await;
        let fal: Arc<dyn FalApi> = w.fal.clone();
        let pairs = [("environments", environments.join(","))];
        let cached = self
            .cache()
            .get_or_fetch(
                key(&w.id, "apps", &pairs, None),
                |_| APPS_TTL,
                move || list_every_environment(fal, environments),
            )
            .await?;
        Ok(cached)
    }

    /// The name of the app a person means by `given` (its name or its id `owner/name`): the
    /// one identity rules, pages and fal's operations share. An app the workspace does not
    /// have is a 400 naming the apps it has.
    pub async fn app_named(&self, ws: &str, given: &str) -> Result<String, AppError> {
        Ok(self.app_summary_named(ws, given).await?.name)
    }

    /// The app a person means by `given`, as fal lists it ([`Self::app_named`]).
    pub async fn app_summary_named(&self, ws: &str, given: &str) -> Result<AppSummary, AppError> {
        let apps = self.apps(ws).await?.value;
        let index = AppIndex::new(apps);
        if let Some(app) = index.named(given) {
            return Ok(app.clone());
        }
        let mut names: Vec<&str> = index.apps().iter().map(|a| a.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        Err(AppError::invalid(
            "app",
            format!(
                "{given:?} is not an app of workspace {ws:?} (its apps: {}); leave it empty for all apps",
                if names.is_empty() { "none".to_owned() } else { names.join(", ") }
            ),
        ))
    }

    /// The endpoints pages show before anyone picks: every endpoint of the workspace, or past
    /// the 50 one fal call takes, the 50 busiest by requests over the last 24 hours (one
    /// analytics call per 50 endpoints, each cached like any analytics read; ties keep fal's
    /// order). As fresh as its oldest input.
    pub async fn default_endpoints(&self, ws: &str) -> Result<Derived<DefaultEndpoints>, AppError> {
        let apps = self.apps(ws).await?;
        let mut seen = BTreeSet::new();
        let all: Vec<String> = apps
            .value
            .iter()
            .flat_map(|a| a.endpoints.iter())
            .filter(|e| seen.insert(e.as_str()))
            .cloned()
            .collect();
        let (mut as_of, mut status) = (apps.entry.as_of, apps.status);
        let total = all.len();
        let traffic = if total > MAX_ENDPOINTS {
            self.traffic(ws, &all).await
        } else {
            None
        };
        let value = match traffic {
            Some(t) => {
                as_of = as_of.min(t.as_of);
                if t.status == CacheStatus::Stale {
                    status = CacheStatus::Stale;
                }
                DefaultEndpoints {
                    endpoints: busiest(&all, &t.value),
                    total,
                    busiest: true,
                }
            }
            // Every endpoint, or without the traffic the first 50 in fal's order: the pages
            // still open on data and say which endpoints they show.
            None => DefaultEndpoints {
                endpoints: all.into_iter().take(MAX_ENDPOINTS).collect(),
                total,
                busiest: false,
            },
        };
        Ok(Derived {
            value,
            as_of,
            status,
        })
    }

    /// Requests over the last 24 hours of each of `all` (same positions): one analytics call
    /// per 50 endpoints, each cached like any analytics read. `None` when fal does not answer.
    async fn traffic(&self, ws: &str, all: &[String]) -> Option<Derived<Vec<u64>>> {
        let mut requests = vec![0_u64; all.len()];
        let (mut as_of, mut status) = (self.now(), CacheStatus::Hit);
        for (n, chunk) in all.chunks(MAX_ENDPOINTS).enumerate() {
            let q = AnalyticsQuery {
                endpoints: List::of(chunk),
                from: Some(TimeExpr::unchecked("now-24h")),
                to: Some(TimeExpr::unchecked("now")),
                timeframe: Some(shared::analytics::Timeframe::Day),
                tz: None,
            };
            let report = match self.analytics(ws, &q).await {
                Ok(report) => report,
                Err(e) => {
                    tracing::warn!(workspace = ws, error = %e, "endpoint traffic unavailable: showing the first 50");
                    return None;
                }
            };
            as_of = as_of.min(report.entry.as_of);
            if report.status == CacheStatus::Stale {
                status = CacheStatus::Stale;
            }
            for s in &report.value.summary {
                if let Some(i) = chunk.iter().position(|e| *e == s.endpoint) {
                    requests[n * MAX_ENDPOINTS + i] += s.requests;
                }
            }
        }
        Some(Derived {
            value: requests,
            as_of,
            status,
        })
    }

    /// The [`AppIndex`] of the workspace; empty (names pass through) when fal cannot list apps.
    pub async fn app_index(&self, ws: &str) -> AppIndex {
        match self.apps(ws).await {
            Ok(apps) => AppIndex::new(apps.value),
            Err(e) => {
                tracing::debug!(workspace = ws, error = %e, "apps unavailable: names are not joined");
                AppIndex::default()
            }
        }
    }

    /// A week of usage summary rows to the hour, as fal names them (ADMIN key).
    pub(super) async fn usage_week(&self, ws: &str) -> Result<Arc<Vec<UsageRow>>, AppError> {
        let w = self.admin_workspace(ws)?;
        let fal: Arc<dyn FalApi> = w.fal.clone();
        // One entry per hour however often it is read.
        let to = super::align(self.now(), self.now(), Duration::hours(1)).0;
        let cached = self
            .cache()
            .get_or_fetch(
                key(&w.id, "usage_week", &[("to", iso(to))], None),
                |_| WEEK_TTL,
                move || async move {
                    let q = UsageQuery {
                        summary: true,
                        window: Window {
                            start: Some(to - Duration::days(7)),
                            end: Some(to),
                            // Exactly the week asked for (fal would move the start back).
                            bound_to_timeframe: Some(false),
                            ..Window::default()
                        },
                        ..UsageQuery::default()
                    };
                    let (_, rows) = super::all_pages(
                        |cursor| {
                            let q = UsageQuery {
                                cursor,
                                ..q.clone()
                            };
                            let fal = fal.clone();
                            async move { fal.usage(&q).await }
                        },
                        super::usage_row_key,
                    )
                    .await?;
                    Ok(rows)
                },
            )
            .await?;
        Ok(cached.value)
    }

    /// Environments other than the main one that a week of usage names (none without an ADMIN
    /// key or when usage cannot be read: the main environment's apps still join).
    async fn environments(&self, ws: &str) -> Vec<String> {
        let Ok(rows) = self.usage_week(ws).await else {
            return Vec::new();
        };
        let named: BTreeSet<&str> = rows
            .iter()
            .filter_map(|r| r.environment.as_deref())
            .filter(|e| !e.is_empty())
            .collect();
        named.into_iter().map(str::to_owned).collect()
    }
}

/// Lists the main environment, then each of `environments` not already listed.
async fn list_every_environment(
    fal: Arc<dyn FalApi>,
    environments: Vec<String>,
) -> Result<Vec<AppSummary>, UpstreamError> {
    let mut apps: Vec<AppSummary> = summaries(fal.list_apps(None).await?.apps);
    for env in environments {
        if apps.iter().any(|a| a.environment == env) {
            continue;
        }
        match fal.list_apps(Some(&env)).await {
            Ok(list) => apps.extend(summaries(list.apps)),
            // A usage environment need not be a name the apps list takes.
            Err(e) => {
                tracing::info!(environment = %env, error = %e, "apps of this environment not listed")
            }
        }
    }
    Ok(apps)
}

fn summaries(apps: Vec<crate::upstream::models::App>) -> Vec<AppSummary> {
    apps.into_iter()
        .map(|a| AppSummary {
            endpoints: a.endpoints.unwrap_or_else(|| vec![a.endpoint_id.clone()]),
            id: a.endpoint_id,
            name: a.name,
            owner: a.owner,
            environment: a.environment,
            machine_type: a.machine_type,
        })
        .collect()
}

/// The [`MAX_ENDPOINTS`] of `all` with the most `requests` (same positions), busiest first;
/// ties keep `all`'s order.
fn busiest(all: &[String], requests: &[u64]) -> Vec<String> {
    let mut order: Vec<usize> = (0..all.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(requests.get(i).copied().unwrap_or(0)));
    order
        .into_iter()
        .take(MAX_ENDPOINTS)
        .map(|i| all[i].clone())
        .collect()
}

/// The endpoint ids of `app` (or of every app), at most the 50 one analytics call takes.
pub fn endpoints(apps: &[AppSummary], app: Option<&str>) -> Vec<String> {
    apps.iter()
        .filter(|a| app.is_none_or(|name| a.name == name))
        .flat_map(|a| a.endpoints.iter().cloned())
        .take(50)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{busiest, MAX_ENDPOINTS};

    #[test]
    fn past_fifty_endpoints_the_busiest_fifty_are_shown_busiest_first() {
        let all: Vec<String> = (0..120).map(|i| format!("acme/app-{i}")).collect();
        // Every third endpoint is busy, endpoint 7 the busiest; the rest are idle.
        let requests: Vec<u64> = (0..120_u64)
            .map(|i| match i {
                7 => 10_000,
                i if i % 3 == 0 => 100 + i,
                _ => 0,
            })
            .collect();
        let shown = busiest(&all, &requests);
        assert_eq!(shown.len(), MAX_ENDPOINTS);
        assert_eq!(shown[0], "acme/app-7");
        assert_eq!(shown[1], "acme/app-117", "then by count, highest first");
        // 40 busy ones, then idle ones in the workspace's order.
        assert_eq!(shown[41], "acme/app-1");
        assert!(!shown.contains(&"acme/app-119".to_owned()));
    }
}
