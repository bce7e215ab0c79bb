//! Log history with filters and paging, its CSV pages, and the shared live tail.

use super::requests::Pages;
use super::{align_moving, iso, Reports};
use crate::cache::{key, Cached};
use crate::error::AppError;
use crate::logs_hub::Subscription;
use crate::upstream::convert::log_line;
use crate::upstream::models::{LabelCondition, LabelFilter, LabelValue};
use crate::upstream::query::LogsQuery as FalLogsQuery;
use crate::upstream::FalApi;
use chrono::Duration;
use shared::logs::{LogLine, LogsPage};
use shared::query::{resolve_range, LogFilter, LogsQuery};
use std::sync::Arc;

/// Log history of a past range never changes; recent ranges gain lines — 15 s is a fair trade.
const LOGS_TTL: std::time::Duration = std::time::Duration::from_secs(15);
/// History windows are aligned to this (their ends clamped to now when fetched).
const LOGS_STEP: Duration = Duration::seconds(15);

/// fal's form of a filter: the query fields and the label conditions.
fn fal_filter(f: &LogFilter) -> Result<(FalLogsQuery, Vec<LabelFilter>), AppError> {
    let labels = f
        .labels()?
        .into_iter()
        .map(|(key, value, equals)| LabelFilter {
            key,
            value: LabelValue::One(value),
            condition_type: Some(if equals {
                LabelCondition::Equals
            } else {
                LabelCondition::NotEquals
            }),
        })
        .collect();
    let q = FalLogsQuery {
        app_ids: f.apps.values().to_vec(),
        level: f.level.map(|l| l.as_str().to_owned()),
        search: f.search.clone(),
        request_id: f.request_id.clone(),
        ..FalLogsQuery::default()
    };
    Ok((q, labels))
}

/// A key part for the filter (labels included).
fn filter_pairs(q: &FalLogsQuery) -> Vec<(&'static str, String)> {
    let mut pairs = vec![("apps", q.app_ids.join(","))];
    pairs.extend(q.level.clone().map(|l| ("level", l)));
    pairs.extend(q.search.clone().map(|s| ("search", s)));
    pairs.extend(q.request_id.clone().map(|s| ("request_id", s)));
    pairs
}

impl Reports {
    /// One page of log history.
    pub async fn logs(&self, ws: &str, q: &LogsQuery) -> Result<Cached<LogsPage>, AppError> {
        let (mut fq, labels) = self.fal_logs(q)?;
        fq.limit = Some(q.limit.map_or(200, |l| l.get()));
        fq.cursor = q.cursor.clone();
        let w = self.workspace(ws)?;
        let mut pairs = filter_pairs(&fq);
        pairs.push(("from", fq.start.map(iso).unwrap_or_default()));
        pairs.push(("to", fq.end.map(iso).unwrap_or_default()));
        pairs.push(("limit", fq.limit.unwrap_or_default().to_string()));
        pairs.extend(fq.cursor.clone().map(|c| ("cursor", c)));
        let body = serde_json::to_string(&labels).unwrap_or_default();
        let fal: Arc<dyn FalApi> = w.fal.clone();
        let clock = self.0.clock.clone();
        Ok(self
            .cache()
            .get_or_fetch(
                key(&w.id, "logs", &pairs, Some(&body)),
                |_| LOGS_TTL,
                move || async move {
                    fq.end = fq.end.map(|e| e.min(clock.now()));
                    let page = fal.logs_history(&fq, &labels).await?;
                    Ok(LogsPage {
                        items: page.items.into_iter().filter_map(log_line).collect(),
                        next_cursor: page.next_cursor,
                    })
                },
            )
            .await?)
    }

    /// Every page of `q` (1,000 lines each), for the CSV export: uncached, read as it streams.
    pub fn logs_pages(&self, ws: &str, q: &LogsQuery) -> Result<Pages<LogLine>, AppError> {
        let (mut fq, labels) = self.fal_logs(q)?;
        fq.limit = Some(1000);
        fq.end = fq.end.map(|e| e.min(self.now()));
        let fal: Arc<dyn FalApi> = self.workspace(ws)?.fal.clone();
        Ok(Arc::new(move |cursor| {
            let (fal, labels, mut fq) = (fal.clone(), labels.clone(), fq.clone());
            fq.cursor = cursor;
            Box::pin(async move {
                let page = fal.logs_history(&fq, &labels).await?;
                let lines = page.items.into_iter().filter_map(log_line).collect();
                Ok((lines, page.next_cursor))
            })
        }))
    }

    /// A live tail of `filter`: viewers with the same filter share one fal stream. It starts
    /// now: fal's stream replays the last 24 hours when no `start` is sent (§0.1); on resume the
    /// hub sends the last timestamp it saw.
    pub fn tail(&self, ws: &str, filter: &LogFilter) -> Result<Subscription, AppError> {
        let (mut q, labels) = fal_filter(filter)?;
        q.start = Some(self.now());
        let w = self.workspace(ws)?;
        let body = serde_json::to_string(&labels).unwrap_or_default();
        let key = key(&w.id, "logs_stream", &filter_pairs(&q), Some(&body));
        Ok(w.logs.subscribe(w.fal.clone(), key, q, labels))
    }

    /// The fal query of a history view (aligned to [`LOGS_STEP`]).
    fn fal_logs(&self, q: &LogsQuery) -> Result<(FalLogsQuery, Vec<LabelFilter>), AppError> {
        let (from, to) = resolve_range(
            q.from.as_ref(),
            q.to.as_ref(),
            self.now(),
            Duration::hours(1),
        )?;
        let (from, to) = align_moving((q.from.as_ref(), q.to.as_ref()), (from, to), LOGS_STEP);
        let (mut fq, labels) = fal_filter(&q.filter())?;
        fq.start = Some(from);
        fq.end = Some(to);
        Ok((fq, labels))
    }
}
