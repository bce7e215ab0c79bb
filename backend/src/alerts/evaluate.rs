//! Measuring a rule's condition from the data falscope already caches: the live snapshot the
//! poller publishes, and the analytics, usage, cost and forecast reports of the other views
//! (windows aligned to whole minutes or hours, so repeated evaluations hit the same cache
//! entries and cost no fal calls beyond those caches' TTLs).

use super::detect::{grew_for, robust_score};
use super::machine::Verdict;
use crate::error::AppError;
use crate::reports::Reports;
use chrono::{DateTime, Duration, DurationRound, Utc};
use shared::alerts::{AlertRule, AnomalyMetric, Condition, ThresholdMetric};
use shared::analytics::Timeframe;
use shared::query::{AnalyticsQuery, List, TimeExpr};
use std::collections::{BTreeMap, VecDeque};

/// Samples of the queue kept per growth rule.
pub type QueueSamples = VecDeque<(DateTime<Utc>, f64)>;

fn unknown(err: &AppError) -> Verdict {
    Verdict::Unknown {
        detail: match err {
            AppError::Upstream(crate::upstream::UpstreamError::AdminKeyMissing { setting }) => {
                format!("this rule reads usage, which needs the workspace's ADMIN key ({setting})")
            }
            AppError::Upstream(_) => {
                "fal could not be read; judged again at the next evaluation".into()
            }
            other => other.to_string(),
        },
    }
}

/// Judges `rule` now. `samples` is the rule's own queue history (growth rules).
/// `every` is how often rules are evaluated.
pub async fn judge(
    reports: &Reports,
    every: std::time::Duration,
    rule: &AlertRule,
    samples: &mut QueueSamples,
) -> Verdict {
    match measure(reports, every, rule, samples).await {
        Ok(v) => v,
        Err(e) => unknown(&e),
    }
}

fn verdict(holds: bool, value: f64, detail: String) -> Verdict {
    if holds {
        Verdict::Holds { value, detail }
    } else {
        Verdict::Clear {
            value: Some(value),
            detail,
        }
    }
}

