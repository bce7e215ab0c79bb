//! The model endpoints a workspace watches: their analytics (fal's models analytics, the
//! team's own calls to fal's model APIs) and each one's SLA over its own period ending now
//! (`shared::models`). The watched list is falscope's own (fal has no "endpoints I called"),
//! stored in the data directory.
//!
//! fal refuses a whole analytics call when it refuses one of its endpoints (403/404, REFERENCE
//! §0.1): a refused batch is read again endpoint by endpoint, and the refused ones are named
//! instead of blanking the others.

use super::{Derived, Reports};
use crate::cache::Cached;
use crate::error::AppError;
use crate::upstream::UpstreamError;
use chrono::{DateTime, Utc};
use shared::analytics::{AnalyticsReport, Timeframe};
use shared::models::{check_endpoint, ModelsReport, SlaState, WatchedModel, MAX_WATCHED};
use shared::query::{AnalyticsQuery, List, ModelsQuery, TimeExpr};
use shared::CacheStatus;
use std::collections::BTreeMap;

/// What fal refused: `(endpoint, why)`.
type Refused = Vec<(String, String)>;

impl Reports {
    /// The model endpoints `ws` watches, oldest first (none without a data directory).
    pub async fn watched_models(&self, ws: &str) -> Result<Vec<WatchedModel>, AppError> {
        self.workspace(ws)?;
        Ok(match self.db() {
            Some(db) => db.watched_models(ws).await?,
            None => Vec::new(),
        })
    }

    /// The endpoints `ws` offers for watching that it does not watch yet (`watched`).
    pub fn model_suggestions(
        &self,
        ws: &str,
        watched: &[WatchedModel],
    ) -> Result<Vec<String>, AppError> {
        let w = self.workspace(ws)?;
        Ok((w.suggested_models.iter())
            .filter(|id| !watched.iter().any(|m| m.endpoint == **id))
            .cloned()
            .collect())
    }

    /// Watches `m` (or changes its SLA): its id in fal's form, its objectives checked, fal
    /// asked once whether it knows it; at most [`MAX_WATCHED`] per workspace.
    pub async fn watch_model(&self, ws: &str, m: &WatchedModel) -> Result<(), AppError> {
        check_endpoint(&m.endpoint).map_err(|e| AppError::invalid("endpoint", e))?;
        m.sla
            .check()
            .map_err(|(field, e)| AppError::invalid(field, e))?;
        let db = self.settings_db()?;
        self.check_model_endpoint(ws, &m.endpoint).await?;
        if db
            .watch_model(ws, m, self.now().timestamp_millis(), MAX_WATCHED)
            .await?
        {
            Ok(())
        } else {
            Err(AppError::invalid(
                "endpoint",
                format!("a workspace watches at most {MAX_WATCHED} model endpoints (what one fal call takes); remove one first"),
            ))
        }
    }

    /// Stops watching `endpoint`; a 404 when it was not watched.
    pub async fn unwatch_model(&self, ws: &str, endpoint: &str) -> Result<(), AppError> {
        self.workspace(ws)?;
        if self.settings_db()?.unwatch_model(ws, endpoint).await? {
            Ok(())
        } else {
            Err(AppError::NotFound(format!(
                "watched model endpoint {endpoint:?}"
            )))
        }
    }

    fn settings_db(&self) -> Result<&crate::store::Store, AppError> {
        self.db().ok_or_else(|| {
            AppError::Conflict(
                "watched model endpoints are stored in --data-dir (FALSCOPE_DATA_DIR), which is not usable"
                    .into(),
            )
        })
    }

