//! fal's `fal_app_*` metric families, read from the Prometheus text into per-app live numbers.

use crate::promtext::{self, Sample};
use chrono::{DateTime, Utc};
use shared::{AppLive, LatencyBucket, LiveSnapshot, RunnerCount, RunnerState};
use std::collections::BTreeMap;

/// A parsed scrape of `GET /v1/serverless/metrics`.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricsScrape {
    /// Every sample of the body, in order.
    pub samples: Vec<Sample>,
}

impl MetricsScrape {
    /// Parses the exposition text strictly (every line must parse).
    pub fn parse(text: &str) -> Result<Self, promtext::ParseError> {
        Ok(Self {
            samples: promtext::parse(text)?,
        })
    }

    /// Parses the exposition text, skipping lines that do not parse (returned, to be counted):
    /// an error only when nothing in a non-empty text parses (it is not Prometheus text).
    pub fn parse_lenient(
        text: &str,
    ) -> Result<(Self, Vec<promtext::ParseError>), promtext::ParseError> {
        let (samples, skipped) = promtext::parse_lenient(text);
        match skipped.first() {
            Some(first) if samples.is_empty() => Err(first.clone()),
            _ => Ok((Self { samples }, skipped)),
        }
    }

    /// Groups the samples per application. Unknown families and samples without an
    /// `application` label are ignored, so fal may add metrics without breaking falscope.
    pub fn to_live(&self, as_of: DateTime<Utc>) -> LiveSnapshot {
        let mut apps: BTreeMap<&str, AppLive> = BTreeMap::new();
        for s in &self.samples {
            let Some(app) = s.label("application") else {
                continue;
            };
            let entry = apps.entry(app).or_insert_with(|| AppLive {
                application: app.to_owned(),
                runners: Vec::new(),
                queue_size: 0,
                concurrent_requests: 0,
                received_per_min: 0,
                completed_per_min: Vec::new(),
                latency: Vec::new(),
            });
            let count = if s.value.is_finite() && s.value > 0.0 {
                s.value.round() as u64
            } else {
                0
            };
            match s.name.as_str() {
                "fal_app_runners" => {
                    let state = match s.label("state") {
                        Some("running") => RunnerState::Running,
                        Some("idle") => RunnerState::Idle,
                        Some("pending") => RunnerState::Pending,
                        _ => continue,
                    };
                    entry.runners.push(RunnerCount {
                        machine_type: s.label("machine_type").unwrap_or("unknown").to_owned(),
                        state,
                        count: u32::try_from(count).unwrap_or(u32::MAX),
                    });
                }
                "fal_app_queue_size" => entry.queue_size = count,
                "fal_app_concurrent_requests" => entry.concurrent_requests = count,
                "fal_app_requests_received" => entry.received_per_min += count,
                "fal_app_requests_completed" => {
                    let status = s.label("status").and_then(|v| v.parse().ok()).unwrap_or(0);
                    match entry
                        .completed_per_min
                        .iter_mut()
                        .find(|(st, _)| *st == status)
                    {
                        Some((_, n)) => *n += count,
                        None => entry.completed_per_min.push((status, count)),
                    }
                }
                "fal_app_request_latency" => {
                    let le = match s.label("le") {
                        Some("+Inf") => None,
                        Some(v) => match v.parse::<f64>() {
                            Ok(v) => Some(v),
                            Err(_) => continue,
                        },
                        None => continue,
                    };
                    entry.latency.push(LatencyBucket {
                        le_seconds: le,
                        count,
                    });
                }
                _ => {}
            }
        }
        let mut apps: Vec<AppLive> = apps.into_values().collect();
        for app in &mut apps {
            app.completed_per_min.sort_unstable();
            app.latency.sort_by(|a, b| {
                let key = |b: &LatencyBucket| b.le_seconds.unwrap_or(f64::INFINITY);
                key(a).total_cmp(&key(b))
            });
        }
        LiveSnapshot { as_of, apps }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_that_does_not_parse_costs_that_line_not_the_scrape() {
        let text = "fal_app_queue_size{application=\"acme/a\"} 3\nfal_app_queue_size{application=\"acme/b\" 4\nfal_app_queue_size{application=\"acme/c\"} 5\n";
        assert!(
            MetricsScrape::parse(text).is_err(),
            "strict: the whole text"
        );
        let (scrape, skipped) = MetricsScrape::parse_lenient(text).unwrap();
        assert_eq!(scrape.samples.len(), 2);
        assert_eq!(skipped.len(), 1);
        assert_eq!(skipped[0].line, 2);
        assert!(
            MetricsScrape::parse_lenient("<html>not metrics</html>").is_err(),
            "nothing parses: not Prometheus text"
        );
        assert!(MetricsScrape::parse_lenient("").is_ok(), "no apps yet");
    }
}
