//! Where the money goes: each app's billed machine-seconds split into running (requests that
//! ended 2xx/4xx), failed (5xx), setup (cold starts) and idle (the rest), each with its money.

use shared::analytics::AnalyticsSummary;
use shared::apps::AppIndex;
use shared::cost::{AppSplit, Share};
use shared::usage::UsageLine;
use std::collections::BTreeMap;

/// Billed seconds of an app's 5xx requests, read from requests with billing.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FailedSample {
    /// Σ `billable_units` of the rows read that were billed.
    pub seconds: f64,
    /// Rows read that were billed.
    pub billed: u64,
    /// Every 5xx request of the range was read (no further page) and every one was billed.
    pub complete: bool,
}

/// The inputs of one app.
#[derive(Debug, Default)]
struct Inputs<'a> {
    lines: Vec<&'a UsageLine>,
    summaries: Vec<&'a AnalyticsSummary>,
}

/// Splits every app of `usage` (`failed` per app name: its 5xx sample; endpoints named by
/// `index`).
pub fn split(
    usage: &[UsageLine],
    analytics: &[AnalyticsSummary],
    failed: &BTreeMap<String, FailedSample>,
    index: &AppIndex,
) -> Vec<AppSplit> {
    let mut apps: BTreeMap<&str, Inputs> = BTreeMap::new();
    for l in usage {
        apps.entry(l.app.as_str()).or_default().lines.push(l);
    }
    for s in analytics {
        if let Some(a) = apps.get_mut(index.of_endpoint(&s.endpoint)) {
            a.summaries.push(s);
        }
    }
    let mut out: Vec<AppSplit> = apps
        .into_iter()
        .map(|(app, i)| one(app, &i, failed.get(app).copied()))
        .collect();
    out.sort_by(|a, b| b.spend.total_cmp(&a.spend).then_with(|| a.app.cmp(&b.app)));
    out
}