async fn measure(
    reports: &Reports,
    every: std::time::Duration,
    rule: &AlertRule,
    samples: &mut QueueSamples,
) -> Result<Verdict, AppError> {
    let ws = rule.workspace.as_str();
    // Named as the rule's author wrote it (`flux-studio` or `acme/flux-studio`), judged on
    // the app's one name; an app the workspace does not have says so.
    let app = match rule.app.as_deref() {
        Some(given) => Some(reports.app_named(ws, given).await?),
        None => None,
    };
    let app = app.as_deref();
    let now = reports.now();
    let scope = app.unwrap_or("all apps");
    match &rule.condition {
        Condition::Threshold {
            metric,
            above,
            window_minutes,
            min_requests,
            failure,
        } => match metric {
            ThresholdMetric::QueueSize => {
                let Some((_, queue)) = queue(reports, ws, app)? else {
                    return Ok(Verdict::Unknown {
                        detail: NO_LIVE.into(),
                    });
                };
                Ok(verdict(
                    queue > *above,
                    queue,
                    format!("queue of {scope} is {queue} (threshold {above})"),
                ))
            }
            ThresholdMetric::ErrorRate | ThresholdMetric::P90Latency => {
                let to = now.duration_trunc(Duration::minutes(1)).unwrap_or(now);
                let from = to - Duration::minutes(i64::from(*window_minutes));
                let Some(report) = analytics(reports, ws, app, from, to, None).await? else {
                    return Ok(no_endpoints(scope));
                };
                let requests: u64 = report.summary.iter().map(|s| s.requests).sum();
                if requests < *min_requests.max(&1) {
                    return Ok(Verdict::Clear {
                        value: None,
                        detail: format!(
                            "{requests} requests in the last {window_minutes} min, fewer than the {} needed to judge",
                            min_requests.max(&1)
                        ),
                    });
                }
                if *metric == ThresholdMetric::ErrorRate {
                    let typed: u64 = report.summary.iter().map(|s| s.failures.total()).sum();
                    let all: u64 = report.summary.iter().map(|s| s.server_errors).sum();
                    if failure.is_some() && typed == 0 && all > 0 {
                        // fal counted 5xx but gave no types: not "none of this type".
                        return Ok(Verdict::Unknown {
                            detail: format!("fal gave no failure types for the {all} failed requests of {scope}"),
                        });
                    }
                    let errors: u64 = report
                        .summary
                        .iter()
                        .map(|s| failure.map_or(s.server_errors, |k| s.failures.of(k)))
                        .sum();
                    let rate = errors as f64 / requests as f64;
                    let what = failure.map_or("failed 5xx", |k| k.label());
                    Ok(verdict(
                        rate > *above,
                        rate,
                        format!(
                            "{:.1}% of {requests} requests of {scope}: {what} in the last {window_minutes} min (threshold {:.1}%)",
                            rate * 100.0,
                            above * 100.0
                        ),
                    ))
                } else {
                    let p90 = report
                        .summary
                        .iter()
                        .filter_map(|s| s.execution.p90)
                        .fold(0.0f64, f64::max);
                    Ok(verdict(
                        p90 > *above,
                        p90,
                        format!("p90 latency of {scope} is {p90:.2} s over the last {window_minutes} min (threshold {above} s)"),
                    ))
                }
            }
            ThresholdMetric::SpendPerDay => {
                let to = now.duration_trunc(Duration::hours(1)).unwrap_or(now);
                let report = reports
                    .cost_between(ws, to - Duration::hours(24), to)
                    .await?
                    .value;
                let spend = match app {
                    Some(a) => report
                        .apps
                        .iter()
                        .find(|c| c.app == a)
                        .map_or(0.0, |c| c.spend),
                    None => report.total_spend,
                };
                Ok(verdict(
                    spend > *above,
                    spend,
                    format!(
                        "{scope} spent {spend:.2} {} in the last 24 h (threshold {above})",
                        report.currency
                    ),
                ))
            }
        },
        Condition::QueueGrowing { minutes } => {
            let Some((at, queue)) = queue(reports, ws, app)? else {
                return Ok(Verdict::Unknown {
                    detail: NO_LIVE.into(),
                });
            };
            if samples.back().is_none_or(|(t, _)| *t < at) {
                samples.push_back((at, queue));
            }
            // Enough samples to reach back over the window even when evaluations are sparse.
            let every = Duration::from_std(every).unwrap_or(Duration::zero());
            let keep = Duration::minutes(i64::from(*minutes) + 2) + every * 2;
            while samples.front().is_some_and(|(t, _)| at - *t > keep) {
                samples.pop_front();
            }
            let window = Duration::minutes(i64::from(*minutes));
            // The newest sample at least `minutes` old starts the judged window.
            let start = samples
                .iter()
                .rposition(|(t, _)| at - *t >= window)
                .unwrap_or(0);
            let series: Vec<(f64, f64)> = samples
                .iter()
                .skip(start)
                .map(|(t, q)| ((at - *t).num_seconds() as f64 / 60.0, *q))
                .collect();
            let grew = grew_for(&series, f64::from(*minutes));
            let first = series.first().map_or(queue, |s| s.1);
            Ok(verdict(
                grew,
                queue,
                if grew {
                    format!("queue of {scope} grew from {first} to {queue} over {minutes} min")
                } else {
                    format!("queue of {scope} is {queue}, not growing for {minutes} min")
                },
            ))
        }
        Condition::Sla { endpoint } => {
            let states = reports.sla_states(ws).await?;
            let Some(state) = states.iter().find(|s| s.endpoint == *endpoint) else {
                return Ok(Verdict::Unknown {
                    detail: format!(
                        "{endpoint} is not a watched model endpoint of this workspace; watch it on the Models page"
                    ),
                });
            };
            let hours = (state.to - state.from).num_minutes() as f64 / 60.0;
            if let Some(why) = &state.refused {
                return Ok(Verdict::Unknown {
                    detail: format!("{endpoint}: {why}; check the id on fal's model page"),
                });
            }
            Ok(match state.met {
                None => Verdict::Unknown {
                    detail: format!("no requests to {endpoint} in its SLA period ({hours:.0} h)"),
                },
                Some(met) => verdict(
                    !met,
                    state
                        .objectives
                        .iter()
                        .filter(|o| o.met == Some(false))
                        .count() as f64,
                    if met {
                        format!(
                            "{endpoint} meets its SLA over the last {hours:.0} h ({} requests)",
                            state.requests
                        )
                    } else {
                        format!(
                            "{endpoint} misses its SLA over the last {hours:.0} h: {} ({} requests)",
                            state.misses().join(", "),
                            state.requests
                        )
                    },
                ),
            })
        }
        Condition::LowCredits { below, runway_days } => {
            let c = reports.credits(ws).await?.value;
            let runway = c.runway.map(|r| r.days);
            // A runway-only rule cannot be judged without a runway (short history, another
            // currency), unless the balance is already spent.
            if below.is_none() && runway.is_none() && c.balance > 0.0 {
                return Ok(Verdict::Unknown {
                    detail: format!(
                        "credit balance {:.2} {}: {}",
                        c.balance,
                        c.currency,
                        c.note.clone().unwrap_or_else(|| "no runway".into())
                    ),
                });
            }
            let low_balance = below.is_some_and(|b| c.balance < b) || c.balance <= 0.0;
            let short_runway = runway_days
                .zip(runway)
                .is_some_and(|(limit, days)| days < limit);
            let lasts = match (runway, c.runway) {
                (Some(days), Some(r)) => format!(
                    "lasts ~{days:.1} days (runs out ~{})",
                    r.runs_out.format("%b %d")
                ),
                _ => c.note.clone().unwrap_or_else(|| "no runway".into()),
            };
            Ok(verdict(
                low_balance || short_runway,
                if runway_days.is_some() && below.is_none() {
                    runway.unwrap_or(f64::from(shared::cost::RUNWAY_HORIZON_DAYS))
                } else {
                    c.balance
                },
                format!("credit balance {:.2} {}: {lasts}", c.balance, c.currency),
            ))
        }
        Condition::OverBudgetPace => {
            let budget = reports.budget(ws, app).await;
            let Some(budget) = budget else {
                return Ok(Verdict::Unknown {
                    detail: format!(
                        "no monthly budget is set for {scope}; set one on the Cost page"
                    ),
                });
            };
            let f = reports.forecast(ws).await?.value;
            let mtd = match app {
                Some(a) => f
                    .apps
                    .iter()
                    .find(|x| x.app == a)
                    .map_or(0.0, |x| x.month_to_date),
                None => f.month_to_date,
            };
            let elapsed = (now - f.month_start).num_seconds() as f64
                / (f.month_end - f.month_start).num_seconds().max(1) as f64;
            if elapsed < 1.0 / 31.0 {
                return Ok(Verdict::Clear {
                    value: None,
                    detail: "less than a day of the month has passed".into(),
                });
            }
            let pace = mtd / elapsed;
            Ok(verdict(
                pace > budget,
                pace,
                format!(
                    "{scope} is on pace for {pace:.2} {} this month ({mtd:.2} so far), budget {budget:.2}",
                    f.currency
                ),
            ))
        }
        Condition::Anomaly {
            metric,
            lookback_hours,
            sensitivity,
        } => {
            let to = now.duration_trunc(Duration::hours(1)).unwrap_or(now);
            let from = to - Duration::hours(i64::from(*lookback_hours) + 1);
            let hourly: Vec<f64> = match metric {
                AnomalyMetric::HourlyCost => {
                    let q = shared::query::UsageQuery {
                        from: Some(TimeExpr::at(from)),
                        to: Some(TimeExpr::at(to)),
                        apps: List::of(&app.into_iter().collect::<Vec<_>>()),
                        timeframe: Some(Timeframe::Hour),
                        ..Default::default()
                    };
                    let usage = reports.usage(ws, &q).await?;
                    let mut by_hour: BTreeMap<DateTime<Utc>, f64> = BTreeMap::new();
                    for point in &usage.value.series {
                        *by_hour.entry(point.t).or_default() += point.cost;
                    }
                    hours(from, to)
                        .map(|h| by_hour.get(&h).copied().unwrap_or(0.0))
                        .collect()
                }
                AnomalyMetric::ErrorRate => {
                    let Some(report) =
                        analytics(reports, ws, app, from, to, Some(Timeframe::Hour)).await?
                    else {
                        return Ok(no_endpoints(scope));
                    };
                    let mut by_hour: BTreeMap<DateTime<Utc>, (u64, u64)> = BTreeMap::new();
                    for point in &report.series {
                        let e = by_hour.entry(point.t).or_default();
                        e.0 += point.server_errors;
                        e.1 += point.requests;
                    }
                    hours(from, to)
                        .filter_map(|h| by_hour.get(&h).filter(|(_, n)| *n > 0))
                        .map(|(e, n)| *e as f64 / *n as f64)
                        .collect()
                }
            };
            let Some((latest, history)) = hourly.split_last() else {
                return Ok(Verdict::Unknown {
                    detail: "no complete hour yet".into(),
                });
            };
            let Some(score) = robust_score(history, *latest) else {
                return Ok(Verdict::Unknown {
                    detail: format!(
                        "{} hours of history, {} needed",
                        history.len(),
                        super::detect::MIN_HISTORY
                    ),
                });
            };
            let median = super::detect::median(history).unwrap_or(0.0);
            Ok(verdict(
                score > *sensitivity,
                *latest,
                format!(
                    "{} of {scope} in the last hour: {latest:.4} against a median of {median:.4} ({score:.1} MADs, sensitivity {sensitivity})",
                    metric.label()
                ),
            ))
        }
    }
}

