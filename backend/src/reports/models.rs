//! The model endpoints a workspace watches: their analytics (fal's models analytics, the
//! team's own calls to fal's model APIs) and each one's SLA over its own period ending now
//! (`shared::models`). The watched list is falscope's own (fal has no "endpoints I called"):
//! stored in the data directory, read here, written by the API.

use super::{Derived, Reports};
use crate::error::AppError;
use crate::upstream::UpstreamError;
use shared::analytics::AnalyticsReport;
use shared::models::{ModelsReport, SlaState, WatchedModel};
use shared::query::{AnalyticsQuery, List, ModelsQuery, TimeExpr};
use shared::CacheStatus;
use std::collections::BTreeMap;

impl Reports {
    /// The model endpoints `ws` watches, oldest first (none without a data directory).
    pub fn watched_models(&self, ws: &str) -> Result<Vec<WatchedModel>, AppError> {
        self.workspace(ws)?;
        Ok(match self.db() {
            Some(db) => db.watched_models(ws)?,
            None => Vec::new(),
        })
    }

    /// Whether fal knows `endpoint` as a model endpoint the key may read: one small models
    /// analytics read (the last hour's summary). fal's 404 or 403 is a 400 saying so; any other
    /// failure lets it be watched (fal could not be asked; the page will say what fal answers).
    pub async fn check_model_endpoint(&self, ws: &str, endpoint: &str) -> Result<(), AppError> {
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

    /// The watched endpoints' analytics over `q`'s range and each one's SLA over its period,
    /// as fresh as the oldest read.
    pub async fn models_report(
        &self,
        ws: &str,
        q: &ModelsQuery,
    ) -> Result<Derived<ModelsReport>, AppError> {
        let watched = self.watched_models(ws)?;
        let now = self.now();
        if watched.is_empty() {
            let (from, to) = shared::query::resolve_range(
                q.from.as_ref(),
                q.to.as_ref(),
                now,
                chrono::Duration::hours(24),
            )?;
            return Ok(Derived {
                value: ModelsReport {
                    watched,
                    analytics: AnalyticsReport {
                        from,
                        to,
                        timeframe: shared::analytics::Timeframe::auto((to - from).num_seconds()),
                        series: Vec::new(),
                        summary: Vec::new(),
                    },
                    sla: Vec::new(),
                },
                as_of: now,
                status: CacheStatus::Hit,
            });
        }
        let aq = AnalyticsQuery {
            endpoints: List::of(
                &watched
                    .iter()
                    .map(|m| m.endpoint.clone())
                    .collect::<Vec<_>>(),
            ),
            from: q.from.clone(),
            to: q.to.clone(),
            timeframe: q.timeframe,
            tz: q.tz.clone(),
        };
        let analytics = self.models_analytics(ws, &aq).await?;
        let sla = self.sla_of(ws, &watched).await?;
        let (mut as_of, mut status) = (analytics.entry.as_of, analytics.status);
        if let Some(s) = &sla {
            as_of = as_of.min(s.as_of);
            if s.status == CacheStatus::Stale {
                status = CacheStatus::Stale;
            }
        }
        Ok(Derived {
            value: ModelsReport {
                watched,
                analytics: (*analytics.value).clone(),
                sla: sla.map(|s| s.value).unwrap_or_default(),
            },
            as_of,
            status,
        })
    }

    /// Every watched endpoint's SLA state (alert rules, `/metrics`).
    pub async fn sla_states(&self, ws: &str) -> Result<Vec<SlaState>, AppError> {
        let watched = self.watched_models(ws)?;
        Ok(self
            .sla_of(ws, &watched)
            .await?
            .map(|s| s.value)
            .unwrap_or_default())
    }

    /// The SLA states of `watched`: one models analytics read per distinct period (each
    /// cached like any analytics read); `None` when nothing is watched.
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
        let mut summaries = BTreeMap::new();
        let mut derived: Option<(chrono::DateTime<chrono::Utc>, CacheStatus)> = None;
        for (hours, endpoints) in by_period {
            let q = AnalyticsQuery {
                endpoints: List::of(&endpoints),
                from: Some(TimeExpr::unchecked(format!("now-{hours}h"))),
                ..AnalyticsQuery::default()
            };
            let report = self.models_analytics(ws, &q).await?;
            let (as_of, status) = derived.get_or_insert((report.entry.as_of, report.status));
            *as_of = (*as_of).min(report.entry.as_of);
            if report.status == CacheStatus::Stale {
                *status = CacheStatus::Stale;
            }
            let range = (report.value.from, report.value.to.min(self.now()));
            for e in endpoints {
                let summary = report
                    .value
                    .summary
                    .iter()
                    .find(|s| s.endpoint == e && s.requests > 0)
                    .cloned();
                summaries.insert(e, (summary, range));
            }
        }
        let Some((as_of, status)) = derived else {
            return Ok(None);
        };
        let states = watched
            .iter()
            .map(|m| {
                let (summary, range) = &summaries[&m.endpoint];
                SlaState::judge(&m.endpoint, &m.sla, summary.as_ref(), *range)
            })
            .collect();
        Ok(Some(Derived {
            value: states,
            as_of,
            status,
        }))
    }
}