    /// Whether fal knows `endpoint` as a model endpoint the key may read: one small models
    /// analytics read (the last hour). fal's 404 or 403 is a 400 saying so; any other failure
    /// lets it be watched (fal could not be asked; the page will say what fal answers).
    async fn check_model_endpoint(&self, ws: &str, endpoint: &str) -> Result<(), AppError> {
        let q = AnalyticsQuery {
            endpoints: List::of(&[endpoint.to_owned()]),
            from: Some(TimeExpr::unchecked("now-1h")),
            ..AnalyticsQuery::default()
        };
        match self.models_analytics(ws, &q).await {
            Ok(_) => Ok(()),
            Err(AppError::Upstream(UpstreamError::Refused { status, .. })) => {
                Err(AppError::invalid(
                    "endpoint",
                    format!(
                        "fal answers {status} for {endpoint:?}: {} (check the id on fal's model page)",
                        if status == 404 {
                            "it knows no such model endpoint"
                        } else {
                            "this key may not read its analytics"
                        }
                    ),
                ))
            }
            Err(err) => {
                tracing::warn!(%err, %endpoint, "could not check a model endpoint with fal; watching it anyway");
                Ok(())
            }
        }
    }

    /// The models analytics of `q` over `endpoints`; endpoints fal refuses are left out and
    /// named (`None`: it refused them all).
    async fn models_analytics_of(
        &self,
        ws: &str,
        endpoints: &[String],
        mut q: AnalyticsQuery,
    ) -> Result<(Option<Cached<AnalyticsReport>>, Refused), AppError> {
        let refused_because = |status: u16| format!("fal answers {status} for it");
        q.endpoints = List::of(endpoints);
        match self.models_analytics(ws, &q).await {
            Err(AppError::Upstream(UpstreamError::Refused { status, .. })) => {
                if endpoints.len() == 1 {
                    return Ok((None, vec![(endpoints[0].clone(), refused_because(status))]));
                }
                let (mut kept, mut refused) = (Vec::new(), Vec::new());
                for e in endpoints {
                    let mut one = q.clone();
                    one.endpoints = List::of(std::slice::from_ref(e));
                    match self.models_analytics(ws, &one).await {
                        Err(AppError::Upstream(UpstreamError::Refused { status, .. })) => {
                            refused.push((e.clone(), refused_because(status)));
                        }
                        _ => kept.push(e.clone()),
                    }
                }
                if kept.is_empty() {
                    return Ok((None, refused));
                }
                q.endpoints = List::of(&kept);
                Ok((Some(self.models_analytics(ws, &q).await?), refused))
            }
            other => other.map(|r| (Some(r), Vec::new())),
        }
    }

    /// The watched endpoints' analytics over `q`'s range and each one's SLA over its period,
    /// as fresh as the oldest read.
    pub async fn models_report(
        &self,
        ws: &str,
        q: &ModelsQuery,
    ) -> Result<Derived<ModelsReport>, AppError> {
        let watched = self.watched_models(ws).await?;
        let now = self.now();
        let (from, to) = shared::query::resolve_range(
            q.from.as_ref(),
            q.to.as_ref(),
            now,
            chrono::Duration::hours(24),
        )?;
        let empty = AnalyticsReport {
            from,
            to,
            timeframe: q
                .timeframe
                .unwrap_or_else(|| Timeframe::auto((to - from).num_seconds())),
            series: Vec::new(),
            summary: Vec::new(),
        };
        let (mut as_of, mut status) = (now, CacheStatus::Hit);
        let mut freshest = |entry_as_of: DateTime<Utc>, s: CacheStatus| {
            as_of = as_of.min(entry_as_of);
            if s == CacheStatus::Stale {
                status = CacheStatus::Stale;
            }
        };
        let endpoints: Vec<String> = watched.iter().map(|m| m.endpoint.clone()).collect();
        let (analytics, refused) = if endpoints.is_empty() {
            (empty, Vec::new())
        } else {
            let aq = AnalyticsQuery {
                endpoints: List::default(),
                from: q.from.clone(),
                to: q.to.clone(),
                timeframe: q.timeframe,
                tz: q.tz.clone(),
            };
            match self.models_analytics_of(ws, &endpoints, aq).await? {
                (Some(r), refused) => {
                    freshest(r.entry.as_of, r.status);
                    ((*r.value).clone(), refused)
                }
                (None, refused) => (empty, refused),
            }
        };
        let sla = match self.sla_of(ws, &watched).await? {
            Some(d) => {
                freshest(d.as_of, d.status);
                d.value
            }
            None => Vec::new(),
        };
        Ok(Derived {
            value: ModelsReport {
                watched,
                analytics,
                sla,
                refused: refused
                    .into_iter()
                    .map(|(e, why)| format!("{e}: {why}"))
                    .collect(),
            },
            as_of,
            status,
        })
    }

