//! Where the money goes (the model is `crate::cost::split`), from the cached usage and
//! analytics reports plus a bounded, cached read of each app's 5xx requests with billing.

use super::{iso, Derived, Reports};
use crate::cache::key;
use crate::cost::split::{split, FailedSample};
use crate::error::AppError;
use crate::upstream::query::{RequestStatus, RequestsQuery};
use crate::upstream::FalApi;
use chrono::{DateTime, Duration, Utc};
use shared::cost::SplitReport;
use shared::query::HoursQuery;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Pages of 100 5xx requests read per app at most; beyond that the failed share is their
/// mean × the 5xx count.
const FAILED_PAGES: usize = 3;
const FAILED_TTL: std::time::Duration = std::time::Duration::from_secs(300);

impl Reports {
    /// The split of `q` (default: the last 24 hours, whole hours).
    pub async fn split(&self, ws: &str, q: &HoursQuery) -> Result<Derived<SplitReport>, AppError> {
        let (from, to) = self.hours(q, Duration::hours(24))?;
        self.split_between(ws, from, to).await
    }

    /// The split over `[from, to)` (whole hours); `/metrics` shares it.
    pub async fn split_between(
        &self,
        ws: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Derived<SplitReport>, AppError> {
        let inputs = self.inputs(ws, from, to).await?;
        let mut failed = BTreeMap::new();
        for app in inputs.index.apps() {
            let errors: u64 = inputs
                .analytics
                .summary
                .iter()
                .filter(|s| app.endpoints.contains(&s.endpoint))
                .map(|s| s.server_errors)
                .sum();
            if errors > 0 {
                let sample = self.failed_sample(ws, &app.endpoints, from, to).await?;
                failed.insert(app.name.clone(), sample);
            }
        }
        let report = SplitReport {
            from,
            to,
            currency: inputs.usage.currency.clone(),
            apps: split(
                &inputs.usage.lines,
                &inputs.analytics.summary,
                &failed,
                &inputs.index,
            ),
        };
        Ok(Derived {
            value: report,
            as_of: inputs.as_of,
            status: inputs.status,
        })
    }

    /// The billed seconds of an app's 5xx requests in `[from, to)`, at most [`FAILED_PAGES`]
    /// pages.
    async fn failed_sample(
        &self,
        ws: &str,
        endpoints: &[String],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<FailedSample, AppError> {
        let w = self.workspace(ws)?;
        let fal: Arc<dyn FalApi> = w.fal.clone();
        let params = [
            ("endpoints", endpoints.join(",")),
            ("from", iso(from)),
            ("to", iso(to)),
        ];
        let mut q = RequestsQuery {
            endpoint_ids: endpoints.to_vec(),
            limit: Some(100),
            start: Some(from),
            end: Some(to),
            status: Some(RequestStatus::Error),
            billing: true,
            ..RequestsQuery::default()
        };
        let cached = self
            .cache()
            .get_or_fetch(
                key(&w.id, "failed_sample", &params, None),
                |_| FAILED_TTL,
                move || async move {
                    let mut sample = FailedSample::default();
                    let mut unbilled = false;
                    for _ in 0..FAILED_PAGES {
                        let page = fal.requests(&q).await?;
                        for r in &page.items {
                            match r.billable_units.flatten() {
                                Some(units) => {
                                    sample.seconds += units;
                                    sample.billed += 1;
                                }
                                None => unbilled = true,
                            }
                        }
                        match page.next_cursor {
                            Some(c) if page.has_more => q.cursor = Some(c),
                            _ => {
                                sample.complete = !unbilled;
                                break;
                            }
                        }
                    }
                    Ok(sample)
                },
            )
            .await?;
        Ok(*cached.value)
    }
}