fn no_endpoints(scope: &str) -> Verdict {
    Verdict::Unknown {
        detail: format!("{scope} has no endpoints"),
    }
}

/// Every hour start in `[from, to)`.
fn hours(from: DateTime<Utc>, to: DateTime<Utc>) -> impl Iterator<Item = DateTime<Utc>> {
    std::iter::successors(Some(from), |h| Some(*h + Duration::hours(1)))
        .take_while(move |h| *h < to)
}

/// Why a queue rule is not judged.
const NO_LIVE: &str = "no current live metrics (not read yet, or fal is not answering)";

/// The queue of `app` (or of every app), with the time fal measured it; `None` without a
/// current snapshot (a stale copy is not news: missing data changes no state). Metrics name
/// an app `owner/name`; a rule names it by its name.
fn queue(
    reports: &Reports,
    ws: &str,
    app: Option<&str>,
) -> Result<Option<(DateTime<Utc>, f64)>, AppError> {
    let w = reports.workspace(ws)?;
    let published = w.live.borrow();
    Ok(published.as_ref().filter(|p| !p.stale).map(|p| {
        let q: u64 = p
            .snapshot
            .apps
            .iter()
            .filter(|a| {
                app.is_none_or(|name| {
                    a.application == name || a.application.split('/').nth(1) == Some(name)
                })
            })
            .map(|a| a.queue_size)
            .sum();
        (p.snapshot.as_of, q as f64)
    }))
}