    /// Every watched endpoint's SLA state (alert rules, `/metrics`).
    pub async fn sla_states(&self, ws: &str) -> Result<Vec<SlaState>, AppError> {
        let watched = self.watched_models(ws).await?;
        Ok(self
            .sla_of(ws, &watched)
            .await?
            .map(|s| s.value)
            .unwrap_or_default())
    }

    /// The SLA states of `watched`: one models analytics read per distinct period (each
    /// cached like any analytics read), in minute buckets up to two hours and hour buckets
    /// beyond, so fal aligns nothing outside the hours falscope asked for; `None` when nothing
    /// is watched.
    async fn sla_of(
        &self,
        ws: &str,
        watched: &[WatchedModel],
    ) -> Result<Option<Derived<Vec<SlaState>>>, AppError> {
        let mut by_period: BTreeMap<u32, Vec<String>> = BTreeMap::new();
        for m in watched {
            by_period
                .entry(m.sla.period_hours)
                .or_default()
                .push(m.endpoint.clone());
        }
        let now = self.now();
        let mut judged: BTreeMap<String, Judged> = BTreeMap::new();
        let mut derived: Option<(DateTime<Utc>, CacheStatus)> = None;
        for (hours, endpoints) in by_period {
            let q = AnalyticsQuery {
                endpoints: List::default(),
                from: Some(TimeExpr::unchecked(format!("now-{hours}h"))),
                to: None,
                timeframe: Some(if hours <= 2 {
                    Timeframe::Minute
                } else {
                    Timeframe::Hour
                }),
                tz: None,
            };
            let (report, refused) = self.models_analytics_of(ws, &endpoints, q).await?;
            let range = report.as_ref().map_or(
                (now - chrono::Duration::hours(i64::from(hours)), now),
                |r| (r.value.from, r.value.to.min(now)),
            );
            if let Some(r) = &report {
                let (as_of, status) = derived.get_or_insert((r.entry.as_of, r.status));
                *as_of = (*as_of).min(r.entry.as_of);
                if r.status == CacheStatus::Stale {
                    *status = CacheStatus::Stale;
                }
            }
            for e in endpoints {
                let why = refused
                    .iter()
                    .find(|(r, _)| *r == e)
                    .map(|(_, w)| w.clone());
                let summary = report.as_ref().and_then(|r| {
                    r.value
                        .summary
                        .iter()
                        .find(|s| s.endpoint == e && s.requests > 0)
                        .cloned()
                });
                judged.insert(
                    e,
                    Judged {
                        summary,
                        range,
                        refused: why,
                    },
                );
            }
        }
        if watched.is_empty() {
            return Ok(None);
        }
        let (as_of, status) = derived.unwrap_or((now, CacheStatus::Hit));
        let states = watched
            .iter()
            .filter_map(|m| {
                let j = judged.get(&m.endpoint)?;
                let mut state = SlaState::judge(&m.endpoint, &m.sla, j.summary.as_ref(), j.range);
                state.refused = j.refused.clone();
                Some(state)
            })
            .collect();
        Ok(Some(Derived {
            value: states,
            as_of,
            status,
        }))
    }
}

/// One endpoint's summary over its SLA period.
struct Judged {
    summary: Option<shared::analytics::AnalyticsSummary>,
    range: (DateTime<Utc>, DateTime<Utc>),
    refused: Option<String>,
}