fn one(app: &str, i: &Inputs, failed: Option<FailedSample>) -> AppSplit {
    let machine_seconds: f64 = i.lines.iter().map(|l| l.seconds).sum();
    let spend: f64 = i.lines.iter().map(|l| l.cost).sum();
    let mut machines: Vec<&str> = i.lines.iter().map(|l| l.machine_type.as_str()).collect();
    machines.sort_unstable();
    machines.dedup();
    let price = if machine_seconds > 0.0 {
        spend / machine_seconds
    } else {
        0.0
    };
    let share = |seconds: f64| Share {
        seconds,
        cost: seconds * price,
    };
    let mut notes = Vec::new();
    let failed_requests: u64 = i.summaries.iter().map(|s| s.server_errors).sum();
    let billable: Option<f64> = i
        .summaries
        .iter()
        .map(|s| s.billable_seconds)
        .try_fold(0.0, |acc, v| v.map(|v| acc + v));
    let mut split = AppSplit {
        app: app.to_owned(),
        machine_type: machines.join(", "),
        machine_seconds,
        spend,
        running: None,
        failed: None,
        setup: None,
        idle: None,
        failed_sampled: 0,
        failed_requests,
        estimated: false,
        notes: Vec::new(),
    };
    let billable = match billable {
        Some(b) if !i.summaries.is_empty() => b,
        _ => {
            split.notes.push(if i.summaries.is_empty() {
                "no requests of this app ended in the range: the time cannot be split".into()
            } else {
                "fal did not report the request durations (total_billable_duration): the time cannot be split".into()
            });
            return split;
        }
    };
    // Failed: the billed seconds of the 5xx requests read, or their mean × the 5xx count.
    let failed_seconds = match failed {
        _ if failed_requests == 0 => 0.0,
        Some(f) if f.complete => {
            split.failed_sampled = f.billed;
            f.seconds
        }
        Some(f) if f.billed > 0 => {
            split.failed_sampled = f.billed;
            split.estimated = true;
            notes.push(format!(
                "failed: mean of {} billed 5xx requests × {failed_requests} 5xx requests",
                f.billed
            ));
            f.seconds / f.billed as f64 * failed_requests as f64
        }
        _ => {
            split.estimated = true;
            notes.push(format!(
                "failed: none of the {failed_requests} 5xx requests is billed yet (billable_units is null); counted as running"
            ));
            0.0
        }
    };
    let running = (billable - failed_seconds).max(0.0);
    let cold: u64 = i.summaries.iter().map(|s| s.cold_starts).sum();
    let setup = if cold == 0 {
        0.0
    } else {
        // A count-weighted median per endpoint: fal gives no mean or sum of cold starts.
        let weighted: f64 = i
            .summaries
            .iter()
            .map(|s| s.cold_starts as f64 * s.cold_start_p50.unwrap_or(0.0))
            .sum();
        split.estimated = true;
        notes.push(format!("setup: {cold} cold starts × their median duration"));
        weighted
    };
    let rest = machine_seconds - running - failed_seconds - setup;
    if rest < -0.01 * machine_seconds.max(1.0) {
        notes.push(format!(
            "requests and cold starts add up to {:.0} s more than the {machine_seconds:.0} s billed (requests at the range's edges); idle shown as 0",
            -rest
        ));
    }
    split.running = Some(share(running));
    split.failed = Some(share(failed_seconds));
    split.setup = Some(share(setup));
    split.idle = Some(share(rest.max(0.0)));
    split.notes = notes;
    split
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::analytics::Percentiles;

    fn line(app: &str, machine: &str, seconds: f64, cost: f64) -> UsageLine {
        UsageLine {
            app: app.into(),
            machine_type: machine.into(),
            is_surge: false,
            seconds,
            unit_price: cost / seconds,
            discount_percent: None,
            cost,
            currency: "USD".into(),
        }
    }

    fn summary(
        endpoint: &str,
        server_errors: u64,
        billable: Option<f64>,
        cold: u64,
        p50: f64,
    ) -> AnalyticsSummary {
        AnalyticsSummary {
            endpoint: endpoint.into(),
            requests: 100,
            success: 100 - server_errors,
            user_errors: 0,
            server_errors,
            error_rate: 0.0,
            failures: Default::default(),
            prepare: Percentiles::default(),
            execution: Percentiles::default(),
            cold_starts: cold,
            cold_start_p50: Some(p50),
            billable_seconds: billable,
        }
    }

    #[test]
    fn hand_computed_split() {
        // 1,000 s billed for $2 (0.002/s); requests ran 600 s of which 5xx 50 s (all read);
        // 4 cold starts of median 25 s = 100 s setup; idle = 1000 − 550 − 50 − 100 = 300 s.
        let usage = [
            line("img", "GPU-H100", 800.0, 1.6),
            line("img", "GPU-H100", 200.0, 0.4),
        ];
        let analytics = [
            summary("acme/img", 3, Some(400.0), 3, 25.0),
            summary("acme/img/turbo", 1, Some(200.0), 1, 25.0),
        ];
        let failed = BTreeMap::from([(
            "img".to_owned(),
            FailedSample {
                seconds: 50.0,
                billed: 4,
                complete: true,
            },
        )]);
        let s = &split(
            &usage,
            &analytics,
            &failed,
            &AppIndex::of_ids(&["acme/img"]),
        )[0];
        let near = |a: f64, b: f64| (a - b).abs() < 1e-9;
        assert!(near(s.running.unwrap().seconds, 550.0));
        assert!(near(s.failed.unwrap().seconds, 50.0));
        assert!(near(s.setup.unwrap().seconds, 100.0));
        assert!(near(s.idle.unwrap().seconds, 300.0));
        assert!(near(s.idle.unwrap().cost, 0.6));
        assert!(near(s.overhead_share().unwrap(), 0.45));
        assert!(s.estimated, "setup comes from medians");
        assert_eq!(s.machine_type, "GPU-H100");

        // Half the 5xx read: their mean (10 s) × the 4 failures.
        let partial = BTreeMap::from([(
            "img".to_owned(),
            FailedSample {
                seconds: 20.0,
                billed: 2,
                complete: false,
            },
        )]);
        let s = &split(
            &usage,
            &analytics,
            &partial,
            &AppIndex::of_ids(&["acme/img"]),
        )[0];
        assert!(near(s.failed.unwrap().seconds, 40.0));
        assert!(s.notes.iter().any(|n| n.contains("mean of 2")));
    }

    #[test]
    fn missing_durations_are_said_not_guessed() {
        let usage = [line("img", "GPU-H100", 100.0, 1.0)];
        let s = &split(
            &usage,
            &[summary("acme/img", 0, None, 0, 0.0)],
            &BTreeMap::new(),
            &AppIndex::of_ids(&["acme/img"]),
        )[0];
        assert_eq!(s.running, None);
        assert_eq!(s.idle, None);
        assert!(s.notes[0].contains("total_billable_duration"));
        let s = &split(
            &usage,
            &[],
            &BTreeMap::new(),
            &AppIndex::of_ids(&["acme/img"]),
        )[0];
        assert!(s.notes[0].contains("no requests"));
    }
}