/// The analytics report of `app`'s endpoints (or every app's) over `[from, to)`; `None` when
/// there are no endpoints.
async fn analytics(
    reports: &Reports,
    ws: &str,
    app: Option<&str>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    timeframe: Option<Timeframe>,
) -> Result<Option<std::sync::Arc<shared::analytics::AnalyticsReport>>, AppError> {
    let apps = reports.apps(ws).await?.value;
    let endpoints = crate::reports::endpoints(&apps, app);
    if endpoints.is_empty() {
        return Ok(None);
    }
    let q = AnalyticsQuery {
        endpoints: List::of(&endpoints),
        from: Some(TimeExpr::at(from)),
        to: Some(TimeExpr::at(to)),
        timeframe,
        tz: None,
    };
    Ok(Some(reports.analytics_with_routes(ws, &q).await?.value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upstream::fake::Script;
    use shared::alerts::RuleSource;
    use shared::live::{AppLive, LiveSnapshot};
    use std::sync::Arc;

    fn reports() -> Reports {
        let ws = crate::workspace::Workspace::new(
            "w",
            "W",
            Arc::new(Script::listing(&["acme/img", "acme/llm"])),
        );
        Reports::new(
            vec![Arc::new(ws)],
            crate::cache::Cache::new(1 << 20, Arc::new(crate::clock::SystemClock)),
            Arc::new(crate::clock::SystemClock),
            None,
            crate::cluster::Cluster::alone(),
        )
    }

    /// Publishes a snapshot at minute `m` with these queues.
    fn publish(reports: &Reports, m: i64, queues: &[(&str, u64)]) {
        let as_of = DateTime::from_timestamp(1_800_000_000 + m * 60, 0).unwrap();
        let apps = queues
            .iter()
            .map(|(app, q)| AppLive {
                application: format!("acme/{app}"),
                runners: vec![],
                queue_size: *q,
                concurrent_requests: 0,
                received_per_min: 0,
                completed_per_min: vec![],
                latency: vec![],
            })
            .collect();
        let snapshot = Arc::new(LiveSnapshot { as_of, apps });
        let w = reports.workspace("w").unwrap();
        w.live.send_replace(Some(crate::workspace::Published {
            snapshot,
            json: bytes::Bytes::new(),
            as_of,
            stale: false,
        }));
    }

    fn rule(app: Option<&str>, condition: Condition) -> AlertRule {
        AlertRule {
            id: "r".into(),
            name: "r".into(),
            workspace: "w".into(),
            app: app.map(str::to_owned),
            condition,
            for_minutes: 0,
            source: RuleSource::Ui,
        }
    }

    async fn judged(reports: &Reports, r: &AlertRule, samples: &mut QueueSamples) -> Verdict {
        judge(reports, std::time::Duration::from_secs(60), r, samples).await
    }

    #[tokio::test]
    async fn a_queue_threshold_reads_the_rules_app_or_every_app() {
        let reports = reports();
        let mut samples = QueueSamples::new();
        let threshold = |app| {
            rule(
                app,
                Condition::Threshold {
                    metric: ThresholdMetric::QueueSize,
                    above: 4.0,
                    window_minutes: 5,
                    min_requests: 0,
                    failure: None,
                },
            )
        };
        assert!(matches!(
            judged(&reports, &threshold(Some("img")), &mut samples).await,
            Verdict::Unknown { .. }
        ));
        publish(&reports, 0, &[("img", 5), ("llm", 1)]);
        let v = judged(&reports, &threshold(Some("img")), &mut samples).await;
        assert!(
            matches!(v, Verdict::Holds { value, .. } if value == 5.0),
            "{v:?}"
        );
        let v = judged(&reports, &threshold(Some("llm")), &mut samples).await;
        assert!(
            matches!(v, Verdict::Clear { value: Some(v), .. } if v == 1.0),
            "{v:?}"
        );
        let v = judged(&reports, &threshold(None), &mut samples).await;
        assert!(
            matches!(v, Verdict::Holds { value, .. } if value == 6.0),
            "{v:?}"
        );
        // The app's id names the same app; a name the workspace does not have says so.
        let v = judged(&reports, &threshold(Some("acme/img")), &mut samples).await;
        assert!(
            matches!(v, Verdict::Holds { value, .. } if value == 5.0),
            "{v:?}"
        );
        let v = judged(&reports, &threshold(Some("im")), &mut samples).await;
        assert!(
            matches!(&v, Verdict::Unknown { detail } if detail.contains("not an app") && detail.contains("img, llm")),
            "{v:?}"
        );
        // fal stops answering: the last snapshot, now stale, is not judged again.
        let w = reports.workspace("w").unwrap();
        w.live.send_modify(|p| p.as_mut().unwrap().stale = true);
        let v = judged(&reports, &threshold(None), &mut samples).await;
        assert!(matches!(v, Verdict::Unknown { .. }), "{v:?}");
    }

    #[tokio::test]
    async fn a_queue_that_grew_for_the_whole_window_holds_and_a_dip_clears_it() {
        let reports = reports();
        let growing = rule(Some("img"), Condition::QueueGrowing { minutes: 5 });
        let mut samples = QueueSamples::new();
        let mut last = None;
        for (m, q) in [(0, 1), (2, 2), (4, 2), (6, 4)] {
            publish(&reports, m, &[("img", q), ("llm", 50 - q)]);
            last = Some(judged(&reports, &growing, &mut samples).await);
        }
        let v = last.unwrap();
        assert!(
            matches!(v, Verdict::Holds { value, .. } if value == 4.0),
            "{v:?}"
        );
        // The same snapshot judged again adds no sample.
        judged(&reports, &growing, &mut samples).await;
        assert_eq!(samples.len(), 4);
        publish(&reports, 7, &[("img", 3)]);
        let v = judged(&reports, &growing, &mut samples).await;
        assert!(matches!(v, Verdict::Clear { .. }), "a dip: {v:?}");
        // Too short a history is not growth.
        let mut fresh = QueueSamples::new();
        publish(&reports, 8, &[("img", 9)]);
        let v = judged(&reports, &growing, &mut fresh).await;
        assert!(matches!(v, Verdict::Clear { .. }), "{v:?}");
    }
}
